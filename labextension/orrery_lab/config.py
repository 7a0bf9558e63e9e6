"""Configuration of the hub proxy (``c.OrreryLab.*`` in a Jupyter config file)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from traitlets import Float, Integer, List, Unicode, default
from traitlets.config import Configurable

#: Generated from the hub's route table (routes marked ``lab: true``) by ``npm run contract``.
ALLOWLIST_FILE = Path(__file__).with_name("allowlist.json")


def load_allowlist(path: Path = ALLOWLIST_FILE) -> list[str]:
    """The generated allow-list as ``"METHOD pattern"`` entries."""
    routes = json.loads(path.read_text(encoding="utf-8"))["routes"]
    return [f"{route['method']} {route['pattern']}" for route in routes]


def compile_allowlist(entries: list[str]) -> list[tuple[str, re.Pattern[str]]]:
    """``"GET groups/[^/]+"`` -> ``("GET", <whole-path regex>)``; a malformed entry fails now."""
    compiled = []
    for entry in entries:
        method, _, pattern = entry.partition(" ")
        if not method.isupper() or not pattern:
            raise ValueError(f"allow-list entry {entry!r} is not 'METHOD path-pattern'")
        compiled.append((method, re.compile(pattern)))
    return compiled


class OrreryLab(Configurable):
    """Where the hub is and how this Jupyter server authenticates to it.

    In an Orrery compute container the spawner sets ``ORRERY_HUB_URL`` and
    ``ORRERY_API_TOKEN``; a developer running JupyterLab alone can set the same
    variables or ``c.OrreryLab.hub_url`` / ``c.OrreryLab.api_token``.
    """

    hub_url = Unicode(
        help="Base URL of the Orrery hub, e.g. http://127.0.0.1:8000 (default: $ORRERY_HUB_URL).",
    ).tag(config=True)

    api_token = Unicode(
        help=(
            "API token sent to the hub as 'Authorization: token ...' (default: $ORRERY_API_TOKEN). "
            "It never leaves this server process."
        ),
    ).tag(config=True)

    request_timeout = Float(30.0, help="Seconds to wait for the hub before answering 504.").tag(
        config=True
    )

    max_body_bytes = Integer(
        1024 * 1024, help="Largest request body forwarded to the hub, in bytes."
    ).tag(config=True)

    allowed_routes = List(
        Unicode(),
        help=(
            "Hub API calls the browser may make through this proxy, each 'METHOD pattern' where "
            "the pattern is a regular expression matched against the whole percent-encoded path "
            "after /hub/api/. Default: the hub routes marked lab: true (allowlist.json)."
        ),
    ).tag(config=True)

    @default("hub_url")
    def _hub_url_default(self) -> str:
        return os.environ.get("ORRERY_HUB_URL", "")

    @default("api_token")
    def _api_token_default(self) -> str:
        return os.environ.get("ORRERY_API_TOKEN", "")

    @default("allowed_routes")
    def _allowed_routes_default(self) -> list[str]:
        return load_allowlist()

    def permits(self, method: str, path: str) -> str:
        """``"allowed"``, ``"wrong_method"`` (a lab path, another method) or ``"unknown"``."""
        known = False
        for allowed_method, pattern in compile_allowlist(self.allowed_routes):
            if pattern.fullmatch(path):
                if allowed_method == method:
                    return "allowed"
                known = True
        return "wrong_method" if known else "unknown"
