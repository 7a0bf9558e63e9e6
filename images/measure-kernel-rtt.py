"""Measure kernel_info round trips over a Jupyter kernel websocket.

Usage: python3 measure-kernel-rtt.py BASE_URL TOKEN [N]
(e.g. http://127.0.0.1:8888/ secret 200). Starts a kernel, sends N kernel_info_request messages
one after another on the shell channel, and times each until its kernel_info_reply arrives.
Prints median / p90 / max in milliseconds, then deletes the kernel.
Used by images/measure-nodelay.sh to compare the server with and without TCP_NODELAY.
"""

import json
import statistics
import sys
import time
import urllib.request
import uuid

import websocket  # websocket-client, a jupyter_server dependency

base, token = sys.argv[1].rstrip("/") + "/", sys.argv[2]
count = int(sys.argv[3]) if len(sys.argv) > 3 else 200
headers = {"Authorization": f"token {token}", "Content-Type": "application/json"}


def api(method, path, body=None):
    request = urllib.request.Request(
        base + path, method=method, headers=headers,
        data=None if body is None else json.dumps(body).encode(),
    )
    with urllib.request.urlopen(request) as response:
        text = response.read()
        return json.loads(text) if text else None


kernel = api("POST", "api/kernels", {"name": "python3"})
ws_url = base.replace("http", "ws", 1) + f"api/kernels/{kernel['id']}/channels"
ws = websocket.create_connection(ws_url, header=[f"Authorization: token {token}"])
session = uuid.uuid4().hex


def kernel_info():
    msg_id = uuid.uuid4().hex
    ws.send(json.dumps({
        "header": {"msg_id": msg_id, "msg_type": "kernel_info_request", "session": session,
                   "username": "orrery", "version": "5.3", "date": ""},
        "parent_header": {}, "metadata": {}, "content": {}, "channel": "shell", "buffers": [],
    }))
    started = time.perf_counter()
    while True:
        msg = json.loads(ws.recv())
        if msg.get("msg_type") == "kernel_info_reply" and msg["parent_header"].get("msg_id") == msg_id:
            return (time.perf_counter() - started) * 1000


for _ in range(20):  # wait for the kernel, warm up
    kernel_info()
samples = sorted(kernel_info() for _ in range(count))
ws.close()
api("DELETE", f"api/kernels/{kernel['id']}")
print(json.dumps({
    "n": count,
    "median_ms": round(statistics.median(samples), 2),
    "p90_ms": round(samples[int(0.9 * count) - 1], 2),
    "max_ms": round(samples[-1], 2),
}))
