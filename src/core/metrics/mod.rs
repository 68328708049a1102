//! `GET /metrics` (SPEC §16), the pure part: the Prometheus text format
//! 0.0.4 from rows the daemon fills in, and what a process group costs
//! (`proc`: one bounded read of /proc per scrape).
//!
//! Numbers are written by hand, not through `format!`: a scrape of 10 000
//! services is some 200 000 lines, and the binary stays small.

pub mod proc;

use crate::core::service::{ExitKind, State};

/// Why a process ended, as `sv_service_exits_total{reason}` counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitReason {
    /// An exit code in `exitcodes`.
    Expected,
    /// Any other exit code.
    Unexpected,
    /// Killed by a signal sv did not send to stop it.
    Signal,
    /// Ended while sv was stopping it (stop, restart, a health action).
    Stopped,
    /// An adopted process: only its disappearance is seen.
    Unknown,
}

const REASONS: [&str; 5] = ["expected", "unexpected", "signal", "stopped", "unknown"];

impl ExitReason {
    /// The reason of an exit seen in `before` (the state it ended in).
    pub fn of(before: State, kind: ExitKind, exitcodes: &[i32]) -> ExitReason {
        match kind {
            _ if before == State::Stopping => ExitReason::Stopped,
            ExitKind::Code(c) if exitcodes.contains(&c) => ExitReason::Expected,
            ExitKind::Code(_) => ExitReason::Unexpected,
            ExitKind::Signal(_) => ExitReason::Signal,
            ExitKind::Unknown => ExitReason::Unknown,
        }
    }
}

/// A service's exits by reason, since the daemon started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Exits([u32; 5]);

impl Exits {
    pub fn count(&mut self, r: ExitReason) {
        let i = r as usize;
        self.0[i] = self.0[i].saturating_add(1);
    }
}

/// One service as a scrape shows it.
pub struct Row<'a> {
    pub name: &'a str,
    pub group: &'a str,
    pub state: State,
    /// It has a process.
    pub up: bool,
    pub ready: bool,
    pub healthy: bool,
    pub restarts: u32,
    pub exits: Exits,
    /// When its process started, in ms since the epoch (None: no process).
    pub started_ms: Option<u64>,
    /// Its process group's CPU time (clock ticks) and resident pages.
    pub usage: Option<proc::Usage>,
}

/// The daemon's own series.
pub struct DaemonRow {
    pub instance: u8,
    pub started_ms: u64,
    pub cpu_ticks: u64,
}

