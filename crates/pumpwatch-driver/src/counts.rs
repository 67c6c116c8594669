//! What a run read, beyond the engines' own counters.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunCounts {
    /// Valid events read, by type (indexed by `EventType::index`).
    pub read_by_type: [u64; 7],
    /// Invalid records and late events by reason label (a bounded set: reason codes × contract
    /// field names).
    pub invalid_by_label: BTreeMap<String, u64>,
}

impl RunCounts {
    /// Counts a valid event read.
    pub fn count_event(&mut self, event_type: pumpwatch_model::EventType) {
        self.read_by_type[event_type.index()] += 1;
    }

    /// Counts a rejected record or late event by its reason label.
    pub fn count_invalid(&mut self, label: String) {
        *self.invalid_by_label.entry(label).or_default() += 1;
    }

    /// Adds another part of the run's counts to these.
    pub fn add(&mut self, other: RunCounts) {
        for (total, n) in self.read_by_type.iter_mut().zip(other.read_by_type) {
            *total += n;
        }
        for (label, n) in other.invalid_by_label {
            *self.invalid_by_label.entry(label).or_default() += n;
        }
    }

    pub fn read_total(&self) -> u64 {
        self.read_by_type.iter().sum()
    }

    pub fn invalid_total(&self) -> u64 {
        self.invalid_by_label.values().sum()
    }
}
