//! Opening a line-oriented file as a decompressed byte stream that counts the (compressed)
//! bytes it has consumed, for progress.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::error::ReplayError;
use crate::naming::Compression;
use crate::source::Progress;

/// A shared count of bytes read from the file. Shared because the reader that increments it
/// sits inside a decompressor the source cannot reach into.
#[derive(Clone, Debug, Default)]
pub struct ByteCounter {
    read: Arc<AtomicU64>,
    total: u64,
}

impl ByteCounter {
    pub fn progress(&self) -> Progress {
        Progress {
            bytes_read: self.read.load(Ordering::Relaxed),
            bytes_total: self.total,
        }
    }
}

struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Opens `path`, decompressing as its extension says.
pub fn open_stream(
    path: &Path,
    compression: Compression,
) -> Result<(Box<dyn Read + Send>, ByteCounter), ReplayError> {
    let file = File::open(path).map_err(|e| ReplayError::io(path, e))?;
    let total = file.metadata().map_err(|e| ReplayError::io(path, e))?.len();
    let counter = ByteCounter {
        read: Arc::default(),
        total,
    };
    let counting = Counting {
        inner: file,
        read: counter.read.clone(),
    };
    let stream: Box<dyn Read + Send> = match compression {
        Compression::None => Box::new(counting),
        // Multi-member gzip (concatenated .gz files, as `cat a.gz b.gz` or pigz produce) is
        // valid gzip; the plain decoder would stop after the first member.
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(
            io::BufReader::with_capacity(256 << 10, counting),
        )),
        Compression::Zstd => Box::new(
            zstd::stream::read::Decoder::new(counting).map_err(|e| ReplayError::io(path, e))?,
        ),
    };
    Ok((stream, counter))
}

/// Reads until `buf` is full or the stream ends, retrying interrupted reads. Returns the bytes
/// read and the error that stopped it, if any: bytes read before an error are still good.
pub fn fill(reader: &mut dyn Read, buf: &mut [u8]) -> (usize, Option<io::Error>) {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (filled, Some(e)),
        }
    }
    (filled, None)
}

/// Reads what the stream has now (at least one byte unless it ended), retrying interrupted
/// reads: for a pipe, whose lines must be handed on as they come.
pub fn read_some(reader: &mut dyn Read, buf: &mut [u8]) -> (usize, Option<io::Error>) {
    loop {
        match reader.read(buf) {
            Ok(n) => return (n, None),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (0, Some(e)),
        }
    }
}
