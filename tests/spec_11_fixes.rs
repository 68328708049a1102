//! Fixes from review and a user trial of issue 11: nothing starts while
//! the daemon closes, group patterns act like `all`, `--json` is always an
//! array, `check` warns about `startretries=0`, and logs at a full disk, at
//! rotation and with a huge maxbytes keep the daemon up and answering.
mod common;
use common::tmpfs::Tmpfs;
use common::*;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

const N: u8 = 31;

fn start(conf: &str) -> Sv {
    let mut sv = Sv::new(N);
    let cmd = sv.config_daemon(conf);
    sv.launch(cmd);
    sv
}

/// `sv ARGS -i N` in the background, its output piped.
fn spawn(sv: &Sv, args: &[&str]) -> Child {
    sv.command()
        .args(args)
        .args(["-i", &N.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sv")
}

fn run_of(out: std::process::Output) -> Run {
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Waits up to `secs` for `child` to exit; kills it (its recorded pid)
/// and panics if it does not.
#[track_caller]
fn finish(mut child: Child, what: &str, secs: u64) -> Run {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return run_of(child.wait_with_output().expect("output"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let out = child.wait_with_output().expect("output");
    panic!("{what} did not return within {secs} s: {out:?}");
}

/// A `restart` caught by a `close` ends with `is closing` for what it
/// would have started; starts and creates are refused; the close returns
/// and nothing was started again.
#[test]
fn close_during_restart_starts_nothing_and_returns() {
    let mut sv = start(
        "[program:a]\ncommand=/bin/sh -c 'trap \"\" TERM; echo up; exec sleep 60'\n\
         startsecs=0\nstopwaitsecs=3\n\
         [program:b]\ncommand=sleep 60\nautostart=false\nstartsecs=0\n",
    );
    sv.wait_state("a", "RUNNING", 10);
    let restart = spawn(&sv, &["restart", "a", "b"]);
    sv.wait_state("a", "STOPPING", 10);
    let close = spawn(&sv, &["close"]);
    let refused = wait_until(10, || {
        let r = sv.sv(&["start", "b"]);
        r.code == 1 && r.stderr.contains(&format!("supervisor {N} is closing"))
    });
    let created = sv.sv(&["create-service", "c", "sleep", "60"]);
    let close = finish(close, "sv close", 20);
    assert_eq!(close.code, 0, "{close:?}");
    let restart = finish(restart, "sv restart", 10);
    assert!(refused, "start was not refused while closing");
    assert_eq!(created.code, 1, "{created:?}");
    assert!(created.stderr.contains("is closing"), "{created:?}");
    assert_eq!(restart.code, 1, "{restart:?}");
    assert!(!restart.stdout.contains("started"), "{restart:?}");
    assert!(
        format!("{}{}", restart.stdout, restart.stderr).contains("is closing"),
        "{restart:?}"
    );
    sv.close();
}

/// `GROUP:*` and `GROUP:` act like `all`: members already as wanted are
/// passed over, exit 0; a service named on its own still errors.
#[test]
fn group_patterns_pass_over_members_already_as_wanted() {
    let sv = start(
        "[group:g]\nprograms=a,b\n\
         [program:a]\ncommand=sleep 600\nstartsecs=0\n\
         [program:b]\ncommand=sleep 600\nstartsecs=0\nautostart=false\n",
    );
    sv.wait_state("g:a", "RUNNING", 10);
    let r = sv.sv(&["start", "g:*"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("g:b: started"), "{r:?}");
    assert!(!r.stdout.contains("g:a"), "{r:?}");
    let r = sv.sv(&["start", "g:"]);
    assert_eq!((r.code, r.stdout.as_str()), (0, ""), "{r:?}");
    sv.sv(&["stop", "g:"]).ok();
    let r = sv.sv(&["stop", "g:"]);
    assert_eq!((r.code, r.stdout.as_str()), (0, ""), "{r:?}");
    // Named on its own, beside a pattern or not: an error.
    let r = sv.sv(&["stop", "g:*", "g:a"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("not running"), "{r:?}");
}

/// `--json` with no target matching prints `[]` (the error on stderr,
/// exit 1): the output is always one JSON array.
#[test]
fn json_with_nothing_matching_is_an_empty_array() {
    let sv = start("[program:a]\ncommand=sleep 600\nstartsecs=0\n");
    for cmd in ["status", "service-status"] {
        let r = sv.sv(&[cmd, "nope", "--json"]);
        assert_eq!((r.code, r.stdout.as_str()), (1, "[]\n"), "{cmd}: {r:?}");
        assert!(r.stderr.contains("nope"), "{cmd}: {r:?}");
    }
    let r = sv.sv(&["status", "nope", "a", "--json"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stdout.starts_with('[') && r.stdout.contains("\"a\""),
        "{r:?}"
    );
}

/// In `sv shell -i N`, a `-i` after `--` is the child's: the line still
/// goes to instance N.
#[test]
fn shell_ignores_a_dash_i_meant_for_the_child() {
    use std::io::Write;
    let sv = start("[program:a]\ncommand=sleep 600\nstartsecs=0\n");
    let mut shell = sv
        .command()
        .args(["shell", "-i", &N.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sv shell");
    let mut stdin = shell.stdin.take().unwrap();
    stdin
        .write_all(b"create-service --no-wait --name g /bin/sleep -- -i 600\n")
        .unwrap();
    drop(stdin);
    let r = finish(shell, "sv shell", 10);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(sv.state("g").is_some(), "not created in {N}: {r:?}");
}

/// `sv check` warns that `startretries=0` means retry forever in sv (in
/// supervisord it means never retry), with the key's file and line.
#[test]
fn check_warns_that_startretries_0_retries_forever() {
    let sv = Sv::new(N);
    let path = sv.write_conf(
        "[program:web]\ncommand=/bin/sleep 60\nstartretries=0\n\
         [program:ok]\ncommand=/bin/sleep 60\nstartretries=2\n",
    );
    let r = sv.run(&["check".as_ref(), "-c".as_ref(), path.as_os_str()]);
    assert_eq!(r.code, 0, "{r:?}");
    let want = format!(
        "warning: {}:3: startretries=0 of [program:web]",
        path.display()
    );
    assert!(r.stdout.contains(&want), "{r:?}");
    assert!(r.stdout.contains("retry forever"), "{r:?}");
    assert_eq!(r.stdout.matches("startretries").count(), 1, "{r:?}");
}

/// A stdout maxbytes near u64::MAX (sizes added to it used to overflow, a
/// panic that ended the daemon) while `tail -f` makes every byte go
/// through the write path.
#[test]
fn a_maxbytes_at_the_top_of_u64_keeps_the_daemon_up() {
    let sv = start("[program:a]\ncommand=sleep 600\nstartsecs=0\n");
    let n = N.to_string();
    sv.run(&[
        "create-service",
        "-i",
        &n,
        "--no-wait",
        "--name",
        "big",
        "--set",
        "stdout_maxbytes=18446744073709551615",
        "--set",
        "startsecs=0",
        "/bin/sh",
        "--",
        "-c",
        "while :; do echo tick; sleep 0.05; done",
    ])
    .ok();
    let tail = spawn(&sv, &["tail", "-f", "big"]);
    let log = sv.runtime.path().join(N.to_string()).join("logs");
    // Lines keep reaching the log past the moment the follower came.
    let grew = wait_until(10, || {
        let text = std::fs::read_dir(&log)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("big"))
            .map(|e| std::fs::read(e.path()).unwrap_or_default().len())
            .sum::<usize>();
        text > 200
    });
    let r = sv.sv(&["status", "big"]);
    let mut tail = tail;
    let _ = tail.kill();
    let _ = tail.wait();
    assert!(grew, "no output logged");
    assert_eq!(r.code, 0, "the daemon died: {r:?}");
    assert!(r.stdout.contains("RUNNING"), "{r:?}");
}

/// Output with no newline at all (`\r` progress) at a full disk: the log
/// is not erased, and once there is room again it is written again and
/// the error goes (it was dropped for good, waiting for a `\n`).
#[test]
fn progress_output_at_a_full_disk_is_not_erased_and_resumes() {
    let mut sv = Sv::new(N);
    let Some(disk) = Tmpfs::mount(sv.work.path().join("small"), "256k") else {
        return;
    };
    // About 100 KiB free: the line passes 64 KiB before the disk is full.
    let filler = disk.0.join("filler");
    std::fs::write(&filler, vec![0u8; 150 * 1024]).unwrap();
    let log = disk.0.join("out.log");
    let go = sv.work.path().join("go");
    // About 4 KB with no newline; `%%` is a `%` in the config.
    let chunk = |tag: &str| format!("printf \"{tag} %%04000d\\r\" 0");
    let conf = format!(
        "[program:bar]\ncommand=/bin/sh -c '{}; while [ ! -e {} ]; do {}; sleep 0.02; done; \
         i=0; while [ $i -lt 20 ]; do {}; i=$((i+1)); sleep 0.02; done; {}; exec sleep 60'\n\
         startsecs=0\nstdout_logfile={}\nstdout_logfile_maxbytes=0\n",
        chunk("BEGIN"),
        go.display(),
        chunk("more"),
        chunk("after"),
        chunk("END"),
        log.display()
    );
    let c = sv.config_daemon(&conf);
    sv.launch(c);
    let mut last = None;
    let full = wait_until(20, || {
        last = sv.state("bar");
        last.as_ref()
            .is_some_and(|(_, d)| d.contains("log error") && d.contains("No space left"))
    });
    assert!(full, "never reported the full disk: {last:?}");
    let head = std::fs::read(&log).unwrap_or_default();
    assert!(head.starts_with(b"BEGIN "), "the log was erased");
    std::fs::remove_file(&filler).unwrap();
    std::fs::write(&go, "").unwrap();
    let resumed = wait_until(20, || {
        let text = std::fs::read(&log).unwrap_or_default();
        text.windows(4).any(|w| w == b"END ")
    });
    last = sv.state("bar");
    let text = std::fs::read(&log).unwrap_or_default();
    sv.close();
    drop(disk);
    assert!(resumed, "never written again: {last:?}");
    assert!(text.starts_with(b"BEGIN "), "the log was erased");
    assert!(!last.unwrap().1.contains("log error"), "the error stayed");
}

/// A line of 4 MB through 1 MB files: rotation reads and copies nothing
/// back (it used to read back and copy up to maxbytes on the loop), so
/// `status` keeps answering at once while it goes through.
#[test]
fn a_huge_line_through_rotation_leaves_status_answering() {
    let mut sv = Sv::new(N);
    let go = sv.work.path().join("go");
    let conf = format!(
        "[program:huge]\ncommand=/bin/sh -c 'while [ ! -e {} ]; do sleep 0.02; done; \
         head -c 4000000 /dev/zero | tr \"\\0\" L; echo; echo done; exec sleep 60'\n\
         startsecs=0\nstdout_maxbytes=1MB\nstdout_backups=6\n",
        go.display()
    );
    let c = sv.config_daemon(&conf);
    sv.launch(c);
    sv.wait_state("huge", "RUNNING", 10);
    let log = sv
        .runtime
        .path()
        .join(N.to_string())
        .join("logs")
        .join("huge-stdout.log");
    std::fs::write(&go, "").unwrap();
    let mut slowest = Duration::ZERO;
    let done = wait_until(30, || {
        let t = Instant::now();
        assert_eq!(sv.sv(&["status", "huge"]).code, 0);
        slowest = slowest.max(t.elapsed());
        std::fs::read(&log).is_ok_and(|t| t.ends_with(b"done\n"))
    });
    sv.close();
    assert!(done, "the line never went through");
    assert!(slowest < Duration::from_secs(1), "status took {slowest:?}");
}
