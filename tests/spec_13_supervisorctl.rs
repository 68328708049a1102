//! SPEC §13: sv's `supervisorctl` applet against a real supervisord, with
//! the real supervisorctl as the judge: for every command, both clients
//! run against the same server in the same state (or twin servers driven
//! through the same steps) print the same and exit with the same code.

mod common;

use common::ctl::{run_ctl, run_with_input, supervisord_conf, Judge, Supervisord, Target};
use common::{kill, sv_bin, wait_until};
use std::io::Read;
use std::process::{Command, Stdio};

const PROGRAMS: &str = "\
[program:echoer]
command=/bin/sh -c 'echo hello; echo oops >&2; exec sleep 1000'
startsecs=0
stopwaitsecs=2

[program:sleeper]
command=/bin/sleep 1000
startsecs=0
stopwaitsecs=2

[program:idle]
command=/bin/sleep 1000
autostart=false
startsecs=0

[group:grp]
programs=g1,g2

[program:g1]
command=/bin/sleep 1000
startsecs=0
stopwaitsecs=2

[program:g2]
command=/bin/sleep 1000
autostart=false
startsecs=0
";

fn start(tag: &str) -> Option<(Judge, Supervisord)> {
    let judge = Judge::new()?;
    let sd = Supervisord::start(tag, &supervisord_conf("", PROGRAMS))?;
    Some((judge, sd))
}

/// Commands that change nothing, and every wrong use of a command, on one
/// server: status in all its forms, help, pid, avail, version, tail and
/// maintail, and each command's argument errors.
#[test]
fn reading_commands_and_errors_match_the_real_client() {
    let Some((j, sd)) = start("ctl-read") else {
        return;
    };
    let t = &sd.target;
    for args in [
        &["status"][..],
        &["status", "all"],
        &["status", "sleeper", "grp:*", "grp:g2"],
        &["status", "nope", "nope:*", "grp:nope", "sleeper"],
        &["help"],
        &["help", "status"],
        &["help", "tail"],
        &["help", "help"],
        &["help", "nope"],
        &["?", "stop"],
        &["nope", "x"],
        &["pid"],
        &["pid", "all"],
        &["pid", "sleeper", "idle", "nope", "grp:g1"],
        &["avail"],
        &["avail", "x"],
        &["version"],
        &["version", "x"],
        &["tail", "echoer"],
        &["tail", "echoer", "stderr"],
        &["tail", "-3", "echoer"],
        &["tail", "-100", "grp:g1", "STDOUT"],
        &["tail"],
        &["tail", "a", "b", "c", "d"],
        &["tail", "echoer", "nope"],
        &["tail", "-x", "echoer"],
        &["tail", "nope"],
        &["maintail", "-40"],
        &["maintail", "x"],
        &["maintail", "-y"],
        &["maintail", "a", "b"],
        &["start"],
        &["stop"],
        &["restart"],
        &["clear"],
        &["signal", "HUP"],
        &["start", "nope", "nope:*"],
        &["stop", "nope", "nope:*"],
        &["signal", "HUP", "nope", "nope:*"],
        &["signal", "NOSUCHSIG", "sleeper"],
        &["clear", "nope"],
        &["fg"],
        &["fg", "a", "b"],
        &["fg", "nope"],
        &["fg", "idle"],
        &["add", "nope"],
        &["remove", "nope"],
        &["update", "nope"],
        &["reread"],
        &["shutdown", "x"],
        &["reload", "x"],
        &["open", "ftp://x"],
        &["open", "unix:///nonexistent/s.sock"],
        &["quit"],
        &["exit"],
        &["EOF"],
    ] {
        j.same_on(t, args);
    }
}