/// The whole answer of `/metrics`.
pub fn render(rows: &[Row], d: &DaemonRow, units: proc::Units, out: &mut Vec<u8>) {
    let mut inst = Vec::with_capacity(16);
    inst.extend_from_slice(b"instance=\"");
    push_u64(&mut inst, d.instance as u64);
    inst.push(b'"');
    // Each row's labels, once: `{name="..",group="..",instance="N"`; a
    // sample is then three copies and its value (musl's memcpy costs per
    // call: 10 000 services are 210 000 samples), all in one buffer (one
    // allocation, not one a service).
    let mut flat = Vec::with_capacity(rows.len() * 64);
    let mut ends = Vec::with_capacity(rows.len());
    for r in rows {
        flat.extend_from_slice(b"{name=\"");
        escape(&mut flat, r.name);
        flat.extend_from_slice(b"\",group=\"");
        escape(&mut flat, r.group);
        flat.extend_from_slice(b"\",");
        flat.extend_from_slice(&inst);
        ends.push(flat.len());
    }
    let mut start = 0;
    let labels: Vec<&[u8]> = (ends.iter())
        .map(|&e| {
            let l = &flat[start..e];
            start = e;
            l
        })
        .collect();
    // A series' name and labels, written once for the samples of a row
    // that differ in one label.
    let mut pre = Vec::with_capacity(256);
    let each = |out: &mut Vec<u8>, name: &str, help: &str, kind: &str, f: &dyn Fn(&Row) -> Val| {
        family(out, name, help, kind);
        for (r, l) in rows.iter().zip(&labels) {
            sample(out, name, l, b"} ", f(r));
        }
    };
    family(
        out,
        "sv_service_state",
        "1 for the service's current state, 0 for the others.",
        "gauge",
    );
    // `,state="RUNNING"} 0` and `1` and the like, once: a sample is then
    // two copies.
    let states = State::ALL.map(|s| {
        let e = extra("state", s.name());
        [[&e[..], b"0\n"].concat(), [&e[..], b"1\n"].concat()]
    });
    for (r, l) in rows.iter().zip(&labels) {
        prefix(&mut pre, "sv_service_state", l);
        for (s, e) in State::ALL.iter().zip(&states) {
            out.extend_from_slice(&pre);
            out.extend_from_slice(&e[(*s == r.state) as usize]);
        }
    }
    let flag = |b: bool| Val::Int(b as u64);
    each(
        out,
        "sv_service_up",
        "1 when the service has a process.",
        "gauge",
        &|r| flag(r.up),
    );
    each(
        out,
        "sv_service_ready",
        "1 when RUNNING (with ready=, its check has passed).",
        "gauge",
        &|r| flag(r.ready),
    );
    each(
        out,
        "sv_service_healthy",
        "1 when RUNNING and its health check, if any, is not failing.",
        "gauge",
        &|r| flag(r.healthy),
    );
    each(
        out,
        "sv_service_restarts_total",
        "Automatic restarts of a process that had left STARTING (with sv's restart=N, \
         every retry) and restarts by health checks, as sv status counts them; 0 again \
         at a start command. A crash loop in STARTING/BACKOFF counts in \
         sv_service_exits_total{reason=\"unexpected\"} instead.",
        "counter",
        &|r| Val::Int(r.restarts as u64),
    );
    family(
        out,
        "sv_service_exits_total",
        "Processes of the service that ended, by reason, since the daemon started.",
        "counter",
    );
    let reasons = REASONS.map(|r| extra("reason", r));
    for (r, l) in rows.iter().zip(&labels) {
        prefix(&mut pre, "sv_service_exits_total", l);
        for (n, e) in r.exits.0.iter().zip(&reasons) {
            out.extend_from_slice(&pre);
            value(out, e, Val::Int(u64::from(*n)));
        }
    }
    let some =
        |out: &mut Vec<u8>, name: &str, help: &str, kind: &str, f: &dyn Fn(&Row) -> Option<Val>| {
            family(out, name, help, kind);
            for (r, l) in rows.iter().zip(&labels) {
                if let Some(v) = f(r) {
                    sample(out, name, l, b"} ", v);
                }
            }
        };
    some(
        out,
        "sv_service_start_time_seconds",
        "When its process started, in seconds since the epoch (services with a process).",
        "gauge",
        &|r| r.started_ms.map(Val::Millis),
    );
    some(
        out,
        "sv_service_cpu_seconds_total",
        "User and system CPU time of its process group's live members.",
        "counter",
        &|r| r.usage.map(|u| Val::Millis(units.cpu_ms(u.ticks))),
    );
    some(
        out,
        "sv_service_memory_rss_bytes",
        "Resident memory of its process group's live members.",
        "gauge",
        &|r| {
            r.usage
                .map(|u| Val::Int(u.pages.saturating_mul(units.page)))
        },
    );
    let daemon = |out: &mut Vec<u8>, name: &str, help: &str, kind: &str, v: Val| {
        family(out, name, help, kind);
        sample(out, name, &[b"{", &inst[..]].concat(), b"} ", v);
    };
    daemon(
        out,
        "sv_daemon_start_time_seconds",
        "When the daemon started, in seconds since the epoch.",
        "gauge",
        Val::Millis(d.started_ms),
    );
    daemon(
        out,
        "sv_daemon_services",
        "Services the daemon supervises.",
        "gauge",
        Val::Int(rows.len() as u64),
    );
    daemon(
        out,
        "sv_daemon_cpu_seconds_total",
        "User and system CPU time of the daemon itself.",
        "counter",
        Val::Millis(units.cpu_ms(d.cpu_ticks)),
    );
}

/// A sample's value: a count, or thousandths (written as `S.mmm`).
#[derive(Clone, Copy)]
enum Val {
    Int(u64),
    Millis(u64),
}

/// `,KEY="VALUE"} `, a label after the common ones and the end of the
/// labels (VALUE needs no escape).
fn extra(key: &str, value: &str) -> Vec<u8> {
    [",", key, "=\"", value, "\"} "].concat().into_bytes()
}

fn family(out: &mut Vec<u8>, name: &str, help: &str, kind: &str) {
    for part in [
        "# HELP ",
        name,
        " ",
        help,
        "\n# TYPE ",
        name,
        " ",
        kind,
        "\n",
    ] {
        out.extend_from_slice(part.as_bytes());
    }
}

/// `NAME{LABELS` into `pre`.
fn prefix(pre: &mut Vec<u8>, name: &str, labels: &[u8]) {
    pre.clear();
    pre.extend_from_slice(name.as_bytes());
    pre.extend_from_slice(labels);
}

