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

# The Prometheus config and alerting rules (promtool, from Debian's prometheus package, which
# the test command installs when missing).
(cd deploy/prometheus && promtool check config prometheus.yml)

# The Grafana dashboard: well-formed, every panel queries Prometheus, and every pumpwatch
# series it or a rule names is one the live pipeline exports.
python3 - <<'PY'
import json, re, sys
exported = set(re.findall(r'"([a-z_]+)",\s*\n?\s*"', open("crates/pumpwatch-live/src/metrics.rs").read()))
exported = {"pumpwatch_" + name for name in exported}
dashboard = json.load(open("deploy/grafana/pumpwatch-live.json"))
assert dashboard["panels"], "a dashboard without panels"
used = set()
for panel in dashboard["panels"]:
    assert panel["datasource"]["type"] == "prometheus", panel["title"]
    assert {"x", "y", "w", "h"} <= set(panel["gridPos"]), panel["title"]
    for target in panel["targets"]:
        used |= set(re.findall(r"pumpwatch_[a-z_]+", target["expr"]))
used |= set(re.findall(r"pumpwatch_[a-z_]+", open("deploy/prometheus/pumpwatch-rules.yml").read()))
suffixes = ("_bucket", "_count", "_sum")
unknown = sorted(u for u in used if u not in exported and not any(u.endswith(s) and u[: -len(s)] in exported for s in suffixes))
if unknown:
    sys.exit(f"validate-deploy: the dashboard or the rules name series nothing exports: {unknown}")
print(f"validate-deploy: dashboard with {len(dashboard['panels'])} panels and the rules name {len(used)} exported series")
PY
