#!/usr/bin/env bash
# Runs the 4-validator FastEVM devnet of docker/docker-compose.yml.
#
#   docker/devnet.sh start     build the image if missing or stale, start everything, print status
#   docker/devnet.sh status    containers, and each execution node's head block number and hash
#   docker/devnet.sh logs [SERVICE...]   follow the logs (all services by default)
#   docker/devnet.sh stop      stop the containers, keep the chain (start resumes it)
#   docker/devnet.sh cleanup   remove containers, network and volumes (the chain is lost)
#
# Environment:
#   FASTEVM_BIN      binary the image is built from (default: target/debug/fastevm of this repo)
#   FASTEVM_IMAGE    image tag (default fastevm:local)
#   FASTEVM_PROJECT  compose project name (default fastevm-devnet)
#   and the port/subnet variables documented in docker-compose.yml.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
compose_file="$here/docker-compose.yml"
project=${FASTEVM_PROJECT:-fastevm-devnet}
image=${FASTEVM_IMAGE:-fastevm:local}
binary=${FASTEVM_BIN:-$repo/target/debug/fastevm}
bind=${FASTEVM_BIND:-127.0.0.1}
[ "$bind" = 0.0.0.0 ] && bind=127.0.0.1
export FASTEVM_IMAGE=$image

die() {
    echo "devnet: $*" >&2
    exit 1
}

# `docker compose` (v2 plugin) when present, else Debian's docker-compose (v1).
compose() {
    if docker compose version >/dev/null 2>&1; then
        docker compose -p "$project" -f "$compose_file" "$@"
    elif command -v docker-compose >/dev/null; then
        docker-compose -p "$project" -f "$compose_file" "$@"
    else
        die "neither 'docker compose' nor 'docker-compose' is installed"
    fi
}

# Builds the image when it is missing, or when FASTEVM_BIN exists and differs from the binary
# the image was built from.
ensure_image() {
    local built want
    built=$(docker image inspect --format '{{index .Config.Labels "org.fastevm.binary-sha256"}}' "$image" 2>/dev/null || true)
    if [ -f "$binary" ]; then
        want=$(sha256sum "$binary" | cut -d' ' -f1)
        if [ "$built" != "$want" ]; then
            "$here/build-image.sh" "$binary" "$image"
        fi
    elif [ -z "$built" ]; then
        die "image $image is missing and $binary does not exist: run 'cargo build --bin fastevm' or set FASTEVM_BIN"
    fi
}

http_port() {
    local defaults=(8545 8547 8549 8555) var="FASTEVM_HTTP_PORT_$1"
    echo "${!var:-${defaults[$1]}}"
}

# Prints "number hash" of the node's latest block, or nothing when it does not answer.
head_of() {
    local reply number hash
    reply=$(curl -s --max-time 3 -H 'Content-Type: application/json' \
        --data '{"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":["latest",false]}' \
        "http://$bind:$(http_port "$1")" 2>/dev/null) || return 0
    number=$(printf '%s' "$reply" | grep -o '"number":"0x[0-9a-fA-F]*"' | head -n1 | cut -d'"' -f4)
    hash=$(printf '%s' "$reply" | grep -o '"hash":"0x[0-9a-fA-F]*"' | head -n1 | cut -d'"' -f4)
    [ -n "$number" ] && [ -n "$hash" ] && echo "$((number)) $hash"
}

status() {
    command -v curl >/dev/null || die "status needs curl"
    compose ps
    echo
    printf '%-12s %-22s %8s  %s\n' node rpc head hash
    local i head
    for i in 0 1 2 3; do
        head=$(head_of "$i")
        if [ -n "$head" ]; then
            printf '%-12s %-22s %8s  %s\n' "execution-$i" "$bind:$(http_port "$i")" ${head}
        else
            printf '%-12s %-22s %8s  %s\n' "execution-$i" "$bind:$(http_port "$i")" - "(no answer)"
        fi
    done
}

case ${1:-} in
    start)
        docker info >/dev/null 2>&1 || die "the docker daemon is unreachable"
        ensure_image
        # `up -d` returns once every validator's execution node is healthy and it has started.
        compose up -d
        status
        ;;
    status) status ;;
    logs)
        shift
        compose logs -f --tail=100 "$@"
        ;;
    stop) compose stop ;;
    cleanup) compose --profile monitoring down -v --remove-orphans ;;
    *)
        echo "usage: $0 start|status|logs [SERVICE...]|stop|cleanup" >&2
        exit 2
        ;;
esac
