"""Configuration of the hub proxy (``c.OrreryLab.*`` in a Jupyter config file)."""

from __future__ import annotations

import os
import re

from traitlets import Float, Integer, List, Unicode, default
from traitlets.config import Configurable

#: Hub API paths the panels need. Anything else (notably ``users/<name>/tokens``)
#: is refused so that script running in the page cannot mint or list tokens.
DEFAULT_ALLOWED_PATHS = [
    r"user",
    r"users",
    r"groups(/[^/]+(/invitations|/members/[^/]+)?)?",
    r"invitations(/[^/]+/(accept|decline))?",
    r"domains(/[^/]+/(join|leave))?",
    # The idle-stop warning: what the hub offers, this server's state, and "keep it running".
    r"compute",
    r"users/[^/]+/servers/[^/]+(/keepalive)?",
]


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

    request_timeout = Float(
        30.0, help="Seconds to wait for the hub before answering 504."
    ).tag(config=True)

    max_body_bytes = Integer(
        1024 * 1024, help="Largest request body forwarded to the hub, in bytes."
    ).tag(config=True)

    allowed_paths = List(
        Unicode(),
        default_value=DEFAULT_ALLOWED_PATHS,
        help=(
            "Regular expressions (matched against the whole path after /hub/api/) of hub "
            "API paths the browser may reach through this proxy."
        ),
    ).tag(config=True)

    @default("hub_url")
    def _hub_url_default(self) -> str:
        return os.environ.get("ORRERY_HUB_URL", "")

    @default("api_token")
    def _api_token_default(self) -> str:
        return os.environ.get("ORRERY_API_TOKEN", "")

    def is_allowed(self, path: str) -> bool:
        return any(re.fullmatch(pattern, path) for pattern in self.allowed_paths)
