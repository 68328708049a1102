//! Helpers of the SPEC §15 tests (containers and PID 1): a daemon run
//! straight or as PID 1 of a new PID namespace (`unshare --pid --fork
//! --mount-proc`), waited for with a deadline, and the zombies among its
//! children read from outside through /proc.

use super::{children, proc_state, sv_bin, wait_until, Sv};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Where the daemon runs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Pid1 {
    /// A child of the test, a subreaper.
    No,
    /// PID 1 of a new PID namespace.
    Yes,
}

/// True when a PID namespace can be made here; otherwise reports the
/// test as skipped (never passed) and the caller returns.
pub fn can_unshare() -> bool {
    if !super::require_root("make a PID namespace with unshare") {
        return false;
    }
    let ok = Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "true"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        super::skip("unshare --pid --fork --mount-proc does not work here");
    }
    ok
}

/// `PROGRAM ARGS` (the sv binary or a link to it) with the test's
/// environment, stderr to `work/daemon.err`, in a PID namespace if asked.
pub fn daemon_command(sv: &Sv, pid1: Pid1, program: &Path, args: &[&str]) -> Command {
    let err = std::fs::File::create(sv.work.path().join("daemon.err")).expect("daemon.err");
    let mut c = match pid1 {
        Pid1::No => Command::new(program),
        Pid1::Yes => {
            let mut c = Command::new("unshare");
            c.args(["--pid", "--fork", "--mount-proc"]).arg(program);
            c
        }
    };
    c.args(args)
        .env("SV_RUNTIME_DIR", sv.runtime.path())
        .env("SV_INSTANCE", sv.instance.to_string())
        .env_remove("SV_SYSLOG_SOCKET")
        .current_dir(sv.work.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(err);
    c
}

/// `sv daemon N -c work/sv.conf` with `conf` written there, started as
/// the test's daemon (closed through its socket when `sv` drops).
pub fn start(sv: &mut Sv, pid1: Pid1, conf: &str) {
    let path = sv.write_conf(conf);
    let n = sv.instance.to_string();
    let c = daemon_command(
        sv,
        pid1,
        &sv_bin(),
        &["daemon", &n, "-c", path.to_str().unwrap()],
    );
    sv.launch(c);
}

/// The daemon's own pid as the host sees it: the child of `unshare` in
/// a namespace, else the test's child itself.
pub fn daemon_pid(sv: &Sv, pid1: Pid1) -> i32 {
    let child = sv.child.as_ref().expect("a daemon started by the test");
    let pid = child.id() as i32;
    if pid1 == Pid1::No {
        return pid;
    }
    let mut found = None;
    let ok = wait_until(10, || {
        found = children(pid).first().copied();
        found.is_some()
    });
    assert!(ok, "unshare (pid {pid}) has no child");
    let d = found.unwrap();
    // In its namespace it is PID 1.
    let status = std::fs::read_to_string(format!("/proc/{d}/status")).unwrap_or_default();
    let nspid = status.lines().find(|l| l.starts_with("NSpid:"));
    assert!(
        nspid.is_some_and(|l| l.split_whitespace().last() == Some("1")),
        "the daemon is not PID 1 of its namespace: {nspid:?}"
    );
    d
}

/// Waits up to `secs` for the test's daemon to exit; its status, or None
/// if it is still running (it is left for `sv`'s drop to close).
pub fn wait_exit(sv: &mut Sv, secs: u64) -> Option<ExitStatus> {
    let child: &mut Child = sv.child.as_mut().expect("a daemon started by the test");
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Ok(Some(st)) = child.try_wait() {
            sv.child = None;
            return Some(st);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The exit code of a status, 128+N for a signal (as a shell has it).
pub fn code(st: ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    st.code().unwrap_or_else(|| 128 + st.signal().unwrap_or(0))
}

/// The daemon's own log (its stderr).
pub fn daemon_log(sv: &Sv) -> String {
    std::fs::read_to_string(sv.work.path().join("daemon.err")).unwrap_or_default()
}

/// The children of `pid` that are zombies nobody reaped yet.
pub fn zombie_children(pid: i32) -> Vec<i32> {
    children(pid)
        .into_iter()
        .filter(|c| proc_state(*c).as_deref() == Some("Z"))
        .collect()
}

/// The pids in `sv status` (`pid N` of each row).
pub fn status_pids(sv: &Sv) -> Vec<i32> {
    let r = sv.sv(&["status"]);
    r.stdout
        .lines()
        .filter_map(|l| {
            let at = l.find("pid ")? + 4;
            l[at..]
                .split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()
        })
        .collect()
}

/// An executable script `work/NAME` holding `body` (after `#!/bin/sh`).
pub fn script(sv: &Sv, name: &str, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = sv.work.path().join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}")).expect("write script");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

/// A config of `n` programs that sleep, in three levels of priority,
/// every fifth ignoring SIGTERM; each waits `stopwait` s for its stop.
pub fn fifty(n: usize, stopwait: u64) -> String {
    let mut conf = String::new();
    for i in 0..n {
        let cmd = if i % 5 == 0 {
            // The shell ignores TERM; its sleep gets the group's SIGKILL.
            "/bin/sh -c 'trap \"\" TERM && while :; do sleep 1; done'"
        } else {
            "/bin/sleep 1000"
        };
        conf.push_str(&format!(
            "[program:p{i:02}]\ncommand={cmd}\nstartsecs=0\nstopwaitsecs={stopwait}\npriority={}\n",
            100 * (i % 3)
        ));
    }
    conf
}

// ------------------------------------------------------------ scenarios
// Each runs the same way as PID 1 (spec_15_pid1) and outside a PID
// namespace (spec_15_exit).

/// `sh -c` that waits for the file `GO` in the work dir, then runs `then`.
fn after_go(sv: &Sv, then: &str) -> String {
    let go = sv.work.path().join("GO");
    format!(
        "/bin/sh -c \"while [ ! -e {} ]; do sleep 0.05; done; {then}\"",
        go.display()
    )
}

fn go(sv: &Sv) {
    std::fs::write(sv.work.path().join("GO"), "").expect("write GO");
}

/// `shutdown_on = exit`: the daemon stops the others and exits with the
/// program's own code, and says which program ended it and why.
pub fn exit_is_the_programs_code(pid1: Pid1) {
    let mut sv = Sv::new(71);
    let conf = format!(
        "[program:job]\ncommand={}\nstartsecs=0\nautorestart=false\nshutdown_on=exit\n\
         [program:other]\ncommand=/bin/sleep 1000\nstartsecs=0\n",
        after_go(&sv, "exit 7")
    );
    start(&mut sv, pid1, &conf);
    sv.wait_state("other", "RUNNING", 10);
    let other = sv.pid("other").expect("other's pid");
    go(&sv);
    let st = wait_exit(&mut sv, 30).expect("the daemon did not exit after job ended");
    assert_eq!(code(st), 7, "{}", daemon_log(&sv));
    let log = daemon_log(&sv);
    assert!(
        log.contains("job: EXITED (exit 7) with shutdown_on = exit: stopping every service"),
        "{log}"
    );
    // Stopped by the stop rules first, not left behind.
    assert!(
        log.contains("other: pid") && log.contains("killed by SIGTERM"),
        "{log}"
    );
    if pid1 == Pid1::No {
        assert!(
            !super::alive(other),
            "other (pid {other}) outlived the daemon"
        );
    }
}

/// `shutdown_on = exit` of a program killed by a signal: 128 + N.
pub fn a_signal_is_128_plus_n(pid1: Pid1) {
    let mut sv = Sv::new(72);
    let conf = format!(
        "[program:job]\ncommand={}\nstartsecs=0\nautorestart=false\nshutdown_on=exit\n",
        after_go(&sv, "kill -USR1 $$")
    );
    start(&mut sv, pid1, &conf);
    sv.wait_state("job", "RUNNING", 10);
    go(&sv);
    let st = wait_exit(&mut sv, 30).expect("the daemon did not exit after job ended");
    assert_eq!(code(st), 128 + libc::SIGUSR1, "{}", daemon_log(&sv));
    assert!(daemon_log(&sv).contains("job: EXITED (killed by SIGUSR1)"));
}

/// `shutdown_on = fatal`: exit 1, whatever code the program failed with.
pub fn fatal_exits_1(pid1: Pid1) {
    let mut sv = Sv::new(73);
    let conf = format!(
        "[program:bad]\ncommand={}\nstartretries=2\nshutdown_on=fatal\n\
         [program:other]\ncommand=/bin/sleep 1000\nstartsecs=0\n",
        after_go(&sv, "exit 4")
    );
    start(&mut sv, pid1, &conf);
    sv.wait_state("other", "RUNNING", 10);
    go(&sv);
    let st = wait_exit(&mut sv, 30).expect("the daemon did not exit after bad went FATAL");
    let log = daemon_log(&sv);
    assert_eq!(code(st), 1, "{log}");
    assert!(log.contains("bad: FATAL ("), "{log}");
    assert!(log.contains("with shutdown_on = fatal"), "{log}");
}

/// `[supervisord] shutdown_on = exit` is every program's default; a
/// program's own `never` keeps the daemon running when it ends.
pub fn the_section_sets_the_default(pid1: Pid1) {
    let mut sv = Sv::new(74);
    let conf = format!(
        "[supervisord]\nshutdown_on=exit\n\
         [program:keep]\ncommand=/bin/sh -c \"exit 3\"\nstartsecs=0\nautorestart=false\n\
         shutdown_on=never\n\
         [program:job]\ncommand={}\nstartsecs=0\nautorestart=false\n",
        after_go(&sv, "exit 5")
    );
    start(&mut sv, pid1, &conf);
    sv.wait_state("keep", "EXITED", 10);
    // keep ended with 3 and the daemon goes on.
    sv.wait_state("job", "RUNNING", 10);
    assert!(
        wait_exit(&mut sv, 0).is_none(),
        "keep's end ended the daemon"
    );
    go(&sv);
    let st = wait_exit(&mut sv, 30).expect("the daemon did not exit after job ended");
    assert_eq!(code(st), 5, "{}", daemon_log(&sv));
}

/// The `supervisord` applet in the foreground (`-n`, or as PID 1 without
/// it), with `shutdown_on` in `[supervisord]`: its own exit status is the
/// program's.
pub fn supervisord_exits_with_the_programs_code(pid1: Pid1) {
    let mut sv = Sv::new(75);
    let work = sv.work.path().to_path_buf();
    let bin = work.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let link = super::applet_link(&bin, "supervisord");
    let conf = work.join("supervisord.conf");
    std::fs::write(
        &conf,
        format!(
            "[supervisord]\nlogfile={0}/supervisord.log\npidfile={0}/supervisord.pid\n\
             shutdown_on=exit\n\
             [program:job]\ncommand={1}\nstartsecs=0\nautorestart=false\n",
            work.display(),
            after_go(&sv, "exit 9")
        ),
    )
    .unwrap();
    // As PID 1 without `-n` or nodaemon: it must stay in the foreground
    // (detaching would end the namespace, and the daemon with it).
    let conf = conf.to_str().unwrap();
    let args: &[&str] = match pid1 {
        Pid1::No => &["-n", "-c", conf],
        Pid1::Yes => &["-c", conf],
    };
    let c = daemon_command(&sv, pid1, &link, args);
    sv.launch(c);
    sv.wait_state("job", "RUNNING", 10);
    go(&sv);
    let st = wait_exit(&mut sv, 30).expect("supervisord did not exit after job ended");
    let log = std::fs::read_to_string(work.join("supervisord.log")).unwrap_or_default();
    assert_eq!(code(st), 9, "{log}");
    assert!(
        log.contains("job: EXITED (exit 9) with shutdown_on = exit"),
        "{log}"
    );
}

/// SIGTERM (or SIGINT) with 50 programs in three priority levels, every
/// fifth ignoring SIGTERM with stopwaitsecs=2: the daemon exits 0 within
/// the largest stopwaitsecs plus one second (SPEC §15), leaving nothing.
pub fn a_stop_signal_ends_within_the_grace_period(pid1: Pid1, sig: i32) {
    let mut sv = Sv::new(76);
    start(&mut sv, pid1, &fifty(50, 2));
    let mut pids = Vec::new();
    let all = wait_until(30, || {
        pids = status_pids(&sv);
        pids.len() == 50
    });
    assert!(all, "not all 50 running: {:?}", sv.sv(&["status"]).stdout);
    let daemon = daemon_pid(&sv, pid1);
    let t0 = Instant::now();
    super::kill(daemon, sig);
    // Generous: the bound is checked below, with its own message.
    let st = wait_exit(&mut sv, 30).expect("the daemon did not exit after the signal");
    let took = t0.elapsed();
    assert_eq!(code(st), 0, "{}", daemon_log(&sv));
    assert!(
        took < Duration::from_secs(3),
        "took {took:?}, more than stopwaitsecs (2 s) + 1 s\n{}",
        daemon_log(&sv)
    );
    if pid1 == Pid1::No {
        // Namespace pids mean nothing here; a namespace ends with its PID 1.
        let left: Vec<i32> = pids.into_iter().filter(|p| super::alive(*p)).collect();
        assert!(left.is_empty(), "left running: {left:?}");
    }
}

/// A program that leaves orphans (a grandchild it does not wait for):
/// each is reparented to the daemon (PID 1, or the subreaper) and reaped
/// at once. `n` orphans `gap` s apart; the most zombies seen at once
/// among the daemon's children must stay under `most` (one that reaped
/// none would reach `n`), and none is left at the end.
pub fn orphans_are_reaped(pid1: Pid1, n: u32, gap: &str, most: usize) {
    let mut sv = Sv::new(77);
    let done = sv.work.path().join("orphans.done");
    let maker = script(
        &sv,
        "orphans.sh",
        &format!(
            "i=0\nwhile [ $i -lt {n} ]; do\n  ( /bin/true & )\n  i=$((i+1))\n  sleep {gap}\n\
             done\ntouch {}\nexec sleep 1000\n",
            done.display()
        ),
    );
    let conf = format!(
        "[program:maker]\ncommand={}\nstartsecs=0\nautorestart=false\n",
        maker.display()
    );
    start(&mut sv, pid1, &conf);
    let daemon = daemon_pid(&sv, pid1);
    let mut seen = 0;
    let finished = wait_until(60, || {
        seen = seen.max(zombie_children(daemon).len());
        done.exists()
    });
    assert!(finished, "the maker never finished: {}", daemon_log(&sv));
    assert!(
        seen < most,
        "{seen} zombies at once among the daemon's children"
    );
    let mut left = Vec::new();
    let none = wait_until(10, || {
        left = zombie_children(daemon);
        left.is_empty()
    });
    assert!(none, "zombies left unreaped: {left:?}");
    // The daemon goes on serving.
    assert_eq!(sv.state("maker").map(|s| s.0).as_deref(), Some("RUNNING"));
}
