//! SPEC 7 (output and logs) with the log keys of section 5: AUTO paths,
//! rotation, `tail`, `tail -f` across rotations, unwritable logs, SIGUSR2,
//! output into the daemon's own stdout/stderr, and the daemon's own log on
//! stderr and syslog.
mod common;
use common::*;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const N: u8 = 9;

/// What one read of a child's pipe may hold (the daemon's chunk size).
const CHUNK: u64 = 64 * 1024;

/// Starts the daemon of `sv` on `conf`; `stdout` is the daemon's stdout,
/// its stderr goes to `work/daemon.err`; `env` is added to its environment.
fn launch(mut sv: Sv, conf: &str, stdout: Stdio, env: &[(&str, &str)]) -> Sv {
    let mut c = sv.config_daemon_env(conf, env);
    c.stdout(stdout);
    sv.launch(c);
    sv
}

fn start(conf: &str) -> Sv {
    launch(Sv::new(N), conf, Stdio::null(), &[])
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

fn numbered(path: &Path, n: u32) -> PathBuf {
    PathBuf::from(format!("{}.{n}", path.display()))
}

/// The numbers of `line N` lines in `text`.
fn numbers(text: &str, word: &str) -> Vec<u64> {
    text.lines()
        .filter_map(|l| l.strip_prefix(word)?.trim().parse().ok())
        .collect()
}

/// Reads `child`'s stdout line by line on a thread.
fn line_channel(child: &mut Child) -> mpsc::Receiver<String> {
    let out = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Receives lines until one satisfies `want`, for at most `secs`.
fn recv_until(rx: &mpsc::Receiver<String>, secs: u64, mut want: impl FnMut(&str) -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(line) if want(&line) => return true,
            Ok(_) => {}
            Err(_) => return false,
        }
    }
    false
}

// -------------------------------------------------------------- AUTO, tail

