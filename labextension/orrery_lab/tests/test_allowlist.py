"""The allow-list: generated from the hub's lab routes, matched on method and whole path."""

from __future__ import annotations

import pytest

from orrery_lab.config import OrreryLab, compile_allowlist, load_allowlist


def test_the_generated_allowlist_is_the_default():
    entries = load_allowlist()
    assert OrreryLab().allowed_routes == entries
    assert "GET user" in entries
    assert "POST users/[^/]+/activity" in entries


@pytest.mark.parametrize(
    ("method", "path", "verdict"),
    [
        ("GET", "groups", "allowed"),
        ("POST", "groups", "allowed"),
        ("GET", "groups/7", "allowed"),
        ("DELETE", "groups/7/members/a%2Fb", "allowed"),
        ("POST", "invitations/3/accept", "allowed"),
        ("GET", "users/alice", "allowed"),
        ("POST", "users/alice/activity", "allowed"),
        # The path is a lab route, the method is not: creating, deleting a user.
        ("POST", "users/alice", "wrong_method"),
        ("DELETE", "users/alice", "wrong_method"),
        # Never forwarded: starting and stopping servers.
        ("POST", "users/alice/server", "unknown"),
        ("DELETE", "users/alice/servers/lab", "unknown"),
        ("PUT", "groups/7", "wrong_method"),
        # Never forwarded: tokens, RACM, activity, admin.
        ("POST", "users/alice/tokens", "unknown"),
        ("GET", "users/alice/tokens", "unknown"),
        ("GET", "racm/contexts", "unknown"),
        ("GET", "activity", "unknown"),
        # Whole-path matches only.
        ("GET", "groups/7/extra", "unknown"),
        ("GET", "groupsX", "unknown"),
        ("GET", "xgroups", "unknown"),
    ],
)
def test_method_and_whole_path_decide(method, path, verdict):
    assert OrreryLab().permits(method, path) == verdict


def test_a_configured_list_replaces_the_default():
    lab = OrreryLab(allowed_routes=["GET user"])
    assert lab.permits("GET", "user") == "allowed"
    assert lab.permits("GET", "groups") == "unknown"


def test_a_malformed_entry_is_refused():
    with pytest.raises(ValueError, match="METHOD path-pattern"):
        compile_allowlist(["groups"])
