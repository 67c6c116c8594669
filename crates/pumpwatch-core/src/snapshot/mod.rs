//! Engine snapshots: the whole state (reorder buffer, symbols, accounts, rule state,
//! counters) as bytes, and back.
//!
//! Layout: the magic `PWSNAP\0\n`, then [postcard] of a [`Header`] (format version, the
//! `config_version` and partition of the engine that wrote it, a SHA-256 of the body), then the body. A
//! snapshot restores only into an engine of the same format and config: anything else is a
//! [`SnapshotError`] that says which. Nothing in it depends on a hash map's iteration order
//! (sets and maps are written sorted, accounts and symbols in slot order), so the same state
//! always gives the same bytes.
//!
//! [postcard]: https://docs.rs/postcard

pub mod codec;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The snapshot format this build writes and reads.
pub const FORMAT_VERSION: u32 = 6;

const MAGIC: &[u8; 8] = b"PWSNAP\0\n";

/// What precedes the body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub format_version: u32,
    pub config_version: String,
    /// The engine's share of the accounts, `I/N`.
    pub partition: String,
    /// SHA-256 of the body.
    pub body_sha256: [u8; 32],
}

/// Why a snapshot cannot be restored.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("not a pumpwatch snapshot (no snapshot header)")]
    NotASnapshot,
    #[error("snapshot format {found} cannot be read by this build (it reads format {expected})")]
    Format { found: u32, expected: u32 },
    #[error(
        "the snapshot was written under config version {found}, this engine runs {expected}: \
         restore it with the config that wrote it"
    )]
    ConfigVersion { found: String, expected: String },
    #[error("the snapshot is of partition {found}, this engine is partition {expected}")]
    Partition { found: String, expected: String },
    #[error("the snapshot is damaged (its body does not match its checksum)")]
    Checksum,
    #[error("the snapshot is damaged: {0}")]
    Corrupt(String),
}

impl From<postcard::Error> for SnapshotError {
    fn from(e: postcard::Error) -> Self {
        SnapshotError::Corrupt(e.to_string())
    }
}

/// A snapshot: the magic, a header, then the body `write_body` appends, in a buffer made with
/// room for `capacity` bytes. The body is written in place after room for the header, which
/// is filled in once the body's checksum is known (the checksum is 32 plain bytes, so the
/// header's length does not change): the state is never held twice.
pub(crate) fn framed(
    config_version: &str,
    partition: &str,
    capacity: usize,
    write_body: impl FnOnce(&mut Vec<u8>),
) -> Vec<u8> {
    let mut header = Header {
        format_version: FORMAT_VERSION,
        config_version: config_version.to_string(),
        partition: partition.to_string(),
        body_sha256: [0; 32],
    };
    // A header of a u32, a short string and 32 bytes always serializes.
    let encode = |header: &Header| postcard::to_stdvec(header).unwrap_or_default();
    let placeholder = encode(&header);
    let header_at = MAGIC.len() + 4;
    let body_at = header_at + placeholder.len();
    let mut out = Vec::with_capacity(capacity);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(placeholder.len() as u32).to_le_bytes());
    out.extend_from_slice(&placeholder);
    write_body(&mut out);
    header.body_sha256 = Sha256::digest(&out[body_at..]).into();
    let filled = encode(&header);
    assert_eq!(
        filled.len(),
        placeholder.len(),
        "a checksum keeps the header's length"
    );
    out[header_at..body_at].copy_from_slice(&filled);
    out
}

/// Reads the header of a snapshot.
pub fn read_header(bytes: &[u8]) -> Result<Header, SnapshotError> {
    Ok(split(bytes)?.0)
}

/// The body of a snapshot, its header checked against this build, `config_version` and
/// `partition`, the body against its checksum.
pub(crate) fn unframe<'a>(
    bytes: &'a [u8],
    config_version: &str,
    partition: &str,
) -> Result<&'a [u8], SnapshotError> {
    let (header, body) = split(bytes)?;
    if header.format_version != FORMAT_VERSION {
        return Err(SnapshotError::Format {
            found: header.format_version,
            expected: FORMAT_VERSION,
        });
    }
    if header.config_version != config_version {
        return Err(SnapshotError::ConfigVersion {
            found: header.config_version,
            expected: config_version.to_string(),
        });
    }
    if header.partition != partition {
        return Err(SnapshotError::Partition {
            found: header.partition,
            expected: partition.to_string(),
        });
    }
    if <[u8; 32]>::from(Sha256::digest(body)) != header.body_sha256 {
        return Err(SnapshotError::Checksum);
    }
    Ok(body)
}

fn split(bytes: &[u8]) -> Result<(Header, &[u8]), SnapshotError> {
    let rest = bytes
        .strip_prefix(MAGIC.as_slice())
        .ok_or(SnapshotError::NotASnapshot)?;
    let (len, rest) = rest
        .split_at_checked(4)
        .ok_or(SnapshotError::NotASnapshot)?;
    let len = u32::from_le_bytes(len.try_into().map_err(|_| SnapshotError::NotASnapshot)?);
    let (header, body) = rest
        .split_at_checked(len as usize)
        .ok_or(SnapshotError::NotASnapshot)?;
    let header: Header = postcard::from_bytes(header).map_err(|_| SnapshotError::NotASnapshot)?;
    Ok((header, body))
}
