//! Interning of account and symbol ids to dense integers, once at the edge of the engine, so
//! the state behind them lives in flat vectors indexed by integer.
//!
//! Ids of up to 15 bytes (every symbol code and nearly every account id) are looked up by a
//! packed `u128`: one multiply to hash and one compare to match, no string compare.

use compact_str::CompactString;
use rustc_hash::FxHashMap;

/// Maps ids to dense `u32` handles and back. Handles are assigned in first-seen order, so they
/// differ between runs that see ids in different orders: nothing that reaches an alert may
/// depend on a handle's value, only on the id behind it.
///
/// Ids are never removed, so short ids are found through an open-addressing table of handles
/// (at most half full) and the packed keys beside the ids, by handle: for the symbols of a
/// market, about 100 KB that stay in cache, where a general hash map's 32-byte buckets took
/// 264 KB (by its layout) and most of a print's lookup time was the load of the bucket's key.
#[derive(Debug, Default)]
pub struct Interner {
    /// Handles by slot (`EMPTY` where none), a power of two long.
    slots: Vec<u32>,
    /// The packed key of each handle (unused for a long id).
    keys: Vec<u128>,
    /// Ids too long to pack.
    long: FxHashMap<CompactString, u32>,
    ids: Vec<CompactString>,
}

const EMPTY: u32 = u32::MAX;

/// The first slot to probe for `key` in a table of `slots` (a power of two) slots: Fibonacci
/// hashing of the key's two halves, top bits.
#[inline]
fn home_slot(key: u128, slots: usize) -> usize {
    let folded = (key as u64) ^ ((key >> 64) as u64).rotate_left(29);
    let hash = folded.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (hash >> (64 - slots.trailing_zeros())) as usize
}

/// A hash map from ids to `u32`, keyed by the packed id when it is short enough.
#[derive(Debug, Default)]
pub struct IdMap {
    short: FxHashMap<u128, u32>,
    long: FxHashMap<CompactString, u32>,
}

impl IdMap {
    #[inline]
    pub fn get(&self, id: &str) -> Option<u32> {
        match packed_key(id) {
            Some(key) => self.short.get(&key).copied(),
            None => self.long.get(id).copied(),
        }
    }

    pub fn insert(&mut self, id: &CompactString, value: u32) {
        match packed_key(id) {
            Some(key) => self.short.insert(key, value),
            None => self.long.insert(id.clone(), value),
        };
    }

    pub fn remove(&mut self, id: &str) -> Option<u32> {
        match packed_key(id) {
            Some(key) => self.short.remove(&key),
            None => self.long.remove(id),
        }
    }

