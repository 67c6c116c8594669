//! The detectors: a closed set, one module each. A detector reads engine state at one moment
//! and returns an alert or nothing; it never changes state (the engine records that it fired).

pub mod ato_liquidation_thin_buy;
mod format;

use sha2::{Digest, Sha256};

/// A deterministic alert id: the same rule, subject, trigger and time always give the same id,
/// in replay and live.
pub fn alert_id(rule: &str, subject: &str, trigger_id: &str, ts_nanos: i64) -> String {
    let mut hasher = Sha256::new();
    for part in [
        rule.as_bytes(),
        subject.as_bytes(),
        trigger_id.as_bytes(),
        &ts_nanos.to_be_bytes(),
    ] {
        hasher.update((part.len() as u32).to_be_bytes());
        hasher.update(part);
    }
    hasher
        .finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn alert_ids_depend_on_every_part() {
        let base = super::alert_id("r", "A1", "O1", 5);
        assert_eq!(base.len(), 32);
        assert_eq!(base, super::alert_id("r", "A1", "O1", 5));
        assert_ne!(base, super::alert_id("r", "A1", "O2", 5));
        assert_ne!(base, super::alert_id("r", "A1", "O1", 6));
        assert_ne!(
            super::alert_id("r", "A1O", "1", 5),
            super::alert_id("r", "A1", "O1", 5)
        );
    }
}
