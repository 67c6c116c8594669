//! NDJSON files (plain, gzip or zstd): lines are split in a large reused buffer and decoded
//! in place, so a valid line costs no allocation beyond the event's own.

use std::io::Read;
use std::path::PathBuf;

use pumpwatch_model::{decode_json_line, EventType, InvalidEvent, InvalidReason};

use crate::error::ReplayError;
use crate::input::{fill, open_stream, read_some, ByteCounter};
use crate::naming::display_name;
use crate::source::{InputFile, Progress, Quarantined, Record, Source, SourceInfo, SourceOptions};

/// How much of an overlong line is kept as its `original` in the quarantine.
const OVERLONG_PREVIEW_BYTES: usize = 1024;

/// Reads one NDJSON file. Line numbers in locations count every physical line, blank or not.
pub struct NdjsonSource {
    info: SourceInfo,
    path: PathBuf,
    name: String,
    default_type: Option<EventType>,
    stream: Box<dyn Read + Send>,
    counter: ByteCounter,
    /// `buf[start..end]` holds bytes read but not yet split into lines.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// No more bytes will come (end of stream, or a read error kept in `error`).
    eof: bool,
    /// The read error to report once the lines read before it have been handed out.
    error: Option<std::io::Error>,
    at_stream_start: bool,
    /// Discarding the rest of a line longer than `line_bytes_max`.
    skipping: bool,
    line_no: u64,
    line_bytes_max: usize,
    /// Hand out lines as soon as any bytes arrive (a pipe), instead of filling the buffer.
    eager: bool,
}

impl NdjsonSource {
    pub fn open(file: &InputFile, options: &SourceOptions) -> Result<Self, ReplayError> {
        let (stream, counter) = open_stream(&file.path, file.compression)?;
        Ok(Self::from_stream(file, stream, counter, options))
    }

    /// Reads plain NDJSON from standard input (`replay -`), named `stdin` in locations.
    pub fn stdin(options: &SourceOptions) -> Self {
        let file = InputFile {
            path: PathBuf::from("stdin"),
            format: crate::naming::Format::Ndjson,
            compression: crate::naming::Compression::None,
            default_type: None,
        };
        let stream = Box::new(std::io::stdin());
        let mut source = Self::from_stream(&file, stream, ByteCounter::default(), options);
        source.eager = true;
        source
    }

    fn from_stream(
        file: &InputFile,
        stream: Box<dyn Read + Send>,
        counter: ByteCounter,
        options: &SourceOptions,
    ) -> Self {
        // Tiny buffers are allowed so tests can put line breaks at every buffer boundary.
        let buffer_bytes = options.read_buffer_bytes.clamp(16, 1 << 30);
        NdjsonSource {
            info: SourceInfo {
                files: vec![file.clone()],
                ignored: Vec::new(),
            },
            path: file.path.clone(),
            name: display_name(&file.path),
            default_type: file.default_type,
            stream,
            counter,
            buf: vec![0; buffer_bytes],
            start: 0,
            end: 0,
            eof: false,
            error: None,
            at_stream_start: true,
            skipping: false,
            line_no: 0,
            line_bytes_max: options.line_bytes_max.max(1024),
            eager: false,
        }
    }

    /// Makes room in the buffer and reads more bytes. A line that does not fit even in a
    /// buffer of `line_bytes_max` is quarantined here and its remaining bytes skipped.
    fn refill(&mut self, out: &mut Vec<Record>) {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            if self.buf.len() < self.line_bytes_max {
                let grown = (self.buf.len() * 2).min(self.line_bytes_max);
                self.buf.resize(grown, 0);
            } else {
                let preview = &self.buf[..OVERLONG_PREVIEW_BYTES.min(self.end)];
                let mut original = String::from_utf8_lossy(preview).into_owned();
                original.push('…');
                out.push(Record::Invalid(Quarantined {
                    reason: InvalidEvent::new(
                        InvalidReason::Malformed(format!(
                            "line longer than {} bytes",
                            self.line_bytes_max
                        )),
                        self.default_type,
                    ),
                    location: format!("{}:{}", self.name, self.line_no + 1),
                    original,
                }));
                self.start = 0;
                self.end = 0;
                self.skipping = true;
            }
        }
        let (n, error) = if self.eager {
            read_some(&mut *self.stream, &mut self.buf[self.end..])
        } else {
            fill(&mut *self.stream, &mut self.buf[self.end..])
        };
        self.end += n;
        if let Some(error) = error {
            self.error = Some(error);
            self.eof = true;
        } else if n == 0 {
            self.eof = true;
        }
        if self.at_stream_start && (self.end - self.start >= 3 || self.eof) {
            // A UTF-8 byte order mark is not part of the first line's JSON.
            if self.buf[self.start..self.end].starts_with(b"\xEF\xBB\xBF") {
                self.start += 3;
            }
            self.at_stream_start = false;
        }
    }
}

/// Decodes one line (without its `\n`) into a record; blank lines give none.
fn push_line(
    line: &[u8],
    line_no: u64,
    name: &str,
    default_type: Option<EventType>,
    out: &mut Vec<Record>,
) {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.iter().all(u8::is_ascii_whitespace) {
        return;
    }
    out.push(match decode_json_line(line, default_type) {
        Ok(event) => Record::Event(event),
        Err(reason) => Record::Invalid(Quarantined {
            reason,
            location: format!("{name}:{line_no}"),
            original: String::from_utf8_lossy(line).into_owned(),
        }),
    });
}

impl Source for NdjsonSource {
    fn next_batch(&mut self, out: &mut Vec<Record>, max: usize) -> Result<bool, ReplayError> {
        out.clear();
        let max = max.max(1);
        while out.len() < max {
            let window = &self.buf[self.start..self.end];
            if let Some(i) = memchr::memchr(b'\n', window) {
                let line = &window[..i];
                self.line_no += 1;
                if self.skipping {
                    self.skipping = false;
                } else {
                    push_line(line, self.line_no, &self.name, self.default_type, out);
                }
                self.start += i + 1;
                continue;
            }
            if self.skipping {
                // Still inside an overlong line: its bytes so far are not needed.
                self.start = self.end;
            }
            if !self.eof {
                // A pipe's complete lines go out now rather than wait for a full batch.
                if self.eager && !out.is_empty() {
                    return Ok(true);
                }
                self.refill(out);
                continue;
            }
            // The stream has ended: what is left is a last line without a line break.
            if self.start < self.end {
                self.line_no += 1;
                let last = &self.buf[self.start..self.end];
                push_line(last, self.line_no, &self.name, self.default_type, out);
                self.start = self.end;
            }
            self.skipping = false;
            return match self.error.take() {
                Some(error) if out.is_empty() => Err(ReplayError::Unreadable {
                    path: self.path.clone(),
                    error,
                    last_line: self.line_no,
                    bytes_read: self.counter.progress().bytes_read,
                }),
                Some(error) => {
                    self.error = Some(error);
                    Ok(true)
                }
                None => Ok(false),
            };
        }
        Ok(true)
    }

    fn progress(&self) -> Progress {
        self.counter.progress()
    }

    fn info(&self) -> &SourceInfo {
        &self.info
    }
}
