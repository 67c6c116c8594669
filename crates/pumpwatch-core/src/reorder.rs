//! The reorder buffer: turns a stream that is in event-time order only up to a lateness bound
//! into one that is in a total, deterministic order, advanced by watermarks.
//!
//! Events are released in order of `(ts, type, content hash, arrival)`. Everything but arrival
//! is a function of the event itself, so two inputs holding the same events in different
//! orders (one merged file or per-type files; a shuffle within the lateness bound) release the
//! same sequence. The in-order common case costs a `VecDeque` push and pop; only events that
//! arrive out of order go through a heap. Prints of the tape ([`Print`]) wait in a queue of
//! their own, in the same order: an in-order print is never widened into an [`Event`].

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use pumpwatch_model::{Event, EventType, Print, Timestamp};

/// An event waiting for the watermark, with its order key `(ts, type rank, tie, arrival)`.
///
/// The tie (a content hash) only matters between events of equal `ts` and type, so it is
/// computed on the first comparison that needs it; every event in the straggler heap has it.
#[derive(Debug)]
struct Pending {
    utc_nanos: i64,
    type_rank: u8,
    tie: Option<u64>,
    arrival: u64,
    event: Event,
}

impl Pending {
    fn tie(&mut self) -> u64 {
        match self.tie {
            Some(tie) => tie,
            None => *self.tie.insert(self.event.tie_key()),
        }
    }

    fn time_and_type(&self) -> (i64, u8) {
        (self.utc_nanos, self.type_rank)
    }

