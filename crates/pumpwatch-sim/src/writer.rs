//! Writes the events as NDJSON — per-type files or one mixed file — with deliberate encoding variety and injected invalid lines.
//!
//! Lines are formatted by hand into byte buffers: at ten million events the
//! generic serializer would dominate the run time, and the format is small
//! and fixed. Everything that varies per line (a price written as a string,
//! an extra unknown field, an omitted default) is decided by hashing the
//! event's type and index, so both layouts encode the same event the same way.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::clock::Day;
use crate::error::SimError;
use crate::events::{Events, OrderAction, FILES, NONE, TYPES};
use crate::market::Market;
use crate::net::write_ip;
use crate::rng::{hash, Stream};

/// Appends an unsigned integer in decimal.
pub(crate) fn push_u64(buf: &mut Vec<u8>, mut v: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    buf.extend_from_slice(&tmp[i..]);
}

/// Appends a zero-padded decimal of at least `width` digits.
fn push_padded(buf: &mut Vec<u8>, v: u64, width: usize) {
    let start = buf.len();
    push_u64(buf, v);
    let len = buf.len() - start;
    if len < width {
        let pad = width - len;
        buf.splice(start..start, std::iter::repeat_n(b'0', pad));
    }
}

fn push_hex(buf: &mut Vec<u8>, v: u64, digits: usize) {
    for k in (0..digits).rev() {
        let d = ((v >> (4 * k)) & 0xF) as u8;
        buf.push(if d < 10 { b'0' + d } else { b'a' + d - 10 });
    }
}

/// Appends a price in centi as a decimal: `112`, `0.85`, `3.5`.
fn push_price(buf: &mut Vec<u8>, centi: u64) {
    push_u64(buf, centi / 100);
    let frac = centi % 100;
    if frac != 0 {
        buf.push(b'.');
        buf.push(b'0' + (frac / 10) as u8);
        let hundredths = (frac % 10) as u8;
        if hundredths > 0 {
            buf.push(b'0' + hundredths);
        }
    }
}

fn key(buf: &mut Vec<u8>, k: &str) {
    buf.extend_from_slice(b",\"");
    buf.extend_from_slice(k.as_bytes());
    buf.extend_from_slice(b"\":");
}

fn str_field(buf: &mut Vec<u8>, k: &str, v: &str) {
    key(buf, k);
    buf.push(b'"');
    buf.extend_from_slice(v.as_bytes());
    buf.push(b'"');
}

fn num_field(buf: &mut Vec<u8>, k: &str, v: u64) {
    key(buf, k);
    push_u64(buf, v);
}

/// A price or amount, as a JSON number or (for a few events) a JSON string.
fn price_field(buf: &mut Vec<u8>, k: &str, centi: u64, as_string: bool) {
    key(buf, k);
    if as_string {
        buf.push(b'"');
    }
    push_price(buf, centi);
    if as_string {
        buf.push(b'"');
    }
}

fn id_field(buf: &mut Vec<u8>, k: &str, prefix: u8, v: u64, width: usize) {
    key(buf, k);
    buf.push(b'"');
    buf.push(prefix);
    push_padded(buf, v, width);
    buf.push(b'"');
}

fn account_field(buf: &mut Vec<u8>, k: &str, acct: u32) {
    id_field(buf, k, b'A', u64::from(acct) + 1, 7);
}

/// Account id as printed in events and labels.
pub(crate) fn account_id(acct: u32) -> String {
    let mut b = Vec::with_capacity(8);
    b.push(b'A');
    push_padded(&mut b, u64::from(acct) + 1, 7);
    String::from_utf8_lossy(&b).into_owned()
}

/// Output ids are numbered in time order, which needs the sorted events.
#[derive(Debug)]
struct Ids {
    /// Generation order id → output order id.
    order: Vec<u32>,
    /// Generation link → output trade id.
    link: Vec<u32>,
}

