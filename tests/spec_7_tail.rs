//! `sv tail` (SPEC 7, 11): a follow that ends when its service is removed,
//! a log that could not be opened, and a `--help` that says what it takes.
mod common;
use common::*;
use std::io::Read;
use std::process::Stdio;
use std::time::Duration;

const N: u8 = 8;

fn start(conf: &str) -> Sv {
    let mut sv = Sv::new(N);
    let c = sv.config_daemon(conf);
    sv.launch(c);
    sv
}

#[test]
fn tail_follow_ends_with_a_line_when_its_service_is_removed() {
    let sv = start(concat!(
        "[program:web]\n",
        "command=/bin/sh -c 'while :; do echo tick; sleep 0.1; done'\n",
        "startsecs=0\n",
    ));
    let log = log_path(&sv, "web", "stdout");
    assert!(wait_until(10, || std::fs::read_to_string(&log)
        .is_ok_and(|t| t.contains("tick\n"))));
    let mut tail = sv
        .tail_follow("web")
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sv tail -f");
    // Its first answer (the last line) comes once it is registered.
    let mut out = tail.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut first = [0u8; 5];
        let _ = tx.send(out.read_exact(&mut first).map(|()| first));
        // Keep reading, so the tail never blocks on a full pipe.
        let _ = std::io::copy(&mut out, &mut std::io::sink());
    });
    let first = rx.recv_timeout(Duration::from_secs(10));
    if !matches!(&first, Ok(Ok(f)) if f == b"tick\n") {
        // Recorded pid: the tail this test started.
        let _ = tail.kill();
        let _ = tail.wait();
        panic!("tail -f began with {first:?}");
    }
    assert_eq!(sv.sv(&["remove-service", "web"]).code, 0);
    let mut status = None;
    wait_until(10, || {
        status = tail.try_wait().ok().flatten();
        status.is_some()
    });
    if status.is_none() {
        // Recorded pid: the tail this test started.
        let _ = tail.kill();
        let _ = tail.wait();
        panic!("tail -f still follows a removed service");
    }
    let mut err = String::new();
    let _ = tail.stderr.take().unwrap().read_to_string(&mut err);
    assert_eq!(err, "sv tail: service web was removed\n");
    assert_eq!(status.unwrap().code(), Some(0));
    // The daemon goes on.
    assert_eq!(sv.sv(&["status"]).code, 0);
}

#[test]
fn tail_of_a_log_that_could_not_be_opened_exits_1_with_the_reason() {
    let sv = start(concat!(
        "[program:quiet]\n",
        "command=/bin/sleep 60\n",
        "startsecs=0\n",
    ));
    // A config naming a missing log directory is refused (supervisord's
    // rule); create-service is not a config, so its log path can fail.
    for (name, args) in [
        (
            "talks",
            &[
                "/bin/sh",
                "--",
                "-c",
                "while :; do echo hi; sleep 0.05; done",
            ][..],
        ),
        ("silent", &["/bin/sleep", "60"][..]),
    ] {
        let log = format!("stdout_logfile=/nonexistent-sv-dir/{name}.log");
        let n = N.to_string();
        let mut all = vec!["create-service", "-i", &n, "--name", name, "--set", &log];
        all.extend_from_slice(&["--set", "startsecs=0"]);
        all.extend_from_slice(args);
        sv.run(&all).ok();
    }
    // The writer met the error (shown in status too).
    let ok = wait_until(10, || {
        sv.state("talks")
            .is_some_and(|(_, d)| d.contains("log error"))
    });
    assert!(ok, "talks: {:?}", sv.state("talks"));
    for follow in [false, true] {
        let mut args = vec!["tail", "talks"];
        if follow {
            args.insert(1, "-f");
        }
        let r = sv.sv(&args);
        assert_eq!(r.code, 1, "{args:?}: {r:?}");
        assert!(
            r.stderr
                .contains("talks: cannot open its stdout log: /nonexistent-sv-dir"),
            "{r:?}"
        );
    }
    // Nothing written yet, but its directory is missing.
    sv.wait_state("silent", "RUNNING", 10);
    let r = sv.sv(&["tail", "silent"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr
            .contains("silent: cannot open its stdout log: /nonexistent-sv-dir: no such directory"),
        "{r:?}"
    );
    // A log with nothing in it yet is no error.
    sv.wait_state("quiet", "RUNNING", 10);
    let r = sv.sv(&["tail", "quiet"]);
    assert_eq!((r.code, r.stdout.as_str()), (0, ""), "{r:?}");
}

#[test]
fn tail_help_says_what_it_accepts() {
    let sv = Sv::new(N);
    let help = sv.run(&["tail", "--help"]);
    let usage = help.ok().lines().next().unwrap_or("").to_string();
    // tail takes one service: no `all`, no PROGRAM:* promised.
    assert!(!help.stdout.contains("all"), "{}", help.stdout);
    assert!(!help.stdout.contains(":*"), "{}", help.stdout);
    for word in ["-f", "--follow", "-n", "--lines", "stdout", "stderr", "-i"] {
        assert!(usage.contains(word), "{word} missing from {usage:?}");
    }
    // Every option the usage shows is taken: with no daemon the answer is
    // "not running" (3), never a usage error (2).
    for args in [
        &["tail", "-f", "web"][..],
        &["tail", "--follow", "web"],
        &["tail", "-n", "3", "web"],
        &["tail", "--lines", "3", "web", "stderr"],
        &["tail", "web", "stdout", "-i", "42"],
    ] {
        let r = sv.run(args);
        assert_eq!(r.code, 3, "{args:?}: {r:?}");
    }
}

#[test]
fn tail_follow_gets_the_last_words_of_a_process_that_exits() {
    let mut sv = Sv::new(N);
    let go = sv.work.path().join("go");
    let c = sv.config_daemon(&format!(
        "[program:job]\ncommand=/bin/sh -c 'echo ready; while [ ! -e {} ]; do sleep 0.02; done; seq 1 2000; echo LAST'\nstartsecs=0\nautorestart=false\n",
        go.display()
    ));
    sv.launch(c);
    let log = log_path(&sv, "job", "stdout");
    assert!(wait_until(10, || std::fs::read_to_string(&log)
        .is_ok_and(|t| t == "ready\n")));
    let mut tail = sv.tail_follow("job").spawn().expect("spawn sv tail -f");
    let rx = chunks_of(&mut tail);
    let mut got = Vec::new();
    let wait_for = |want: &str, got: &mut Vec<u8>| gather_into(&rx, got, want, 10);
    let registered = wait_for("ready\n", &mut got);
    if registered {
        std::fs::write(&go, "").unwrap();
        sv.wait_state("job", "EXITED", 10);
        wait_for("LAST\n", &mut got);
    }
    // Recorded pid: the tail this test started.
    let _ = tail.kill();
    let _ = tail.wait();
    assert!(registered, "tail -f never began");
    let want: String = std::iter::once("ready".to_string())
        .chain((1..=2000).map(|n| n.to_string()))
        .chain(std::iter::once("LAST".to_string()))
        .map(|l| l + "\n")
        .collect();
    assert!(
        String::from_utf8_lossy(&got) == want,
        "tail -f got {} bytes of {}, ending {:?}",
        got.len(),
        want.len(),
        String::from_utf8_lossy(&got[got.len().saturating_sub(20)..])
    );
}
