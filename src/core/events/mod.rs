//! Event listeners (SPEC §14): the events the daemon raises and the pools
//! of `[eventlistener:x]` processes they are delivered to.
//!
//! The one way into it from the rest of the daemon is [`Bus`], owned by the
//! supervisor. (Seam for issue 15: the output path calls
//! [`Bus::process_log`]; the pools and the protocol fill in the rest.)

use crate::core::stream::Stream;

/// Where events are raised and queued for the listener pools.
#[derive(Default)]
pub struct Bus {}

impl Bus {
    /// A program with `stdout_events_enabled` / `stderr_events_enabled`
    /// wrote `data` (what one read gave) on `stream`: raises
    /// `PROCESS_LOG_STDOUT` / `PROCESS_LOG_STDERR` for the pools that
    /// subscribe, with supervisord's payload
    /// (`processname:NAME groupname:GROUP pid:PID channel:STREAM\n` + data).
    pub fn process_log(&mut self, name: &str, group: &str, pid: i32, stream: Stream, data: &[u8]) {
        let _ = (name, group, pid, stream, data);
    }

    /// Whether any pool subscribes to PROCESS_LOG events: when none does,
    /// the output path need not look at the data at all.
    pub fn wants_process_log(&self) -> bool {
        false
    }
}
