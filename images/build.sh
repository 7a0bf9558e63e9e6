#!/usr/bin/env bash
# Build the Orrery images without any container registry.
#
#   1. orrery/debian-base:bookworm  - debootstrap (minbase) + `docker import`; skipped if present.
#   2. orrery/lab:latest            - images/base/Dockerfile on top of that base.
#   3. orrery/lab-singleuser:latest - images/singleuser/Dockerfile on top of the lab image:
#                                     JupyterHub's stock jupyterhub-singleuser (ORRERY_SINGLEUSER_IMAGES).
#
# The lab image is labelled with a hash of its inputs (build context + base image id) and is
# rebuilt only when that hash changes. The build context is staged in a temporary directory:
#   images/base/*                   - Dockerfile, requirements, Jupyter server config
#   wheels/                         - labextension/dist/*.whl if the extension has been built
#   client/                         - the `orrery` Python client's source (client/python)
#   certs/                          - extra CAs this host trusts (/usr/local/share/ca-certificates),
#                                     so pip/apt work behind a TLS-intercepting egress proxy
#
# Environment: DOCKER (docker CLI, default `docker`), ORRERY_LAB_TAG, ORRERY_BASE_TAG,
# ORRERY_SINGLEUSER_TAG, ORRERY_FORCE_BUILD=1 to ignore the cache.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
docker_cli="${DOCKER:-docker}"
base_tag="${ORRERY_BASE_TAG:-orrery/debian-base:bookworm}"
lab_tag="${ORRERY_LAB_TAG:-orrery/lab:latest}"
singleuser_tag="${ORRERY_SINGLEUSER_TAG:-orrery/lab-singleuser:latest}"
hash_label="org.orrery.inputs-hash"
log() { printf '[images/build] %s\n' "$*" >&2; }

debian_mirror() {
  local uri=""
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    uri="$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)"
  fi
  if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri="$(awk '$1 == "deb" && $2 ~ /^http/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list)"
  fi
  printf '%s\n' "${uri:-http://deb.debian.org/debian}"
}

build_base() {
  if $docker_cli image inspect "$base_tag" >/dev/null 2>&1; then
    log "$base_tag present, not rebuilding"
    return
  fi
  command -v debootstrap >/dev/null 2>&1 || { log "debootstrap missing (apt-get install debootstrap)"; exit 1; }
  local mirror rootfs
  mirror="$(debian_mirror)"
  rootfs="$(mktemp -d /tmp/orrery-rootfs.XXXXXX)"
  trap 'rm -rf "$rootfs"' RETURN
  log "debootstrap minbase bookworm from $mirror into $rootfs"
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >&2
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  log "importing as $base_tag"
  tar -C "$rootfs" --numeric-owner -c . |
    $docker_cli import --change 'CMD ["/bin/bash"]' --change 'ENV LANG=C.UTF-8' - "$base_tag" >/dev/null
}

stage_context() {
  local ctx="$1"
  cp -a "$repo_root/images/base/." "$ctx/"
  mkdir -p "$ctx/wheels" "$ctx/certs" "$ctx/client"
  # The client's package only (no tests, no caches), so its tests do not change the hash.
  cp -a "$repo_root/client/python/pyproject.toml" "$repo_root/client/python/orrery" "$ctx/client/"
  find "$ctx/client" -name '__pycache__' -prune -exec rm -rf {} +
  local whl
  for whl in "$repo_root"/labextension/dist/*.whl; do
    [ -e "$whl" ] && cp "$whl" "$ctx/wheels/"
  done
  local crt
  for crt in /usr/local/share/ca-certificates/*.crt; do
    [ -e "$crt" ] && cp "$crt" "$ctx/certs/"
  done
  return 0
}

inputs_hash() {
  local ctx="$1" base_id="$2"
  {
    printf 'base %s\n' "$base_id"
    (cd "$ctx" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
  } | sha256sum | cut -d' ' -f1
}

build_base
base_id="$($docker_cli image inspect --format '{{.Id}}' "$base_tag")"

ctx="$(mktemp -d /tmp/orrery-lab-context.XXXXXX)"
trap 'rm -rf "$ctx"' EXIT
stage_context "$ctx"
want="$(inputs_hash "$ctx" "$base_id")"
have="$($docker_cli image inspect --format "{{index .Config.Labels \"$hash_label\"}}" "$lab_tag" 2>/dev/null || true)"
if [ "$have" = "$want" ] && [ "${ORRERY_FORCE_BUILD:-0}" != 1 ]; then
  log "$lab_tag is up to date ($want)"
else
  log "building $lab_tag (inputs $want; wheels: $(ls "$ctx/wheels" | wc -l))"
  DOCKER_BUILDKIT=0 $docker_cli build \
    --network host \
    --build-arg "BASE_IMAGE=$base_tag" \
    --label "$hash_label=$want" \
    -t "$lab_tag" "$ctx"
  log "built $lab_tag"
fi

# The single-user image: its Dockerfile on the lab image just built (or found up to date).
lab_id="$($docker_cli image inspect --format '{{.Id}}' "$lab_tag")"
su_ctx="$(mktemp -d /tmp/orrery-singleuser-context.XXXXXX)"
trap 'rm -rf "$ctx" "$su_ctx"' EXIT
cp -a "$repo_root/images/singleuser/." "$su_ctx/"
su_want="$(inputs_hash "$su_ctx" "$lab_id")"
su_have="$($docker_cli image inspect --format "{{index .Config.Labels \"$hash_label\"}}" "$singleuser_tag" 2>/dev/null || true)"
if [ "$su_have" = "$su_want" ] && [ "${ORRERY_FORCE_BUILD:-0}" != 1 ]; then
  log "$singleuser_tag is up to date ($su_want)"
  exit 0
fi
log "building $singleuser_tag on $lab_tag (inputs $su_want)"
DOCKER_BUILDKIT=0 $docker_cli build \
  --network host \
  --build-arg "BASE_IMAGE=$lab_tag" \
  --label "$hash_label=$su_want" \
  -t "$singleuser_tag" "$su_ctx"
log "built $singleuser_tag"
