//! SPEC §14 with real listeners nobody here wrote: superlance's
//! `crashmail` and `memmon` (PyPI), and a PROCESS_LOG listener written
//! with `supervisor.childutils` as its docs show. Each test runs the same
//! config on the real supervisord, then on sv started through a
//! `supervisord` symlink, and checks the same outcome on both
//! (tests/common/listeners.rs).

mod common;

use common::listeners::{both, Daemon};
use common::{alive, wait_until};
use std::path::Path;

/// The lines of a text with every number blanked to `N` (pids, dates).
fn blank_numbers(s: &str) -> String {
    let mut out = String::new();
    let mut in_number = false;
    for c in s.chars() {
        if c.is_ascii_digit() {
            if !in_number {
                out.push('N');
            }
            in_number = true;
        } else {
            in_number = false;
            out.push(c);
        }
    }
    out
}

/// crashmail -a: a program that exits unexpectedly is mailed about, by
/// name, through the `-s` sendmail command (a stand-in writing to a file).
#[test]
fn crashmail_mails_about_a_program_that_exits_unexpectedly() {
    let body = "\
[program:crasher]
command=/bin/sh -c 'sleep 1; exit 3'
startsecs=0
autostart=false
autorestart=false

[eventlistener:crashmail]
command={venv}/crashmail -a -m root@localhost -s {t}/fake-sendmail
events=PROCESS_STATE_EXITED
environment=SV_TEST_MAILBOX=\"{d}/mail\"
";
    both(body, |d: &mut Daemon| {
        d.wait_state("crashmail", "RUNNING", 20);
        let (code, out) = d.ctl(&["start", "crasher"]);
        assert_eq!(code, 0, "{:?}: start crasher: {out}", d.kind);
        let mailed = wait_until(30, || d.read("mail").contains("--- end of message ---"));
        let mail = d.read("mail");
        assert!(mailed, "{:?}: no mail came: {mail:?}\n{}", d.kind, d.log());
        assert!(mail.starts_with("To: root@localhost\n"), "{mail}");
        assert!(
            mail.contains("Subject:  crasher crashed at "),
            "{:?}: {mail}",
            d.kind
        );
        assert!(
            mail.contains("Process crasher in group crasher exited unexpectedly (pid "),
            "{:?}: {mail}",
            d.kind
        );
        // One crash, one mail.
        assert_eq!(mail.matches("--- end of message ---").count(), 1, "{mail}");
        // The whole mail, the date and the pid aside.
        blank_numbers(&mail)
    });
}

/// memmon (TICK_5, then getAllProcessInfo, stopProcess and startProcess
/// over XML-RPC): a program over its limit is restarted.
#[test]
fn memmon_restarts_a_program_over_its_memory_limit() {
    let body = "\
[program:hog]
command={venv}/python {t}/hog.py 60
startsecs=0

[eventlistener:memmon]
command={venv}/memmon -p hog=20MB
events=TICK_5
";
    // memmon reads the RSS with `ps -orss= -p PID`.
    if !Path::new("/usr/bin/ps").exists() && !Path::new("/bin/ps").exists() {
        common::skip("memmon needs ps (procps), which is not installed");
        return;
    }
    both(body, |d: &mut Daemon| {
        d.wait_state("hog", "RUNNING", 20);
        d.wait_state("memmon", "RUNNING", 20);
        let first = d.pid_of("hog").expect("hog has a pid");
        // memmon acts on the first TICK_5 after it is up: within 5 s and
        // its own polling, generously bounded.
        let mut now = None;
        let restarted = wait_until(40, || {
            now = d.pid_of("hog");
            now.is_some_and(|p| p != first)
        });
        assert!(
            restarted,
            "{:?}: hog (pid {first}) was not restarted; pid now {now:?}\n{}",
            d.kind,
            d.log()
        );
        assert!(
            wait_until(10, || !alive(first)),
            "{:?}: the old hog {first} still runs",
            d.kind
        );
        d.wait_state("hog", "RUNNING", 20);
        true
    });
}

/// A childutils listener subscribed to PROCESS_LOG gets what a program
/// with `stdout_events_enabled` writes, every line, in order, in
/// PROCESS_LOG_STDOUT events naming the program and its pid; whether the
/// output also goes to a log (`talker`) or nowhere else (`quiet`,
/// `stdout_logfile=NONE`).
#[test]
fn a_childutils_listener_gets_the_log_lines_in_order() {
    let body = "\
[program:talker]
command={t}/lines.sh 100
startsecs=0
autostart=false
stdout_events_enabled=true

[program:quiet]
command={t}/lines.sh 100
startsecs=0
autostart=false
stdout_events_enabled=true
stdout_logfile=NONE

[eventlistener:recorder]
command={venv}/python {t}/log_recorder.py {d}/log
events=PROCESS_LOG
buffer_size=1000
";
    let want: String = (1..=100).map(|i| format!("line {i}\n")).collect();
    both(body, |d: &mut Daemon| {
        d.wait_state("recorder", "RUNNING", 20);
        let mut got = Vec::new();
        for name in ["talker", "quiet"] {
            let (code, out) = d.ctl(&["start", name]);
            assert_eq!(code, 0, "{:?}: start {name}: {out}", d.kind);
            let pid = d.pid_of(name).expect("a pid");
            let file = format!("log.{name}");
            let done = wait_until(30, || d.read(&file).ends_with("line 100\n"));
            let lines = d.read(&file);
            assert!(
                done,
                "{:?}: {name}'s lines never all came: {lines:?}\n{}",
                d.kind,
                d.log()
            );
            assert_eq!(
                lines, want,
                "{:?}: {name}'s lines lost or out of order",
                d.kind
            );
            // Every event: the program's name, its group, its pid, stdout.
            let heads = d.read(&format!("{file}.headers"));
            let one = format!("channel:stdout groupname:{name} pid:{pid} processname:{name}");
            assert!(heads.lines().all(|l| l == one), "{:?}: {heads}", d.kind);
            got.push(lines);
        }
        got
    });
}
