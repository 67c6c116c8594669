//! The one error type of the simulator and the evaluator.

use std::path::PathBuf;

/// Everything that can go wrong while generating a day or scoring alerts.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// `SimParams::date` is not a real calendar date written `YYYY-MM-DD`.
    #[error("invalid date {0:?}: expected a calendar date written YYYY-MM-DD")]
    BadDate(String),
    /// The parameters cannot produce the requested day (for example too few
    /// symbols to find distinct thin targets for every campaign).
    #[error("invalid parameters: {0}")]
    Params(String),
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A JSON document (labels) could not be read or written.
    #[error("{path}: {source}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    /// A file was readable but its content is not what the evaluator needs.
    #[error("{path}: {message}")]
    Format { path: PathBuf, message: String },
}

impl SimError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        SimError::Io {
            path: path.into(),
            source,
        }
    }
}
