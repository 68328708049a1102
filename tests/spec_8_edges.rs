//! SPEC 8 and 11 at the edges (issue 10, part 1): a SIGKILL of the daemon
//! at any instant (cold start, mid-spawn, mid-create, mid-restart), a state
//! file of any size, a state file that cannot be trusted, a state write
//! that fails, and what a not-running service shows after a crash.
//!
//! What must hold after each: the next daemon for the instance has every
//! service exactly once, and `close` leaves nothing.
//!
//! Every service here runs a program through a symlink in the test's own
//! work directory (`PROG -> /bin/sleep`), so its argv[0] is unique to the
//! test: /proc is scanned by it to count processes and to record their
//! pids for the final clean-up, never to kill by name.
mod common;
mod crash_harness;
use common::*;
use crash_harness::*;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

/// `work/prog -> /bin/sleep`: the program every service of the test runs.
fn prog(c: &Crashy) -> PathBuf {
    let p = c.sv.work.path().join("prog");
    if !p.exists() {
        std::os::unix::fs::symlink("/bin/sleep", &p).expect("symlink prog");
    }
    p
}

/// Live processes whose argv[0] is `prog`, with their argv[1..]; each is
/// recorded for the clean-up.
fn running(c: &mut Crashy, prog: &Path) -> Vec<(i32, Vec<String>)> {
    let want = prog.as_os_str().as_encoded_bytes();
    let mut out = Vec::new();
    for (pid, parts) in cmdlines() {
        let mut parts = parts.iter();
        if parts.next().map(Vec::as_slice) != Some(want) || !alive(pid) {
            continue;
        }
        c.strays.add(pid);
        let args = parts
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        out.push((pid, args));
    }
    out.sort();
    out
}

/// How many live processes run `prog` with exactly `args`.
fn count(c: &mut Crashy, prog: &Path, args: &[&str]) -> usize {
    running(c, prog)
        .iter()
        .filter(|(_, a)| a.iter().map(String::as_str).eq(args.iter().copied()))
        .count()
}

/// Starts `sv daemon N [-c CONF]` without waiting for it, lets it run for
/// `ms` milliseconds (the instant of the fault under test, not a wait for
/// a condition), SIGKILLs and reaps it.
fn boot_and_kill_after(c: &mut Crashy, ms: u64) {
    let mut cmd = c.sv.command();
    cmd.args(["daemon", &N.to_string()]);
    if let Some(conf) = &c.conf {
        cmd.arg("-c").arg(conf);
    }
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn sv daemon");
    std::thread::sleep(Duration::from_millis(ms));
    child.kill().expect("SIGKILL the daemon");
    child.wait().expect("reap the daemon");
}

/// A config of `n` programs `pNN` running `prog 1000 NN`.
fn programs(prog: &Path, n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "[program:p{i:03}]\ncmd={} 1000 {i}\nstartsecs=0\n",
                prog.display()
            )
        })
        .collect()
}

/// Every program `pNN` of [`programs`] runs exactly once and is RUNNING.
#[track_caller]
fn assert_each_once(c: &mut Crashy, prog: &Path, n: usize) {
    let ok = wait_until(20, || {
        let r = c.sv(&["status"]);
        r.code == 0 && r.stdout.lines().filter(|l| l.contains(" RUNNING ")).count() >= n
    });
    assert!(
        ok,
        "not every program came up: {}",
        c.sv(&["status"]).stdout
    );
    for i in 0..n {
        let arg = i.to_string();
        let k = count(c, prog, &["1000", &arg]);
        if k != 1 {
            let pids: Vec<i32> = running(c, prog)
                .into_iter()
                .filter(|(_, a)| a.len() == 2 && a[1] == arg)
                .map(|(p, _)| p)
                .collect();
            let logs: String = (1..=c.boots)
                .map(|b| format!("--- daemon {b}:\n{}", c.log(b)))
                .collect();
            panic!("p{i:03} runs {k} times: pids {pids:?}\n{logs}");
        }
    }
}

/// `close` leaves no process of the test behind.
#[track_caller]
fn assert_close_leaves_nothing(c: &mut Crashy, prog: &Path) {
    c.close();
    let ok = wait_until(10, || running(c, prog).is_empty());
    assert!(ok, "left after close: {:?}", running(c, prog));
}

/// A config whose proc file holds pids that no longer exist after a
/// config with unique args: fills the config path for `Crashy`.
fn crashy_with(n: usize) -> (Crashy, PathBuf) {
    let mut c = Crashy::unbooted(Some(""));
    let p = prog(&c);
    let conf = programs(&p, n);
    std::fs::write(c.conf.as_ref().unwrap(), conf).unwrap();
    c.strays.0.clear();
    (c, p)
}

// ---------------------------------------------------------------------------
// A SIGKILL at any instant
// ---------------------------------------------------------------------------

