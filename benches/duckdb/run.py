#!/usr/bin/env python3
"""Runs ato_rule.sql with DuckDB over one day of per-type event files and times it.

    python3 benches/duckdb/run.py DIR [--threads 1] [--out FILE] [--runs N] [--sql FILE]
                                      [--no-direct | --direct-only]
                                      [--format ndjson|parquet|mixed]

DIR holds the per-type files of the event contract (instruments, positions, cash, auth,
orders, executions, trades) as NDJSON (`*.ndjson`, optionally `.gz`/`.zst`) or Parquet
(`*.parquet`); the format is auto-detected (Parquet wins when both are present). Or DIR holds
one mixed file of every type, `events.ndjson` (`pumpwatch simulate --layout mixed`): then
`direct` must read every line of it, as the engine does.

What is timed (wall clock, best of --runs; default 3, or 1 when the inputs exceed 1 GiB):
  load    parse every event of every per-type file into DuckDB tables (the work the engine's
          replay does when it reads the day), 
  query   ato_rule.sql over those tables,
  direct  ato_rule.sql straight over the files (DuckDB reads only the four files the query
          needs: instruments, positions, cash, orders) — what a data team would actually run.
          From one mixed file: one scan of it keeping only those four types and their
          columns, then the query (a view per type over the file would scan it four times).
CPU time of the process is reported next to each (`*cpu_seconds`): with threads=1 it is the
steadier number on a machine shared with other work.
The headline `seconds` is load + query: every event read, then the rule — the same input the
engine replays. `events` counts the rows of all per-type files (or of the mixed file). With
--direct-only there is no load: the report has `direct_seconds` and `alerts`, not `seconds`,
`events` or `counts`.

Prints one JSON line on stdout; writes the firing accounts as NDJSON to --out.
"""

import argparse
import json
import os
import sys
import time

try:
    import duckdb
except ImportError:  # pragma: no cover
    sys.exit("duckdb is not installed: pip install duckdb")

HERE = os.path.dirname(os.path.abspath(__file__))

# Per-type files (the contract's plural stems) and the typed columns the views expose.
# "TS" marks the event time: exposed as `ts` (naive UTC TIMESTAMP) plus `ts_raw` (text).
# "DEC" marks a decimal that may arrive as a JSON number or a numeric string.
SCHEMA = {
    "instruments": {"ts": "TS", "symbol": "VARCHAR", "prev_close": "DEC", "name": "VARCHAR",
                    "market": "VARCHAR", "currency": "VARCHAR", "lot_size": "BIGINT",
                    "shares_outstanding": "DOUBLE", "adv_shares": "DOUBLE",
                    "issuer_country": "VARCHAR"},
    "positions": {"ts": "TS", "account_id": "VARCHAR", "symbol": "VARCHAR", "qty": "BIGINT"},
    "cash": {"ts": "TS", "account_id": "VARCHAR", "amount": "DEC", "currency": "VARCHAR"},
    "auth": {"ts": "TS", "account_id": "VARCHAR", "action": "VARCHAR", "ip": "VARCHAR",
             "device_id": "VARCHAR", "user_agent": "VARCHAR", "country": "VARCHAR",
             "asn": "BIGINT", "mfa": "VARCHAR", "channel": "VARCHAR", "session_id": "VARCHAR"},
    "orders": {"ts": "TS", "order_id": "VARCHAR", "account_id": "VARCHAR", "symbol": "VARCHAR",
               "side": "VARCHAR", "action": "VARCHAR", "order_type": "VARCHAR", "qty": "BIGINT",
               "price": "DEC", "margin": "BOOLEAN", "channel": "VARCHAR",
               "session_id": "VARCHAR", "ip": "VARCHAR"},
    "executions": {"ts": "TS", "exec_id": "VARCHAR", "order_id": "VARCHAR",
                   "account_id": "VARCHAR", "symbol": "VARCHAR", "side": "VARCHAR",
                   "qty": "BIGINT", "price": "DEC", "trade_id": "VARCHAR",
                   "counterparty_account_id": "VARCHAR"},
    "trades": {"ts": "TS", "symbol": "VARCHAR", "qty": "BIGINT", "price": "DEC",
               "trade_id": "VARCHAR", "aggressor": "VARCHAR"},
}
TYPE_NAME = {"instruments": "instrument", "positions": "position", "cash": "cash",
             "auth": "auth", "orders": "order", "executions": "execution", "trades": "trade"}
