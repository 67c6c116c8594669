//! A directory input: the per-type files merged into one stream by event time.
//!
//! Each file is expected in `ts` order; the merge repeatedly emits the smallest head
//! `(ts, type)` among the files. A file that is out of order is not sorted (that would need the
//! whole file in memory): its records come out in the order read, and the engine's reorder
//! buffer absorbs what disorder remains, up to its lateness bound. Invalid records have no
//! reliable time, so each is emitted as soon as it reaches the head of its file (right after
//! the event before it there) without waiting for the other files; that keeps the output the
//! same whatever the batch sizes.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use pumpwatch_model::EventType;

use crate::error::ReplayError;
use crate::source::{Progress, Record, Source, SourceInfo};

/// One per-type file and what was read ahead from it, head first.
struct Lane {
    source: Box<dyn Source>,
    /// Records read ahead. Refilled in place: a `Vec` and a `VecDeque` convert into each other
    /// without copying, so each record is moved once on its way through.
    records: VecDeque<Record>,
    exhausted: bool,
}

/// What a lane holds next.
enum Head {
    /// An event at this time, of this type.
    Keyed(i64, EventType),
    Invalid,
    Empty,
}

impl Lane {
    fn head(&self) -> Head {
        match self.records.front() {
            Some(Record::Event(event)) => Head::Keyed(event.ts.utc_nanos, event.event_type()),
            Some(Record::Invalid(_)) => Head::Invalid,
            None => Head::Empty,
        }
    }

    /// Moves the head into `out`.
    #[inline]
    fn pop_into(&mut self, out: &mut Vec<Record>) {
        if let Some(record) = self.records.pop_front() {
            out.push(record);
        }
    }

    /// Reads the next batch of the file once everything read ahead is taken.
    fn refill(&mut self, batch_records: usize) -> Result<(), ReplayError> {
        let mut records = Vec::from(std::mem::take(&mut self.records));
        let read = self.source.next_batch(&mut records, batch_records);
        self.records = VecDeque::from(records);
        self.exhausted = !read?;
        Ok(())
    }
}

/// Merges per-type sources by `(ts, type)`; see the module documentation.
pub struct MergeSource {
    info: SourceInfo,
    lanes: Vec<Lane>,
    /// The lanes whose head is an event, keyed by that event. The lane index breaks ties so
    /// the order is deterministic (lanes are in the contract's type order).
    heads: BinaryHeap<Reverse<(i64, EventType, usize)>>,
    /// Lanes whose head was taken and must be looked at again before the next pick.
    stale: Vec<usize>,
    batch_records: usize,
    error: Option<ReplayError>,
}

impl MergeSource {
    pub fn new(info: SourceInfo, sources: Vec<Box<dyn Source>>, batch_records: usize) -> Self {
        let lanes: Vec<Lane> = sources
            .into_iter()
            .map(|source| Lane {
                source,
                records: VecDeque::new(),
                exhausted: false,
            })
            .collect();
        MergeSource {
            info,
            stale: (0..lanes.len()).rev().collect(),
            lanes,
            heads: BinaryHeap::new(),
            batch_records: batch_records.max(1),
            error: None,
        }
    }

    /// Brings lane `i` to a state where its head is an event (then it joins `heads`) or it is
    /// exhausted; invalid records on the way are emitted into `out`. Returns false when `out`
    /// is full before that (the lane stays stale).
    fn settle(&mut self, i: usize, out: &mut Vec<Record>, max: usize) -> Result<bool, ReplayError> {
        // When every other lane's head is in the heap, this lane's events can go straight out
        // for as long as they come before the heap's top: runs from one file then cost no
        // heap operations.
        let others_settled = self.stale.len() == 1;
        let lane = &mut self.lanes[i];
        loop {
            match lane.head() {
                Head::Keyed(ts, event_type) => {
                    let key = Reverse((ts, event_type, i));
                    let first = self.heads.peek().is_none_or(|top| key > *top);
                    if others_settled && first && out.len() < max {
                        lane.pop_into(out);
                        continue;
                    }
                    self.heads.push(key);
                    return Ok(true);
                }
                Head::Invalid => {
                    if out.len() >= max {
                        return Ok(false);
                    }
                    lane.pop_into(out);
                }
                Head::Empty if lane.exhausted => return Ok(true),
                Head::Empty => lane.refill(self.batch_records)?,
            }
        }
    }
}

impl Source for MergeSource {
    fn next_batch(&mut self, out: &mut Vec<Record>, max: usize) -> Result<bool, ReplayError> {
        out.clear();
        let max = max.max(1);
        if let Some(error) = self.error.take() {
            return Err(error);
        }
        while out.len() < max {
            if let Some(&i) = self.stale.last() {
                match self.settle(i, out, max) {
                    Ok(true) => {
                        self.stale.pop();
                    }
                    Ok(false) => return Ok(true),
                    Err(error) if out.is_empty() => return Err(error),
                    Err(error) => {
                        self.error = Some(error);
                        return Ok(true);
                    }
                }
                continue;
            }
            let Some(Reverse((_, _, i))) = self.heads.pop() else {
                return Ok(false);
            };
            self.lanes[i].pop_into(out);
            self.stale.push(i);
        }
        Ok(true)
    }

    fn progress(&self) -> Progress {
        self.lanes
            .iter()
            .map(|lane| lane.source.progress())
            .fold(Progress::default(), |a, b| a + b)
    }

    fn info(&self) -> &SourceInfo {
        &self.info
    }
}
