//! SPEC §6: how a process is run (group, stdio, signals, fds, env) and
//! stopped (stopsignal, SIGKILL after stopwaitsecs, the whole group), reaping,
//! output capture and programs that cannot be executed.
mod common;
use common::*;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

/// A `Status:` style line of /proc/PID/status.
fn status_line(pid: i32, key: &str) -> String {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .unwrap_or_else(|| panic!("no {key} in /proc/{pid}/status"))
        .trim()
        .to_string()
}

/// Open fds of a process: (fd, link target).
fn fds(pid: i32) -> Vec<(i32, String)> {
    let mut out: Vec<(i32, String)> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let fd = e.file_name().to_str()?.parse().ok()?;
            let target = std::fs::read_link(e.path()).ok()?;
            Some((fd, target.to_string_lossy().into_owned()))
        })
        .collect();
    out.sort();
    out
}

/// A signal set of /proc/PID/status as bits (bit N-1 is signal N).
fn sig_mask(pid: i32, key: &str) -> u64 {
    u64::from_str_radix(&status_line(pid, key), 16).unwrap()
}

fn bit(sig: i32) -> u64 {
    1u64 << (sig - 1)
}

/// Starts the daemon through `/bin/sh -c "trap '' SIGS; exec sv daemon N"`,
/// so it inherits those signals ignored, and records it as `sv.child`.
fn daemon_ignoring(instance: u8, sigs: &str) -> Sv {
    let mut sv = Sv::new(instance);
    let script = format!("trap '' {sigs}; exec \"$0\" daemon {instance}");
    // The same environment as sv.command(), with a shell in front.
    let child = std::process::Command::new("/bin/sh")
        .args(["-c", &script])
        .arg(sv_bin())
        .env("SV_RUNTIME_DIR", sv.runtime.path())
        .env_remove("SV_INSTANCE")
        .env_remove("SV_SYSLOG_SOCKET")
        .current_dir(sv.work.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn sh -> sv daemon");
    sv.child = Some(child);
    sv.wait_ready();
    sv
}

fn environ(pid: i32) -> Vec<String> {
    let raw = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    raw.split(|b| *b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect()
}

fn cmdline(pid: i32) -> String {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    String::from_utf8_lossy(&raw).replace('\0', " ")
}

/// Every live process whose process group is `pgid`.
fn group_members(pgid_want: i32) -> Vec<i32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if pgid(pid) == Some(pgid_want) && alive(pid) {
            out.push(pid);
        }
    }
    out
}

/// Reads a pid a test child wrote to a file.
#[track_caller]
fn read_pid_file(path: &Path) -> i32 {
    let mut pid = None;
    let ok = wait_until(10, || {
        pid = std::fs::read_to_string(path)
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok());
        pid.is_some()
    });
    assert!(ok, "{path:?} never held a pid");
    pid.unwrap()
}

/// SIGKILLs a recorded pid on drop if it is still alive (cleanup on failure).
struct KillOnDrop(i32);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if alive(self.0) {
            kill(self.0, libc::SIGKILL);
        }
    }
}

/// `sv create-service ... -i N -- ARGS` via `sv.run`, so `-i` stays before `--`.
fn create(sv: &Sv, opts: &[&str], child_args: &[&str]) -> Run {
    let n = sv.instance.to_string();
    // Not about waiting for RUNNING (tests/spec_4_2_order.rs is).
    let mut args = vec!["create-service", "--no-wait"];
    args.extend_from_slice(opts);
    args.push("-i");
    args.push(&n);
    if !child_args.is_empty() {
        args.push("--");
        args.extend_from_slice(child_args);
    }
    sv.run(&args)
}

/// The pid from a `NAME: started, pid P` line.
#[track_caller]
fn started_pid(r: &Run, name: &str) -> i32 {
    let out = r.ok();
    let out = out.trim_end();
    out.strip_prefix(&format!("{name}: started, pid "))
        .or_else(|| out.strip_prefix(&format!("{name}: starting, pid ")))
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("not a start line for {name}: {r:?}"))
}

