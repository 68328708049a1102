//! SPEC 4.2 `sv shell`: from a pipe (quit leaves, close stops the daemon,
//! help, line numbers of refused lines, a leading `sv`, did you mean) and at
//! a terminal, on a pty this test opens itself (the prompt, Ctrl-C at the
//! prompt and during `tail -f`, Ctrl-D).
mod common;
use common::*;
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::Child;
use std::time::{Duration, Instant};

const N: u8 = 42;

const WEB: &str =
    "[program:web]\ncommand=/bin/sh -c \"echo hello; exec sleep 1000\"\nstartsecs=0\n";

/// A daemon of its own with one program, `web`, that says hello and sleeps.
fn start() -> Sv {
    start_with(WEB)
}

fn start_with(conf: &str) -> Sv {
    let mut sv = Sv::new(N);
    let cmd = sv.config_daemon(conf);
    sv.launch(cmd);
    sv.wait_state("web", "RUNNING", 10);
    sv
}

/// `sv shell -i N` with `input` on a pipe: (exit code, stdout, stderr).
fn shell(sv: &Sv, input: &[u8]) -> (i32, String, String) {
    sv_with_input(sv, &["shell", "-i", &N.to_string()], input)
}

// ------------------------------------------------------------- from a pipe

#[test]
fn quit_and_exit_leave_the_shell_and_close_stops_the_daemon() {
    let sv = start();
    let pid = sv.pid("web").unwrap();
    for word in ["quit", "exit", "sv quit"] {
        let (code, out, err) = shell(&sv, format!("{word}\nstop web\n").as_bytes());
        assert_eq!(code, 0, "{word}: {out}{err}");
        assert_eq!(out, "", "{word}: nothing after it runs");
        assert_eq!(err, "", "{word}");
        assert_eq!(sv.pid("web"), Some(pid), "{word} left the daemon running");
    }
    let (code, out, err) = shell(&sv, b"close\nstatus\n");
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        out,
        format!("supervisor {N}: stopped\n"),
        "status did not run"
    );
    assert_eq!(sv.sv(&["status"]).code, 3, "close stopped the daemon");
    assert!(wait_until(10, || !alive(pid)));
}

#[test]
fn help_lists_every_command_the_shell_takes() {
    let sv = start();
    let (code, out, err) = shell(&sv, b"help\n");
    assert_eq!(code, 0, "{out}{err}");
    let summary = |name: &str| -> Option<String> {
        let row = out
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))?;
        Some(row.split_whitespace().skip(1).collect::<Vec<_>>().join(" "))
    };
    for (name, part) in [
        ("status", "state of every (or the named) service"),
        ("stop", "stop services gracefully"),
        ("tail", "-f follows"),
        ("create-service", "register a program"),
        ("close", "leave the shell"),
        ("exit", "daemon and its services keep running"),
        ("quit", "keep running"),
        ("help", "explain one"),
    ] {
        let got = summary(name).unwrap_or_else(|| panic!("no {name} in:\n{out}"));
        assert!(got.contains(part), "{name}: {got}");
    }
    for name in ["daemon", "init", "shell", "test_restart", "parrot_service"] {
        assert!(summary(name).is_none(), "{name} is listed:\n{out}");
    }
}

#[test]
fn help_cmd_explains_one_command() {
    let sv = start();
    let (code, out, err) = shell(&sv, b"help stop\n");
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("usage: sv stop TARGET..."), "{out}");
    assert!(out.contains("stop services gracefully"), "{out}");
    let (code, out, err) = shell(&sv, b"help quit\nhelp close\n");
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("usage: quit\n"), "{out}");
    assert!(
        out.contains("daemon and its services keep running"),
        "{out}"
    );
    assert!(out.contains("usage: close\n"), "{out}");
    assert!(
        out.contains("then the daemon, and leave the shell"),
        "{out}"
    );
    let (code, out, err) = shell(&sv, b"help stpo\n");
    assert_eq!(code, 2, "{out}{err}");
    assert_eq!(err, "sv: help: no command 'stpo'; did you mean stop?\n");
}

