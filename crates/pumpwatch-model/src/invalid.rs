//! Why an input record is not a valid event: a small closed set of reasons, so invalid input
//! can be counted by reason with a bounded set of labels and quarantined with a readable message.

use std::fmt;

use crate::event::EventType;

/// The reason an input record was rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InvalidReason {
    /// The record is not well-formed in its carrier format (JSON syntax, CSV row, encoding).
    Malformed(String),
    /// `type` is missing.
    MissingType,
    /// `type` names no event type of the contract.
    UnknownType(String),
    /// A required field is missing.
    MissingField(&'static str),
    /// A field is present but has the wrong type or an impossible value.
    BadField {
        field: &'static str,
        why: &'static str,
    },
    /// The event arrived after the watermark had passed its `ts` by more than the allowed
    /// lateness; it is valid but can no longer be processed in event-time order.
    Late { behind_ms: i64 },
}

impl InvalidReason {
    /// A short stable code for counters: `missing_field`, `bad_field`, ...
    pub fn code(&self) -> &'static str {
        match self {
            InvalidReason::Malformed(_) => "malformed",
            InvalidReason::MissingType => "missing_type",
            InvalidReason::UnknownType(_) => "unknown_type",
            InvalidReason::MissingField(_) => "missing_field",
            InvalidReason::BadField { .. } => "bad_field",
            InvalidReason::Late { .. } => "late",
        }
    }

    /// The counter label: the code plus the field when there is one (`missing_field:qty`).
    /// Field names are the contract's, so the label set stays small and bounded.
    pub fn label(&self) -> String {
        match self {
            InvalidReason::MissingField(field) | InvalidReason::BadField { field, .. } => {
                format!("{}:{field}", self.code())
            }
            _ => self.code().to_string(),
        }
    }
}

impl fmt::Display for InvalidReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InvalidReason::Malformed(why) => write!(f, "malformed record: {why}"),
            InvalidReason::MissingType => f.write_str("missing field `type`"),
            InvalidReason::UnknownType(t) => write!(f, "unknown event type {t:?}"),
            InvalidReason::MissingField(field) => write!(f, "missing required field `{field}`"),
            InvalidReason::BadField { field, why } => write!(f, "field `{field}`: {why}"),
            InvalidReason::Late { behind_ms } => {
                write!(f, "late event: {behind_ms} ms behind the watermark")
            }
        }
    }
}

/// A rejected record: the reason and, when it could be read, the type it claimed to be.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct InvalidEvent {
    pub reason: InvalidReason,
    pub event_type: Option<EventType>,
}

impl InvalidEvent {
    pub fn new(reason: InvalidReason, event_type: Option<EventType>) -> Self {
        InvalidEvent { reason, event_type }
    }
}
