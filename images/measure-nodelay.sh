#!/usr/bin/env bash
# Compare kernel_info round trips of orrery/lab with TCP_NODELAY on its websockets (the image
# default) and off (ORRERY_WS_NODELAY=0). Runs two throwaway containers named orrery-test-*.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
image="${ORRERY_LAB_TAG:-orrery/lab:latest}"
n="${1:-200}"
for mode in on off; do
  name="orrery-test-nodelay-$mode"
  docker rm -f "$name" >/dev/null 2>&1 || true
  flag=1; [ "$mode" = off ] && flag=0
  docker run -d --name "$name" -e ORRERY_WS_NODELAY=$flag -e JUPYTER_TOKEN=measure-token \
    "$image" jupyter lab --no-browser --ip=127.0.0.1 --port=8888 >/dev/null
  for _ in $(seq 1 120); do
    docker exec "$name" python3 -c "import urllib.request as u; u.urlopen('http://127.0.0.1:8888/api/status?token=measure-token')" >/dev/null 2>&1 && break
    sleep 0.5
  done
  docker cp "$here/measure-kernel-rtt.py" "$name:/tmp/measure-kernel-rtt.py"
  printf 'nodelay %s: ' "$mode"
  docker exec "$name" python3 /tmp/measure-kernel-rtt.py http://127.0.0.1:8888/ measure-token "$n"
  docker rm -f "$name" >/dev/null
done
