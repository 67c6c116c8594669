//! A buffered output file, compressed as its extension says (`.gz`, `.zst`), that must be
//! finished explicitly so a compression trailer or a flush failure is never lost silently.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::ReplayError;
use crate::naming::Compression;

const BUFFER_BYTES: usize = 1 << 20;

enum Inner {
    Plain(BufWriter<File>),
    Gzip(flate2::write::GzEncoder<BufWriter<File>>),
    Zstd(zstd::stream::write::Encoder<'static, BufWriter<File>>),
}

/// An output file being written.
pub struct OutputFile {
    path: PathBuf,
    inner: Inner,
}

impl OutputFile {
    pub fn create(path: &Path, compression: Compression) -> Result<Self, ReplayError> {
        let file = File::create(path).map_err(|e| ReplayError::io(path, e))?;
        let buffered = BufWriter::with_capacity(BUFFER_BYTES, file);
        let inner = match compression {
            Compression::None => Inner::Plain(buffered),
            Compression::Gzip => Inner::Gzip(flate2::write::GzEncoder::new(
                buffered,
                flate2::Compression::default(),
            )),
            Compression::Zstd => Inner::Zstd(
                zstd::stream::write::Encoder::new(buffered, 3)
                    .map_err(|e| ReplayError::io(path, e))?,
            ),
        };
        Ok(OutputFile {
            path: path.to_path_buf(),
            inner,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the compression trailer and flushes everything to the file.
    pub fn finish(self) -> Result<(), ReplayError> {
        let path = self.path;
        let buffered = match self.inner {
            Inner::Plain(b) => b,
            Inner::Gzip(e) => e.finish().map_err(|e| ReplayError::io(&path, e))?,
            Inner::Zstd(e) => e.finish().map_err(|e| ReplayError::io(&path, e))?,
        };
        buffered
            .into_inner()
            .map_err(|e| ReplayError::io(&path, e.into_error()))?;
        Ok(())
    }
}

impl Write for OutputFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.inner {
            Inner::Plain(w) => w.write(buf),
            Inner::Gzip(w) => w.write(buf),
            Inner::Zstd(w) => w.write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match &mut self.inner {
            Inner::Plain(w) => w.write_all(buf),
            Inner::Gzip(w) => w.write_all(buf),
            Inner::Zstd(w) => w.write_all(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.inner {
            Inner::Plain(w) => w.flush(),
            Inner::Gzip(w) => w.flush(),
            Inner::Zstd(w) => w.flush(),
        }
    }
}
