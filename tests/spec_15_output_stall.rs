//! SPEC §15, shared stdout under pressure: a reader of the daemon's stdout
//! that stops reading for a while makes the programs writing there wait
//! (as their own full stdout would), and loses nothing.

mod common;

use common::*;
use std::io::Read;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

const N: u8 = 1;
const PROGRAMS: usize = 4;
const LINES: usize = 100_000;

/// Four programs burst 100 000 lines each to /dev/stdout (two of them
/// prefixed and stamped, which makes their output ~3x larger) while the
/// test's reader stalls: once it reads again, every line arrives, whole,
/// each program's in order.
#[test]
fn a_stalled_reader_of_the_shared_stdout_loses_no_line() {
    let mut sv = Sv::new(N);
    let mut conf = String::new();
    for p in 0..PROGRAMS {
        let shape = if p % 2 == 1 {
            "log_prefix=%(program_name)s | \nlog_timestamps=true\n"
        } else {
            ""
        };
        conf += &format!(
            "[program:p{p}]\ncommand=/bin/sh -c \"seq 1 {LINES} | sed 's/^/p{p} burst line /'\"\n\
             stdout_logfile=/dev/stdout\nstartsecs=0\nautorestart=false\n{shape}"
        );
    }
    let mut c = sv.config_daemon(&conf);
    c.stdout(Stdio::piped());
    sv.launch(c);
    let mut out = sv.child.as_mut().unwrap().stdout.take().unwrap();
    let newlines = Arc::new(AtomicUsize::new(0));
    let seen = newlines.clone();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        // The stall itself is what is tested: a reader that does not read
        // for a few seconds while the programs burst.
        std::thread::sleep(Duration::from_secs(3));
        let mut all = Vec::new();
        let mut buf = vec![0u8; 1 << 16];
        while let Ok(n @ 1..) = out.read(&mut buf) {
            seen.fetch_add(
                buf[..n].iter().filter(|b| **b == b'\n').count(),
                Ordering::Relaxed,
            );
            all.extend_from_slice(&buf[..n]);
        }
        let _ = tx.send(all);
    });
    let total = PROGRAMS * LINES;
    wait_until(60, || newlines.load(Ordering::Relaxed) >= total);
    assert_eq!(sv.close().code, 0);
    let all = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    let text = String::from_utf8(all).expect("utf-8");
    let mut next = [1usize; PROGRAMS];
    for line in text.lines() {
        // The stamp and prefix, where there are, come before `pN burst`.
        let at = line.find(" burst line ").expect("a whole line") - 2;
        let (head, n) = line[at..].split_at(2);
        let p: usize = head[1..].parse().expect("a program's line");
        let n: usize = n[" burst line ".len()..].parse().expect("a whole number");
        assert_eq!(n, next[p], "p{p}: line {} came as {line:?}", next[p]);
        next[p] += 1;
    }
    assert_eq!(next, [LINES + 1; PROGRAMS], "every line of every program");
    let err = std::fs::read_to_string(sv.work.path().join("daemon.err")).unwrap();
    assert!(!err.contains("dropped"), "{err}");
}

