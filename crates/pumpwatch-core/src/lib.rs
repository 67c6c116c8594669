//! The surveillance engine (placeholder).
