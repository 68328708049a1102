//! One service's state machine (SPEC §4.3, §6, §11), pure: no processes, no
//! clock, no I/O.
//!
//! [`step`] takes the machine, its policy, one event and the time, updates
//! the machine and returns the effects for the supervisor to carry out. The
//! body is a `match (state, event)` with every cell written out and no `_`
//! arm, so a new state or event forces a decision everywhere. Operator intent
//! (`want`) is kept apart from what the process is doing (`state`).
//!
//! `step` is the only writer of a [`Machine`]: adopting a process, taking
//! services back after a crash of the daemon and a failed spawn are events
//! like the others, and every signal a service is sent on its account
//! (stop, kill, suspend, resume) is an effect.

use std::time::{Duration, Instant};

mod backoff;
mod policy;
mod rules;
pub use backoff::{parse_backoff_max, Backoff, DEFAULT_BACKOFF_MAX};
pub use policy::{AutoRestart, Machine, Policy, Reason, RestartRule};
pub use rules::RESTART_FLOOR;
use rules::{continued, on_exit, settle_stopped, suspended, take_back};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Stopped,
    Pending,
    Starting,
    Running,
    Backoff,
    Stopping,
    Exited,
    Fatal,
    Suspended,
}

impl State {
    pub const ALL: [State; 9] = [
        State::Stopped,
        State::Pending,
        State::Starting,
        State::Running,
        State::Backoff,
        State::Stopping,
        State::Exited,
        State::Fatal,
        State::Suspended,
    ];

    pub fn name(self) -> &'static str {
        match self {
            State::Stopped => "STOPPED",
            State::Pending => "PENDING",
            State::Starting => "STARTING",
            State::Running => "RUNNING",
            State::Backoff => "BACKOFF",
            State::Stopping => "STOPPING",
            State::Exited => "EXITED",
            State::Fatal => "FATAL",
            State::Suspended => "SUSPENDED",
        }
    }

    /// States in which a process of ours exists.
    pub fn has_process(self) -> bool {
        matches!(
            self,
            State::Starting | State::Running | State::Stopping | State::Suspended
        )
    }
}

/// What the operator wants, apart from what is happening.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    Up,
    Down,
    /// Forget the service once its process is gone.
    Gone,
}

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitKind {
    Code(i32),
    Signal(i32),
    /// Adopted processes: only their disappearance is seen.
    Unknown,
}

impl ExitKind {
    pub fn describe(self) -> String {
        match self {
            ExitKind::Code(c) => format!("exit {c}"),
            ExitKind::Signal(s) => format!("killed by {}", signal_name(s)),
            ExitKind::Unknown => "exit status unknown".to_string(),
        }
    }
}

/// `SIGKILL` for 9, `SIGRTMIN+3` for 37, or `signal 77` for a number with
/// no name.
pub fn signal_name(sig: i32) -> String {
    match nix::sys::signal::Signal::try_from(sig) {
        Ok(s) => s.as_str().to_string(),
        Err(_) => match sig {
            RTMIN => "SIGRTMIN".to_string(),
            RTMAX => "SIGRTMAX".to_string(),
            // Numbered as kill -l and bash do: from the nearer end.
            n if (RTMIN + 1..=RTMIN + 15).contains(&n) => format!("SIGRTMIN+{}", n - RTMIN),
            n if (RTMAX - 14..RTMAX).contains(&n) => format!("SIGRTMAX-{}", RTMAX - n),
            n => format!("signal {n}"),
        },
    }
}

/// The first and last real-time signals as users number them (`kill -l`,
/// glibc's SIGRTMIN): the kernel's 32 and 33 are kept by the C library.
/// Fixed, not libc::SIGRTMIN(): the static musl build would say 35.
pub const RTMIN: i32 = 34;
pub const RTMAX: i32 = 64;

