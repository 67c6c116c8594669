//! A vector stored in fixed-size chunks, so growing it never moves what it already holds.
//!
//! The engine keeps one state per account (a few hundred bytes each, hundreds of thousands of
//! them). In a plain `Vec`, every doubling copied all of them and faulted in a fresh, zeroed
//! region twice the size: about 5% of a full-day replay. Here growth allocates one more chunk.

/// Elements per chunk: 1,024 account states are a few hundred KiB, a size the allocator
/// serves from memory it already holds.
const CHUNK: usize = 1024;

/// A growable sequence indexed by `usize`, stored in chunks of [`CHUNK`] elements.
#[derive(Clone, Debug)]
pub struct ChunkedVec<T> {
    /// Full chunks, then the last one; each is allocated with room for `CHUNK`.
    chunks: Vec<Vec<T>>,
}

impl<T> Default for ChunkedVec<T> {
    fn default() -> Self {
        ChunkedVec { chunks: Vec::new() }
    }
}

impl<T> ChunkedVec<T> {
    pub fn len(&self) -> usize {
        self.chunks
            .last()
            .map_or(0, |last| (self.chunks.len() - 1) * CHUNK + last.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends `value`; returns its index.
    pub fn push(&mut self, value: T) -> usize {
        if self.chunks.last().is_none_or(|chunk| chunk.len() == CHUNK) {
            self.chunks.push(Vec::with_capacity(CHUNK));
        }
        let index = self.len();
        let chunk = self
            .chunks
            .last_mut()
            .expect("a chunk with room was just ensured");
        chunk.push(value);
        index
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.chunks.iter().flatten()
    }
}

impl<T> std::ops::Index<usize> for ChunkedVec<T> {
    type Output = T;
    fn index(&self, index: usize) -> &T {
        &self.chunks[index / CHUNK][index % CHUNK]
    }
}

impl<T> std::ops::IndexMut<usize> for ChunkedVec<T> {
    fn index_mut(&mut self, index: usize) -> &mut T {
        &mut self.chunks[index / CHUNK][index % CHUNK]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Pushes, reads and writes agree with a plain `Vec` across chunk boundaries.
        #[test]
        fn behaves_like_a_vec(values in prop::collection::vec(any::<u32>(), 0..3 * CHUNK + 5),
                              writes in prop::collection::vec((any::<prop::sample::Index>(), any::<u32>()), 0..50)) {
            let mut chunked = ChunkedVec::default();
            let mut plain = Vec::new();
            for v in &values {
                prop_assert_eq!(chunked.push(*v), plain.len());
                plain.push(*v);
            }
            for (at, v) in writes {
                if plain.is_empty() {
                    break;
                }
                let i = at.index(plain.len());
                chunked[i] = v;
                plain[i] = v;
            }
            prop_assert_eq!(chunked.len(), plain.len());
            prop_assert_eq!(chunked.iter().copied().collect::<Vec<_>>(), plain.clone());
            for (i, v) in plain.iter().enumerate() {
                prop_assert_eq!(chunked[i], *v);
            }
        }
    }
}
