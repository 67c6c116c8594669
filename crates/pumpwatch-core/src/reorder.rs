//! The reorder buffer: turns a stream that is in event-time order only up to a lateness bound
//! into one that is in a total, deterministic order, advanced by watermarks.
//!
//! # The processing order
//!
//! Events are released in order of `(ts, rank, tie, arrival)`:
//!
//! - `rank` places an event's type within an instant: reference and snapshot rows
//!   (`instrument`, `position`, `cash`) first, then `auth`, `order`, `execution`, and the
//!   tape (`trade`) last.
//! - Within one instant and rank, the types whose effects **commute across keys** — the
//!   snapshot (one account's holdings and cash, one symbol's reference data) and the tape (one
//!   symbol's prints) — keep their arrival order (`tie` is 0). Events of different keys change
//!   disjoint state, so any interleaving of keys gives the same state; the order within one key
//!   is the producer's, which every carriage keeps (a file, and a Kafka partition per key). So
//!   a snapshot of any size stamped with one instant, or a burst of prints in one millisecond,
//!   waits in a plain queue and is never sorted.
//! - `auth`, `order` and `execution` read and change state shared across accounts (a symbol's
//!   buyers, the alerts' order), so within an instant they are ordered by a content hash
//!   (`tie`, [`Event::tie_key`]), computed only when two such events share an instant.
//!
//! Two inputs holding the same events, with each key's events in the same order, release the
//! same sequence whatever the interleaving of keys and types (one merged file or per-type
//! files; Kafka partitions; a shuffle within the lateness bound).
//!
//! # When an event is released
//!
//! The watermark `W` is a promise that no event with `ts < W` follows: it moves with each
//! event to `ts - lateness` of its type (never back), or with [`ReorderBuffer::advance_to`].
//! An event is released once nothing can still arrive before it: its `ts < W`, or `ts == W`
//! and it has rank 0 (nothing ranks below it at its instant, and later arrivals of rank 0 go
//! after it). Snapshot rows (`position`, `cash`) have a lateness of their own, 0 by default: a
//! broker's overnight export stamps every row with one instant and nothing earlier follows
//! it, so the snapshot streams through as it is read instead of waiting for the next instant.
//!
//! In-order events cost a `VecDeque` push and pop; only events that arrive out of order go
//! through a heap. When the buffer holds more
//! than its capacity, the earliest event is released early and the watermark moves to its
//! time: counted as forced, and reported, because an event that then arrives behind it is
//! late although it was within the lateness bound.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use pumpwatch_model::{decode_json_line, Event, EventType, Timestamp};
use serde::{Deserialize, Serialize};

/// The place of a type's events within one instant (see the module doc).
pub const fn rank(event_type: EventType) -> u8 {
    match event_type {
        EventType::Instrument | EventType::Position | EventType::Cash => 0,
        EventType::Auth => 1,
        EventType::Order => 2,
        EventType::Execution => 3,
        EventType::Trade => 4,
    }
}

/// The order key of an event without its arrival: `(ts, rank, tie)`.
pub fn order_key(event: &Event) -> (i64, u8, u64) {
    let event_type = event.event_type();
    let tie = if ordered_by_content(event_type) {
        event.tie_key()
    } else {
        0
    };
    (event.ts.utc_nanos, rank(event_type), tie)
}

/// Whether events of this type that share an instant are ordered by content (else by arrival,
/// their effects commuting across keys).
fn ordered_by_content(event_type: EventType) -> bool {
    matches!(
        event_type,
        EventType::Auth | EventType::Order | EventType::Execution
    )
}

/// An event's tie before its content is read: 0 for a type not ordered by content, `None`
/// (computed when a comparison needs it) for the others.
fn tie_without_content(event_type: EventType) -> Option<u64> {
    (!ordered_by_content(event_type)).then_some(0)
}

/// How far an event may arrive behind the newest it follows, by type.
#[derive(Clone, Copy, Debug)]
pub struct Lateness {
    /// Every type but the snapshot's.
    pub events_ms: u64,
    /// `position` and `cash` rows.
    pub snapshot_ms: u64,
}

