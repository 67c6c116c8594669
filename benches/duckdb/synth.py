#!/usr/bin/env python3
"""Generates a synthetic day with DuckDB itself (range(), seeded random()) to measure the SQL
rule's throughput without the simulator. Not realistic market data — just the shapes that
matter to the query: many accounts with a few orders, a tail of very active accounts,
start-of-day holdings that get sold, buys of thin and liquid symbols, replaces and cancels,
and a few planted takeover victims (listed in labels.json).

    python3 benches/duckdb/synth.py OUT_DIR [--orders 1000000] [--accounts 200000]
                                            [--symbols 3900] [--victims 100]
                                            [--format parquet|ndjson] [--seed 0.42]

Writes OUT_DIR/{instruments,positions,cash,orders}.{parquet|ndjson} and labels.json.
"""

import argparse
import json
import os
import time

import duckdb

DAY_UTC = "2025-03-17 00:00:00"  # 09:00 JST


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--orders", type=int, default=1_000_000)
    ap.add_argument("--accounts", type=int, default=200_000)
    ap.add_argument("--symbols", type=int, default=3_900)
    ap.add_argument("--victims", type=int, default=100)
    ap.add_argument("--heavy-share", type=float, default=0.2,
                    help="share of orders from the 0.1%% most active accounts")
    ap.add_argument("--stress", action="store_true",
                    help="active accounts trade random symbols and keep selling their holdings "
                         "(a worst case for the SQL's per-trigger join)")
    ap.add_argument("--format", choices=["parquet", "ndjson"], default="parquet")
    ap.add_argument("--seed", type=float, default=0.42)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    t0 = time.perf_counter()

    con = duckdb.connect()
    con.execute("SET threads=1")  # deterministic output for a given --seed
    con.execute("SET TimeZone='UTC'")
    con.execute(f"SELECT setseed({a.seed})")
    n_acc, n_sym, n_ord, n_vic = a.accounts, a.symbols, a.orders, a.victims
    n_heavy = max(1, n_acc // 1000)
    stress = 'true' if a.stress else 'false'

    # Instruments: prices ~¥50..¥20,000 (log-uniform); a third small and thin; 10% without ADV.
    con.execute(f"""
        CREATE TABLE instruments AS
        SELECT TIMESTAMP '{DAY_UTC}' - INTERVAL 1 HOUR AS ts,
               CAST(1000 + i AS VARCHAR) AS symbol,
               round(exp(ln(50) + random() * ln(400)), 0) AS prev_close,
               CASE WHEN random() < 0.1 THEN NULL
                    ELSE round(exp(ln(5000) + random() * ln(4000)), 0) END AS adv_shares,
               round(exp(ln(5e6) + random() * ln(2000)), 0) AS shares_outstanding
        FROM range({n_sym}) t(i)""")
    # Positions: 0-5 holdings per account, worth ~¥0.3M-¥30M each.
    con.execute(f"""
        CREATE TABLE positions AS
        WITH h AS (
            SELECT a, k, CAST(floor(random() * {n_sym}) AS INT) AS s, random() AS r
            FROM range({n_acc}) t(a), range(5) u(k)
            WHERE k < CAST(floor(random() * 6) AS INT))
        SELECT TIMESTAMP '{DAY_UTC}' - INTERVAL 30 MINUTES AS ts,
               printf('A%07d', a) AS account_id, i.symbol,
               CAST(greatest(100, round(exp(ln(3e5) + r * ln(100)) / i.prev_close / 100) * 100)
                    AS BIGINT) AS qty
        FROM h JOIN instruments i ON i.symbol = CAST(1000 + h.s AS VARCHAR)
        QUALIFY row_number() OVER (PARTITION BY a, s) = 1""")
    con.execute(f"""
        CREATE TABLE cash AS
        SELECT TIMESTAMP '{DAY_UTC}' - INTERVAL 30 MINUTES AS ts,
               printf('A%07d', a) AS account_id,
               round(random() * 2e6, 0) AS amount
        FROM range({n_acc}) t(a)""")
    # Orders: a (1 - heavy_share) share from all accounts, the rest from the 0.1% most active
    # (day traders: buys and sells of 10 symbols of their own); ordinary accounts sell one of
    # their holdings or buy any symbol; limit prices near prev_close, 10%
    # market orders, 5% margin buys; uniform times over the 6.5 h from 09:00 JST.
    con.execute(f"""
        CREATE TABLE orders_new AS
        WITH base AS (
            SELECT i, heavy,
                   CASE WHEN heavy THEN CAST(floor(random() * {n_heavy}) AS INT)
                        ELSE CAST(floor(random() * {n_acc}) AS INT) END AS a,
                   random() < 0.45 AS is_sell,
                   CAST(floor(random() * {n_sym}) AS INT) AS s0,
                   random() AS r1, random() AS r2, random() AS r3, random() AS r4
            FROM (SELECT i, random() < {a.heavy_share} AS heavy FROM range({n_ord}) t(i))),
        base2 AS (
            -- Active accounts day-trade a set of 10 symbols of their own (not their holdings).
            SELECT *, CASE WHEN heavy AND NOT {stress} THEN CAST((a * 7919 + floor(r4 * 10) * 131) % {n_sym} AS INT)
                           ELSE s0 END AS s
            FROM base),
        pos AS (
            SELECT p.*, row_number() OVER (PARTITION BY account_id ORDER BY symbol) - 1 AS k,
                   count(*) OVER (PARTITION BY account_id) AS n
            FROM positions p),
        o AS (
            SELECT b.i, printf('A%07d', b.a) AS account_id,
                   CASE WHEN b.is_sell AND p.symbol IS NOT NULL THEN p.symbol
                        ELSE CAST(1000 + b.s AS VARCHAR) END AS symbol,
                   CASE WHEN b.is_sell THEN 'sell' ELSE 'buy' END AS side,
                   CASE WHEN b.is_sell AND p.symbol IS NOT NULL
                        THEN greatest(100, CAST(round(p.qty * b.r1 / 100) * 100 AS BIGINT))
                        ELSE CAST(100 * (1 + floor(b.r1 * b.r1 * 50)) AS BIGINT) END AS qty,
                   b.r2, b.r3, b.r4
            FROM base2 b
            LEFT JOIN pos p ON (NOT b.heavy OR {stress}) AND p.account_id = printf('A%07d', b.a)
                           AND p.k = CAST(floor(b.r4 * 5) AS INT) % p.n)
        SELECT TIMESTAMP '{DAY_UTC}' + to_microseconds(CAST(o.r3 * 23400e6 AS BIGINT)) AS ts,
               printf('o%08d', o.i) AS order_id, o.account_id, o.symbol, o.side,
               'new' AS action,
               CASE WHEN o.r2 < 0.1 THEN 'market' ELSE 'limit' END AS order_type,
               o.qty,
               CASE WHEN o.r2 < 0.1 THEN NULL
                    ELSE greatest(1, round(i.prev_close * (0.97 + o.r2 * 0.06), 0)) END AS price,
               CASE WHEN o.side = 'buy' AND o.r2 > 0.95 THEN true ELSE NULL END AS margin
        FROM o JOIN instruments i USING (symbol)""")
    # Planted victims: accounts with holdings sell all of them within 20 minutes, then buy one
    # thin symbol (small, priced <= ¥500) for 40-90% of the proceeds.
    con.execute(f"""
        CREATE TABLE victims AS
        SELECT account_id, random() AS r, random() AS r2
        FROM (SELECT account_id, SUM(p.qty * i.prev_close) AS v
              FROM positions p JOIN instruments i USING (symbol)
              WHERE account_id >= printf('A%07d', {n_heavy})
              GROUP BY account_id HAVING v BETWEEN 5e6 AND 5e7)
        USING SAMPLE reservoir({n_vic} ROWS) REPEATABLE (7)""")
    con.execute(f"""
        CREATE TABLE thin_targets AS
        SELECT symbol, prev_close, row_number() OVER (ORDER BY symbol) - 1 AS k
        FROM instruments
        WHERE prev_close <= 500 AND adv_shares < 20000""")
    con.execute(f"""
        CREATE TABLE orders_victims AS
        WITH v AS (
            SELECT account_id, r, r2,
                   TIMESTAMP '{DAY_UTC}' + to_microseconds(CAST((0.5 + r * 5) * 3600e6 AS BIGINT)) AS t0
            FROM victims),
        sells AS (
            SELECT v.t0 + to_microseconds(CAST(random() * 1200e6 AS BIGINT)) AS ts,
                   printf('v-%s-%s', v.account_id, p.symbol) AS order_id,
                   v.account_id, p.symbol, 'sell' AS side, 'new' AS action, 'market' AS order_type,
                   p.qty, CAST(NULL AS DOUBLE) AS price, CAST(NULL AS BOOLEAN) AS margin,
                   p.qty * i.prev_close AS value
            FROM v JOIN positions p USING (account_id) JOIN instruments i USING (symbol)),
        tgt AS (
            SELECT v.account_id, v.t0, v.r2, t.symbol, t.prev_close, s.proceeds
            FROM v
            JOIN (SELECT account_id, SUM(value) AS proceeds FROM sells GROUP BY account_id) s
              USING (account_id)
            JOIN thin_targets t
              ON t.k = CAST(floor(v.r * (SELECT count(*) FROM thin_targets)) AS BIGINT))
        SELECT ts, order_id, account_id, symbol, side, action, order_type, qty, price, margin
        FROM sells
        UNION ALL
        SELECT t0 + INTERVAL 30 MINUTES + to_microseconds(CAST(k * 60e6 AS BIGINT)),
               printf('v-%s-buy%d', account_id, k), account_id, symbol, 'buy', 'new', 'limit',
               CAST(greatest(100, round((0.4 + 0.5 * r2) * proceeds / 3 / (prev_close * 1.1) / 100) * 100) AS BIGINT),
               round(prev_close * 1.1, 0), NULL
        FROM tgt, range(3) u(k)""")
    # Replaces (3%) and cancels (5%) of ordinary limit orders, a few minutes later.
    con.execute("""
        CREATE TABLE orders AS
        WITH allnew AS (SELECT * FROM orders_new UNION ALL SELECT * FROM orders_victims),
        pick AS (SELECT *, random() AS r FROM orders_new WHERE order_type = 'limit')
        SELECT ts, order_id, account_id, symbol, side, action, order_type, qty,
               CAST(price AS VARCHAR) AS price, margin
        FROM allnew
        UNION ALL
        SELECT ts + to_microseconds(CAST(60e6 + r * 600e6 AS BIGINT)), order_id, account_id,
               symbol, side, 'replace', order_type, qty * 2, CAST(price AS VARCHAR), margin
        FROM pick WHERE r < 0.03
        UNION ALL
        SELECT ts + to_microseconds(CAST(60e6 + r * 600e6 AS BIGINT)), order_id, account_id,
               symbol, side, 'cancel', order_type, NULL, NULL, margin
        FROM pick WHERE r > 0.95
        ORDER BY 1, 2""")

    # Files: ts as RFC 3339 text with +09:00, as the contract's NDJSON producers write it.
    ts_text = "strftime(ts + INTERVAL 9 HOURS, '%Y-%m-%dT%H:%M:%S.%f') || '+09:00'"
    for name, typ in (("instruments", "instrument"), ("positions", "position"),
                      ("cash", "cash"), ("orders", "order")):
        sel = f"SELECT '{typ}' AS type, * REPLACE ({ts_text} AS ts) FROM {name}"
        path = os.path.join(a.out, f"{name}.{a.format}")
        opts = "FORMAT parquet" if a.format == "parquet" else "FORMAT json"
        con.execute(f"COPY ({sel}) TO '{path}' ({opts})")
    victims = [r[0] for r in con.execute("SELECT account_id FROM victims ORDER BY 1").fetchall()]
    with open(os.path.join(a.out, "labels.json"), "w") as f:
        json.dump({"accounts": [{"account_id": v, "role": "victim"} for v in victims]}, f)
    counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
              for t in ("instruments", "positions", "cash", "orders")}
    print(json.dumps({"out": a.out, "format": a.format, "counts": counts,
                      "victims": len(victims),
                      "seconds": round(time.perf_counter() - t0, 2)}))


if __name__ == "__main__":
    main()
