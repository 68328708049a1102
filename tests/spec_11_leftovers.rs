//! SPEC §3 and §11 (issue 10, "nothing left behind"): what a program leaves
//! when its leader exits is shown, stopped and closed; a program that keeps
//! exiting at once is not respawned in a tight loop; `sv init` leaves its
//! caller no descriptor and a refused config no socket.
mod common;
use common::*;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

const N: u8 = 11;

/// Pids a test recorded: any still alive when it ends are killed (by pid).
struct Pids(PathBuf);

impl Pids {
    fn read(&self) -> Vec<i32> {
        std::fs::read_to_string(&self.0)
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect()
    }

    /// Waits until `n` pids are recorded and returns them.
    #[track_caller]
    fn wait_for(&self, n: usize) -> Vec<i32> {
        let ok = wait_until(20, || self.read().len() >= n);
        assert!(ok, "only {} of {n} pids recorded", self.read().len());
        self.read()
    }

    fn alive(&self) -> Vec<i32> {
        self.read().into_iter().filter(|p| alive(*p)).collect()
    }
}

impl Drop for Pids {
    fn drop(&mut self) {
        for pid in self.read() {
            if alive(pid) {
                kill(pid, libc::SIGKILL);
            }
        }
    }
}

/// A daemon running `conf`, whose programs run `sh SCRIPT` scripts from
/// the work directory; the pids they record go to `work/pids`.
fn start(conf: &str, scripts: &[(&str, &str)]) -> (Sv, Pids) {
    let mut sv = Sv::new(N);
    let pids = Pids(sv.work.path().join("pids"));
    for (name, body) in scripts {
        let body = body.replace("PIDS", &pids.0.display().to_string());
        std::fs::write(sv.work.path().join(name), body).expect("write script");
    }
    let conf = conf.replace("WORK", &sv.work.path().display().to_string());
    let cmd = sv.config_daemon(&conf);
    sv.launch(cmd);
    (sv, pids)
}

/// Waits until the status detail of `name` says `what`.
#[track_caller]
fn wait_detail(sv: &Sv, name: &str, what: &str) -> String {
    let mut last = None;
    let ok = wait_until(20, || {
        last = sv.state(name);
        last.as_ref().is_some_and(|(_, d)| d.contains(what))
    });
    assert!(ok, "{name}: no `{what}` in its status; last {last:?}");
    last.map(|(s, d)| format!("{s} {d}")).unwrap_or_default()
}

/// A child that records its pid and sleeps, in the background.
const CHILD: &str = "sh -c 'echo $$ >> PIDS; exec sleep 300' &\n";
/// The same after setsid: a session and a group of its own.
const SETSID_CHILD: &str = "setsid sh -c 'echo $$ >> PIDS; exec sleep 300' &\n";

fn program(name: &str, script: &str, extra: &str) -> String {
    format!(
        "[program:{name}]\ncommand=/bin/sh WORK/{script}\nstartsecs=0\nautorestart=false\n\
         stopwaitsecs=5\n{extra}\n"
    )
}

/// The leader exits 0 and leaves two sleeping children in its group:
/// status counts them, `stop` ends them and answers, `close` then finds
/// nothing to do.
#[test]
fn exited_leader_leaves_two_children_stop_ends_them() {
    let script = format!("{CHILD}{CHILD}exit 0\n");
    let (mut sv, pids) = start(
        &program("forker", "forker.sh", ""),
        &[("forker.sh", &script)],
    );
    let left = pids.wait_for(2);
    let line = wait_detail(&sv, "forker", "2 processes left");
    assert!(line.starts_with("EXITED exit 0"), "{line}");
    assert_eq!(pids.alive().len(), 2, "{left:?}");

    let t = Instant::now();
    let r = sv.sv(&["stop", "forker"]);
    eprintln!("figure: stop of 2 leftovers answered in {:?}", t.elapsed());
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("forker: stopped"), "{r:?}");
    assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());
    assert!(pids.alive().is_empty(), "left alive: {:?}", pids.alive());
    let (state, detail) = sv.state("forker").expect("status");
    assert_eq!(state, "EXITED");
    assert!(!detail.contains("left"), "{detail}");
    // Nothing left: a second stop is the usual error.
    let r = sv.sv(&["stop", "forker"]);
    assert_eq!(r.code, 1, "{r:?}");
    sv.close().ok();
}

/// stopasgroup=false, one child in the group and one that called setsid:
/// both are counted, and `close` leaves neither behind.
#[test]
fn close_ends_leftovers_with_stopasgroup_false_and_setsid() {
    let script = format!("{CHILD}{SETSID_CHILD}exit 0\n");
    let (mut sv, pids) = start(
        &program("loose", "loose.sh", "stopasgroup=false\nkillasgroup=false"),
        &[("loose.sh", &script)],
    );
    pids.wait_for(2);
    let line = wait_detail(&sv, "loose", "2 processes left");
    assert!(line.starts_with("EXITED exit 0"), "{line}");
    let r = sv.close();
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        wait_until(2, || pids.alive().is_empty()),
        "left alive: {:?}",
        pids.alive()
    );
}

