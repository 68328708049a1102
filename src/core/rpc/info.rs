//! The process info struct of `getProcessInfo` and `getAllProcessInfo`,
//! built as supervisord's rpcinterface.py builds it (same keys, same
//! order, same `description` texts), and the result struct of the group
//! methods.
//!
//! sv has states supervisord lacks; each shows as the nearest one (the
//! README's section on the drop-in says so): PENDING (a start set for
//! later, or held by `depends_on`) is BACKOFF, a process that will start
//! by itself, with sv's detail (`starts in 3 s`) as its description;
//! SUSPENDED (SIGSTOP) is RUNNING, with `(suspended)` after the uptime.

use crate::core::clock::clock;
use crate::core::service::{ExitKind, Reason, State};
use crate::core::stream::Stream;
use crate::core::supervisor::{svc_reason, Service};
use crate::wire::xmlrpc::Value;
use std::time::{Duration, Instant, SystemTime};

/// supervisord's process state codes (supervisor/states.py).
pub mod code {
    pub const STOPPED: i64 = 0;
    pub const STARTING: i64 = 10;
    pub const RUNNING: i64 = 20;
    pub const BACKOFF: i64 = 30;
    pub const STOPPING: i64 = 40;
    pub const EXITED: i64 = 100;
    pub const FATAL: i64 = 200;
}

/// The text of a process that left BACKOFF or FATAL by exiting early.
pub const TOO_QUICKLY: &str = "Exited too quickly (process log may have details)";

/// The supervisord state an sv state shows as: its code and name.
pub fn state(s: State) -> (i64, &'static str) {
    match s {
        State::Stopped => (code::STOPPED, "STOPPED"),
        State::Starting => (code::STARTING, "STARTING"),
        State::Running | State::Suspended => (code::RUNNING, "RUNNING"),
        State::Backoff | State::Pending => (code::BACKOFF, "BACKOFF"),
        State::Stopping => (code::STOPPING, "STOPPING"),
        State::Exited => (code::EXITED, "EXITED"),
        State::Fatal => (code::FATAL, "FATAL"),
    }
}

/// supervisord's RUNNING_STATES: what `startProcess` calls already
/// started and `stopProcess` may stop.
pub fn is_running(s: State) -> bool {
    matches!(state(s).0, code::RUNNING | code::BACKOFF | code::STARTING)
}

/// supervisord's SIGNALLABLE_STATES.
pub fn is_signallable(s: State) -> bool {
    matches!(state(s).0, code::RUNNING | code::STARTING | code::STOPPING)
}

/// Now, as seconds since the epoch (the `now` of the struct).
pub fn wall_now() -> Duration {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
}

/// What the struct is made of, taken from a service at one instant.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Facts {
    pub name: String,
    pub group: String,
    pub state: Option<State>,
    /// Epoch seconds; 0 for never.
    pub start: i64,
    pub stop: i64,
    pub now: i64,
    pub pid: i32,
    pub spawnerr: String,
    pub exitstatus: i64,
    pub stdout_logfile: String,
    pub stderr_logfile: String,
    /// sv's own detail, the description of a PENDING service.
    pub pending: String,
}

