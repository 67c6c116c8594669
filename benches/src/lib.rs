//! Shared helpers of the benchmarks (placeholder).