#[test]
fn sigkills_during_a_cold_start_never_run_a_program_twice() {
    const PROGRAMS: usize = 100;
    let (mut c, p) = crashy_with(PROGRAMS);
    for ms in [0, 3, 6, 10, 15, 25, 40, 70] {
        boot_and_kill_after(&mut c, ms);
        running(&mut c, &p);
    }
    c.boot();
    assert_each_once(&mut c, &p, PROGRAMS);
    assert_close_leaves_nothing(&mut c, &p);
}

#[test]
fn sigkills_during_create_service_and_restart_all_leave_every_service_once() {
    const PROGRAMS: usize = 20;
    let (mut c, p) = crashy_with(PROGRAMS);
    c.boot();
    assert_each_once(&mut c, &p, PROGRAMS);
    for (round, ms) in [0u64, 2, 5, 9, 14, 20, 30, 45, 60].into_iter().enumerate() {
        let name = format!("made{round}");
        let arg = format!("{}", 2000 + round);
        let mut create =
            c.sv.command()
                .args(["create-service", "--no-wait", "-i", &N.to_string()])
                .args(["--name", &name])
                .arg(&p)
                .arg(&arg)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
        let mut restart =
            c.sv.command()
                .args(["restart", "all", "-i", &N.to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
        std::thread::sleep(Duration::from_millis(ms));
        c.crash_now();
        let _ = create.wait();
        let _ = restart.wait();
        c.boot();
        assert_each_once(&mut c, &p, PROGRAMS);
        // Each created service runs at most once, and only as a service
        // the daemon knows.
        let names = c.names();
        for r in 0..=round {
            let arg = format!("{}", 2000 + r);
            let k = count(&mut c, &p, &[&arg]);
            let known = names.contains(&format!("made{r}"));
            assert!(k <= 1, "made{r} runs {k} times");
            assert!(k == 0 || known, "made{r} runs but no service knows it");
        }
    }
    assert_close_leaves_nothing(&mut c, &p);
}

// ---------------------------------------------------------------------------
// The state file: any size, never trusted blindly
// ---------------------------------------------------------------------------

#[test]
fn a_state_file_over_a_mebibyte_is_read_back() {
    let mut c = Crashy::new(None);
    // Twelve services whose environments carry 100 KB each: the state
    // file holds 1.2 MB, over the wire's frame limit (what `status` shows
    // stays small).
    let mut pids = Vec::new();
    for k in 0..12 {
        let name = format!("big{k}");
        let env = format!("environment=BIG={k}{}", "x".repeat(100_000));
        c.create(&["--name", &name, "--set", &env, "/bin/sleep", "1000"]);
        c.sv.wait_state(&name, "RUNNING", 10);
        pids.push(c.pid(&name));
    }
    c.crash();
    let size = std::fs::metadata(c.state_path()).unwrap().len();
    assert!(size > 1 << 20, "the state file is only {size} bytes");
    c.boot();
    let log = c.log(2);
    assert!(!log.contains("refused"), "{log}");
    for (k, pid) in pids.iter().enumerate() {
        assert_eq!(c.sv.pid(&format!("big{k}")), Some(*pid), "{log}");
    }
    c.close();
    for pid in pids {
        assert!(wait_until(10, || !alive(pid)), "pid {pid} left after close");
    }
}

/// Runs config program `a` and ad hoc service `x`, crashes, spoils the
/// state file with `spoil`, boots again: both must come back with the
/// same pids, nothing twice, and close must leave nothing.
fn survive_a_spoiled_state_file(spoil: impl FnOnce(&Path, &[u8], i32)) {
    let mut c = Crashy::unbooted(Some(""));
    let p = prog(&c);
    let conf = format!("[program:a]\ncmd={} 1000 1\n", p.display());
    std::fs::write(c.conf.as_ref().unwrap(), conf).unwrap();
    c.boot();
    c.sv.wait_state("a", "RUNNING", 10);
    c.create(&["--name", "x", p.to_str().unwrap(), "1000", "2"]);
    c.sv.wait_state("x", "RUNNING", 10);
    let (a, x) = (c.pid("a"), c.pid("x"));
    c.crash();
    let state = c.state_path();
    let bytes = std::fs::read(&state).unwrap();
    spoil(&state, &bytes, a);
    c.boot();
    let log = c.log(2);
    assert!(log.contains("refused"), "no refusal logged:\n{log}");
    assert!(wait_until(10, || c.sv.pid("a") == Some(a)), "{log}");
    assert_eq!(c.sv.pid("x"), Some(x), "x was not found again:\n{log}");
    assert_eq!(count(&mut c, &p, &["1000", "1"]), 1);
    assert_eq!(count(&mut c, &p, &["1000", "2"]), 1);
    assert_close_leaves_nothing(&mut c, &p);
}

#[test]
fn a_truncated_state_file_still_finds_every_process() {
    survive_a_spoiled_state_file(|path, bytes, _| {
        std::fs::write(path, &bytes[..bytes.len() * 2 / 3]).unwrap()
    });
}

#[test]
fn a_state_file_of_random_bytes_still_finds_every_process() {
    survive_a_spoiled_state_file(|path, bytes, _| {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let junk: Vec<u8> = (0..bytes.len())
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        std::fs::write(path, junk).unwrap()
    });
}

#[test]
fn an_unreadable_state_file_still_finds_every_process() {
    survive_a_spoiled_state_file(|path, _, _| {
        // A directory where the file should be: reading it fails (root
        // reads any file whatever its mode).
        std::fs::remove_file(path).unwrap();
        std::fs::create_dir(path).unwrap();
    });
}

#[test]
fn one_flipped_byte_in_a_recorded_pid_is_caught() {
    survive_a_spoiled_state_file(|path, bytes, pid| {
        let needle = pid.to_le_bytes();
        let at = bytes
            .windows(4)
            .position(|w| w == needle)
            .expect("the pid is in the state file");
        let mut spoiled = bytes.to_vec();
        spoiled[at] ^= 0x01;
        std::fs::write(path, spoiled).unwrap()
    });
}

// ---------------------------------------------------------------------------
// A change that cannot be made durable, and what survives a crash
// ---------------------------------------------------------------------------

#[test]
fn a_change_that_cannot_be_saved_is_answered_as_failed() {
    let mut c = Crashy::unbooted(Some(""));
    let p = prog(&c);
    let conf = format!("[program:a]\ncmd={} 1000 1\n", p.display());
    std::fs::write(c.conf.as_ref().unwrap(), conf).unwrap();
    c.boot();
    c.sv.wait_state("a", "RUNNING", 10);
    let a = c.pid("a");
    // The temporary file the state is written through cannot be made.
    let tmp = c.dir().join("state.tmp");
    std::fs::create_dir(&tmp).unwrap();
    let n = N.to_string();
    let r = c.sv.run(&[
        "create-service",
        "-i",
        &n,
        "--name",
        "y",
        p.to_str().unwrap(),
        "1000",
        "3",
    ]);
    assert_eq!(r.code, 1, "create answered {r:?}");
    assert!(r.stderr.contains("state"), "{r:?}");
    // Nothing is left of it: the answer said it failed.
    assert!(wait_until(10, || count(&mut c, &p, &["1000", "3"]) == 0));
    assert!(!c.names().contains(&"y".to_string()));
    let r = c.sv(&["stop", "a"]);
    assert_eq!(r.code, 1, "stop answered {r:?}");
    assert!(
        r.stderr.contains("state") || r.stdout.contains("state"),
        "{r:?}"
    );
    // Writable again: the next change is saved and answered as done.
    std::fs::remove_dir(&tmp).unwrap();
    c.sv(&["start", "a"]).ok();
    let a2 = c.pid("a");
    assert_ne!(a, a2);
    c.crash();
    c.boot();
    assert_eq!(c.sv.pid("a"), Some(a2));
    assert_close_leaves_nothing(&mut c, &p);
}

#[test]
fn services_not_running_keep_their_detail_across_a_crash() {
    let conf = "[program:f]\ncmd=/bin/false\nstartsecs=1\nstartretries=1\n";
    let mut c = Crashy::new(Some(conf));
    c.create(&["--name", "e", "--", "/bin/sh", "-c", "exit 3"]);
    let fatal = c.sv.wait_state("f", "FATAL", 20);
    let exited = c.sv.wait_state("e", "EXITED", 10);
    assert_eq!(exited, "exit 3");
    c.crash();
    c.boot();
    assert_eq!(c.sv.state("f"), Some(("FATAL".into(), fatal)));
    assert_eq!(c.sv.state("e"), Some(("EXITED".into(), exited)));
    c.close();
}

#[test]
fn sigkills_during_reload_and_recovery_never_run_a_program_twice() {
    const BEFORE: usize = 20;
    const AFTER: usize = 80;
    let (mut c, p) = crashy_with(BEFORE);
    c.boot();
    assert_each_once(&mut c, &p, BEFORE);
    // Mid-reload: the new config adds 60 programs.
    std::fs::write(c.conf.as_ref().unwrap(), programs(&p, AFTER)).unwrap();
    let mut reload =
        c.sv.command()
            .args(["reload", "-i", &N.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
    std::thread::sleep(Duration::from_millis(4));
    c.crash_now();
    let _ = reload.wait();
    // Mid-recovery: each daemon is killed while it takes back the last
    // one's processes and starts the rest.
    for ms in [1, 4, 8, 15, 30] {
        boot_and_kill_after(&mut c, ms);
        running(&mut c, &p);
    }
    c.boot();
    assert_each_once(&mut c, &p, AFTER);
    assert_close_leaves_nothing(&mut c, &p);
}

// ---------------------------------------------------------------------------
// The marker cannot be turned against the daemon
// ---------------------------------------------------------------------------

/// A process of uid 65534 carrying the instance's marker (even the real
/// one, token and all): it is never taken for a config program of the
/// daemon's own uid, and if it is taken back at all, it is as a service
/// that runs as 65534, never as root.
#[test]
fn a_marked_process_of_another_uid_gains_nothing() {
    use std::os::unix::process::CommandExt;
    if !require_root("run a process as uid 65534") {
        return;
    }
    let mut c = Crashy::unbooted(Some(""));
    let p = prog(&c);
    let conf = format!("[program:web]\ncmd={} 1000 7\n", p.display());
    std::fs::write(c.conf.as_ref().unwrap(), conf).unwrap();
    // Boot once so the instance has its token, then close cleanly.
    c.boot();
    c.sv.wait_state("web", "RUNNING", 10);
    c.close();
    let dir = std::fs::canonicalize(c.dir()).unwrap();
    let token = std::fs::read_to_string(c.dir().join("token")).expect("token file");
    let marker = format!("{}#{}", dir.display(), token.trim());
    let forge = |name: &str, arg: &str| {
        std::process::Command::new("/bin/sleep")
            .args(["1000", arg])
            .env_clear()
            .env("SV_SUPERVISOR", &marker)
            .env("SV_PROCESS_NAME", name)
            .uid(65534)
            .gid(65534)
            .process_group(0)
            .spawn()
            .expect("spawn as nobody")
    };
    let mut fake_web = forge("web", "8");
    let mut evil = forge("evil", "9");
    c.boot();
    c.sv.wait_state("web", "RUNNING", 10);
    let web = c.pid("web");
    assert_ne!(web, fake_web.id() as i32, "web was taken from uid 65534");
    if c.names().contains(&"evil".to_string()) {
        // Taken back: it may be restarted, but only as uid 65534.
        c.sv(&["restart", "evil"]);
        let pid = c.sv.pid("evil").expect("evil restarted");
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let uid = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
        assert!(uid.split_whitespace().nth(1) == Some("65534"), "{uid}");
        c.strays.add(pid);
    }
    c.close();
    for child in [&mut fake_web, &mut evil] {
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// A process a program left with no environment at all (`env -i`) is
/// still counted (by its group) and ended, and never makes the daemon
/// spin looking for its marker.
#[test]
fn a_leftover_without_an_environment_neither_spins_nor_blocks_close() {
    let mut c = Crashy::new(None);
    let p = prog(&c);
    let script = format!(
        "env -i {} 1000 11 >/dev/null 2>&1 </dev/null & exit 0",
        p.display()
    );
    c.create(&["--name", "envi", "--", "/bin/sh", "-c", &script]);
    let daemon = c.running().unwrap();
    assert!(wait_until(10, || count(&mut c, &p, &["1000", "11"]) == 1));
    c.sv.wait_state("envi", "EXITED", 10);
    let ticks = cpu_ticks_over(daemon, 2);
    assert!(
        ticks < 50,
        "the daemon used {ticks} ticks of CPU in 2 s while idle"
    );
    assert!(
        wait_until(5, || c
            .sv
            .state("envi")
            .is_some_and(|(_, d)| d.contains("1 process left"))),
        "{:?}",
        c.sv.state("envi")
    );
    assert_close_leaves_nothing(&mut c, &p);
}

/// After a crash with no usable state file, a service is given its own
/// process, not an older one it left behind that called setsid.
#[test]
fn recovery_prefers_the_spawns_own_leader_to_a_setsid_leftover() {
    let mut c = Crashy::new(None);
    let p = prog(&c);
    let flag = c.sv.work.path().join("second-run");
    let script = format!(
        "if [ -e {flag} ]; then exec {p} 1000 22; fi; touch {flag}; setsid {p} 1000 21 & exit 1",
        flag = flag.display(),
        p = p.display()
    );
    c.create(&["--name", "x", "-r", "5", "--", "/bin/sh", "-c", &script]);
    assert!(wait_until(10, || count(&mut c, &p, &["1000", "22"]) == 1));
    c.sv.wait_state("x", "RUNNING", 10);
    let real = c.pid("x");
    c.crash();
    std::fs::write(c.state_path(), b"garbage").unwrap();
    c.boot();
    assert_eq!(c.sv.pid("x"), Some(real), "{}", c.log(2));
    assert_eq!(count(&mut c, &p, &["1000", "22"]), 1);
    assert_close_leaves_nothing(&mut c, &p);
}
