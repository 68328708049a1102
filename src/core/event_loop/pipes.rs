//! Child output: what a service writes to its stdout and stderr pipes,
//! copied to its log files and to any `tail -f` client of it.
//!
//! The copy never blocks the loop: each ready pipe is drained until it
//! would block. A pipe that gave a lot in one wake-up is busy, and the loop
//! leaves it out of poll for a moment ([`COALESCE`]) so that a child writing
//! fast does not wake the daemon once per write. Apart from the loop, so
//! that the loop's file shows only how sources are polled and dispatched.

use super::Daemon;
use crate::core::output::{self, Drain};
use crate::core::stream::Stream;
use crate::core::supervisor::OutPipe;
use crate::wire::Response;

/// A pipe that gave at least this much in one wake-up is busy: it is left
/// out of poll for [`COALESCE`], so the next wake-up finds much more in it
/// (a child writing fast otherwise wakes the daemon once per write, and
/// pays for that wake-up itself in every write).
const HOT_BYTES: u64 = 64 * 1024;
pub(super) const COALESCE: std::time::Duration = std::time::Duration::from_micros(100);

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
    pub(super) fn on_pipe(&mut self, hint: usize, service: u64, stream: Stream) -> PipeState {
        let is_it = |p: &OutPipe| p.service == service && p.stream == stream;
        let i = match self.sup.pipes.get(hint) {
            Some(p) if is_it(p) => hint,
            _ => match self.sup.pipes.iter().position(is_it) {
                Some(i) => i,
                // Dropped earlier in this pass (its service stopped).
                None => return PipeState::Open,
            },
        };
        let followed = self
            .followers
            .iter()
            .any(|f| f.1 == service && f.2 == stream);
        let mut copy = Vec::new();
        let mut failed = None;
        let mut busy = false;
        // The pipe list and the service table both live in `sup`: lend the
        // list out while the closure writes into the table.
        let pipes = std::mem::take(&mut self.sup.pipes);
        let result = pipes.get(i).map(|pipe| {
            let sup = &mut self.sup;
            if !followed {
                // Nobody tails it: straight from the pipe to the file.
                let Some(s) = sup.service_mut(service) else {
                    return output::drain(&pipe.fd, |_| {});
                };
                let (result, error) = s.logs[stream].splice_from(&pipe.fd);
                busy = s.logs[stream].moved >= HOT_BYTES;
                if let Some(e) = error {
                    failed = Some(format!("{}: log error: {e}", s.name()));
                }
                return result;
            }
            output::drain(&pipe.fd, |data| {
                if let Some(s) = sup.service_mut(service) {
                    if let Some(e) = s.logs[stream].write(data) {
                        failed = Some(format!("{}: log error: {e}", s.name()));
                    }
                }
                if followed {
                    copy.extend_from_slice(data);
                }
            })
        });
        self.sup.pipes = pipes;
        if let Some(msg) = failed {
            self.sup.log.error(&msg);
        }
        for chunk in copy.chunks(256 * 1024) {
            let resp = Response::Bytes(chunk.to_vec().into());
            for f in self
                .followers
                .iter()
                .filter(|f| f.1 == service && f.2 == stream)
            {
                if let Some(c) = self.conns.get_mut(&f.0) {
                    c.send(&resp);
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
        let followed = |p: &OutPipe| {
            self.followers
                .iter()
                .any(|f| f.1 == p.service && f.2 == p.stream)
        };
        let todo: Vec<(usize, u64, Stream)> = (self.sup.pipes.iter().enumerate())
            .filter(|(_, p)| followed(p))
            .map(|(i, p)| (i, p.service, p.stream))
            .collect();
        for (i, service, stream) in todo {
            // Whatever it finds, the pipe's own turn in this pass sees again.
            let _ = self.on_pipe(i, service, stream);
        }
    }

    /// Ends every `tail -f` of a service that is gone (removed, or dropped
    /// by a reload): a last answer says so and the connection closes once
    /// it is sent, rather than leaving the client waiting for ever.
    pub(super) fn end_follows_of_removed(&mut self) {
        let sup = &self.sup;
        let (gone, kept) = std::mem::take(&mut self.followers)
            .into_iter()
            .partition(|f| !sup.services().any(|s| s.id == f.1));
        self.followers = kept;
        let gone: Vec<(_, _, _, String)> = gone;
        for (conn, _, _, name) in gone {
            if let Some(c) = self.conns.get_mut(&conn) {
                c.send(&Response::Ok(format!("service {name} was removed").into()));
                c.closing = true;
            }
        }
    }
}