DECIMAL = "DECIMAL(18,4)"
NDJSON_EXTS = [".ndjson", ".ndjson.gz", ".ndjson.zst", ".jsonl", ".json"]


def sql_str(s):
    return "'" + s.replace("'", "''") + "'"


def find_files(d, fmt):
    found = {}
    for stem in SCHEMA:
        exts = [".parquet"] if fmt == "parquet" else NDJSON_EXTS
        for ext in exts:
            p = os.path.join(d, stem + ext)
            if os.path.isfile(p):
                found[stem] = p
                break
    return found


MIXED_NAMES = ["events.ndjson", "events.ndjson.gz", "events.ndjson.zst"]
# The types ato_rule.sql reads.
QUERY_STEMS = ["instruments", "positions", "cash", "orders"]


def find_mixed(d):
    for name in MIXED_NAMES:
        p = os.path.join(d, name)
        if os.path.isfile(p):
            return p
    return None


def detect_format(d):
    if find_mixed(d) and not find_files(d, "ndjson") and not find_files(d, "parquet"):
        return "mixed"
    if find_files(d, "parquet"):
        return "parquet"
    if find_files(d, "ndjson"):
        return "ndjson"
    sys.exit(f"{d}: no per-type files (instruments/positions/cash/auth/orders/executions/"
             f"trades .ndjson or .parquet) and no mixed events.ndjson")


def ts_text_expr(col):
    # RFC 3339 with offset -> TIMESTAMPTZ -> naive UTC (the session TimeZone is UTC); a
    # malformed timestamp becomes NULL and the rule skips the row (the engine quarantines it).
    return f"CAST(TRY_CAST({col} AS TIMESTAMPTZ) AS TIMESTAMP)"


def typed_select(stem, source, present_types):
    """SELECT list turning the raw source into the typed view. present_types: column ->
    DuckDB type as stored in the source (None when the column is absent)."""
    cols = []
    for name, kind in SCHEMA[stem].items():
        have = present_types.get(name)
        q = f'"{name}"'
        if kind == "TS":
            if have is None:
                cols += ["CAST(NULL AS TIMESTAMP) AS ts", "CAST(NULL AS VARCHAR) AS ts_raw"]
            elif have.upper().startswith("VARCHAR"):
                cols += [f"{ts_text_expr(q)} AS ts", f"{q} AS ts_raw"]
            else:  # Parquet timestamp column (naive = UTC, or with zone)
                cols += [f"CAST({q} AS TIMESTAMP) AS ts",
                         f"strftime(CAST({q} AS TIMESTAMP), '%Y-%m-%dT%H:%M:%S.%fZ') AS ts_raw"]
        elif kind == "DEC":
            cols.append(f"TRY_CAST({q} AS {DECIMAL}) AS {q}" if have else
                        f"CAST(NULL AS {DECIMAL}) AS {q}")
        else:
            cols.append(f"TRY_CAST({q} AS {kind}) AS {q}" if have else
                        f"CAST(NULL AS {kind}) AS {q}")
    where = ""
    if present_types.get("type"):
        # A line of another type in a per-type file is invalid for the engine: drop it.
        where = f" WHERE \"type\" IS NULL OR \"type\" = {sql_str(TYPE_NAME[stem])}"
    return f"SELECT {', '.join(cols)} FROM {source}{where}"


