#!/usr/bin/env bash
# End-to-end figures: simulate a full broker day, replay it on ONE core from NDJSON (one mixed
# file and per-type files) and from Parquet, measure the parse-only ceiling of each input and
# the peak memory, score the alerts, and run the same rule as DuckDB SQL on one thread.
#
#   bash benches/e2e.sh [WORKDIR]        (ACCOUNTS=400000 SYMBOLS=3900 SEED=1 SHAPE=realistic)
#
# SHAPE=realistic (the simulator's default) stamps the snapshot with one instant and the tape
# to the millisecond in bursts, as real feeds are; SHAPE=spread gives the earlier tidy day.
#
# Prints one line per measurement; the README's performance table comes from this output.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${1:-/tmp/pumpwatch-e2e}
ACCOUNTS=${ACCOUNTS:-400000}
SYMBOLS=${SYMBOLS:-3900}
SEED=${SEED:-1}
SHAPE=${SHAPE:-realistic}
TARGET=${CARGO_TARGET_DIR:-target}
BIN="$TARGET/release/pumpwatch"
CORE=${CORE:-0}

cargo build --release -p pumpwatch >/dev/null
mkdir -p "$WORK"

if [ ! -f "$WORK/day/labels.json" ]; then
    "$BIN" simulate --seed "$SEED" --accounts "$ACCOUNTS" --symbols "$SYMBOLS" --shape "$SHAPE" --out "$WORK/day"
fi
if [ ! -f "$WORK/mixed/events.ndjson" ]; then
    "$BIN" simulate --seed "$SEED" --accounts "$ACCOUNTS" --symbols "$SYMBOLS" --shape "$SHAPE" --out "$WORK/mixed" --layout mixed
fi
if [ ! -f "$WORK/parquet/orders.parquet" ]; then
    "$BIN" convert "$WORK/day" --out "$WORK/parquet" --format parquet --quarantine "$WORK/convert-quarantine.ndjson"
fi

# One measurement: REPEAT runs (3 by default; the machine is shared, so one run can be an
# outlier), each printing the summary's events/s; the line gives the median and the range,
# and the peak RSS of the last run (from /usr/bin/time).
REPEAT=${REPEAT:-3}
measure() {
    local label=$1; shift
    measure_on "$CORE" "$label" "$@"
}
# The same on both cores (for --threads 2).
measure_both() {
    local label=$1; shift
    measure_on 0,1 "$label" "$@"
}
measure_on() {
    local cores=$1 label=$2; shift 2
    local log="$WORK/$label.log" rates=()
    for _ in $(seq "$REPEAT"); do
        taskset -c "$cores" /usr/bin/time -v "$BIN" "$@" --no-progress --quarantine "$WORK/$label.quarantine.ndjson" \
            > "$WORK/$label.alerts.ndjson" 2> "$log"
        rates+=("$(grep -E 'wall time' "$log" | sed -E 's/.*, ([0-9]+) events\/s.*/\1/')")
    done
    local rss sorted
    rss=$(grep -E 'Maximum resident set size' "$log" | awk '{print $6}')
    sorted=$(printf '%s\n' "${rates[@]}" | sort -n)
    printf '%-24s median %.2fM events/s (runs %s), peak RSS %.0f MiB\n' "$label" \
        "$(echo "$sorted" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)] / 1e6}')" \
        "$(echo "$sorted" | awk '{printf "%s%.2fM", (NR>1?" ":""), $1/1e6}')" \
        "$(echo "$rss / 1024" | bc -l)"
}

echo "input: $(grep -h 'events read' "$WORK"/*.log 2>/dev/null | head -1 || true)"
measure check-ndjson-mixed    check  "$WORK/mixed/events.ndjson"
measure replay-ndjson-mixed   replay "$WORK/mixed/events.ndjson"
measure check-ndjson-per-type check  "$WORK/day"
measure replay-ndjson-per-type replay "$WORK/day"
measure check-parquet         check  "$WORK/parquet"
measure replay-parquet        replay "$WORK/parquet"
measure_both replay-ndjson-per-type-threads2 replay "$WORK/day" --threads 2
measure_both replay-parquet-threads2 replay "$WORK/parquet" --threads 2
grep -E 'events read' "$WORK/replay-ndjson-mixed.log"

# The same alerts whatever the layout or format.
cmp "$WORK/replay-ndjson-mixed.alerts.ndjson" "$WORK/replay-ndjson-per-type.alerts.ndjson" && echo "alerts: mixed NDJSON == per-type NDJSON"
cmp "$WORK/replay-ndjson-mixed.alerts.ndjson" "$WORK/replay-parquet.alerts.ndjson" && echo "alerts: NDJSON == Parquet"
cmp "$WORK/replay-parquet.alerts.ndjson" "$WORK/replay-parquet-threads2.alerts.ndjson" && echo "alerts: one thread == two threads"

"$BIN" eval --alerts "$WORK/replay-ndjson-per-type.alerts.ndjson" --labels "$WORK/day/labels.json"

if python3 -c 'import duckdb' 2>/dev/null || pip install -q duckdb; then
    taskset -c "$CORE" python3 benches/duckdb/run.py "$WORK/parquet" --threads 1 --out "$WORK/duckdb.ndjson" | tee "$WORK/duckdb.json"
    taskset -c "$CORE" python3 benches/duckdb/run.py "$WORK/day" --threads 1 --runs 1 --out "$WORK/duckdb-ndjson.ndjson" | tee "$WORK/duckdb-ndjson.json"
    python3 benches/duckdb/compare.py "$WORK/replay-parquet.alerts.ndjson" "$WORK/duckdb.ndjson" --labels "$WORK/day/labels.json"
fi
