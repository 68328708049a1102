//! A child's output as it reaches the supervisor (SPEC §7, §14, §15): to
//! its log or the shared stdout, and to the event bus for a stream with
//! `stdout_events_enabled` / `stderr_events_enabled`.

use super::{groups, Id, Supervisor};
use crate::core::stream::Stream;
use std::time::{Duration, Instant};

impl Supervisor {
    /// Whether splice(2) may move `stream` of `id` straight to its file:
    /// no prefix or timestamp, not shared, and no event wants its data.
    pub fn splices(&self, id: Id, stream: Stream) -> bool {
        self.services.get(&id).is_some_and(|s| {
            let log = &s.logs[stream];
            log.plain() && !(log.events && self.events.wants_process_log())
        })
    }

    /// Whether `stream` of `id` goes to a shared stdout or stderr that is
    /// full: its pipe is left unread (not polled) until that drains.
    pub fn output_blocked(&self, id: Id, stream: Stream) -> bool {
        let full = |n| self.shared_out.full(n);
        (full(1) || full(2))
            && self
                .services
                .get(&id)
                .and_then(|s| s.logs[stream].daemon_fd())
                .is_some_and(full)
    }

    /// One read of `stream` of `id`: raises PROCESS_LOG with it (one event
    /// per read, as supervisord does), then copies it to its log; what the
    /// log file got is added to `copy` (for `tail -f`).
    pub fn take_output(&mut self, id: Id, stream: Stream, data: &[u8], copy: &mut Vec<u8>) {
        let Some(s) = self.services.get_mut(&id) else {
            return;
        };
        if s.logs[stream].events && self.events.wants_process_log() {
            let spec = &s.spec;
            let group = groups::group_of(spec).unwrap_or(&spec.name);
            let pid = s.machine.pid.unwrap_or(0);
            self.events
                .process_log(&spec.name, group, pid, stream, data);
        }
        let who = writer(id, stream);
        if let Some(e) = s.logs[stream].feed(data, &mut self.shared_out, who, copy) {
            let msg = format!("{}: log error: {e}", s.name());
            self.log.error(&msg);
        }
    }

    /// The process of `id` is gone: a partial line it left for a shared
    /// stream goes out.
    pub(super) fn finish_output(&mut self, id: Id) {
        let Some(s) = self.services.get_mut(&id) else {
            return;
        };
        for stream in Stream::BOTH {
            if let Some(e) = s.logs[stream].finish(&mut self.shared_out, writer(id, stream)) {
                let msg = format!("{}: log error: {e}", s.name());
                self.log.error(&msg);
            }
        }
    }

    /// Partial lines held for a shared stream with no more bytes for a
    /// while go out (SPEC §15: copied as they come, only not mid-line of
    /// another program).
    pub fn flush_quiet_output(&mut self, now: Instant) {
        if self.shared_out.deadline().is_none_or(|t| t > now) {
            return;
        }
        for who in self.shared_out.due(now) {
            let stream = Stream::BOTH[(who & 1) as usize];
            let Some(s) = self.services.get_mut(&(who >> 1)) else {
                continue;
            };
            if let Some(e) = s.logs[stream].flush_held(&mut self.shared_out, who) {
                let msg = format!("{}: log error: {e}", s.name());
                self.log.error(&msg);
            }
        }
    }

    /// How long until [`flush_quiet_output`](Self::flush_quiet_output) has
    /// work: None unless a partial line is held (no idle wake-ups).
    pub fn output_timeout(&self, now: Instant) -> Option<Duration> {
        (self.shared_out.deadline()).map(|t| t.saturating_duration_since(now))
    }
}

/// One stream of one service, as a writer to a shared stream.
fn writer(id: Id, stream: Stream) -> u64 {
    id << 1 | (stream == Stream::Stderr) as u64
}
