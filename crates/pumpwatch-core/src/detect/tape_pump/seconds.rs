//! Every symbol's window as one queue of seconds in time order: a second joins at its back when
//! its symbol's first print of that second comes, and leaves at its front when the window has
//! passed it, so the window's memory is written and aged out in sequence, not in 4,000 rings.

use std::collections::VecDeque;

use pumpwatch_model::{Decimal, Id, Timestamp, Trade};
use serde::{Deserialize, Serialize};

use crate::snapshot::codec;

/// One print, as evidence.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct Print {
    #[serde(with = "codec::ts")]
    pub ts: Timestamp,
    pub trade_id: Option<Id>,
    pub qty: u64,
    #[serde(with = "codec::decimal")]
    pub price: Decimal,
}

impl Print {
    pub fn of(trade: &Trade, ts: Timestamp) -> Self {
        Print {
            ts,
            trade_id: trade.trade_id.clone(),
            qty: trade.qty,
            price: trade.price,
        }
    }
}

/// The prints of one symbol in one second.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct Second {
    /// UTC seconds.
    pub at: i64,
    /// The symbol's handle.
    pub symbol: u32,
    /// The symbol's second before this one (its place in the queue), if it had one.
    pub previous: Option<u64>,
    pub prints: u64,
    pub volume: u64,
    /// Volume whose aggressor the tape gave, and of it the buyer-initiated.
    pub sided_volume: u64,
    pub buy_volume: u64,
    pub first: Print,
    #[serde(with = "codec::decimal")]
    pub last_price: Decimal,
}

/// The queue. A second's place is a sequence number that never repeats, so a symbol can name
/// its seconds whether or not they are still in the queue.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct Seconds {
    queue: VecDeque<Second>,
    /// The place of the queue's front.
    front: u64,
}

impl Seconds {
    /// Adds a second at the back (its `at` no earlier than any in the queue) and gives its
    /// place.
    pub fn push(&mut self, second: Second) -> u64 {
        debug_assert!(self.queue.back().is_none_or(|last| last.at <= second.at));
        self.queue.push_back(second);
        self.front + self.queue.len() as u64 - 1
    }

    /// Where `place` is in the queue, if it has not left (the caller checks the length).
    fn index(&self, place: u64) -> Option<usize> {
        usize::try_from(place.checked_sub(self.front)?).ok()
    }

    /// The second at `place`, while it is in the queue.
    pub fn get(&self, place: u64) -> Option<&Second> {
        self.queue.get(self.index(place)?)
    }

    pub fn get_mut(&mut self, place: u64) -> Option<&mut Second> {
        let index = self.index(place)?;
        self.queue.get_mut(index)
    }

    /// Takes every second at or before `at` off the front, oldest first.
    pub fn age_out(&mut self, at: i64, mut gone: impl FnMut(u64, Second)) {
        while self.queue.front().is_some_and(|oldest| oldest.at <= at) {
            let second = self.queue.pop_front().expect("a front second");
            gone(self.front, second);
            self.front += 1;
        }
    }

    /// The oldest of a symbol's seconds still in the queue, from its newest.
    pub fn oldest_from(&self, newest: u64) -> Option<&Second> {
        let mut second = self.get(newest)?;
        while let Some(earlier) = second.previous.and_then(|place| self.get(place)) {
            second = earlier;
        }
        Some(second)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn second(at: i64, symbol: u32, previous: Option<u64>) -> Second {
        let price = Decimal::new(100, 0);
        Second {
            at,
            symbol,
            previous,
            prints: 1,
            volume: 10,
            sided_volume: 0,
            buy_volume: 0,
            first: Print {
                ts: Timestamp::from_utc_nanos(at * 1_000_000_000),
                trade_id: None,
                qty: 10,
                price,
            },
            last_price: price,
        }
    }

    #[test]
    fn places_outlive_the_front_and_a_symbols_oldest_second_is_found_through_its_earlier_ones() {
        let mut seconds = Seconds::default();
        let a0 = seconds.push(second(10, 0, None));
        let b0 = seconds.push(second(10, 1, None));
        let a1 = seconds.push(second(11, 0, Some(a0)));
        let a2 = seconds.push(second(13, 0, Some(a1)));
        assert_eq!((a0, b0, a1, a2), (0, 1, 2, 3));
        assert_eq!(seconds.oldest_from(a2).map(|s| s.at), Some(10));

        let mut gone = Vec::new();
        seconds.age_out(10, |place, s| gone.push((place, s.symbol)));
        assert_eq!(gone, vec![(0, 0), (1, 1)]);
        assert!(seconds.get(a0).is_none() && seconds.get(b0).is_none());
        assert_eq!(seconds.get(a1).map(|s| s.at), Some(11));
        // The link to a second that left the queue ends the walk there.
        assert_eq!(seconds.oldest_from(a2).map(|s| s.at), Some(11));
        assert!(seconds.get_mut(a2).is_some());
        assert_eq!(seconds.push(second(14, 1, Some(b0))), 4);
        assert_eq!(seconds.oldest_from(4).map(|s| s.at), Some(14));
    }
}