fn zombie_children(pid: i32) -> Vec<i32> {
    children(pid)
        .into_iter()
        .filter(|c| proc_state(*c).as_deref() == Some("Z"))
        .collect()
}

// ------------------------------------------------------- how a child runs

#[test]
fn child_gets_a_clean_process_environment() {
    let sv = Sv::daemon(4);
    let r = create(&sv, &["/bin/sleep", "60", "--name", "nap"], &[]);
    let pid = started_pid(&r, "nap");
    // Past exec (the fds and mask are those of /bin/sleep itself).
    assert!(
        wait_until(5, || cmdline(pid).trim_end() == "/bin/sleep 60"),
        "{}",
        cmdline(pid)
    );
    let d = daemon_pid(&sv);
    assert!(children(d).contains(&pid), "a child of the daemon");

    // Its own process group, and not the daemon's.
    assert_eq!(pgid(pid), Some(pid), "pgid == pid");
    assert_ne!(pgid(d), Some(pid));

    // Empty signal mask; default dispositions (SIGPIPE too, which the Rust
    // runtime ignores, and 32/33, which libc will not reset).
    assert_eq!(status_line(pid, "SigBlk"), "0000000000000000");
    assert_eq!(status_line(pid, "SigIgn"), "0000000000000000");

    // stdin /dev/null, stdout/stderr FIFOs, nothing else. (Wait for
    // sleep's own startup, which opens and closes locale files; an
    // inherited descriptor would stay open for good.)
    let only_stdio = |pid| fds(pid).iter().map(|(fd, _)| *fd).collect::<Vec<_>>() == [0, 1, 2];
    wait_until(3, || only_stdio(pid));
    let fds = fds(pid);
    let nums: Vec<i32> = fds.iter().map(|(fd, _)| *fd).collect();
    assert_eq!(nums, [0, 1, 2], "only 0, 1, 2 are open: {fds:?}");
    assert_eq!(fds[0].1, "/dev/null", "{fds:?}");
    // stdout and stderr are the service's named pipes (they outlive the
    // daemon, SPEC §8).
    assert!(fds[1].1.ends_with("/fifo/nap-stdout"), "{fds:?}");
    assert!(fds[2].1.ends_with("/fifo/nap-stderr"), "{fds:?}");

    // The supervisor's variables.
    let env = environ(pid);
    for want in [
        "SV_INSTANCE=4",
        "SV_PROCESS_NAME=nap",
        "SUPERVISOR_PROCESS_NAME=nap",
    ] {
        assert!(env.iter().any(|e| e == want), "{want} missing: {env:?}");
    }

    // The client's cwd (create-service runs it where it was asked).
    let cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).unwrap();
    assert_eq!(cwd, std::fs::canonicalize(sv.work.path()).unwrap());
}

#[test]
fn a_second_child_inherits_no_pipe_of_the_first() {
    let sv = Sv::daemon(4);
    let a = started_pid(&create(&sv, &["/bin/sleep", "60", "--name", "a"], &[]), "a");
    let b = started_pid(&create(&sv, &["/bin/sleep", "60", "--name", "b"], &[]), "b");
    assert!(wait_until(5, || cmdline(a).starts_with("/bin/sleep")
        && cmdline(b).starts_with("/bin/sleep")));
    let only_stdio = |pid| fds(pid).iter().map(|(fd, _)| *fd).collect::<Vec<_>>() == [0, 1, 2];
    wait_until(3, || only_stdio(a) && only_stdio(b));
    let fa = fds(a);
    let fb = fds(b);
    assert_eq!(fb.len(), 3, "{fb:?}");
    for (_, target) in &fa[1..] {
        assert!(
            !fb.iter().any(|(_, t)| t == target),
            "b holds a's {target}: {fb:?}"
        );
    }
    assert_eq!(
        environ(b)
            .iter()
            .filter(|e| e.starts_with("SV_PROCESS_NAME="))
            .count(),
        1
    );
    assert!(environ(b).iter().any(|e| e == "SV_PROCESS_NAME=b"));
}

