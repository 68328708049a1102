//! SPEC §2, §3, §7, §9, §11 (issue 10): only the owner gets in, and the
//! client only talks to its own daemon. Runtime and instance directories
//! another uid owns or may write are refused; the client checks them and
//! the daemon's SO_PEERCRED before it sends a byte; log symlinks planted by
//! another uid are not followed; `open-service` refuses init, the daemon
//! and its ancestors; the CLI gives up on a stopped daemon and says why.
//!
//! Other users are played by uid 65534 (nobody) and 65533, which needs
//! root: without it these tests say so and pass.
mod common;
use common::*;

use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const NOBODY: u32 = 65534;
/// The client of the cross-uid tests: neither root nor nobody.
const CLIENT_UID: u32 = 65533;

fn chown(path: &Path, uid: u32) {
    std::os::unix::fs::lchown(path, Some(uid), Some(uid)).expect("lchown");
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path).unwrap().mode() & 0o7777
}

#[derive(Debug)]
struct Out {
    code: i32,
    stdout: String,
    stderr: String,
    took: Duration,
}

/// Runs `cmd` to its end, or kills it (our own child) after `secs`: None
/// then, since it hung.
fn run_bounded(mut cmd: Command, secs: u64) -> Option<Out> {
    let begun = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut done = false;
    let finished = wait_until(secs, || {
        done = matches!(child.try_wait(), Ok(Some(_)));
        done
    });
    if !finished {
        let _ = child.kill();
        let _ = child.wait();
        return None;
    }
    let took = begun.elapsed();
    let status = child.wait().unwrap();
    let mut stdout = String::new();
    let mut stderr = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    Some(Out {
        code: status.code().unwrap_or(-1),
        stdout,
        stderr,
        took,
    })
}

/// `sv ARGS` as [`CLIENT_UID`] against this test's runtime dir.
fn sv_as_client(sv: &Sv, args: &[&str]) -> Option<Out> {
    let mut c = sv.command();
    c.args(args)
        .current_dir("/")
        .uid(CLIENT_UID)
        .gid(CLIENT_UID);
    run_bounded(c, 20)
}

// ------------------------------------------------------------ the daemon

/// `sv daemon N` against `sv`'s runtime dir; None if it did not exit
/// (it was started on a dir it should have refused).
fn daemon_once(sv: &Sv) -> Option<Out> {
    let mut c = sv.command();
    c.args(["daemon", &sv.instance.to_string()]);
    run_bounded(c, 5)
}

#[test]
fn daemon_refuses_a_runtime_dir_of_another_uid_and_chmods_nothing() {
    if !require_root("make a directory of another uid") {
        return;
    }
    let sv = Sv::new(21);
    let rt = sv.runtime.path();
    chmod(rt, 0o755);
    chown(rt, NOBODY);
    let r = daemon_once(&sv).expect("the daemon ran on a runtime dir of uid 65534");
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains(&format!("refusing {}", rt.display()))
            && r.stderr.contains("owned by uid 65534"),
        "{r:?}"
    );
    assert_eq!(mode(rt), 0o755, "the runtime dir was chmodded");
    assert_eq!(std::fs::metadata(rt).unwrap().uid(), NOBODY);
    assert_eq!(
        std::fs::read_dir(rt).unwrap().count(),
        0,
        "files made in it"
    );
    eprintln!("figure: refused in {:?}", r.took);
}

#[test]
fn daemon_refuses_a_group_or_world_writable_instance_dir() {
    for m in [0o770, 0o757, 0o1777] {
        let sv = Sv::new(22);
        let dir = sv.runtime.path().join("22");
        std::fs::create_dir(&dir).unwrap();
        chmod(&dir, m);
        let r = daemon_once(&sv).expect("the daemon ran on a writable instance dir");
        assert_eq!(r.code, 1, "{m:o}: {r:?}");
        assert!(
            r.stderr.contains(&format!("refusing {}", dir.display()))
                && r.stderr.contains("writable by"),
            "{m:o}: {r:?}"
        );
        assert_eq!(mode(&dir), m, "the instance dir was chmodded");
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            0,
            "files made in it"
        );
    }
}

