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
//! through a heap. Prints of the tape ([`Print`]) wait in a queue of their own, in the same
//! order: an in-order print is never widened into an [`Event`]. When the buffer holds more
//! than its capacity, the earliest event is released early and the watermark moves to its
//! time: counted as forced, and reported, because an event that then arrives behind it is
//! late although it was within the lateness bound.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use pumpwatch_model::{Event, EventType, Print, Timestamp};

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

/// Whether events of this type that share an instant are ordered by content (else by arrival,
/// their effects commuting across keys).
fn ordered_by_content(event_type: EventType) -> bool {
    matches!(
        event_type,
        EventType::Auth | EventType::Order | EventType::Execution
    )
}

/// The rank of a print: a trade's.
const TRADE_RANK: u8 = rank(EventType::Trade);

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
        let event_type = event.event_type();
        Pending {
            utc_nanos: event.ts.utc_nanos,
            rank: rank(event_type),
            tie: (!ordered_by_content(event_type)).then_some(0),
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

/// A print waiting for the watermark; its order key is `(ts, trade rank, 0, arrival)`.
#[derive(Debug)]
struct PendingPrint {
    print: Print,
    arrival: u64,
}

impl PendingPrint {
    fn time_and_rank(&self) -> (i64, u8) {
        (self.print.ts.utc_nanos, TRADE_RANK)
    }

    fn key(&self) -> (i64, u8, u64, u64) {
        (self.print.ts.utc_nanos, TRADE_RANK, 0, self.arrival)
    }
}

/// What the buffer releases: an event, or a print of the tape.
#[derive(Clone, Copy, Debug)]
pub enum Released<'a> {
    Event(&'a Event),
    Print(&'a Print),
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
    /// Prints that arrived in key order, oldest first.
    prints: VecDeque<PendingPrint>,
    /// Events (and prints, as events) that arrived out of key order.
    stragglers: BinaryHeap<Reverse<Pending>>,
    /// Events with `ts` below this are released (and rank 0 at it); it never moves back.
    watermark_nanos: i64,
    arrivals: u64,
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
            prints: VecDeque::new(),
            stragglers: BinaryHeap::new(),
            watermark_nanos: i64::MIN,
            arrivals: 0,
            forced_releases: 0,
            depth_max: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.in_order.len() + self.prints.len() + self.stragglers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The current watermark: events with an earlier `ts` are late.
    pub fn watermark(&self) -> Option<Timestamp> {
        (self.watermark_nanos != i64::MIN).then(|| Timestamp::from_utc_nanos(self.watermark_nanos))
    }

    /// Offers an event. The watermark follows its `ts` minus its type's lateness.
    pub fn push(&mut self, event: Event) -> Admission {
        let ts = event.ts.utc_nanos;
        if ts < self.watermark_nanos {
            return Admission::Late {
                event,
                behind_nanos: self.watermark_nanos - ts,
            };
        }
        let lateness_nanos = self.lateness.nanos(event.event_type());
        let mut pending = Pending::new(event, self.arrivals);
        self.arrivals += 1;
        let out_of_order = match self.in_order.back_mut() {
            Some(last) => precedes(
                pending.time_and_rank(),
                || (pending.tie(), pending.arrival),
                last,
            ),
            None => false,
        };
        if out_of_order {
            pending.tie();
            self.stragglers.push(Reverse(pending));
        } else {
            self.in_order.push_back(pending);
        }
        self.admitted(ts, lateness_nanos)
    }

    /// Offers a print: admitted, ordered and released exactly as its trade event would be.
    /// `event` builds that event, asked only when the print is late or out of order.
    pub fn push_print(&mut self, print: &Print, event: impl FnOnce() -> Event) -> Admission {
        let ts = print.ts.utc_nanos;
        if ts < self.watermark_nanos {
            return Admission::Late {
                event: event(),
                behind_nanos: self.watermark_nanos - ts,
            };
        }
        let pending = PendingPrint {
            print: *print,
            arrival: self.arrivals,
        };
        self.arrivals += 1;
        let in_order = self
            .prints
            .back()
            .is_none_or(|last| last.print.ts.utc_nanos <= ts);
        if in_order {
            self.prints.push_back(pending);
        } else {
            let (utc_nanos, rank, tie, arrival) = pending.key();
            self.stragglers.push(Reverse(Pending {
                utc_nanos,
                rank,
                tie: Some(tie),
                arrival,
                event: event(),
            }));
        }
        self.admitted(ts, self.lateness.nanos(EventType::Trade))
    }

    /// Bookkeeping after an event at `ts` was buffered: the depth, and the watermark, which
    /// follows `ts` minus the event's lateness.
    fn admitted(&mut self, ts: i64, lateness_nanos: i64) -> Admission {
        self.depth_max = self.depth_max.max(self.len());
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
    fn ready(&mut self) -> Option<Queue> {
        if self.is_empty() {
            return None;
        }
        // The common cases by time alone: one queue's head strictly earliest. An empty queue's
        // head is the largest; a tie takes the full comparison.
        let far = (i64::MAX, u8::MAX);
        let in_order = self.in_order.front().map_or(far, Pending::time_and_rank);
        let print = self.prints.front().map_or(far, PendingPrint::time_and_rank);
        let straggler = self.stragglers.peek().map_or(far, |p| p.0.time_and_rank());
        let earliest = in_order.min(print).min(straggler);
        let over_capacity = self.len() > self.capacity;
        if !self.due(earliest) && !over_capacity {
            return None;
        }
        let queue = if in_order < print && in_order < straggler {
            Queue::InOrder
        } else if print < in_order && print < straggler {
            Queue::Prints
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

    /// The queue whose head has the smallest full key (some heads share the earliest time).
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
        let events_first = if take_straggler {
            Queue::Stragglers
        } else {
            Queue::InOrder
        };
        match self.prints.front() {
            None => events_first,
            Some(print) => {
                let print_first = match events_first {
                    Queue::Stragglers => self
                        .stragglers
                        .peek()
                        .is_none_or(|straggler| print.key() < straggler.0.key()),
                    _ => match self.in_order.front_mut() {
                        Some(front) => {
                            precedes(print.time_and_rank(), || (0, print.arrival), front)
                        }
                        None => true,
                    },
                };
                if print_first {
                    Queue::Prints
                } else {
                    events_first
                }
            }
        }
    }

    /// Hands every event and print that may be processed to `process`, in order, by
    /// reference: an in-order event is read where it waited and dropped there, never copied out.
    pub fn release_ready(&mut self, mut process: impl FnMut(Released<'_>)) {
        while let Some(queue) = self.ready() {
            match queue {
                Queue::InOrder => {
                    if let Some(pending) = self.in_order.front() {
                        process(Released::Event(&pending.event));
                    }
                    self.in_order.pop_front();
                }
                Queue::Prints => {
                    if let Some(pending) = self.prints.pop_front() {
                        process(Released::Print(&pending.print));
                    }
                }
                Queue::Stragglers => {
                    if let Some(pending) = self.stragglers.pop() {
                        process(Released::Event(&pending.0.event));
                    }
                }
            }
        }
    }
}

/// The queue an event is released from.
#[derive(Clone, Copy, Debug)]
enum Queue {
    InOrder,
    Prints,
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

    /// The released event; these tests push events only.
    fn released_event(released: Released<'_>) -> Event {
        match released {
            Released::Event(event) => event.clone(),
            Released::Print(print) => panic!("no print was pushed, yet {print:?} was released"),
        }
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

        /// Trades pushed as prints are released exactly where their events would be, however
        /// prints and events mix, even with equal times, duplicates and disorder.
        #[test]
        fn prints_release_where_their_events_would(
            items in proptest::collection::vec((0i64..3, 0u8..4, 0u32..6, any::<bool>(), 0i64..4), 1..150),
            lateness_secs in 1i64..5,
        ) {
            let symbols = ["7992", "3350"];
            let mut secs = 0;
            let mut arrivals = Vec::new();
            for (i, (gap, kind, id, as_print, jitter)) in items.iter().enumerate() {
                secs += gap;
                let event = match kind {
                    0 => cash(secs, *id),
                    k => trade_of(secs, symbols[*k as usize % 2], i as u64 + 1),
                };
                arrivals.push((secs + jitter, i, event, *as_print));
            }
            arrivals.sort_by_key(|(at, i, ..)| (*at, *i));
            let lateness = lateness(lateness_secs as u64 * 1000);

            let as_events: Vec<Event> = arrivals.iter().map(|a| a.2.clone()).collect();
            let (expected, expected_late) = drain(&mut ReorderBuffer::new(lateness, 10_000), as_events);

            let mut buffer = ReorderBuffer::new(lateness, 10_000);
            let mut tape = pumpwatch_model::TapeSymbols::default();
            // A print's quantity is unique: it names the event it stands for.
            let mut by_qty = std::collections::HashMap::new();
            let mut out = Vec::new();
            let mut late = 0;
            let release = |buffer: &mut ReorderBuffer, out: &mut Vec<Event>, by_qty: &std::collections::HashMap<u64, Event>| {
                buffer.release_ready(|r| out.push(match r {
                    Released::Event(e) => e.clone(),
                    Released::Print(p) => by_qty[&p.qty].clone(),
                }));
            };
            for (_, _, event, as_print) in arrivals {
                let admission = match (&event.body, as_print) {
                    (EventBody::Trade(t), true) => {
                        let (print, _) = Print::from_trade(event.ts, t, &mut tape);
                        by_qty.insert(print.qty, event.clone());
                        buffer.push_print(&print, || event.clone())
                    }
                    _ => buffer.push(event),
                };
                if let Admission::Late { .. } = admission {
                    late += 1;
                }
                release(&mut buffer, &mut out, &by_qty);
            }
            buffer.advance_to(i64::MAX);
            release(&mut buffer, &mut out, &by_qty);
            prop_assert_eq!(late, expected_late);
            prop_assert_eq!(out, expected);
        }
    }
}
