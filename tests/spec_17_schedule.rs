//! SPEC §17 through the daemon: scheduled programs and ad hoc services run
//! at their times, one-shot, PENDING between runs with the next run and
//! the last exit shown; overlapping runs are skipped and logged; `start`,
//! `stop` and `supervisor-cancel`; bad expressions are refused.
//!
//! Every program appends a line to a file of the test's work dir, so the
//! runs are counted there. Times are waited for with deadline loops.
mod common;
use common::schedule::{appender, next_in, runs};
use common::*;

/// `(at YYYY-MM-DD HH:MM)`, as the detail must end its first part.
fn has_at(detail: &str) -> bool {
    let Some(i) = detail.find("(at ") else {
        return false;
    };
    let s: Vec<char> = detail[i + 4..].chars().take(17).collect();
    s.len() == 17
        && s[16] == ')'
        && s.iter().enumerate().all(|(k, c)| match k {
            4 | 7 => *c == '-',
            10 => *c == ' ',
            13 => *c == ':',
            16 => true,
            _ => c.is_ascii_digit(),
        })
}

fn daemon_log(sv: &Sv) -> String {
    std::fs::read_to_string(sv.work.path().join("daemon.err")).unwrap_or_default()
}

/// `@every 2s` runs again and again, each run one-shot even with
/// autorestart=true and startsecs=10: between runs it is PENDING with the
/// next run and the last exit (also in `--json`), never restarted.
#[test]
fn every_2s_runs_and_waits_pending_between_runs() {
    let mut sv = Sv::new(61);
    let file = sv.work.path().join("runs");
    let conf = format!(
        "[program:tick]\ncommand={}\nschedule=@every 2s\nautorestart=true\nstartsecs=10\n",
        appender(&file, "exit 3")
    );
    let cmd = sv.config_daemon(&conf);
    sv.launch(cmd);
    let (st, detail) = sv.state("tick").unwrap();
    assert_eq!(st, "PENDING", "{detail}");
    assert!(next_in(&detail).is_some_and(|s| s <= 2), "{detail}");
    assert!(has_at(&detail), "{detail}");
    assert_eq!(runs(&file), 0, "ran at load");
    // The first run: its exit 3 is shown, and nothing restarts it.
    assert!(wait_until(10, || runs(&file) >= 1), "never ran");
    let mut seen = None;
    assert!(wait_until(10, || {
        seen = sv.state("tick");
        seen.as_ref()
            .is_some_and(|(s, d)| s == "PENDING" && d.contains("last run: exit 3"))
    }));
    let (_, detail) = seen.unwrap();
    let left = next_in(&detail).expect("next run");
    if left >= 1 {
        // Still a second before the next run: a restart would show here.
        assert_eq!(runs(&file), 1, "restarted after its exit: {detail}");
    }
    let json = sv.sv(&["status", "tick", "--json"]).ok().to_string();
    assert!(json.contains("\"state\":\"PENDING\""), "{json}");
    assert!(json.contains("next run in"), "{json}");
    assert!(json.contains("\"restarts\":0"), "{json}");
    assert!(json.contains("\"last_exit\":\"exit 3\""), "{json}");
    assert!(wait_until(10, || runs(&file) >= 3), "runs stopped");
    assert!(daemon_log(&sv).contains("tick: run due at"));
    sv.close();
}

/// A six-field expression: the first field is seconds.
#[test]
fn a_seconds_field_runs_every_3_seconds() {
    let mut sv = Sv::new(62);
    let file = sv.work.path().join("runs");
    let conf = format!(
        "[program:sec]\ncommand={}\nschedule=*/3 * * * * *\n",
        appender(&file, "true")
    );
    let cmd = sv.config_daemon(&conf);
    sv.launch(cmd);
    let (st, detail) = sv.state("sec").unwrap();
    assert_eq!(st, "PENDING", "{detail}");
    assert!(next_in(&detail).is_some_and(|s| s <= 3), "{detail}");
    assert!(wait_until(12, || runs(&file) >= 2), "{:?}", sv.state("sec"));
    sv.close();
}