#[test]
fn a_line_that_is_not_utf8_is_refused_and_the_next_lines_run() {
    let sv = start();
    let (code, out, err) = shell(&sv, b"status web\n\xff\xfe status\nstatus web\n");
    assert_eq!(code, 2, "{out}{err}");
    assert_eq!(err, "sv: line 2 is not UTF-8\n");
    assert_eq!(
        out.lines().filter(|l| l.starts_with("web ")).count(),
        2,
        "{out}"
    );
}

#[test]
fn a_leading_sv_is_accepted_and_a_typo_gets_did_you_mean() {
    let sv = start();
    let (code, out, err) = shell(&sv, b"sv status web\n");
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("web "), "{out}");
    let (code, out, err) = shell(&sv, b"stauts\nstatus web\n");
    assert_eq!(code, 2, "{out}{err}");
    assert_eq!(err, "sv: unknown command 'stauts'; did you mean status?\n");
    assert!(out.starts_with("web "), "the next line ran: {out}");
}

// ------------------------------------------------------------ at a terminal

/// `sv shell` on a pty of its own, as the controlling terminal of a new
/// session, so that Ctrl-C typed on it sends SIGINT to the shell.
struct Pty {
    master: OwnedFd,
    child: Child,
    /// Everything the terminal showed so far.
    seen: Vec<u8>,
}

