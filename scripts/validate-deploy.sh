#!/usr/bin/env bash
# Checks deploy/k8s/*.yaml against the Kubernetes schemas with kubernetes-validate (pinned,
# installed into the tools' virtualenv when missing; it carries the schemas, no cluster needed).
set -euo pipefail
cd "$(dirname "$0")/.."
KUBERNETES_VALIDATE_VERSION=1.37.0
venv="${PUMPWATCH_VENV:-$HOME/.cache/pumpwatch-venv}"
if ! "$venv/bin/kubernetes-validate" --version 2>/dev/null | grep -qx "$KUBERNETES_VALIDATE_VERSION"; then
    echo "validate-deploy: installing kubernetes-validate $KUBERNETES_VALIDATE_VERSION into $venv" >&2
    [ -x "$venv/bin/pip" ] || python3 -m venv "$venv"
    "$venv/bin/pip" install -q "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
fi
"$venv/bin/kubernetes-validate" --strict deploy/k8s/*.yaml
