//! Child output: what a service writes to its stdout and stderr pipes,
//! copied to its log files and to any `tail -f` client of it.
//!
//! The copy never blocks the loop: each ready pipe is read until it would
//! block or has given a bounded number of chunks this pass (poll is
//! level-triggered, so the rest wakes the next pass and one chatty child
//! cannot starve the others). A pipe that gave a lot in one wake-up is
//! busy, and the loop leaves it out of poll for a moment ([`COALESCE`]) so
//! that a child writing fast does not wake the daemon once per write.
//! Apart from the loop, so that the loop's file shows only how sources are
//! polled and dispatched.

use super::Daemon;
use crate::core::output::{self, Drain};
use crate::core::stream::Stream;
use crate::core::supervisor::{ConnId, Id, OutPipe};
use crate::wire::Response;
use std::time::{Duration, Instant};

/// A pipe that gave at least this much in one wake-up is busy: it is left
/// out of poll for [`COALESCE`], so the next wake-up finds much more in it
/// (a child writing fast otherwise wakes the daemon once per write, and
/// pays for that wake-up itself in every write).
const BUSY_BYTES: u64 = 64 * 1024;
const COALESCE: Duration = Duration::from_micros(100);

/// Which pipe: one stream of one service. Unlike its index in
/// `sup.pipes`, it does not change as other pipes come and go.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) struct PipeKey {
    pub service: Id,
    pub stream: Stream,
}

impl PipeKey {
    pub(super) fn of(p: &OutPipe) -> PipeKey {
        PipeKey {
            service: p.service,
            stream: p.stream,
        }
    }
}

/// A `tail -f` client: each new chunk of `pipe` is sent to `conn`.
pub(super) struct Follower {
    pub conn: ConnId,
    pub pipe: PipeKey,
    /// The service's name, to tell the client when it is removed.
    pub name: String,
}

/// Busy pipes, left out of poll until `until` (see [`BUSY_BYTES`]).
#[derive(Default)]
pub(super) struct PausedPipes {
    pipes: Vec<PipeKey>,
    until: Option<Instant>,
}

impl PausedPipes {
    /// Ends the pause once it is due: its pipes are polled again.
    pub(super) fn expire(&mut self, now: Instant) {
        if self.until.is_some_and(|t| t <= now) {
            self.pipes.clear();
            self.until = None;
        }
    }

    pub(super) fn contains(&self, pipe: PipeKey) -> bool {
        self.pipes.contains(&pipe)
    }

    /// Joins the pause under way rather than extend it: a stream of newly
    /// busy pipes must not keep the first ones out of poll for ever.
    pub(super) fn pause(&mut self, pipe: PipeKey, now: Instant) {
        self.pipes.push(pipe);
        self.until.get_or_insert(now + COALESCE);
    }

    /// How long until the pause ends, for the poll timeout.
    pub(super) fn left(&self, now: Instant) -> Option<Duration> {
        self.until.map(|t| t.saturating_duration_since(now))
    }
}

/// What reading a pipe found.
pub(super) enum PipeState {
    /// Its writers are gone (or it failed): drop it.
    Done,
    Open,
    /// It gave a lot straight into its log: more is coming at once.
    Busy,
}

impl Daemon {
    // ============================================================== output

    /// Copies what a child wrote to its log, and to any `tail -f` of it.
    pub(super) fn on_pipe(&mut self, hint: usize, key: PipeKey) -> PipeState {
        self.read_pipe(hint, key, false)
    }

    /// The daemon is leaving: the last words of its stopped children are
    /// read whatever waits for a shared stdout (past its bound they are
    /// dropped, and the log says so).
    pub(super) fn on_pipe_last(&mut self, hint: usize, key: PipeKey) -> PipeState {
        self.read_pipe(hint, key, true)
    }

