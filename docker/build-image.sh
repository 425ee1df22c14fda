#!/usr/bin/env bash
# Builds the FastEVM container image from an already built `fastevm` binary, without any
# registry: no base image is pulled. The root filesystem is assembled here and given to
# `docker import`:
#
#   /usr/local/bin/fastevm   the binary
#   /lib*/..., /usr/lib/...  the shared libraries `ldd` lists, and the dynamic loader
#   /bin/busybox + applets   sh, wget, od, netstat... for init scripts and healthchecks
#   /tmp (1777), /data, /shared, /etc/nsswitch.conf
#
# Usage: docker/build-image.sh BINARY [TAG]      (TAG defaults to fastevm:local)
# Environment: BUSYBOX=/path/to/busybox (default: /bin/busybox, from Debian's busybox-static).
#
# On a machine with registry access, docker/Dockerfile builds the same image the usual way.
set -euo pipefail

usage() {
    echo "usage: $0 BINARY [TAG]" >&2
    exit 2
}

[ $# -ge 1 ] && [ $# -le 2 ] || usage
binary=$1
tag=${2:-fastevm:local}
busybox=${BUSYBOX:-/bin/busybox}

die() {
    echo "build-image: $*" >&2
    exit 1
}

[ -f "$binary" ] && [ -x "$binary" ] || die "$binary is not an executable file (build it with 'cargo build --bin fastevm')"
command -v docker >/dev/null || die "the docker CLI is not installed"
command -v ldd >/dev/null || die "ldd is not installed (package libc-bin)"
docker info >/dev/null 2>&1 || die "the docker daemon is unreachable (is it running, may this user use it?)"
[ -x "$busybox" ] || die "no busybox at $busybox: install Debian's busybox-static (apt-get install busybox-static) or set BUSYBOX=/path/to/busybox"

rootfs=$(mktemp -d "${TMPDIR:-/tmp}/fastevm-rootfs.XXXXXX")
trap 'rm -rf "$rootfs"' EXIT

# Copies FILE to the same path inside the root filesystem, following symbolic links (the
# loader looks libraries up by the name ldd printed).
copy_file() {
    local src=$1
    mkdir -p "$rootfs$(dirname "$src")"
    cp -L "$src" "$rootfs$src"
}

# Copies the shared libraries and the dynamic loader an executable needs. A static executable
# needs none (ldd then exits non-zero with "not a dynamic executable").
copy_libraries() {
    local exe=$1 listing lib
    if ! listing=$(ldd "$exe" 2>&1); then
        case $listing in
            *"not a dynamic executable"* | *"statically linked"*) return 0 ;;
            *) die "ldd $exe failed: $listing" ;;
        esac
    fi
    case $listing in
        *"not found"*) die "$exe needs libraries missing on this machine:
$listing" ;;
    esac
    # Lines look like "libm.so.6 => /lib/x86_64-linux-gnu/libm.so.6 (0x...)" or
    # "/lib64/ld-linux-x86-64.so.2 (0x...)"; linux-vdso has no file.
    while read -r lib; do
        copy_file "$lib"
    done < <(printf '%s\n' "$listing" | awk '
        $2 == "=>" && $3 ~ /^\// { print $3; next }
        $1 ~ /^\// { print $1 }')
}

mkdir -p "$rootfs/usr/local/bin" "$rootfs/bin" "$rootfs/etc" "$rootfs/data" "$rootfs/shared" "$rootfs/tmp"
chmod 1777 "$rootfs/tmp"
cp -L "$binary" "$rootfs/usr/local/bin/fastevm"
chmod 0755 "$rootfs/usr/local/bin/fastevm"
# The release profile keeps full debug info for profiling (hundreds of MB); the image carries
# the binary without it (symbols stay, so backtraces still name functions).
if command -v strip >/dev/null; then
    strip --strip-debug "$rootfs/usr/local/bin/fastevm"
else
    echo "build-image: no strip (package binutils): the image keeps the binary's debug info" >&2
fi
copy_libraries "$binary"

cp -L "$busybox" "$rootfs/bin/busybox"
chmod 0755 "$rootfs/bin/busybox"
copy_libraries "$busybox"
for applet in $("$busybox" --list); do
    [ -e "$rootfs/bin/$applet" ] || ln -s busybox "$rootfs/bin/$applet"
done

# Host names come from Docker's /etc/hosts and embedded DNS; no passwd or group files (the
# processes run as root inside the container, writing only to their volumes).
printf 'hosts: files dns\n' >"$rootfs/etc/nsswitch.conf"

# The image runs the binary on its own, dynamically linked: prove it before importing.
if ! "$binary" --version >/dev/null 2>&1; then
    die "$binary --version failed on the host"
fi

sha=$(sha256sum "$binary" | cut -d' ' -f1)
version=$("$binary" --version 2>/dev/null | head -n1)
old_id=$(docker image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)

echo "build-image: importing $(du -sh "$rootfs" | cut -f1) root filesystem as $tag ($version)" >&2
tar --numeric-owner --owner=0 --group=0 -C "$rootfs" -c . |
    docker import \
        --change 'ENTRYPOINT ["/usr/local/bin/fastevm"]' \
        --change 'CMD ["--help"]' \
        --change 'ENV PATH=/usr/local/bin:/bin' \
        --change 'WORKDIR /data' \
        --change 'EXPOSE 8545 8546 8551 9000 9100' \
        --change "LABEL org.fastevm.binary-sha256=$sha" \
        --change "LABEL org.fastevm.version=\"$version\"" \
        --message "fastevm from $binary" \
        - "$tag" >/dev/null

# Smoke test: the binary starts inside the image (the loader and libraries are all there).
docker run --rm "$tag" --version >/dev/null || die "the image $tag does not run fastevm"
docker run --rm --entrypoint /bin/sh "$tag" -c 'wget --help >/dev/null 2>&1; command -v wget >/dev/null' ||
    die "the image $tag has no working busybox"

# Re-tagging leaves the previous image dangling: remove it unless a container still uses it.
new_id=$(docker image inspect --format '{{.Id}}' "$tag")
if [ -n "$old_id" ] && [ "$old_id" != "$new_id" ]; then
    docker image rm "$old_id" >/dev/null 2>&1 || true
fi
size=$(docker image inspect --format '{{.Size}}' "$tag")
echo "build-image: built $tag ($new_id): image $((size / 1000000)) MB, binary $(($(stat -c %s "$rootfs/usr/local/bin/fastevm") / 1000000)) MB in the image ($(($(stat -c %s "$binary") / 1000000)) MB as built)" >&2
