"""The hub proxy: ``<base_url>orrery/hub/<path>`` -> ``$ORRERY_HUB_URL/hub/api/<path>``.

The browser authenticates to this Jupyter server as for any Jupyter API call
(token or login cookie, plus XSRF for cookie-authenticated writes). This handler
adds the hub token on the way out, so the token never reaches the page.
"""

from __future__ import annotations

import json
import re
from urllib.parse import quote, unquote

import tornado.web
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

from .config import OrreryLab

#: Only these answer headers are copied from the hub to the browser (never Set-Cookie):
#: MyDB answers files (exports) and Arrow results with their truncation flag.
_PASSED_RESPONSE_HEADERS = ("Content-Type", "Content-Disposition", "Orrery-Truncated")

#: A browser's Accept header is forwarded when it is a plain list of media types (MyDB
#: results come as JSON, Arrow or CSV by content negotiation); anything else asks for JSON.
_PLAIN_ACCEPT = re.compile(r"[A-Za-z0-9.+*/;=, -]{1,200}")


class HubProxyHandler(APIHandler):
    """Forward one request to the hub API, adding the server-side token."""

    def initialize(self, orrery: OrreryLab, prefix: str) -> None:
        self.orrery = orrery
        #: The proxy's own path, as it appears (percent-encoded) in request paths.
        self.prefix = prefix

    def _fail(self, status: int, error: str, message: str) -> None:
        """Answer in the hub's own error shape, so the frontend has one error path."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"error": error, "message": message}))

    def _target_path(self, raw: str) -> str | None:
        """Re-encode the path segment by segment; refuse dot-segments and empties."""
        segments = [unquote(s) for s in raw.split("/")]
        if any(s in ("", ".", "..") or "/" in s or "\\" in s for s in segments):
            return None
        return "/".join(quote(s, safe="") for s in segments)

    def _raw_path(self) -> str | None:
        """The path after the prefix as the browser encoded it. Tornado's path argument is
        decoded, which would turn a ``%2F`` inside a segment into a separator. Tornado matched
        the route against this raw path, so the prefix is there; if not, nothing is forwarded."""
        raw = self.request.path
        return raw[len(self.prefix) :] if raw.startswith(self.prefix) else None

    def _accept(self) -> str:
        accept = self.request.headers.get("Accept", "")
        return accept if _PLAIN_ACCEPT.fullmatch(accept) else "application/json"

    async def _forward(self, decoded: str) -> None:
        path = self._raw_path()
        target = None if path is None else self._target_path(path)
        path = path if path is not None else decoded
        verdict = "unknown" if target is None else self.orrery.permits(self.request.method, target)
        if verdict == "wrong_method":
            self._fail(
                405,
                "method_not_allowed",
                f"The hub proxy does not forward {self.request.method} '{path}'.",
            )
            return
        if verdict != "allowed":
            self._fail(404, "not_found", f"The hub proxy does not forward '{path}'.")
            return
        if not self.orrery.hub_url or not self.orrery.api_token:
            self._fail(
                503,
                "hub_not_configured",
                "This JupyterLab is not connected to an Orrery hub "
                "(set ORRERY_HUB_URL and ORRERY_API_TOKEN).",
            )
            return
        body = self.request.body or None
        if body is not None and len(body) > self.orrery.max_body_bytes:
            self._fail(413, "too_large", "The request body is too large.")
            return

        url = f"{self.orrery.hub_url.rstrip('/')}/hub/api/{target}"
        if self.request.query:
            url += "?" + self.request.query
        headers = {
            "Authorization": f"token {self.orrery.api_token}",
            "Accept": self._accept(),
        }
        if body is not None:
            headers["Content-Type"] = self.request.headers.get("Content-Type", "application/json")
        request = HTTPRequest(
            url,
            method=self.request.method,
            headers=headers,
            body=body if self.request.method in ("POST", "PUT", "PATCH") else None,
            allow_nonstandard_methods=True,
            follow_redirects=False,
            request_timeout=self.orrery.request_timeout,
        )
        try:
            response = await AsyncHTTPClient().fetch(request, raise_error=False)
        except HTTPClientError as e:  # raised for timeouts even with raise_error=False
            self.log.warning("orrery_lab: hub request %s %s failed: %s", request.method, target, e)
            self._fail(504, "hub_timeout", "The Orrery hub did not answer in time.")
            return
        except OSError as e:
            self.log.warning("orrery_lab: hub unreachable at %s: %s", self.orrery.hub_url, e)
            self._fail(502, "hub_unreachable", "The Orrery hub cannot be reached.")
            return

        if response.code == 599:
            self.log.warning(
                "orrery_lab: hub request %s %s: %s", request.method, target, response.error
            )
            self._fail(502, "hub_unreachable", "The Orrery hub cannot be reached.")
            return
        if 300 <= response.code < 400:
            self._fail(502, "hub_redirect", "The Orrery hub answered with a redirect.")
            return
        self.set_status(response.code)
        for name in _PASSED_RESPONSE_HEADERS:
            value = response.headers.get(name)
            if value:
                self.set_header(name, value)
        # APIHandler.finish sets its own Content-Type unless told which: keep the hub's.
        content_type = response.headers.get("Content-Type") or "application/json"
        if response.code == 204 or not response.body:
            self.finish(set_content_type=content_type)
        else:
            self.finish(response.body, set_content_type=content_type)

    @tornado.web.authenticated
    async def get(self, path: str) -> None:
        await self._forward(path)

    @tornado.web.authenticated
    async def post(self, path: str) -> None:
        await self._forward(path)

    @tornado.web.authenticated
    async def patch(self, path: str) -> None:
        await self._forward(path)

    @tornado.web.authenticated
    async def put(self, path: str) -> None:
        await self._forward(path)

    @tornado.web.authenticated
    async def delete(self, path: str) -> None:
        await self._forward(path)


def setup_handlers(server_app) -> None:
    web_app = server_app.web_app
    orrery = OrreryLab(parent=server_app)
    if not orrery.hub_url:
        server_app.log.warning("orrery_lab: no hub URL (ORRERY_HUB_URL or c.OrreryLab.hub_url)")
    prefix = url_path_join(web_app.settings["base_url"], "orrery", "hub") + "/"
    route = prefix + "(.*)"
    web_app.add_handlers(".*$", [(route, HubProxyHandler, {"orrery": orrery, "prefix": prefix})])
