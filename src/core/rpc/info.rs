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

use crate::core::service::{ExitKind, Reason, State};
use crate::core::stream::Stream;
use crate::core::supervisor::{svc_reason, Service};
use crate::wire::xmlrpc::write as xml;
use crate::wire::xmlrpc::Value;
use std::borrow::Cow;
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

/// What the struct is made of, taken from a service at one instant:
/// borrowed from it, so the struct of each process costs no allocation
/// (only a FATAL reason or a PENDING detail is made for it).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Facts<'a> {
    pub name: &'a str,
    pub group: &'a str,
    pub state: Option<State>,
    /// Epoch seconds; 0 for never.
    pub start: i64,
    pub stop: i64,
    pub now: i64,
    pub pid: i32,
    pub spawnerr: Cow<'a, str>,
    pub exitstatus: i64,
    pub stdout_logfile: Cow<'a, str>,
    pub stderr_logfile: Cow<'a, str>,
    /// sv's own detail, the description of a PENDING service.
    pub pending: String,
}

impl<'a> Facts<'a> {
    /// The facts of `svc` at `now` (monotonic) = `wall` (since the epoch).
    /// `pending` is sv's status detail, used only while PENDING.
    pub fn of(svc: &'a Service, now: Instant, wall: Duration, pending: String) -> Facts<'a> {
        let m = &svc.machine;
        let epoch = |t: Option<Instant>| match t {
            Some(t) => wall
                .saturating_sub(now.saturating_duration_since(t))
                .as_secs() as i64,
            None => 0,
        };
        let spawnerr = match (m.state, &m.reason) {
            (State::Fatal, _) => Cow::Owned(svc_reason(svc)),
            (State::Backoff, Reason::SpawnError(e) | Reason::NotReady(e)) => Cow::Borrowed(&**e),
            (State::Backoff, _) => Cow::Borrowed(TOO_QUICKLY),
            _ => Cow::Borrowed(""),
        };
        let log = |s: Stream| {
            let redirected = s == Stream::Stderr && svc.spec.redirect_stderr;
            match &svc.logs[s].path {
                Some(p) if !redirected => p.to_string_lossy(),
                _ => Cow::Borrowed(""),
            }
        };
        Facts {
            name: &svc.spec.name,
            group: super::names::group_of(svc),
            state: Some(m.state),
            start: epoch(m.started_at),
            stop: epoch(m.stopped_at),
            now: wall.as_secs() as i64,
            pid: m.pid.unwrap_or(0),
            spawnerr,
            // supervisord clears it at each spawn and for an exit too
            // quickly: only a run that ended (EXITED, STOPPED) has one.
            exitstatus: match m.last_exit {
                _ if !matches!(m.state, State::Exited | State::Stopped) => 0,
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
    let mut out = String::new();
    describe(&mut out, f, |o, t| o.push_str(t));
    out
}

/// Writes the description into `out`: text that may hold anything goes
/// through `text` (XML escaping in an answer); the rest is ASCII.
fn describe(out: &mut String, f: &Facts, text: fn(&mut String, &str)) {
    let Some(s) = f.state else {
        return;
    };
    match s {
        State::Running | State::Suspended => {
            out.push_str("pid ");
            xml::int(out, i64::from(f.pid));
            out.push_str(", uptime ");
            uptime_in(out, (f.now - f.start).max(0) as u64);
            if s == State::Suspended {
                out.push_str(" (suspended)");
            }
        }
        State::Pending => text(out, &f.pending),
        State::Fatal | State::Backoff if f.spawnerr.is_empty() => {
            out.push_str("unknown error (try \"tail ");
            text(out, f.name);
            out.push_str("\")");
        }
        State::Fatal | State::Backoff => text(out, &f.spawnerr),
        State::Stopped | State::Exited if f.start != 0 => text(out, &stop_time(f.stop)),
        State::Stopped | State::Exited => out.push_str("Not started"),
        State::Starting | State::Stopping => {}
    }
}

/// The struct of `getProcessInfo`, keys in supervisord's order, written
/// as XML straight into `out`: the same bytes as the Value tree of these
/// members would give, without the tree (getAllProcessInfo writes one
/// per process).
pub fn write(out: &mut String, f: &Facts) {
    let (code, name) = f.state.map(state).unwrap_or((1000, "UNKNOWN"));
    xml::lit(
        out,
        b"<value><struct>\n<member>\n<name>name</name>\n<value><string>",
    );
    xml::escape(out, f.name);
    xml::lit(
        out,
        b"</string></value>\n</member>\n<member>\n<name>group</name>\n<value><string>",
    );
    xml::escape(out, f.group);
    xml::lit(
        out,
        b"</string></value>\n</member>\n<member>\n<name>start</name>\n<value><int>",
    );
    xml::int(out, f.start);
    xml::lit(
        out,
        b"</int></value>\n</member>\n<member>\n<name>stop</name>\n<value><int>",
    );
    xml::int(out, f.stop);
    xml::lit(
        out,
        b"</int></value>\n</member>\n<member>\n<name>now</name>\n<value><int>",
    );
    xml::int(out, f.now);
    xml::lit(
        out,
        b"</int></value>\n</member>\n<member>\n<name>state</name>\n<value><int>",
    );
    xml::int(out, code);
    xml::lit(
        out,
        b"</int></value>\n</member>\n<member>\n<name>statename</name>\n<value><string>",
    );
    out.push_str(name);
    xml::lit(
        out,
        b"</string></value>\n</member>\n<member>\n<name>spawnerr</name>\n<value><string>",
    );
    xml::escape(out, &f.spawnerr);
    xml::lit(
        out,
        b"</string></value>\n</member>\n<member>\n<name>exitstatus</name>\n<value><int>",
    );
    xml::int(out, f.exitstatus);
    xml::lit(
        out,
        b"</int></value>\n</member>\n<member>\n<name>logfile</name>\n<value><string>",
    );
    xml::escape(out, &f.stdout_logfile);
    xml::lit(
        out,
        b"</string></value>\n</member>\n<member>\n<name>stdout_logfile</name>\n<value><string>",
    );
    xml::escape(out, &f.stdout_logfile);
    xml::lit(
        out,
        b"</string></value>\n</member>\n<member>\n<name>stderr_logfile</name>\n<value><string>",
    );
    xml::escape(out, &f.stderr_logfile);
    xml::lit(
        out,
        b"</string></value>\n</member>\n<member>\n<name>pid</name>\n<value><int>",
    );
    xml::int(out, i64::from(f.pid));
    xml::lit(
        out,
        b"</int></value>\n</member>\n<member>\n<name>description</name>\n<value><string>",
    );
    describe(out, f, xml::escape);
    xml::lit(out, b"</string></value>\n</member>\n</struct></value>\n");
}

/// The struct of `getProcessInfo` as a value (see [`write`]).
pub fn value(f: &Facts) -> Value {
    let mut out = String::with_capacity(1024);
    write(&mut out, f);
    Value::Xml(out)
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
    let mut out = String::new();
    uptime_in(&mut out, secs);
    out
}

/// [`uptime`], appended to `out` without the formatting machinery.
fn uptime_in(out: &mut String, secs: u64) {
    let days = secs / 86_400;
    let rest = secs % 86_400;
    if days > 0 {
        xml::int(out, days as i64);
        out.push_str(if days == 1 { " day, " } else { " days, " });
    }
    xml::int(out, (rest / 3600) as i64);
    for part in [rest / 60 % 60, rest % 60] {
        out.push(':');
        out.push(char::from(b'0' + (part / 10) as u8));
        out.push(char::from(b'0' + (part % 10) as u8));
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

    fn facts(state: State) -> Facts<'static> {
        Facts {
            name: "web",
            group: "web",
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

    /// The struct as a Value tree, built as the codec's own values are:
    /// what [`write`] must match byte for byte.
    fn tree(f: &Facts) -> Value {
        let (code, name) = f.state.map(state).unwrap_or((1000, "UNKNOWN"));
        Value::object([
            ("name", f.name.into()),
            ("group", f.group.into()),
            ("start", f.start.into()),
            ("stop", f.stop.into()),
            ("now", f.now.into()),
            ("state", code.into()),
            ("statename", name.into()),
            ("spawnerr", f.spawnerr.as_ref().into()),
            ("exitstatus", f.exitstatus.into()),
            ("logfile", f.stdout_logfile.as_ref().into()),
            ("stdout_logfile", f.stdout_logfile.as_ref().into()),
            ("stderr_logfile", f.stderr_logfile.as_ref().into()),
            ("pid", f.pid.into()),
            ("description", description(f).into()),
        ])
    }

    #[test]
    fn the_struct_is_written_as_the_tree_of_supervisords_keys_would_be() {
        let odd = Facts {
            name: "a<b&c",
            spawnerr: "bad \r\x01 <thing> \u{FFFE}".into(),
            stdout_logfile: "/var/log/x&y.log".into(),
            exitstatus: -1,
            ..facts(State::Fatal)
        };
        let long = Facts {
            now: 1_000 + 3 * 86_400 + 3_723,
            ..facts(State::Suspended)
        };
        let pending = Facts {
            pending: "starts in 3 s".into(),
            ..facts(State::Pending)
        };
        let all = [
            State::Running,
            State::Stopped,
            State::Exited,
            State::Backoff,
        ];
        let mut cases: Vec<Facts> = all.into_iter().map(facts).collect();
        cases.extend([odd, long, pending, Facts::default()]);
        for f in &cases {
            let mut out = String::new();
            write(&mut out, f);
            let want = crate::wire::xmlrpc::response(&tree(f));
            let got = crate::wire::xmlrpc::response(&Value::Xml(out));
            assert_eq!(
                String::from_utf8_lossy(&got),
                String::from_utf8_lossy(&want),
                "{f:?}"
            );
            let back = crate::wire::xmlrpc::parse_response(&got).unwrap().unwrap();
            let Value::Struct(members) = back else {
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
