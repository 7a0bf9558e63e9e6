#!/usr/bin/env bash
# Provision a Docker engine for Orrery on a Debian host and build the Orrery images.
#
# Idempotent: installs docker.io, debootstrap, iptables, OpenSSH, btrfs-progs and quota only when missing (one apt-get update),
# starts dockerd in the background only when `docker info` does not answer (log in
# /var/log/dockerd.log), waits for it, then runs images/build.sh (itself cached).
# CI calls this script before the spawner tests.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
log() { printf '[provision-docker] %s\n' "$*" >&2; }

need_root() {
  if [ "$(id -u)" -ne 0 ]; then
    log "must run as root (installs packages and starts dockerd)"
    exit 1
  fi
}

missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
command -v iptables >/dev/null 2>&1 || missing+=(iptables)
# sshd and ssh-keygen: the tests reach a Docker host over SSH (the daemon behind a local sshd).
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
command -v ssh-keygen >/dev/null 2>&1 || missing+=(openssh-client)
# Quotas enforced in containers (hub/src/files/mounts/quota.ts and its tests): btrfs qgroups,
# ext4/XFS project quotas (setquota, repquota).
command -v mkfs.btrfs >/dev/null 2>&1 || missing+=(btrfs-progs)
command -v setquota >/dev/null 2>&1 || missing+=(quota)
if [ "${#missing[@]}" -gt 0 ]; then
  need_root
  log "installing: ${missing[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if ! docker info >/dev/null 2>&1; then
  need_root
  log "starting dockerd (log: /var/log/dockerd.log)"
  # setsid: dockerd must outlive this script and its process group.
  setsid dockerd >>/var/log/dockerd.log 2>&1 </dev/null &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
  if ! docker info >/dev/null 2>&1; then
    log "dockerd did not answer within 60 s; last log lines:"
    tail -n 30 /var/log/dockerd.log >&2 || true
    exit 1
  fi
fi
log "docker is up: $(docker version --format '{{.Server.Version}}')"

"$repo_root/images/build.sh"
