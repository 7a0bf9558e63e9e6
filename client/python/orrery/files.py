"""Files and volumes (SciServer's Files service, as SciScript-Python's ``Files`` module).

A volume is named ``"<root>/<owner>/<name>"`` (``"Storage/alice/persistent"``); a bare name is
one of your own in ``Storage`` (``root=`` picks another root). Paths are relative to the volume.
Every function takes ``hub=`` to use another connection than :func:`orrery.hub`.

    from orrery import files
    files.upload("results.csv", "runs/results.csv")          # into Storage/<me>/persistent
    files.list_folder("runs")
    files.share("persistent", user="bob", access="read")
"""

from __future__ import annotations

import io
import os
from typing import Any, BinaryIO, Union
from urllib.parse import quote

from ._hub import Hub
from ._hub import hub as default_hub

#: Uploads larger than this go in resumable chunks of this size.
CHUNK_BYTES = 64 * 1024 * 1024

Source = Union[str, os.PathLike, bytes, BinaryIO]


def _hub(hub: Hub | None) -> Hub:
    return hub or default_hub()


def _volume(hub: Hub, volume: str, root: str, owner: str | None) -> str:
    """``root/owner/name`` of a volume, each part escaped for a URL."""
    parts = volume.split("/")
    if len(parts) == 3:
        root, owner, volume = parts
    elif len(parts) != 1:
        raise ValueError('A volume is "name" or "root/owner/name"')
    return "/".join(quote(part, safe="") for part in (root, owner or hub.user, volume))


def volumes(hub: Hub | None = None) -> list[dict[str, Any]]:
    """Every volume you may read: yours, those shared with you, data volumes."""
    return _hub(hub).json("GET", "/volumes")["volumes"]


def usage(hub: Hub | None = None) -> list[dict[str, Any]]:
    """Your usage per root volume: used_bytes, quota_bytes, percent, warning (at 90%)."""
    h = _hub(hub)
    return h.json("GET", h.user_path("/files/usage"))["roots"]


def create_volume(
    name: str, root: str = "Storage", description: str = "", hub: Hub | None = None
) -> dict:
    """Create a volume of yours under a root volume."""
    return _hub(hub).json(
        "POST", f"/volumes/{quote(root, safe='')}", {"name": name, "description": description}
    )


def delete_volume(volume: str, root: str = "Storage", hub: Hub | None = None) -> None:
    """Delete a volume of yours (its files go to quarantine, then away)."""
    h = _hub(hub)
    h.request("DELETE", f"/volumes/{_volume(h, volume, root, None)}")


def list_folder(
    path: str = "",
    volume: str = "persistent",
    root: str = "Storage",
    owner: str | None = None,
    hub: Hub | None = None,
) -> list[dict[str, Any]]:
    """A folder's entries: name, type (file, folder, link, other), size, mtime."""
    h = _hub(hub)
    return h.json("GET", f"/files/{_volume(h, volume, root, owner)}/list", params={"path": path})[
        "entries"
    ]


def mkdir(
    path: str,
    volume: str = "persistent",
    root: str = "Storage",
    owner: str | None = None,
    parents: bool = False,
    hub: Hub | None = None,
) -> dict:
    """Make a folder (``parents=True`` makes missing ones on the way)."""
    h = _hub(hub)
    return h.json(
        "POST",
        f"/files/{_volume(h, volume, root, owner)}/folders",
        {"path": path, "parents": parents},
    )


def _open(source: Source) -> tuple[BinaryIO, int, bool]:
    """A binary stream, its size, and whether we opened it (and must close it)."""
    if isinstance(source, (bytes, bytearray)):
        return io.BytesIO(source), len(source), True
    if isinstance(source, (str, os.PathLike)):
        stream = open(source, "rb")  # noqa: SIM115 - closed by the caller
        return stream, os.fstat(stream.fileno()).st_size, True
    position = source.tell()
    source.seek(0, os.SEEK_END)
    size = source.tell() - position
    source.seek(position)
    return source, size, False


