#!/usr/bin/env bash
# Detection quality over several simulated days: for each seed, the full feed, the same day
# without an auth feed, and with bare reference data (no adv_shares, no shares_outstanding);
# `pumpwatch eval` on each, then one summary line per run and the per-variant tables.
#
#   bash benches/detection.sh                 # seeds 11 12 13, 100k accounts, 1200 symbols
#   SEEDS="1 2" ACCOUNTS=20000 SYMBOLS=400 bash benches/detection.sh
#   BIN=path/to/pumpwatch bash benches/detection.sh   # no build
set -euo pipefail
cd "$(dirname "$0")/.."
SEEDS=${SEEDS:-"11 12 13"}
ACCOUNTS=${ACCOUNTS:-100000}
SYMBOLS=${SYMBOLS:-1200}
WORK=${WORK:-$(mktemp -d)}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/pumpwatch-target}
if [ -z "${BIN:-}" ]; then
    cargo build --release -q -p pumpwatch
    BIN=$CARGO_TARGET_DIR/release/pumpwatch
fi

summary() {
    # One line of the JSON report: the figures the detection issue names.
    python3 - "$1" "$2" <<'EOF'
import json, sys
r = json.load(open(sys.argv[2]))
def pct(x): return f"{100*x:.1f}%"
by = {v["variant"]: v for v in r["recall_by_variant"]}
worst = min((v["recall"], k) for k, v in by.items()) if by else (0, "-")
print(f"{sys.argv[1]:<28} recall {pct(r['recall'])} (worst {worst[1]} {pct(worst[0])})"
      f"  before-last-buy {pct(r['before_last_buy_share'])}"
      f"  delay p50 {r['delay_secs_median']:.0f}s"
      f"  precision {pct(r['precision_named'] or 0)}"
      f"  perps {r['perpetrators_named']}/{r['perpetrators']}"
      f"  targets {r['targets_named']}/{r['targets']}"
      f"  tape {r['tape_pumps_found_within_60s']}/{r['tape_pumps']} ({r['tape_pump_false_alarms']} false)")
EOF
}

for seed in $SEEDS; do
    for feed in full without-auth bare-reference; do
        day="$WORK/day-$seed-$feed"
        flags=()
        case $feed in
            without-auth) flags=(--without-auth) ;;
            bare-reference) flags=(--bare-reference) ;;
        esac
        rm -rf "$day"
        "$BIN" simulate --seed "$seed" --accounts "$ACCOUNTS" --symbols "$SYMBOLS" \
            --out "$day" "${flags[@]}" >/dev/null 2>&1
        "$BIN" replay "$day" >"$day.alerts" 2>/dev/null
        "$BIN" eval --alerts "$day.alerts" --labels "$day/labels.json" --json >"$day.eval.json"
        "$BIN" eval --alerts "$day.alerts" --labels "$day/labels.json" >"$day.eval.txt"
        summary "seed $seed $feed" "$day.eval.json"
    done
done
echo
echo "Per-variant tables: $WORK/day-*.eval.txt"