    /// Reads a pipe. Unless `last`, a pipe whose shared stdout is full is
    /// not read, or no more this pass: it waits, with its writer, until
    /// that drains, so that nothing is lost (SPEC §15). Checked after each
    /// read, as one pass reads many pipes and each read may fill it.
    fn read_pipe(&mut self, hint: usize, key: PipeKey, last: bool) -> PipeState {
        let PipeKey { service, stream } = key;
        if !last && self.sup.output_blocked(service, stream) {
            return PipeState::Open;
        }
        let is_it = |p: &OutPipe| PipeKey::of(p) == key;
        let i = match self.sup.pipes.get(hint) {
            Some(p) if is_it(p) => hint,
            _ => match self.sup.pipes.iter().position(is_it) {
                Some(i) => i,
                // Dropped earlier in this pass (its service stopped).
                None => return PipeState::Open,
            },
        };
        let followed = self.followers.iter().any(|f| f.pipe == key);
        let mut copy = Vec::new();
        let mut failed = None;
        let mut busy = false;
        // The pipe list and the service table both live in `sup`: lend the
        // list out while the closure writes into the table.
        let pipes = std::mem::take(&mut self.sup.pipes);
        let result = pipes.get(i).map(|pipe| {
            let sup = &mut self.sup;
            if !followed && sup.splices(service, stream) {
                // Nobody tails it: straight from the pipe to the file.
                let Some(s) = sup.service_mut(service) else {
                    return output::drain(&pipe.fd, |_| {});
                };
                let (result, error) = s.logs[stream].splice_from(&pipe.fd);
                busy = s.logs[stream].moved >= BUSY_BYTES;
                if let Some(e) = error {
                    failed = Some(format!("{}: log error: {e}", s.name()));
                }
                return result;
            }
            // Read: to be followed, shaped, shared or raised as events.
            output::drain_while(&pipe.fd, |data| {
                let start = copy.len();
                sup.take_output(service, stream, data, &mut copy);
                if !followed {
                    copy.truncate(start);
                }
                last || !sup.output_blocked(service, stream)
            })
        });
        self.sup.pipes = pipes;
        if let Some(msg) = failed {
            self.sup.log.error(&msg);
        }
        for chunk in copy.chunks(256 * 1024) {
            let resp = Response::Bytes(chunk.to_vec().into());
            for f in self.followers.iter().filter(|f| f.pipe == key) {
                if let Some(c) = self.conns.get_mut(&f.conn) {
                    c.send(&resp);
                } else if let Some(h) = self.http.conns.get_mut(&f.conn) {
                    h.stream_data(chunk);
                }
            }
        }
        match result {
            Some(Ok(Drain::Open)) if busy => PipeState::Busy,
            Some(Ok(Drain::Open)) => PipeState::Open,
            _ => PipeState::Done,
        }
    }

    /// Copies what every followed pipe holds to its log and followers now,
    /// before an exit is handled: a service that settles hands what is
    /// left in its pipes to its log only, so a follower would miss the last
    /// words of a process (its exit and its output come in the same wake-up,
    /// and signals are handled first).
    pub(super) fn feed_followers(&mut self) {
        if self.followers.is_empty() {
            return;
        }
        let followed = |p: &OutPipe| self.followers.iter().any(|f| f.pipe == PipeKey::of(p));
        let todo: Vec<(usize, PipeKey)> = (self.sup.pipes.iter().enumerate())
            .filter(|(_, p)| followed(p))
            .map(|(hint, p)| (hint, PipeKey::of(p)))
            .collect();
        for (hint, pipe) in todo {
            // Whatever it finds, the pipe's own turn in this pass sees again.
            let _ = self.on_pipe(hint, pipe);
        }
    }

    /// Ends every `tail -f` of a service that is gone (removed, or dropped
    /// by a reload): a last answer says so and the connection closes once
    /// it is sent, rather than leaving the client waiting for ever.
    pub(super) fn end_follows_of_removed(&mut self) {
        let sup = &self.sup;
        let (gone, kept): (Vec<Follower>, _) = std::mem::take(&mut self.followers)
            .into_iter()
            .partition(|f| !sup.services().any(|s| s.id == f.pipe.service));
        self.followers = kept;
        for f in gone {
            if let Some(c) = self.conns.get_mut(&f.conn) {
                c.send(&Response::Ok(
                    format!("service {} was removed", f.name).into(),
                ));
                c.closing = true;
            } else if let Some(h) = self.http.conns.get_mut(&f.conn) {
                h.end_stream();
            }
        }
    }
}
