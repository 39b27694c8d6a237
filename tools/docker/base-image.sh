#!/usr/bin/env bash
# Synthesize the Dockerfile's base image (its `ARG BASE_IMAGE=debian:bookworm-YYYYMMDD-slim`) from Debian's mirror,
# for machines that reach Debian's packages but no container registry. Idempotent and cached:
#   - the image already exists in the daemon       -> nothing to do;
#   - a registry serves it (laptop)                 -> docker pull it (BPLAB_BASE_PULL=0 skips this);
#   - the root filesystem tarball is in the cache   -> `docker import` it;
#   - otherwise                                     -> debootstrap (minbase), slim it as the official image does, tar it.
# On a laptop with Docker Hub none of this is needed: `docker build` pulls the real image by the same name:tag.
#
#   BPLAB_CACHE      cache root (default: $HOME/.cache/backpressure-lab); tarballs go to $BPLAB_CACHE/base/
#   BPLAB_DEBIAN_MIRROR  (default: http://deb.debian.org/debian)
#   DOCKER / DOCKER_HOST  the docker CLI and daemon to use
# Prints the image name on stdout. Needs root, debootstrap and a running Docker daemon.
set -euo pipefail

export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:${PATH:-}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
CACHE="${BPLAB_CACHE:-${HOME:-/root}/.cache/backpressure-lab}"
MIRROR="${BPLAB_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
DOCKER="${DOCKER:-docker}"
log() { echo "base-image: $*" >&2; }

image="${1:-$(sed -n 's/^ARG BASE_IMAGE=\(.*\)$/\1/p' "$ROOT/Dockerfile" | head -n 1)}"
[ -n "$image" ] || { log "no 'ARG BASE_IMAGE=' line in $ROOT/Dockerfile"; exit 1; }
case "$image" in
    debian:bookworm-*-slim) suite=bookworm ;;
    *) log "can only synthesize debian:bookworm-YYYYMMDD-slim, not $image"; exit 1 ;;
esac

if "$DOCKER" image inspect "$image" >/dev/null 2>&1; then
    log "$image already present"
    echo "$image"
    exit 0
fi

# Where a registry serves the real image (a laptop), take it: synthesizing is only for machines without one.
if [ "${BPLAB_BASE_PULL:-1}" != 0 ] && timeout 300 "$DOCKER" pull -q "$image" >/dev/null 2>&1; then
    log "pulled $image from its registry"
    echo "$image"
    exit 0
fi

tarball="$CACHE/base/${image//[:\/]/_}.tar"
if ! [ -s "$tarball" ]; then
    [ "$(id -u)" = 0 ] || { log "debootstrap needs root"; exit 1; }
    command -v debootstrap >/dev/null || { log "debootstrap not found: apt-get install -y debootstrap"; exit 1; }
    mkdir -p "$CACHE/base"
    work="$(mktemp -d "$CACHE/base/rootfs.XXXXXX")"
    trap 'rm -rf "$work"' EXIT
    log "debootstrap --variant=minbase $suite from $MIRROR (a few minutes)"
    debootstrap --variant=minbase --arch="$(dpkg --print-architecture)" "$suite" "$work/rootfs" "$MIRROR" >"$work/debootstrap.log" 2>&1 || {
        tail -n 30 "$work/debootstrap.log" >&2; exit 1; }
    r="$work/rootfs"

    # What the official debian:*-slim image has (debuerreotype's --slimify and its apt/dpkg tweaks), so that the
    # Dockerfile's apt-get behaves the same here and on a laptop.
    cat >"$r/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $MIRROR
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${MIRROR%/debian}/debian-security
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
    rm -f "$r/etc/apt/sources.list"
    cat >"$r/etc/dpkg/dpkg.cfg.d/docker" <<'DPKG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
DPKG
    cat >"$r/etc/apt/apt.conf.d/docker-clean" <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT
    echo 'Acquire::Languages "none";' >"$r/etc/apt/apt.conf.d/docker-no-languages"
    echo 'Acquire::GzipIndexes "true";' >"$r/etc/apt/apt.conf.d/docker-gzip-indexes"
    echo 'APT::AutoRemove::SuggestsImportant "false";' >"$r/etc/apt/apt.conf.d/docker-autoremove-suggests"
    find "$r/usr/share/doc" -mindepth 2 -not -name copyright -not -type d -delete 2>/dev/null || true
    find "$r/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
    rm -rf "$r/usr/share/man/"* "$r/usr/share/info/"* "$r/usr/share/groff/"* "$r/usr/share/lintian/"* \
        "$r/usr/share/linda/"* "$r/var/cache/apt/"*.bin "$r/var/cache/apt/archives/"*.deb "$r/var/lib/apt/lists/"* \
        "$r/var/log/"*.log "$r/var/log/apt/"* "$r/tmp/"* "$r/root/.bash_history"
    find "$r/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} + 2>/dev/null || true
    : >"$r/etc/machine-id"
    echo "$image (synthesized by backpressure-lab tools/docker/base-image.sh from $MIRROR)" >"$r/etc/bplab-base-image"

    tar --numeric-owner --xattrs -C "$r" -cf "$tarball.part" .
    mv "$tarball.part" "$tarball"
    log "cached $tarball ($(du -h "$tarball" | cut -f1))"
fi

log "docker import $tarball as $image"
"$DOCKER" import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' \
    --message "synthesized $image (debootstrap minbase)" \
    "$tarball" "$image" >/dev/null
echo "$image"