impl Facts {
    /// The facts of `svc` at `now` (monotonic) = `wall` (since the epoch).
    /// `pending` is sv's status detail, used only while PENDING.
    pub fn of(svc: &Service, now: Instant, wall: Duration, pending: String) -> Facts {
        let m = &svc.machine;
        let epoch = |t: Option<Instant>| match t {
            Some(t) => wall
                .saturating_sub(now.saturating_duration_since(t))
                .as_secs() as i64,
            None => 0,
        };
        let spawnerr = match (m.state, &m.reason) {
            (State::Fatal, _) => svc_reason(svc),
            (State::Backoff, Reason::SpawnError(e) | Reason::NotReady(e)) => e.clone(),
            (State::Backoff, _) => TOO_QUICKLY.to_string(),
            _ => String::new(),
        };
        let log = |s: Stream| {
            let redirected = s == Stream::Stderr && svc.spec.redirect_stderr;
            match &svc.logs[s].path {
                Some(p) if !redirected => p.display().to_string(),
                _ => String::new(),
            }
        };
        Facts {
            name: svc.spec.name.clone(),
            group: super::names::group_of(svc).to_string(),
            state: Some(m.state),
            start: epoch(m.started_at),
            stop: epoch(m.stopped_at),
            now: wall.as_secs() as i64,
            pid: m.pid.unwrap_or(0),
            spawnerr,
            exitstatus: match m.last_exit {
                Some(ExitKind::Code(c)) => i64::from(c),
                Some(ExitKind::Signal(_)) => -1,
                Some(ExitKind::Unknown) | None => 0,
            },
            stdout_logfile: log(Stream::Stdout),
            stderr_logfile: log(Stream::Stderr),
            pending: if m.state == State::Pending {
                pending
            } else {
                String::new()
            },
        }
    }
}

/// The `description` supervisord gives (`_interpretProcessInfo`).
pub fn description(f: &Facts) -> String {
    let Some(s) = f.state else {
        return String::new();
    };
    match s {
        State::Running | State::Suspended => {
            let up = uptime((f.now - f.start).max(0) as u64);
            let suspended = if s == State::Suspended {
                " (suspended)"
            } else {
                ""
            };
            format!("pid {}, uptime {up}{suspended}", f.pid)
        }
        State::Pending => f.pending.clone(),
        State::Fatal | State::Backoff if f.spawnerr.is_empty() => {
            format!("unknown error (try \"tail {}\")", f.name)
        }
        State::Fatal | State::Backoff => f.spawnerr.clone(),
        State::Stopped | State::Exited if f.start != 0 => stop_time(f.stop),
        State::Stopped | State::Exited => "Not started".to_string(),
        State::Starting | State::Stopping => String::new(),
    }
}

/// The struct of `getProcessInfo`, keys in supervisord's order. Takes the
/// facts whole: their strings move into the answer, uncopied.
pub fn value(f: Facts) -> Value {
    let (code, name) = f.state.map(state).unwrap_or((1000, "UNKNOWN"));
    let description = description(&f);
    Value::object([
        ("name", Value::Str(f.name)),
        ("group", Value::Str(f.group)),
        ("start", f.start.into()),
        ("stop", f.stop.into()),
        ("now", f.now.into()),
        ("state", code.into()),
        ("statename", name.into()),
        ("spawnerr", Value::Str(f.spawnerr)),
        ("exitstatus", f.exitstatus.into()),
        ("logfile", f.stdout_logfile.as_str().into()),
        ("stdout_logfile", Value::Str(f.stdout_logfile)),
        ("stderr_logfile", Value::Str(f.stderr_logfile)),
        ("pid", f.pid.into()),
        ("description", description.into()),
    ])
}

/// One entry of a group method's answer (`make_allfunc`): the process,
/// and its fault code (`SUCCESS`, 80) with its text (`OK`).
pub fn result(name: &str, group: &str, status: i64, description: &str) -> Value {
    Value::object([
        ("name", Value::from(name)),
        ("group", group.into()),
        ("status", status.into()),
        ("description", description.into()),
    ])
}

/// An uptime as Python prints a `timedelta`: `0:00:05`, `1 day, 2:03:04`.
pub fn uptime(secs: u64) -> String {
    let days = secs / 86_400;
    let rest = clock(secs % 86_400);
    match days {
        0 => rest,
        1 => format!("1 day, {rest}"),
        d => format!("{d} days, {rest}"),
    }
}

