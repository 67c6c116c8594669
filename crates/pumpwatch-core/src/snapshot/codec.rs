//! Compact, exact encodings of model types inside a snapshot, for `#[serde(with = ...)]`:
//! a timestamp as its UTC nanoseconds and offset, a decimal as its 16-byte form, a hash set
//! as its sorted elements (so equal sets give equal bytes whatever the set's order).

use pumpwatch_model::{Decimal, Timestamp};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// `Timestamp` as `(utc_nanos, offset_secs)`.
pub mod ts {
    use super::*;

    pub fn serialize<S: Serializer>(ts: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        (ts.utc_nanos, ts.offset_secs).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        let (utc_nanos, offset_secs) = <(i64, i32)>::deserialize(d)?;
        Ok(Timestamp {
            utc_nanos,
            offset_secs,
        })
    }
}

/// `Decimal` as the 16 bytes of `Decimal::serialize`, exact at any scale.
pub mod decimal {
    use super::*;

    pub fn serialize<S: Serializer>(value: &Decimal, s: S) -> Result<S::Ok, S::Error> {
        value.serialize().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        let bytes = <[u8; 16]>::deserialize(d)?;
        Ok(Decimal::deserialize(bytes))
    }
}

/// `Option<Decimal>`, each as [`decimal`].
pub mod opt_decimal {
    use super::*;

    pub fn serialize<S: Serializer>(value: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
        value.map(|v| v.serialize()).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
        let bytes = <Option<[u8; 16]>>::deserialize(d)?;
        Ok(bytes.map(Decimal::deserialize))
    }
}

/// A hash map as its entries sorted by key (equal maps give equal bytes whatever their
/// iteration order).
pub mod sorted_map {
    use super::*;
    use rustc_hash::FxHashMap;
    use std::hash::Hash;

    pub fn serialize<K, V, S>(map: &FxHashMap<K, V>, s: S) -> Result<S::Ok, S::Error>
    where
        K: Serialize + Ord,
        V: Serialize,
        S: Serializer,
    {
        let mut entries: Vec<(&K, &V)> = map.iter().collect();
        entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
        entries.serialize(s)
    }

    pub fn deserialize<'de, K, V, D>(d: D) -> Result<FxHashMap<K, V>, D::Error>
    where
        K: Deserialize<'de> + Eq + Hash,
        V: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        Ok(Vec::<(K, V)>::deserialize(d)?.into_iter().collect())
    }
}

/// A hash set of integers as its sorted elements.
pub mod sorted_set {
    use super::*;
    use rustc_hash::FxHashSet;
    use std::hash::Hash;

    pub fn serialize<T, S>(set: &FxHashSet<T>, s: S) -> Result<S::Ok, S::Error>
    where
        T: Serialize + Ord + Copy,
        S: Serializer,
    {
        let mut items: Vec<T> = set.iter().copied().collect();
        items.sort_unstable();
        items.serialize(s)
    }

    pub fn deserialize<'de, T, D>(d: D) -> Result<FxHashSet<T>, D::Error>
    where
        T: Deserialize<'de> + Eq + Hash,
        D: Deserializer<'de>,
    {
        Ok(Vec::<T>::deserialize(d)?.into_iter().collect())
    }
}
