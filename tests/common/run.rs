//! Commands run with a deadline: a client that hangs is a failure to
//! report, not a test that never ends. A command that outlives its
//! deadline is killed by its recorded pid.

use super::{Run, Sv};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Runs a prepared command with a deadline; None if it did not finish (it
/// is then killed by its recorded pid). Output is read while it runs, so
/// a long answer cannot stall it.
pub fn run_within(mut cmd: Command, secs: u64) -> Option<Run> {
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let pid = child.id() as i32;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(out) => Some(Run::from(out.expect("wait"))),
        Err(_) => {
            // Still unreaped (the thread waits on it), so the pid is ours.
            super::kill(pid, libc::SIGKILL);
            None
        }
    }
}

/// `sv ARGS... -i N` with a deadline.
pub fn sv_within(sv: &Sv, args: &[&str], secs: u64) -> Option<Run> {
    let mut cmd = sv.command();
    cmd.args(args).args(["-i", &sv.instance.to_string()]);
    run_within(cmd, secs)
}

/// `sv status -i N` within `secs`: its output, or what went wrong.
pub fn try_status(sv: &Sv, secs: u64) -> Result<String, String> {
    match sv_within(sv, &["status"], secs) {
        None => Err(format!("`sv status` did not answer within {secs} s")),
        Some(r) if r.code == 0 => Ok(r.stdout),
        Some(r) => Err(format!("`sv status` failed: {r:?}")),
    }
}

/// `sv status -i N` must answer (exit 0) within `secs`; its output.
#[track_caller]
pub fn status_answers(sv: &Sv, secs: u64) -> String {
    try_status(sv, secs).unwrap_or_else(|e| panic!("{e}"))
}

/// `sv ARGS...` with `input` on a pipe as its stdin: (exit code, stdout,
/// stderr).
pub fn sv_with_input(sv: &Sv, args: &[&str], input: &[u8]) -> (i32, String, String) {
    use std::io::Write;
    let mut child = sv
        .command()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sv");
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// CPU ticks a process spends in the next `secs` seconds: the window is
/// the measurement (a busy loop shows), not a wait for a condition.
pub fn cpu_ticks_over(pid: i32, secs: u64) -> u64 {
    let before = super::cpu_ticks(pid);
    std::thread::sleep(Duration::from_secs(secs));
    super::cpu_ticks(pid) - before
}

/// Waits for a child we spawned to exit; kills it (recorded pid) on timeout.
#[track_caller]
pub fn wait_exit(child: &mut Child, secs: u64) -> ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(st) = child.try_wait().expect("try_wait") {
            return st;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("process {} did not exit within {secs} s", child.id());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
