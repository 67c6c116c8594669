#!/usr/bin/env bash
# The live pipeline's figures through a local Kafka-protocol broker (scripts/broker.sh), side
# by side with the peers they compare to:
#
#   1. throughput: a published day consumed by `pumpwatch run --until-end` with a checkpoint
#      every 10 s, the same with no checkpoint but the first and the last, and by a consumer
#      that only decodes (live_bench decode), each with its wall time and CPU time, and the
#      broker's CPU time beside them;
#   2. latency: `pumpwatch run` following the topics while the start of the day is published
#      at a steady rate (each of RATES events/s); the publish-to-alert latency of every alert
#      (live_bench latency) and the run's own event-to-alert histogram;
#   3. recovery: the start of a day of BIG_ACCOUNTS accounts (its whole start-of-day
#      snapshot and first orders) consumed by a following run; the checkpoint's size and
#      duration; then `kill -9` and the time until the restarted run is ready again.
#
#   bash benches/live.sh [WORKDIR]
#     (ACCOUNTS=30000 SYMBOLS=600 SEED=7 RATES="5000 10000 20000" LATENCY_EVENTS=600000
#      LATENESS_MS=scaled (or a fixed engine lateness for the latency section, e.g. 0 for
#      partitions that are each in time order)
#      PARTITIONS=3 (per topic)
#      BIG_ACCOUNTS=400000 BIG_EVENTS=2600000
#      SECTIONS="throughput latency recovery")
#
# Prints one line per measurement. Needs curl; runs the broker on 127.0.0.1:19700.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${1:-/tmp/pumpwatch-live-bench}
ACCOUNTS=${ACCOUNTS:-30000}
SYMBOLS=${SYMBOLS:-600}
SEED=${SEED:-7}
RATES=${RATES:-5000 10000 20000}
LATENCY_EVENTS=${LATENCY_EVENTS:-600000}
# The consumers' fetch wait in the latency section (ms): tansu holds every fetch this long,
# and answers each of them with a scan, so shorter waits cost the broker more CPU.
FETCH_WAIT_MS=${FETCH_WAIT_MS:-10}
PARTITIONS=${PARTITIONS:-3}
BIG_ACCOUNTS=${BIG_ACCOUNTS:-400000}
BIG_EVENTS=${BIG_EVENTS:-2600000}
SECTIONS=${SECTIONS:-throughput latency recovery}
want() { [[ " $SECTIONS " == *" $1 "* ]]; }
PORT=19700
METRICS=127.0.0.1:19701
TARGET=${CARGO_TARGET_DIR:-target}
BIN="$TARGET/release/pumpwatch"
BENCH="$TARGET/release/live_bench"

# Built one at a time: together, cargo would unify their features and rebuild both.
cargo build --release --locked -q -p pumpwatch
cargo build --release --locked -q -p pumpwatch-benches --bin live_bench
mkdir -p "$WORK"
[ -f "$WORK/day/events.ndjson" ] || "$BIN" simulate --seed "$SEED" --accounts "$ACCOUNTS" \
    --symbols "$SYMBOLS" --out "$WORK/day" --layout mixed >/dev/null
EVENTS=$(wc -l < "$WORK/day/events.ndjson")

RUN_PID=""
cleanup() {
    [ -n "$RUN_PID" ] && kill -9 "$RUN_PID" 2>/dev/null || true
    bash scripts/broker.sh stop --port "$PORT" 2>/dev/null || true
}
trap cleanup EXIT