/// A running program with stopasgroup=false whose children are in its
/// group and in a session of their own: `close` stops the leader by its
/// rules, then ends what it left.
#[test]
fn close_of_a_running_program_leaves_none_of_its_children() {
    let script = format!("{CHILD}{SETSID_CHILD}{CHILD}exec sleep 300\n");
    let (mut sv, pids) = start(
        &program(
            "runner",
            "runner.sh",
            "stopasgroup=false\nkillasgroup=false",
        ),
        &[("runner.sh", &script)],
    );
    pids.wait_for(3);
    sv.wait_state("runner", "RUNNING", 10);
    let t = Instant::now();
    let r = sv.close();
    eprintln!(
        "figure: close with 3 children left answered in {:?}",
        t.elapsed()
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        wait_until(2, || pids.alive().is_empty()),
        "left alive: {:?}",
        pids.alive()
    );
}

/// `stop` of a stopped program ends what an earlier run left, and the
/// setsid child among them too.
#[test]
fn stop_ends_setsid_leftovers() {
    let script = format!("{SETSID_CHILD}{SETSID_CHILD}exit 0\n");
    let (mut sv, pids) = start(&program("sess", "sess.sh", ""), &[("sess.sh", &script)]);
    pids.wait_for(2);
    wait_detail(&sv, "sess", "2 processes left");
    let r = sv.sv(&["stop", "all"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("sess: stopped"), "{r:?}");
    assert!(pids.alive().is_empty(), "left alive: {:?}", pids.alive());
    sv.close().ok();
}

/// A program that forks 200 children, then exits (the issue says 1,000;
/// 200 keeps the test light on a shared machine): all are counted, `stop`
/// ends them all.
#[test]
fn two_hundred_forked_children_are_counted_and_stopped() {
    let script =
        "i=0\nwhile [ $i -lt 200 ]; do sleep 300 & echo $! >> PIDS; i=$((i+1)); done\nexit 0\n";
    let (mut sv, pids) = start(&program("many", "many.sh", ""), &[("many.sh", script)]);
    pids.wait_for(200);
    let line = wait_detail(&sv, "many", "200 processes left");
    assert!(line.starts_with("EXITED exit 0"), "{line}");
    let t = Instant::now();
    let r = sv.sv(&["stop", "many"]);
    eprintln!(
        "figure: stop of 200 leftovers answered in {:?}",
        t.elapsed()
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("many: stopped"), "{r:?}");
    assert!(pids.alive().is_empty(), "{} left alive", pids.alive().len());
    sv.close().ok();
}

/// SPEC §11 restart floor: with startsecs=0, a program that exits at once
/// is spawned about once a second, not hundreds of times.
#[test]
fn a_program_that_exits_at_once_is_not_respawned_in_a_tight_loop() {
    let (mut sv, _pids) = start(
        "[program:quick]\ncommand=/bin/true\nstartsecs=0\nautorestart=true\n",
        &[],
    );
    let restarts = |sv: &Sv| -> u64 {
        let r = sv.sv(&["service-status", "quick", "--json"]);
        let at = r.stdout.find("\"restarts\":").expect("restarts field") + 11;
        r.stdout[at..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .expect("restarts number")
    };
    let first = restarts(&sv);
    let t = Instant::now();
    // A measuring window, not a wait for a condition.
    std::thread::sleep(Duration::from_secs(3));
    let n = restarts(&sv) - first;
    let secs = t.elapsed().as_secs_f64();
    eprintln!("figure: {n} restarts in {secs:.2} s");
    assert!(
        n as f64 <= secs + 2.0,
        "{n} restarts in {secs:.1} s: at most one a second expected"
    );
    assert!(n >= 1, "it was never restarted");
    sv.close().ok();
}

/// `sv init` gives the detached daemon no descriptor of its caller: a pipe
/// on fd 5 is closed once `init` returns, so `| cat` ends.
#[test]
fn init_returns_through_a_pipe_on_another_descriptor() {
    let mut sv = Sv::new(N);
    // To a file: a pipe here would hang the test itself where cat never ends.
    let out_path = sv.work.path().join("init.out");
    let out_file = std::fs::File::create(&out_path).expect("init.out");
    let mut child = sv
        .sh("(\"$0\" init -i 11 5>&1) | cat")
        .stdout(out_file)
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn sh");
    let t = Instant::now();
    let done = wait_until(10, || matches!(child.try_wait(), Ok(Some(_))));
    eprintln!(
        "figure: `(sv init 5>&1) | cat` returned in {:?}",
        t.elapsed()
    );
    if !done {
        // The recorded sh; its cat ends when the daemon closes below.
        let _ = child.kill();
    }
    let status = child.wait().expect("wait sh");
    let out = std::fs::read_to_string(&out_path).unwrap_or_default();
    assert!(done, "`(sv init 5>&1) | cat` did not return in 10 s");
    assert!(status.success(), "{status:?}");
    assert!(out.contains("supervisor 11: started"), "{out}");
    sv.wait_ready();
    assert_eq!(sv.close().code, 0);
}

/// A config the daemon refuses: `sv init` exits 1 with the file and line,
/// and leaves no socket behind, every time.
#[test]
fn init_with_a_broken_config_exits_1_and_leaves_no_socket() {
    let sv = Sv::new(N);
    let path = sv.write_conf("[program:a]\ncommand=/bin/true\n\ngarbage line\n");
    let sock = sock_path(&sv);
    for i in 0..8 {
        let r = sv.run(&["init", "-i", "11", "-c", path.to_str().unwrap()]);
        assert_eq!(r.code, 1, "run {i}: {r:?}");
        let want = format!("error: {}:4:", path.display());
        assert!(r.stderr.contains(&want), "run {i}: {r:?}");
        assert!(!sock.exists(), "run {i}: {} left behind", sock.display());
    }
    assert_eq!(sv.sv(&["status"]).code, 3);
}
