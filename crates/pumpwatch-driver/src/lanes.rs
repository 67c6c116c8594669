//! Several sources merged into one stream by event time, as Kafka Streams merges partitions:
//! the record whose source is furthest behind in event time goes first.
//!
//! Each source (a lane) has a watermark: the latest `ts` it delivered. The merge takes the
//! head with the smallest `ts`; a lane with nothing buffered that is not exhausted holds the
//! merge back — its next record might be earlier. While its source knows it has more (a live
//! partition behind its end), it holds it back without bound; otherwise it holds back heads
//! later than its watermark (a head at or before it cannot be passed by what the lane sends
//! next, as each source sends in time order) until they are more than the idle bound (event
//! time) past its watermark, or until the source says it is idle (a live
//! partition at its end, silent for a wall-clock timeout); then it stops holding it back, and
//! what it sends later may be late. A lane that has sent no event yet holds the merge back
//! until it sends one, ends, or is idle: a live partition whose first fetch has not come back
//! must not let the others' later events go first. Invalid records have no trustworthy time
//! and go out as soon as they reach the head of their lane. A file source is never idle (it
//! blocks until it has read), so a replay never waits; a live source that has nothing now
//! returns an empty batch.

use std::collections::VecDeque;

use pumpwatch_replay::{Record, ReplayError, Source};

/// Records pulled from a source at a time when skipping.
const LANE_BATCH: usize = 4_096;

/// One source and what was read ahead from it.
struct Lane {
    source: Box<dyn Source>,
    buffered: VecDeque<Record>,
    /// The latest `ts` taken from this lane (UTC nanos), `i64::MIN` before the first.
    watermark: i64,
    exhausted: bool,
    /// Records taken from this lane into the stream.
    taken: u64,
}

impl Lane {
    fn head_ts(&self) -> Option<i64> {
        match self.buffered.front()? {
            Record::Event(event) => Some(event.ts.utc_nanos),
            Record::Invalid(_) => Some(i64::MIN),
        }
    }

    fn refill(&mut self, max: usize) -> Result<(), ReplayError> {
        let mut records = Vec::from(std::mem::take(&mut self.buffered));
        let more = self.source.next_batch(&mut records, max)?;
        self.exhausted = !more;
        self.buffered = VecDeque::from(records);
        Ok(())
    }
}

/// The sources of a run, merged by event time.
pub struct Lanes {
    lanes: Vec<Lane>,
    idle_bound_nanos: i64,
    /// Where each record of the last [`Lanes::read`] came from.
    origins: Vec<Origin>,
}

/// Where a record of the merged stream came from: its source (lane) and its place among that
/// source's records (0-based), so a live source can name its topic, partition and offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Origin {
    pub source: u32,
    pub index: u64,
}

/// Why a call to [`Lanes::read`] returned what it did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadState {
    /// More may follow.
    Open,
    /// Every source is exhausted: what was returned is the last.
    Exhausted,
}

impl Lanes {
    /// `idle_bound_ms`: how far (event time) the other sources may run ahead of one that has
    /// nothing to send before it stops holding them back.
    pub fn new(sources: Vec<Box<dyn Source>>, idle_bound_ms: u64) -> Self {
        Lanes {
            lanes: sources
                .into_iter()
                .map(|source| Lane {
                    source,
                    buffered: VecDeque::new(),
                    watermark: i64::MIN,
                    exhausted: false,
                    taken: 0,
                })
                .collect(),
            idle_bound_nanos: (idle_bound_ms as i64).saturating_mul(1_000_000),
            origins: Vec::new(),
        }
    }

    pub fn sources(&self) -> impl Iterator<Item = &dyn Source> {
        self.lanes.iter().map(|lane| lane.source.as_ref())
    }

    /// Records taken from each source so far.
    pub fn taken(&self) -> Vec<u64> {
        self.lanes.iter().map(|lane| lane.taken).collect()
    }

    /// The minimum watermark over the sources that hold the merge back (not exhausted, not
    /// idle past the bound): nothing earlier is still to come from them, as far as they
    /// promise (`i64::MIN` before each has sent something).
    pub fn watermark(&self) -> i64 {
        self.lanes
            .iter()
            .filter(|lane| !lane.exhausted || !lane.buffered.is_empty())
            .map(|lane| lane.watermark)
            .min()
            .unwrap_or(i64::MAX)
    }