#[test]
fn auto_logs_and_tail() {
    let sv = start(concat!(
        "[program:talk]\n",
        "command=/bin/sh -c 'i=1; while [ $i -le 20 ]; do echo \"line $i\"; i=$((i+1)); done; ",
        "echo e1 >&2; echo e2 >&2; echo e3 >&2; exec sleep 60'\n",
        "startsecs=0\n",
        "[program:merged]\n",
        "command=/bin/sh -c 'echo out; echo err >&2; exec sleep 60'\n",
        "redirect_stderr=true\n",
        "startsecs=0\n",
        "[program:quiet]\n",
        "command=/bin/sleep 60\n",
        "stdout=NONE\n",
        "startsecs=0\n",
    ));
    sv.wait_state("talk", "RUNNING", 10);
    let out = logs(&sv).join("talk-stdout.log");
    let err = logs(&sv).join("talk-stderr.log");
    assert!(wait_until(10, || read(&out).ends_with("line 20\n")));
    assert!(wait_until(10, || read(&err) == "e1\ne2\ne3\n"));

    let r = sv.sv(&["tail", "-n", "3", "talk"]);
    assert_eq!(r.ok(), "line 18\nline 19\nline 20\n");
    // 10 lines unless -n says.
    let r = sv.sv(&["tail", "talk"]);
    let want: String = (11..=20).map(|i| format!("line {i}\n")).collect();
    assert_eq!(r.ok(), want);
    let r = sv.sv(&["tail", "talk", "stderr"]);
    assert_eq!(r.ok(), "e1\ne2\ne3\n");
    let r = sv.sv(&["tail", "-n", "1", "talk", "stderr"]);
    assert_eq!(r.ok(), "e3\n");
    let r = sv.sv(&["tail", "-n", "2", "talk", "stdout"]);
    assert_eq!(r.ok(), "line 19\nline 20\n");

    // redirect_stderr: both in stdout, and tail of stderr says why not.
    let merged = logs(&sv).join("merged-stdout.log");
    assert!(wait_until(10, || read(&merged) == "out\nerr\n"));
    assert_eq!(sv.sv(&["tail", "merged"]).ok(), "out\nerr\n");
    let r = sv.sv(&["tail", "merged", "stderr"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("redirected"), "{r:?}");
    // Not captured, unknown, or a bad stream.
    let r = sv.sv(&["tail", "quiet"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("quiet"), "{r:?}");
    let r = sv.sv(&["tail", "nosuch"]);
    assert_eq!(r.code, 1, "{r:?}");
    let r = sv.sv(&["tail", "talk", "both"]);
    assert_eq!(r.code, 2, "{r:?}");
}

// ---------------------------------------------------------------- rotation

/// Writes `line 0` .. `line 1999` (about 18 KB) to stdout, or to stderr
/// with `" >&2"`, then sleeps. A pause every 50 lines lets the daemon
/// read in small chunks even on a busy machine, so every rotation the test
/// counts on happens. (No blank before a `;` in the command: that
/// starts a comment, as in supervisord.)
fn burst(name: &str, redirect: &str, extra: &str) -> String {
    format!(
        "[program:{name}]\ncommand=/bin/sh -c 'i=0; while [ $i -lt 2000 ]; do echo \"line $i\"{redirect}; i=$((i+1)); [ $((i %% 50)) -ne 0 ] || sleep 0.01; done; exec sleep 60'\nstartsecs=0\n{extra}\n"
    )
}

/// FILE, FILE.1 .. FILE.(backups + 1): (path, content or None if absent).
fn snapshot(file: &Path, backups: u32) -> Vec<(PathBuf, Option<String>)> {
    std::iter::once(file.to_path_buf())
        .chain((1..=backups + 1).map(|n| numbered(file, n)))
        .map(|p| {
            let text = std::fs::read_to_string(&p).ok();
            (p, text)
        })
        .collect()
}

#[track_caller]
fn assert_rotated(file: &Path, maxbytes: u64, backups: u32) {
    // Wait for the whole burst to be in, and for the files to hold still
    // (a rotation may follow the write that reached maxbytes).
    let mut snap = snapshot(file, backups);
    let settled = wait_until(10, || {
        let now = snapshot(file, backups);
        let done = now[0]
            .1
            .as_deref()
            .is_some_and(|t| t.ends_with("line 1999\n"));
        let same = now == snap;
        snap = now;
        if done && same {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
        false
    });
    assert!(settled, "{} never settled: {snap:#?}", file.display());
    let (kept, extra) = snap.split_at(backups as usize + 1);
    for (p, text) in kept {
        let text = text
            .as_deref()
            .unwrap_or_else(|| panic!("no {}", p.display()));
        // Every file holds at most maxbytes, plus one chunk of the pipe.
        assert!(
            text.len() as u64 <= maxbytes + CHUNK,
            "{} has {} bytes",
            p.display(),
            text.len()
        );
        assert!(!text.is_empty(), "{} is empty", p.display());
    }
    assert!(extra[0].1.is_none(), "{} kept", extra[0].0.display());
    // FILE.1 is newest: its lines come right before FILE's, and so on.
    for w in kept.windows(2) {
        let newer = numbers(w[0].1.as_deref().unwrap(), "line ");
        let older = numbers(w[1].1.as_deref().unwrap(), "line ");
        assert_eq!(
            older.last().map(|n| n + 1),
            newer.first().copied(),
            "{} does not follow {}",
            w[0].0.display(),
            w[1].0.display()
        );
    }
}

#[test]
fn rotation_keeps_backups() {
    let sv = Sv::new(N);
    let w = sv.work.path().to_path_buf();
    let conf = format!(
        "{}{}{}{}",
        burst("auto", "", "stdout_maxbytes=1KB\nstdout_backups=2"),
        burst(
            "alias",
            "",
            &format!(
                "stdout_logfile={}/alias.log\nstdout_logfile_maxbytes=2KB\nstdout_logfile_backups=3",
                w.display()
            )
        ),
        burst("errs", " >&2", "stderr_maxbytes=1KB\nstderr_backups=1"),
        burst(
            "errsalias",
            " >&2",
            "stderr_logfile_maxbytes=1KB\nstderr_logfile_backups=2"
        ),
    );
    let sv = launch(sv, &conf, Stdio::null(), &[]);
    let l = logs(&sv);
    assert_rotated(&l.join("auto-stdout.log"), 1024, 2);
    assert_rotated(&w.join("alias.log"), 2048, 3);
    assert_rotated(&l.join("errs-stderr.log"), 1024, 1);
    assert_rotated(&l.join("errsalias-stderr.log"), 1024, 2);
    // Rotating one stream leaves the other alone.
    assert!(!numbered(&l.join("errs-stdout.log"), 1).exists());
    for n in ["auto", "alias", "errs", "errsalias"] {
        assert_eq!(sv.state(n).unwrap().0, "RUNNING");
    }
    // tail reads the current file.
    let r = sv.sv(&["tail", "-n", "2", "auto"]);
    assert_eq!(r.ok(), "line 1998\nline 1999\n");
}

#[test]
fn rotation_with_no_backups_or_no_limit() {
    let sv = start(&format!(
        "{}{}",
        burst("nobackup", "", "stdout_maxbytes=1KB\nstdout_backups=0"),
        burst("nolimit", "", "stdout_maxbytes=0\nstdout_backups=2"),
    ));
    let l = logs(&sv);
    let f = l.join("nobackup-stdout.log");
    assert!(wait_until(10, || read(&f).ends_with("line 1999\n")));
    assert!(size(&f) <= 1024 + CHUNK);
    assert!(!numbered(&f, 1).exists());
    let f = l.join("nolimit-stdout.log");
    assert!(wait_until(10, || read(&f).ends_with("line 1999\n")));
    assert_eq!(numbers(&read(&f), "line "), (0..2000).collect::<Vec<_>>());
    assert!(!numbered(&f, 1).exists());
}

// ------------------------------------------------------------------ tail -f

#[test]
fn tail_follow_goes_on_across_rotations() {
    let sv = start(concat!(
        "[program:stream]\n",
        "command=/bin/sh -c 'i=0; while :; do echo \"line $i\"; i=$((i+1)); sleep 0.005; done'\n",
        "stdout_maxbytes=1KB\n",
        "stdout_backups=2\n",
        "startsecs=0\n",
    ));
    sv.wait_state("stream", "RUNNING", 10);
    let file = logs(&sv).join("stream-stdout.log");
    assert!(wait_until(10, || read(&file).contains("line 3\n")));

    let mut tail = sv
        .tail_follow("stream")
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn sv tail -f");
    let rx = line_channel(&mut tail);
    let ino = |p: &Path| std::fs::metadata(p).map(|m| m.ino()).unwrap_or(0);
    let first_ino = ino(&file);
    let mut seen: Vec<u64> = Vec::new();
    let mut after_rotation = 0;
    let ok = recv_until(&rx, 20, |line| {
        let Some(n) = line.strip_prefix("line ").and_then(|n| n.parse().ok()) else {
            return false;
        };
        seen.push(n);
        // Lines written into a file created after tail -f began.
        let rotated = ino(&file) != first_ino;
        if rotated {
            let in_new = numbers(&read(&file), "line ");
            if in_new.first().is_some_and(|f| n >= *f) {
                after_rotation += 1;
            }
        }
        after_rotation >= 5
    });
    // Recorded pid: the tail this test started.
    let _ = tail.kill();
    let _ = tail.wait();
    assert!(
        ok,
        "no output after a rotation; saw {} lines, last {:?}",
        seen.len(),
        seen.last()
    );
    // Nothing lost or repeated on the way.
    assert!(seen.windows(2).all(|w| w[1] == w[0] + 1), "gap in {seen:?}");
}

// ------------------------------------------------------- unwritable logs

#[test]
fn unwritable_log_is_reported_and_supervision_goes_on() {
    let sv = start(concat!(
        "[program:full]\n",
        "command=/bin/sh -c 'while :; do echo hi; sleep 0.02; done'\n",
        "stdout_logfile=/dev/full\n",
        "startsecs=0\n",
        "[program:fine]\n",
        "command=/bin/sh -c 'i=0; while :; do echo \"line $i\"; i=$((i+1)); sleep 0.02; done'\n",
        "startsecs=0\n",
    ));
    // A config naming a missing log directory is refused (supervisord's
    // rule); create-service is not a config, so its log path can fail.
    let n = N.to_string();
    sv.run(&[
        "create-service",
        "-i",
        &n,
        "--name",
        "nodir",
        "--set",
        "stderr=/nonexistent-sv-dir/x.log",
        "--set",
        "startsecs=0",
        "/bin/sh",
        "--",
        "-c",
        "while :; do echo hi >&2; sleep 0.05; done",
    ])
    .ok();
    let mut last = None;
    let ok = wait_until(10, || {
        last = sv.state("full");
        last.as_ref().is_some_and(|(s, d)| {
            s == "RUNNING" && d.contains("log error: /dev/full: No space left on device")
        })
    });
    assert!(ok, "full: {last:?}");
    let ok = wait_until(10, || {
        last = sv.state("nodir");
        last.as_ref().is_some_and(|(s, d)| {
            s == "RUNNING" && d.contains("log error: /nonexistent-sv-dir/x.log")
        })
    });
    assert!(ok, "nodir: {last:?}");
    let pid = sv.pid("full").unwrap();
    // The detail still shows the pid; the program is not restarted.
    let (_, detail) = sv.state("full").unwrap();
    assert!(
        detail.starts_with(&format!("pid {pid}, uptime ")),
        "{detail}"
    );
    // The daemon keeps answering and copying the others' output.
    let fine = logs(&sv).join("fine-stdout.log");
    let before = numbers(&read(&fine), "line ").last().copied().unwrap_or(0);
    for _ in 0..20 {
        let t = Instant::now();
        assert_eq!(sv.sv(&["status"]).code, 0);
        assert!(t.elapsed() < Duration::from_secs(2));
    }
    assert!(wait_until(10, || numbers(&read(&fine), "line ")
        .last()
        .is_some_and(|n| *n > before + 5)));
    assert_eq!(sv.pid("full"), Some(pid));
    assert!(alive(pid));
    // The daemon logged it.
    let err = read(&sv.work.path().join("daemon.err"));
    assert!(err.contains("full: log error: "), "{err}");
    // And stop still works.
    assert_eq!(sv.sv(&["stop", "full"]).ok(), "full: stopped\n");
}

// ------------------------------------------------------------------ SIGUSR2

#[test]
fn sigusr2_reopens_log_files() {
    let sv = Sv::new(N);
    let w = sv.work.path().to_path_buf();
    let conf = format!(
        "[program:w]\ncommand=/bin/sh -c 'i=0; while :; do echo \"line $i\"; i=$((i+1)); sleep 0.02; done'\nstdout={}/out.log\nstartsecs=0\n",
        w.display()
    );
    let sv = launch(sv, &conf, Stdio::null(), &[]);
    let log = w.join("out.log");
    let old = w.join("out.old");
    assert!(wait_until(10, || numbers(&read(&log), "line ").len() >= 3));
    std::fs::rename(&log, &old).unwrap();
    kill(daemon_pid(&sv), libc::SIGUSR2);
    assert!(
        wait_until(10, || numbers(&read(&log), "line ").len() >= 3),
        "no fresh file at {}",
        log.display()
    );
    // The old file stops growing; the new one picks up where it ended.
    let old_nums = numbers(&read(&old), "line ");
    let new_nums = numbers(&read(&log), "line ");
    assert_eq!(old_nums.last().map(|n| n + 1), new_nums.first().copied());
    assert!(wait_until(10, || numbers(&read(&log), "line ").len() >= 6));
    assert_eq!(numbers(&read(&old), "line "), old_nums);
    // Still running, same process.
    assert_eq!(sv.state("w").unwrap().0, "RUNNING");
}

// ------------------------------------------- the daemon's stdout and stderr

#[test]
fn dev_stdout_writes_into_the_daemons_own_output() {
    let sv = launch(
        Sv::new(N),
        concat!(
            "[program:toout]\n",
            "command=/bin/sh -c 'echo hello-daemon-stdout; echo oops >&2; exec sleep 60'\n",
            "stdout_logfile=/dev/stdout\n",
            // Rotation settings do not apply and need not be zeroed.
            "stdout_logfile_maxbytes=1KB\n",
            "stderr_logfile=/dev/stderr\n",
            "startsecs=0\n",
            "[program:merged]\n",
            "command=/bin/sh -c 'echo merged-err >&2; exec sleep 60'\n",
            "stdout=/dev/stdout\n",
            "redirect_stderr=true\n",
            "startsecs=0\n",
            "[program:fd1]\n",
            "command=/bin/sh -c 'echo hello-fd1; exec sleep 60'\n",
            "stdout=/dev/fd/1\n",
            "startsecs=0\n",
        ),
        Stdio::piped(),
        &[],
    );
    let mut sv = sv;
    let rx = line_channel(sv.child.as_mut().unwrap());
    let mut got = Vec::new();
    let ok = recv_until(&rx, 10, |l| {
        got.push(l.to_string());
        ["hello-daemon-stdout", "hello-fd1", "merged-err"]
            .iter()
            .all(|w| got.iter().any(|l| l == w))
    });
    assert!(ok, "daemon stdout: {got:?}");
    for n in ["toout", "fd1", "merged"] {
        assert_eq!(sv.state(n).unwrap().0, "RUNNING");
    }
    // Through a pipe the daemon reads and writes on in whole lines, so
    // that programs sharing its stdout never interleave (SPEC §15).
    let pid = sv.pid("toout").unwrap();
    let dpid = daemon_pid(&sv);
    assert_ne!(
        std::fs::read_link(format!("/proc/{pid}/fd/1")).unwrap(),
        std::fs::read_link(format!("/proc/{dpid}/fd/1")).unwrap()
    );
    assert!(wait_until(10, || read(&sv.work.path().join("daemon.err"))
        .lines()
        .any(|l| l == "oops")));
    assert!(!logs(&sv).join("toout-stdout.log").exists());
    assert!(!logs(&sv).join("toout-stderr.log").exists());
    // No log to tail.
    let r = sv.sv(&["tail", "toout"]);
    assert_eq!(r.code, 1, "{r:?}");
}

/// Once a bug: the child fills its descriptors 0, 1, 2 in that order, so
/// stderr to the daemon's stdout (descriptor 1) was copied after stdout
/// had already been pointed at its log, and went into stdout's log.
#[test]
fn stderr_to_the_daemons_stdout_while_stdout_goes_to_a_log() {
    let mut sv = Sv::new(N);
    let file = sv.work.path().join("out.log");
    let conf = format!(
        "[program:cross]\ncommand=/bin/sh -c 'echo to-the-log; echo to-daemon-stdout >&2; exec sleep 60'\n\
         stdout_logfile={}\nstderr_logfile=/dev/stdout\nstartsecs=0\n",
        file.display()
    );
    let mut c = sv.config_daemon(&conf);
    c.stdout(Stdio::piped());
    sv.launch(c);
    let rx = line_channel(sv.child.as_mut().unwrap());
    let mut got = Vec::new();
    let ok = recv_until(&rx, 10, |l| {
        got.push(l.to_string());
        l == "to-daemon-stdout"
    });
    assert!(ok, "daemon stdout: {got:?}");
    assert!(wait_until(10, || read(&file).contains("to-the-log")));
    assert_eq!(read(&file), "to-the-log\n");
}

#[test]
fn daemon_logs_commands_and_state_changes_to_stderr_and_syslog() {
    let sv = Sv::new(N);
    let sock_path = sv.work.path().join("syslog.sock");
    let sock = std::os::unix::net::UnixDatagram::bind(&sock_path).expect("bind syslog socket");
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let sv = launch(
        sv,
        "[program:p]\ncommand=/bin/sleep 60\nstartsecs=0\n",
        Stdio::null(),
        &[("SV_SYSLOG_SOCKET", sock_path.to_str().unwrap())],
    );
    sv.wait_state("p", "RUNNING", 10);
    assert_eq!(sv.sv(&["stop", "p"]).ok(), "p: stopped\n");
    let dpid = daemon_pid(&sv);
    let mut msgs: Vec<String> = Vec::new();
    let want = |msgs: &[String], what: &str| msgs.iter().any(|m| m.contains(what));
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline
        && !(want(&msgs, "stop p") && want(&msgs, "p: RUNNING -> STOPPING"))
    {
        let mut buf = [0u8; 4096];
        if let Ok(n) = sock.recv(&mut buf) {
            msgs.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
    }
    assert!(want(&msgs, "stop p"), "{msgs:#?}");
    assert!(want(&msgs, "p: RUNNING -> STOPPING"), "{msgs:#?}");
    // RFC 3164 lines with the ident `supervisor`.
    let tag = format!(" supervisor[{dpid}]: ");
    assert!(
        msgs.iter().all(|m| m.starts_with('<') && m.contains(&tag)),
        "{msgs:#?}"
    );
    let err = read(&sv.work.path().join("daemon.err"));
    assert!(err.contains("request: stop p"), "{err}");
    assert!(err.contains("p: STOPPING -> STOPPED"), "{err}");
}

#[test]
fn a_fifo_log_without_reader_does_not_block_the_daemon() {
    let mut sv = Sv::new(N);
    let fifo = sv.work.path().join("fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo on a path in this test's own directory.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let conf = format!(
        "[program:f]\ncommand=/bin/sh -c 'echo hi; exec sleep 60'\nstdout={}\nstartsecs=0\n\
         [program:g]\ncommand=/bin/sleep 60\nstartsecs=0\n",
        fifo.display()
    );
    let path = sv.write_conf(&conf);
    let err = std::fs::File::create(sv.work.path().join("daemon.err")).unwrap();
    let child = sv
        .command()
        .args(["daemon", &N.to_string(), "-c"])
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(err)
        .spawn()
        .unwrap();
    sv.child = Some(child);
    // `sv status` with a time limit: (answered, stdout).
    let status = |sv: &Sv| -> (bool, String) {
        let mut st = sv
            .command()
            .args(["status", "-i", &N.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        if wait_until(3, || matches!(st.try_wait(), Ok(Some(_)))) {
            let out = st.wait_with_output().unwrap();
            (true, String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            // Recorded pid: the status client this test started.
            let _ = st.kill();
            let _ = st.wait();
            (false, String::new())
        }
    };
    // Until `f` has written its line and the daemon tried to log it, or
    // the daemon stopped answering.
    let mut answered = true;
    let mut last = String::new();
    wait_until(10, || {
        let (ok, out) = status(&sv);
        answered = ok;
        last = out;
        !ok || last.contains("log error")
    });
    // Unblock the daemon (a reader on the FIFO) so that it can be closed.
    let reader = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo)
        .unwrap();
    std::thread::spawn(move || {
        let mut r = reader;
        let mut buf = [0u8; 4096];
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            match std::io::Read::read(&mut r, &mut buf) {
                Ok(0) | Err(_) => std::thread::sleep(Duration::from_millis(10)),
                Ok(_) => {}
            }
        }
    });
    assert!(answered, "sv status got no answer: the daemon is blocked");
    assert!(last.contains("g "), "{last}");
}

#[test]
fn a_full_stderr_pipe_does_not_block_the_daemon() {
    let mut sv = Sv::new(N);
    let path = sv.write_conf("[program:p]\ncommand=/bin/sleep 60\nstartsecs=0\n");
    let mut child = sv
        .command()
        .args(["daemon", &N.to_string(), "-c"])
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sv daemon");
    // Nobody reads the daemon's stderr for now (a stalled log reader).
    let stderr = child.stderr.take().unwrap();
    sv.child = Some(child);
    sv.wait_ready();
    // Each request is logged with its 4 KB argument: 100 of them are far
    // more than a pipe holds.
    let name = "x".repeat(4096);
    let mut stuck = None;
    for i in 0..100 {
        let mut st = sv
            .command()
            .args(["status", &name, "-i", &N.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        if !wait_until(3, || matches!(st.try_wait(), Ok(Some(_)))) {
            // Recorded pid: the status client this test started.
            let _ = st.kill();
            let _ = st.wait();
            stuck = Some(i);
            break;
        }
    }
    // Drain the pipe so the daemon can go on and be closed.
    std::thread::spawn(move || {
        let mut e = stderr;
        let _ = std::io::copy(&mut e, &mut std::io::sink());
    });
    assert_eq!(stuck, None, "the daemon stopped answering at request");
    sv.wait_state("p", "RUNNING", 10);
}
