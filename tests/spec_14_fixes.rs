//! Fixes after the new-user trial of SPEC §14 (trial 15): XML-RPC
//! `stopProcess` stops what an exited program left behind (§11), event
//! listeners' FAIL redelivery, shutdown order, priorities and config
//! errors, judged against the real supervisord where it can run.

mod common;

use common::listeners::{both, Daemon, Kind};
use common::{alive, kill, wait_until};

/// The pids recorded in `file` of the daemon's directory.
fn pids(d: &Daemon, file: &str) -> Vec<i32> {
    d.read(file)
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// Kills, by pid, what a test recorded and left alive.
struct Recorded<'a>(&'a Daemon, &'static str);

impl Drop for Recorded<'_> {
    fn drop(&mut self) {
        for pid in pids(self.0, self.1).into_iter().filter(|&p| alive(p)) {
            kill(pid, libc::SIGKILL);
        }
    }
}

/// `supervisorctl stop` of an EXITED program that daemonized answers as
/// supervisord does (not running) and stops the daemon it left behind,
/// so `start` runs one daemon, not two.
#[test]
fn stop_of_an_exited_program_stops_what_it_left_behind() {
    let body = "\
[program:daemon]
command=/bin/sh {d}/daemon.sh
startsecs=0
autostart=false
autorestart=false
";
    let Some(d) = Daemon::start(Kind::Sv, body) else {
        return;
    };
    let _rec = Recorded(&d, "pids");
    // Its parent ends once the daemon runs `sleep` (not mid-exec when the
    // daemon looks at what was left and whose it is).
    let script = "(setsid sh -c 'echo $$ >> PIDS; exec sleep 300' &\n\
                  while [ \"$(cat /proc/$(cat PIDS)/comm 2>/dev/null)\" != sleep ]; do sleep 0.01; done)\n\
                  exit 0\n"
        .replace("PIDS", &d.dir.join("pids").display().to_string());
    std::fs::write(d.dir.join("daemon.sh"), script).unwrap();
    let (rc, out) = d.ctl(&["start", "daemon"]);
    assert_eq!(rc, 0, "{out}");
    d.wait_state("daemon", "EXITED", 20);
    assert!(
        wait_until(20, || pids(&d, "pids").len() == 1),
        "no daemon pid"
    );
    let first = pids(&d, "pids")[0];
    assert!(alive(first), "the daemon {first} is not running");
    let (_, out) = d.ctl(&["stop", "daemon"]);
    assert!(out.contains("daemon: ERROR (not running)"), "{out}");
    assert!(
        wait_until(20, || !alive(first)),
        "the daemon {first} left behind still runs\n{}",
        d.log()
    );
    let (rc, out) = d.ctl(&["start", "daemon"]);
    assert_eq!(rc, 0, "{out}");
    assert!(
        wait_until(20, || pids(&d, "pids").len() == 2),
        "no second daemon"
    );
    let running: Vec<i32> = pids(&d, "pids").into_iter().filter(|&p| alive(p)).collect();
    assert_eq!(running.len(), 1, "daemons running: {running:?}");
}

/// A listener's group is of priority -1 (started first, stopped last) and
/// its process of 999, as supervisord's `avail` shows them.
#[test]
fn avail_shows_a_listeners_priorities_as_supervisord() {
    let body = "\
[eventlistener:ears]
command=/bin/cat
events=TICK_60
";
    both(body, |d: &mut Daemon| {
        let (code, out) = d.ctl(&["avail"]);
        (code, out.split_whitespace().collect::<Vec<_>>().join(" "))
    });
}

/// `getProcessInfo(NAME)['exitstatus']` through python's xmlrpc.client and
/// supervisor's own unix transport.
fn exitstatus(d: &Daemon, name: &str) -> String {
    let py = common::python::venv_dir().join("bin/python");
    let code = format!(
        "from supervisor.xmlrpc import SupervisorTransport\n\
         import xmlrpc.client\n\
         t = SupervisorTransport(None, None, 'unix://{}/http.sock')\n\
         s = xmlrpc.client.ServerProxy('http://127.0.0.1', transport=t)\n\
         i = s.supervisor.getProcessInfo('{name}')\n\
         print(i['statename'], i['exitstatus'])\n",
        d.dir.display()
    );
    let mut c = std::process::Command::new(py);
    c.args(["-c", &code]);
    let r = common::run_within(c, 30).expect("python hung");
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.stdout.trim().to_string()
}

