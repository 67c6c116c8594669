#!/usr/bin/env python3
"""Writes a tiny hand-made trading day (per-type NDJSON files + labels.json) for checking
ato_rule.sql by hand: every account is a case whose expected outcome is known.

    python3 benches/duckdb/tiny_day.py /tmp/pw-tiny

Expected firing accounts (and the order that completes the pattern):
    V1  victim: sells its whole portfolio, then buys a thin stock; the first thin buy is too
        small (< ¥1M), the second (o-V1-4) completes the pattern
    M1  victim, margin-funded variant: sells nothing, margin-buys 2/3 of a thin stock's ADV
        (o-M1-1)
    R1  victim: liquidates, buys a thin stock small, then *replaces* the order with a bigger one;
        fires at the replace (o-R1-2, at the replace's ts)
Accounts that must not fire:
    I1  sells everything and buys a large cap                 (lookalike: not thin)
    I2  sells everything and buys a mid cap                   (lookalike: not thin)
    I3  sells half, buys a thin stock for ¥600k               (lookalike: below ¥1M)
    C1  liquidates, buys a thin stock, then cancels the buy   (cancelled order)
    W1  liquidates at 09:05, buys the thin stock at 12:40     (outside the 3 h window)
    H1  already held the thin stock at the open               (not a new symbol)
    P1  perpetrator: no holdings, accumulates the thin stock  (nothing sold, no margin)
"""

import json
import os
import sys

DAY = "2025-03-17"


def ts(hms, frac=".000"):
    return f"{DAY}T{hms}{frac}+09:00"


INSTRUMENTS = [
    # symbol, prev_close, adv_shares, shares_outstanding, name, market
    ("7203", 2800, 20_000_000, 15_800_000_000, "Toyota Motor", "TSE-Prime"),  # liquid
    ("9984", 8000, 10_000_000, 1_470_000_000, "SoftBank Group", "TSE-Prime"),  # liquid
    ("6758", 3300, 8_000_000, 6_100_000_000, "Sony Group", "TSE-Prime"),  # liquid
    ("1234", 1200, 200_000, 100_000_000, "Mid Cap Co", "TSE-Standard"),  # 240M/day, 120bn cap
    ("7992", 105, 15_000, 30_000_000, "Sailor Pen", "TSE-Standard"),  # thin by ADV value and cap
    ("9999", 150, None, None, "Unknown Small", "TSE-Standard"),  # thin by price (no ADV, no cap)
]

POSITIONS = {
    "V1": [("7203", 2000), ("6758", 1000)],
    "M1": [("7203", 500)],
    "R1": [("7203", 2000)],
    "I1": [("7203", 3000)],
    "I2": [("6758", 1000)],
    "I3": [("7203", 1000)],
    "C1": [("6758", 2000)],
    "W1": [("7203", 2000)],
    "H1": [("7992", 10000), ("6758", 1000)],
}
CASH = {"V1": 100_000, "M1": 200_000, "R1": 0, "I1": 50_000, "I3": 10_000, "P1": 5_000_000}

