//! File sources (placeholder).
