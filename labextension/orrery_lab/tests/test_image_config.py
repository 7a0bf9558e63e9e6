"""The compute image's Jupyter configuration (images/base/jupyter_server_config.py) loads as
jupyterhub-singleuser reads it: with JUPYTERHUB_USER set, ServerApp.tornado_settings is a plain
dict (the single-user extension asks `'log_function' in` it), which later files may update."""

from __future__ import annotations

from pathlib import Path

from traitlets.config import Config, PyFileConfigLoader

IMAGE_CONFIG = Path(__file__).resolve().parents[3] / "images" / "base"


def load() -> Config:
    """The file as Jupyter loads each config file: into a Config of its own."""
    return PyFileConfigLoader("jupyter_server_config.py", path=str(IMAGE_CONFIG)).load_config()


def test_without_a_hub_user_it_sets_no_tornado_settings(monkeypatch):
    monkeypatch.delenv("JUPYTERHUB_USER", raising=False)
    assert "tornado_settings" not in load().ServerApp


def test_under_a_hub_user_tornado_settings_is_a_dict_jupyterhub_singleuser_can_read(
    monkeypatch,
):
    monkeypatch.setenv("JUPYTERHUB_USER", "alice")
    monkeypatch.setenv("JUPYTERHUB_HOST", "https://hub.example.org")
    settings = load().ServerApp.get("tornado_settings", {})
    # What jupyterhub-singleuser's extension does first with it.
    assert "log_function" not in settings
    assert settings == {
        "hub_prefix": "/hub/",
        "hub_host": "https://hub.example.org",
        "user": "alice",
    }


def test_a_config_file_loaded_after_may_still_update_it(monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_USER", "alice")
    merged = load()
    later = Config()
    later.ServerApp.tornado_settings.update({"compress_response": True})
    merged.merge(later)
    settings = merged.ServerApp.tornado_settings
    assert isinstance(settings, dict)
    assert settings["compress_response"] is True
    assert settings["hub_prefix"] == "/hub/"
