//! What `step` reads and writes: the per-service settings ([`Policy`],
//! with the restart rules) and the mutable [`Machine`], with why a service
//! is FATAL or how it last ended ([`Reason`]).

use super::{Backoff, ExitKind, State, Want, DEFAULT_BACKOFF_MAX};
use std::time::{Duration, Instant};

/// When an exit leads to a restart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestartRule {
    /// Ad hoc service without `-r`, or an adopted process: any exit is final.
    Never,
    /// Ad hoc `-r N`: every unexpected exit spends one restart (at once after
    /// startsecs, after the backoff before); the next one past N is FATAL.
    Budget(u32),
    /// Config programs, supervisord-style.
    Auto {
        autorestart: AutoRestart,
        /// Attempts before FATAL; 0 = forever (SPEC §5).
        startretries: u32,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoRestart {
    Always,
    Never,
    Unexpected,
}

/// The per-service settings `step` needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub startsecs: Duration,
    pub stopsignal: i32,
    pub stopwait: Duration,
    /// Signal the process group rather than the process (stopasgroup).
    pub group: bool,
    pub exitcodes: Vec<i32>,
    pub restart: RestartRule,
    /// Adopted: not our child, signalled by pid, never restarted.
    pub adopted: bool,
    /// How the delay before a retry grows, and its cap (SPEC §12).
    pub backoff: Backoff,
    pub backoff_max: Duration,
    /// `ready=` (SPEC §12): STARTING -> RUNNING on [`Event::Ready`] instead
    /// of after startsecs; not ready within `ready_timeout` is a failed start.
    /// Boxed, as `health.check`: most services have none, and a check is
    /// 112 bytes in every spec.
    pub ready: Option<Box<crate::core::checks::Check>>,
    pub ready_timeout: Duration,
    /// Between tries of a polled check.
    pub ready_interval: Duration,
    /// `health=` and its keys (SPEC §12): checked while RUNNING.
    pub health: crate::core::checks::health::Health,
    /// `watchdog_secs` with `ready=notify`: the longest time between two
    /// `WATCHDOG=1` while RUNNING (zero: none). See `supervisor/notify`.
    pub watchdog: Duration,
    /// `schedule=` (SPEC §17): each run is one-shot (no startsecs, never
    /// restarted) and the service waits PENDING between runs; the
    /// supervisor's schedule sends `Start` when a run is due.
    pub scheduled: bool,
}

impl Policy {
    /// How long a new process is STARTING at most: startsecs, or with a
    /// ready check its timeout.
    pub fn start_window(&self) -> Duration {
        if self.scheduled {
            // A scheduled run that spawned is RUNNING (SPEC §17).
            return Duration::ZERO;
        }
        match self.ready {
            Some(_) => self.ready_timeout,
            None => self.startsecs,
        }
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            startsecs: Duration::from_secs(1),
            stopsignal: libc::SIGTERM,
            stopwait: Duration::from_secs(10),
            group: true,
            exitcodes: vec![0],
            restart: RestartRule::Never,
            adopted: false,
            backoff: Backoff::Linear,
            backoff_max: DEFAULT_BACKOFF_MAX,
            ready: None,
            ready_timeout: Duration::from_secs(60),
            ready_interval: Duration::from_secs(1),
            health: Default::default(),
            watchdog: Duration::ZERO,
            scheduled: false,
        }
    }
}

/// Why a service is FATAL or how it last ended; shown in `status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    None,
    SpawnError(String),
    TooQuickly,
    RestartLimit(u32),
    /// Not ready within ready_timeout, startretries times.
    NotReady(String),
}

/// The mutable part: what `step` reads and writes.
#[derive(Debug, Clone, PartialEq)]
pub struct Machine {
    pub state: State,
    pub want: Want,
    pub pid: Option<i32>,
    /// The process group of our child (its pid: it calls setpgid(0, 0)),
    /// kept while any member may be alive so stop can wait for all of them.
    pub pgid: Option<i32>,
    pub started_at: Option<Instant>,
    /// When its last process ended (supervisord's `laststop`, for the
    /// XML-RPC interface's `stop` and the description of a stopped one).
    pub stopped_at: Option<Instant>,
    /// Failed start attempts in a row (backoff and startretries).
    pub attempts: u32,
    /// Restarts done after unexpected exits.
    pub restarts: u32,
    pub last_exit: Option<ExitKind>,
    pub reason: Reason,
    pub deadline: Option<Instant>,
    /// Set once a process has ever been started.
    pub ever_started: bool,
    /// This process missed its ready_timeout: it is being stopped, and its
    /// exit is a failed start (until the next spawn).
    pub unready: bool,
    /// This process has passed its `ready=` check (until the next spawn):
    /// continued after a SIGSTOP, it is RUNNING again only if so.
    pub ready_seen: bool,
}

impl Machine {
    pub fn new() -> Machine {
        Machine {
            state: State::Stopped,
            want: Want::Down,
            pid: None,
            pgid: None,
            started_at: None,
            stopped_at: None,
            attempts: 0,
            restarts: 0,
            last_exit: None,
            reason: Reason::None,
            deadline: None,
            ever_started: false,
            unready: false,
            ready_seen: false,
        }
    }
}

impl Default for Machine {
    fn default() -> Self {
        Machine::new()
    }
}