# ts, order_id, account, symbol, side, action, order_type, qty, price, margin
ORDERS = [
    (ts("09:01:00"), "o-P1-1", "P1", "7992", "buy", "new", "limit", 30000, 100, False),
    (ts("09:05:00"), "o-W1-1", "W1", "7203", "sell", "new", "market", 2000, None, False),
    (ts("09:30:00"), "o-P1-2", "P1", "7992", "buy", "new", "limit", 30000, "103.0", False),
    (ts("10:00:00"), "o-R1-1", "R1", "7203", "sell", "new", "limit", 2000, 2790, False),
    (ts("10:05:00"), "o-R1-2", "R1", "9999", "buy", "new", "limit", 5000, 150, False),
    (ts("10:20:00", ".500123456"), "o-R1-2", "R1", "9999", "buy", "replace", "limit", 20000, 151, False),
    (ts("11:00:00"), "o-M1-1", "M1", "7992", "buy", "new", "limit", 10000, 110, True),
    (ts("12:40:00"), "o-W1-2", "W1", "7992", "buy", "new", "limit", 40000, 110, False),
    (ts("13:00:00"), "o-V1-1", "V1", "7203", "sell", "new", "limit", 2000, "2790", False),
    (ts("13:00:30"), "o-I1-1", "I1", "7203", "sell", "new", "limit", 3000, 2790, False),
    (ts("13:01:00"), "o-I2-1", "I2", "6758", "sell", "new", "market", 1000, None, False),
    (ts("13:01:30"), "o-C1-1", "C1", "6758", "sell", "new", "limit", 2000, 3290, False),
    (ts("13:02:00"), "o-V1-2", "V1", "6758", "sell", "new", "market", 1000, None, False),
    (ts("13:02:30"), "o-I3-1", "I3", "7203", "sell", "new", "limit", 500, 2800, False),
    (ts("13:03:00"), "o-H1-1", "H1", "6758", "sell", "new", "limit", 1000, 3300, False),
    (ts("13:05:00", ".123"), "o-V1-3", "V1", "7992", "buy", "new", "limit", 5000, 108, False),
    (ts("13:06:00"), "o-I1-2", "I1", "9984", "buy", "new", "limit", 1000, 8000, False),
    (ts("13:06:30"), "o-I2-2", "I2", "1234", "buy", "new", "limit", 3000, 1200, False),
    (ts("13:07:00"), "o-C1-2", "C1", "7992", "buy", "new", "limit", 50000, 112, False),
    (ts("13:07:30"), "o-I3-2", "I3", "9999", "buy", "new", "limit", 4000, 150, False),
    (ts("13:08:00"), "o-H1-2", "H1", "7992", "buy", "new", "limit", 30000, 110, False),
    (ts("13:09:00"), "o-C1-2", "C1", "7992", "buy", "cancel", "limit", None, None, False),
    (ts("13:10:00", ".987654"), "o-V1-4", "V1", "7992", "buy", "new", "limit", 40000, "110.5", False),
    (ts("13:20:00"), "o-P1-3", "P1", "7992", "sell", "new", "limit", 60000, 115, False),
]

LABELS = {
    "V1": "victim", "M1": "victim", "R1": "victim", "P1": "perpetrator",
    "I1": "lookalike", "I2": "lookalike", "I3": "lookalike",
}


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: tiny_day.py OUT_DIR")
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)

    def write(name, rows):
        with open(os.path.join(out, f"{name}.ndjson"), "w") as f:
            for r in rows:
                f.write(json.dumps({k: v for k, v in r.items() if v is not None}) + "\n")

    write("instruments", [
        {"type": "instrument", "ts": ts("08:00:00"), "symbol": s, "prev_close": p, "adv_shares": a,
         "shares_outstanding": so, "name": n, "market": m, "lot_size": 100}
        for s, p, a, so, n, m in INSTRUMENTS])
    write("positions", [
        {"type": "position", "ts": ts("08:30:00"), "account_id": a, "symbol": s, "qty": q}
        for a, rows in POSITIONS.items() for s, q in rows])
    write("cash", [
        {"type": "cash", "ts": ts("08:30:00"), "account_id": a, "amount": str(v), "currency": "JPY"}
        for a, v in CASH.items()])
    write("auth", [
        {"type": "auth", "ts": ts("12:55:00"), "account_id": "V1", "action": "login_success",
         "ip": "203.0.113.7", "device_id": "dev-x", "country": "JP", "mfa": "sms"}])
    orders = []
    for t, oid, a, s, side, action, otype, q, p, margin in ORDERS:
        orders.append({"type": "order", "ts": t, "order_id": oid, "account_id": a, "symbol": s,
                       "side": side, "action": action, "order_type": otype, "qty": q, "price": p,
                       "margin": True if margin else None})
    write("orders", orders)
    write("executions", [
        {"type": "execution", "ts": ts("13:10:01"), "exec_id": "e-1", "order_id": "o-V1-4",
         "account_id": "V1", "symbol": "7992", "side": "buy", "qty": 40000, "price": "110.5",
         "trade_id": "t-1", "counterparty_account_id": "P1"}])
    write("trades", [
        {"type": "trade", "ts": ts("13:10:01"), "symbol": "7992", "qty": 40000, "price": 110.5,
         "trade_id": "t-1", "aggressor": "buy"}])
    with open(os.path.join(out, "labels.json"), "w") as f:
        json.dump({"accounts": [{"account_id": a, "role": r} for a, r in LABELS.items()]}, f,
                  indent=1)
    print(f"wrote {out}: {len(ORDERS)} orders; expected firing accounts: V1 (o-V1-4), "
          f"M1 (o-M1-1), R1 (o-R1-2 replace)")


if __name__ == "__main__":
    main()