    /// Reads and drops the first `counts[i]` records of each source: how a resumed run
    /// skips what it had processed before its checkpoint.
    pub fn skip(&mut self, counts: &[u64]) -> Result<(), ReplayError> {
        for (lane, &count) in self.lanes.iter_mut().zip(counts) {
            while lane.taken < count {
                if lane.buffered.is_empty() {
                    if lane.exhausted {
                        break;
                    }
                    lane.refill(LANE_BATCH)?;
                    continue;
                }
                if let Some(Record::Event(event)) = lane.buffered.pop_front() {
                    lane.watermark = lane.watermark.max(event.ts.utc_nanos);
                }
                lane.taken += 1;
            }
        }
        Ok(())
    }

    /// Where each record the last [`Lanes::read`] appended came from, in its order.
    pub fn origins(&self) -> &[Origin] {
        &self.origins
    }

    /// Appends up to `max` records to `out`, in merged order. Each source is read at most
    /// once per call (a pipe or a live feed may wait for input on every read), so a call
    /// returns what could be merged from one read of each.
    pub fn read(&mut self, out: &mut Vec<Record>, max: usize) -> Result<ReadState, ReplayError> {
        let max = max.max(1);
        self.origins.clear();
        for lane in &mut self.lanes {
            if lane.buffered.is_empty() && !lane.exhausted {
                lane.refill(max)?;
            }
        }
        if let [lane] = self.lanes.as_mut_slice() {
            // One source: its records go in its own order, with no merge to decide.
            Self::take_from_only_lane(lane, out, max, &mut self.origins);
        } else {
            self.take_merged(out, max);
        }
        let exhausted = self
            .lanes
            .iter()
            .all(|lane| lane.exhausted && lane.buffered.is_empty());
        Ok(if exhausted {
            ReadState::Exhausted
        } else {
            ReadState::Open
        })
    }

    /// Up to `max` records of the only lane, moved whole when the caller's buffer is empty
    /// and the lane's are all taken (the usual case: a batch read is a batch taken); the
    /// lane then reads its next batch into the caller's empty buffer.
    fn take_from_only_lane(
        lane: &mut Lane,
        out: &mut Vec<Record>,
        max: usize,
        origins: &mut Vec<Origin>,
    ) {
        let start = out.len();
        let n = lane.buffered.len().min(max);
        if start == 0 && n == lane.buffered.len() {
            let spare = VecDeque::from(std::mem::take(out));
            *out = Vec::from(std::mem::replace(&mut lane.buffered, spare));
        } else {
            out.extend(lane.buffered.drain(..n));
        }
        for record in &out[start..] {
            if let Record::Event(event) = record {
                lane.watermark = lane.watermark.max(event.ts.utc_nanos);
            }
        }
        origins.extend((0..n as u64).map(|i| Origin {
            source: 0,
            index: lane.taken + i,
        }));
        lane.taken += n as u64;
    }

    /// Up to `max` records, each from the lane whose head goes next.
    fn take_merged(&mut self, out: &mut Vec<Record>, max: usize) {
        let mut taken = 0;
        while taken < max {
            let Some(next) = self.pick() else {
                break;
            };
            let lane = &mut self.lanes[next];
            if let Some(record) = lane.buffered.pop_front() {
                if let Record::Event(event) = &record {
                    lane.watermark = lane.watermark.max(event.ts.utc_nanos);
                }
                self.origins.push(Origin {
                    source: next as u32,
                    index: lane.taken,
                });
                lane.taken += 1;
                out.push(record);
                taken += 1;
            }
        }
    }

    /// The lane whose head goes next, or `None` when nothing may go now (every lane empty, or
    /// an idle lane within the bound of the earliest head holds the merge back).
    fn pick(&self) -> Option<usize> {
        let (index, head) = self
            .lanes
            .iter()
            .enumerate()
            .filter_map(|(i, lane)| lane.head_ts().map(|ts| (i, ts)))
            .min_by_key(|&(i, ts)| (ts, i))?;
        let holds_back = |lane: &Lane| {
            lane.buffered.is_empty()
                && !lane.exhausted
                && (lane.watermark == i64::MIN
                    || lane.source.has_more_now()
                    || (head > lane.watermark
                        && head <= lane.watermark.saturating_add(self.idle_bound_nanos)))
                && !lane.source.is_idle()
        };
        if head != i64::MIN && self.lanes.iter().any(holds_back) {
            return None;
        }
        Some(index)
    }
}