impl Pty {
    fn spawn(sv: &Sv) -> Pty {
        let (mut m, mut s) = (-1, -1);
        // SAFETY: openpty(3) fills two descriptors we then own.
        let rc = unsafe {
            libc::openpty(
                &mut m,
                &mut s,
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
            )
        };
        assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
        // SAFETY: fresh descriptors from openpty, owned from here on.
        let (master, slave) = unsafe { (OwnedFd::from_raw_fd(m), OwnedFd::from_raw_fd(s)) };
        for fd in [&master, &slave] {
            // SAFETY: fcntl on a descriptor we own: no other test's child
            // may inherit it.
            unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) };
        }
        let mut cmd = sv.command();
        cmd.args(["shell", "-i", &N.to_string()])
            .stdin(slave.try_clone().unwrap())
            .stdout(slave.try_clone().unwrap())
            .stderr(slave);
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().expect("spawn sv shell on a pty");
        Pty {
            master,
            child,
            seen: Vec::new(),
        }
    }

    fn send(&self, keys: &[u8]) {
        let mut f = std::fs::File::from(self.master.try_clone().unwrap());
        f.write_all(keys).unwrap();
    }

    /// Reads what the terminal shows until `count` copies of `pat` are in
    /// it, or the deadline passes.
    #[track_caller]
    fn expect(&mut self, pat: &str, count: usize) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.count(pat) < count {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "never saw {count} x {pat:?}; the terminal showed:\n{}",
                String::from_utf8_lossy(&self.seen)
            );
            let mut pfd = libc::pollfd {
                fd: self.master.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: poll(2) on one pollfd we own.
            if unsafe { libc::poll(&mut pfd, 1, left.as_millis().min(100) as i32) } <= 0 {
                continue;
            }
            let mut buf = [0u8; 4096];
            // SAFETY: read(2) into a buffer of that length.
            let n = unsafe { libc::read(pfd.fd, buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                // EIO: the shell is gone and nothing more will come.
                let _ = self.child.try_wait();
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
            self.seen.extend_from_slice(&buf[..n as usize]);
        }
    }

    fn count(&self, pat: &str) -> usize {
        String::from_utf8_lossy(&self.seen).matches(pat).count()
    }

    /// The shell's exit status, once it is gone.
    fn wait_exit(&mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st;
            }
            assert!(Instant::now() < deadline, "the shell did not leave");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        // The pid this test spawned, if a failed assertion left it running.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[test]
fn at_a_terminal_ctrl_c_clears_the_line_or_ends_tail_and_ctrl_d_leaves() {
    let sv = start();
    let prompt = format!("sv:{N}> ");
    let mut pty = Pty::spawn(&sv);
    pty.expect(&prompt, 1);

    // Ctrl-C at the prompt: the half-typed line is dropped, a new prompt.
    pty.send(b"stat\x03");
    pty.expect(&prompt, 2);
    assert!(
        pty.child.try_wait().unwrap().is_none(),
        "Ctrl-C ended the shell"
    );
    pty.send(b"status web\r");
    pty.expect("RUNNING", 1);
    pty.expect(&prompt, 3);

    // Ctrl-C during `tail -f`: back to the prompt, the shell still works.
    pty.send(b"tail -f web\r");
    pty.expect("hello", 1);
    pty.send(b"\x03");
    pty.expect(&prompt, 4);
    pty.send(b"status web\r");
    pty.expect("RUNNING", 2);
    pty.expect(&prompt, 5);

    // Ctrl-D: a newline, then the shell leaves with 0; the daemon stays.
    pty.send(b"\x04");
    pty.expect(&format!("{prompt}\r\n"), 1);
    let st = pty.wait_exit();
    assert_eq!(st.code(), Some(0), "{st:?}");
    assert_eq!(sv.state("web").unwrap().0, "RUNNING");
}

#[test]
fn at_a_terminal_ctrl_c_gives_the_prompt_back_during_a_long_stop() {
    // `slow` ignores SIGTERM: its stop waits stopwaitsecs for the SIGKILL.
    let sv = start_with(&format!(
        "{WEB}[program:slow]\ncommand=/bin/sh -c \"trap '' TERM; while :; do sleep 1; done\"\n\
         startsecs=0\nstopasgroup=false\nkillasgroup=false\nstopwaitsecs=60\n"
    ));
    sv.wait_state("slow", "RUNNING", 10);
    // Even if an assertion fails: not 60 s of stopwaitsecs at close.
    let _kill = KillSlow(&sv);
    let prompt = format!("sv:{N}> ");
    let mut pty = Pty::spawn(&sv);
    pty.expect(&prompt, 1);
    pty.send(b"stop slow\r");
    sv.wait_state("slow", "STOPPING", 10);
    pty.send(b"\x03");
    pty.expect("interrupted", 1);
    pty.expect(&prompt, 2);
    assert_eq!(
        sv.state("slow").unwrap().0,
        "STOPPING",
        "the daemon goes on"
    );
    pty.send(b"status web\r");
    pty.expect("RUNNING", 1);
    pty.expect(&prompt, 3);
}

/// SIGKILLs `slow` through the daemon when dropped.
struct KillSlow<'a>(&'a Sv);

impl Drop for KillSlow<'_> {
    fn drop(&mut self) {
        self.0.sv(&["signal", "KILL", "slow"]);
    }
}

/// Outside the shell nothing changes: Ctrl-C (SIGINT) ends `sv tail -f`.
#[test]
fn sigint_still_ends_sv_tail_f_outside_the_shell() {
    let sv = start();
    let out = sv.work.path().join("tail.out");
    let mut cmd = sv.command();
    cmd.args(["tail", "-f", "web", "-i", &N.to_string()])
        .stdout(std::fs::File::create(&out).unwrap());
    // As at a terminal: a test run started in the background of a
    // non-interactive shell inherits SIGINT ignored, which exec keeps.
    // SAFETY: signal(2) is async-signal-safe; nothing else runs here.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            Ok(())
        });
    }
    let mut child = cmd.spawn().expect("spawn sv tail -f");
    let said_hello = wait_until(10, || {
        std::fs::read_to_string(&out).is_ok_and(|s| s.contains("hello"))
    });
    kill(child.id() as i32, libc::SIGINT);
    let deadline = Instant::now() + Duration::from_secs(10);
    let st = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            panic!("sv tail -f outlived SIGINT");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(said_hello);
    assert_eq!(st.signal(), Some(libc::SIGINT), "{st:?}");
}
