#!/usr/bin/env bash
# A/B timing of two pumpwatch builds on one input, for a machine whose speed swings with the
# hour: the two binaries run alternately (A, B, A, B, ...), so a slow spell hits both, and
# each run's alerts are compared with the first run's, so a change that alters an alert is
# caught by the same command that times it.
#
#   bash benches/ab.sh OLD_BIN NEW_BIN INPUT [ROUNDS] [-- replay options]
#
#   CORES=1 (taskset list; `CORES=0,1` with `-- --threads 2`)
#
# Prints every run's wall time, user and system CPU and peak RSS, then per binary the
# minimum and the mean of the wall times, and whether every run gave the same alerts.
set -euo pipefail
if [ $# -lt 3 ]; then
    sed -n '2,12p' "$0"
    exit 2
fi
A=$1 B=$2 INPUT=$3
shift 3
ROUNDS=10
if [ $# -gt 0 ] && [ "$1" != "--" ]; then
    ROUNDS=$1
    shift
fi
[ "${1:-}" = "--" ] && shift
CORES=${CORES:-1}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

for round in $(seq "$ROUNDS"); do
    for side in A B; do
        bin=$A
        [ "$side" = B ] && bin=$B
        out="$WORK/$side-$round.alerts"
        /usr/bin/time -f "%e %U %S %M" -o "$WORK/time" \
            taskset -c "$CORES" "$bin" replay "$INPUT" --no-progress --out "$out" \
            --quarantine "$WORK/quarantine.ndjson" "$@" >/dev/null 2>"$WORK/stderr" || {
            cat "$WORK/stderr" >&2
            exit 1
        }
        read -r wall user sys rss <"$WORK/time"
        printf '%s round %2d: %6.2f s wall, %6.2f s user, %5.2f s sys, %4d MB peak\n' \
            "$side" "$round" "$wall" "$user" "$sys" $((rss / 1024))
        echo "$side $wall" >>"$WORK/walls"
        if ! cmp -s "$out" "$WORK/A-1.alerts"; then
            echo "$side round $round: alerts differ from A's first run" >&2
            echo differ >>"$WORK/differ"
        fi
    done
done
awk '{ n[$1]++; s[$1] += $2; if (!($1 in m) || $2 < m[$1]) m[$1] = $2 }
     END { for (k in n) printf "%s: min %.2f s, mean %.2f s over %d runs\n", k, m[k], s[k] / n[k], n[k] }' \
    "$WORK/walls" | sort
if [ -f "$WORK/differ" ]; then
    echo "alerts: DIFFER"
    exit 1
fi
echo "alerts: identical in every run ($(wc -l <"$WORK/A-1.alerts") lines)"