#[test]
fn signals_ignored_by_the_daemon_are_default_in_children() {
    let sv = daemon_ignoring(4, "HUP INT QUIT USR1 USR2 PIPE ALRM CHLD TSTP TTOU 40 50");
    let d = daemon_pid(&sv);
    let dign = sig_mask(d, "SigIgn");
    assert_ne!(dign & bit(libc::SIGUSR1), 0, "setup: {dign:016x}");
    let pid = started_pid(&create(&sv, &["/bin/sleep", "60"], &[]), "sleep");
    assert!(wait_until(5, || cmdline(pid).starts_with("/bin/sleep")));
    let ign = sig_mask(pid, "SigIgn");
    for sig in [
        libc::SIGHUP,
        libc::SIGINT,
        libc::SIGQUIT,
        libc::SIGUSR1,
        libc::SIGUSR2,
        libc::SIGPIPE,
        libc::SIGALRM,
        libc::SIGCHLD,
        libc::SIGTSTP,
        libc::SIGTTOU,
        40,
        50,
    ] {
        assert_eq!(ign & bit(sig), 0, "signal {sig} still ignored: {ign:016x}");
    }
    assert_eq!(status_line(pid, "SigBlk"), "0000000000000000");
}

#[test]
fn sigrtmax_ignored_by_the_daemon_is_default_in_children() {
    let sv = daemon_ignoring(4, "64");
    assert_ne!(sig_mask(daemon_pid(&sv), "SigIgn") & bit(64), 0, "setup");
    let pid = started_pid(&create(&sv, &["/bin/sleep", "60"], &[]), "sleep");
    assert!(wait_until(5, || cmdline(pid).starts_with("/bin/sleep")));
    let ign = sig_mask(pid, "SigIgn");
    assert_eq!(ign & bit(64), 0, "signal 64 still ignored: {ign:016x}");
}

#[test]
fn child_signal_dispositions_are_all_default() {
    // Started by this (threaded, glibc) test through posix_spawn, the daemon
    // has signals 32 and 33 ignored; a child must not inherit that.
    let sv = Sv::daemon(4);
    let pid = started_pid(&create(&sv, &["/bin/sleep", "60"], &[]), "sleep");
    assert!(wait_until(5, || cmdline(pid).starts_with("/bin/sleep")));
    assert_eq!(
        status_line(pid, "SigIgn"),
        "0000000000000000",
        "daemon SigIgn {}",
        status_line(daemon_pid(&sv), "SigIgn")
    );
}

#[test]
fn output_is_captured_in_the_logs() {
    let sv = Sv::daemon(4);
    let r = create(
        &sv,
        &["/bin/sh", "--name", "talker"],
        &["-c", "echo out; echo err >&2; sleep 60"],
    );
    started_pid(&r, "talker");
    let out = log_path(&sv, "talker", "stdout");
    let err = log_path(&sv, "talker", "stderr");
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    assert!(
        wait_until(5, || read(&out) == "out\n" && read(&err) == "err\n"),
        "stdout {:?}, stderr {:?}",
        read(&out),
        read(&err)
    );
}

// ------------------------------------------------------- spawn failures

#[test]
fn missing_program_fails_at_once() {
    let sv = Sv::daemon(4);
    for (path, name) in [("/nonexistent/prog", "prog"), ("./not-here", "not-here")] {
        let t0 = Instant::now();
        let r = create(&sv, &[path, "-r", "3"], &[]);
        assert_eq!(r.code, 1, "{r:?}");
        assert!(
            r.stderr
                .contains(&format!("{name}: spawn error: No such file or directory")),
            "{r:?}"
        );
        assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
        let (state, detail) = sv.state(name).expect("listed");
        assert_eq!(state, "FATAL");
        assert_eq!(detail, "spawn error: No such file or directory");
    }
    // Never a silent loop: still FATAL, no restart used. The pause is the
    // check (a retry would show within it), not a wait for a condition.
    std::thread::sleep(Duration::from_millis(300));
    let js = sv.sv(&["service-status", "prog", "--json"]);
    assert!(js.ok().contains("\"restarts\":0"), "{js:?}");
    assert!(js.stdout.contains("\"state\":\"FATAL\""), "{js:?}");
    assert!(js.stdout.contains("\"pid\":null"), "{js:?}");
}