/// start, stop, restart, signal and clear of a name, a group and all, with
/// their `NAME: started`-style lines, ERROR lines and exit codes; each is
/// run on twin servers that went through the same steps.
#[test]
fn process_commands_match_on_twin_servers() {
    let Some(j) = Judge::new() else { return };
    let conf = supervisord_conf("", PROGRAMS);
    let Some(a) = Supervisord::start("ctl-twin-a", &conf) else {
        return;
    };
    let Some(b) = Supervisord::start("ctl-twin-b", &conf) else {
        return;
    };
    let (ta, tb) = (&a.target, &b.target);
    for args in [
        &["start", "idle"][..],
        &["start", "idle"],
        &["stop", "idle"],
        &["stop", "idle"],
        &["status", "idle"],
        &["start", "grp:*"],
    ] {
        j.same(ta, tb, args, None);
    }
    // supervisord stops a group's processes in an order of its own.
    for args in [&["stop", "grp:"][..], &["restart", "grp:*", "sleeper"]] {
        j.same_sorted(ta, tb, args);
    }
    for args in [
        &["status"][..],
        // Signals whose default is to be ignored: no process dies, so no
        // restart races between the twins.
        &["signal", "WINCH", "grp:g2"],
        &["signal", "URG", "echoer", "idle"],
        &["signal", "CONT", "all"],
        &["status"],
        &["start", "all"],
        &["clear", "echoer", "grp:g1"],
        &["clear", "all"],
        &["tail", "echoer"],
    ] {
        j.same(ta, tb, args, None);
    }
    // And all of them too.
    for args in [&["restart", "all"][..], &["stop", "all"], &["stop", "all"]] {
        j.same_sorted(ta, tb, args);
    }
    j.same(ta, tb, &["status"], None);
    j.same(ta, tb, &["pid", "sleeper"], None);
}

/// reread, update, add and remove after the config file is edited: a
/// program added, one changed, one dropped.
#[test]
fn config_commands_match_after_editing_the_config() {
    let Some(j) = Judge::new() else { return };
    let conf = supervisord_conf("", PROGRAMS);
    let Some(a) = Supervisord::start("ctl-conf-a", &conf) else {
        return;
    };
    let Some(b) = Supervisord::start("ctl-conf-b", &conf) else {
        return;
    };
    let (ta, tb) = (&a.target, &b.target);
    j.same(ta, tb, &["reread"], None);
    let edited = PROGRAMS
        .replace(
            "command=/bin/sleep 1000\nstartsecs=0\nstopwaitsecs=2\n\n[program:idle]",
            "command=/bin/sleep 999\nstartsecs=0\nstopwaitsecs=2\n\n[program:idle]",
        )
        .replace(
            "[program:echoer]",
            "[program:fresh]\ncommand=/bin/sleep 1000\nstartsecs=0\n\n[program:echoer]",
        );
    let edited = edited.replace(
        "[program:idle]\ncommand=/bin/sleep 1000\nautostart=false\nstartsecs=0\n",
        "",
    );
    for s in [&a, &b] {
        s.rewrite(&supervisord_conf("", &edited));
    }
    let r = j.same(ta, tb, &["reread"], None);
    assert_eq!(
        r.stdout,
        "fresh: available\nidle: disappeared\nsleeper: changed\n"
    );
    for args in [
        &["avail"][..],
        &["update", "nope", "sleeper"],
        &["status"],
        &["update"],
        &["update", "all"],
        &["status"],
        &["remove", "fresh"],
        &["stop", "fresh"],
        &["remove", "fresh"],
        &["add", "fresh", "fresh", "nope"],
        &["status"],
        &["avail"],
    ] {
        j.same(ta, tb, args, None);
    }
    let r = j.same(ta, tb, &["reload"], None);
    assert_eq!(r.stdout, "Restarted supervisord\n");
    // Stopped mid-restart, supervisord would leave its new children.
    a.settle();
    b.settle();
}

/// `supervisorctl` with no command (or `-i`) is a prompt that reads a pipe:
/// `supervisor> ` (or `[supervisorctl] prompt`), a first `status`, the
/// confirmation of shutdown and reload, quit and end of input.
#[test]
fn interactive_mode_from_a_pipe_matches() {
    let Some(j) = Judge::new() else { return };
    let conf = supervisord_conf("", PROGRAMS)
        .replace("[supervisorctl]\n", "[supervisorctl]\nprompt=mine\n");
    let Some(a) = Supervisord::start("ctl-shell-a", &conf) else {
        return;
    };
    let Some(b) = Supervisord::start("ctl-shell-b", &conf) else {
        return;
    };
    let (ta, tb) = (&a.target, &b.target);
    j.same(
        ta,
        tb,
        &[],
        Some("status sleeper\n\nnope\nhelp quit\npid nope\n"),
    );
    j.same(
        ta,
        tb,
        &[],
        Some("stop idle\nshutdown\nno\nreload\nNo\nquit\nstatus\n"),
    );
    j.same(ta, tb, &["-i"], Some("start idle\n"));
    j.same(ta, tb, &["-i", "status", "idle"], Some("status\n"));
    j.same(ta, tb, &[], Some("reload\n"));
    let r = j.same(ta, tb, &[], Some("version\nshutdown\nyes\nstatus\n"));
    assert!(r.stdout.contains("Shut down"), "{r:?}");
    assert!(wait_until(20, || !a.dir.path().join("s.sock").exists()));
    assert!(wait_until(20, || !b.dir.path().join("s.sock").exists()));
    j.same(ta, tb, &["status"], None);
    j.same(ta, tb, &["shutdown"], None);
}

