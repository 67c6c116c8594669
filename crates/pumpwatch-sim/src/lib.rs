//! Seeded synthetic market days with labelled takeover campaigns (placeholder).