/// A run still going when the next is due: that one is skipped and logged,
/// the run goes on.
#[test]
fn an_overlapping_run_is_skipped_and_logged() {
    let mut sv = Sv::new(63);
    let file = sv.work.path().join("runs");
    let conf = format!(
        "[program:slow]\ncommand={}\nschedule=@every 1s\n",
        appender(&file, "exec sleep 8")
    );
    let cmd = sv.config_daemon(&conf);
    sv.launch(cmd);
    assert!(wait_until(10, || runs(&file) >= 1));
    let pid = sv.pid("slow").expect("a run");
    assert!(
        wait_until(10, || daemon_log(&sv).contains("skipped: the last run")),
        "{}",
        daemon_log(&sv)
    );
    let log = daemon_log(&sv);
    assert!(
        log.contains(&format!("(pid {pid}) is still going")),
        "{log}"
    );
    assert_eq!(sv.pid("slow"), Some(pid), "the run was disturbed");
    assert_eq!(runs(&file), 1, "a second run began");
    let (_, detail) = sv.state("slow").unwrap();
    assert!(detail.contains("next run in"), "{detail}");
    sv.close();
}

/// `start` runs it now, once, and the schedule stays as it was; `stop`
/// ends a run and the service waits for its next; `stop` between runs has
/// nothing to stop.
#[test]
fn start_runs_now_and_stop_ends_the_run() {
    let mut sv = Sv::new(64);
    let file = sv.work.path().join("runs");
    let conf = format!(
        "[program:hourly]\ncommand={}\nschedule=@every 1h\n",
        appender(&file, "exec sleep 30")
    );
    let cmd = sv.config_daemon(&conf);
    sv.launch(cmd);
    let (_, before) = sv.state("hourly").unwrap();
    let left_before = next_in(&before).unwrap();
    assert!(left_before > 3500, "{before}");
    let r = sv.sv(&["start", "hourly"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("hourly: started"), "{r:?}");
    assert!(wait_until(5, || runs(&file) == 1));
    let (st, detail) = sv.state("hourly").unwrap();
    assert_eq!(st, "RUNNING", "{detail}");
    // The schedule did not move: the next run is still the one before.
    let left = next_in(&detail).expect("the next run while RUNNING");
    assert!(left <= left_before, "{before} then {detail}");
    let r = sv.sv(&["stop", "hourly"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("hourly: stopped"), "{r:?}");
    let (st, detail) = sv.state("hourly").unwrap();
    assert_eq!(st, "PENDING", "{detail}");
    assert!(next_in(&detail).is_some_and(|s| s <= left), "{detail}");
    assert!(detail.contains("last run: killed by SIGTERM"), "{detail}");
    let r = sv.sv(&["stop", "hourly"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stdout.contains("not running") || r.stderr.contains("not running"),
        "{r:?}"
    );
    assert_eq!(runs(&file), 1);
    sv.close();
}

/// `create-service --cron` makes a scheduled ad hoc service;
/// `supervisor-cancel` removes schedule and service, during a run too.
#[test]
fn create_service_cron_and_supervisor_cancel() {
    let mut sv = Sv::daemon(65);
    let r = sv.sv(&[
        "create-service",
        "--cron",
        "@every 1h",
        "--name",
        "job",
        "/bin/true",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.starts_with("job: pending, next run in "), "{r:?}");
    let (st, detail) = sv.state("job").unwrap();
    assert_eq!(st, "PENDING", "{detail}");
    let r = sv.sv(&["supervisor-cancel", "job"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("job: cancelled"), "{r:?}");
    assert_eq!(sv.sv(&["status", "job"]).code, 1);
    // Cancelled while a run is under way: the run is stopped too.
    let r = sv.sv(&[
        "create-service",
        "--cron",
        "@every 1h",
        "--name",
        "long",
        "/bin/sleep",
        "30",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(sv.sv(&["start", "long"]).code, 0);
    let pid = sv.pid("long").expect("a run");
    let r = sv.sv(&["supervisor-cancel", "long"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        wait_until(10, || !alive(pid)),
        "the run outlived its schedule"
    );
    assert!(wait_until(10, || sv.sv(&["status", "long"]).code == 1));
    sv.close();
}

/// A bad expression: `FILE:LINE` from the config reader, a usage error
/// (exit 2) from `create-service --cron`, exit 1 from the daemon for
/// `--set schedule=`.
#[test]
fn a_bad_expression_is_refused() {
    let mut sv = Sv::daemon(66);
    let conf = sv.write_conf("[program:x]\ncommand=/bin/true\n\nschedule=61 * * * *\n");
    let r = sv.run(&[
        std::ffi::OsStr::new("check"),
        "-c".as_ref(),
        conf.as_os_str(),
    ]);
    assert_eq!(r.code, 1, "{r:?}");
    let want = format!("{}:4:", conf.display());
    assert!(
        r.stderr.contains(&want) && r.stderr.contains("schedule"),
        "{r:?}"
    );
    let r = sv.sv(&["create-service", "--cron", "@every 5x", "/bin/true"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("--cron '@every 5x'"), "{r:?}");
    let r = sv.sv(&["create-service", "--set", "schedule=bogus", "/bin/true"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("schedule 'bogus'"), "{r:?}");
    sv.close();
}

/// Local time (`TZ`): `30 2 * * *` is due at 02:30 on the daemon's clock,
/// and the detail shows it so, whatever the zone's offset (here +5:30).
#[test]
fn due_times_and_the_detail_are_in_local_time() {
    let mut sv = Sv::new(67);
    let conf = "[program:night]\ncommand=/bin/true\nschedule=30 2 * * *\n";
    let cmd = sv.config_daemon_env(conf, &[("TZ", "IST-5:30")]);
    sv.launch(cmd);
    let (st, detail) = sv.state("night").unwrap();
    assert_eq!(st, "PENDING", "{detail}");
    assert!(detail.contains(" 02:30)"), "{detail}");
    assert!(has_at(&detail), "{detail}");
    assert!(next_in(&detail).is_some_and(|s| s <= 24 * 3600), "{detail}");
    sv.close();
}

/// supervisorctl's view through XML-RPC (SPEC §13): `startProcess` runs a
/// scheduled program between runs now, `stopProcess` says NOT_RUNNING.
#[test]
fn xml_rpc_start_runs_it_and_stop_has_nothing_to_stop() {
    use std::io::{Read, Write};
    let file_dir = common::TempDir::new("cron-rpc");
    let file = file_dir.path().join("runs");
    let prog = format!(
        "[program:job]\ncommand={}\nschedule=@every 1h\n",
        appender(&file, "true")
    );
    let served = common::http::serve("", "", &prog, &[]);
    let call = |method: &str| {
        let body = format!(
            "<?xml version=\"1.0\"?><methodCall><methodName>supervisor.{method}</methodName>\
             <params><param><value><string>job</string></value></param></params></methodCall>"
        );
        let mut s = served.unix();
        let req = format!(
            "POST /RPC2 HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml\r\n\
             Connection: close\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes()).unwrap();
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out
    };
    let r = call("startProcess");
    assert!(
        r.contains("<boolean>1</boolean>") && !r.contains("<fault>"),
        "{r}"
    );
    // The run has written its line; wait for it to end too, so that the
    // stop finds nothing running (the exit may come a moment after the
    // write).
    assert!(wait_until(10, || runs(&file) == 1
        && served.sv.state("job").is_some_and(|(s, _)| s == "PENDING")));
    let r = call("stopProcess");
    assert!(r.contains("<fault>") && r.contains("NOT_RUNNING"), "{r}");
    let (st, d) = served.sv.state("job").unwrap();
    assert_eq!(st, "PENDING", "{d}");
}
