#!/usr/bin/env bash
# Runs a split replay on a cluster: the Indexed Job, then the merge once every share is done.
# Usage: deploy/k8s/run-split.sh [NAMESPACE]
set -euo pipefail
cd "$(dirname "$0")"
ns=(--namespace "${1:-default}")
kubectl "${ns[@]}" delete job pumpwatch-replay-split pumpwatch-merge-alerts --ignore-not-found
kubectl "${ns[@]}" apply -f replay-split-job.yaml
kubectl "${ns[@]}" wait --for=condition=complete --timeout=12h job/pumpwatch-replay-split
kubectl "${ns[@]}" apply -f merge-alerts-job.yaml
kubectl "${ns[@]}" wait --for=condition=complete --timeout=1h job/pumpwatch-merge-alerts
kubectl "${ns[@]}" logs job/pumpwatch-merge-alerts