// ------------------------------------------------------------ the client

/// A listener that records every byte any client sends it, answering
/// nothing and hanging up after 2 s of silence from each.
struct Recorder {
    bytes: Arc<Mutex<Vec<u8>>>,
    accepted: Arc<Mutex<usize>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Recorder {
    fn new(listener: UnixListener) -> Recorder {
        listener.set_nonblocking(true).unwrap();
        let bytes = Arc::new(Mutex::new(Vec::new()));
        let accepted = Arc::new(Mutex::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (b, a, s) = (bytes.clone(), accepted.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((mut conn, _)) => {
                        *a.lock().unwrap() += 1;
                        conn.set_nonblocking(false).unwrap();
                        conn.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
                        let mut buf = [0u8; 4096];
                        while let Ok(n) = conn.read(&mut buf) {
                            if n == 0 {
                                break;
                            }
                            b.lock().unwrap().extend_from_slice(&buf[..n]);
                        }
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Recorder {
            bytes,
            accepted,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[test]
fn client_refuses_a_socket_in_a_dir_of_another_uid_and_sends_nothing() {
    if !require_root("run a client as another uid") {
        return;
    }
    // What another user could set up where the client looks (as in
    // /tmp/sv-UID): directories of theirs, a socket anyone may use.
    let sv = Sv::new(23);
    let rt = sv.runtime.path();
    let dir = rt.join("23");
    std::fs::create_dir(&dir).unwrap();
    for d in [rt, dir.as_path()] {
        chmod(d, 0o755);
        chown(d, NOBODY);
    }
    let sock = dir.join("sock");
    let rec = Recorder::new(UnixListener::bind(&sock).unwrap());
    chmod(&sock, 0o666);
    for args in [
        &[
            "create-service",
            "/bin/true",
            "-i",
            "23",
            "--",
            "--password=hunter2",
        ][..],
        &["close", "-i", "23"],
        &["status", "-i", "23"],
    ] {
        let r = sv_as_client(&sv, args).expect("the client hung");
        assert_eq!(r.code, 3, "{args:?}: {r:?}");
        assert!(
            r.stderr.contains(&format!("refusing {}", rt.display()))
                && r.stderr.contains("owned by uid 65534"),
            "{args:?}: {r:?}"
        );
        assert!(r.stdout.is_empty(), "{r:?}");
        eprintln!("figure: {} refused in {:?}", args[0], r.took);
    }
    let (accepted, bytes) = (
        *rec.accepted.lock().unwrap(),
        rec.bytes.lock().unwrap().len(),
    );
    assert_eq!((accepted, bytes), (0, 0), "the client connected and sent");
}

#[test]
fn client_refuses_a_daemon_of_another_uid_and_sends_nothing() {
    if !require_root("run a fake daemon as another uid") {
        return;
    }
    // The directories are root's (trusted), but the socket in them is a
    // listener run by nobody: only SO_PEERCRED can tell.
    let sv = Sv::new(24);
    let rt = sv.runtime.path();
    let dir = rt.join("24");
    std::fs::create_dir(&dir).unwrap();
    chmod(rt, 0o755);
    chmod(&dir, 0o755);
    let scratch = TempDir::new("fake");
    chmod(scratch.path(), 0o755);
    chown(scratch.path(), NOBODY);
    let bound = scratch.path().join("sock");
    let mut helper = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "helper_fake_daemon", "--nocapture", "--ignored"])
        .env("SV_TEST_SOCK", &bound)
        .uid(NOBODY)
        .gid(NOBODY)
        .current_dir("/")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert!(
        wait_until(10, || bound.exists()),
        "the fake daemon never bound"
    );
    // A socket is found by its inode: moved, it still reaches nobody.
    std::fs::rename(&bound, dir.join("sock")).unwrap();
    let r = sv_as_client(
        &sv,
        &[
            "create-service",
            "/bin/true",
            "-i",
            "24",
            "--",
            "--password=hunter2",
        ],
    )
    .expect("the client hung");
    // The helper ends after one connection (or none in 15 s).
    let mut said = String::new();
    helper
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut said)
        .unwrap();
    let _ = helper.wait();
    assert_eq!(r.code, 3, "{r:?}");
    assert!(
        r.stderr.contains("runs as uid 65534") && r.stderr.contains("nothing was sent"),
        "{r:?}"
    );
    assert!(said.contains("BYTES: 0\n"), "the fake daemon got: {said}");
    eprintln!(
        "figure: fake daemon refused in {:?}: {}",
        r.took,
        r.stderr.trim()
    );
    assert!(!said.contains("hunter2"), "{said}");
}

/// Not a test on its own: run as nobody by
/// client_refuses_a_daemon_of_another_uid_and_sends_nothing. Listens at
/// SV_TEST_SOCK, takes one connection, prints what it sent.
#[test]
#[ignore = "helper run as another uid"]
fn helper_fake_daemon() {
    let Some(path) = std::env::var_os("SV_TEST_SOCK") else {
        return;
    };
    let listener = UnixListener::bind(&path).expect("bind as nobody");
    chmod(Path::new(&path), 0o666);
    listener.set_nonblocking(true).unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut conn: UnixStream = loop {
        match listener.accept() {
            Ok((c, _)) => break c,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            Err(_) => {
                println!("NO CONNECTION");
                return;
            }
        }
    };
    conn.set_nonblocking(false).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = conn.read(&mut buf) {
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    println!("BYTES: {}", got.len());
    println!("TEXT: {}", String::from_utf8_lossy(&got));
}

// ------------------------------------------------------------ logs

/// A shared log directory: sticky and world-writable, like /tmp.
fn shared_dir() -> TempDir {
    let d = TempDir::new("shared");
    chmod(d.path(), 0o1777);
    d
}

/// A file only root may read, with known content.
fn secret(dir: &Path, name: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, "SECRET\n").unwrap();
    chmod(&p, 0o600);
    p
}

/// A service printing a line every 50 ms to `log` (maxbytes 64, no backups,
/// so base sv would rotate by truncating within a second).
fn chatty(sv: &Sv, name: &str, log: &Path) {
    sv.run(&[
        "create-service",
        "-i",
        &sv.instance.to_string(),
        "/bin/sh",
        "--name",
        name,
        "--set",
        &format!("stdout_logfile={}", log.display()),
        "--set",
        "stdout_logfile_maxbytes=64",
        "--set",
        "stdout_logfile_backups=0",
        "--set",
        "startsecs=0",
        "--",
        "-c",
        "while :; do echo hello from the service; sleep 0.05; done",
    ])
    .ok();
}

fn wait_log_error(sv: &Sv, name: &str) -> String {
    let mut last = None;
    let ok = wait_until(10, || {
        last = sv.state(name);
        last.as_ref().is_some_and(|(_, d)| d.contains("log error:"))
    });
    assert!(ok, "{name}: no log error; last status {last:?}");
    last.unwrap().1
}

#[test]
fn log_symlink_planted_by_another_uid_is_not_followed_nor_rotated_through() {
    if !require_root("plant a link as another uid") {
        return;
    }
    let shared = shared_dir();
    let private = TempDir::new("private");
    let target = secret(private.path(), "root-only");
    let link = shared.path().join("svc.log");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    chown(&link, NOBODY);
    // A plain file nobody made there in advance (protected_regular).
    let theirs = shared.path().join("theirs.log");
    std::fs::write(&theirs, "THEIRS\n").unwrap();
    chown(&theirs, NOBODY);

    let sv = Sv::daemon(25);
    let begun = Instant::now();
    chatty(&sv, "svc", &link);
    chatty(&sv, "reg", &theirs);
    let d = wait_log_error(&sv, "svc");
    eprintln!("figure: svc log error after {:?}: {d}", begun.elapsed());
    assert!(
        d.contains("refusing to follow this symlink") && d.contains("of uid 65534:"),
        "{d}"
    );
    let d = wait_log_error(&sv, "reg");
    assert!(d.contains("refusing a file of uid 65534"), "{d}");
    // Supervision goes on; nothing was written, truncated or renamed.
    assert_eq!(sv.state("svc").unwrap().0, "RUNNING");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "SECRET\n");
    assert_eq!(std::fs::read_to_string(&theirs).unwrap(), "THEIRS\n");
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(!shared.path().join("svc.log.1").exists());
    // sv tail does not read through it either.
    let r = sv.sv(&["tail", "svc"]);
    assert!(!r.stdout.contains("SECRET"), "{r:?}");
    sv.sv(&["stop", "svc", "reg"]).ok();
}

/// A link another user planted in a directory above the log (their own
/// directory, not sticky): not followed either (issue 10 review).
#[test]
fn log_symlink_planted_above_the_file_is_not_followed() {
    if !require_root("plant a link as another uid") {
        return;
    }
    let theirs = TempDir::new("theirs");
    chown(theirs.path(), NOBODY);
    let private = TempDir::new("private-dir");
    let sub = theirs.path().join("sub");
    std::os::unix::fs::symlink(private.path(), &sub).unwrap();
    chown(&sub, NOBODY);
    let sv = Sv::daemon(27);
    chatty(&sv, "up", &sub.join("app.log"));
    let d = wait_log_error(&sv, "up");
    assert!(
        d.contains("refusing to follow the symlink sub of uid 65534"),
        "{d}"
    );
    assert!(!private.path().join("app.log").exists());
    assert_eq!(sv.state("up").unwrap().0, "RUNNING");
    sv.sv(&["stop", "up"]).ok();
}

#[test]
fn log_symlink_of_root_in_a_shared_dir_is_still_followed() {
    if !require_root("judge a link of root's own in a shared dir") {
        return;
    }
    // What an admin does: a link of root's own, even in a sticky dir.
    let shared = shared_dir();
    let sv = Sv::daemon(26);
    let real = sv.work.path().join("real.log");
    let link = shared.path().join("ok.log");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    chatty(&sv, "ok", &link);
    assert!(
        wait_until(10, || std::fs::read_to_string(&real)
            .is_ok_and(|t| t.contains("hello from the service"))),
        "nothing reached {}",
        real.display()
    );
    let (state, detail) = sv.state("ok").unwrap();
    assert_eq!(state, "RUNNING");
    assert!(!detail.contains("log error"), "{detail}");
    sv.sv(&["stop", "ok"]).ok();
}

// ------------------------------------------------------------ open-service

#[test]
fn open_service_refuses_init_the_daemon_and_its_ancestors() {
    let mut sv = Sv::daemon(27);
    let dpid = sv.child.as_ref().unwrap().id() as i32;
    let me = std::process::id() as i32;
    for (pid, why) in [
        (1, "pid 1 is init"),
        (dpid, "is this supervisor itself"),
        (me, "is an ancestor of this supervisor"),
    ] {
        let r = sv.sv(&["open-service", &pid.to_string()]);
        if r.code == 0 {
            // Never let a stop or close signal what was adopted: kill
            // our own daemon before anything else happens.
            kill(dpid, libc::SIGKILL);
            if let Some(mut c) = sv.child.take() {
                let _ = c.wait();
            }
            panic!("pid {pid} was adopted: {r:?}");
        }
        assert_eq!(r.code, 1, "{r:?}");
        assert!(r.stderr.contains(why), "pid {pid}: {r:?}");
        eprintln!("figure: {}", r.stderr.trim());
    }
    assert_eq!(sv.sv(&["status"]).ok(), "");
    sv.close();
}

// ------------------------------------------------------------ the timeout

/// SIGCONTs a daemon the test stopped, whatever happens.
struct Cont(i32);

impl Drop for Cont {
    fn drop(&mut self) {
        kill(self.0, libc::SIGCONT);
    }
}

fn sv_with_timeout(sv: &Sv, secs: &str, args: &[&str]) -> Option<Out> {
    let mut c = sv.command();
    c.env("SV_TIMEOUT", secs)
        .args(args)
        .args(["-i", &sv.instance.to_string()]);
    run_bounded(c, 20)
}

#[test]
fn a_stopped_daemon_gets_a_bounded_wait_and_long_waits_still_work() {
    let sv = Sv::daemon(28);
    let dpid = sv.child.as_ref().unwrap().id() as i32;
    sv.run(&[
        "create-service",
        "-i",
        "28",
        "/bin/sh",
        "--name",
        "slow",
        "--set",
        "stopwaitsecs=3",
        "--set",
        "startsecs=0",
        "--",
        "-c",
        "trap '' TERM; while :; do sleep 0.2; done",
    ])
    .ok();
    sv.wait_state("slow", "RUNNING", 10);
    // A legitimate wait longer than SV_TIMEOUT: stop waits stopwaitsecs.
    let r = sv_with_timeout(&sv, "1", &["stop", "slow"]).expect("stop hung");
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.took >= Duration::from_millis(2500), "{r:?}");
    eprintln!("figure: stop with SV_TIMEOUT=1 waited {:?}", r.took);

    let _cont = Cont(dpid);
    kill(dpid, libc::SIGSTOP);
    assert!(wait_until(5, || proc_state(dpid).as_deref() == Some("T")));
    let r = sv_with_timeout(&sv, "2", &["status"]).expect("status hung on a stopped daemon");
    assert_eq!(r.code, 3, "{r:?}");
    assert!(
        r.stderr
            .contains("supervisor 28 did not answer within 2 s (waiting for the answer to status)")
            && r.stderr.contains("stopped (SIGSTOP)"),
        "{r:?}"
    );
    assert!(r.took < Duration::from_secs(8), "{r:?}");
    eprintln!("figure: status gave up after {:?}", r.took);
    let r = sv_with_timeout(&sv, "2", &["start", "slow"]).expect("start hung on a stopped daemon");
    assert_eq!(r.code, 3, "{r:?}");
    assert!(
        r.stderr
            .contains("has been stopped (SIGSTOP) for 2 s (waiting for the answer to start)"),
        "{r:?}"
    );
    eprintln!("figure: start gave up after {:?}", r.took);
    kill(dpid, libc::SIGCONT);
    assert!(wait_until(10, || sv.sv(&["status"]).code == 0));
}

/// A listener of root's (trusted) that accepts nobody: backlog 0, one
/// connection already waiting in it.
fn full_listener(path: &Path) -> (std::os::fd::OwnedFd, UnixStream) {
    use std::os::fd::FromRawFd;
    use std::os::unix::ffi::OsStrExt;
    // SAFETY: plain socket calls on a descriptor we own; the address is a
    // zeroed sockaddr_un with a path shorter than sun_path.
    let fd = unsafe {
        let fd = libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        assert!(fd >= 0);
        let owned = std::os::fd::OwnedFd::from_raw_fd(fd);
        let mut addr: libc::sockaddr_un = std::mem::zeroed();
        addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
        let bytes = path.as_os_str().as_bytes();
        assert!(bytes.len() < addr.sun_path.len());
        for (d, s) in addr.sun_path.iter_mut().zip(bytes) {
            *d = *s as libc::c_char;
        }
        let len = std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
        assert_eq!(
            libc::bind(fd, (&addr as *const libc::sockaddr_un).cast(), len),
            0
        );
        assert_eq!(libc::listen(fd, 0), 0);
        owned
    };
    // Fills the backlog of 0 (one connection may wait).
    let first = UnixStream::connect(path).unwrap();
    (fd, first)
}

#[test]
fn connecting_to_a_daemon_that_accepts_nobody_gives_up_and_says_so() {
    let sv = Sv::new(29);
    let dir = sv.runtime.path().join("29");
    std::fs::create_dir(&dir).unwrap();
    chmod(sv.runtime.path(), 0o700);
    chmod(&dir, 0o700);
    let sock = dir.join("sock");
    let _held = full_listener(&sock);
    let mut c = sv.command();
    c.env("SV_TIMEOUT", "1").args(["status", "-i", "29"]);
    let r = run_bounded(c, 20).expect("status hung on a full backlog");
    assert_eq!(r.code, 3, "{r:?}");
    assert!(
        r.stderr
            .contains("supervisor 29 did not accept the connection within 1 s"),
        "{r:?}"
    );
    eprintln!("figure: connect gave up after {:?}", r.took);
}
