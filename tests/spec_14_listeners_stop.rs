//! SPEC §14, the protocol seen from plain shell listeners
//! (testdata/listeners): every header and payload recorded, FAIL answered
//! once (the event comes again), and the usual "stop the container when a
//! program dies" listeners, which end the daemon and leave nothing
//! running. Same config and same checks on the real supervisord and on
//! sv started through a `supervisord` symlink (tests/common/listeners.rs).

mod common;

use common::listeners::{both, Daemon};
use common::{alive, wait_until};
use std::os::unix::process::ExitStatusExt;

/// `HEADER line` / `PAYLOAD text` pairs from fail_once.sh's record.
fn events(record: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut lines = record.lines();
    while let Some(h) = lines.next() {
        let header = h
            .strip_prefix("HEADER ")
            .unwrap_or_else(|| panic!("{record}"));
        let payload = lines.next().and_then(|p| p.strip_prefix("PAYLOAD "));
        out.push((
            header.to_string(),
            payload.unwrap_or_else(|| panic!("{record}")).to_string(),
        ));
    }
    out
}

/// One `key:value` field of a header or payload line.
fn field<'a>(line: &'a str, key: &str) -> &'a str {
    line.split(' ')
        .find_map(|w| w.strip_prefix(key).and_then(|v| v.strip_prefix(':')))
        .unwrap_or_else(|| panic!("no {key} in {line:?}"))
}

/// The text with the values of `pid:` and `len:` blanked (a pid's digits
/// differ from run to run, and so the payload's length).
fn blank_pids(s: &str) -> String {
    s.split(' ')
        .map(|w| match w.split_once(':') {
            Some(("pid", _)) => "pid:N",
            Some(("len", _)) => "len:N",
            _ => w,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A listener that answers FAIL gets the same event again, the same
/// header (serial and poolserial too) and payload, before any other; the
/// headers have protocol 3.0's fields in its order, `len` the payload's.
#[test]
fn an_event_answered_fail_is_sent_again() {
    let body = "\
[program:prog]
command=/bin/sleep 1000
startsecs=0
autostart=false

[eventlistener:recorder]
command={t}/fail_once.sh {d}/events.rec
events=PROCESS_STATE_RUNNING
";
    both(body, |d: &mut Daemon| {
        d.wait_state("recorder", "RUNNING", 20);
        let (code, out) = d.ctl(&["start", "prog"]);
        assert_eq!(code, 0, "{:?}: start prog: {out}", d.kind);
        let pid = d.pid_of("prog").expect("prog has a pid");
        let seen = wait_until(20, || d.read("events.rec").contains("processname:prog "));
        let record = d.read("events.rec");
        assert!(
            seen,
            "{:?}: prog's event never came: {record}\n{}",
            d.kind,
            d.log()
        );
        let ev = events(&record);
        assert!(ev.len() >= 3, "{:?}: {record}", d.kind);
        // The first event, failed, comes again at once, the same.
        assert_eq!(
            ev[0], ev[1],
            "{:?}: not sent again as it was: {record}",
            d.kind
        );
        for (header, payload) in &ev {
            let keys: Vec<&str> = header
                .split(' ')
                .map(|w| w.split(':').next().unwrap())
                .collect();
            assert_eq!(
                keys,
                [
                    "ver",
                    "server",
                    "serial",
                    "pool",
                    "poolserial",
                    "eventname",
                    "len"
                ],
                "{:?}: {header}",
                d.kind
            );
            assert_eq!(field(header, "ver"), "3.0", "{header}");
            assert_eq!(field(header, "server"), "evtest", "{header}");
            assert_eq!(field(header, "pool"), "recorder", "{header}");
            assert_eq!(
                field(header, "eventname"),
                "PROCESS_STATE_RUNNING",
                "{header}"
            );
            assert_eq!(field(header, "len"), payload.len().to_string(), "{header}");
        }
        // The next one follows it: serials count on from the failed one.
        let serial = |i: usize, k: &str| field(&ev[i].0, k).parse::<u64>().unwrap();
        assert_eq!(
            serial(2, "poolserial"),
            serial(1, "poolserial") + 1,
            "{record}"
        );
        assert!(serial(2, "serial") > serial(1, "serial"), "{record}");
        // prog's own event: its name, group, from_state and pid.
        let last = &ev.last().unwrap().1;
        assert_eq!(
            last,
            &format!("processname:prog groupname:prog from_state:STARTING pid:{pid}"),
            "{:?}",
            d.kind
        );
        ev.iter()
            .map(|(h, p)| format!("{}\n{}", blank_pids(h), blank_pids(p)))
            .collect::<Vec<_>>()
    });
}

/// Pids of the daemon's programs and listener (by name), then the daemon's
/// own: what must all be gone once the listener has ended the daemon.
fn recorded(d: &Daemon, names: &[&str]) -> Vec<i32> {
    let mut pids: Vec<i32> = names
        .iter()
        .map(|n| {
            d.pid_of(n)
                .unwrap_or_else(|| panic!("{:?}: {n} has no pid", d.kind))
        })
        .collect();
    pids.push(d.pid());
    pids
}

/// After the daemon has exited: its exit (code or signal), whether every
/// recorded pid is gone, whether the pidfile is.
fn ended(d: &mut Daemon, pids: &[i32]) -> (Option<i32>, Option<i32>, bool, bool) {
    let Some(status) = d.wait_exit(30) else {
        panic!("{:?}: the daemon did not end\n{}", d.kind, d.log());
    };
    let gone = wait_until(10, || pids.iter().all(|&p| !alive(p)));
    let left: Vec<&i32> = pids.iter().filter(|&&p| alive(p)).collect();
    assert!(gone, "{:?}: still running: {left:?}", d.kind);
    let pidfile = d.dir.join("supervisord.pid").exists();
    (status.code(), status.signal(), gone, pidfile)
}

/// A listener on PROCESS_STATE_FATAL that kills the pid in the pidfile
/// (SIGTERM): the daemon stops everything and exits.
#[test]
fn a_listener_that_kills_the_pidfile_pid_ends_the_daemon() {
    let body = "\
[program:web]
command=/bin/sleep 1000
startsecs=0

[program:dies]
command=/bin/false
startsecs=1
startretries=1
autostart=false

[eventlistener:stopper]
command={t}/kill_pidfile.sh {d}/supervisord.pid
events=PROCESS_STATE_FATAL
";
    both(body, |d: &mut Daemon| {
        d.wait_state("web", "RUNNING", 20);
        d.wait_state("stopper", "RUNNING", 20);
        let pids = recorded(d, &["web", "stopper"]);
        // Its answer does not matter: the daemon may be gone before it.
        let _ = d.ctl(&["start", "dies"]);
        ended(d, &pids)
    });
}

/// The listener found in the wild: `kill -SIGQUIT $PPID` on any event
/// (here a program's PROCESS_STATE_EXITED): the daemon stops everything
/// and exits.
#[test]
fn a_listener_that_sends_sigquit_to_its_parent_ends_the_daemon() {
    let body = "\
[program:web]
command=/bin/sleep 1000
startsecs=0

[program:job]
command=/bin/true
startsecs=0
autostart=false
autorestart=false

[eventlistener:quitter]
command={t}/sigquit_parent.sh
events=PROCESS_STATE_EXITED
";
    both(body, |d: &mut Daemon| {
        d.wait_state("web", "RUNNING", 20);
        d.wait_state("quitter", "RUNNING", 20);
        let pids = recorded(d, &["web", "quitter"]);
        let _ = d.ctl(&["start", "job"]);
        ended(d, &pids)
    });
}
