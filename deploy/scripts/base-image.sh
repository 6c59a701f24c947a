#!/usr/bin/env bash
# Build the local base image the container smoke test builds FROM (registry images cannot be pulled here):
# Debian bookworm from debootstrap with python3, venv and pip, imported as localhost/base-python:bookworm.
# Idempotent: an image already present is kept (delete it with `buildah rmi` to rebuild).
set -euo pipefail
IMAGE=${BASE_IMAGE:-localhost/base-python:bookworm}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

if buildah inspect --type image "$IMAGE" >/dev/null 2>&1; then
    echo "base image $IMAGE is present"
    exit 0
fi
for tool in debootstrap podman; do
    command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install debootstrap buildah podman)" >&2; exit 1; }
done
ROOTFS=$(mktemp -d /var/tmp/base-rootfs.XXXXXX)
trap 'rm -rf "$ROOTFS"' EXIT
echo "debootstrap bookworm into $ROOTFS"
debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates \
    bookworm "$ROOTFS" "$MIRROR" >"$ROOTFS.log" 2>&1 || { tail -50 "$ROOTFS.log" >&2; exit 1; }
rm -f "$ROOTFS.log"
rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/*
tar -C "$ROOTFS" -c . | podman import - "$IMAGE" >/dev/null
echo "imported $IMAGE"
