"""orrery.jobs against a real hub (tests/conftest.py), as alice with a server token's scopes:
notebook and shell jobs run in Docker (the hub's `docker` domain), waited for, listed, followed,
cancelled and resubmitted; sweeps; refusals as OrreryError. Skipped without Docker.
"""

from __future__ import annotations

import io
import json
import uuid

import pytest

from orrery import OrreryError, files, jobs


@pytest.fixture
def domain(hub_server, alice):
    if not hub_server.get("jobs"):
        pytest.skip("no Docker daemon: the test hub has no domain that runs jobs")
    return hub_server["jobs"]


def notebook(parameters: str, *cells: str) -> bytes:
    def cell(source, tags=()):
        return {
            "cell_type": "code",
            "execution_count": None,
            "metadata": {"tags": list(tags)},
            "outputs": [],
            "source": source,
        }

    return json.dumps(
        {
            "cells": [cell(parameters, ["parameters"]), *[cell(c) for c in cells]],
            "metadata": {
                "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                "language_info": {"name": "python"},
            },
            "nbformat": 4,
            "nbformat_minor": 5,
        }
    ).encode()


def test_a_notebook_job_with_parameters_is_waited_for(domain):
    folder = f"py-{uuid.uuid4().hex[:6]}"
    files.mkdir(folder)
    files.upload(notebook("k = 1", "print('k is', k * 10)"), f"{folder}/k.ipynb")
    job = jobs.submit_notebook(
        f"/home/jovyan/work/{folder}/k.ipynb",
        parameters={"k": 4},
        domain=domain["domain"],
        image=domain["image"],
    )
    assert job["kind"] == "notebook"
    assert job["notebook"] == f"{folder}/k.ipynb"
    assert jobs.status(job)["id"] == job["id"]
    ended = jobs.wait(job, timeout=180, poll_seconds=0.5)
    assert ended["status"] == "succeeded", (ended["failure"], ended["message"])
    assert "k is 40" in jobs.logs(job)["stdout"]
    executed = json.loads(files.download(ended["output_notebook"]))
    assert "k is 40" in json.dumps(executed["cells"])
    assert job["id"] in [j["id"] for j in jobs.list()]
    assert job["id"] in [j["id"] for j in jobs.list(status="succeeded")]


def test_a_shell_job_is_followed_and_a_failure_says_why(domain):
    job = jobs.submit_shell(
        "echo out; echo err >&2; exit 4", domain=domain["domain"], image=domain["image"]
    )
    out, err = io.StringIO(), io.StringIO()
    ended = jobs.follow(job, out=out, err=err, poll_seconds=0.3)
    assert (out.getvalue(), err.getvalue()) == ("out\n", "err\n")
    assert ended["status"] == "failed"
    assert (ended["failure"], ended["exit_code"]) == ("exit_code", 4)
    assert jobs.logs(job) == {"stdout": "out\n", "stderr": "err\n", "complete": True}
    again = jobs.resubmit(ended)
    assert again["resubmitted_from"] == job["id"]
    assert jobs.wait(again, timeout=120, poll_seconds=0.5)["exit_code"] == 4


def test_cancel_a_queued_or_running_job_not_an_ended_one(domain):
    job = jobs.submit_shell("sleep 300", domain=domain["domain"], image=domain["image"])
    assert jobs.cancel(job["id"])["status"] == "cancelled"
    assert jobs.wait(job, timeout=10)["status"] == "cancelled"
    done = jobs.wait(
        jobs.submit_shell("true", domain=domain["domain"], image=domain["image"]),
        timeout=120,
        poll_seconds=0.5,
    )
    assert done["status"] == "succeeded"
    with pytest.raises(OrreryError) as refused:
        jobs.cancel(done)
    assert refused.value.status == 409


def test_a_sweep_of_shell_jobs(domain):
    sweep = jobs.submit_sweep(
        [{"n": n} for n in (1, 2, 3)],
        command='echo "n=$ORRERY_PARAM_n"',
        domain=domain["domain"],
        image=domain["image"],
    )
    assert len(sweep["jobs"]) == 3
    assert {j["sweep_id"] for j in sweep["jobs"]} == {sweep["sweep_id"]}
    outputs = [
        jobs.logs(jobs.wait(j, timeout=120, poll_seconds=0.5))["stdout"] for j in sweep["jobs"]
    ]
    assert outputs == ["n=1\n", "n=2\n", "n=3\n"]


def test_refusals_are_orrery_errors(alice):
    with pytest.raises(OrreryError) as bad:
        jobs.submit_notebook("../elsewhere.ipynb")
    assert bad.value.status == 400
    with pytest.raises(ValueError):
        jobs.submit_notebook("/etc/passwd.ipynb")
    with pytest.raises(ValueError):
        jobs.submit_sweep([{}])
    with pytest.raises(OrreryError) as missing:
        jobs.status(10**9)
    assert missing.value.status == 404