/// A prompt with no newline on the shared stdout goes out after a short
/// quiet time, while its program runs, as it is: no newline is added,
/// then or when the program is stopped.
#[test]
fn a_partial_line_goes_out_after_a_quiet_time_as_it_is() {
    let mut sv = Sv::new(N + 1);
    let conf = "[program:ask]\ncommand=/bin/sh -c \"printf 'no-nl-prompt> '; exec sleep 1000\"\n\
                stdout_logfile=/dev/stdout\nstartsecs=0\n";
    let mut c = sv.config_daemon(conf);
    c.stdout(Stdio::piped());
    sv.launch(c);
    let mut out = sv.child.as_mut().unwrap().stdout.take().unwrap();
    let got = Arc::new(std::sync::Mutex::new(Vec::new()));
    let into = got.clone();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = out.read(&mut buf) {
            into.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
    let shown = wait_until(10, || got.lock().unwrap().as_slice() == b"no-nl-prompt> ");
    assert!(shown, "the prompt is shown while the program runs");
    assert_eq!(sv.close().code, 0);
    reader.join().unwrap();
    assert_eq!(got.lock().unwrap().as_slice(), b"no-nl-prompt> ");
}

/// `2026-12-06 21:00:00,123 INFO ` at the start of `line`.
fn supervisord_line(line: &str) -> Option<&str> {
    let (stamp, rest) = line.split_at_checked(23)?;
    let b = stamp.as_bytes();
    let ok = (b.iter().enumerate()).all(|(i, c)| match i {
        4 | 7 => *c == b'-',
        10 => *c == b' ',
        13 | 16 => *c == b':',
        19 => *c == b',',
        _ => c.is_ascii_digit(),
    });
    ok.then(|| rest.strip_prefix(' ')).flatten()
}

/// `[supervisord] logfile=/dev/stdout` (SPEC §13): the daemon's log goes to
/// its stdout in supervisord's format, as supervisord writes it there, and
/// not to its stderr; so does `-l /dev/stdout`.
#[test]
fn supervisord_logfile_dev_stdout_is_the_log_on_stdout_in_its_format() {
    for (i, (key, flag)) in [("logfile=/dev/stdout\n", None), ("", Some("/dev/stdout"))]
        .into_iter()
        .enumerate()
    {
        let sv = Sv::new(N + 2 + i as u8);
        let bin = sv.work.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let link = applet_link(&bin, "supervisord");
        let conf = sv.work.path().join("s.conf");
        std::fs::write(
            &conf,
            format!(
                "[supervisord]\n{key}pidfile={}/s.pid\n\n\
                 [program:up]\ncommand=/bin/sleep 100\nstartsecs=0\n",
                sv.work.path().display()
            ),
        )
        .unwrap();
        let mut cmd = std::process::Command::new(&link);
        cmd.args(["-n", "-c"]).arg(&conf);
        if let Some(f) = flag {
            cmd.args(["-l", f]);
        }
        let mut child = cmd
            .env("SV_RUNTIME_DIR", sv.runtime.path())
            .env("SV_INSTANCE", sv.instance.to_string())
            .env_remove("SV_SYSLOG_SOCKET")
            .current_dir(sv.work.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn supervisord");
        let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
        let got = Arc::new(std::sync::Mutex::new(String::new()));
        let into = got.clone();
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = out.read(&mut buf) {
                into.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let errs = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        });
        let spawned = |t: &str| {
            t.lines().any(|l| {
                supervisord_line(l).is_some_and(|r| r.starts_with("INFO spawned: 'up' with pid"))
            })
        };
        let ok = wait_until(20, || spawned(&got.lock().unwrap()));
        // Recorded pid: the daemon this test started.
        kill(child.id() as i32, libc::SIGTERM);
        let _ = child.wait();
        reader.join().unwrap();
        let err = errs.join().unwrap();
        assert!(
            ok,
            "no supervisord line on stdout: {:?}",
            got.lock().unwrap()
        );
        assert!(!err.contains("spawned"), "the log is not on stderr: {err}");
    }
}

/// SIGTERM to the daemon when one program ignores it and has the largest
/// `stopwaitsecs`: the grace period ends at the same moment as its own
/// deadline, and it is killed once, said once (trial finding 7).
#[test]
fn a_program_killed_at_the_end_of_the_grace_period_is_killed_once() {
    let sv = Sv::new(N + 4);
    let bin = sv.work.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let link = applet_link(&bin, "supervisord");
    let dir = sv.work.path();
    let conf = dir.join("s.conf");
    std::fs::write(
        &conf,
        format!(
            "[supervisord]\nlogfile={0}/s.log\npidfile={0}/s.pid\n\n\
             [program:ign]\ncommand=/bin/sh -c \"trap '' TERM; touch {0}/trapped; exec sleep 100\"\n\
             startsecs=0\nstopwaitsecs=1\n",
            dir.display()
        ),
    )
    .unwrap();
    let mut child = std::process::Command::new(&link)
        .args(["-n", "-c"])
        .arg(&conf)
        .env("SV_RUNTIME_DIR", sv.runtime.path())
        .env("SV_INSTANCE", sv.instance.to_string())
        .env_remove("SV_SYSLOG_SOCKET")
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn supervisord");
    let log = dir.join("s.log");
    let read = || std::fs::read_to_string(&log).unwrap_or_default();
    // Not before its shell ignores SIGTERM.
    let up = wait_until(20, || dir.join("trapped").exists());
    // Recorded pid: the daemon this test started.
    kill(child.id() as i32, libc::SIGTERM);
    let _ = child.wait();
    assert!(up, "ign never ran: {}", read());
    let text = read();
    assert_eq!(text.matches("killing 'ign'").count(), 1, "{text}");
}