    pub fn len(&self) -> usize {
        self.short.len() + self.long.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An id of at most 15 bytes packed with its length into one integer (distinct ids give
/// distinct keys, as the length is part of the key); `None` for longer ids.
///
/// The key is the id's bytes in little-endian order with the length in the top byte. It is
/// assembled from word loads (two overlapping ones per half) rather than by copying the bytes
/// into a buffer and reading it back: that read waits for the byte stores to retire (a failed
/// store-to-load forward), which cost more than the hash lookup after it.
#[inline]
pub fn packed_key(id: &str) -> Option<u128> {
    let bytes = id.as_bytes();
    let len = bytes.len();
    let (lo, hi) = match len {
        0 => (0, 0),
        1..=3 => {
            let mut lo = 0u64;
            for (i, byte) in bytes.iter().enumerate() {
                lo |= u64::from(*byte) << (8 * i);
            }
            (lo, 0)
        }
        4..=7 => {
            let first = u64::from(u32::from_le_bytes(word(bytes, 0)));
            // The last four bytes, shifted down so only those past the first four remain.
            let last = u64::from(u32::from_le_bytes(word(bytes, len - 4))) >> (8 * (8 - len));
            (first | last << 32, 0)
        }
        8..=15 => {
            let first = u64::from_le_bytes(word(bytes, 0));
            let last = u64::from_le_bytes(word(bytes, len - 8))
                .checked_shr(8 * (16 - len as u32))
                .unwrap_or(0);
            (first, last)
        }
        _ => return None,
    };
    Some(u128::from(lo) | u128::from(hi | (len as u64) << 56) << 64)
}

/// `N` bytes of `bytes` from `at` (the caller keeps `at + N` within the slice).
#[inline(always)]
fn word<const N: usize>(bytes: &[u8], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&bytes[at..at + N]);
    out
}

impl Interner {
    #[inline]
    pub fn get(&self, id: &str) -> Option<u32> {
        match packed_key(id) {
            Some(key) => self.find(key),
            None => self.long.get(id).copied(),
        }
    }

    #[inline]
    fn find(&self, key: u128) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut slot = home_slot(key, self.slots.len());
        loop {
            let handle = self.slots[slot];
            if handle == EMPTY {
                return None;
            }
            if self.keys[handle as usize] == key {
                return Some(handle);
            }
            slot = (slot + 1) & mask;
        }
    }

    /// The handle of `id`, creating one if it is new.
    pub fn intern(&mut self, id: &CompactString) -> u32 {
        if let Some(handle) = self.get(id) {
            return handle;
        }
        let handle = self.ids.len() as u32;
        self.ids.push(id.clone());
        match packed_key(id) {
            Some(key) => {
                self.keys.push(key);
                if self.ids.len() * 2 > self.slots.len() {
                    self.grow();
                } else {
                    self.place(key, handle);
                }
            }
            None => {
                self.keys.push(0);
                self.long.insert(id.clone(), handle);
            }
        }
        handle
    }

    /// Puts `handle` in the first empty slot from `key`'s home.
    fn place(&mut self, key: u128, handle: u32) {
        let mask = self.slots.len() - 1;
        let mut slot = home_slot(key, self.slots.len());
        while self.slots[slot] != EMPTY {
            slot = (slot + 1) & mask;
        }
        self.slots[slot] = handle;
    }

    /// Doubles the table (at least 16 slots) and places every short id again.
    fn grow(&mut self) {
        let len = (self.slots.len() * 2).max(16).max(self.ids.len() * 2);
        self.slots = vec![EMPTY; len.next_power_of_two()];
        for handle in 0..self.ids.len() {
            if packed_key(&self.ids[handle]).is_some() {
                self.place(self.keys[handle], handle as u32);
            }
        }
    }

    pub fn resolve(&self, handle: u32) -> &str {
        self.ids
            .get(handle as usize)
            .map(|s| s.as_str())
            .unwrap_or("")
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_same_id_gets_the_same_handle() {
        let mut interner = Interner::default();
        let a = interner.intern(&"A1".into());
        let b = interner.intern(&"B2".into());
        assert_ne!(a, b);
        assert_eq!(interner.intern(&"A1".into()), a);
        assert_eq!(interner.resolve(b), "B2");
        assert_eq!(interner.get("B2"), Some(b));
        assert_eq!(interner.get("C3"), None);
        assert_eq!(interner.len(), 2);
    }

    #[test]
    fn short_and_long_ids_and_trailing_nuls_stay_distinct() {
        let mut interner = Interner::default();
        let ids = [
            "",
            "\0",
            "7992",
            "7992\0",
            "A0123456789012345",
            "A012345678901234",
        ];
        let handles: Vec<u32> = ids
            .iter()
            .map(|id| interner.intern(&(*id).into()))
            .collect();
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(interner.get(id), Some(handles[i]), "{id:?}");
            assert_eq!(interner.resolve(handles[i]), *id);
        }
        assert_eq!(interner.len(), ids.len());
    }

    /// The packing by a byte buffer, as the key is defined.
    fn packed_key_reference(id: &str) -> Option<u128> {
        let bytes = id.as_bytes();
        if bytes.len() > 15 {
            return None;
        }
        let mut buf = [0u8; 16];
        buf[..bytes.len()].copy_from_slice(bytes);
        buf[15] = bytes.len() as u8;
        Some(u128::from_le_bytes(buf))
    }

    #[test]
    fn packed_keys_of_every_length_match_the_byte_buffer_packing() {
        let text = "0123456789ABCDEFGH\u{e9}";
        for end in 0..=text.len() {
            if let Some(id) = text.get(..end) {
                assert_eq!(packed_key(id), packed_key_reference(id), "{id:?}");
            }
        }
        assert_eq!(packed_key("\0"), Some(1u128 << 120));
    }

    proptest! {
        #[test]
        fn packed_keys_match_the_byte_buffer_packing(id in "\\PC{0,17}|[\\x00-\\x7f]{0,17}") {
            prop_assert_eq!(packed_key(&id), packed_key_reference(&id));
        }

        /// Two ids share a handle exactly when they are equal.
        #[test]
        fn handles_are_equal_iff_ids_are(a in "[A-Z0-9\\x00]{0,20}", b in "[A-Z0-9\\x00]{0,20}") {
            let mut interner = Interner::default();
            let ha = interner.intern(&a.as_str().into());
            let hb = interner.intern(&b.as_str().into());
            prop_assert_eq!(ha == hb, a == b);
        }

        /// Through every growth of the table, each id keeps its first handle, the handles are
        /// dense in first-seen order, and an id never interned is not found.
        #[test]
        fn many_ids_keep_their_handles_as_the_table_grows(
            ids in proptest::collection::vec("[A-C0-9]{0,18}", 0..600),
            absent in "[D-F]{1,18}",
        ) {
            let mut interner = Interner::default();
            let mut model: std::collections::HashMap<String, u32> = Default::default();
            for id in &ids {
                let next = model.len() as u32;
                let expected = *model.entry(id.clone()).or_insert(next);
                prop_assert_eq!(interner.intern(&id.as_str().into()), expected);
            }
            for (id, handle) in &model {
                prop_assert_eq!(interner.get(id), Some(*handle));
                prop_assert_eq!(interner.resolve(*handle), id.as_str());
            }
            prop_assert_eq!(interner.len(), model.len());
            prop_assert_eq!(interner.get(&absent), None);
        }
    }
}
