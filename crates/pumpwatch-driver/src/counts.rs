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
    pub fn read_total(&self) -> u64 {
        self.read_by_type.iter().sum()
    }

    pub fn invalid_total(&self) -> u64 {
        self.invalid_by_label.values().sum()
    }
}