impl Lateness {
    fn nanos(self, event_type: EventType) -> i64 {
        let ms = match event_type {
            EventType::Position | EventType::Cash => self.snapshot_ms,
            _ => self.events_ms,
        };
        (ms as i64).saturating_mul(1_000_000)
    }
}

/// An event waiting for the watermark, with its order key `(ts, rank, tie, arrival)`.
///
/// The tie (a content hash, 0 for types ordered by arrival) only matters between events of
/// equal `ts` and rank, so it is computed on the first comparison that needs it; every event
/// in the straggler heap has it.
#[derive(Debug)]
struct Pending {
    utc_nanos: i64,
    rank: u8,
    tie: Option<u64>,
    arrival: u64,
    event: Event,
}

impl Pending {
    fn new(event: Event, arrival: u64) -> Self {
        let tie = tie_without_content(event.event_type());
        Self::with_tie(event, arrival, tie)
    }

    /// With its tie when known (`None`: computed on the first comparison that needs it).
    #[inline(always)]
    fn with_tie(event: Event, arrival: u64, tie: Option<u64>) -> Self {
        Pending {
            utc_nanos: event.ts.utc_nanos,
            rank: rank(event.event_type()),
            tie,
            arrival,
            event,
        }
    }

    fn tie(&mut self) -> u64 {
        match self.tie {
            Some(tie) => tie,
            None => *self.tie.insert(self.event.tie_key()),
        }
    }

    fn time_and_rank(&self) -> (i64, u8) {
        (self.utc_nanos, self.rank)
    }

    /// The full key; only for events whose tie is computed (the heap's).
    fn key(&self) -> (i64, u8, u64, u64) {
        let tie = self.tie.expect("the tie of a straggler is computed");
        (self.utc_nanos, self.rank, tie, self.arrival)
    }
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}

/// Whether an event at `time_and_rank` goes before `other`. `tie_and_arrival` gives the
/// event's tie and arrival; it is asked (and `other`'s tie computed) only when the two have
/// the same `ts` and rank. Arrival is unique, so two events are never equal.
fn precedes(
    time_and_rank: (i64, u8),
    tie_and_arrival: impl FnOnce() -> (u64, u64),
    other: &mut Pending,
) -> bool {
    match time_and_rank.cmp(&other.time_and_rank()) {
        std::cmp::Ordering::Less => true,
        std::cmp::Ordering::Greater => false,
        std::cmp::Ordering::Equal => tie_and_arrival() < (other.tie(), other.arrival),
    }
}

/// What the buffer releases: an event, with its arrival number.
#[derive(Clone, Copy, Debug)]
pub struct Released<'a> {
    pub event: &'a Event,
    pub arrival: u64,
}

/// What happened to an event offered to the buffer.
#[derive(Debug)]
pub enum Admission {
    Buffered,
    /// Its `ts` is behind the watermark by this many nanoseconds: too late to order.
    Late {
        event: Event,
        behind_nanos: i64,
    },
}

/// Orders events by event time within a lateness bound.
#[derive(Debug)]
pub struct ReorderBuffer {
    lateness: Lateness,
    capacity: usize,
    /// Events that arrived in key order, oldest first.
    in_order: VecDeque<Pending>,
    /// Events that arrived out of key order.
    stragglers: BinaryHeap<Reverse<Pending>>,
    /// Events with `ts` below this are released (and rank 0 at it); it never moves back.
    watermark_nanos: i64,
    arrivals: u64,
    /// The latest `ts` offered.
    max_ts_nanos: i64,
    /// The UTC offset of the latest event offered.
    last_offset_secs: i32,
    /// Events released early because the buffer was full.
    pub forced_releases: u64,
    /// The most events that waited at once.
    pub depth_max: usize,
}

impl ReorderBuffer {
    pub fn new(lateness: Lateness, capacity: usize) -> Self {
        ReorderBuffer {
            lateness,
            capacity: capacity.max(1),
            in_order: VecDeque::new(),
            stragglers: BinaryHeap::new(),
            watermark_nanos: i64::MIN,
            arrivals: 0,
            max_ts_nanos: i64::MIN,
            last_offset_secs: 0,
            forced_releases: 0,
            depth_max: 0,
        }
    }

    pub fn lateness(&self) -> Lateness {
        self.lateness
    }