/// Flags and the server URL: -s, -h, bad flags, a missing config file, a
/// config without [supervisorctl], a socket that is not there, a refused
/// port, an unknown scheme; `sv supervisorctl` as well as the symlink.
#[test]
fn flags_and_bad_server_urls_match() {
    let Some((j, sd)) = start("ctl-flags") else {
        return;
    };
    let t = &sd.target;
    let dir = sd.dir.path();
    let port = free_port();
    let refused = format!("http://127.0.0.1:{port}");
    let missing = format!("unix://{}/nope.sock", dir.display());
    let here = format!("unix://{}/s.sock", dir.display());
    std::fs::write(dir.join("bare.conf"), "[supervisord]\n").unwrap();
    let bare = Target {
        conf: dir.join("bare.conf"),
        dir: dir.to_path_buf(),
    };
    for args in [
        &["-h"][..],
        &["--help", "status"],
        &["-x", "status"],
        &["-s"],
        &["-s", "foo", "status"],
        &["-s", &here, "status", "sleeper"],
        &["--serverurl", &here, "--user=u", "pid"],
        &["-s", &missing, "status"],
        &["-s", &missing, "start", "x"],
        &["-s", &missing, "avail"],
        &["-s", &missing, "shutdown"],
        &["-s", &refused, "status"],
        &["-s", &refused, "version"],
        &["-s", &refused, "reread"],
        &["-s", &refused, "shutdown"],
        &["-s", "foo://bar", "status"],
        &["-c", "/nonexistent/x.conf", "status"],
        &["-i", "-i", "status"],
    ] {
        j.same_on(t, args);
    }
    j.same_on(&bare, &["status"]);
    // No -c: ./supervisord.conf of the working directory is found.
    let searched = Target {
        conf: std::path::PathBuf::new(),
        dir: dir.to_path_buf(),
    };
    let r = j.same_on(&searched, &["status", "sleeper"]);
    assert!(r.stdout.starts_with("sleeper "), "{r:?}");
    // Through `sv supervisorctl` rather than the symlink.
    let mut cmd = Command::new(sv_bin());
    // `-i` and `-h` are supervisorctl's (interactive, help), not sv's.
    cmd.args(["supervisorctl", "-i", "-c"])
        .arg(&t.conf)
        .args(["status", "sleeper", "idle"])
        .current_dir(dir);
    let via_sv = run_with_input(cmd, None, 30).expect("sv supervisorctl hung");
    let real = run_ctl(&j.real, t, &["-i", "status", "sleeper", "idle"], None);
    assert_eq!(
        j.normal(&via_sv, &j.ours, dir),
        j.normal(&real, &j.real, dir),
        "sv supervisorctl and the real one differ"
    );
    assert_eq!(via_sv.code, 3, "idle is not running: {via_sv:?}");
    let mut cmd = Command::new(sv_bin());
    cmd.args(["supervisorctl", "-h"]).current_dir(dir);
    let help = run_with_input(cmd, None, 30).expect("sv supervisorctl -h hung");
    assert_eq!(help.code, 0);
    assert!(
        help.stdout
            .contains("Usage: sv supervisorctl [options] [action [arguments]]"),
        "{help:?}"
    );
}

