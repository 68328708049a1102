//! SPEC §7 and the daemon's rules (never block, nothing forged): the
//! daemon's own log at its edges. A `--log` FIFO or another user's file is
//! refused rather than hanging or writing with the daemon's rights; a
//! client's newline cannot forge a log line; a terminal nobody reads
//! never stalls the loop. Also `-i` given twice, and the bare name in
//! "did you mean".

mod common;

use common::{wait_until, Sv};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::process::Stdio;

const N: u8 = 23;

/// `sv daemon N --log PATH` (it must exit within 10 s): its exit code and
/// its stderr.
fn daemon_with_log(sv: &Sv, path: &std::path::Path) -> (Option<i32>, String) {
    let err = sv.work.path().join("daemon.err");
    let mut child = sv
        .command()
        .args(["daemon", &N.to_string(), "--log"])
        .arg(path)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .expect("spawn sv daemon");
    let code = common::wait_exit(&mut child, 10).code();
    (code, std::fs::read_to_string(&err).unwrap_or_default())
}

#[test]
fn a_log_file_that_is_a_fifo_is_refused_at_once_and_leaves_no_socket() {
    let sv = Sv::new(N);
    let fifo = sv.work.path().join("log.fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo with a valid path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    // With no reader, opening it must not wait for one.
    let (code, err) = daemon_with_log(&sv, &fifo);
    assert!(code.is_some_and(|c| c != 0), "a FIFO log: {code:?} {err}");
    assert!(err.contains(fifo.to_str().unwrap()), "{err}");
    // With a reader, it is refused for what it is.
    let reader = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo)
        .unwrap();
    let (code, err) = daemon_with_log(&sv, &fifo);
    drop(reader);
    assert!(code.is_some_and(|c| c != 0), "{code:?} {err}");
    assert!(err.contains("not a regular file"), "{err}");
    let sock = sv.runtime.path().join(N.to_string()).join("sock");
    assert!(!sock.exists(), "a refused start left {}", sock.display());
}

#[test]
fn a_log_file_of_another_user_or_through_their_symlink_is_refused() {
    if !common::require_root("make files of another user") {
        return;
    }
    let sv = Sv::new(N);
    let dir = sv.work.path();
    let theirs = dir.join("theirs.log");
    std::fs::write(&theirs, "").unwrap();
    std::os::unix::fs::chown(&theirs, Some(65534), Some(65534)).unwrap();
    let (code, err) = daemon_with_log(&sv, &theirs);
    assert!(code.is_some_and(|c| c != 0), "{code:?} {err}");
    assert!(err.contains("belongs to"), "{err}");
    assert_eq!(std::fs::metadata(&theirs).unwrap().len(), 0);

    let victim = dir.join("victim");
    std::fs::write(&victim, "").unwrap();
    let link = dir.join("link.log");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    std::os::unix::fs::lchown(&link, Some(65534), Some(65534)).unwrap();
    let (code, err) = daemon_with_log(&sv, &link);
    assert!(code.is_some_and(|c| c != 0), "{code:?} {err}");
    assert!(err.contains("symlink"), "{err}");
    assert_eq!(std::fs::metadata(&victim).unwrap().len(), 0);
}

#[test]
fn a_newline_in_a_request_cannot_forge_a_log_line() {
    let mut sv = Sv::new(N);
    let file = sv.work.path().join("d.log");
    let mut cmd = sv.command();
    cmd.args(["daemon", &N.to_string(), "--log"])
        .arg(&file)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    sv.launch(cmd);
    let r = sv.sv(&[
        "create-service",
        "--create-stopped",
        "/bin/true",
        "x\n2026-12-06T16:00:00Z ERROR   web: FORGED",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    let mut text = String::new();
    wait_until(10, || {
        text = std::fs::read_to_string(&file).unwrap_or_default();
        text.contains("FORGED")
    });
    assert!(text.contains("x\\n2026-12-06T16:00:00Z"), "{text}");
    assert!(
        !text.lines().any(|l| l.starts_with("2026-12-06T16:00:00Z")),
        "a forged line: {text}"
    );
}

#[test]
fn a_terminal_nobody_reads_never_stalls_the_daemon() {
    let mut sv = Sv::new(N);
    let (mut master, mut slave) = (-1, -1);
    // SAFETY: openpty fills two descriptors; no name, termios or winsize.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "openpty");
    // SAFETY: both just opened and owned here. The master is kept open and
    // never read, as by a frozen terminal.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    let out = slave.try_clone().unwrap();
    let mut cmd = sv.command();
    cmd.args(["daemon", &N.to_string(), "-v"])
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(slave));
    sv.launch(cmd);
    // Each status logs two debug lines to the terminal: far more than a
    // pty holds once nobody reads it.
    let names: Vec<String> = (0..20).map(|i| format!("service-number-{i:02}")).collect();
    for n in &names {
        assert_eq!(
            sv.sv(&[
                "create-service",
                "--create-stopped",
                "--name",
                n,
                "/bin/true"
            ])
            .code,
            0
        );
    }
    for i in 0..600 {
        let r = sv
            .command()
            .env("SV_TIMEOUT", "5")
            .args(["status", "-i", &N.to_string()])
            .output()
            .expect("run sv");
        assert_eq!(
            r.status.code(),
            Some(0),
            "status {i} with a stuck terminal: {}",
            String::from_utf8_lossy(&r.stderr)
        );
    }
    let _ = master.as_raw_fd();
    sv.close();
}

#[test]
fn dash_i_may_stand_twice_if_it_agrees_and_beside_any_command() {
    let sv = Sv::daemon(N);
    let n = N.to_string();
    let r = sv.run(&["-i", &n, "status", "-i", &n]);
    assert_eq!(r.code, 0, "{r:?}");
    let r = sv.run(&["-i", &n, "status", "--instance=5"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("-i 23 and -i 5"), "{r:?}");
    let r = sv.run(&["-i", &n, "list-supervisors"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.starts_with(&n), "{r:?}");
}

#[test]
fn did_you_mean_offers_the_bare_name_of_a_group_member() {
    let mut sv = Sv::new(N);
    let cmd = sv.config_daemon(
        "[group:backend]\nprograms=worker\n\n[program:worker]\ncommand=/bin/sleep 60\n",
    );
    sv.launch(cmd);
    let r = sv.sv(&["status", "wrker"]);
    assert_ne!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("did you mean worker?"), "{r:?}");
}
