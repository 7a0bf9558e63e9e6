"""MyDB from Python: quick queries into pandas, batch jobs, tables in and out.

As SciScript-Python's CasJobs module does, every function acts as the connected user (inside
an Orrery server, the server's own token) on the hub's MyDB API (docs/mydb.md)::

    from orrery import mydb
    df = mydb.query("SELECT ra, dec, vmag FROM stars WHERE vmag < 2", context="stars")
    job = mydb.submit("SELECT * FROM stars WHERE dec > 80", context="stars", table="polar")
    mydb.wait(job)
    polar = mydb.get_table("polar")

Results come as Arrow when the hub offers it (``pyarrow``), else as JSON; either way 64-bit
integers stay exact (nullable ``Int64`` columns), never rounded through floats.
"""

from __future__ import annotations

import io
import time
import warnings
from typing import Any
from urllib.parse import quote

from ._hub import Hub, hub

__all__ = [
    "cancel",
    "contexts",
    "drop",
    "get_table",
    "query",
    "status",
    "submit",
    "tables",
    "upload",
    "wait",
]

ARROW = "application/vnd.apache.arrow.stream"
#: Batch states after which a job never changes again.
FINISHED_STATES = frozenset({"finished", "failed", "cancelled"})
DEFAULT_CONTEXT = "mydb"

_INTEGER_TYPES = frozenset({"bigint", "integer", "smallint", "oid"})
_FLOAT_TYPES = frozenset({"real", "double precision", "numeric"})
_TIME_TYPES = ("timestamp", "date")


def _seg(value: Any) -> str:
    return quote(str(value), safe="")


def _pandas():
    try:
        import pandas
    except ImportError as missing:  # pragma: no cover - the image and the tests have pandas
        raise ImportError("orrery.mydb needs pandas: pip install 'orrery[pandas]'") from missing
    return pandas


def _has_pyarrow() -> bool:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


def _query_body(sql: str, context: str, **extra: Any) -> dict:
    body: dict = {"sql": sql}
    # The default context is left out so that hubs older than contexts accept the body.
    if context != DEFAULT_CONTEXT:
        body["context"] = context
    body.update({k: v for k, v in extra.items() if v is not None})
    return body


def _frame_from_json(answer: dict):
    """The hub's JSON result (bigint and numeric as text) as a DataFrame with exact integers."""
    pd = _pandas()
    names = [c["name"] for c in answer["columns"]]
    rows = answer["rows"]
    data = {}
    for index, column in enumerate(answer["columns"]):
        values = [row[index] for row in rows]
        kind = column["type"]
        if kind in _INTEGER_TYPES:
            data[index] = pd.array([None if v is None else int(v) for v in values], dtype="Int64")
        elif kind in _FLOAT_TYPES:
            data[index] = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce")
        elif kind.startswith(_TIME_TYPES):
            data[index] = pd.to_datetime(
                pd.Series(values, dtype=object), utc="with time zone" in kind
            )
        else:
            data[index] = pd.Series(values, dtype=object)
    frame = pd.DataFrame({i: data[i] for i in range(len(names))})
    frame.columns = names
    frame.attrs["truncated"] = bool(answer.get("truncated", False))
    return frame


def _frame_from_arrow(payload: bytes, truncated_header: str | None):
    """An Arrow IPC stream as a DataFrame; integers become nullable ``Int64``, exactly."""
    import pyarrow as pa
    import pyarrow.ipc

    pd = _pandas()
    table = pyarrow.ipc.open_stream(payload).read_all()
    integers = {pa.int8(), pa.int16(), pa.int32(), pa.int64(), pa.uint8(), pa.uint16(), pa.uint32()}
    frame = table.to_pandas(
        types_mapper=lambda t: pd.Int64Dtype() if t in integers else None,
    )
    metadata = table.schema.metadata or {}
    flag = metadata.get(b"orrery.truncated", (truncated_header or "false").encode())
    frame.attrs["truncated"] = flag.decode().lower() == "true"
    return frame


