//! A bounded, event-time sliding window: items in arrival order, dropped when they fall out of
//! the window or when the window is full (oldest first).

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

/// Items stamped with event time, at most `capacity` of them.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TimeWindow<T> {
    items: VecDeque<(i64, T)>,
    capacity: usize,
    /// Items pushed out because the window was full rather than because they aged out.
    pub overflowed: u64,
}

impl<T> TimeWindow<T> {
    /// A window that holds nothing and allocates nothing, for reading in place of a missing
    /// one.
    pub const fn empty() -> Self {
        TimeWindow {
            items: VecDeque::new(),
            capacity: 1,
            overflowed: 0,
        }
    }

    pub fn new(capacity: usize) -> Self {
        TimeWindow {
            items: VecDeque::new(),
            capacity: capacity.max(1),
            overflowed: 0,
        }
    }

    /// Appends an item; the engine feeds items in event-time order.
    pub fn push(&mut self, ts_nanos: i64, item: T) {
        if self.items.len() == self.capacity {
            self.items.pop_front();
            self.overflowed += 1;
        }
        if self.items.len() == self.items.capacity() {
            // Room grows from one item, doubling, never past the limit: most accounts hold a
            // few items, and a first allocation of four would be most of their memory.
            let room = self
                .items
                .len()
                .max(1)
                .min(self.capacity - self.items.len());
            self.items.reserve_exact(room);
        }
        self.items.push_back((ts_nanos, item));
    }

    /// Drops every item stamped before `cutoff_nanos`.
    pub fn evict_before(&mut self, cutoff_nanos: i64) {
        while self.items.front().is_some_and(|(ts, _)| *ts < cutoff_nanos) {
            self.items.pop_front();
        }
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &(i64, T)> + ExactSizeIterator {
        self.items.iter()
    }

    pub fn iter_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut (i64, T)> {
        self.items.iter_mut()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn room_grows_with_the_items_and_stops_at_the_limit() {
        let mut window = TimeWindow::new(6);
        window.push(0, 'a');
        assert_eq!(window.items.capacity(), 1);
        window.push(1, 'b');
        window.push(2, 'c');
        assert_eq!(window.items.capacity(), 4);
        for (ts, item) in (3..20).zip('d'..) {
            window.push(ts, item);
        }
        assert_eq!(window.len(), 6);
        assert!(
            window.items.capacity() < 8,
            "room past the limit: {}",
            window.items.capacity()
        );
    }

    proptest! {
        /// After any run of pushes (in time order) and evictions, the window holds exactly the
        /// newest items not older than the last cutoff, at most `capacity` of them.
        #[test]
        fn holds_exactly_the_recent_items(
            steps in proptest::collection::vec((0i64..10, any::<bool>()), 1..300),
            capacity in 1usize..20,
            span in 1i64..50,
        ) {
            let mut window = TimeWindow::new(capacity);
            let mut all = Vec::new();
            let mut now = 0;
            let mut cutoff = i64::MIN;
            for (i, (gap, evict)) in steps.into_iter().enumerate() {
                now += gap;
                window.push(now, i);
                all.push((now, i));
                if evict {
                    cutoff = now - span;
                    window.evict_before(cutoff);
                }
            }
            let expected: Vec<(i64, usize)> = all.iter().copied().filter(|(ts, _)| *ts >= cutoff).collect();
            let expected = &expected[expected.len().saturating_sub(capacity)..];
            let got: Vec<(i64, usize)> = window.iter().copied().collect();
            prop_assert_eq!(got.as_slice(), expected);
        }
    }
}