/// A stop time as supervisord writes it: local time, `Dec 06 06:25 PM`.
// libc marks musl's time_t deprecated (it will follow musl 1.2's 64 bits);
// on x86_64 it is 64 bits already.
#[allow(deprecated)]
pub fn stop_time(epoch: i64) -> String {
    let t = epoch as libc::time_t;
    // SAFETY: an all-zero tm is a valid value to be overwritten.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are to live locals of the right types.
    if unsafe { libc::localtime_r(&t, &mut tm) }.is_null() {
        return String::new();
    }
    let mut buf = [0u8; 64];
    // SAFETY: the format is a NUL-terminated string, the buffer's length
    // is given, and strftime writes at most that much.
    let n = unsafe {
        libc::strftime(
            buf.as_mut_ptr().cast(),
            buf.len(),
            c"%b %d %I:%M %p".as_ptr(),
            &tm,
        )
    };
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(state: State) -> Facts {
        Facts {
            name: "web".into(),
            group: "web".into(),
            state: Some(state),
            start: 1_000,
            stop: 2_000,
            now: 1_065,
            pid: 42,
            ..Facts::default()
        }
    }

    #[test]
    fn descriptions_as_supervisord() {
        assert_eq!(
            description(&facts(State::Running)),
            "pid 42, uptime 0:01:05"
        );
        assert_eq!(
            description(&facts(State::Suspended)),
            "pid 42, uptime 0:01:05 (suspended)"
        );
        let never = Facts {
            start: 0,
            ..facts(State::Stopped)
        };
        assert_eq!(description(&never), "Not started");
        assert_eq!(
            description(&facts(State::Exited)),
            stop_time(2_000),
            "a stopped or exited process shows its stop time"
        );
        assert_eq!(
            description(&facts(State::Fatal)),
            "unknown error (try \"tail web\")"
        );
        let fatal = Facts {
            spawnerr: TOO_QUICKLY.into(),
            ..facts(State::Fatal)
        };
        assert_eq!(description(&fatal), TOO_QUICKLY);
        assert_eq!(description(&facts(State::Starting)), "");
        assert_eq!(description(&facts(State::Stopping)), "");
        let pending = Facts {
            pending: "starts in 3 s".into(),
            ..facts(State::Pending)
        };
        assert_eq!(description(&pending), "starts in 3 s");
    }

    #[test]
    fn sv_states_show_as_the_nearest_of_supervisord() {
        assert_eq!(state(State::Pending), (30, "BACKOFF"));
        assert_eq!(state(State::Suspended), (20, "RUNNING"));
        assert_eq!(state(State::Fatal), (200, "FATAL"));
        for s in State::ALL {
            let (code, name) = state(s);
            assert_eq!(
                crate::wire::xmlrpc::codes::process_state_code(name),
                code,
                "{s:?}"
            );
        }
        assert!(is_running(State::Backoff) && is_running(State::Pending));
        assert!(!is_running(State::Stopping) && !is_running(State::Exited));
        assert!(is_signallable(State::Stopping) && !is_signallable(State::Backoff));
    }

    #[test]
    fn the_struct_has_supervisords_keys_in_order() {
        let Value::Struct(members) = value(facts(State::Running)) else {
            panic!("not a struct");
        };
        let keys: Vec<&str> = members.iter().map(|(k, _)| k.as_ref()).collect();
        assert_eq!(
            keys,
            [
                "name",
                "group",
                "start",
                "stop",
                "now",
                "state",
                "statename",
                "spawnerr",
                "exitstatus",
                "logfile",
                "stdout_logfile",
                "stderr_logfile",
                "pid",
                "description"
            ]
        );
    }

    #[test]
    fn uptime_as_a_python_timedelta() {
        assert_eq!(uptime(5), "0:00:05");
        assert_eq!(uptime(86_400 + 3_723), "1 day, 1:02:03");
        assert_eq!(uptime(3 * 86_400), "3 days, 0:00:00");
    }

    #[test]
    fn stop_time_is_month_day_hour_minute_ampm() {
        let t = stop_time(wall_now().as_secs() as i64);
        let parts: Vec<&str> = t.split(' ').collect();
        assert_eq!(parts.len(), 4, "{t}");
        assert_eq!(parts[0].len(), 3, "{t}");
        assert_eq!(parts[1].len(), 2, "{t}");
        assert_eq!(parts[2].len(), 5, "{t}");
        assert!(parts[3] == "AM" || parts[3] == "PM", "{t}");
    }
}
