-- The alert store (SQLite dialect; migrations/postgres holds the same schema for PostgreSQL).
-- Timestamps are text: RFC 3339 in UTC with microseconds and a fixed width, so text order is time order.

CREATE TABLE alerts (
    alert_id        TEXT PRIMARY KEY,
    rule            TEXT NOT NULL,
    ts              TEXT NOT NULL,          -- event time it fired, as the engine wrote it
    ts_utc          TEXT NOT NULL,          -- the same instant in UTC, sortable
    day             TEXT NOT NULL,          -- trading day of ts in its own offset (YYYY-MM-DD)
    score           BIGINT NOT NULL,
    severity        TEXT NOT NULL,
    severity_rank   BIGINT NOT NULL,        -- low 0 .. critical 3
    action          TEXT NOT NULL,
    summary         TEXT NOT NULL,
    account_ids     TEXT NOT NULL,          -- JSON array
    symbols         TEXT NOT NULL,          -- JSON array
    config_version  TEXT NOT NULL,
    body            TEXT NOT NULL,          -- the alert exactly as the engine wrote it (contract JSON)
    state           TEXT NOT NULL DEFAULT 'new',
    assignee        TEXT,
    disposition     TEXT,
    pending_disposition TEXT,               -- a close awaiting a supervisor's approval
    pending_reason  TEXT,
    pending_by      TEXT,
    case_id         TEXT,
    version         BIGINT NOT NULL DEFAULT 1,
    ingested_at     TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX alerts_by_score ON alerts (score DESC, ts_utc DESC, alert_id);
CREATE INDEX alerts_by_time ON alerts (ts_utc DESC, alert_id);
CREATE INDEX alerts_by_state ON alerts (state, score DESC, ts_utc DESC, alert_id);
CREATE INDEX alerts_by_state_time ON alerts (state, ts_utc DESC, alert_id);
CREATE INDEX alerts_by_rule ON alerts (rule);
CREATE INDEX alerts_by_case ON alerts (case_id);

CREATE TABLE alert_accounts (
    account_id  TEXT NOT NULL,
    alert_id    TEXT NOT NULL REFERENCES alerts (alert_id),
    PRIMARY KEY (account_id, alert_id)
);
CREATE TABLE alert_symbols (
    symbol      TEXT NOT NULL,
    alert_id    TEXT NOT NULL REFERENCES alerts (alert_id),
    day         TEXT NOT NULL,              -- the alert's trading day and time, copied here
    ts_utc      TEXT NOT NULL,              -- so that grouping finds a symbol's day by range
    PRIMARY KEY (symbol, alert_id)
);
CREATE INDEX alert_symbols_by_day ON alert_symbols (symbol, day, ts_utc);

-- Alerts of one campaign, worked as one item.
CREATE TABLE cases (
    case_id         TEXT PRIMARY KEY,
    title           TEXT NOT NULL,
    score           BIGINT NOT NULL,
    severity        TEXT NOT NULL,
    severity_rank   BIGINT NOT NULL,
    first_ts_utc    TEXT NOT NULL,
    last_ts_utc     TEXT NOT NULL,
    state           TEXT NOT NULL DEFAULT 'new',
    assignee        TEXT,
    disposition     TEXT,
    pending_disposition TEXT,
    pending_reason  TEXT,
    pending_by      TEXT,
    version         BIGINT NOT NULL DEFAULT 1,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);

-- What the alert page shows beside the alert: holdings, the symbol's day, executions between accounts.
CREATE TABLE alert_context (
    alert_id    TEXT PRIMARY KEY REFERENCES alerts (alert_id),
    holdings    TEXT NOT NULL               -- JSON: start of day and at the alert
);
CREATE TABLE symbol_bars (
    symbol      TEXT NOT NULL,
    day         TEXT NOT NULL,
    minute_utc  TEXT NOT NULL,
    open        TEXT NOT NULL,
    high        TEXT NOT NULL,
    low         TEXT NOT NULL,
    close       TEXT NOT NULL,
    volume      BIGINT NOT NULL,
    prints      BIGINT NOT NULL,
    PRIMARY KEY (symbol, day, minute_utc)
);
CREATE TABLE execution_links (
    symbol      TEXT NOT NULL,
    day         TEXT NOT NULL,
    buyer       TEXT NOT NULL,
    seller      TEXT NOT NULL,
    qty         BIGINT NOT NULL,
    notional    TEXT NOT NULL,
    fills       BIGINT NOT NULL,
    first_ts_utc TEXT NOT NULL,
    last_ts_utc TEXT NOT NULL,
    PRIMARY KEY (symbol, day, buyer, seller)
);
CREATE INDEX execution_links_by_seller ON execution_links (seller);
CREATE INDEX execution_links_by_buyer ON execution_links (buyer);

CREATE TABLE users (
    name            TEXT PRIMARY KEY,
    role            TEXT NOT NULL,
    password_hash   TEXT,
    disabled        BIGINT NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL
);
CREATE TABLE api_tokens (
    token_hash  TEXT PRIMARY KEY,           -- SHA-256 of the token; the token itself is never stored
    user_name   TEXT NOT NULL REFERENCES users (name),
    label       TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);
CREATE TABLE sessions (
    session_hash TEXT PRIMARY KEY,          -- SHA-256 of the cookie value
    user_name   TEXT NOT NULL REFERENCES users (name),
    csrf_token  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);
CREATE TABLE comments (
    comment_id  TEXT PRIMARY KEY,
    entity_type TEXT NOT NULL,              -- alert or case
    entity_id   TEXT NOT NULL,
    author      TEXT NOT NULL,
    at          TEXT NOT NULL,
    body        TEXT NOT NULL
);
CREATE INDEX comments_by_entity ON comments (entity_type, entity_id, at);

-- The audit log: every change, append-only, each entry chained to the one before by SHA-256.
CREATE TABLE audit_log (
    seq         BIGINT PRIMARY KEY,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    action      TEXT NOT NULL,
    before      TEXT NOT NULL,              -- JSON
    after       TEXT NOT NULL,              -- JSON
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);
CREATE INDEX audit_by_entity ON audit_log (entity_type, entity_id, seq);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

-- The chain's head: one row, updated first in every audit transaction, so appends serialize.
CREATE TABLE audit_head (
    id      BIGINT PRIMARY KEY CHECK (id = 1),
    seq     BIGINT NOT NULL,
    hash    TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
