import pytest

import orrery


def test_a_token_knows_its_owner(alice):
    assert alice.user == "alice"


def test_a_refusal_carries_the_hub_error(alice):
    with pytest.raises(orrery.OrreryError) as refused:
        alice.json("GET", "/users/bob/mydb")
    assert refused.value.status in (403, 404)
    assert refused.value.error


def test_no_configuration_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("ORRERY_HUB_URL", raising=False)
    monkeypatch.delenv("ORRERY_API_TOKEN", raising=False)
    with pytest.raises(orrery.OrreryError) as refused:
        orrery.Hub()
    assert refused.value.error == "not_configured"
