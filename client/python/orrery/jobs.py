"""Batch jobs (SciServer's Jobs, as SciScript-Python's ``Jobs`` module): notebooks executed with
papermill and shell commands, run in a container of a compute domain with your workspace and
volumes, queued fairly, long after this session has ended (docs/jobs.md).

A job is a dict as the hub answers it (``id``, ``status``, ``output_folder``, ...); every
function taking a job takes the dict or its id. Notebook paths are relative to your workspace
(the folder your servers show as ``work/``); an absolute path inside it is accepted too.
Every function takes ``hub=`` to use another connection than :func:`orrery.hub`.

    from orrery import jobs
    job = jobs.submit_notebook("analysis/fit.ipynb", parameters={"alpha": 0.1})
    job = jobs.wait(job)                   # the ended job: status, failure, message
    print(job["output_notebook"])          # jobs/<id>/fit.ipynb, in your workspace
    sweep = jobs.submit_sweep([{"seed": s} for s in range(10)], command="python run.py")
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any, TextIO, Union

from ._hub import Hub
from ._hub import hub as default_hub

Job = Union[int, dict]

#: Statuses after which a job changes no more.
ENDED = ("succeeded", "failed", "cancelled", "timed_out")

#: Where a server mounts your workspace (absolute notebook paths are taken relative to it).
WORKSPACE = os.environ.get("ORRERY_WORKSPACE", "/home/jovyan/work")


def _hub(hub: Hub | None) -> Hub:
    return hub or default_hub()


def _id(job: Job) -> int:
    return int(job["id"] if isinstance(job, dict) else job)


def _notebook_path(path: str | os.PathLike) -> str:
    """A notebook path relative to the workspace (an absolute one must be inside it)."""
    text = os.fspath(path)
    if os.path.isabs(text):
        relative = os.path.relpath(text, WORKSPACE)
        if relative.startswith(".."):
            raise ValueError(f"{text} is not in your workspace ({WORKSPACE})")
        return relative
    return text


def _definition(
    image: str | None,
    domain: str | None,
    working_dir: str | None,
    cpus: float | None,
    memory_mb: int | None,
    time_limit_seconds: int | None,
) -> dict[str, Any]:
    given = {
        "image": image,
        "domain": domain,
        "working_dir": working_dir,
        "cpus": cpus,
        "memory_mb": memory_mb,
        "time_limit_seconds": time_limit_seconds,
    }
    return {key: value for key, value in given.items() if value is not None}


def submit_notebook(
    path: str | os.PathLike,
    parameters: dict[str, Any] | None = None,
    *,
    image: str | None = None,
    domain: str | None = None,
    working_dir: str | None = None,
    cpus: float | None = None,
    memory_mb: int | None = None,
    time_limit_seconds: int | None = None,
    idempotency_key: str | None = None,
    hub: Hub | None = None,
) -> dict:
    """Queue a notebook of your workspace, executed with papermill with ``parameters``
    (injected after its cell tagged ``parameters``); the executed notebook goes to
    ``jobs/<id>/<file name>``. It runs in the notebook's folder unless ``working_dir`` says."""
    h = _hub(hub)
    body = {"notebook": _notebook_path(path)}
    body.update(_definition(image, domain, working_dir, cpus, memory_mb, time_limit_seconds))
    if parameters is not None:
        body["parameters"] = parameters
    if idempotency_key is not None:
        body["idempotency_key"] = idempotency_key
    return h.json("POST", h.user_path("/jobs"), body)


def submit_shell(
    command: str,
    *,
    image: str | None = None,
    domain: str | None = None,
    working_dir: str | None = None,
    cpus: float | None = None,
    memory_mb: int | None = None,
    time_limit_seconds: int | None = None,
    idempotency_key: str | None = None,
    hub: Hub | None = None,
) -> dict:
    """Queue a shell command line (run by ``sh -c`` in ``working_dir`` of your workspace)."""
    h = _hub(hub)
    body: dict[str, Any] = {"command": command}
    body.update(_definition(image, domain, working_dir, cpus, memory_mb, time_limit_seconds))
    if idempotency_key is not None:
        body["idempotency_key"] = idempotency_key
    return h.json("POST", h.user_path("/jobs"), body)