/// What happens to a service. Not `Copy`: a spawn failure carries its
/// reason and a take-back its record, so that `step` writes them too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Operator start (also autostart and create-service).
    Start,
    /// Start at the given time (create-service -c).
    StartAt(Instant),
    Stop,
    Remove,
    Spawned(i32),
    /// The spawn failed before exec, for the given reason (shown in status).
    SpawnFailed(String),
    Exited(ExitKind),
    /// Seen stopped by a signal (WUNTRACED).
    Suspended,
    /// Seen continued (WCONTINUED).
    Continued,
    /// The `suspend` command: SIGSTOP, and SUSPENDED at once.
    Suspend,
    /// The `resume` command: SIGCONT, and back as if seen continued.
    Resume,
    /// The machine's deadline has passed.
    Timer,
    /// Its `ready=` check succeeded.
    Ready,
    /// No process is left in the stopped service's group.
    GroupGone,
    /// A spawn is held back until its dependencies meet their conditions
    /// (SPEC §12): PENDING with no deadline; `Timer` releases it.
    Hold,
    /// A scheduled service (SPEC §17) waits for its next run: PENDING with
    /// no deadline of its own (the supervisor's schedule sends `Start`
    /// when a run is due); a run under way ends into it by itself.
    Scheduled,
    /// A fresh machine takes a running process sv did not start
    /// (`open-service`, or an adopted process taken back after a crash),
    /// up since `started_at`.
    Adopted {
        pid: i32,
        started_at: Instant,
    },
    /// A fresh machine takes back what the state file of a killed daemon
    /// recorded (SPEC §8).
    TakenBack(Box<Record>),
}

/// One service as a killed daemon's state file recorded it, and what has
/// become of its process since: the payload of [`Event::TakenBack`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The state recorded.
    pub state: State,
    pub want: Want,
    pub restarts: u32,
    pub attempts: u32,
    pub last_exit: Option<ExitKind>,
    pub reason: Reason,
    pub ever_started: bool,
    /// The recorded process (0 if none).
    pub pid: i32,
    /// Some when that process is still alive (same pid, same start time):
    /// since when it runs. None when it is gone: if the state says it had
    /// one, it takes its pid back and the caller feeds in its exit next,
    /// as if just seen.
    pub alive_since: Option<Instant>,
    /// When a PENDING or BACKOFF service was due.
    pub due: Instant,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Fork and exec; the supervisor answers with `Spawned` or `SpawnFailed`.
    Spawn,
    /// Send a signal: to the group when `group`, else to the pid.
    Signal { sig: i32, group: bool },
    /// Drop the service from the table.
    Forget,
    /// The leader is gone but its group may not be: answer with
    /// `GroupGone` once no member is left.
    AwaitGroup,
}

pub type Effects = Vec<Effect>;

