"""A real Jupyter server with the extension loaded, and a fake hub that records what reaches it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest
import tornado.web
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

pytest_plugins = ["pytest_jupyter.jupyter_server"]

HUB_TOKEN = "orrery_test-server-token"


@dataclass
class Seen:
    method: str
    uri: str
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeHub:
    url: str
    seen: list[Seen] = field(default_factory=list)
    #: The next answer: status, headers, body.
    answer: tuple[int, dict[str, str], bytes] = (
        200,
        {"Content-Type": "application/json"},
        b'{"ok": true}',
    )


class _Record(tornado.web.RequestHandler):
    SUPPORTED_METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE")

    def initialize(self, hub: FakeHub) -> None:
        self.hub = hub

    def _answer(self) -> None:
        self.hub.seen.append(
            Seen(
                self.request.method, self.request.uri, dict(self.request.headers), self.request.body
            )
        )
        status, headers, body = self.hub.answer
        self.set_status(status)
        for name, value in headers.items():
            self.set_header(name, value)
        if body:
            self.write(body)

    get = post = patch = put = delete = _answer  # type: ignore[assignment]


@pytest.fixture
def fake_hub(jp_asyncio_loop):
    sockets = bind_sockets(0, "127.0.0.1")
    port = sockets[0].getsockname()[1]
    hub = FakeHub(url=f"http://127.0.0.1:{port}")
    server = HTTPServer(tornado.web.Application([(r"/.*", _Record, {"hub": hub})]))
    server.add_sockets(sockets)
    yield hub
    server.stop()


@pytest.fixture
def jp_server_config(fake_hub):
    return {
        "ServerApp": {"jpserver_extensions": {"orrery_lab": True}},
        "OrreryLab": {"hub_url": fake_hub.url, "api_token": HUB_TOKEN},
    }


@pytest.fixture
def lab_fetch(jp_serverapp, http_server_client, jp_auth_header, jp_base_url):
    """Fetch a raw (already encoded) path under the proxy, never raising on an error status."""

    def fetch(path: str, method: str = "GET", body: object | None = None, headers=None):
        url = f"{jp_base_url.rstrip('/')}/orrery/hub/{path}"
        all_headers = {**jp_auth_header, **(headers or {})}
        data = None if body is None else json.dumps(body)
        if data is not None:
            all_headers.setdefault("Content-Type", "application/json")
        return http_server_client.fetch(
            url,
            method=method,
            body=data,
            headers=all_headers,
            raise_error=False,
            allow_nonstandard_methods=True,
        )

    return fetch
