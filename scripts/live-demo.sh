#!/usr/bin/env bash
# The live pipeline end to end, in one command: starts a local Kafka-protocol broker (fresh
# storage), creates the topics, publishes INPUT, runs the engine until the input is consumed,
# and prints the alert topic on stdout as NDJSON in firing order: the same lines
# `pumpwatch replay INPUT` prints.
#
#   scripts/live-demo.sh INPUT [--partitions P] [--kill N] [--instances N]
#
#   --partitions P  partitions per topic (default 3; the accounts are split into P shares)
#   --kill N        send the engine SIGKILL N times at random points of its run (0.1 s to
#                   1.5 s after each start) and restart it each time
#   --instances N   run N engines in one consumer group, SIGKILL one of them once the group
#                   has split the shares, and let the others take its shares over
#
# INPUT is published before the engine starts: replayed thousands of times faster than it
# happened, a feed arriving while the engine runs would make events late that were not.
# Progress goes to stderr. The broker listens on 127.0.0.1:$PUMPWATCH_DEMO_PORT (default 19392)
# and is stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
INPUT=""
PARTITIONS=3
KILLS=0
INSTANCES=1
while [ $# -gt 0 ]; do
    case "$1" in
        --partitions) PARTITIONS=$2; shift ;;
        --kill) KILLS=$2; shift ;;
        --instances) INSTANCES=$2; shift ;;
        -h|--help) usage ;;
        -*) echo "live-demo.sh: unknown option $1" >&2; usage ;;
        *) INPUT=$1 ;;
    esac
    shift
done
[ -n "$INPUT" ] || usage
[ -e "$INPUT" ] || { echo "live-demo.sh: $INPUT does not exist" >&2; exit 2; }

if [ -z "${CARGO_TARGET_DIR:-}" ] && [ -d "$HOME/.cache" ]; then
    export CARGO_TARGET_DIR="$HOME/.cache/pumpwatch-target"
fi
cargo build --release --locked -q -p pumpwatch >&2
BIN="${CARGO_TARGET_DIR:-target}/release/pumpwatch"

PORT=${PUMPWATCH_DEMO_PORT:-19392}
bash scripts/broker.sh stop --port "$PORT" 2>/dev/null || true
BROKERS=$(bash scripts/broker.sh --port "$PORT")
WORK=$(mktemp -d)
ENGINE_PID=""
PIDS=""
cleanup() {
    [ -n "$ENGINE_PID" ] && kill -9 "$ENGINE_PID" 2>/dev/null || true
    for pid in $PIDS; do kill -9 "$pid" 2>/dev/null || true; done
    bash scripts/broker.sh stop --port "$PORT" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

cat > "$WORK/live.toml" <<EOF
[kafka]
brokers = "$BROKERS"
group_id = "pumpwatch-demo"

[checkpoint]
dir = "checkpoints"
interval_secs = 0.5

[metrics]
listen = ""
EOF

"$BIN" topics create --config "$WORK/live.toml" --partitions "$PARTITIONS" >&2
"$BIN" publish "$INPUT" --config "$WORK/live.toml" >&2

if [ "$INSTANCES" -gt 1 ]; then
    for i in $(seq "$INSTANCES"); do
        PUMPWATCH_LOG=pumpwatch_live::membership=info \
            "$BIN" run --until-end --config "$WORK/live.toml" 2> "$WORK/instance-$i.log" &
        PIDS="$PIDS $!"
    done
    victim=$(echo $PIDS | cut -d' ' -f1)
    # Once every instance holds shares, kill the first one.
    for _ in $(seq 600); do
        held=$( (grep -l "the group assigned shares" "$WORK"/instance-*.log 2>/dev/null || true) | wc -l)
        [ "$held" -ge "$INSTANCES" ] && break
        sleep 0.1
    done
    sleep "0.$(( RANDOM % 10 ))"
    kill -9 "$victim" 2>/dev/null || true
    echo "live-demo.sh: sent instance 1 of $INSTANCES SIGKILL; the others take its shares over" >&2
    for pid in $PIDS; do
        [ "$pid" = "$victim" ] && { wait "$pid" 2>/dev/null || true; continue; }
        wait "$pid" || { echo "live-demo.sh: an instance failed" >&2; cat "$WORK"/instance-*.log >&2; exit 1; }
    done
    PIDS=""
    grep -h "^pumpwatch:" "$WORK"/instance-*.log >&2 || true
fi

killed=0
while [ "$killed" -lt "$KILLS" ]; do
    "$BIN" run --until-end --config "$WORK/live.toml" >&2 &
    ENGINE_PID=$!
    sleep "0.$(( RANDOM % 10 ))$(( RANDOM % 10 ))"
    sleep "0.$(( RANDOM % 5 + 1 ))"
    if ! kill -0 "$ENGINE_PID" 2>/dev/null; then
        wait "$ENGINE_PID" || { echo "live-demo.sh: the engine failed" >&2; exit 1; }
        ENGINE_PID=""
        echo "live-demo.sh: the engine reached the end before kill $((killed + 1)) of $KILLS" >&2
        break
    fi
    kill -9 "$ENGINE_PID"
    wait "$ENGINE_PID" 2>/dev/null || true
    ENGINE_PID=""
    killed=$((killed + 1))
    echo "live-demo.sh: sent the engine SIGKILL ($killed of $KILLS), restarting it" >&2
done
"$BIN" run --until-end --config "$WORK/live.toml" >&2

"$BIN" alerts --config "$WORK/live.toml" --firing-order