/// Basic auth on an inet server: none given (`Server requires
/// authentication`, exit 1), wrong, right by -u/-p and by the config's
/// [supervisorctl] username/password.
#[test]
fn auth_on_an_inet_server_matches() {
    let Some(j) = Judge::new() else { return };
    let port = free_port();
    let extra = format!("[inet_http_server]\nport=127.0.0.1:{port}\nusername=user\npassword=123\n");
    let conf = supervisord_conf(&extra, PROGRAMS).replace(
        "serverurl=unix://%(here)s/s.sock",
        &format!("serverurl=http://127.0.0.1:{port}"),
    );
    let Some(sd) = Supervisord::start("ctl-auth", &conf) else {
        return;
    };
    let t = &sd.target;
    let url = format!("http://127.0.0.1:{port}");
    for args in [
        &["status"][..],
        &["-u", "user", "status"],
        &["-u", "user", "-p", "wrong", "status"],
        &["-u", "user", "-p", "wrong", "avail"],
        &["-u", "user", "-p", "123", "status"],
        &["-s", &url, "-u", "user", "-p", "123", "pid", "all"],
    ] {
        j.same_on(t, args);
    }
    let with_login = conf.replace(
        &format!("serverurl=http://127.0.0.1:{port}"),
        &format!("serverurl=http://127.0.0.1:{port}\nusername=user\npassword=123"),
    );
    sd.rewrite(&with_login);
    j.same_on(t, &["status", "grp:*"]);
    j.same_on(t, &["-p", "bad", "version"]);
    // At the prompt a 401 asks for a login and runs the command again
    // with it (the real one asks through getpass, which reads the
    // terminal when there is one, so sv's is checked alone).
    sd.rewrite(&conf);
    let r = run_ctl(&j.ours, t, &[], Some("user\n123\npid sleeper\n"));
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout
            .starts_with("Server requires authentication\nUsername:Password:\n"),
        "{r:?}"
    );
    assert!(
        r.stdout
            .contains("sleeper                          RUNNING"),
        "{r:?}"
    );
    let pid_line = r
        .stdout
        .lines()
        .find(|l| l.starts_with("supervisor> "))
        .unwrap_or("");
    assert!(
        pid_line
            .trim_start_matches("supervisor> ")
            .parse::<u32>()
            .is_ok(),
        "pid after login: {r:?}"
    );
}

/// `tail -f` and `maintail -f` stream what the server sends as it comes,
/// until Ctrl-C, which ends them with a newline and exit 0; a stream of a
/// name the server does not know says so on stderr, as the real one.
#[test]
fn tail_follow_streams_until_ctrl_c() {
    let programs = format!(
        "{PROGRAMS}\n[program:ticker]\ncommand=/bin/sh -c 'i=0; while :; do echo tick$i; i=$((i+1)); sleep 0.2; done'\nstartsecs=0\n"
    );
    let Some(j) = Judge::new() else { return };
    let Some(sd) = Supervisord::start("ctl-tailf", &supervisord_conf("", &programs)) else {
        return;
    };
    let t = &sd.target;
    for (prog, what) in [(&j.real, "real"), (&j.ours, "sv")] {
        for args in [&["tail", "-f", "ticker"][..], &["maintail", "-f"]] {
            let mut child = Command::new(prog)
                .arg("-c")
                .arg(&t.conf)
                .args(args)
                .current_dir(&t.dir)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn");
            let pid = child.id() as i32;
            let mut out = child.stdout.take().unwrap();
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = out.read(&mut buf) {
                    if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                        break;
                    }
                }
            });
            let mut seen = Vec::new();
            let want_more = |seen: &[u8]| {
                let s = String::from_utf8_lossy(seen);
                match args[0] {
                    // Two ticks that came after the stream began.
                    "tail" => s.matches("tick").count() >= 2 && s.lines().count() >= 3,
                    _ => s.lines().count() >= 2,
                }
            };
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
            while !want_more(&seen) && std::time::Instant::now() < deadline {
                if let Ok(b) = rx.recv_timeout(std::time::Duration::from_millis(100)) {
                    seen.extend(b);
                }
            }
            let text = String::from_utf8_lossy(&seen).into_owned();
            assert!(
                text.starts_with("==> Press Ctrl-C to exit <==\n"),
                "{what} {args:?}: {text:?}"
            );
            assert!(
                want_more(&seen),
                "{what} {args:?} streamed too little: {text:?}"
            );
            kill(pid, libc::SIGINT);
            let mut code = None;
            assert!(wait_until(10, || {
                code = child.try_wait().ok().flatten().map(|s| s.code());
                code.is_some()
            }));
            assert_eq!(
                code,
                Some(Some(0)),
                "{what} {args:?}: Ctrl-C ends with exit 0"
            );
        }
    }
    j.same_on(t, &["tail", "-f", "nope"]);
    j.same_on(t, &["tail", "-f", "ticker", "nope"]);
}