# A fresh broker and topics (PARTITIONS each); writes $WORK/live.toml.
fresh_broker() { # INTERVAL_SECS FETCH_WAIT_MS
    bash scripts/broker.sh stop --port "$PORT" 2>/dev/null || true
    bash scripts/broker.sh --port "$PORT" >/dev/null
    rm -rf "$WORK/checkpoints"
    cat > "$WORK/live.toml" <<TOML
[kafka]
brokers = "127.0.0.1:$PORT"
group_id = "bench"

[stream]
fetch_wait_max_ms = $2

[checkpoint]
dir = "checkpoints"
interval_secs = $1

[metrics]
listen = "$METRICS"
TOML
    "$BIN" topics create --config "$WORK/live.toml" --partitions "$PARTITIONS" >/dev/null 2>&1
}
# Waits until the run's /readyz answers (its shares assigned and restored), 3 minutes at most.
wait_ready() {
    for _ in $(seq 1800); do
        curl -sf "http://$METRICS/readyz" >/dev/null && return 0
        sleep 0.1
    done
    echo "live.sh: the run did not become ready; its log:" >&2
    cat "$WORK/run.log" >&2
    exit 1
}
broker_cpu() { awk '{printf "%.1f", ($14 + $15) / 100}' "/proc/$(cat "${XDG_RUNTIME_DIR:-/tmp}/pumpwatch-broker-$PORT/pid")/stat"; }
metric() { curl -sf "http://$METRICS/metrics" | awk -v m="$1" '$1 == m {print $2}'; }

# One timed command: "NAME: wall s, CPU s (user+sys), events/s, events per CPU-second, peak
# RSS, broker CPU s".
timed() { # NAME COMMAND...
    local name=$1; shift
    local before; before=$(broker_cpu)
    /usr/bin/time -f "%e %U %S %M" -o "$WORK/time" "$@" > "$WORK/out" 2> "$WORK/err" \
        || { cat "$WORK/err" >&2; exit 1; }
    local after; after=$(broker_cpu)
    read -r wall user sys rss < "$WORK/time"
    awk -v n="$name" -v e="$EVENTS" -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss" \
        -v b="$before" -v a="$after" 'BEGIN {
        printf "%s: %.1f s wall, %.2f s CPU, %.0f events/s, %.0f events per CPU-second, peak RSS %d MiB; broker CPU %.1f s\n",
            n, w, u + s, e / w, e / (u + s), r / 1024, a - b }'
}

if want throughput; then
echo "== throughput: $EVENTS events ($ACCOUNTS accounts), $PARTITIONS partitions per topic"
fresh_broker 10 100
"$BIN" publish "$WORK/day/events.ndjson" --config "$WORK/live.toml" 2>/dev/null
timed "decode-only consumer" "$BENCH" decode --config "$WORK/live.toml"
timed "run --until-end, checkpoint every 10 s" "$BIN" run --until-end --config "$WORK/live.toml" --metrics-listen ""
echo "  ($(grep -o '[0-9]* checkpoints' "$WORK/err"))"
rm -rf "$WORK/checkpoints"
sed -i 's/^interval_secs = .*/interval_secs = 86400/' "$WORK/live.toml"
timed "run --until-end, no checkpoint but the first and last" "$BIN" run --until-end --config "$WORK/live.toml" --metrics-listen ""

fi