/// Applies one event. See the module doc.
pub fn step(m: &mut Machine, p: &Policy, ev: Event, now: Instant) -> Effects {
    use Event as E;
    use State as S;
    let mut fx = Effects::new();
    let remove = ev == E::Remove;
    match (m.state, ev) {
        // ---- start ----
        (S::Stopped | S::Exited | S::Fatal | S::Pending | S::Backoff, E::Start) => {
            m.want = Want::Up;
            m.attempts = 0;
            m.restarts = 0;
            m.reason = Reason::None;
            m.deadline = None;
            fx.push(Effect::Spawn);
        }
        (S::Starting | S::Running | S::Stopping | S::Suspended, E::Start) => {}

        (S::Stopped | S::Exited | S::Fatal, E::StartAt(at)) => {
            m.want = Want::Up;
            m.state = S::Pending;
            m.deadline = Some(at);
        }
        (
            S::Pending | S::Starting | S::Running | S::Backoff | S::Stopping | S::Suspended,
            E::StartAt(_),
        ) => {}

        // ---- stop and remove ----
        (S::Starting | S::Running | S::Suspended, E::Stop | E::Remove) => {
            m.want = if remove { Want::Gone } else { Want::Down };
            if p.adopted && remove {
                fx.push(Effect::Forget);
            } else {
                let group = p.group && !p.adopted;
                fx.push(Effect::Signal {
                    sig: p.stopsignal,
                    group,
                });
                if m.state == S::Suspended {
                    // A stopped process cannot act on its stop signal.
                    fx.push(Effect::Signal {
                        sig: libc::SIGCONT,
                        group,
                    });
                }
                m.state = S::Stopping;
                m.deadline = Some(now + p.stopwait);
            }
        }
        (S::Stopping, E::Stop) => {}
        (S::Stopping, E::Remove) => m.want = Want::Gone,
        (S::Pending | S::Backoff, E::Stop) => {
            m.want = Want::Down;
            m.state = S::Stopped;
            m.deadline = None;
        }
        (S::Stopped | S::Exited | S::Fatal, E::Stop) => m.want = Want::Down,
        (S::Stopped | S::Exited | S::Fatal | S::Pending | S::Backoff, E::Remove) => {
            m.want = Want::Gone;
            m.deadline = None;
            fx.push(Effect::Forget);
        }

        // ---- spawn results ----
        (
            S::Stopped
            | S::Pending
            | S::Starting
            | S::Running
            | S::Backoff
            | S::Stopping
            | S::Exited
            | S::Fatal
            | S::Suspended,
            E::Spawned(pid),
        ) => {
            m.pid = Some(pid);
            m.pgid = (!p.adopted).then_some(pid);
            m.started_at = Some(now);
            m.ever_started = true;
            m.unready = false;
            m.ready_seen = false;
            if p.scheduled {
                // One-shot run: startsecs and ready do not apply.
                m.state = S::Running;
                m.attempts = 0;
                m.deadline = None;
            } else if p.ready.is_some() {
                m.state = S::Starting;
                m.deadline = Some(now + p.ready_timeout);
            } else if p.startsecs.is_zero() {
                m.state = S::Running;
                m.attempts = 0;
                m.deadline = None;
            } else {
                m.state = S::Starting;
                m.deadline = Some(now + p.startsecs);
            }
        }
        (
            S::Stopped
            | S::Pending
            | S::Starting
            | S::Running
            | S::Backoff
            | S::Stopping
            | S::Exited
            | S::Fatal
            | S::Suspended,
            E::SpawnFailed(why),
        ) => {
            m.pid = None;
            m.state = S::Fatal;
            m.deadline = None;
            m.reason = Reason::SpawnError(why);
        }

        // ---- exits ----
        (S::Stopping, E::Exited(kind)) => {
            m.pid = None;
            m.stopped_at = Some(now);
            m.last_exit = Some(kind);
            if p.group && m.pgid.is_some() {
                // Grandchildren may still be winding down: STOPPING lasts
                // until the whole group is gone (SIGKILL at the deadline;
                // past it, SIGKILL was sent: look again in a second).
                fx.push(Effect::AwaitGroup);
                if m.deadline.is_none() {
                    m.deadline = Some(now + Duration::from_secs(1));
                }
            } else {
                settle_stopped(m, p, &mut fx);
            }
        }
        (S::Stopping, E::GroupGone) if m.pid.is_none() => settle_stopped(m, p, &mut fx),
        (S::Stopping, E::GroupGone) => m.pgid = None,
        (
            S::Stopped
            | S::Pending
            | S::Starting
            | S::Running
            | S::Backoff
            | S::Exited
            | S::Fatal
            | S::Suspended,
            E::GroupGone,
        ) => m.pgid = None,
        (S::Starting | S::Running | S::Suspended, E::Exited(kind)) => {
            // Before startsecs: STARTING, or suspended before it was up.
            let early = m.state == S::Starting
                || m.state == S::Suspended
                    && m.started_at.is_some_and(|t| now < t + p.start_window());
            m.pid = None;
            m.stopped_at = Some(now);
            m.last_exit = Some(kind);
            m.deadline = None;
            on_exit(m, p, kind, early, now, &mut fx);
            if m.unready && m.state == S::Fatal {
                let secs = p.ready_timeout.as_secs();
                m.reason = Reason::NotReady(format!("not ready within {secs} s"));
            }
        }
        (S::Stopped | S::Pending | S::Backoff | S::Exited | S::Fatal, E::Exited(_)) => {}

        // ---- suspend / continue ----
        (S::Starting | S::Running, E::Suspended) => suspended(m),
        (
            S::Stopped
            | S::Pending
            | S::Backoff
            | S::Stopping
            | S::Exited
            | S::Fatal
            | S::Suspended,
            E::Suspended,
        ) => {}
        (S::Suspended, E::Continued) => continued(m, p, now),
        (
            S::Stopped
            | S::Pending
            | S::Starting
            | S::Running
            | S::Backoff
            | S::Stopping
            | S::Exited
            | S::Fatal,
            E::Continued,
        ) => {}

        // ---- suspend and resume commands: the signal, then as if seen ----
        (S::Starting | S::Running, E::Suspend) => {
            fx.push(Effect::Signal {
                sig: libc::SIGSTOP,
                group: p.group && !p.adopted,
            });
            suspended(m);
        }
        (
            S::Stopped
            | S::Pending
            | S::Backoff
            | S::Stopping
            | S::Exited
            | S::Fatal
            | S::Suspended,
            E::Suspend,
        ) => {}
        (S::Suspended, E::Resume) => {
            fx.push(Effect::Signal {
                sig: libc::SIGCONT,
                group: p.group && !p.adopted,
            });
            continued(m, p, now);
        }
        (
            S::Stopped
            | S::Pending
            | S::Starting
            | S::Running
            | S::Backoff
            | S::Stopping
            | S::Exited
            | S::Fatal,
            E::Resume,
        ) => {}

        // ---- held by dependencies ----
        (
            S::Stopped | S::Pending | S::Starting | S::Running | S::Backoff | S::Exited | S::Fatal,
            E::Hold,
        ) if m.pid.is_none() && m.want == Want::Up => {
            m.state = S::Pending;
            m.deadline = None;
        }
        (
            S::Stopped
            | S::Pending
            | S::Starting
            | S::Running
            | S::Backoff
            | S::Stopping
            | S::Exited
            | S::Fatal
            | S::Suspended,
            E::Hold,
        ) => {}

        // ---- timers ----
        (S::Pending | S::Backoff, E::Timer) => {
            m.deadline = None;
            fx.push(Effect::Spawn);
        }
        (S::Starting, E::Timer) if p.ready.is_some() && m.unready => {
            // Not gone within stopwaitsecs of the stop signal.
            fx.push(Effect::Signal {
                sig: libc::SIGKILL,
                group: p.group,
            });
            m.deadline = None;
        }
        (S::Starting, E::Timer) if p.ready.is_some() => {
            // Not ready in time: a failed start once it has gone.
            m.unready = true;
            fx.push(Effect::Signal {
                sig: p.stopsignal,
                group: p.group,
            });
            m.deadline = Some(now + p.stopwait);
        }
        (S::Starting, E::Timer) => {
            m.state = S::Running;
            m.attempts = 0;
            m.deadline = None;
        }
        (S::Stopping, E::Timer) => {
            fx.push(Effect::Signal {
                sig: libc::SIGKILL,
                group: p.group && !p.adopted,
            });
            if m.pid.is_none() {
                // Only group members are left: look again shortly.
                fx.push(Effect::AwaitGroup);
                m.deadline = Some(now + Duration::from_secs(1));
            } else {
                m.deadline = None;
            }
        }
        (S::Stopped | S::Running | S::Exited | S::Fatal | S::Suspended, E::Timer) => {
            m.deadline = None;
        }

        // ---- readiness (SPEC §12) ----
        (S::Starting, E::Ready) if !m.unready => {
            m.state = S::Running;
            m.attempts = 0;
            m.deadline = None;
            m.ready_seen = true;
        }
        (S::Starting, E::Ready) => {}
        (
            S::Stopped
            | S::Pending
            | S::Running
            | S::Backoff
            | S::Stopping
            | S::Exited
            | S::Fatal
            | S::Suspended,
            E::Ready,
        ) => {}

        // ---- schedules (SPEC §17) ----
        (S::Stopped | S::Pending | S::Backoff | S::Exited | S::Fatal, E::Scheduled)
            if p.scheduled =>
        {
            m.want = Want::Up;
            m.state = S::Pending;
            m.deadline = None;
        }
        (
            S::Stopped
            | S::Pending
            | S::Starting
            | S::Running
            | S::Backoff
            | S::Stopping
            | S::Exited
            | S::Fatal
            | S::Suspended,
            E::Scheduled,
        ) => {}

        // ---- processes sv did not spawn: only a fresh machine takes one ----
        (S::Stopped, E::Adopted { pid, started_at }) => {
            // Nothing of an earlier life is kept (no group: not ours).
            *m = Machine {
                state: S::Running,
                want: Want::Up,
                pid: Some(pid),
                started_at: Some(started_at),
                ever_started: true,
                ..Machine::new()
            };
        }
        (
            S::Pending
            | S::Starting
            | S::Running
            | S::Backoff
            | S::Stopping
            | S::Exited
            | S::Fatal
            | S::Suspended,
            E::Adopted { .. },
        ) => {}
        (S::Stopped, E::TakenBack(r)) => take_back(m, p, *r, now),
        (
            S::Pending
            | S::Starting
            | S::Running
            | S::Backoff
            | S::Stopping
            | S::Exited
            | S::Fatal
            | S::Suspended,
            E::TakenBack(_),
        ) => {}
    }
    fx
}

#[cfg(test)]
mod tests;
