//! The event-time merge of several sources: the earliest head goes first, a source with
//! nothing to send holds the others back only within the idle bound, and every record comes
//! out exactly once.

use std::collections::VecDeque;

use pumpwatch_driver::lanes::{Lanes, ReadState};
use pumpwatch_model::{Event, EventBody, Timestamp, Trade};
use pumpwatch_replay::{Progress, Record, ReplayError, Source, SourceInfo};

/// A source that hands out scripted batches; an empty batch means "nothing now".
struct Scripted {
    batches: VecDeque<Vec<Record>>,
    info: SourceInfo,
}

impl Source for Scripted {
    fn next_batch(&mut self, out: &mut Vec<Record>, _max: usize) -> Result<bool, ReplayError> {
        out.clear();
        match self.batches.pop_front() {
            Some(batch) => {
                out.extend(batch);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn progress(&self) -> Progress {
        Progress::default()
    }

    fn info(&self) -> &SourceInfo {
        &self.info
    }
}

fn trade(secs: i64, symbol: &str) -> Record {
    Record::Event(Event {
        ts: Timestamp::from_utc_nanos(1_742_184_000_000_000_000 + secs * 1_000_000_000),
        body: EventBody::Trade(Trade {
            symbol: symbol.into(),
            qty: 100,
            price: 100.into(),
            trade_id: None,
            aggressor: None,
        }),
    })
}

fn scripted(batches: Vec<Vec<Record>>) -> Box<dyn Source> {
    Box::new(Scripted {
        batches: batches.into(),
        info: SourceInfo::default(),
    })
}

fn secs(records: &[Record]) -> Vec<(i64, String)> {
    records
        .iter()
        .map(|r| match r {
            Record::Event(e) => match &e.body {
                EventBody::Trade(t) => (
                    (e.ts.utc_nanos - 1_742_184_000_000_000_000) / 1_000_000_000,
                    t.symbol.to_string(),
                ),
                _ => unreachable!(),
            },
            Record::Invalid(_) => (-1, String::new()),
        })
        .collect()
}

#[test]
fn the_earliest_head_goes_first() {
    let a = scripted(vec![
        vec![trade(1, "A"), trade(4, "A")],
        vec![trade(9, "A")],
    ]);
    let b = scripted(vec![vec![trade(2, "B"), trade(3, "B"), trade(10, "B")]]);
    let mut lanes = Lanes::new(vec![a, b], 2_000);
    let mut out = Vec::new();
    while lanes.read(&mut out, 2).unwrap() == ReadState::Open {}
    assert_eq!(
        secs(&out),
        [(1, "A"), (2, "B"), (3, "B"), (4, "A"), (9, "A"), (10, "B")]
            .map(|(s, n)| (s, n.to_string()))
    );
    assert_eq!(lanes.taken(), [3, 3]);
}

#[test]
fn a_source_with_nothing_now_holds_the_others_back_only_within_the_bound() {
    // B sends at 1 s, then has nothing; A runs on.
    let a = scripted(vec![vec![trade(1, "A"), trade(2, "A"), trade(5, "A")]]);
    let b = scripted(vec![
        vec![trade(1, "B")],
        vec![],
        vec![],
        vec![trade(6, "B")],
    ]);
    let mut lanes = Lanes::new(vec![a, b], 2_000);
    let mut out = Vec::new();
    assert_eq!(lanes.read(&mut out, 100).unwrap(), ReadState::Open);
    // A's 2 s is within 2 s of B's last (1 s): held back until B speaks or A passes 3 s.
    assert_eq!(secs(&out), [(1, "A".to_string()), (1, "B".to_string())]);
    // B is idle again; A's head (2 s) is still within the bound: nothing.
    let mut more = Vec::new();
    lanes.read(&mut more, 100).unwrap();
    assert!(more.is_empty(), "{:?}", secs(&more));
    // B sends 6 s: everything flows, in time order.
    while lanes.read(&mut more, 100).unwrap() == ReadState::Open {}
    assert_eq!(
        secs(&more),
        [(2, "A"), (5, "A"), (6, "B")].map(|(s, n)| (s, n.to_string()))
    );
}

/// A scripted source with the live signals a test sets: "has more now" and "idle".
struct LiveLike {
    inner: Scripted,
    more: std::sync::Arc<std::sync::atomic::AtomicBool>,
    idle: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Source for LiveLike {
    fn next_batch(&mut self, out: &mut Vec<Record>, max: usize) -> Result<bool, ReplayError> {
        self.inner.next_batch(out, max)?;
        Ok(true)
    }

    fn progress(&self) -> Progress {
        Progress::default()
    }

    fn info(&self) -> &SourceInfo {
        &self.inner.info
    }

    fn has_more_now(&self) -> bool {
        self.more.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn is_idle(&self) -> bool {
        self.idle.load(std::sync::atomic::Ordering::Relaxed)
    }
}

type Flag = std::sync::Arc<std::sync::atomic::AtomicBool>;

fn live_like(batches: Vec<Vec<Record>>) -> (Box<dyn Source>, Flag, Flag) {
    let more = Flag::default();
    let idle = Flag::default();
    let source = Box::new(LiveLike {
        inner: Scripted {
            batches: batches.into(),
            info: SourceInfo::default(),
        },
        more: more.clone(),
        idle: idle.clone(),
    });
    (source, more, idle)
}

fn set(flag: &Flag, value: bool) {
    flag.store(value, std::sync::atomic::Ordering::Relaxed);
}

#[test]
fn a_live_source_that_has_sent_nothing_holds_everything_back_until_it_sends_or_is_idle() {
    let a = scripted(vec![vec![trade(100, "A"), trade(200, "A")]]);
    // B's first fetch has not come back (empty batches), then it sends 50 s.
    let (b, _, _) = live_like(vec![vec![], vec![], vec![trade(50, "B")]]);
    let mut lanes = Lanes::new(vec![a, b], 2_000);
    let mut out = Vec::new();
    lanes.read(&mut out, 100).unwrap();
    lanes.read(&mut out, 100).unwrap();
    assert!(out.is_empty(), "{:?}", secs(&out));
    lanes.read(&mut out, 100).unwrap();
    assert_eq!(
        secs(&out)[0],
        (50, "B".to_string()),
        "B's earlier event goes first"
    );
    // An empty partition at its end is idle: it holds nothing back.
    let a = scripted(vec![vec![trade(100, "A")]]);
    let (c, _, idle_c) = live_like(vec![]);
    set(&idle_c, true);
    let mut lanes = Lanes::new(vec![a, c], 2_000);
    let mut out = Vec::new();
    lanes.read(&mut out, 100).unwrap();
    assert_eq!(secs(&out), [(100, "A".to_string())]);
}

#[test]
fn a_live_source_behind_its_end_holds_back_beyond_the_bound_and_one_at_its_end_only_later_heads() {
    let a = scripted(vec![vec![trade(1, "A"), trade(2, "A"), trade(10, "A")]]);
    let (b, more, _) = live_like(vec![vec![trade(2, "B")], vec![], vec![], vec![]]);
    let mut lanes = Lanes::new(vec![a, b], 2_000);
    let mut out = Vec::new();
    set(&more, true);
    lanes.read(&mut out, 100).unwrap();
    // B has more in the broker: A's 2 s (tied with B's last) goes, A's 10 s waits, far
    // beyond the bound.
    assert_eq!(
        secs(&out),
        [(1, "A"), (2, "A"), (2, "B")].map(|(s, n)| (s, n.to_string()))
    );
    lanes.read(&mut out, 100).unwrap();
    assert_eq!(out.len(), 3);
    // At its end, B holds back only heads within the bound past its watermark: 10 s is not.
    set(&more, false);
    lanes.read(&mut out, 100).unwrap();
    assert_eq!(secs(&out)[3], (10, "A".to_string()));
}