/// `fg NAME`: our stdin goes to the process (`sendProcessStdin`) and its
/// output comes back on the stream; end of input leaves with `Exiting
/// foreground`. (The real supervisorctl prints the same but then hangs in
/// its stream thread, so sv's is checked against the process itself.)
#[test]
fn fg_sends_stdin_and_shows_output() {
    let programs = format!("{PROGRAMS}\n[program:cat]\ncommand=/bin/cat\nstartsecs=0\n");
    let Some(j) = Judge::new() else { return };
    let Some(sd) = Supervisord::start("ctl-fg", &supervisord_conf("", &programs)) else {
        return;
    };
    let t = &sd.target;
    let mut child = Command::new(&j.ours)
        .arg("-c")
        .arg(&t.conf)
        .args(["fg", "cat"])
        .current_dir(&t.dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let pid = child.id() as i32;
    let mut stdin = child.stdin.take().unwrap();
    let mut out = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = out.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    use std::io::Write;
    stdin.write_all(b"ping-from-fg\n").unwrap();
    let mut seen = Vec::new();
    let echoed = wait_until(20, || {
        while let Ok(b) = rx.try_recv() {
            seen.extend(b);
        }
        String::from_utf8_lossy(&seen).contains("ping-from-fg")
    });
    let text = String::from_utf8_lossy(&seen).into_owned();
    if !echoed {
        kill(pid, libc::SIGKILL);
        let _ = child.wait();
        panic!("fg did not show the process's answer: {text:?}");
    }
    assert!(
        text.starts_with("==> Press Ctrl-C to exit <==\n"),
        "{text:?}"
    );
    drop(stdin);
    let mut code = None;
    let ended = wait_until(10, || {
        code = child.try_wait().ok().flatten().map(|s| s.code());
        code.is_some()
    });
    if !ended {
        kill(pid, libc::SIGKILL);
        let _ = child.wait();
    }
    assert_eq!(code, Some(Some(0)), "fg ends at end of input with exit 0");
    while let Ok(b) = rx.recv_timeout(std::time::Duration::from_secs(5)) {
        seen.extend(b);
    }
    let text = String::from_utf8_lossy(&seen).into_owned();
    assert!(text.ends_with("Exiting foreground\n"), "{text:?}");
    j.same_on(t, &["tail", "cat"]);
}

/// A TCP port nobody listens on: bound to 0, then closed.
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().unwrap().port()
}

/// A server without `[rpcinterface:supervisor]` answers UNKNOWN_METHOD:
/// supervisorctl explains and exits 3 (4 for status).
#[test]
fn a_server_without_the_supervisor_interface_is_explained() {
    let Some(j) = Judge::new() else { return };
    let conf = supervisord_conf("", PROGRAMS).replace(
        "[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n",
        "",
    );
    let Some(sd) = Supervisord::start("ctl-norpc", &conf) else {
        return;
    };
    for args in [
        &["status"][..],
        &["start", "sleeper"],
        &["version"],
        &["avail"],
    ] {
        let r = j.same_on(&sd.target, args);
        assert_ne!(r.code, 0, "{args:?}: {r:?}");
    }
}

/// The comparison hides only pids, uptimes and stop times, which twins or
/// two runs a moment apart may print differently.
#[test]
fn normalization_hides_only_what_may_differ() {
    use common::ctl::numbers_out;
    assert_eq!(
        numbers_out("a                                RUNNING   pid 123, uptime 0:01:02\n"),
        "a                                RUNNING   pid N, uptime N\n"
    );
    assert_eq!(
        numbers_out("grp:g1                           STOPPED   Dec 06 07:20 PM\n"),
        "grp:g1                           STOPPED   STOP-TIME\n"
    );
    assert_eq!(numbers_out("4242\n"), "N\n");
    for kept in [
        "a  STOPPED   Not started\n",
        "echoer: ERROR (not running)\n",
        "hello AM\n",
    ] {
        assert_eq!(numbers_out(kept), kept);
    }
}