    pub fn len(&self) -> usize {
        self.in_order.len() + self.stragglers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Offers an event. The watermark follows its `ts` minus its type's lateness.
    pub fn push(&mut self, event: Event) -> Admission {
        let stamp = event.ts;
        let ts = stamp.utc_nanos;
        if ts < self.watermark_nanos {
            return Admission::Late {
                event,
                behind_nanos: self.watermark_nanos - ts,
            };
        }
        let event_type = event.event_type();
        let lateness_nanos = self.lateness.nanos(event_type);
        let arrival = self.arrivals;
        self.arrivals += 1;
        // The event is compared before it is wrapped, so it is moved once, into its place
        // (a `Pending` built first and then pushed was copied twice: 4% of a replay of the
        // mixed day with no state).
        let mut tie = tie_without_content(event_type);
        let out_of_order = match self.in_order.back_mut() {
            Some(last) => precedes(
                (ts, rank(event_type)),
                || (*tie.get_or_insert_with(|| event.tie_key()), arrival),
                last,
            ),
            None => false,
        };
        if out_of_order {
            let tie = tie.unwrap_or_else(|| event.tie_key());
            self.stragglers
                .push(Reverse(Pending::with_tie(event, arrival, Some(tie))));
        } else {
            self.in_order
                .push_back(Pending::with_tie(event, arrival, tie));
        }
        self.admitted(stamp, lateness_nanos)
    }

    /// Counts an event this buffer does not keep (another engine's account) as if it were
    /// offered: it takes an arrival number and moves the watermark, so every engine of a
    /// split sees the same watermarks and arrivals. Returns whether it was late.
    pub fn observe(&mut self, ts: Timestamp, event_type: EventType) -> bool {
        let offset_secs = ts.offset_secs;
        let ts = ts.utc_nanos;
        if ts < self.watermark_nanos {
            return true;
        }
        self.arrivals += 1;
        self.max_ts_nanos = self.max_ts_nanos.max(ts);
        self.last_offset_secs = offset_secs;
        self.advance_to(ts.saturating_sub(self.lateness.nanos(event_type)));
        false
    }

    /// The UTC offset of the latest event offered (kept or observed), for times that belong to
    /// no event.
    pub fn last_offset_secs(&self) -> i32 {
        self.last_offset_secs
    }

    /// The latest `ts` offered (kept or observed), `i64::MIN` before the first.
    pub fn max_ts_nanos(&self) -> i64 {
        self.max_ts_nanos
    }

    /// The watermark in UTC nanos (`i64::MIN` before any).
    pub fn watermark_nanos(&self) -> i64 {
        self.watermark_nanos
    }

    /// Bookkeeping after an event at `ts` was buffered: the depth, and the watermark, which
    /// follows `ts` minus the event's lateness.
    fn admitted(&mut self, ts: Timestamp, lateness_nanos: i64) -> Admission {
        self.depth_max = self.depth_max.max(self.len());
        self.last_offset_secs = ts.offset_secs;
        let ts = ts.utc_nanos;
        self.max_ts_nanos = self.max_ts_nanos.max(ts);
        self.advance_to(ts.saturating_sub(lateness_nanos));
        Admission::Buffered
    }

    /// Moves the watermark forward (never back): a source's promise that nothing older follows.
    pub fn advance_to(&mut self, watermark_nanos: i64) {
        self.watermark_nanos = self.watermark_nanos.max(watermark_nanos);
    }

    /// Whether an event at `(ts, rank)` may be processed under the watermark.
    fn due(&self, (ts, rank): (i64, u8)) -> bool {
        ts < self.watermark_nanos || (ts == self.watermark_nanos && rank == 0)
    }

    /// Which queue holds the next event that may be processed: the smallest key, if it is due,
    /// or if the buffer is over capacity (then counted as forced).
    fn ready(&mut self, before_nanos: i64) -> Option<Queue> {
        if self.is_empty() {
            return None;
        }
        // The common case by time alone: one queue's head strictly earliest. An empty queue's
        // head is the largest; a tie takes the full comparison.
        let far = (i64::MAX, u8::MAX);
        let in_order = self.in_order.front().map_or(far, Pending::time_and_rank);
        let straggler = self.stragglers.peek().map_or(far, |p| p.0.time_and_rank());
        let earliest = in_order.min(straggler);
        if earliest.0 >= before_nanos {
            return None;
        }
        let over_capacity = self.len() > self.capacity;
        if !self.due(earliest) && !over_capacity {
            return None;
        }
        let queue = if in_order < straggler {
            Queue::InOrder
        } else if straggler < in_order {
            Queue::Stragglers
        } else {
            self.first_by_key()
        };
        if !self.due(earliest) {
            self.forced_releases += 1;
            // Events older than what was forced out can no longer be ordered: move the watermark.
            self.advance_to(earliest.0);
        }
        Some(queue)
    }

    /// The queue whose head has the smallest full key (both heads share the earliest time).
    fn first_by_key(&mut self) -> Queue {
        let take_straggler = match (self.in_order.front_mut(), self.stragglers.peek()) {
            // Read-only on the heap: a mutable peek would sift it on every pop.
            (Some(front), Some(straggler)) => {
                let straggler = &straggler.0;
                precedes(
                    straggler.time_and_rank(),
                    || (straggler.key().2, straggler.arrival),
                    front,
                )
            }
            (None, Some(_)) => true,
            (_, None) => false,
        };
        if take_straggler {
            Queue::Stragglers
        } else {
            Queue::InOrder
        }
    }

    /// Hands every event that may be processed to `process`, in order, by reference: an
    /// in-order event is read where it waited and dropped there, never copied out.
    pub fn release_ready(&mut self, process: impl FnMut(Released<'_>)) {
        self.release_ready_before(i64::MAX, process);
    }

    /// As [`ReorderBuffer::release_ready`], but only events with `ts` before `before_nanos`.
    pub fn release_ready_before(
        &mut self,
        before_nanos: i64,
        mut process: impl FnMut(Released<'_>),
    ) {
        while let Some(queue) = self.ready(before_nanos) {
            match queue {
                Queue::InOrder => {
                    if let Some(pending) = self.in_order.front() {
                        process(Released {
                            event: &pending.event,
                            arrival: pending.arrival,
                        });
                    }
                    self.in_order.pop_front();
                }
                Queue::Stragglers => {
                    if let Some(pending) = self.stragglers.pop() {
                        process(Released {
                            event: &pending.0.event,
                            arrival: pending.0.arrival,
                        });
                    }
                }
            }
        }
    }
}

/// The buffer as a snapshot holds it: every waiting event in release order (each as its
/// contract JSON line), the watermark and the counters. Where an event
/// waited (the in-order queue or the heap) is not kept: the release order is the key order
/// either way, so a restored buffer puts them all in the in-order queue.
#[derive(Serialize, Deserialize)]
pub struct ReorderImage {
    watermark_nanos: i64,
    arrivals: u64,
    max_ts_nanos: i64,
    last_offset_secs: i32,
    forced_releases: u64,
    depth_max: usize,
    /// `(arrival, event)`, in key order.
    events: Vec<(u64, String)>,
}

/// A waiting event of a snapshot that is not a valid event.
#[derive(Debug, thiserror::Error)]
#[error("a waiting event of the snapshot does not decode: {0}")]
pub struct BadPendingEvent(String);

impl ReorderBuffer {
    /// The buffer's state, with every waiting event in release order.
    pub fn image(&mut self) -> ReorderImage {
        let mut pending: Vec<(i64, u8, u64, u64, &Event)> = Vec::with_capacity(self.len());
        for p in self.in_order.iter_mut() {
            let tie = p.tie();
            pending.push((p.utc_nanos, p.rank, tie, p.arrival, &p.event));
        }
        for Reverse(p) in self.stragglers.iter() {
            let (ts, rank, tie, arrival) = p.key();
            pending.push((ts, rank, tie, arrival, &p.event));
        }
        pending.sort_unstable_by_key(|&(ts, rank, tie, arrival, _)| (ts, rank, tie, arrival));
        ReorderImage {
            watermark_nanos: self.watermark_nanos,
            arrivals: self.arrivals,
            max_ts_nanos: self.max_ts_nanos,
            last_offset_secs: self.last_offset_secs,
            forced_releases: self.forced_releases,
            depth_max: self.depth_max,
            events: pending
                .into_iter()
                .map(|(_, _, _, arrival, event)| (arrival, event.to_json_line()))
                .collect(),
        }
    }

    /// A buffer holding what `image` held, with the current config's lateness and capacity.
    pub fn from_image(
        image: ReorderImage,
        lateness: Lateness,
        capacity: usize,
    ) -> Result<Self, BadPendingEvent> {
        let mut buffer = ReorderBuffer::new(lateness, capacity);
        buffer.watermark_nanos = image.watermark_nanos;
        buffer.arrivals = image.arrivals;
        buffer.max_ts_nanos = image.max_ts_nanos;
        buffer.last_offset_secs = image.last_offset_secs;
        buffer.forced_releases = image.forced_releases;
        buffer.depth_max = image.depth_max;
        for (arrival, line) in image.events {
            let event = decode_json_line(line.as_bytes(), None)
                .map_err(|invalid| BadPendingEvent(invalid.reason.to_string()))?;
            buffer.in_order.push_back(Pending::new(event, arrival));
        }
        Ok(buffer)
    }
}

/// The queue an event is released from.
#[derive(Clone, Copy, Debug)]
enum Queue {
    InOrder,
    Stragglers,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use pumpwatch_model::{Cash, EventBody, Order, OrderAction, OrderType, Position, Side, Trade};

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_utc_nanos(secs * 1_000_000_000)
    }

    fn lateness(ms: u64) -> Lateness {
        Lateness {
            events_ms: ms,
            snapshot_ms: ms,
        }
    }

    fn trade_of(secs: i64, symbol: &str, qty: u64) -> Event {
        Event {
            ts: at(secs),
            body: EventBody::Trade(Trade {
                symbol: symbol.into(),
                qty,
                price: 100.into(),
                trade_id: None,
                aggressor: None,
            }),
        }
    }

    fn trade(secs: i64, id: u32) -> Event {
        trade_of(secs, "7992", u64::from(id) + 1)
    }

    fn cash(secs: i64, account: u32) -> Event {
        Event {
            ts: at(secs),
            body: EventBody::Cash(Cash {
                account_id: format!("A{account}").into(),
                amount: 1_000.into(),
                currency: "JPY".into(),
            }),
        }
    }

    fn position(secs: i64, account: u32, qty: i64) -> Event {
        Event {
            ts: at(secs),
            body: EventBody::Position(Position {
                account_id: format!("A{account}").into(),
                symbol: "7992".into(),
                qty,
            }),
        }
    }

    fn order(secs: i64, account: u32, id: u32) -> Event {
        Event {
            ts: at(secs),
            body: EventBody::Order(Box::new(Order {
                order_id: format!("O{id}").into(),
                account_id: format!("A{account}").into(),
                symbol: "7992".into(),
                side: Side::Buy,
                action: OrderAction::New,
                order_type: OrderType::Limit,
                qty: Some(100),
                price: Some(100.into()),
                margin: false,
                channel: None,
                session_id: None,
                ip: None,
            })),
        }
    }

    /// The key a producer keeps the order of: the account, or the symbol for the tape.
    fn key(event: &Event) -> String {
        event.partition_key().to_string()
    }

    fn released_event(released: Released<'_>) -> Event {
        released.event.clone()
    }

    /// Pushes every event, releasing what is due after each, then flushes. The released
    /// events and how many were late.
    fn drain(buffer: &mut ReorderBuffer, events: Vec<Event>) -> (Vec<Event>, usize) {
        let mut out = Vec::new();
        let mut late = 0;
        for event in events {
            if let Admission::Late { .. } = buffer.push(event) {
                late += 1;
            }
            buffer.release_ready(|r| out.push(released_event(r)));
        }
        buffer.advance_to(i64::MAX);
        buffer.release_ready(|r| out.push(released_event(r)));
        (out, late)
    }

    /// A sequence with the commuting groups put in one canonical order: the keys of each
    /// instant and rank sorted, each key's events in the order released.
    fn canonical(events: &[Event]) -> Vec<Event> {
        let mut sorted = events.to_vec();
        sorted.sort_by_cached_key(|e| (e.ts.utc_nanos, rank(e.event_type()), e.tie_key(), key(e)));
        sorted
    }

    #[test]
    fn holds_events_until_the_watermark_passes() {
        let mut buffer = ReorderBuffer::new(lateness(2_000), 100);
        let released = |buffer: &mut ReorderBuffer| {
            let mut out = Vec::new();
            buffer.release_ready(|r| out.push(released_event(r).ts.utc_nanos));
            out
        };
        assert!(matches!(buffer.push(trade(10, 1)), Admission::Buffered));
        assert!(
            released(&mut buffer).is_empty(),
            "10 s is not below the watermark 8 s"
        );
        buffer.push(trade(13, 2));
        assert_eq!(released(&mut buffer), [10_000_000_000]);
        assert!(released(&mut buffer).is_empty());
    }

    #[test]
    fn events_behind_the_watermark_are_late() {
        let mut buffer = ReorderBuffer::new(lateness(1_000), 100);
        buffer.push(trade(10, 1));
        match buffer.push(trade(8, 2)) {
            Admission::Late { behind_nanos, .. } => assert_eq!(behind_nanos, 1_000_000_000),
            Admission::Buffered => panic!("8 s is behind the 9 s watermark"),
        }
        assert!(matches!(buffer.push(trade(9, 3)), Admission::Buffered));
    }

    #[test]
    fn a_full_buffer_releases_early_and_counts_it() {
        let mut buffer = ReorderBuffer::new(lateness(3_600_000), 2);
        for i in 0..5 {
            buffer.push(trade(i, i as u32));
        }
        let mut released = 0;
        buffer.release_ready(|_| released += 1);
        assert_eq!(released, 3);
        assert_eq!(buffer.forced_releases, 3);
        assert_eq!(buffer.len(), 2);
    }

    /// A snapshot stamped with one instant streams through: each row is released as it is
    /// pushed, nothing is forced, and an earlier event after it is late.
    #[test]
    fn a_one_instant_snapshot_waits_for_nothing() {
        let lateness = Lateness {
            events_ms: 2_000,
            snapshot_ms: 0,
        };
        let mut buffer = ReorderBuffer::new(lateness, 10);
        let mut released = Vec::new();
        for account in 0..10_000 {
            buffer.push(position(100, account, 100));
            buffer.push(cash(100, account));
            buffer.release_ready(|r| released.push(released_event(r)));
        }
        assert_eq!(released.len(), 20_000);
        assert_eq!(
            buffer.depth_max, 2,
            "an account's position and cash, pushed together"
        );
        assert_eq!(buffer.forced_releases, 0);
        assert_eq!(released[0], position(100, 0, 100));
        assert_eq!(released[19_999], cash(100, 9_999));
        assert!(matches!(
            buffer.push(order(99, 1, 1)),
            Admission::Late { .. }
        ));
        assert!(matches!(buffer.push(order(100, 1, 1)), Admission::Buffered));
    }

    /// Prints sharing one instant wait in arrival order in the in-order queue: none is a
    /// straggler, and they come out as they went in, after the earlier ranks of the instant.
    #[test]
    fn a_burst_of_equal_prints_keeps_its_order() {
        let mut buffer = ReorderBuffer::new(lateness(2_000), 100_000);
        let mut burst: Vec<Event> = (0..5_000)
            .map(|i| trade_of(50, ["7992", "130A"][i % 2], 5_000 - i as u64))
            .collect();
        burst.push(order(50, 1, 1));
        for event in burst.iter().cloned() {
            buffer.push(event);
        }
        assert!(buffer.stragglers.len() <= 1, "only the order may straggle");
        let (out, late) = drain(&mut buffer, Vec::new());
        assert_eq!(late, 0);
        assert_eq!(out[0], order(50, 1, 1));
        assert_eq!(out[1..], burst[..5_000]);
    }

    proptest! {
        /// Any arrival order that keeps each key's events in order and every event within the
        /// lateness bound of the newest before it releases the same sequence, up to the order
        /// of keys within a commuting group; and that sequence is in `(ts, rank, tie)` order.
        #[test]
        fn key_preserving_shuffles_release_the_same_sequence(
            items in proptest::collection::vec((0i64..3, 0u8..5, 0u32..4), 1..200),
            jitter in proptest::collection::vec(0i64..5, 200),
        ) {
            let mut secs = 0;
            let mut events = Vec::new();
            for (i, (gap, kind, who)) in items.iter().enumerate() {
                secs += gap;
                let id = i as u32;
                events.push(match kind {
                    0 => cash(secs, *who),
                    1 => position(secs, *who, i64::from(id)),
                    2 => order(secs, *who, id),
                    3 => trade_of(secs, ["7992", "130A"][*who as usize % 2], u64::from(id) + 1),
                    _ => trade_of(secs, "3350", u64::from(id) + 1),
                });
            }
            let (expected, late) = drain(&mut ReorderBuffer::new(lateness(5_000), 10_000), events.clone());
            prop_assert_eq!(late, 0);
            // Each event arrives up to 4 s after its ts, but never before an earlier event of
            // its key.
            let mut key_arrival = std::collections::HashMap::new();
            let mut shuffled: Vec<(i64, usize, Event)> = Vec::new();
            for (i, event) in events.iter().enumerate() {
                let last = key_arrival.entry(key(event)).or_insert(i64::MIN);
                let arrival = (event.ts.utc_nanos / 1_000_000_000 + jitter[i % jitter.len()]).max(*last);
                *last = arrival;
                shuffled.push((arrival, i, event.clone()));
            }
            shuffled.sort_by_key(|(arrival, i, _)| (*arrival, *i));
            let (out, late) = drain(&mut ReorderBuffer::new(lateness(5_000), 10_000), shuffled.into_iter().map(|x| x.2).collect());
            prop_assert_eq!(late, 0);
            let order_key = |e: &Event| (e.ts.utc_nanos, rank(e.event_type()), e.tie_key());
            prop_assert!(out.windows(2).all(|w| order_key(&w[0]) <= order_key(&w[1])));
            prop_assert_eq!(canonical(&out), canonical(&expected));
        }

        /// A buffer that only observes some events (another engine's accounts) releases the
        /// rest at the same points, in the same order, as one that is offered everything and
        /// whose output is filtered: the watermark and arrivals of a split are shared. Released
        /// before a bound and then after it, the sequence is the same as released at once.
        #[test]
        fn observed_events_move_time_as_offered_ones_do(
            items in proptest::collection::vec((0i64..3, 0u8..3, 0u32..6, 0i64..4), 1..150),
            lateness_secs in 1i64..5,
            bound_secs in 0i64..200,
        ) {
            let mut secs = 0;
            let mut arrivals = Vec::new();
            for (i, (gap, kind, who, jitter)) in items.iter().enumerate() {
                secs += gap;
                let event = match kind {
                    0 => cash(secs, *who),
                    1 => order(secs, *who, i as u32),
                    _ => trade_of(secs, "7992", i as u64 + 1),
                };
                arrivals.push((secs + jitter, i, event));
            }
            arrivals.sort_by_key(|(at, i, _)| (*at, *i));
            let mine = |e: &Event| e.account_id().is_none_or(|a| a.ends_with(['0', '2', '4']));
            let lateness = lateness(lateness_secs as u64 * 1000);
            let mut whole = ReorderBuffer::new(lateness, 10_000);
            let mut part = ReorderBuffer::new(lateness, 10_000);
            for (_, _, event) in arrivals {
                let keep = mine(&event);
                let whole_late = matches!(whole.push(event.clone()), Admission::Late { .. });
                let part_late = if keep {
                    matches!(part.push(event.clone()), Admission::Late { .. })
                } else {
                    part.observe(event.ts, event.event_type())
                };
                prop_assert_eq!(whole_late, part_late);
                let mut from_whole = Vec::new();
                whole.release_ready(|r| if mine(r.event) { from_whole.push((r.event.clone(), r.arrival)) });
                let mut from_part = Vec::new();
                let bound = at(bound_secs).utc_nanos;
                part.release_ready_before(bound, |r| from_part.push((r.event.clone(), r.arrival)));
                prop_assert!(from_part.iter().all(|(e, _)| e.ts.utc_nanos < bound));
                part.release_ready(|r| from_part.push((r.event.clone(), r.arrival)));
                prop_assert_eq!(from_whole, from_part);
                prop_assert_eq!(whole.watermark_nanos(), part.watermark_nanos());
            }
        }
    }
}