def submit_sweep(
    parameter_sets: Iterable[dict[str, Any]],
    *,
    notebook: str | os.PathLike | None = None,
    command: str | None = None,
    image: str | None = None,
    domain: str | None = None,
    working_dir: str | None = None,
    cpus: float | None = None,
    memory_mb: int | None = None,
    time_limit_seconds: int | None = None,
    hub: Hub | None = None,
) -> dict:
    """Queue one job per parameter set (at most 1,000), all or none: a notebook's
    parameters, or a command's ``ORRERY_PARAM_<NAME>`` environment variables.
    Returns ``{"sweep_id", "jobs"}``, the jobs in the sets' order."""
    if (notebook is None) == (command is None):
        raise ValueError("Give exactly one of notebook= and command=")
    h = _hub(hub)
    body: dict[str, Any] = (
        {"notebook": _notebook_path(notebook)} if notebook is not None else {"command": command}
    )
    body.update(_definition(image, domain, working_dir, cpus, memory_mb, time_limit_seconds))
    body["parameter_sets"] = [*parameter_sets]  # (`list` is this module's own function)
    return h.json("POST", h.user_path("/jobs/sweeps"), body)


def status(job: Job, hub: Hub | None = None) -> dict:
    """The job as it is now: ``status`` (queued, running, succeeded, failed, cancelled,
    timed_out), ``queue_position`` and ``estimated_start_at`` while queued, ``failure`` and
    ``message`` when it failed, ``duration_seconds``."""
    h = _hub(hub)
    return h.json("GET", h.user_path(f"/jobs/{_id(job)}"))


def list(
    status: str | None = None, limit: int = 100, offset: int = 0, hub: Hub | None = None
) -> list[dict]:
    """Your jobs, newest first (only those of one status if given)."""
    h = _hub(hub)
    params: dict[str, Any] = {"limit": limit, "offset": offset}
    if status is not None:
        params["status"] = status
    return h.json("GET", h.user_path("/jobs"), params=params)["jobs"]


def cancel(job: Job, hub: Hub | None = None) -> dict:
    """Cancel a queued or running job (a running one is killed, its output so far kept)."""
    h = _hub(hub)
    return h.json("POST", h.user_path(f"/jobs/{_id(job)}/cancel"))


def resubmit(job: Job, hub: Hub | None = None) -> dict:
    """Queue a new job from an ended job's definition (and parameters)."""
    h = _hub(hub)
    return h.json("POST", h.user_path(f"/jobs/{_id(job)}/resubmit"))


def wait(
    job: Job, timeout: float | None = None, poll_seconds: float = 2.0, hub: Hub | None = None
) -> dict:
    """Wait until the job has ended and return it; TimeoutError after ``timeout`` seconds."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        now = status(job, hub=hub)
        if now["status"] in ENDED:
            return now
        if deadline is not None and time.monotonic() >= deadline:
            raise TimeoutError(f"job {_id(job)} is still {now['status']} after {timeout} s")
        time.sleep(poll_seconds)


def _chunks(job: Job, hub: Hub | None, poll_seconds: float | None) -> Iterator[dict]:
    """Answers of the logs route from offset 0: until nothing more is there now (poll_seconds
    None), or until the job has ended and all was read (polling every poll_seconds)."""
    h = _hub(hub)
    offsets = {"stdout_offset": 0, "stderr_offset": 0}
    while True:
        answer = h.json("GET", h.user_path(f"/jobs/{_id(job)}/logs"), params=offsets)
        yield answer
        got = answer["stdout_offset"] != offsets["stdout_offset"] or (
            answer["stderr_offset"] != offsets["stderr_offset"]
        )
        offsets = {key: answer[key] for key in offsets}
        if answer["complete"]:
            return
        if not got:
            if poll_seconds is None:
                return
            time.sleep(poll_seconds)


def logs(job: Job, hub: Hub | None = None) -> dict:
    """The job's output so far: ``{"stdout", "stderr", "complete"}`` (complete once it has
    ended). The whole of each stream is also in ``jobs/<id>/stdout.txt`` and ``stderr.txt``."""
    stdout, stderr, complete = [], [], False
    for answer in _chunks(job, hub, None):
        stdout.append(answer["stdout"])
        stderr.append(answer["stderr"])
        complete = answer["complete"]
    return {"stdout": "".join(stdout), "stderr": "".join(stderr), "complete": complete}


def follow(
    job: Job,
    out: TextIO | None = None,
    err: TextIO | None = None,
    poll_seconds: float = 1.0,
    hub: Hub | None = None,
) -> dict:
    """Print the job's output as it comes (to ``out`` and ``err``, default this process's)
    until it has ended; returns the ended job."""
    out = out or sys.stdout
    err = err or sys.stderr
    for answer in _chunks(job, hub, poll_seconds):
        if answer["stdout"]:
            out.write(answer["stdout"])
            out.flush()
        if answer["stderr"]:
            err.write(answer["stderr"])
            err.flush()
    return status(job, hub=hub)