if want latency; then
# The day's first LATENCY_EVENTS events, published at each rate while a run follows. Published
# this fast, event time runs far ahead of the wall clock (a day in minutes), so the event-time
# bounds (the engine's lateness, the merge's idle bound) are scaled by the same factor: a
# 10 ms fetch must not count as seconds of lateness.
head -n "$LATENCY_EVENTS" "$WORK/day/events.ndjson" > "$WORK/latency.ndjson"
span=$(( $(date -d "$(tail -n 1 "$WORK/latency.ndjson" | grep -o '"ts":"[^"]*"' | cut -d'"' -f4)" +%s) \
       - $(date -d "$(head -n 1 "$WORK/latency.ndjson" | grep -o '"ts":"[^"]*"' | cut -d'"' -f4)" +%s) ))
for rate in $RATES; do
    speedup=$(( span * rate / LATENCY_EVENTS + 1 ))
    echo "== latency: $LATENCY_EVENTS events published at $rate events/s while a run follows ($PARTITIONS partitions per topic, fetch wait $FETCH_WAIT_MS ms; event time runs ${speedup}x the wall clock, bounds scaled)"
    fresh_broker 10 "$FETCH_WAIT_MS"
    lateness=${LATENESS_MS:-$(( 2000 * speedup ))}
    echo "   engine lateness_ms = $lateness (event time)"
    sed "s/^lateness_ms = .*/lateness_ms = $lateness/" config/default.toml > "$WORK/engine.toml"
    sed -i "s/^fetch_wait_max_ms = .*/&\nidle_bound_ms = $(( 2000 * speedup ))/" "$WORK/live.toml"
    sed -i "1i engine_config = \"engine.toml\"" "$WORK/live.toml"
    PUMPWATCH_LOG=pumpwatch_live=info "$BIN" run --config "$WORK/live.toml" 2> "$WORK/run.log" &
    RUN_PID=$!
    wait_ready
    "$BIN" publish "$WORK/latency.ndjson" --config "$WORK/live.toml" --rate "$rate" 2>/dev/null
    sleep 20
    "$BENCH" latency --config "$WORK/live.toml" || echo "(no latency: see the run's counters below)"
    curl -sf "http://$METRICS/metrics" | grep -E '^pumpwatch_(events_in_total|invalid_events_total|alerts_total)' || true
    curl -sf "http://$METRICS/metrics" | awk '
        /^pumpwatch_event_to_alert_seconds_bucket/ { split($1, p, "le=\""); le = p[2]; sub(/".*/, "", le); b[le] = $2 }
        /^pumpwatch_event_to_alert_seconds_count/ { n = $2 }
        /^pumpwatch_invalid_events_total\{reason="late"\}/ { late = $2 }
        END { printf "run histogram (batch taken to produce ack): %d alerts, %.1f%% within 10 ms, %.1f%% within 50 ms, %.1f%% within 100 ms; %d late events\n",
              n, 100 * b["0.01"] / n, 100 * b["0.05"] / n, 100 * b["0.1"] / n, late }'
    kill "$RUN_PID"; wait "$RUN_PID" 2>/dev/null || true; RUN_PID=""
done
fi

if want recovery; then
echo "== recovery: the first $BIG_EVENTS events of a day of $BIG_ACCOUNTS accounts"
[ -f "$WORK/big/events.ndjson" ] || "$BIN" simulate --seed "$SEED" --accounts "$BIG_ACCOUNTS" \
    --symbols 3900 --out "$WORK/big" --layout mixed >/dev/null
head -n "$BIG_EVENTS" "$WORK/big/events.ndjson" > "$WORK/big-start.ndjson"
fresh_broker 10 100
"$BIN" publish "$WORK/big-start.ndjson" --config "$WORK/live.toml" 2>/dev/null
"$BIN" run --config "$WORK/live.toml" 2> "$WORK/run.log" &
RUN_PID=$!
start=$(date +%s.%N)
# Consumed: the run's lag gauges (refreshed at each checkpoint) add up to 0.
for _ in $(seq 3600); do
    lag=$(curl -sf "http://$METRICS/metrics" | awk '/^pumpwatch_consumer_lag_messages/ {s += $2; n++} END {print (n ? s : -1)}')
    [ "$lag" = 0 ] && break
    sleep 1
done
consumed=$(date +%s.%N)
sleep 11 # one more checkpoint, of the whole state
accounts=$(curl -sf "http://$METRICS/metrics" | awk '/^pumpwatch_state_size\{what="accounts"\}/ {print $2}')
bytes=$(metric pumpwatch_checkpoint_bytes)
sum=$(metric pumpwatch_checkpoint_seconds_sum); count=$(metric pumpwatch_checkpoint_seconds_count)
awk -v c="$consumed" -v s="$start" -v a="$accounts" -v b="$bytes" -v t="$sum" -v n="$count" -v e="$BIG_EVENTS" 'BEGIN {
    printf "consumed %d events in %.0f s; %d accounts of state; checkpoint %.1f MiB (all shares), %.2f s on average over %d checkpoints (flush, snapshot, write)\n",
        e, c - s, a, b / 1048576, t / n, n }'
kill -9 "$RUN_PID"; wait "$RUN_PID" 2>/dev/null || true
start=$(date +%s.%N)
"$BIN" run --config "$WORK/live.toml" 2> "$WORK/run.log" &
RUN_PID=$!
wait_ready
ready=$(date +%s.%N)
awk -v r="$ready" -v s="$start" 'BEGIN { printf "recovery after kill -9: ready again %.2f s after the restart (checkpoints loaded, alert topic tail read, partitions sought)\n", r - s }'
kill "$RUN_PID"; wait "$RUN_PID" 2>/dev/null || true; RUN_PID=""
fi