#[test]
fn non_executable_file_fails_with_permission_denied() {
    let sv = Sv::daemon(4);
    let file = sv.work.path().join("script");
    std::fs::write(&file, "#!/bin/sh\nsleep 60\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let r = create(&sv, &["./script"], &[]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("script: spawn error: Permission denied"),
        "{r:?}"
    );
    let (state, detail) = sv.state("script").expect("listed");
    assert_eq!(state, "FATAL");
    assert_eq!(detail, "spawn error: Permission denied");

    // `start` tries again and says why; once executable it runs.
    let r = sv.sv(&["start", "script"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("Permission denied"), "{r:?}");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).unwrap();
    let r = sv.sv(&["start", "script"]);
    assert_eq!(r.ok(), "script: started\n");
    assert_eq!(sv.state("script").unwrap().0, "RUNNING");
}

#[test]
fn a_directory_is_not_executable() {
    let sv = Sv::daemon(4);
    std::fs::create_dir(sv.work.path().join("adir")).unwrap();
    let r = create(&sv, &["./adir"], &[]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("spawn error: Permission denied"), "{r:?}");
    assert_eq!(sv.state("adir").unwrap().0, "FATAL");
}

// ------------------------------------------------------- stopping

#[test]
fn sigterm_ignoring_child_is_sigkilled_after_stopwaitsecs() {
    let sv = Sv::daemon(4);
    let r = create(
        &sv,
        &["/bin/sh", "--name", "stubborn", "--set", "stopwaitsecs=1"],
        &[
            "-c",
            "trap '' TERM; echo ready > ready; while :; do sleep 0.1; done",
        ],
    );
    let pid = started_pid(&r, "stubborn");
    let _guard = KillOnDrop(pid);
    assert!(wait_until(5, || sv.work.path().join("ready").exists()));
    let t0 = Instant::now();
    let r = sv.sv(&["stop", "stubborn"]);
    let took = t0.elapsed();
    assert_eq!(r.ok(), "stubborn: stopped\n");
    assert!(
        took >= Duration::from_millis(900),
        "SIGKILL before stopwaitsecs: {took:?}"
    );
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!(!alive(pid));
    assert!(group_members(pid).is_empty(), "group {pid} left behind");
    let (state, detail) = sv.state("stubborn").unwrap();
    assert_eq!(state, "STOPPED");
    assert!(detail.contains("SIGKILL"), "{detail}");
    assert!(zombie_children(daemon_pid(&sv)).is_empty());
}

#[test]
fn stop_uses_the_configured_stopsignal() {
    let sv = Sv::daemon(4);
    let r = create(
        &sv,
        &["/bin/sh", "--name", "intr", "--set", "stopsignal=INT"],
        &[
            "-c",
            "trap 'echo INT > got; exit 0' INT; trap '' TERM; echo ready > ready; \
             while :; do sleep 0.1; done",
        ],
    );
    let pid = started_pid(&r, "intr");
    let _guard = KillOnDrop(pid);
    assert!(wait_until(5, || sv.work.path().join("ready").exists()));
    let t0 = Instant::now();
    assert_eq!(sv.sv(&["stop", "intr"]).ok(), "intr: stopped\n");
    // Well before the default stopwaitsecs of 10: INT did it, not SIGKILL.
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
    let got = std::fs::read_to_string(sv.work.path().join("got")).unwrap_or_default();
    assert_eq!(got, "INT\n");
    assert!(!alive(pid));
}