impl Ids {
    fn new(ev: &Events) -> Ids {
        let mut order = vec![0u32; ev.orders.len() + 1];
        let mut next = 0;
        for o in &ev.orders {
            let slot = &mut order[o.id as usize];
            if *slot == 0 {
                next += 1;
                *slot = next;
            }
        }
        let links = ev.trades.iter().map(|t| t.link).max().unwrap_or(0);
        let mut link = vec![0u32; links as usize + 1];
        for (i, t) in ev.trades.iter().enumerate() {
            if t.link != 0 {
                link[t.link as usize] = i as u32 + 1;
            }
        }
        Ids { order, link }
    }
}

/// Formats one event of one type as a JSON line.
struct Fmt<'a> {
    day: &'a Day,
    m: &'a Market,
    ev: &'a Events,
    seed: u64,
    ids: Ids,
}

/// Per-event encoding choices, from a hash of (type, index).
struct Variety {
    price_as_string: bool,
    extra_field: bool,
    omit_default_action: bool,
    omit_default_type: bool,
}

impl Fmt<'_> {
    fn len(&self, ty: usize) -> usize {
        self.ev.counts()[ty] as usize
    }

    fn ts(&self, ty: usize, i: usize) -> i64 {
        let e = self.ev;
        match ty {
            0 => e.instruments[i].ts,
            1 => e.positions[i].ts,
            2 => e.cash[i].ts,
            3 => e.auth[i].ts,
            4 => e.orders[i].ts,
            5 => e.execs[i].ts,
            _ => e.trades[i].ts,
        }
    }

    fn variety(&self, ty: usize, i: usize) -> Variety {
        let h = hash(self.seed, Stream::Write, ty as u64, i as u64);
        Variety {
            price_as_string: h % 100 < 2,
            extra_field: (h >> 8) % 1000 < 2,
            omit_default_action: (h >> 20) % 10 < 3,
            omit_default_type: (h >> 28) % 10 < 3,
        }
    }

    fn line(&self, ty: usize, i: usize, b: &mut Vec<u8>) {
        b.clear();
        b.extend_from_slice(b"{\"type\":\"");
        b.extend_from_slice(TYPES[ty].as_bytes());
        b.extend_from_slice(b"\",\"ts\":\"");
        self.day.write_ts(b, self.ts(ty, i));
        b.push(b'"');
        let v = self.variety(ty, i);
        let ev = self.ev;
        match ty {
            0 => {
                let inst = self.m.inst(ev.instruments[i].sym);
                str_field(b, "symbol", &inst.code);
                str_field(b, "name", &inst.name);
                str_field(b, "market", inst.market);
                if let Some(c) = inst.currency {
                    str_field(b, "currency", c);
                }
                num_field(b, "lot_size", u64::from(inst.lot));
                price_field(
                    b,
                    "prev_close",
                    u64::from(inst.prev_close),
                    v.price_as_string,
                );
                if inst.show_shares {
                    num_field(b, "shares_outstanding", inst.shares_out);
                }
                if inst.show_adv {
                    num_field(b, "adv_shares", inst.adv);
                }
                str_field(b, "issuer_country", inst.issuer_country);
            }
            1 => {
                let p = &ev.positions[i];
                account_field(b, "account_id", p.acct);
                str_field(b, "symbol", &self.m.inst(p.sym).code);
                num_field(b, "qty", u64::from(p.qty));
            }
            2 => {
                let c = &ev.cash[i];
                account_field(b, "account_id", c.acct);
                price_field(b, "amount", c.amount * 100, v.price_as_string);
                str_field(b, "currency", "JPY");
            }
            3 => self.auth(i, b),
            4 => self.order(i, b, &v),
            5 => {
                let x = &ev.execs[i];
                id_field(b, "exec_id", b'E', i as u64 + 1, 9);
                id_field(
                    b,
                    "order_id",
                    b'O',
                    u64::from(self.ids.order[x.order as usize]),
                    8,
                );
                account_field(b, "account_id", x.acct);
                str_field(b, "symbol", &self.m.inst(x.sym).code);
                str_field(b, "side", x.side.as_str());
                num_field(b, "qty", u64::from(x.qty));
                price_field(b, "price", u64::from(x.price), v.price_as_string);
                id_field(
                    b,
                    "trade_id",
                    b'T',
                    u64::from(self.ids.link[x.link as usize]),
                    9,
                );
                if x.cp != NONE {
                    account_field(b, "counterparty_account_id", x.cp);
                }
            }
            _ => {
                let t = &ev.trades[i];
                str_field(b, "symbol", &self.m.inst(t.sym).code);
                num_field(b, "qty", u64::from(t.qty));
                price_field(b, "price", u64::from(t.price), v.price_as_string);
                id_field(b, "trade_id", b'T', i as u64 + 1, 9);
                str_field(b, "aggressor", t.aggressor.as_str());
            }
        }
        if v.extra_field {
            // Producers may add fields; the engine must ignore them.
            num_field(b, "src_seq", i as u64);
        }
        b.push(b'}');
    }

    fn auth(&self, i: usize, b: &mut Vec<u8>) {
        let a = &self.ev.auth[i];
        let ctx = &self.ev.ctxs[a.ctx as usize];
        account_field(b, "account_id", a.acct);
        str_field(b, "action", a.action.as_str());
        use crate::events::AuthAction as A;
        let login = matches!(a.action, A::LoginSuccess | A::LoginFailure);
        if a.action != A::Logout {
            key(b, "ip");
            b.push(b'"');
            write_ip(b, ctx.ip);
            b.push(b'"');
        }
        if ctx.device != 0 {
            key(b, "device_id");
            b.extend_from_slice(b"\"dv-");
            push_hex(b, ctx.device, 12);
            b.push(b'"');
        }
        if login {
            str_field(
                b,
                "country",
                std::str::from_utf8(&ctx.country).unwrap_or("JP"),
            );
            num_field(b, "asn", u64::from(ctx.asn));
        }
        if a.action == A::LoginSuccess {
            str_field(b, "mfa", ctx.mfa.as_str());
        }
        str_field(b, "channel", ctx.channel.as_str());
        if a.action != A::LoginFailure && ctx.session != 0 {
            key(b, "session_id");
            b.extend_from_slice(b"\"s");
            push_hex(b, ctx.session, 16);
            b.push(b'"');
        }
    }

    fn order(&self, i: usize, b: &mut Vec<u8>, v: &Variety) {
        let o = &self.ev.orders[i];
        id_field(
            b,
            "order_id",
            b'O',
            u64::from(self.ids.order[o.id as usize]),
            8,
        );
        account_field(b, "account_id", o.acct);
        str_field(b, "symbol", &self.m.inst(o.sym).code);
        str_field(b, "side", o.side.as_str());
        match o.action {
            OrderAction::New if v.omit_default_action => {}
            OrderAction::New => str_field(b, "action", "new"),
            OrderAction::Replace => str_field(b, "action", "replace"),
            OrderAction::Cancel => str_field(b, "action", "cancel"),
        }
        if o.action != OrderAction::Cancel {
            if o.price == 0 {
                str_field(b, "order_type", "market");
            } else if !v.omit_default_type {
                str_field(b, "order_type", "limit");
            }
            num_field(b, "qty", u64::from(o.qty));
            if o.price != 0 {
                price_field(b, "price", u64::from(o.price), v.price_as_string);
            }
        }
        if o.margin {
            key(b, "margin");
            b.extend_from_slice(b"true");
        }
        if o.ctx != NONE {
            let ctx = &self.ev.ctxs[o.ctx as usize];
            str_field(b, "channel", ctx.channel.as_str());
            if ctx.session != 0 {
                key(b, "session_id");
                b.extend_from_slice(b"\"s");
                push_hex(b, ctx.session, 16);
                b.push(b'"');
            }
            key(b, "ip");
            b.push(b'"');
            write_ip(b, ctx.ip);
            b.push(b'"');
        }
    }
}

