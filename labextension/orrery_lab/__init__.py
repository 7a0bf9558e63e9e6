"""Orrery for JupyterLab: the prebuilt frontend extension and the hub proxy server extension."""

from .handlers import setup_handlers

__version__ = "0.1.0"


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "@orrery/labextension"}]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "orrery_lab"}]


def _load_jupyter_server_extension(server_app) -> None:
    """Register the hub proxy on the running Jupyter server."""
    setup_handlers(server_app)
    server_app.log.info("orrery_lab: hub proxy mounted at %sorrery/hub/", server_app.base_url)
