#!/usr/bin/env bash
# Runs the 4-validator Docker devnet (docker/docker-compose.yml: 4 execution + 4 consensus nodes).
# A thin front for docker/devnet.sh, which has the same verbs:
#
#   scripts/run.sh start              build the image if missing or stale, start everything, print status
#   scripts/run.sh status             containers, and each execution node's head block number and hash
#   scripts/run.sh logs [SERVICE...]  follow the logs (all services by default)
#   scripts/run.sh stop               stop the containers, keep the chain (start resumes it)
#   scripts/run.sh cleanup            remove containers, network and volumes (the chain is lost)
#
# The one difference from docker/devnet.sh: the image is built from the release binary
# (target/release/fastevm, what `make build` makes) when it exists, else from target/debug/fastevm.
# FASTEVM_BIN overrides that; FASTEVM_IMAGE, FASTEVM_PROJECT and the port variables are passed on
# (see docker/devnet.sh and docker/docker-compose.yml).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

usage() {
    cat <<USAGE
usage: $0 start|status|logs [SERVICE...]|stop|cleanup

  start     build the image if missing or stale, start the devnet, print its status
  status    containers, and each execution node's head block number and hash
  logs      follow the logs of SERVICE... (all services by default)
  stop      stop the containers, keep the chain (start resumes it)
  cleanup   remove containers, network and volumes (the chain is lost)

Each verb runs docker/devnet.sh with the same verb.
USAGE
}

case ${1:-} in
    start | status | logs | stop | cleanup) ;;
    -h | --help | help)
        usage
        exit 0
        ;;
    "")
        echo "run.sh: no verb given" >&2
        usage >&2
        exit 2
        ;;
    *)
        echo "run.sh: unknown verb '$1'" >&2
        usage >&2
        exit 2
        ;;
esac

if [ -z "${FASTEVM_BIN:-}" ]; then
    FASTEVM_BIN=$repo/target/release/fastevm
    if [ ! -x "$FASTEVM_BIN" ] && [ -x "$repo/target/debug/fastevm" ]; then
        FASTEVM_BIN=$repo/target/debug/fastevm
    fi
fi
export FASTEVM_BIN

exec "$repo/docker/devnet.sh" "$@"
