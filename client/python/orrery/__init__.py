"""Orrery from Python, inside a compute container or anywhere with a token.

Inside an Orrery server the hub's address and the server's own token are in the environment
(``ORRERY_HUB_URL``, ``ORRERY_API_TOKEN``), so nothing needs configuring; elsewhere call
:func:`orrery.connect` with a URL and a token made on the hub's token page.
"""

from ._hub import Hub, OrreryError, connect, hub

__all__ = ["Hub", "OrreryError", "connect", "hub"]
__version__ = "0.1.0"
