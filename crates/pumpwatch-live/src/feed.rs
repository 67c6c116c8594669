//! The alert feed as its consumers read it: each message's value is an alert line of the
//! contract, its key the `alert_id`, and its `pumpwatch.firing` header the alert's place in
//! the firing order, so a reader can put the feed (spread over partitions by `alert_id`)
//! back into the order `replay` prints.
//!
//! The header is `ts_nanos:phase:rank:tie:seq`: the firing key without the engine's arrival
//! counter, which depends on how a run's inputs interleaved; ties on it are broken by
//! `alert_id`.

use std::collections::BTreeMap;
use std::time::Duration;

use pumpwatch_core::FiringKey;
use rdkafka::config::ClientConfig;

use crate::kafka::{self, ReadMessage};

/// The header carrying an alert's place in the firing order.
pub const FIRING_HEADER: &str = "pumpwatch.firing";

/// The header value for `key`.
pub fn firing_header(key: &FiringKey) -> String {
    format!(
        "{}:{}:{}:{}:{}",
        key.ts_nanos, key.phase, key.rank, key.tie, key.seq
    )
}

/// The sort key of a header value: `(ts_nanos, phase, rank, tie, seq)`.
pub fn parse_firing(text: &str) -> Option<(i64, u8, u8, u64, u32)> {
    let mut parts = text.split(':');
    let key = (
        parts.next()?.parse().ok()?,
        parts.next()?.parse().ok()?,
        parts.next()?.parse().ok()?,
        parts.next()?.parse().ok()?,
        parts.next()?.parse().ok()?,
    );
    parts.next().is_none().then_some(key)
}

/// One alert of the feed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedAlert {
    pub alert_id: String,
    pub line: String,
    firing: Option<(i64, u8, u8, u64, u32)>,
}

impl FeedAlert {
    fn from_message(message: ReadMessage) -> FeedAlert {
        let firing = message
            .headers
            .iter()
            .find(|(k, _)| k == FIRING_HEADER)
            .and_then(|(_, v)| std::str::from_utf8(v).ok())
            .and_then(parse_firing);
        FeedAlert {
            alert_id: String::from_utf8_lossy(message.key.as_deref().unwrap_or_default())
                .into_owned(),
            line: String::from_utf8_lossy(&message.value).into_owned(),
            firing,
        }
    }
}

/// Everything on the alert topic now. In firing order when `firing_order` (alerts without
/// the header last, by id), else partition by partition as stored.
pub fn read_alerts(
    base: &ClientConfig,
    topic: &str,
    firing_order: bool,
    timeout: Duration,
) -> anyhow::Result<Vec<FeedAlert>> {
    let messages = kafka::read_to_end(base, topic, &BTreeMap::new(), timeout)?;
    let mut alerts: Vec<FeedAlert> = messages.into_iter().map(FeedAlert::from_message).collect();
    if firing_order {
        alerts.sort_by(|a, b| {
            let key = |x: &FeedAlert| (x.firing.is_none(), x.firing);
            key(a)
                .cmp(&key(b))
                .then_with(|| a.alert_id.cmp(&b.alert_id))
        });
    }
    Ok(alerts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_firing_header_reads_back_and_sorts_like_the_key() {
        let key = |ts, seq, arrival| FiringKey {
            ts_nanos: ts,
            phase: 1,
            rank: 2,
            tie: u64::MAX,
            arrival,
            seq,
        };
        let a = key(-5, 0, 9);
        let b = key(7, 1, 0);
        let pa = parse_firing(&firing_header(&a)).unwrap();
        let pb = parse_firing(&firing_header(&b)).unwrap();
        assert_eq!(pa, (-5, 1, 2, u64::MAX, 0));
        assert!(pa < pb);
        assert_eq!(parse_firing("1:2:3"), None);
        assert_eq!(parse_firing("1:2:3:4:5:6"), None);
    }
}
