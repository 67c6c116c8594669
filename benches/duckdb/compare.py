#!/usr/bin/env python3
"""Compares the accounts the engine alerted on with the accounts the SQL rule found.

    python3 benches/duckdb/compare.py ENGINE_ALERTS.ndjson DUCKDB_OUT.ndjson \
        [--labels labels.json] [--rule ato_liquidation_thin_buy] [--json] [--show 20]

ENGINE_ALERTS.ndjson: `pumpwatch replay` output (one alert per line; only alerts of --rule
count; an alert names its accounts in `account_ids`). DUCKDB_OUT.ndjson: run.py --out (one
`{"account_id", "ts", "order_id", ...}` per line).

With --labels (a JSON document with an "accounts" list of {"account_id", "role"}, role one of
"victim", "perpetrator", "lookalike"; unlisted accounts are ordinary), also prints, for each
side, precision and recall against the victims, and what its other alerts were.
"""

import argparse
import json
import signal
import sys


def read_ndjson(path):
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError as e:
                sys.exit(f"{path}:{n}: not JSON: {e}")


def engine_accounts(path, rule):
    accounts = {}
    for a in read_ndjson(path):
        if rule and a.get("rule", rule) != rule:
            continue
        ids = a.get("account_ids")
        if ids is None and "account_id" in a:
            ids = [a["account_id"]]
        for acc in ids or []:
            accounts.setdefault(str(acc), a.get("ts"))  # first alert's ts
    return accounts


def sql_accounts(path):
    accounts = {}
    for r in read_ndjson(path):
        accounts.setdefault(str(r["account_id"]), r.get("ts"))
    return accounts


def read_roles(path):
    with open(path) as f:
        doc = json.load(f)
    roles = {}
    for entry in doc.get("accounts", []):
        role = str(entry.get("role", "")).lower()
        # Tolerate qualified roles such as "victim:campaign-2".
        for base in ("victim", "perpetrator", "lookalike"):
            if role.startswith(base):
                role = base
        roles[str(entry["account_id"])] = role
    return roles


def score(found, victims, roles):
    tp = len(found & victims)
    by_role = {}
    for acc in found - victims:
        r = roles.get(acc, "ordinary")
        by_role[r] = by_role.get(r, 0) + 1
    return {
        "alerted": len(found),
        "true_positives": tp,
        "false_positives": len(found) - tp,
        "false_positives_by_role": dict(sorted(by_role.items())),
        "missed_victims": len(victims) - tp,
        "precision": round(tp / len(found), 4) if found else None,
        "recall": round(tp / len(victims), 4) if victims else None,
    }


def main():
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # quiet when piped into head
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("engine_alerts")
    ap.add_argument("duckdb_out")
    ap.add_argument("--labels")
    ap.add_argument("--rule", default="ato_liquidation_thin_buy",
                    help="engine alerts of this rule only ('' = all)")
    ap.add_argument("--json", action="store_true", help="print one JSON document only")
    ap.add_argument("--show", type=int, default=20, help="list at most N accounts per group")
    args = ap.parse_args()

    eng = engine_accounts(args.engine_alerts, args.rule)
    sql = sql_accounts(args.duckdb_out)
    e, s = set(eng), set(sql)
    result = {
        "engine_accounts": len(e),
        "sql_accounts": len(s),
        "both": len(e & s),
        "only_engine": len(e - s),
        "only_sql": len(s - e),
        "jaccard": round(len(e & s) / len(e | s), 4) if e | s else None,
        "only_engine_ids": sorted(e - s),
        "only_sql_ids": sorted(s - e),
    }
    roles = {}
    if args.labels:
        roles = read_roles(args.labels)
        victims = {a for a, r in roles.items() if r == "victim"}
        result["victims"] = len(victims)
        result["engine_vs_victims"] = score(e, victims, roles)
        result["sql_vs_victims"] = score(s, victims, roles)

    if args.json:
        print(json.dumps(result))
        return

    def show(ids):
        ids = sorted(ids)
        tail = f" ... (+{len(ids) - args.show})" if len(ids) > args.show else ""
        return ", ".join(f"{a}[{roles[a]}]" if a in roles else a
                         for a in ids[:args.show]) + tail

    print(f"engine accounts: {len(e)}   sql accounts: {len(s)}")
    print(f"both:        {len(e & s)}")
    print(f"only engine: {len(e - s)}  {show(e - s)}")
    print(f"only sql:    {len(s - e)}  {show(s - e)}")
    if args.labels:
        print(f"victims in labels: {result['victims']}")
        for name in ("engine", "sql"):
            r = result[f"{name}_vs_victims"]
            print(f"{name:>6}: precision {r['precision']}  recall {r['recall']}  "
                  f"(tp {r['true_positives']}, fp {r['false_positives']} "
                  f"{r['false_positives_by_role']}, missed {r['missed_victims']})")
    print(json.dumps({k: v for k, v in result.items()
                      if k not in ("only_engine_ids", "only_sql_ids")}))


if __name__ == "__main__":
    main()