/// A new run clears the last exit's status, as supervisord's spawn():
/// EXITED with 3, then RUNNING again with 0 (every program, listeners too).
/// The first run lasts a second: with startsecs=0 supervisord counts an
/// exit before its next tick as too quick and starts it again.
#[test]
fn a_new_run_clears_exitstatus_as_supervisord() {
    let body = "\
[program:twice]
command=/bin/sh -c 'if [ -e {d}/ran ]; then exec sleep 1000; fi; : > {d}/ran; sleep 1; exit 3'
startsecs=0
autostart=false
autorestart=false
";
    both(body, |d: &mut Daemon| {
        let (code, out) = d.ctl(&["start", "twice"]);
        assert_eq!(code, 0, "{out}");
        d.wait_state("twice", "EXITED", 20);
        let first = exitstatus(d, "twice");
        d.ctl(&["start", "twice"]);
        d.wait_state("twice", "RUNNING", 20);
        (first, exitstatus(d, "twice"))
    });
}

/// On SIGTERM the programs' STOPPING and STOPPED events reach a listener
/// that subscribes to them before the listener itself is stopped (it is
/// stopped last, as supervisord's of priority -1).
#[test]
fn on_sigterm_listeners_get_the_stop_events_before_they_stop() {
    let body = "\
[program:one]
command=/bin/sleep 1000
startsecs=0

[program:two]
command=/bin/sleep 1000
startsecs=0

[eventlistener:ears]
command={t}/ok_recorder.sh {d}/events.rec
events=PROCESS_STATE_STOPPING,PROCESS_STATE_STOPPED
";
    let Some(mut d) = Daemon::start(Kind::Sv, body) else {
        return;
    };
    for name in ["one", "two", "ears"] {
        d.wait_state(name, "RUNNING", 20);
    }
    kill(d.pid(), libc::SIGTERM);
    assert!(d.wait_exit(30).is_some(), "the daemon did not exit");
    let rec = d.read("events.rec");
    for name in ["one", "two"] {
        for ev in ["PROCESS_STATE_STOPPING", "PROCESS_STATE_STOPPED"] {
            let seen = rec
                .lines()
                .any(|l| l.starts_with(ev) && l.contains(&format!("processname:{name} ")));
            assert!(seen, "no {ev} of {name}:\n{rec}\n{}", d.log());
        }
    }
}

/// The other processes' /proc entries a daemon opened, from a trace.
fn foreign_proc_reads(trace: &str, own: &[i32]) -> std::collections::BTreeSet<i32> {
    trace
        .split("\"/proc/")
        .skip(1)
        .filter_map(|rest| rest.split('/').next()?.parse::<i32>().ok())
        .filter(|p| !own.contains(p))
        .collect()
}

/// SIGTERM: once its programs are stopped the daemon exits without
/// reading all of /proc (on a host of 1,100 processes that took a second):
/// it is a subreaper that took nothing back, so nothing of its own can be
/// anywhere but among its children. Traced with strace, when there.
#[test]
fn exit_does_not_search_all_of_proc() {
    let Some(strace) = ["/usr/bin/strace", "/bin/strace"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
    else {
        eprintln!("skipped: no strace");
        return;
    };
    let others = std::fs::read_dir("/proc")
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().parse::<u32>().is_ok())
                .count()
        })
        .unwrap_or(0);
    let body = "\
[program:p]
command=/bin/sleep 1000
startsecs=0
";
    let Some(mut d) = Daemon::start(Kind::Sv, body) else {
        return;
    };
    d.wait_state("p", "RUNNING", 20);
    let own = [d.pid(), d.pid_of("p").expect("p's pid")];
    let out = d.dir.join("trace");
    let mut tracer = std::process::Command::new(strace)
        .args(["-f", "-qq", "-e", "trace=openat,accept4,accept", "-o"])
        .arg(&out)
        .args(["-p", &own[0].to_string()])
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn strace");
    let attached = wait_until(20, || {
        d.ctl(&["status"]);
        std::fs::read_to_string(&out).is_ok_and(|t| t.contains("accept"))
    });
    if !attached {
        let _ = tracer.kill();
        let _ = tracer.wait();
        eprintln!("skipped: strace cannot attach here");
        return;
    }
    kill(own[0], libc::SIGTERM);
    assert!(d.wait_exit(30).is_some(), "the daemon did not exit");
    let _ = tracer.wait();
    let trace = std::fs::read_to_string(&out).unwrap_or_default();
    let read = foreign_proc_reads(&trace, &own);
    assert!(
        read.len() <= 2,
        "read /proc of {} other processes (of {others}) on its way out",
        read.len()
    );
}
