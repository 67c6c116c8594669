//! Interning of account and symbol ids to dense integers, once at the edge of the engine, so
//! the state behind them lives in flat vectors indexed by integer.

use compact_str::CompactString;
use rustc_hash::FxHashMap;

/// Maps ids to dense `u32` handles and back. Handles are assigned in first-seen order, so they
/// differ between runs that see ids in different orders: nothing that reaches an alert may
/// depend on a handle's value, only on the id behind it.
#[derive(Debug, Default)]
pub struct Interner {
    handles: FxHashMap<CompactString, u32>,
    ids: Vec<CompactString>,
}

impl Interner {
    pub fn get(&self, id: &str) -> Option<u32> {
        self.handles.get(id).copied()
    }

    /// The handle of `id`, creating one if it is new.
    pub fn intern(&mut self, id: &CompactString) -> u32 {
        if let Some(&handle) = self.handles.get(id.as_str()) {
            return handle;
        }
        let handle = self.ids.len() as u32;
        self.handles.insert(id.clone(), handle);
        self.ids.push(id.clone());
        handle
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
}
