"""Orrery server-wide Jupyter configuration.

Turn on TCP_NODELAY for every websocket the server accepts.

Tornado re-enables Nagle's algorithm on a connection once an HTTP response is finished, and a
websocket keeps that stream. A kernel answers a request with several small frames (status busy,
the reply, status idle); with Nagle on, the later frames wait for the client's delayed ACK and
replies stall for tens of milliseconds on loopback. Tornado documents calling
``set_nodelay(True)`` from ``open()``, so every ``open`` of a WebSocketHandler subclass,
present or future, is wrapped to do that first.

Set ORRERY_WS_NODELAY=0 in the server's environment to leave Nagle on (for measurements).
"""

import functools
import os

from tornado.websocket import WebSocketHandler
from traitlets.config import LazyConfigValue


def _with_nodelay(open_method):
    if getattr(open_method, "_orrery_nodelay", False):
        return open_method

    @functools.wraps(open_method)
    def open_with_nodelay(self, *args, **kwargs):
        if self.ws_connection is not None:
            self.set_nodelay(True)
        return open_method(self, *args, **kwargs)

    open_with_nodelay._orrery_nodelay = True
    return open_with_nodelay


def _patch(cls):
    if "open" in cls.__dict__:
        cls.open = _with_nodelay(cls.__dict__["open"])
    for sub in cls.__subclasses__():
        _patch(sub)


_enabled = os.environ.get("ORRERY_WS_NODELAY", "1") != "0"
if _enabled:
    _patch(WebSocketHandler)
_previous_init_subclass = WebSocketHandler.__dict__.get("__init_subclass__")


def _init_subclass(cls, **kwargs):
    super(WebSocketHandler, cls).__init_subclass__(**kwargs)
    if "open" in cls.__dict__:
        cls.open = _with_nodelay(cls.__dict__["open"])


if _enabled and _previous_init_subclass is None:
    WebSocketHandler.__init_subclass__ = classmethod(_init_subclass)


# Behind the Orrery hub, tell JupyterLab where the hub is (the keys JupyterHub's single-user
# server sets), so its built-in "Hub Control Panel" and "Log Out" menu items lead to the hub.
def _merge_tornado_settings(config, settings):
    """Set `settings` in ServerApp.tornado_settings as a plain dict.

    Not `c.ServerApp.tornado_settings.update(...)`: on an unset key that makes a lazy config
    value, which jupyterhub-singleuser reads as a dict (`'log_function' in ...`) and fails, so
    the container exited. A plain dict replaces tornado_settings from config files loaded
    before this one (none in the image sets any); files loaded after may still update it.
    """
    current = config.ServerApp.get("tornado_settings") or {}
    if isinstance(current, LazyConfigValue):
        current = current.get_value({})
    config.ServerApp.tornado_settings = {**current, **settings}


_hub_user = os.environ.get("JUPYTERHUB_USER")
if _hub_user:
    _merge_tornado_settings(
        get_config(),  # noqa: F821 - provided by Jupyter when it loads this file
        {
            "hub_prefix": "/hub/",
            "hub_host": os.environ.get("JUPYTERHUB_HOST", ""),
            "user": _hub_user,
        },
    )
