#!/usr/bin/env bash
# A local Kafka-protocol broker on loopback for tests and demos: tansu, installed from
# crates.io when missing (pinned; a cold build takes 15-25 minutes), started in the
# background, its address printed on stdout once it accepts connections.
#
#   scripts/broker.sh [start] [--port PORT] [--data DIR] [--fresh]
#   scripts/broker.sh stop [--port PORT]
#
# A broker already running on the port is reused; `--fresh` stops it first, so the tests run
# against empty storage (a long-lived broker's SQLite storage grows with every run, and its
# fetches slow down with it).
#
# Storage is SQLite: in DIR when given (it survives a restart), else in a fresh folder on
# /dev/shm (or in the broker's state directory). tansu 0.6.0's memory engine was seen to lose the last records of
# multi-record batches (acknowledged, then missing from the partition), so it is not used.
#
# tansu implements produce, fetch, consumer groups, offset commits and idempotent produce;
# it does not hide aborted transactions from readers, so nothing here relies on them.
set -euo pipefail

TANSU_VERSION=0.6.0
PORT=9092
DATA=""
ACTION=start
FRESH=0
while [ $# -gt 0 ]; do
    case "$1" in
        start|stop) ACTION=$1 ;;
        --fresh) FRESH=1 ;;
        --port) PORT=$2; shift ;;
        --data) DATA=$2; shift ;;
        *) echo "broker.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
STATE_DIR="${XDG_RUNTIME_DIR:-/tmp}/pumpwatch-broker-$PORT"
PID_FILE="$STATE_DIR/pid"

if [ "$ACTION" = stop ] || { [ "$FRESH" = 1 ] && [ -f "$PID_FILE" ]; }; then
    if [ -f "$PID_FILE" ] && kill "$(cat "$PID_FILE")" 2>/dev/null; then
        # Wait for it to let go of the port.
        for _ in $(seq 100); do
            kill -0 "$(cat "$PID_FILE")" 2>/dev/null || break
            sleep 0.1
        done
        echo "broker.sh: stopped the broker on 127.0.0.1:$PORT" >&2
    fi
    rm -f "$PID_FILE"
    [ "$ACTION" = stop ] && exit 0
fi

export PATH="$HOME/.cargo/bin:$PATH"
if ! tansu --version 2>/dev/null | grep -q "$TANSU_VERSION"; then
    echo "broker.sh: installing tansu $TANSU_VERSION (a cold build takes 15-25 minutes)" >&2
    # Its own build folder, apart from the project's (reused when it exists).
    if [ -d "$HOME/.cache" ]; then
        export CARGO_TARGET_DIR="$HOME/.cache/tansu-target"
    fi
    cargo install tansu --version "$TANSU_VERSION" --locked --features dynostore,libsql >&2 \
        || cargo install tansu --version "$TANSU_VERSION" --features dynostore,libsql >&2
fi

mkdir -p "$STATE_DIR"
if [ -f "$PID_FILE" ] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then
    echo "127.0.0.1:$PORT"
    exit 0
fi
# tansu reads a sqlite URL's path relative to its working directory: it runs in the data
# directory, with the database named relative to it.
if [ -n "$DATA" ]; then
    mkdir -p "$DATA"
    RUN_DIR=$(cd "$DATA" && pwd)
    STORAGE="sqlite://tansu.db"
else
    # In memory when the machine has a tmpfs: SQLite's syncs cost nothing there.
    if [ -d /dev/shm ] && [ -w /dev/shm ]; then
        RUN_DIR=/dev/shm/pumpwatch-broker-$PORT
    else
        RUN_DIR=$STATE_DIR/data
    fi
    rm -rf "$RUN_DIR"
    mkdir -p "$RUN_DIR"
    STORAGE="sqlite://tansu.db"
fi
URL="tcp://127.0.0.1:$PORT"
(cd "$RUN_DIR" && exec nohup tansu broker --listener-url "$URL" --advertised-listener-url "$URL" \
    --storage-engine "$STORAGE" > "$STATE_DIR/broker.log" 2>&1) &
echo $! > "$PID_FILE"
# A port just given up may still be held by closing connections (tansu does not reuse the
# address): start again until the bind succeeds, for up to 90 s.
for _ in $(seq 900); do
    if ! kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then
        if grep -q "AddrInUse" "$STATE_DIR/broker.log"; then
            sleep 1
            (cd "$RUN_DIR" && exec nohup tansu broker --listener-url "$URL" \
                --advertised-listener-url "$URL" --storage-engine "$STORAGE" \
                > "$STATE_DIR/broker.log" 2>&1) &
            echo $! > "$PID_FILE"
            continue
        fi
        break
    fi
    if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
        sleep 0.2
        if kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then
            echo "127.0.0.1:$PORT"
            exit 0
        fi
        continue
    fi
    sleep 0.1
done
echo "broker.sh: the broker did not start; its log:" >&2
cat "$STATE_DIR/broker.log" >&2
exit 1