#[test]
fn grandchild_dies_with_its_group_on_stop() {
    let sv = Sv::daemon(4);
    let r = create(
        &sv,
        &["/bin/sh", "--name", "family"],
        &["-c", "sleep 300 & echo $! > gc.pid; wait"],
    );
    let pid = started_pid(&r, "family");
    let gc = read_pid_file(&sv.work.path().join("gc.pid"));
    let _guard = KillOnDrop(gc);
    assert!(alive(gc));
    assert_eq!(pgid(gc), Some(pid), "grandchild in the service's group");
    assert_eq!(sv.sv(&["stop", "family"]).ok(), "family: stopped\n");
    assert!(
        wait_until(5, || !alive(gc)),
        "grandchild {gc} outlived stop"
    );
    assert!(!alive(pid));
}

#[test]
fn grandchild_ignoring_stopsignal_is_killed_with_the_group() {
    let sv = Sv::daemon(4);
    let r = create(
        &sv,
        &["/bin/sh", "--name", "family", "--set", "stopwaitsecs=1"],
        &[
            "-c",
            "sh -c 'trap \"\" TERM; echo $$ > gc.pid; while :; do sleep 0.1; done' & wait",
        ],
    );
    let pid = started_pid(&r, "family");
    let gc = read_pid_file(&sv.work.path().join("gc.pid"));
    let _guard = KillOnDrop(gc);
    assert_eq!(pgid(gc), Some(pid), "grandchild in the service's group");
    assert_eq!(sv.sv(&["stop", "family"]).ok(), "family: stopped\n");
    // SPEC §5 stopasgroup/killasgroup: "no orphaned grandchildren".
    assert!(
        wait_until(4, || !alive(gc)),
        "grandchild {gc} of stopped service still running, orphaned (group {pid})"
    );
}

// ------------------------------------------------------- reaping, restarts

#[test]
fn no_zombies_after_many_restarts() {
    let sv = Sv::daemon(4);
    let t0 = Instant::now();
    let r = create(
        &sv,
        &[
            "/bin/sh",
            "--name",
            "crasher",
            "-r",
            "5",
            "--set",
            "startsecs=0",
        ],
        &["-c", "exit 1"],
    );
    assert_eq!(r.code, 0, "{r:?}");
    let detail = sv.wait_state("crasher", "FATAL", 20);
    // startsecs=0: every exit is after startsecs, so no backoff; the
    // restart floor (SPEC §11) spaces the spawns a second apart.
    assert!(t0.elapsed() < Duration::from_secs(15), "{:?}", t0.elapsed());
    assert!(detail.contains("exit 1"), "{detail}");
    let js = sv.sv(&["service-status", "crasher", "--json"]);
    assert!(js.ok().contains("\"restarts\":5"), "{js:?}");
    let d = daemon_pid(&sv);
    assert!(
        wait_until(2, || zombie_children(d).is_empty()),
        "zombies: {:?}",
        zombie_children(d)
    );
    assert!(children(d).is_empty(), "children left: {:?}", children(d));
}

#[test]
fn many_services_exiting_together_are_all_reaped() {
    let sv = Sv::daemon(4);
    for i in 0..20 {
        let name = format!("quick{i}");
        let r = create(
            &sv,
            &["/bin/sh", "--name", &name, "--set", "startsecs=0"],
            &["-c", "sleep 0.3; exit 3"],
        );
        assert_eq!(r.code, 0, "{r:?}");
    }
    for i in 0..20 {
        let detail = sv.wait_state(&format!("quick{i}"), "EXITED", 10);
        assert!(detail.contains("exit 3"), "{detail}");
    }
    let d = daemon_pid(&sv);
    assert!(
        wait_until(2, || children(d).is_empty()),
        "left: {:?} zombies {:?}",
        children(d),
        zombie_children(d)
    );
}

#[test]
fn early_exits_back_off_then_go_fatal() {
    let sv = Sv::daemon(4);
    let t0 = Instant::now();
    let r = create(
        &sv,
        &["/bin/sh", "--name", "flaky", "-r", "2"],
        &["-c", "exit 1"],
    );
    assert_eq!(r.code, 0, "{r:?}");
    sv.wait_state("flaky", "BACKOFF", 5);
    sv.wait_state("flaky", "FATAL", 15);
    // Retried after 1 s, then after 2 s: about 3 s in all.
    let took = t0.elapsed();
    assert!(took >= Duration::from_millis(2800), "too fast: {took:?}");
    assert!(took < Duration::from_secs(8), "too slow: {took:?}");
    assert!(zombie_children(daemon_pid(&sv)).is_empty());
}

