"""A real hub for the client's tests: started once per session on a fresh database."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

import orrery

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def hub_server():
    """``{"url", "users": {name: token}, "jobs"}`` of a running test hub with users alice and
    bob; ``jobs`` is ``{"domain", "image"}`` where batch jobs run in Docker (the image
    ``ORRERY_TEST_JOBS_IMAGE``, default orrery/lab:latest), None without Docker."""
    env = {**os.environ}
    env.setdefault("ORRERY_TEST_JOBS_IMAGE", "orrery/lab:latest")
    process = subprocess.Popen(
        ["node", "--import", "tsx", "hub/test/serveTestHub.ts", "alice", "bob"],
        cwd=REPO,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline()
    if not line:
        process.kill()
        raise RuntimeError("the test hub did not start")
    yield json.loads(line)
    process.stdin.close()
    process.wait(timeout=60)


@pytest.fixture
def alice(hub_server):
    """The package connected as alice, with a server token's scopes."""
    return orrery.connect(hub_server["url"], hub_server["users"]["alice"])


@pytest.fixture
def bob(hub_server):
    return orrery.connect(hub_server["url"], hub_server["users"]["bob"])
