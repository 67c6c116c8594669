#!/usr/bin/env bash
# The project's test command (README, CI). Installs nothing today: the replay, engine and
# simulator tests need no server. Reuses a build cache outside the clone when one exists.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${CARGO_TARGET_DIR:-}" ] && [ -d "$HOME/.cache" ]; then
    export CARGO_TARGET_DIR="$HOME/.cache/pumpwatch-target"
fi
cargo test --workspace --locked