def create_file_views(con, d, fmt):
    """Schema `files`: one typed view per type, reading the files on every query."""
    files = find_files(d, fmt)
    con.execute("CREATE SCHEMA IF NOT EXISTS files")
    for stem in SCHEMA:
        path = files.get(stem)
        if path is None:
            present = {}
            source = "(SELECT 1 WHERE false) AS empty"
        elif fmt == "parquet":
            source = f"read_parquet({sql_str(path)})"
            present = {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
        else:
            # Explicit columns: JSON type detection is skipped, absent keys are NULL, and a
            # price written as a number or as a string both arrive as text, then a DECIMAL.
            raw_cols = {"type": "VARCHAR"}
            raw_cols.update({name: ("VARCHAR" if kind in ("TS", "DEC") else kind)
                             for name, kind in SCHEMA[stem].items()})
            cols = ", ".join(f"{sql_str(k)}: {sql_str(v)}" for k, v in raw_cols.items())
            source = (f"read_json({sql_str(path)}, format='newline_delimited', "
                      f"columns={{{cols}}}, ignore_errors=true)")
            present = raw_cols
        con.execute(f"CREATE OR REPLACE VIEW files.{stem} AS "
                    f"{typed_select(stem, source, present)}")
    return files


def stage_mixed(con, path, schema, stems):
    """Schema `schema`: one scan of the mixed file into a table of the lines of `stems`' types
    (only their columns), and a typed view per type over it (an empty one for the others)."""
    raw_cols = {"type": "VARCHAR"}
    for stem in stems:
        raw_cols.update({name: ("VARCHAR" if kind in ("TS", "DEC") else kind)
                         for name, kind in SCHEMA[stem].items()})
    cols = ", ".join(f"{sql_str(k)}: {sql_str(v)}" for k, v in raw_cols.items())
    types = ", ".join(sql_str(TYPE_NAME[stem]) for stem in stems)
    con.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    con.execute(f"CREATE SCHEMA {schema}")
    con.execute(f"CREATE TABLE {schema}.raw AS SELECT * FROM read_json({sql_str(path)}, "
                f"format='newline_delimited', columns={{{cols}}}, ignore_errors=true) "
                f"WHERE \"type\" IN ({types})")
    for stem in SCHEMA:
        if stem in stems:
            source = f"(SELECT * FROM {schema}.raw WHERE \"type\" = {sql_str(TYPE_NAME[stem])})"
            present = {name: raw_cols[name] for name in SCHEMA[stem]}
        else:
            source, present = "(SELECT 1 WHERE false) AS empty", {}
        con.execute(f"CREATE OR REPLACE VIEW {schema}.{stem} AS "
                    f"{typed_select(stem, source, present)}")


def load_tables(con):
    """Schema `mem`: every type parsed into a DuckDB table."""
    con.execute("DROP SCHEMA IF EXISTS mem CASCADE")
    con.execute("CREATE SCHEMA mem")
    for stem in SCHEMA:
        con.execute(f"CREATE TABLE mem.{stem} AS SELECT * FROM files.{stem}")


def timed(fn, runs):
    """Best wall-clock time of `runs` calls, the CPU time of that call, and the last result.
    With threads=1 the CPU time is a steadier measure on a busy machine."""
    best, cpu, result = None, None, None
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        result = fn()
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        if best is None or dt < best:
            best, cpu = dt, dc
    return best, cpu, result


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", help="write the firing accounts here (NDJSON)")
    ap.add_argument("--runs", type=int, help="best of N (default 3; 1 when inputs > 1 GiB)")
    ap.add_argument("--sql", default=os.path.join(HERE, "ato_rule.sql"))
    ap.add_argument("--format", choices=["ndjson", "parquet", "mixed"],
                    help="default: auto-detect")
    direct = ap.add_mutually_exclusive_group()
    direct.add_argument("--no-direct", action="store_true",
                        help="skip the run straight over the files")
    direct.add_argument("--direct-only", action="store_true",
                        help="only the run straight over the files (no load + query)")
    ap.add_argument("--memory-limit", help="DuckDB memory_limit, e.g. 8GB")
    args = ap.parse_args()

    fmt = args.format or detect_format(args.dir)
    mixed = find_mixed(args.dir) if fmt == "mixed" else None
    if fmt == "mixed" and mixed is None:
        sys.exit(f"{args.dir}: no mixed file ({', '.join(MIXED_NAMES)})")
    query = open(args.sql).read().strip().rstrip(";")

    con = duckdb.connect(":memory:")
    con.execute(f"SET threads={args.threads}")
    con.execute("SET TimeZone='UTC'")
    if args.memory_limit:
        con.execute(f"SET memory_limit={sql_str(args.memory_limit)}")
    if mixed:
        # Every type, every column, parsed once: the views `load_tables` copies from (so the
        # mixed load copies every row twice, staging then typed tables; per-type files once).
        files = {"events": mixed}
        load_source = lambda: stage_mixed(con, mixed, "files", list(SCHEMA))
    else:
        files = create_file_views(con, args.dir, fmt)
        load_source = lambda: None
    input_bytes = sum(os.path.getsize(p) for p in files.values())
    runs = args.runs or (1 if input_bytes > (1 << 30) else 3)

    def run_query(schema):
        con.execute(f"SET search_path={sql_str(schema)}")
        cur = con.execute(query)
        names = [c[0] for c in cur.description]
        return names, cur.fetchall()

    report = {"threads": args.threads, "format": fmt, "input_bytes": input_bytes,
              "duckdb": duckdb.__version__}
    rows = names = None
    if not args.direct_only:
        load_s, load_cpu, _ = timed(lambda: (load_source(), load_tables(con)), runs)
        counts = {stem: con.execute(f"SELECT count(*) FROM mem.{stem}").fetchone()[0]
                  for stem in SCHEMA}
        events = sum(counts.values())
        query_s, query_cpu, (names, rows) = timed(lambda: run_query("mem"), runs)
        report.update({
            "events": events,
            "seconds": round(load_s + query_s, 6),
            "events_per_sec": round(events / (load_s + query_s)) if load_s + query_s > 0 else None,
            "alerts": len(rows),
            "load_seconds": round(load_s, 6),
            "query_seconds": round(query_s, 6),
            "cpu_seconds": round(load_cpu + query_cpu, 6),
            "load_cpu_seconds": round(load_cpu, 6),
            "query_cpu_seconds": round(query_cpu, 6),
            "orders": counts["orders"],
            "counts": counts,
        })
        con.execute("DROP SCHEMA mem CASCADE")  # free the memory; direct reads the files
    report["runs"] = runs
    if not args.no_direct:
        if mixed:
            con.execute("SET search_path='main'")
            con.execute("DROP SCHEMA IF EXISTS files CASCADE")

            def direct():
                stage_mixed(con, mixed, "files", QUERY_STEMS)
                return run_query("files")
        else:
            def direct():
                return run_query("files")
        direct_s, direct_cpu, (direct_names, direct_rows) = timed(direct, runs)
        if rows is None:
            names, rows = direct_names, direct_rows
            report["alerts"] = len(rows)
        elif sorted(map(tuple, direct_rows)) != sorted(map(tuple, rows)):
            print("warning: direct run over the files gave different rows", file=sys.stderr)
        report["direct_seconds"] = round(direct_s, 6)
        report["direct_cpu_seconds"] = round(direct_cpu, 6)
        if "events" in report and direct_s > 0:
            report["direct_events_per_sec"] = round(report["events"] / direct_s)

    if args.out and rows is not None:
        with open(args.out, "w") as f:
            for r in rows:
                rec = {}
                for k, v in zip(names, r):
                    if v is not None and not isinstance(v, (str, int, float, bool)):
                        v = float(v)  # Decimal
                    rec[k] = v
                f.write(json.dumps(rec) + "\n")
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
