//! The exit policy of SPEC §15: `shutdown_on = never | fatal | exit`, per
//! program or in `[supervisord]` for all. In a container the daemon is the
//! entrypoint: when a program it is there for ends for good, the daemon
//! stops everything by the stop rules and exits, so that the platform
//! (Docker, Kubernetes, Nomad) sees the container end and acts on it.
//!
//! A state change is only noted here ([`Supervisor::exit_policy_seen`],
//! called where changes are logged); the shutdown begins at the end of the
//! pass ([`Supervisor::run_exit_policy`]), outside the event that caused it.

use super::{Id, Supervisor};
use crate::core::service::{ExitKind, State};
use std::time::Instant;

/// When a program's end ends the daemon.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ShutdownOn {
    /// The daemon goes on (the default).
    #[default]
    Never,
    /// FATAL: the daemon stops everything and exits 1.
    Fatal,
    /// EXITED with no restart coming, or FATAL: the daemon stops
    /// everything and exits with the program's own status.
    Exit,
}

impl ShutdownOn {
    pub fn parse(v: &str) -> Result<ShutdownOn, String> {
        match v.to_ascii_lowercase().as_str() {
            "never" => Ok(ShutdownOn::Never),
            "fatal" => Ok(ShutdownOn::Fatal),
            "exit" => Ok(ShutdownOn::Exit),
            _ => Err(format!("'{v}' is not never, fatal or exit")),
        }
    }

    fn name(self) -> &'static str {
        match self {
            ShutdownOn::Never => "never",
            ShutdownOn::Fatal => "fatal",
            ShutdownOn::Exit => "exit",
        }
    }
}

/// The daemon's exit status when `policy` sees a program reach `state`,
/// having last ended as `last`; None when the daemon goes on.
pub fn status_for(policy: ShutdownOn, state: State, last: Option<ExitKind>) -> Option<u8> {
    let own = match last {
        Some(ExitKind::Code(c)) => Some(c.clamp(0, 255) as u8),
        // As a shell reports it: 128 + the signal.
        Some(ExitKind::Signal(s)) => Some((128 + s).clamp(0, 255) as u8),
        Some(ExitKind::Unknown) | None => None,
    };
    match (policy, state) {
        (ShutdownOn::Fatal, State::Fatal) => Some(1),
        (ShutdownOn::Exit, State::Exited) => Some(own.unwrap_or(1)),
        // A FATAL program failed, whatever its last code: never 0.
        (ShutdownOn::Exit, State::Fatal) => Some(own.filter(|c| *c != 0).unwrap_or(1)),
        _ => None,
    }
}

/// How the daemon ends: a program's end waiting to be acted on, and the
/// status the daemon exits with (0 unless a program set it).
#[derive(Default)]
pub(super) struct Ending {
    /// The line that says which program's end stops the daemon, and why.
    pending: Option<String>,
    status: u8,
    /// The grace period of a stop signal (see `shutdown`).
    pub(super) grace: super::shutdown::Grace,
}

impl Supervisor {
    /// A logged state change of `id` to `after`: notes it if the program's
    /// exit policy ends the daemon (the first such program wins; once the
    /// daemon is stopping, programs that end change nothing).
    pub(super) fn exit_policy_seen(&mut self, id: Id, after: State) {
        if self.shutdown.requested() || self.ending.pending.is_some() {
            return;
        }
        let Some(s) = self.services.get(&id) else {
            return;
        };
        let policy = s.spec.shutdown_on;
        let Some(status) = status_for(policy, after, s.machine.last_exit) else {
            return;
        };
        let line = format!(
            "{}: {} ({}) with shutdown_on = {}: stopping every service, then exiting {status}",
            s.name(),
            after.name(),
            super::svc_reason(s),
            policy.name()
        );
        self.ending.status = status;
        self.ending.pending = Some(line);
    }

    /// Whether a program's end waits to be acted on (the loop must not
    /// sleep).
    pub(super) fn exit_policy_due(&self) -> bool {
        self.ending.pending.is_some()
    }

    /// Acts on a program's end noted in this pass: says which program
    /// ended the daemon and why, and stops everything by the stop rules.
    pub(super) fn run_exit_policy(&mut self, now: Instant) {
        let Some(line) = self.ending.pending.take() else {
            return;
        };
        if self.ending.status == 0 {
            self.log.notice(&line);
        } else {
            self.log.warn(&line);
        }
        self.begin_shutdown(None, now);
    }

    /// What the daemon exits with once it has stopped: the status a
    /// program's exit policy set, else 0.
    pub fn exit_status(&self) -> u8 {
        self.ending.status
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_is_parsed_in_any_case() {
        assert_eq!(ShutdownOn::parse("never"), Ok(ShutdownOn::Never));
        assert_eq!(ShutdownOn::parse("FATAL"), Ok(ShutdownOn::Fatal));
        assert_eq!(ShutdownOn::parse("Exit"), Ok(ShutdownOn::Exit));
        assert_eq!(
            ShutdownOn::parse("crash").unwrap_err(),
            "'crash' is not never, fatal or exit"
        );
    }

    #[test]
    fn the_status_is_the_programs_own() {
        use ExitKind::*;
        use ShutdownOn::*;
        let st = status_for;
        // never: nothing ends the daemon.
        assert_eq!(st(Never, State::Fatal, Some(Code(3))), None);
        assert_eq!(st(Never, State::Exited, Some(Code(3))), None);
        // fatal: FATAL only, always 1.
        assert_eq!(st(Fatal, State::Fatal, Some(Code(7))), Some(1));
        assert_eq!(st(Fatal, State::Fatal, None), Some(1));
        assert_eq!(st(Fatal, State::Exited, Some(Code(7))), None);
        // exit: the program's code, 128 + a signal.
        assert_eq!(st(Exit, State::Exited, Some(Code(7))), Some(7));
        assert_eq!(st(Exit, State::Exited, Some(Code(0))), Some(0));
        assert_eq!(st(Exit, State::Exited, Some(Signal(9))), Some(137));
        assert_eq!(st(Exit, State::Exited, Some(Signal(64))), Some(192));
        assert_eq!(st(Exit, State::Exited, Some(Unknown)), Some(1));
        // exit on a FATAL: its failing code, never 0.
        assert_eq!(st(Exit, State::Fatal, Some(Code(5))), Some(5));
        assert_eq!(st(Exit, State::Fatal, Some(Code(0))), Some(1));
        assert_eq!(st(Exit, State::Fatal, None), Some(1));
        // Other states end nothing.
        for s in [
            State::Running,
            State::Backoff,
            State::Stopped,
            State::Starting,
        ] {
            assert_eq!(st(Exit, s, Some(Code(7))), None);
            assert_eq!(st(Fatal, s, Some(Code(7))), None);
        }
    }
}