def query(
    sql: str,
    context: str = DEFAULT_CONTEXT,
    max_rows: int | None = None,
    timeout_seconds: int | None = None,
    session: str | None = None,
    connection: Hub | None = None,
):
    """Run a quick query and answer its result as a ``pandas.DataFrame``.

    ``context`` is a name from :func:`contexts` (``mydb`` by default). The hub caps rows and
    time (docs/mydb.md); when the cap cut the result, ``df.attrs["truncated"]`` is true and a
    warning says so. Long queries belong in :func:`submit`.
    """
    h = connection or hub()
    accept = f"{ARROW}, application/json;q=0.5" if _has_pyarrow() else "application/json"
    body = _query_body(
        sql, context, max_rows=max_rows, timeout_seconds=timeout_seconds, session=session
    )
    response = h.request("POST", h.user_path("/mydb/query"), json=body, headers={"Accept": accept})
    kind = response.headers.get("Content-Type", "").split(";")[0].strip()
    if kind == ARROW:
        frame = _frame_from_arrow(response.content, response.headers.get("Orrery-Truncated"))
    else:
        frame = _frame_from_json(response.json())
    if frame.attrs["truncated"]:
        warnings.warn(
            f"The result was cut at the row cap ({len(frame)} rows): submit a batch query "
            "for all of it",
            stacklevel=2,
        )
    return frame


def contexts(connection: Hub | None = None) -> list:
    """What you may query: your MyDB first, then the catalogs (dicts as the hub answers)."""
    return (connection or hub()).json("GET", "/mydb/contexts")


def tables(context: str = DEFAULT_CONTEXT, connection: Hub | None = None) -> list:
    """The tables, views and their columns (type, unit, description) of one context."""
    return (connection or hub()).json("GET", f"/mydb/contexts/{_seg(context)}/tables")


def submit(
    sql: str,
    context: str = DEFAULT_CONTEXT,
    table: str | None = None,
    timeout_seconds: int | None = None,
    connection: Hub | None = None,
) -> int:
    """Queue a batch query whose result goes into MyDB table ``table`` (the hub names it
    ``batch_<id>`` when not given); answer the job's id."""
    h = connection or hub()
    body: dict = {"sql": sql, "context": context}
    if table is not None:
        body["table"] = table
    if timeout_seconds is not None:
        body["timeout_seconds"] = timeout_seconds
    return h.json("POST", h.user_path("/mydb/batch"), body)["id"]


def status(job_id: int, connection: Hub | None = None) -> dict:
    """A batch job as the hub describes it (status, queue position, row count, error…)."""
    h = connection or hub()
    return h.json("GET", h.user_path(f"/mydb/batch/{_seg(job_id)}"))


def cancel(job_id: int, connection: Hub | None = None) -> dict:
    """Cancel a queued or running batch job; answer its new state."""
    h = connection or hub()
    return h.json("POST", h.user_path(f"/mydb/batch/{_seg(job_id)}/cancel"), {})


def wait(
    job_id: int,
    timeout: float | None = None,
    poll_seconds: float = 1.0,
    connection: Hub | None = None,
) -> dict:
    """Wait until a batch job is finished, failed or cancelled; answer its final state.

    Raises ``TimeoutError`` when ``timeout`` seconds pass first (the job keeps running).
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    delay = min(poll_seconds, 0.25)
    while True:
        state = status(job_id, connection)
        if state["status"] in FINISHED_STATES:
            return state
        if deadline is not None and time.monotonic() + delay > deadline:
            raise TimeoutError(f"batch query {job_id} is still {state['status']}")
        time.sleep(delay)
        delay = min(delay * 2, poll_seconds)


def upload(df, table: str, connection: Hub | None = None) -> dict:
    """Make MyDB table ``table`` from a DataFrame (sent as CSV); it must not exist yet.

    Answers ``{table, row_count, columns}``. The hub makes it all or nothing.
    """
    h = connection or hub()
    payload = df.to_csv(index=False).encode("utf-8")
    response = h.request(
        "POST",
        h.user_path(f"/mydb/tables/{_seg(table)}/import"),
        params={"format": "csv"},
        data=payload,
        headers={"Content-Type": "text/csv"},
    )
    return response.json()


def get_table(table: str, connection: Hub | None = None):
    """A whole MyDB table as a DataFrame (exported as Parquet when pyarrow is there, else
    CSV), without the quick query's row cap."""
    pd = _pandas()
    h = connection or hub()
    fmt = "parquet" if _has_pyarrow() else "csv"
    response = h.request(
        "GET", h.user_path(f"/mydb/tables/{_seg(table)}/export"), params={"format": fmt}
    )
    if fmt == "parquet":
        import pyarrow.parquet

        return pyarrow.parquet.read_table(io.BytesIO(response.content)).to_pandas(
            types_mapper=lambda t: pd.Int64Dtype() if str(t).startswith(("int", "uint")) else None
        )
    return pd.read_csv(io.BytesIO(response.content))


def drop(table: str, connection: Hub | None = None) -> None:
    """Drop one of your MyDB tables."""
    h = connection or hub()
    h.request("DELETE", h.user_path(f"/mydb/tables/{_seg(table)}")).close()