/// One output file: buffering plus injection of malformed lines.
struct Sink {
    path: PathBuf,
    file: File,
    buf: Vec<u8>,
    line: Vec<u8>,
    seed: u64,
    file_no: u64,
    rate: u32,
    pos: u64,
    invalid: u64,
}

const REQUIRED_TO_DROP: [&str; 7] = [
    "prev_close",
    "qty",
    "amount",
    "action",
    "account_id",
    "exec_id",
    "price",
];

impl Sink {
    fn create(path: PathBuf, seed: u64, file_no: u64, rate: u32) -> Result<Sink, SimError> {
        let file = File::create(&path).map_err(|e| SimError::io(&path, e))?;
        Ok(Sink {
            path,
            file,
            buf: Vec::with_capacity(1 << 22),
            line: Vec::with_capacity(512),
            seed,
            file_no,
            rate,
            pos: 0,
            invalid: 0,
        })
    }

    fn emit(&mut self, fmt: &Fmt, ty: usize, i: usize) -> Result<(), SimError> {
        fmt.line(ty, i, &mut self.line);
        self.pos += 1;
        if self.rate > 0 {
            let h = hash(self.seed, Stream::Write, 1_000 + self.file_no, self.pos);
            if h % 1_000_000 < u64::from(self.rate) {
                corrupt(&self.line, ty, h >> 32, &mut self.buf);
                self.buf.push(b'\n');
                self.invalid += 1;
            }
        }
        self.buf.extend_from_slice(&self.line);
        self.buf.push(b'\n');
        if self.buf.len() >= 1 << 22 {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), SimError> {
        self.file
            .write_all(&self.buf)
            .map_err(|e| SimError::io(&self.path, e))?;
        self.buf.clear();
        Ok(())
    }

    fn finish(mut self) -> Result<(PathBuf, u64), SimError> {
        self.flush()?;
        Ok((self.path, self.invalid))
    }
}

/// Writes a malformed variant of a valid line: bad JSON, a missing
/// required field, an unknown type, a bad timestamp or a negative quantity.
fn corrupt(line: &[u8], ty: usize, h: u64, out: &mut Vec<u8>) {
    let find = |pat: &[u8]| line.windows(pat.len()).position(|w| w == pat);
    match h % 5 {
        0 => out.extend_from_slice(&line[..line.len() / 2]),
        2 => {
            // `{"type":"<name>"` is always the head of a line.
            let head = 10 + TYPES[ty].len();
            out.extend_from_slice(b"{\"type\":\"quote\"");
            out.extend_from_slice(&line[head..]);
        }
        3 => match find(b"\"ts\":\"") {
            Some(p) => {
                let start = p + 6;
                let end = start + line[start..].iter().position(|c| *c == b'"').unwrap_or(0);
                out.extend_from_slice(&line[..start]);
                out.extend_from_slice(&line[start..start + 11.min(end - start)]);
                out.extend_from_slice(b"25:61:00+09:00");
                out.extend_from_slice(&line[end..]);
            }
            None => out.extend_from_slice(&line[..line.len() / 2]),
        },
        4 if find(b"\"qty\":").is_some() => {
            let p = find(b"\"qty\":").unwrap_or(0) + 6;
            out.extend_from_slice(&line[..p]);
            out.push(b'-');
            out.extend_from_slice(&line[p..]);
        }
        _ => drop_field(line, REQUIRED_TO_DROP[ty], out),
    }
}

/// Copies `line` without the field `k` (a plain `,"k":value` member).
fn drop_field(line: &[u8], k: &str, out: &mut Vec<u8>) {
    let pat = format!(",\"{k}\":");
    let Some(p) = line.windows(pat.len()).position(|w| w == pat.as_bytes()) else {
        out.extend_from_slice(&line[..line.len() / 2]);
        return;
    };
    let mut q = p + pat.len();
    if line.get(q) == Some(&b'"') {
        q += 1;
        while q < line.len() && line[q] != b'"' {
            q += 1;
        }
        q += 1;
    }
    while q < line.len() && line[q] != b',' && line[q] != b'}' {
        q += 1;
    }
    out.extend_from_slice(&line[..p]);
    out.extend_from_slice(&line[q..]);
}

/// What the writer produced.
#[derive(Debug)]
pub(crate) struct Written {
    pub files: Vec<PathBuf>,
    pub invalid: u64,
}

/// Writes all events to `out_dir` in the chosen layout. Events must be sorted.
pub(crate) fn write(
    out_dir: &Path,
    mixed: bool,
    day: &Day,
    m: &Market,
    ev: &Events,
    seed: u64,
    invalid_per_million: u32,
) -> Result<Written, SimError> {
    let fmt = Fmt {
        day,
        m,
        ev,
        seed,
        ids: Ids::new(ev),
    };
    let rate = invalid_per_million.min(1_000_000);
    if mixed {
        let mut sink = Sink::create(out_dir.join("events.ndjson"), seed, 7, rate)?;
        let lens: Vec<usize> = (0..7).map(|t| fmt.len(t)).collect();
        let mut heads = [0usize; 7];
        loop {
            let mut best: Option<(i64, usize)> = None;
            for ty in 0..7 {
                if heads[ty] < lens[ty] {
                    let ts = fmt.ts(ty, heads[ty]);
                    // Strictly smaller wins, so equal times keep type order.
                    if best.is_none_or(|(b, _)| ts < b) {
                        best = Some((ts, ty));
                    }
                }
            }
            let Some((_, ty)) = best else { break };
            sink.emit(&fmt, ty, heads[ty])?;
            heads[ty] += 1;
        }
        let (path, invalid) = sink.finish()?;
        return Ok(Written {
            files: vec![path],
            invalid,
        });
    }
    // The tape is most of the bytes: one thread for it, one for the rest.
    let write_types = |types: &[usize]| -> Result<Vec<(PathBuf, u64)>, SimError> {
        types
            .iter()
            .map(|&ty| {
                let path = out_dir.join(format!("{}.ndjson", FILES[ty]));
                let mut sink = Sink::create(path, seed, ty as u64, rate)?;
                for i in 0..fmt.len(ty) {
                    sink.emit(&fmt, ty, i)?;
                }
                sink.finish()
            })
            .collect()
    };
    let (tape, rest) = std::thread::scope(|s| {
        let tape = s.spawn(|| write_types(&[6]));
        let rest = write_types(&[0, 1, 2, 3, 4, 5]);
        (tape.join(), rest)
    });
    let tape = tape.map_err(|_| SimError::Params("tape writer thread panicked".into()))??;
    let mut files = Vec::new();
    let mut invalid = 0;
    for (path, n) in rest?.into_iter().chain(tape) {
        files.push(path);
        invalid += n;
    }
    Ok(Written { files, invalid })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_prices() {
        let mut b = Vec::new();
        push_price(&mut b, 11_200);
        b.push(b' ');
        push_price(&mut b, 85);
        b.push(b' ');
        push_price(&mut b, 350);
        b.push(b' ');
        push_padded(&mut b, 42, 7);
        assert_eq!(String::from_utf8(b).unwrap(), "112 0.85 3.5 0000042");
        assert_eq!(account_id(0), "A0000001");
    }

    #[test]
    fn corruptions_are_invalid() {
        let line = br#"{"type":"trade","ts":"2025-03-17T09:00:00.000001+09:00","symbol":"7203","qty":100,"price":2500,"trade_id":"T000000001","aggressor":"buy"}"#;
        for k in 0..5u64 {
            let mut out = Vec::new();
            corrupt(line, 6, k, &mut out);
            let s = String::from_utf8(out).unwrap();
            assert_ne!(s.as_bytes(), &line[..], "kind {k}");
            match k {
                0 => assert!(serde_json::from_str::<serde_json::Value>(&s).is_err()),
                1 => assert!(!s.contains("\"price\"") && s.ends_with('}'), "{s}"),
                2 => assert!(s.starts_with("{\"type\":\"quote\"")),
                3 => assert!(s.contains("T25:61:00+09:00\""), "{s}"),
                _ => assert!(s.contains("\"qty\":-100")),
            }
            if k != 0 {
                assert!(serde_json::from_str::<serde_json::Value>(&s).is_ok(), "{s}");
            }
        }
    }
}