    /// The full key; only for events whose tie is computed (the heap's).
    fn key(&self) -> (i64, u8, u64, u64) {
        let tie = self.tie.expect("the tie of a straggler is computed");
        (self.utc_nanos, self.type_rank, tie, self.arrival)
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

/// Whether an event at `time_and_type` goes before `other`. `tie_and_arrival` gives the
/// event's tie and arrival; it is asked (and `other`'s tie computed) only when the two have
/// the same `ts` and type. Arrival is unique, so two events are never equal.
fn precedes(
    time_and_type: (i64, u8),
    tie_and_arrival: impl FnOnce() -> (u64, u64),
    other: &mut Pending,
) -> bool {
    match time_and_type.cmp(&other.time_and_type()) {
        std::cmp::Ordering::Less => true,
        std::cmp::Ordering::Greater => false,
        std::cmp::Ordering::Equal => tie_and_arrival() < (other.tie(), other.arrival),
    }
}

/// A print waiting for the watermark; its order key is `(ts, trade rank, tie, arrival)`.
#[derive(Debug)]
struct PendingPrint {
    print: Print,
    arrival: u64,
}

impl PendingPrint {
    fn time_and_type(&self) -> (i64, u8) {
        (self.print.ts.utc_nanos, EventType::Trade as u8)
    }

    fn key(&self) -> (i64, u8, u64, u64) {
        let (ts, rank) = self.time_and_type();
        (ts, rank, self.print.tie, self.arrival)
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
    lateness_nanos: i64,
    capacity: usize,
    /// Events that arrived in key order, oldest first.
    in_order: VecDeque<Pending>,
    /// Prints that arrived in key order, oldest first.
    prints: VecDeque<PendingPrint>,
    /// Events (and prints, as events) that arrived out of key order.
    stragglers: BinaryHeap<Reverse<Pending>>,
    /// Events with `ts` below this are released; it never moves back.
    watermark_nanos: i64,
    max_seen_nanos: i64,
    arrivals: u64,
    /// Events released early because the buffer was full.
    pub forced_releases: u64,
    /// The most events that waited at once.
    pub depth_max: usize,
}

impl ReorderBuffer {
    pub fn new(lateness_ms: u64, capacity: usize) -> Self {
        ReorderBuffer {
            lateness_nanos: (lateness_ms as i64).saturating_mul(1_000_000),
            capacity: capacity.max(1),
            in_order: VecDeque::new(),
            prints: VecDeque::new(),
            stragglers: BinaryHeap::new(),
            watermark_nanos: i64::MIN,
            max_seen_nanos: i64::MIN,
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

    /// Offers an event. The watermark follows the newest `ts` seen, minus the lateness.
    pub fn push(&mut self, event: Event) -> Admission {
        let ts = event.ts.utc_nanos;
        if ts < self.watermark_nanos {
            return Admission::Late {
                event,
                behind_nanos: self.watermark_nanos - ts,
            };
        }
        let mut pending = Pending {
            utc_nanos: ts,
            type_rank: event.event_type() as u8,
            tie: None,
            arrival: self.arrivals,
            event,
        };
        self.arrivals += 1;
        let out_of_order = match self.in_order.back_mut() {
            Some(last) => precedes(
                pending.time_and_type(),
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
        self.admitted(ts)
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
            .is_none_or(|last| last.key() < pending.key());
        if in_order {
            self.prints.push_back(pending);
        } else {
            let (utc_nanos, type_rank, tie, arrival) = pending.key();
            self.stragglers.push(Reverse(Pending {
                utc_nanos,
                type_rank,
                tie: Some(tie),
                arrival,
                event: event(),
            }));
        }
        self.admitted(ts)
    }

    /// Bookkeeping after an event at `ts` was buffered: the depth, and the watermark, which
    /// follows the newest `ts` seen minus the lateness.
    fn admitted(&mut self, ts: i64) -> Admission {
        self.depth_max = self.depth_max.max(self.len());
        if ts > self.max_seen_nanos {
            self.max_seen_nanos = ts;
            self.advance_to(ts.saturating_sub(self.lateness_nanos));
        }
        Admission::Buffered
    }

    /// Moves the watermark forward (never back): a source's promise that nothing older follows.
    pub fn advance_to(&mut self, watermark_nanos: i64) {
        self.watermark_nanos = self.watermark_nanos.max(watermark_nanos);
    }

    /// Which queue holds the next event that may be processed: the smallest key, if its `ts` is
    /// below the watermark, or if the buffer is over capacity (then counted as forced).
    fn ready(&mut self) -> Option<Queue> {
        // The common cases by time alone: nothing below the watermark, or one queue's head
        // strictly earliest.
        if self.is_empty() {
            return None;
        }
        // An empty queue's head time is the largest; a tie with it takes the full comparison.
        let in_order_nanos = self.in_order.front().map_or(i64::MAX, |p| p.utc_nanos);
        let print_nanos = self
            .prints
            .front()
            .map_or(i64::MAX, |p| p.print.ts.utc_nanos);
        let straggler_nanos = self.stragglers.peek().map_or(i64::MAX, |p| p.0.utc_nanos);
        let earliest = in_order_nanos.min(print_nanos).min(straggler_nanos);
        if earliest >= self.watermark_nanos && self.len() <= self.capacity {
            return None;
        }
        let queue = if in_order_nanos < print_nanos && in_order_nanos < straggler_nanos {
            Queue::InOrder
        } else if print_nanos < in_order_nanos && print_nanos < straggler_nanos {
            Queue::Prints
        } else {
            self.first_by_key()
        };
        if earliest >= self.watermark_nanos {
            self.forced_releases += 1;
            // Events older than what was forced out can no longer be ordered: move the watermark.
            self.advance_to(earliest);
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
                    straggler.time_and_type(),
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
                        Some(front) => precedes(
                            print.time_and_type(),
                            || (print.print.tie, print.arrival),
                            front,
                        ),
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
    use pumpwatch_model::{EventBody, Trade};

    fn trade(secs: i64, id: u32) -> Event {
        Event {
            ts: Timestamp::from_utc_nanos(secs * 1_000_000_000),
            body: EventBody::Trade(Trade {
                symbol: "7992".into(),
                qty: 100,
                price: 100.into(),
                trade_id: Some(format!("T{id}").into()),
                aggressor: None,
            }),
        }
    }

    /// The released event; these tests push events only.
    fn released_event(released: Released<'_>) -> Event {
        match released {
            Released::Event(event) => event.clone(),
            Released::Print(print) => panic!("no print was pushed, yet {print:?} was released"),
        }
    }

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

    #[test]
    fn holds_events_until_the_watermark_passes() {
        let mut buffer = ReorderBuffer::new(2_000, 100);
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
        let mut buffer = ReorderBuffer::new(1_000, 100);
        buffer.push(trade(10, 1));
        match buffer.push(trade(8, 2)) {
            Admission::Late { behind_nanos, .. } => assert_eq!(behind_nanos, 1_000_000_000),
            Admission::Buffered => panic!("8 s is behind the 9 s watermark"),
        }
        assert!(matches!(buffer.push(trade(9, 3)), Admission::Buffered));
    }

    #[test]
    fn a_full_buffer_releases_early_and_counts_it() {
        let mut buffer = ReorderBuffer::new(3_600_000, 2);
        for i in 0..5 {
            buffer.push(trade(i, i as u32));
        }
        let mut released = 0;
        buffer.release_ready(|_| released += 1);
        assert_eq!(released, 3);
        assert_eq!(buffer.forced_releases, 3);
        assert_eq!(buffer.len(), 2);
    }

    proptest! {
        /// Any shuffle that keeps every event within the lateness bound of the newest event
        /// before it releases exactly the sorted sequence.
        #[test]
        fn bounded_shuffles_release_the_same_sequence(
            gaps in proptest::collection::vec(0i64..3, 1..200),
            jitter in proptest::collection::vec(0i64..5, 200),
        ) {
            let mut secs = 0;
            let mut events = Vec::new();
            for (i, gap) in gaps.iter().enumerate() {
                secs += gap;
                events.push((secs, trade(secs, i as u32)));
            }
            let sorted: Vec<Event> = {
                let (out, late) = drain(&mut ReorderBuffer::new(5_000, 10_000), events.iter().map(|e| e.1.clone()).collect());
                prop_assert_eq!(late, 0);
                out
            };
            // Sort by a jittered arrival time: each event arrives at most 4 s after its ts.
            let mut shuffled: Vec<(i64, usize, Event)> = events.iter().enumerate().map(|(i, (s, e))| (s + jitter[i % jitter.len()], i, e.clone())).collect();
            shuffled.sort_by_key(|(arrival, i, _)| (*arrival, *i));
            let (out, late) = drain(&mut ReorderBuffer::new(5_000, 10_000), shuffled.into_iter().map(|x| x.2).collect());
            prop_assert_eq!(late, 0);
            prop_assert_eq!(out, sorted);
        }

        /// Trades pushed as prints are released exactly where their events would be, however
        /// prints and events mix, even with equal times, duplicates and disorder.
        #[test]
        fn prints_release_where_their_events_would(
            items in proptest::collection::vec((0i64..3, 0u8..4, 0u32..6, any::<bool>(), 0i64..4), 1..150),
            lateness_secs in 1i64..5,
        ) {
            let symbols: Vec<pumpwatch_model::Id> = vec!["7992".into(), "3350".into()];
            let mut secs = 0;
            let mut arrivals = Vec::new();
            for (i, (gap, kind, id, as_print, jitter)) in items.iter().enumerate() {
                secs += gap;
                let event = match kind {
                    0 => cash(secs, *id),
                    k => symbol_trade(secs, &symbols[*k as usize % 2], *id),
                };
                arrivals.push((secs + jitter, i, event, *as_print));
            }
            arrivals.sort_by_key(|(at, i, ..)| (*at, *i));
            let lateness_ms = lateness_secs as u64 * 1000;

            let as_events: Vec<Event> = arrivals.iter().map(|a| a.2.clone()).collect();
            let (expected, expected_late) = drain(&mut ReorderBuffer::new(lateness_ms, 10_000), as_events);

            let mut buffer = ReorderBuffer::new(lateness_ms, 10_000);
            let mut tape = pumpwatch_model::TapeSymbols::default();
            let mut by_tie = std::collections::HashMap::new();
            let mut out = Vec::new();
            let mut late = 0;
            let release = |buffer: &mut ReorderBuffer, out: &mut Vec<Event>, by_tie: &std::collections::HashMap<(i64, u64), Event>| {
                buffer.release_ready(|r| out.push(match r {
                    Released::Event(e) => e.clone(),
                    Released::Print(p) => by_tie[&(p.ts.utc_nanos, p.tie)].clone(),
                }));
            };
            for (_, _, event, as_print) in arrivals {
                let admission = match (&event.body, as_print) {
                    (EventBody::Trade(t), true) => {
                        let (print, _) = Print::from_trade(event.ts, t, &mut tape);
                        by_tie.insert((print.ts.utc_nanos, print.tie), event.clone());
                        buffer.push_print(&print, || event.clone())
                    }
                    _ => buffer.push(event),
                };
                if let Admission::Late { .. } = admission {
                    late += 1;
                }
                release(&mut buffer, &mut out, &by_tie);
            }
            buffer.advance_to(i64::MAX);
            release(&mut buffer, &mut out, &by_tie);
            prop_assert_eq!(late, expected_late);
            prop_assert_eq!(out, expected);
        }
    }

    fn symbol_trade(secs: i64, symbol: &pumpwatch_model::Id, id: u32) -> Event {
        let mut event = trade(secs, id);
        if let EventBody::Trade(t) = &mut event.body {
            t.symbol = symbol.clone();
        }
        event
    }

    fn cash(secs: i64, id: u32) -> Event {
        Event {
            ts: Timestamp::from_utc_nanos(secs * 1_000_000_000),
            body: EventBody::Cash(pumpwatch_model::Cash {
                account_id: format!("A{id}").into(),
                amount: 1_000.into(),
                currency: "JPY".into(),
            }),
        }
    }
}
