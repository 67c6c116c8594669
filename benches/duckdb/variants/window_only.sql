-- Variant of ato_rule.sql for timing only: window functions alone, no self-join. It cannot
-- be exact (see the header of ato_rule.sql): it over-counts replaced orders, caps sells per
-- order instead of per symbol, and takes the ADV share of the trigger's symbol only.
WITH
-- Reference data: the latest instrument event per symbol, and whether the symbol is thin.
sym AS (
    SELECT symbol,
           arg_max(prev_close, ts)         AS prev_close,
           arg_max(adv_shares, ts)         AS adv_shares,
           arg_max(shares_outstanding, ts) AS shares_outstanding
    FROM instruments
    GROUP BY symbol
),
sym_thin AS (
    SELECT symbol, prev_close, adv_shares,
           COALESCE(
                adv_shares * prev_close < 50000000                 -- thin_adv_value_max
             OR shares_outstanding * prev_close < 5000000000       -- thin_market_cap_max
             OR (adv_shares IS NULL AND shares_outstanding IS NULL
                 AND prev_close <= 500),                           -- low_price_max
             false) AS thin
    FROM sym
),
-- Start-of-day holdings: the last position event per (account, symbol) wins.
sod AS (
    SELECT account_id, symbol, arg_max(qty, ts) AS sod_qty
    FROM positions
    GROUP BY account_id, symbol
),
held AS (
    SELECT account_id, symbol, sod_qty FROM sod WHERE sod_qty > 0
),
-- Portfolio value at the open. SIMPLIFICATION: valued at prev_close; the engine uses the mark
-- (last trade price, else prev_close) at the moment the rule is evaluated.
portfolio AS (
    SELECT h.account_id, SUM(h.sod_qty * s.prev_close) AS portfolio_value
    FROM held h JOIN sym s USING (symbol)
    GROUP BY h.account_id
),
sod_cash AS (
    SELECT account_id, arg_max(amount, ts) AS cash FROM cash GROUP BY account_id
),
-- SIMPLIFICATION: an order cancelled at any point of the day is dropped entirely.
cancelled AS (
    SELECT DISTINCT account_id, order_id FROM orders WHERE action = 'cancel'
),
-- Every live version (new or replace) of every order, with the facts the rule needs.
--   px:       the price an order stands for: its limit, or prev_close for market orders
--             (SIMPLIFICATION: the engine uses the last trade price).
--   sod_qty:  what the account held of the symbol at the open (0 when nothing).
ver AS (
    SELECT o.ts, o.ts_raw, o.account_id, o.order_id, o.symbol, o.side,
           COALESCE(o.margin, false) AS margin,
           o.qty,
           CASE WHEN o.order_type = 'market' OR o.price IS NULL THEN s.prev_close
                ELSE o.price END AS px,
           COALESCE(h.sod_qty, 0) AS sod_qty,
           COALESCE(s.thin, false) AS thin,
           s.adv_shares
    FROM orders o
    LEFT JOIN sym_thin s USING (symbol)
    LEFT JOIN held h ON h.account_id = o.account_id AND h.symbol = o.symbol
    ANTI JOIN cancelled c ON c.account_id = o.account_id AND c.order_id = o.order_id
    WHERE COALESCE(o.action, 'new') IN ('new', 'replace')
      AND o.qty > 0
      AND o.side IN ('buy', 'sell')
      AND o.ts IS NOT NULL AND o.account_id IS NOT NULL AND o.order_id IS NOT NULL
),
-- Only two kinds of order matter to the rule: sells of symbols held at the open, and buys of
-- thin symbols not held at the open ("thin buys"). For each version of such an order:
--   first_ts: when the order entered the window (a replace keeps the order's place, as in the
--             engine's per-account order window);
--   next_ts:  when the next version replaced this one (NULL for the latest), so that "the
--             order as it stood at t" is the version with ts <= t < next_ts.
relevant AS (
    SELECT *,
           side = 'buy' AS is_buy,
           MIN(ts)  OVER (PARTITION BY account_id, order_id) AS first_ts,
           LEAD(ts) OVER (PARTITION BY account_id, order_id ORDER BY ts) AS next_ts
    FROM ver
    WHERE (side = 'sell' AND sod_qty > 0)
       OR (side = 'buy' AND sod_qty <= 0 AND thin)
),
-- Accounts for which the rule can fire at all: something held was sold, or a margin thin buy.
able AS (
    SELECT DISTINCT account_id FROM relevant WHERE NOT is_buy OR margin
),
-- Window functions only, no join: every version of every order counts (a replaced order
-- twice), each sell is capped at the holding by itself (not cumulatively per symbol), and the
-- ADV share is that of the trigger's own symbol. Approximate; for timing only.
measured AS (
    SELECT r.account_id, r.order_id, r.ts, r.ts_raw, r.is_buy,
           COALESCE(p.portfolio_value, 0)   AS portfolio_value,
           GREATEST(COALESCE(c.cash, 0), 0) AS cash,
           COALESCE(SUM(CASE WHEN NOT r.is_buy THEN LEAST(r.qty, r.sod_qty) * r.px END) OVER w, 0) AS sold_value,
           COALESCE(SUM(CASE WHEN r.is_buy THEN r.qty * r.px END) OVER w, 0) AS thin_buy_value,
           COALESCE(SUM(CASE WHEN r.is_buy AND r.margin THEN r.qty * r.px END) OVER w, 0) AS margin_thin_buy_value,
           COALESCE(SUM(r.qty) OVER (PARTITION BY r.account_id, r.symbol ORDER BY r.ts
                        RANGE BETWEEN INTERVAL 3 HOURS PRECEDING AND CURRENT ROW)
                    / NULLIF(r.adv_shares, 0), 0) AS max_adv_share
    FROM relevant r SEMI JOIN able a ON a.account_id = r.account_id
    LEFT JOIN portfolio p ON p.account_id = r.account_id
    LEFT JOIN sod_cash c ON c.account_id = r.account_id
    WINDOW w AS (PARTITION BY r.account_id ORDER BY r.ts
                 RANGE BETWEEN INTERVAL 3 HOURS PRECEDING AND CURRENT ROW)
    QUALIFY r.is_buy
),
ratios AS (
    SELECT *,
           CAST(sold_value AS DOUBLE) / NULLIF(portfolio_value, 0)                AS liquidated,
           CAST(thin_buy_value AS DOUBLE) / NULLIF(sold_value, 0)                 AS spend_of_proceeds,
           CAST(margin_thin_buy_value AS DOUBLE) / NULLIF(portfolio_value + cash, 0) AS margin_share
    FROM measured
)
SELECT account_id,
       ts_raw AS ts,
       order_id,
       round(portfolio_value, 0)        AS portfolio_value,
       round(sold_value, 0)             AS sold_value,
       round(thin_buy_value, 0)         AS thin_buy_value,
       round(margin_thin_buy_value, 0)  AS margin_thin_buy_value,
       round(liquidated, 4)             AS liquidated_fraction,
       round(spend_of_proceeds, 4)      AS spend_of_proceeds,
       round(margin_share, 4)           AS margin_spend_of_portfolio,
       round(max_adv_share, 4)          AS thin_buy_adv_share
FROM ratios
WHERE thin_buy_value >= 1000000                                        -- buy_value_min
  AND (    (COALESCE(liquidated, 0) >= 0.5                             -- liquidation_fraction_min
            AND COALESCE(spend_of_proceeds, 0) >= 0.3)                 -- spend_of_proceeds_min
       OR  (COALESCE(margin_share, 0) >= 0.3                           -- margin_spend_of_portfolio_min
            AND max_adv_share >= 0.2))                                 -- margin_adv_share_min
QUALIFY row_number() OVER (PARTITION BY account_id ORDER BY ts, order_id) = 1
ORDER BY ts, account_id
