//! Splitting accounts across engines: each engine owns the accounts whose stable hash falls in
//! its share and sees every event of the market (instruments and the tape).
//!
//! An account's share is `fnv1a64(account_id) mod count`: a fixed function of the id's bytes,
//! the same on every machine and in every version, so `--threads N`, `--partition I/N` and
//! `merge-alerts` agree. An engine applies the events of the accounts it owns in full; of the
//! other accounts' events it applies only what they do to shared symbol state (a buy order
//! adds a distinct buyer, a fill sets a last price), and it lets every event move its
//! watermark and arrival count, so all engines of a split release events under the same
//! watermarks and every alert carries the [`FiringKey`](crate::engine::FiringKey) one
//! engine would have given it.

use std::fmt;
use std::str::FromStr;

use pumpwatch_model::Alert;

use crate::engine::FiringKey;

/// One engine's share of the accounts: `index` of `count` (`0/1` owns every account).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Partition {
    index: u32,
    count: u32,
}

impl Default for Partition {
    fn default() -> Self {
        Partition::WHOLE
    }
}

/// A partition spec that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("partition `{0}`: expected I/N with 0 <= I < N, such as 0/4")]
pub struct BadPartition(pub String);

impl Partition {
    /// Every account: one engine alone.
    pub const WHOLE: Partition = Partition { index: 0, count: 1 };

    pub fn new(index: u32, count: u32) -> Result<Self, BadPartition> {
        if count == 0 || index >= count {
            return Err(BadPartition(format!("{index}/{count}")));
        }
        Ok(Partition { index, count })
    }

    pub fn index(self) -> u32 {
        self.index
    }

    pub fn count(self) -> u32 {
        self.count
    }

    /// Whether this share holds the account.
    #[inline]
    pub fn owns(self, account_id: &str) -> bool {
        self.count == 1 || share_of(account_id, self.count) == self.index
    }

    /// Whether this engine reports what belongs to no account (late market events, market
    /// counters): the first share does, so a merged run reports each once.
    pub fn reports_market(self) -> bool {
        self.index == 0
    }
}

/// The share of `account_id` among `count`.
pub fn share_of(account_id: &str, count: u32) -> u32 {
    (fnv1a64(account_id.as_bytes()) % u64::from(count.max(1))) as u32
}

/// FNV-1a, 64 bits: tiny, fixed and spread well enough over account ids.
fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// Merges the alerts of the engines of a split, each list in its engine's firing order, into
/// the order one engine gives them: by firing key, then alert id (only alerts of one watermark
/// tick share a key).
pub fn merge_in_firing_order(streams: Vec<Vec<(FiringKey, Alert)>>) -> Vec<(FiringKey, Alert)> {
    let mut all: Vec<(FiringKey, Alert)> = streams.into_iter().flatten().collect();
    all.sort_by(|a, b| (a.0, &a.1.alert_id).cmp(&(b.0, &b.1.alert_id)));
    all
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Partition {
    type Err = BadPartition;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || BadPartition(text.to_string());
        let (index, count) = text.split_once('/').ok_or_else(bad)?;
        let index = index.trim().parse().map_err(|_| bad())?;
        let count = count.trim().parse().map_err(|_| bad())?;
        Partition::new(index, count).map_err(|_| bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_fixed() {
        // Published values of FNV-1a 64: the split must never change under a user.
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn every_account_has_exactly_one_owner() {
        let shares: Vec<Partition> = (0..4).map(|i| Partition::new(i, 4).unwrap()).collect();
        let mut per_share = [0u32; 4];
        for n in 0..10_000 {
            let id = format!("A{n:07}");
            let owners: Vec<u32> = shares
                .iter()
                .filter(|p| p.owns(&id))
                .map(|p| p.index())
                .collect();
            assert_eq!(owners.len(), 1, "{id}");
            per_share[owners[0] as usize] += 1;
            assert!(Partition::WHOLE.owns(&id));
        }
        for count in per_share {
            assert!((2_200..2_800).contains(&count), "{per_share:?}");
        }
    }

    #[test]
    fn specs_parse_and_bad_ones_are_named() {
        assert_eq!(
            "1/4".parse::<Partition>().unwrap(),
            Partition::new(1, 4).unwrap()
        );
        assert_eq!(Partition::new(1, 4).unwrap().to_string(), "1/4");
        for bad in ["4/4", "1", "a/b", "0/0", "-1/2"] {
            let err = bad.parse::<Partition>().unwrap_err();
            assert!(err.to_string().contains(bad), "{err}");
        }
    }
}
