#!/usr/bin/env bash
# A local S3-compatible object store on loopback for the tests of checkpoints in an object
# store: moto's server (pinned, installed from PyPI into its own virtualenv when missing),
# started in the background with one bucket, its endpoint printed on stdout once it answers.
#
#   scripts/s3.sh [start] [--port PORT] [--bucket NAME]
#   scripts/s3.sh stop [--port PORT]
#
# It keeps objects in memory: a stop loses them. Any access key is accepted.
set -euo pipefail

MOTO_VERSION=5.2.6
PORT=19600
BUCKET=pumpwatch-test
ACTION=start
while [ $# -gt 0 ]; do
    case "$1" in
        start|stop) ACTION=$1 ;;
        --port) PORT=$2; shift ;;
        --bucket) BUCKET=$2; shift ;;
        *) echo "s3.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
STATE_DIR="${XDG_RUNTIME_DIR:-/tmp}/pumpwatch-s3-$PORT"
PID_FILE="$STATE_DIR/pid"

if [ "$ACTION" = stop ]; then
    if [ -f "$PID_FILE" ] && kill "$(cat "$PID_FILE")" 2>/dev/null; then
        echo "s3.sh: stopped the object store on 127.0.0.1:$PORT" >&2
    fi
    rm -f "$PID_FILE"
    exit 0
fi

venv="${PUMPWATCH_S3_VENV:-$HOME/.cache/pumpwatch-s3-venv}"
if ! "$venv/bin/python" -c "import moto, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
    echo "s3.sh: installing moto $MOTO_VERSION into $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "moto[server]==$MOTO_VERSION" >&2
fi

mkdir -p "$STATE_DIR"
endpoint="http://127.0.0.1:$PORT"
if ! { [ -f "$PID_FILE" ] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; }; then
    nohup "$venv/bin/moto_server" -H 127.0.0.1 -p "$PORT" > "$STATE_DIR/server.log" 2>&1 &
    echo $! > "$PID_FILE"
    for _ in $(seq 300); do
        curl -sf -o /dev/null "$endpoint/" && break
        kill -0 "$(cat "$PID_FILE")" 2>/dev/null || break
        sleep 0.1
    done
fi
if ! curl -sf -o /dev/null "$endpoint/"; then
    echo "s3.sh: the object store did not start; its log:" >&2
    cat "$STATE_DIR/server.log" >&2
    exit 1
fi
curl -sf -o /dev/null -X PUT "$endpoint/$BUCKET" || {
    echo "s3.sh: cannot create the bucket $BUCKET" >&2
    exit 1
}
echo "$endpoint"
