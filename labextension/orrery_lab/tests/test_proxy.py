"""The server-side proxy handler, against a real Jupyter server and a fake hub."""

from __future__ import annotations

import json

from .conftest import HUB_TOKEN


async def test_an_allowed_call_reaches_the_hub_with_the_server_token(lab_fetch, fake_hub):
    response = await lab_fetch("groups?limit=5", headers={"Cookie": "orrery-session=stolen"})
    assert response.code == 200
    assert json.loads(response.body) == {"ok": True}
    [seen] = fake_hub.seen
    assert (seen.method, seen.uri) == ("GET", "/hub/api/groups?limit=5")
    assert seen.headers["Authorization"] == f"token {HUB_TOKEN}"
    # Nothing of the browser's request but method, path, query and body goes on.
    assert "Cookie" not in seen.headers


async def test_a_body_is_forwarded_on_writes(lab_fetch, fake_hub):
    response = await lab_fetch("groups", method="POST", body={"name": "g"})
    assert response.code == 200
    [seen] = fake_hub.seen
    assert seen.method == "POST"
    assert json.loads(seen.body) == {"name": "g"}
    assert seen.headers["Content-Type"] == "application/json"


async def test_a_lab_path_with_a_method_the_lab_may_not_use_is_refused(lab_fetch, fake_hub):
    # Creating and deleting a user share the path of the (allowed) user model.
    for method in ("POST", "DELETE"):
        response = await lab_fetch(
            "users/alice", method=method, body={} if method == "POST" else None
        )
        assert response.code == 405, method
        assert json.loads(response.body)["error"] == "method_not_allowed"
    assert fake_hub.seen == []


async def test_token_routes_are_never_forwarded(lab_fetch, fake_hub):
    for method in ("GET", "POST"):
        response = await lab_fetch(
            "users/alice/tokens", method=method, body={} if method == "POST" else None
        )
        assert response.code == 404
        assert json.loads(response.body)["error"] == "not_found"
    assert fake_hub.seen == []


async def test_an_encoded_slash_is_refused_not_turned_into_a_separator(lab_fetch, fake_hub):
    # Decoded first, "groups/7%2Finvitations" would become the invitations route.
    response = await lab_fetch("groups/7%2Finvitations", method="POST", body={})
    assert response.code == 404
    response = await lab_fetch("groups/7/members/a%2Fb", method="DELETE")
    assert response.code == 404
    assert fake_hub.seen == []


async def test_names_are_re_encoded_segment_by_segment(lab_fetch, fake_hub):
    response = await lab_fetch("users/has%40")
    assert response.code == 200
    response = await lab_fetch("users/%E7%A7%80%E6%A8%B9")
    assert response.code == 200
    assert [seen.uri for seen in fake_hub.seen] == [
        "/hub/api/users/has%40",
        "/hub/api/users/%E7%A7%80%E6%A8%B9",
    ]


async def test_encoded_dot_segments_cannot_climb_out(lab_fetch, fake_hub):
    # "groups/%2E%2E/users/alice/tokens" would be "users/alice/tokens" once normalised.
    for path in (
        "groups/%2E%2E/users/alice/tokens",
        "groups/..%2F..%2Fusers",
        "groups//7",
        "groups/.",
    ):
        response = await lab_fetch(path)
        assert response.code == 404, path
    assert fake_hub.seen == []


async def test_only_the_content_type_comes_back_from_the_hub(lab_fetch, fake_hub):
    fake_hub.answer = (
        403,
        {"Content-Type": "application/json", "Set-Cookie": "orrery-session=x", "X-Hub": "1"},
        b'{"error": "forbidden", "message": "no"}',
    )
    response = await lab_fetch("groups")
    assert response.code == 403
    assert json.loads(response.body) == {"error": "forbidden", "message": "no"}
    # Jupyter may set its own login cookie; the hub's never comes through.
    assert not any("orrery-session" in c for c in response.headers.get_list("Set-Cookie"))
    assert "X-Hub" not in response.headers


async def test_a_hub_redirect_is_not_followed(lab_fetch, fake_hub):
    fake_hub.answer = (302, {"Location": "http://elsewhere.invalid/"}, b"")
    response = await lab_fetch("user")
    assert response.code == 502
    assert json.loads(response.body)["error"] == "hub_redirect"


async def test_a_request_without_jupyter_credentials_is_refused(
    jp_serverapp, http_server_client, jp_base_url, fake_hub
):
    response = await http_server_client.fetch(
        f"{jp_base_url.rstrip('/')}/orrery/hub/user", raise_error=False
    )
    assert response.code == 403
    assert fake_hub.seen == []


async def test_a_plain_accept_is_forwarded_and_arrow_answers_come_back_whole(lab_fetch, fake_hub):
    arrow = "application/vnd.apache.arrow.stream"
    payload = bytes(range(256)) * 4
    fake_hub.answer = (200, {"Content-Type": arrow, "Orrery-Truncated": "true"}, payload)
    response = await lab_fetch(
        "users/alice/mydb/query",
        method="POST",
        body={"sql": "SELECT 1"},
        headers={"Accept": f"{arrow}, application/json;q=0.5"},
    )
    assert response.code == 200
    assert response.body == payload
    assert response.headers["Content-Type"] == arrow
    assert response.headers["Orrery-Truncated"] == "true"
    [seen] = fake_hub.seen
    assert seen.headers["Accept"] == f"{arrow}, application/json;q=0.5"


async def test_an_odd_accept_asks_the_hub_for_json(lab_fetch, fake_hub):
    await lab_fetch("groups", headers={"Accept": 'text/html; q="<x>"'})
    await lab_fetch("groups", headers={"Accept": "a" * 300})
    assert [s.headers["Accept"] for s in fake_hub.seen] == ["application/json"] * 2
