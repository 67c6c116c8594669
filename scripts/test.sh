#!/usr/bin/env bash
# The project's test command (README, CI). Installs and starts what the tests need when it is
# missing: a local PostgreSQL for the alert store's tests (scripts/postgres.sh), a
# Kafka-protocol broker for the live pipeline's (scripts/broker.sh), Debian's
# chromium and chromium-driver for the web UI's browser test, schemathesis (in a virtualenv,
# with curl to fetch the document) for the API fuzz, kubernetes-validate and Debian's
# prometheus (for promtool) for deploy/, moto's S3 server for checkpoints in an object store. Reuses a build cache outside the clone when one exists.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${CARGO_TARGET_DIR:-}" ] && [ -d "$HOME/.cache" ]; then
    export CARGO_TARGET_DIR="$HOME/.cache/pumpwatch-target"
fi
target="${CARGO_TARGET_DIR:-target}"

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

missing=""
[ -x /usr/bin/chromium ] || missing="$missing chromium"
[ -x /usr/bin/chromedriver ] || missing="$missing chromium-driver"
command -v curl >/dev/null || missing="$missing curl"
python3 -c 'import ensurepip, venv' 2>/dev/null || missing="$missing python3-venv"
command -v promtool >/dev/null || missing="$missing prometheus"
if [ -n "$missing" ]; then
    echo "test.sh: installing Debian's$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -qq >&2
    as_root apt-get install -y -qq $missing >&2
fi

PUMPWATCH_TEST_POSTGRES="$(bash scripts/postgres.sh)"
export PUMPWATCH_TEST_POSTGRES

# A Kafka-protocol broker for the live pipeline's tests (tansu, built from crates.io when
# missing: the first run takes 15-25 minutes longer).
PUMPWATCH_TEST_BROKERS="$(bash scripts/broker.sh --port 19092 --fresh)"
export PUMPWATCH_TEST_BROKERS

# An S3-compatible object store for the test of checkpoints in an object store (moto's
# server, installed from PyPI into its own virtualenv when missing).
PUMPWATCH_TEST_S3="$(bash scripts/s3.sh --port 19600)"
export PUMPWATCH_TEST_S3

# The deployment manifests against the Kubernetes schemas.
bash scripts/validate-deploy.sh

# The API against its own OpenAPI document, first, so that cargo's summary closes the run.
cargo build --locked -p pumpwatch
bash scripts/fuzz-api.sh "$target/debug/pumpwatch"

cargo test --workspace --locked