def upload(
    source: Source,
    path: str,
    volume: str = "persistent",
    root: str = "Storage",
    owner: str | None = None,
    overwrite: bool = False,
    chunk_bytes: int = CHUNK_BYTES,
    hub: Hub | None = None,
) -> dict:
    """Upload a local file (path), bytes or a binary stream to ``path`` in the volume.

    Files larger than ``chunk_bytes`` go as a resumable upload: chunk by chunk, resumed from the
    hub's offset after a failed chunk; the file appears only when every byte has arrived.
    """
    h = _hub(hub)
    base = f"/files/{_volume(h, volume, root, owner)}"
    stream, size, opened = _open(source)
    headers = {"Content-Type": "application/octet-stream"}
    try:
        if size <= chunk_bytes:
            params = {"path": path, "overwrite": "true" if overwrite else "false"}
            return h.json(
                "PUT", f"{base}/content", params=params, data=stream.read(), headers=headers
            )
        session = h.json(
            "POST", f"{base}/uploads", {"path": path, "size": size, "overwrite": overwrite}
        )
        url = f"{base}/uploads/{session['upload_id']}"
        start = stream.tell()
        offset = 0
        retries = 0
        while offset < size:
            stream.seek(start + offset)
            chunk = stream.read(min(chunk_bytes, size - offset))
            try:
                offset = h.json("PUT", url, params={"offset": offset}, data=chunk, headers=headers)[
                    "offset"
                ]
                retries = 0
            except Exception:
                retries += 1
                if retries > 3:
                    h.request("DELETE", url)
                    raise
                offset = h.json("GET", url)["offset"]
        return h.json("POST", f"{url}/complete")
    finally:
        if opened:
            stream.close()


def download(
    path: str,
    local_path: str | os.PathLike | None = None,
    volume: str = "persistent",
    root: str = "Storage",
    owner: str | None = None,
    hub: Hub | None = None,
) -> bytes | None:
    """Download a file: its bytes, or streamed into ``local_path`` (then None)."""
    h = _hub(hub)
    url = f"/files/{_volume(h, volume, root, owner)}/content"
    response = h.request("GET", url, params={"path": path}, stream=True)
    try:
        if local_path is None:
            return response.content
        with open(local_path, "wb") as out:
            out.writelines(response.iter_content(1024 * 1024))
        return None
    finally:
        response.close()


def delete(
    path: str,
    volume: str = "persistent",
    root: str = "Storage",
    owner: str | None = None,
    hub: Hub | None = None,
) -> None:
    """Delete a file, or a folder with everything in it."""
    h = _hub(hub)
    h.request("DELETE", f"/files/{_volume(h, volume, root, owner)}/content", params={"path": path})


def move(
    source: str,
    target: str,
    volume: str = "persistent",
    root: str = "Storage",
    owner: str | None = None,
    to_volume: str | None = None,
    overwrite: bool = False,
    hub: Hub | None = None,
) -> dict:
    """Rename or move ``source`` to ``target``; ``to_volume="root/owner/name"`` moves across volumes."""
    h = _hub(hub)
    body: dict[str, Any] = {"from": source, "to": target, "overwrite": overwrite}
    if to_volume:
        parts = to_volume.split("/")
        if len(parts) != 3:
            raise ValueError('to_volume is "root/owner/name"')
        body.update(to_root=parts[0], to_owner=parts[1], to_volume=parts[2])
    return h.json("POST", f"/files/{_volume(h, volume, root, owner)}/move", body)


def share(
    volume: str,
    user: str | None = None,
    group: int | None = None,
    access: str = "read",
    root: str = "Storage",
    owner: str | None = None,
    hub: Hub | None = None,
) -> dict:
    """Share a volume with a user or a group (by id), ``access="read"`` or ``"read_write"``."""
    if (user is None) == (group is None):
        raise ValueError("Name exactly one of user and group")
    h = _hub(hub)
    body: dict[str, Any] = {
        "access": access,
        **({"user": user} if user is not None else {"group": group}),
    }
    return h.json("PUT", f"/volumes/{_volume(h, volume, root, owner)}/shares", body)


def unshare(
    volume: str,
    user: str | None = None,
    group: int | None = None,
    root: str = "Storage",
    owner: str | None = None,
    hub: Hub | None = None,
) -> None:
    """Stop sharing a volume with a user or a group."""
    if (user is None) == (group is None):
        raise ValueError("Name exactly one of user and group")
    h = _hub(hub)
    params = {"user": user} if user is not None else {"group": group}
    h.request("DELETE", f"/volumes/{_volume(h, volume, root, owner)}/shares", params=params)


def shares(
    volume: str, root: str = "Storage", owner: str | None = None, hub: Hub | None = None
) -> list[dict[str, Any]]:
    """Who a volume is shared with, and how."""
    h = _hub(hub)
    return h.json("GET", f"/volumes/{_volume(h, volume, root, owner)}/shares")["shares"]
