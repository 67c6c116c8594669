//! Seed derivation and the few distributions the generator needs.
//!
//! Every part of the day draws from its own ChaCha8 stream derived from
//! `(seed, stream, index)`, so adding events to one part (say, more tape for
//! one symbol) never shifts the random numbers of another part. That keeps
//! days comparable across code changes and makes each piece reproducible alone.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Independent random streams; the discriminant is mixed into the seed.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Stream {
    Universe = 1,
    Paths = 2,
    Accounts = 3,
    Roles = 4,
    Ordinary = 5,
    Campaign = 6,
    Lookalike = 7,
    Rally = 8,
    Tape = 9,
    Net = 10,
    Write = 11,
}

/// SplitMix64 finaliser: a cheap, well-mixing bijection on u64.
pub(crate) fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A deterministic 64-bit hash of a seed, a stream and two indices.
pub(crate) fn hash(seed: u64, stream: Stream, a: u64, b: u64) -> u64 {
    let h = splitmix(seed ^ ((stream as u64) << 56));
    let h = splitmix(h ^ a);
    splitmix(h ^ b.rotate_left(32))
}

/// A fresh generator for one part of the day.
pub(crate) fn sub_rng(seed: u64, stream: Stream, index: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(hash(seed, stream, index, 0))
}

/// Standard normal by Box-Muller (rand 0.9 without rand_distr).
pub(crate) fn normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>(); // (0, 1], keeps ln finite
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Log-normal with the given median and log-space standard deviation.
pub(crate) fn lognormal<R: Rng + ?Sized>(rng: &mut R, median: f64, sigma: f64) -> f64 {
    median * (sigma * normal(rng)).exp()
}

/// Log-uniform on `[lo, hi)`: scale-free, like market caps and volumes.
pub(crate) fn log_uniform<R: Rng + ?Sized>(rng: &mut R, lo: f64, hi: f64) -> f64 {
    (lo.ln() + rng.random::<f64>() * (hi.ln() - lo.ln())).exp()
}

/// Uniform on `[lo, hi)` for floats; tolerates `lo == hi`.
pub(crate) fn uniform<R: Rng + ?Sized>(rng: &mut R, lo: f64, hi: f64) -> f64 {
    lo + rng.random::<f64>() * (hi - lo)
}

/// True with probability `p`.
pub(crate) fn chance<R: Rng + ?Sized>(rng: &mut R, p: f64) -> bool {
    rng.random::<f64>() < p
}

/// An index drawn with probability proportional to `weights`.
pub(crate) fn weighted<R: Rng + ?Sized>(rng: &mut R, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    let mut x = rng.random::<f64>() * total;
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    weights.len().saturating_sub(1)
}

/// Cumulative weights for repeated O(log n) draws from a fixed distribution.
#[derive(Debug, Clone)]
pub(crate) struct Cumulative {
    cum: Vec<f64>,
}

impl Cumulative {
    pub(crate) fn new(weights: impl IntoIterator<Item = f64>) -> Self {
        let mut acc = 0.0;
        let cum = weights
            .into_iter()
            .map(|w| {
                acc += w.max(0.0);
                acc
            })
            .collect();
        Cumulative { cum }
    }

    /// Draws an index (the last one if every weight is zero).
    pub(crate) fn draw<R: Rng + ?Sized>(&self, rng: &mut R) -> usize {
        let total = self.cum.last().copied().unwrap_or(0.0);
        let x = rng.random::<f64>() * total;
        self.cum
            .partition_point(|c| *c <= x)
            .min(self.cum.len().saturating_sub(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_independent_and_reproducible() {
        let mut a = sub_rng(7, Stream::Tape, 3);
        let mut b = sub_rng(7, Stream::Tape, 3);
        let mut c = sub_rng(7, Stream::Tape, 4);
        let x: u64 = a.random();
        assert_eq!(x, b.random::<u64>());
        assert_ne!(x, c.random::<u64>());
    }

    #[test]
    fn cumulative_respects_zero_weights() {
        let c = Cumulative::new([0.0, 1.0, 0.0]);
        let mut rng = sub_rng(1, Stream::Tape, 0);
        for _ in 0..100 {
            assert_eq!(c.draw(&mut rng), 1);
        }
    }
}
