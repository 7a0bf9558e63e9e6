"""The one HTTP client every module of the package goes through."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import quote

import requests


class OrreryError(Exception):
    """The hub refused a request: its HTTP status, error code and message."""

    def __init__(self, status: int, error: str, message: str):
        super().__init__(f"{status} {error}: {message}")
        self.status = status
        self.error = error
        self.message = message


class Hub:
    """A connection to the hub's API (``<url>/hub/api``) with one token."""

    def __init__(self, url: str | None = None, token: str | None = None, timeout: float = 120):
        from_environment = url is None
        url = url or os.environ.get("ORRERY_HUB_URL", "")
        token = token or os.environ.get("ORRERY_API_TOKEN", "")
        if not url or not token:
            raise OrreryError(
                0,
                "not_configured",
                "No hub: outside an Orrery server call orrery.connect(url, token) first",
            )
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"token {token}"
        self._user = os.environ.get("ORRERY_USER") if from_environment else None

    @property
    def user(self) -> str:
        """The name of the token's owner."""
        if not self._user:
            self._user = self.json("GET", "/user")["name"]
        return self._user

    def user_path(self, suffix: str = "") -> str:
        """``/users/<me><suffix>``, with the name escaped."""
        return f"/users/{quote(self.user, safe='')}{suffix}"

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Send a request to ``/hub/api<path>``; raise :class:`OrreryError` unless it succeeded."""
        kwargs.setdefault("timeout", self.timeout)
        response = self.session.request(method, f"{self.url}/hub/api{path}", **kwargs)
        if response.status_code >= 400:
            try:
                body = response.json()
                error, message = body.get("error", "error"), body.get("message", response.text)
            except ValueError:
                error, message = "error", response.text
            response.close()
            raise OrreryError(response.status_code, error, message)
        return response

    def json(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        """A request with a JSON body (if any) whose answer is JSON (or nothing)."""
        if body is not None:
            kwargs["json"] = body
        response = self.request(method, path, **kwargs)
        return response.json() if response.content else None


_default: Hub | None = None


def connect(url: str | None = None, token: str | None = None) -> Hub:
    """Use this hub and token for every later call of the package's modules."""
    global _default
    _default = Hub(url, token)
    return _default


def hub() -> Hub:
    """The hub the package's modules talk to (from the environment unless connected)."""
    global _default
    if _default is None:
        _default = Hub()
    return _default