fn sample(out: &mut Vec<u8>, name: &str, labels: &[u8], extra: &[u8], v: Val) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(labels);
    value(out, extra, v);
}

/// The end of a sample: `extra` (the last labels' end), its value, `\n`.
fn value(out: &mut Vec<u8>, extra: &[u8], v: Val) {
    out.extend_from_slice(extra);
    match v {
        Val::Int(n) => push_u64(out, n),
        Val::Millis(ms) => {
            push_u64(out, ms / 1000);
            let f = ms % 1000;
            out.push(b'.');
            for d in [f / 100, f / 10 % 10, f % 10] {
                out.push(b'0' + d as u8);
            }
        }
    }
    out.push(b'\n');
}

/// A label value as the format wants it: `\`, `"` and newline escaped.
pub fn escape(out: &mut Vec<u8>, v: &str) {
    for b in v.bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'"' => out.extend_from_slice(b"\\\""),
            b'\n' => out.extend_from_slice(b"\\n"),
            b => out.push(b),
        }
    }
}

fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // Byte by byte: a call to memcpy costs more than a few digits.
    for &b in &buf[i..] {
        out.push(b);
    }
}

#[cfg(test)]
mod tests {
    use super::proc::{Units, Usage};
    use super::*;

    fn text(rows: &[Row]) -> String {
        let d = DaemonRow {
            instance: 3,
            started_ms: 1_700_000_000_250,
            cpu_ticks: 150,
        };
        let mut out = Vec::new();
        render(
            rows,
            &d,
            Units {
                hz: 100,
                page: 4096,
            },
            &mut out,
        );
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn labels_are_escaped() {
        let mut out = Vec::new();
        escape(&mut out, "a\\b\"c\nd");
        assert_eq!(out, b"a\\\\b\\\"c\\nd");
    }

    #[test]
    fn a_running_service_and_the_daemon() {
        let mut exits = Exits::default();
        exits.count(ExitReason::of(State::Running, ExitKind::Code(1), &[0]));
        exits.count(ExitReason::of(State::Stopping, ExitKind::Signal(15), &[0]));
        let row = Row {
            name: "web",
            group: "g\"1",
            state: State::Running,
            up: true,
            ready: true,
            healthy: false,
            restarts: 7,
            exits,
            started_ms: Some(1_700_000_001_005),
            usage: Some(Usage {
                ticks: 250,
                pages: 3,
            }),
        };
        let t = text(&[row]);
        let l = "name=\"web\",group=\"g\\\"1\",instance=\"3\"";
        for want in [
            "# TYPE sv_service_state gauge\n".to_string(),
            format!("sv_service_state{{{l},state=\"RUNNING\"}} 1\n"),
            format!("sv_service_state{{{l},state=\"FATAL\"}} 0\n"),
            format!("sv_service_healthy{{{l}}} 0\n"),
            format!("sv_service_restarts_total{{{l}}} 7\n"),
            format!("sv_service_exits_total{{{l},reason=\"unexpected\"}} 1\n"),
            format!("sv_service_exits_total{{{l},reason=\"stopped\"}} 1\n"),
            format!("sv_service_exits_total{{{l},reason=\"signal\"}} 0\n"),
            format!("sv_service_start_time_seconds{{{l}}} 1700000001.005\n"),
            format!("sv_service_cpu_seconds_total{{{l}}} 2.500\n"),
            format!("sv_service_memory_rss_bytes{{{l}}} 12288\n"),
            "sv_daemon_start_time_seconds{instance=\"3\"} 1700000000.250\n".to_string(),
            "sv_daemon_services{instance=\"3\"} 1\n".to_string(),
            "sv_daemon_cpu_seconds_total{instance=\"3\"} 1.500\n".to_string(),
        ] {
            assert!(t.contains(&want), "no {want:?} in\n{t}");
        }
        assert_eq!(t.matches("sv_service_state{").count(), State::ALL.len());
    }

    #[test]
    fn no_process_no_time_or_usage() {
        let row = Row {
            name: "idle",
            group: "idle",
            state: State::Stopped,
            up: false,
            ready: false,
            healthy: false,
            restarts: 0,
            exits: Exits::default(),
            started_ms: None,
            usage: None,
        };
        let t = text(&[row]);
        assert!(t.contains("sv_service_up{name=\"idle\",group=\"idle\",instance=\"3\"} 0\n"));
        assert!(!t.contains("sv_service_start_time_seconds{"));
        assert!(!t.contains("sv_service_cpu_seconds_total{"));
        // Every family has its HELP and TYPE even with no sample.
        assert!(t.contains("# TYPE sv_service_memory_rss_bytes gauge\n"));
    }
}