/// "Max open files" soft limit of a process, from /proc/PID/limits.
fn soft_nofile(pid: i32) -> Option<u64> {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// The daemon raises its own descriptor limit (two FIFO ends per running
/// service) but gives children back the limit it was started with.
#[test]
fn children_get_the_descriptor_limit_the_daemon_was_given() {
    let mut sv = Sv::new(4);
    let cmd = format!("ulimit -Sn 256 && exec '{}' daemon 4", sv_bin().display());
    // A shell in front, to start the daemon with a low soft limit.
    let child = std::process::Command::new("/bin/sh")
        .args(["-c", &cmd])
        .env("SV_RUNTIME_DIR", sv.runtime.path())
        .current_dir(sv.work.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn daemon");
    sv.child = Some(child);
    sv.wait_ready();
    let d = daemon_pid(&sv);
    let r = create(&sv, &["/bin/sleep", "60", "--name", "lim"], &[]);
    let pid = started_pid(&r, "lim");
    assert!(wait_until(5, || cmdline(pid).trim_end() == "/bin/sleep 60"));
    assert!(soft_nofile(d).unwrap() > 256, "the daemon kept 256");
    assert_eq!(soft_nofile(pid), Some(256));
}

/// The child borrows the daemon's memory until it execs (CLONE_VM): its
/// resets of signal dispositions and mask must not leak into the daemon.
#[test]
fn spawning_leaves_the_daemons_own_signals_alone() {
    let sv = Sv::daemon(4);
    let d = daemon_pid(&sv);
    let (ign, blk) = (status_line(d, "SigIgn"), status_line(d, "SigBlk"));
    assert_ne!(
        blk, "0000000000000000",
        "the daemon blocks its signalfd's signals"
    );
    for n in 0..5 {
        let name = format!("s{n}");
        let r = create(&sv, &["/bin/sleep", "60", "--name", &name], &[]);
        started_pid(&r, &name);
    }
    assert_eq!(status_line(d, "SigIgn"), ign);
    assert_eq!(status_line(d, "SigBlk"), blk);
    // And it still answers (a SIGPIPE default would have killed it on the
    // first client that hangs up early).
    assert_eq!(sv.sv(&["status"]).code, 0);
}

/// A program found through PATH that moves to another directory of PATH
/// is found again at its next start: the daemon keeps each service's
/// command built, and builds it again when its program is not where it was.
#[test]
fn a_program_that_moved_within_path_is_found_again() {
    let mut sv = Sv::new(4);
    let (a, b) = (sv.work.path().join("a"), sv.work.path().join("b"));
    std::fs::create_dir(&a).unwrap();
    std::fs::create_dir(&b).unwrap();
    let prog = a.join("sv-mover");
    std::fs::write(&prog, "#!/bin/sh\nexec sleep 60\n").unwrap();
    std::fs::set_permissions(&prog, std::fs::Permissions::from_mode(0o755)).unwrap();
    let conf = format!(
        "[program:mover]\ncommand=sv-mover\nenvironment=PATH={}:{}:/usr/bin:/bin\nstartsecs=0\n",
        a.display(),
        b.display()
    );
    let c = sv.config_daemon(&conf);
    sv.launch(c);
    sv.wait_state("mover", "RUNNING", 10);
    let first = sv.pid("mover").unwrap();
    std::fs::rename(&prog, b.join("sv-mover")).unwrap();
    // SAFETY: killing the process the daemon started for this test.
    unsafe { libc::kill(first, libc::SIGKILL) };
    let again = wait_until(10, || sv.pid("mover").is_some_and(|p| p != first));
    assert!(again, "not restarted: {:?}", sv.state("mover"));
    assert_eq!(sv.state("mover").unwrap().0, "RUNNING");
}
