//! Section 4 of the spec: the ad hoc service commands (4.1), every state of
//! 4.3 as `status` shows it, and the fine points of section 11 that go with
//! them (default names, restart budget, error lines and exit codes).
//!
//! Every test runs its own daemon in its own runtime dir, waits with
//! deadline loops, and only ever signals pids it recorded.
mod common;
use common::*;

use std::process::{Child, Command, Stdio};

// ---------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------

/// The pid in a `NAME: started, pid P` / `NAME: adopted, pid P` line.
#[track_caller]
fn pid_in(line: &str) -> i32 {
    let at = line.rfind("pid ").expect("a pid in the line") + 4;
    line[at..]
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("no pid in {line:?}"))
}

/// `status NAME` as one line with single spaces (`NAME STATE detail`).
fn row(sv: &Sv, name: &str) -> String {
    let r = sv.sv(&["status", name]);
    r.stdout
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// `sv create-service -i N --no-wait ARGS...`: `-i` first, since
/// everything after `--` goes to the child; `--no-wait`, since these tests
/// are not about waiting for RUNNING (tests/spec_4_2_order.rs is):
/// `NAME: starting, pid P` unless startsecs=0 made it RUNNING at once.
fn create(sv: &Sv, args: &[&str]) -> Run {
    let n = sv.instance.to_string();
    let mut all = vec!["create-service", "-i", &n, "--no-wait"];
    all.extend_from_slice(args);
    sv.run(&all)
}

/// Whether `detail` is exactly `pid P, uptime H:MM:SS`.
fn is_running_detail(detail: &str, pid: i32) -> bool {
    let Some(rest) = detail.strip_prefix(&format!("pid {pid}, uptime ")) else {
        return false;
    };
    let parts: Vec<&str> = rest.split(':').collect();
    parts.len() == 3
        && !parts[0].is_empty()
        && parts[0].chars().all(|c| c.is_ascii_digit())
        && parts[1..]
            .iter()
            .all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_digit()))
}

/// Waits for a pid to be gone (or a zombie).
#[track_caller]
fn wait_gone(pid: i32) {
    assert!(wait_until(10, || !alive(pid)), "pid {pid} still alive");
}

/// A `sleep 60` the test starts itself (not a child of sv).
fn own_sleep() -> Child {
    Command::new("sleep")
        .arg("60")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn sleep")
}

/// Ends a process the test spawned itself (recorded pid) and reaps it.
fn end_own(mut c: Child) {
    let _ = c.kill();
    let _ = c.wait();
}

/// The one element of a JSON array (`service-status NAME --json`).
#[track_caller]
fn only(v: Json) -> Json {
    match v {
        Json::Arr(mut items) if items.len() == 1 => items.remove(0),
        other => panic!("not an array of one: {other:?}"),
    }
}

/// A minimal JSON value, enough to check the shape of `--json` output.
#[derive(Debug, Clone, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(kv) => kv.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
    fn str(&self, key: &str) -> Option<&str> {
        match self.get(key)? {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }
    fn num(&self, key: &str) -> Option<f64> {
        match self.get(key)? {
            Json::Num(n) => Some(*n),
            _ => None,
        }
    }
}

/// Parses one whole JSON document (strict enough: no trailing garbage).
fn parse_json(text: &str) -> Result<Json, String> {
    struct P<'a> {
        s: &'a [u8],
        i: usize,
    }
    impl P<'_> {
        fn ws(&mut self) {
            while self.i < self.s.len() && b" \t\r\n".contains(&self.s[self.i]) {
                self.i += 1;
            }
        }
        fn eat(&mut self, c: u8) -> Result<(), String> {
            self.ws();
            if self.s.get(self.i) == Some(&c) {
                self.i += 1;
                Ok(())
            } else {
                Err(format!("expected {:?} at {}", c as char, self.i))
            }
        }
        fn lit(&mut self, word: &str, v: Json) -> Result<Json, String> {
            if self.s[self.i..].starts_with(word.as_bytes()) {
                self.i += word.len();
                Ok(v)
            } else {
                Err(format!("bad literal at {}", self.i))
            }
        }
        fn string(&mut self) -> Result<String, String> {
            self.eat(b'"')?;
            let mut out = Vec::new();
            loop {
                let c = *self.s.get(self.i).ok_or("unterminated string")?;
                self.i += 1;
                match c {
                    b'"' => break,
                    b'\\' => {
                        let e = *self.s.get(self.i).ok_or("bad escape")?;
                        self.i += 1;
                        match e {
                            b'"' | b'\\' | b'/' => out.push(e),
                            b'n' => out.push(b'\n'),
                            b't' => out.push(b'\t'),
                            b'r' => out.push(b'\r'),
                            b'b' => out.push(8),
                            b'f' => out.push(12),
                            b'u' => {
                                let hex = std::str::from_utf8(
                                    self.s.get(self.i..self.i + 4).ok_or("bad \\u")?,
                                )
                                .map_err(|e| e.to_string())?;
                                let n = u32::from_str_radix(hex, 16).map_err(|e| e.to_string())?;
                                self.i += 4;
                                let ch = char::from_u32(n).unwrap_or('\u{fffd}');
                                out.extend(ch.to_string().as_bytes());
                            }
                            _ => return Err(format!("bad escape at {}", self.i)),
                        }
                    }
                    c if c < 0x20 => return Err("control char in string".into()),
                    c => out.push(c),
                }
            }
            String::from_utf8(out).map_err(|e| e.to_string())
        }
        fn value(&mut self) -> Result<Json, String> {
            self.ws();
            match self.s.get(self.i).copied().ok_or("unexpected end")? {
                b'{' => {
                    self.i += 1;
                    let mut kv = Vec::new();
                    self.ws();
                    if self.s.get(self.i) == Some(&b'}') {
                        self.i += 1;
                        return Ok(Json::Obj(kv));
                    }
                    loop {
                        self.ws();
                        let k = self.string()?;
                        self.eat(b':')?;
                        let v = self.value()?;
                        kv.push((k, v));
                        self.ws();
                        match self.s.get(self.i) {
                            Some(b',') => self.i += 1,
                            Some(b'}') => {
                                self.i += 1;
                                return Ok(Json::Obj(kv));
                            }
                            _ => return Err(format!("bad object at {}", self.i)),
                        }
                    }
                }
                b'[' => {
                    self.i += 1;
                    let mut items = Vec::new();
                    self.ws();
                    if self.s.get(self.i) == Some(&b']') {
                        self.i += 1;
                        return Ok(Json::Arr(items));
                    }
                    loop {
                        items.push(self.value()?);
                        self.ws();
                        match self.s.get(self.i) {
                            Some(b',') => self.i += 1,
                            Some(b']') => {
                                self.i += 1;
                                return Ok(Json::Arr(items));
                            }
                            _ => return Err(format!("bad array at {}", self.i)),
                        }
                    }
                }
                b'"' => self.string().map(Json::Str),
                b't' => self.lit("true", Json::Bool(true)),
                b'f' => self.lit("false", Json::Bool(false)),
                b'n' => self.lit("null", Json::Null),
                _ => {
                    let start = self.i;
                    while self.i < self.s.len() && b"+-.eE0123456789".contains(&self.s[self.i]) {
                        self.i += 1;
                    }
                    std::str::from_utf8(&self.s[start..self.i])
                        .ok()
                        .and_then(|t| t.parse().ok())
                        .map(Json::Num)
                        .ok_or_else(|| format!("bad value at {start}"))
                }
            }
        }
    }
    let mut p = P {
        s: text.as_bytes(),
        i: 0,
    };
    let v = p.value()?;
    p.ws();
    if p.i != p.s.len() {
        return Err(format!("trailing data at {}", p.i));
    }
    Ok(v)
}

// ---------------------------------------------------------------------------
// 4.1: every command once
// ---------------------------------------------------------------------------

#[test]
fn create_service_prints_started_and_default_names() {
    let sv = Sv::daemon(40);
    // Waits for RUNNING (past startsecs), as `start` does.
    let r = sv.run(&["create-service", "-i", "40", "/bin/sleep", "60"]);
    let out = r.ok();
    assert!(out.starts_with("sleep: started, pid "), "{r:?}");
    assert_eq!(out.lines().count(), 1, "{r:?}");
    let p1 = pid_in(out.trim_end());
    assert!(alive(p1));

    // Taken name: -2, then -3 (answered at once with --no-wait).
    let r = create(&sv, &["/bin/sleep", "60"]);
    assert!(r.ok().starts_with("sleep-2: starting, pid "), "{r:?}");
    let p2 = pid_in(r.stdout.trim_end());
    let r = create(&sv, &["/bin/sleep", "60"]);
    assert!(r.ok().starts_with("sleep-3: starting, pid "), "{r:?}");
    let p3 = pid_in(r.stdout.trim_end());
    assert!(p1 != p2 && p2 != p3 && p1 != p3);

    // --name, options before and after the arguments.
    let r = create(&sv, &["--name", "nap", "/bin/sleep", "60", "-r", "3"]);
    assert!(r.ok().starts_with("nap: starting, pid "), "{r:?}");
    let p4 = pid_in(r.stdout.trim_end());

    for (name, pid) in [("sleep", p1), ("sleep-2", p2), ("sleep-3", p3), ("nap", p4)] {
        let d = sv.wait_state(name, "RUNNING", 10);
        assert!(is_running_detail(&d, pid), "{name}: {d:?}");
    }
}

#[test]
fn create_service_missing_executable_is_fatal_with_reason() {
    let sv = Sv::daemon(41);
    let r = create(&sv, &["/nonexistent/prog"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(r.stdout, "", "{r:?}");
    assert_eq!(
        r.stderr, "sv: prog: spawn error: No such file or directory\n",
        "{r:?}"
    );
    assert_eq!(
        sv.state("prog"),
        Some((
            "FATAL".into(),
            "spawn error: No such file or directory".into()
        ))
    );
}

#[test]
fn create_service_delayed_is_pending_then_runs_by_itself() {
    let sv = Sv::daemon(42);
    let r = create(&sv, &["/bin/sleep", "60", "-c", "1"]);
    assert_eq!(r.ok(), "sleep: pending, starts in 1 s\n");
    let (state, detail) = sv.state("sleep").expect("listed");
    // It may already have started on a slow machine; if not, PENDING.
    if state == "PENDING" {
        assert!(
            detail == "starts in 1 s" || detail == "starts in 0 s",
            "{detail:?}"
        );
        assert_eq!(sv.pid("sleep"), None);
    }
    let d = sv.wait_state("sleep", "RUNNING", 15);
    let pid = sv.pid("sleep").expect("pid once running");
    assert!(is_running_detail(&d, pid), "{d:?}");
    assert!(alive(pid));
}

#[test]
fn create_stopped_then_start_runs_it() {
    let sv = Sv::daemon(43);
    let r = create(&sv, &["/bin/sleep", "60", "--create-stopped"]);
    assert_eq!(r.ok(), "sleep: created\n");
    assert_eq!(row(&sv, "sleep"), "sleep STOPPED Not started");
    assert_eq!(sv.pid("sleep"), None);

    let r = sv.sv(&["start", "sleep"]);
    assert_eq!(r.ok(), "sleep: started\n");
    // `start` returns once it is RUNNING (past startsecs).
    let (state, detail) = sv.state("sleep").expect("listed");
    assert_eq!(state, "RUNNING", "{detail}");
    let pid = sv.pid("sleep").expect("pid");
    assert!(is_running_detail(&detail, pid), "{detail:?}");
}

#[test]
fn create_service_child_runs_in_client_cwd_and_takes_dash_args_after_ddash() {
    let sv = Sv::daemon(44);
    let r = create(
        &sv,
        &[
            "/bin/sh",
            "--set",
            "startsecs=0",
            "--",
            "-c",
            "pwd > cwd.txt",
        ],
    );
    assert!(r.ok().starts_with("sh: started, pid "), "{r:?}");
    let file = sv.work.path().join("cwd.txt");
    assert!(wait_until(10, || std::fs::read_to_string(&file)
        .is_ok_and(|s| s.ends_with('\n'))));
    let got = std::fs::read_to_string(&file).unwrap();
    let want = std::fs::canonicalize(sv.work.path()).unwrap();
    assert_eq!(got.trim_end(), want.to_str().unwrap());
    sv.wait_state("sh", "EXITED", 10);
    assert_eq!(row(&sv, "sh"), "sh EXITED exit 0");
}

#[test]
fn suspend_and_resume_service() {
    let sv = Sv::daemon(45);
    let r = create(&sv, &["/bin/sleep", "60", "--set", "startsecs=0"]);
    let pid = pid_in(r.ok().trim_end());
    sv.wait_state("sleep", "RUNNING", 10);

    let r = sv.sv(&["suspend-service", "sleep"]);
    assert_eq!(r.ok(), "sleep: suspended\n");
    assert_eq!(row(&sv, "sleep"), format!("sleep SUSPENDED pid {pid}"));
    assert!(wait_until(5, || proc_state(pid).as_deref() == Some("T")));

    let r = sv.sv(&["resume-service", "sleep"]);
    assert_eq!(r.ok(), "sleep: resumed\n");
    let d = sv.wait_state("sleep", "RUNNING", 5);
    assert!(is_running_detail(&d, pid), "{d:?}");
    assert!(wait_until(5, || proc_state(pid).as_deref() != Some("T")));

    let r = sv.sv(&["resume-service", "sleep"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(r.stderr, "sleep: ERROR (not suspended)\n");
}

#[test]
fn close_service_stops_and_does_not_restart() {
    let sv = Sv::daemon(46);
    let r = create(
        &sv,
        &["/bin/sleep", "60", "-r", "3", "--set", "startsecs=0"],
    );
    let pid = pid_in(r.ok().trim_end());
    sv.wait_state("sleep", "RUNNING", 10);
    let r = sv.sv(&["close-service", "sleep"]);
    assert_eq!(r.ok(), "sleep: stopped\n");
    // Returns when STOPPED; the process is gone and not restarted.
    assert_eq!(
        row(&sv, "sleep"),
        "sleep STOPPED Stopped (killed by SIGTERM)"
    );
    wait_gone(pid);
    assert_eq!(sv.pid("sleep"), None);
}

#[test]
fn remove_service_of_running_service_stops_its_process() {
    let sv = Sv::daemon(47);
    let r = create(&sv, &["/bin/sleep", "60", "--set", "startsecs=0"]);
    let pid = pid_in(r.ok().trim_end());
    sv.wait_state("sleep", "RUNNING", 10);
    let r = sv.sv(&["remove-service", "sleep"]);
    assert_eq!(r.ok(), "sleep: removed\n");
    wait_gone(pid);
    let r = sv.sv(&["status", "sleep"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(r.stderr, "sv: no such service: sleep\n");
    assert_eq!(sv.sv(&["status"]).ok(), "");
}

#[test]
fn remove_service_of_adopted_leaves_it_running() {
    let sv = Sv::daemon(48);
    let child = own_sleep();
    let pid = child.id() as i32;
    let r = sv.sv(&["open-service", &pid.to_string(), "--name", "mine"]);
    assert_eq!(r.ok(), format!("mine: adopted, pid {pid}\n"));
    let d = sv.wait_state("mine", "RUNNING", 5);
    assert!(is_running_detail(&d, pid), "{d:?}");
    let r = sv.sv(&["remove-service", "mine"]);
    assert_eq!(r.ok(), "mine: removed\n");
    assert_eq!(sv.state("mine"), None);
    assert!(alive(pid), "an adopted process must be left running");
    // Still running after the daemon has had time to act on it.
    assert!(sv.sv(&["status"]).code == 0 && alive(pid));
    end_own(child);
}

#[test]
fn open_service_default_name_from_comm_and_exit_is_unknown() {
    let sv = Sv::daemon(49);
    let mut child = own_sleep();
    let pid = child.id() as i32;
    let r = sv.sv(&["open-service", &pid.to_string()]);
    assert_eq!(r.ok(), format!("sleep: adopted, pid {pid}\n"));
    let d = sv.wait_state("sleep", "RUNNING", 5);
    assert!(is_running_detail(&d, pid), "{d:?}");

    // The same pid again is refused.
    let r = sv.sv(&["open-service", &pid.to_string()]);
    assert_eq!(r.code, 1, "{r:?}");

    kill(pid, libc::SIGTERM);
    let _ = child.wait();
    sv.wait_state("sleep", "EXITED", 10);
    assert_eq!(row(&sv, "sleep"), "sleep EXITED exit status unknown");
    // Never restarted: it stays EXITED with no pid.
    assert_eq!(sv.pid("sleep"), None);
    let r = sv.sv(&["service-status", "sleep"]);
    assert!(r.ok().contains("state:     EXITED\n"), "{r:?}");
    // sv has no command line for it: start is refused, not a spawn error.
    let r = sv.sv(&["start", "sleep"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("sleep: ERROR (adopted"), "{r:?}");
    assert_eq!(row(&sv, "sleep"), "sleep EXITED exit status unknown");
}

#[test]
fn service_status_shows_every_field() {
    let sv = Sv::daemon(50);
    let r = create(&sv, &["/bin/sleep", "60", "--set", "startsecs=0"]);
    let pid = pid_in(r.ok().trim_end());
    sv.wait_state("sleep", "RUNNING", 10);
    let r = sv.sv(&["service-status", "sleep"]);
    let out = r.ok();
    let field = |k: &str| -> String {
        out.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}:")))
            .unwrap_or_else(|| panic!("no {k}: in {out:?}"))
            .trim()
            .to_string()
    };
    assert_eq!(field("name"), "sleep");
    assert_eq!(field("state"), "RUNNING");
    assert_eq!(field("pid"), pid.to_string());
    assert!(is_running_detail(
        &format!("pid {pid}, uptime {}", field("uptime")),
        pid
    ));
    assert_eq!(field("restarts"), "0");
    assert_eq!(field("last exit"), "-");
    assert!(out.contains("restarts:  0\n"), "{out:?}");

    // By pid as the target.
    let r = sv.sv(&["service-status", &pid.to_string()]);
    assert!(r.ok().starts_with("name:      sleep\n"), "{r:?}");

    // Unknown target.
    let r = sv.sv(&["service-status", "nope"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(r.stderr, "sv: no such service: nope\n");
}

#[test]
fn list_supervisor_is_the_status_table_and_json() {
    let sv = Sv::daemon(51);
    create(&sv, &["/bin/sleep", "60", "--set", "startsecs=0"]).ok();
    create(
        &sv,
        &["/bin/sleep", "60", "--create-stopped", "--name", "idle"],
    )
    .ok();
    sv.wait_state("sleep", "RUNNING", 10);
    let list = sv.sv(&["list-supervisor"]);
    let lines: Vec<&str> = list.ok().lines().collect();
    assert_eq!(lines.len(), 2, "{list:?}");
    assert!(lines[0].starts_with("sleep "), "{list:?}");
    assert_eq!(
        lines[1].split_whitespace().collect::<Vec<_>>().join(" "),
        "idle STOPPED Not started"
    );
    let names: Vec<&str> = lines
        .iter()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    let status = sv.sv(&["status"]);
    let snames: Vec<&str> = status
        .ok()
        .lines()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(names, snames);

    let j = sv.sv(&["list-supervisor", "--json"]);
    let v = parse_json(j.ok().trim()).unwrap_or_else(|e| panic!("{e}: {j:?}"));
    let Json::Arr(items) = v else {
        panic!("not an array: {j:?}")
    };
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].str("name"), Some("sleep"));
    assert_eq!(items[1].str("name"), Some("idle"));
    assert_eq!(items[1].str("state"), Some("STOPPED"));
}

#[test]
fn supervisor_cancel_removes_a_pending_service_only() {
    let sv = Sv::daemon(52);
    let r = create(&sv, &["/bin/sleep", "60", "-c", "60", "--name", "later"]);
    assert_eq!(r.ok(), "later: pending, starts in 60 s\n");
    let (state, detail) = sv.state("later").expect("listed");
    assert_eq!(state, "PENDING");
    assert!(
        detail.starts_with("starts in ") && detail.ends_with(" s"),
        "{detail:?}"
    );
    let r = sv.sv(&["supervisor-cancel", "later"]);
    assert_eq!(r.ok(), "later: cancelled\n");
    assert_eq!(sv.state("later"), None);

    // Not PENDING: refused, and the service stays.
    create(&sv, &["/bin/sleep", "60", "--create-stopped"]).ok();
    let r = sv.sv(&["supervisor-cancel", "sleep"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.starts_with("sleep: ERROR (not pending"), "{r:?}");
    assert!(sv.state("sleep").is_some());
}

#[test]
fn supervisor_freelist_removes_two_services() {
    let sv = Sv::daemon(53);
    let r = create(&sv, &["/bin/sleep", "60", "--set", "startsecs=0"]);
    let pid = pid_in(r.ok().trim_end());
    create(
        &sv,
        &["/bin/sleep", "60", "--create-stopped", "--name", "b"],
    )
    .ok();
    create(
        &sv,
        &["/bin/sleep", "60", "--create-stopped", "--name", "keep"],
    )
    .ok();
    sv.wait_state("sleep", "RUNNING", 10);
    let r = sv.sv(&["supervisor-freelist", "sleep", "b"]);
    assert_eq!(r.ok(), "sleep: removed\nb: removed\n");
    wait_gone(pid);
    let st = sv.sv(&["status"]);
    let names: Vec<&str> = st
        .ok()
        .lines()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(names, ["keep"]);
}

#[test]
fn targets_by_pid_and_all() {
    let sv = Sv::daemon(54);
    let r = create(&sv, &["/bin/sleep", "60", "--set", "startsecs=0"]);
    let pid = pid_in(r.ok().trim_end());
    create(
        &sv,
        &["/bin/sleep", "60", "--create-stopped", "--name", "idle"],
    )
    .ok();
    create(
        &sv,
        &[
            "/bin/sh",
            "--name",
            "ex3",
            "--set",
            "startsecs=0",
            "--",
            "-c",
            "exit 3",
        ],
    )
    .ok();
    sv.wait_state("sleep", "RUNNING", 10);
    sv.wait_state("ex3", "EXITED", 10);

    let r = sv.sv(&["status", &pid.to_string()]);
    assert!(r.ok().starts_with("sleep "), "{r:?}");

    // `all` skips what does not apply: only `sleep` is running.
    let r = sv.sv(&["stop", "all"]);
    assert_eq!(r.ok(), "sleep: stopped\n");
    wait_gone(pid);

    let r = sv.sv(&["stop", &pid.to_string()]);
    assert_eq!(r.code, 1, "a gone pid is no target: {r:?}");
}

#[test]
fn status_exits_0_whatever_the_states_and_1_for_unknown() {
    let sv = Sv::daemon(55);
    assert_eq!(sv.sv(&["status"]).ok(), "");
    let r = create(&sv, &["/nonexistent/x"]);
    assert_eq!(r.code, 1);
    create(
        &sv,
        &["/bin/sh", "--set", "startsecs=0", "--", "-c", "exit 3"],
    )
    .ok();
    sv.wait_state("sh", "EXITED", 10);
    let r = sv.sv(&["status"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.stdout.lines().count(), 2, "{r:?}");
    let r = sv.sv(&["status", "x", "sh"]);
    assert_eq!(r.code, 0, "{r:?}");

    let r = sv.sv(&["status", "nope"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(r.stdout, "");
    assert_eq!(r.stderr, "sv: no such service: nope\n");
}

#[test]
fn status_table_is_aligned_without_header() {
    let sv = Sv::daemon(56);
    create(&sv, &["/bin/sleep", "60", "--set", "startsecs=0"]).ok();
    create(
        &sv,
        &[
            "/bin/sleep",
            "60",
            "--create-stopped",
            "--name",
            "a-much-longer-name",
        ],
    )
    .ok();
    create(&sv, &["/bin/sleep", "60", "-c", "60", "--name", "p"]).ok();
    sv.wait_state("sleep", "RUNNING", 10);
    let r = sv.sv(&["status"]);
    let lines: Vec<&str> = r.ok().lines().collect();
    assert_eq!(lines.len(), 3, "{r:?}");
    assert!(!lines[0].to_ascii_uppercase().starts_with("NAME"), "{r:?}");
    // The state and the detail start at the same column on every row.
    let cols = |l: &str| -> (usize, usize) {
        let name_end = l.find(' ').unwrap();
        let state_at = name_end + l[name_end..].find(|c| c != ' ').unwrap();
        let state_end = state_at + l[state_at..].find(' ').unwrap();
        let detail_at = state_end + l[state_end..].find(|c| c != ' ').unwrap();
        assert!(state_at >= name_end + 2, "{l:?}");
        assert!(detail_at >= state_end + 2, "{l:?}");
        (state_at, detail_at)
    };
    let c0 = cols(lines[0]);
    for l in &lines {
        assert_eq!(cols(l), c0, "misaligned: {r:?}");
    }
}

// ---------------------------------------------------------------------------
// 4.3: every state, as `status` shows it
// ---------------------------------------------------------------------------

#[test]
fn state_stopped_not_started_and_stopped_by_command() {
    let sv = Sv::daemon(60);
    create(&sv, &["/bin/sleep", "60", "--create-stopped"]).ok();
    assert_eq!(row(&sv, "sleep"), "sleep STOPPED Not started");
    sv.sv(&["start", "sleep"]).ok();
    let pid = sv.pid("sleep").expect("pid");
    sv.sv(&["stop", "sleep"]).ok();
    assert_eq!(
        row(&sv, "sleep"),
        "sleep STOPPED Stopped (killed by SIGTERM)"
    );
    wait_gone(pid);
}

#[test]
fn state_pending() {
    let sv = Sv::daemon(61);
    create(&sv, &["/bin/sleep", "60", "-c", "30"]).ok();
    let (state, detail) = sv.state("sleep").expect("listed");
    assert_eq!(state, "PENDING");
    let n = starts_in(&detail);
    assert!((28..=30).contains(&n), "{detail:?}");
}

#[test]
fn state_starting_then_running() {
    let sv = Sv::daemon(62);
    let r = create(
        &sv,
        &[
            "/bin/sleep",
            "60",
            "--name",
            "slow",
            "--set",
            "startsecs=30",
        ],
    );
    let slow = pid_in(r.ok().trim_end());
    assert_eq!(row(&sv, "slow"), format!("slow STARTING pid {slow}"));

    let r = create(&sv, &["/bin/sleep", "60", "--name", "fast"]);
    let fast = pid_in(r.ok().trim_end());
    let d = sv.wait_state("fast", "RUNNING", 10);
    assert!(is_running_detail(&d, fast), "{d:?}");
    // Still STARTING: 30 s have not passed.
    assert_eq!(row(&sv, "slow"), format!("slow STARTING pid {slow}"));
}

#[test]
fn state_backoff_then_fatal() {
    let sv = Sv::daemon(63);
    // Exits at once (before startsecs 1): backs off, then one retry, FATAL.
    let r = create(&sv, &["/bin/false", "-r", "1"]);
    assert!(r.ok().starts_with("false: starting, pid "), "{r:?}");
    let d = sv.wait_state("false", "BACKOFF", 10);
    assert!(d.starts_with("Exited too quickly"), "{d:?}");
    assert_eq!(sv.pid("false"), None);
    let d = sv.wait_state("false", "FATAL", 15);
    assert!(!d.is_empty(), "FATAL has a reason");
    let r = sv.sv(&["service-status", "false"]);
    let out = r.ok();
    assert!(out.contains("restarts:  1\n"), "{out:?}");
    assert!(out.contains("last exit: exit 1\n"), "{out:?}");
}

#[test]
fn state_fatal_after_restart_budget_of_runs_past_startsecs() {
    let sv = Sv::daemon(64);
    create(
        &sv,
        &[
            "/bin/sh",
            "-r",
            "2",
            "--set",
            "startsecs=0",
            "--",
            "-c",
            "exit 3",
        ],
    )
    .ok();
    let d = sv.wait_state("sh", "FATAL", 10);
    assert!(d.contains("exit 3"), "{d:?}");
    let r = sv.sv(&["service-status", "sh"]);
    let out = r.ok();
    assert!(out.contains("restarts:  2\n"), "{out:?}");
    assert!(out.contains("last exit: exit 3\n"), "{out:?}");
}

#[test]
fn state_stopping_while_stop_waits_then_stopped_by_sigkill() {
    let sv = Sv::daemon(65);
    let r = create(
        &sv,
        &[
            "/bin/sh",
            "--set",
            "startsecs=0",
            "--set",
            "stopwaitsecs=2",
            "--",
            "-c",
            "trap '' TERM; echo ready > ready; exec sleep 60",
        ],
    );
    let pid = pid_in(r.ok().trim_end());
    sv.wait_state("sh", "RUNNING", 10);
    // Only once the trap is in place.
    let ready = sv.work.path().join("ready");
    assert!(wait_until(10, || std::fs::read_to_string(&ready)
        .is_ok_and(|s| s == "ready\n")));

    let stopper = sv.spawn_sv(&["stop", "sh"]);
    let d = sv.wait_state("sh", "STOPPING", 5);
    assert_eq!(d, format!("pid {pid}"));
    assert!(alive(pid), "TERM is ignored: still alive while STOPPING");
    let out = stopper.wait_with_output().expect("sv stop");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "sh: stopped\n");
    // `stop` returns when it is STOPPED.
    assert_eq!(row(&sv, "sh"), "sh STOPPED Stopped (killed by SIGKILL)");
    wait_gone(pid);
}

#[test]
fn state_exited_with_code_signal_and_zero() {
    let sv = Sv::daemon(66);
    for (name, script) in [("ex3", "exit 3"), ("ex0", "exit 0"), ("k9", "kill -9 $$")] {
        create(
            &sv,
            &[
                "/bin/sh",
                "--name",
                name,
                "--set",
                "startsecs=0",
                "--",
                "-c",
                script,
            ],
        )
        .ok();
    }
    // With -r, exit 0 is expected: EXITED, not restarted.
    create(&sv, &["/bin/true", "-r", "3", "--set", "startsecs=0"]).ok();
    for n in ["ex3", "ex0", "k9", "true"] {
        sv.wait_state(n, "EXITED", 10);
    }
    assert_eq!(row(&sv, "ex3"), "ex3 EXITED exit 3");
    assert_eq!(row(&sv, "ex0"), "ex0 EXITED exit 0");
    assert_eq!(row(&sv, "k9"), "k9 EXITED killed by SIGKILL");
    assert_eq!(row(&sv, "true"), "true EXITED exit 0");
    let r = sv.sv(&["service-status", "true"]);
    assert!(r.ok().contains("restarts:  0\n"), "{r:?}");
}

#[test]
fn state_fatal_on_spawn_error_is_not_retried() {
    let sv = Sv::daemon(67);
    let r = create(&sv, &["/nonexistent/y", "-r", "5"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(
        row(&sv, "y"),
        "y FATAL spawn error: No such file or directory"
    );
    let r = sv.sv(&["service-status", "y"]);
    assert!(r.ok().contains("restarts:  0\n"), "{r:?}");
}

#[test]
fn state_suspended_by_command_and_by_external_sigstop() {
    let sv = Sv::daemon(68);
    let r = create(&sv, &["/bin/sleep", "60", "--set", "startsecs=0"]);
    let a = pid_in(r.ok().trim_end());
    let r = create(&sv, &["/bin/sleep", "60", "--set", "startsecs=0"]);
    let b = pid_in(r.ok().trim_end());
    sv.wait_state("sleep", "RUNNING", 10);
    sv.wait_state("sleep-2", "RUNNING", 10);

    // By command.
    sv.sv(&["suspend-service", "sleep"]).ok();
    let d = sv.wait_state("sleep", "SUSPENDED", 5);
    assert_eq!(d, format!("pid {a}"));
    assert!(wait_until(5, || proc_state(a).as_deref() == Some("T")));

    // By someone else: a SIGSTOP to the recorded pid.
    kill(b, libc::SIGSTOP);
    assert!(wait_until(5, || proc_state(b).as_deref() == Some("T")));
    let d = sv.wait_state("sleep-2", "SUSPENDED", 5);
    assert_eq!(d, format!("pid {b}"));

    // And a SIGCONT from outside is seen too.
    kill(b, libc::SIGCONT);
    let d = sv.wait_state("sleep-2", "RUNNING", 5);
    assert!(is_running_detail(&d, b), "{d:?}");
    sv.sv(&["resume-service", "sleep"]).ok();
    sv.wait_state("sleep", "RUNNING", 5);
}

#[test]
fn state_killed_from_outside_is_handled_like_an_exit() {
    let sv = Sv::daemon(69);
    let r = create(&sv, &["/bin/sleep", "60", "--set", "startsecs=0"]);
    let pid = pid_in(r.ok().trim_end());
    sv.wait_state("sleep", "RUNNING", 10);
    kill(pid, libc::SIGKILL);
    sv.wait_state("sleep", "EXITED", 10);
    assert_eq!(row(&sv, "sleep"), "sleep EXITED killed by SIGKILL");
}

// ---------------------------------------------------------------------------
// Restart budget with the crash toy
// ---------------------------------------------------------------------------

#[test]
fn test_restart_with_r2_is_fatal_after_exactly_two_restarts() {
    let sv = Sv::daemon(70);
    let link = applet_link(sv.work.path(), "test_restart");
    let r = create(
        &sv,
        &[
            link.to_str().unwrap(),
            "0.3",
            "-r",
            "2",
            "--set",
            "startsecs=0",
        ],
    );
    assert!(r.ok().starts_with("test_restart: started, pid "), "{r:?}");
    let d = sv.wait_state("test_restart", "FATAL", 20);
    assert!(d.contains("SIGSEGV"), "{d:?}");
    let r = sv.sv(&["service-status", "test_restart"]);
    let out = r.ok();
    assert!(out.contains("state:     FATAL\n"), "{out:?}");
    assert!(out.contains("restarts:  2\n"), "{out:?}");
    assert!(out.contains("last exit: killed by SIGSEGV\n"), "{out:?}");

    let log = log_path(&sv, "test_restart", "stdout");
    let pids = || -> Vec<String> {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let mut v: Vec<String> = text
            .lines()
            .filter_map(|l| l.strip_prefix("test_restart: pid "))
            .map(|l| l.split(',').next().unwrap().to_string())
            .collect();
        v.dedup();
        v
    };
    assert!(wait_until(5, || pids().len() >= 3), "{:?}", pids());
    let mut p = pids();
    assert_eq!(p.len(), 3, "{p:?}");
    p.sort();
    p.dedup();
    assert_eq!(p.len(), 3, "three distinct pids");
    // And no fourth run.
    assert_eq!(sv.pid("test_restart"), None);
}

// ---------------------------------------------------------------------------
// start / stop / restart outcomes
// ---------------------------------------------------------------------------

#[test]
fn start_running_is_already_started_and_stop_stopped_is_not_running() {
    let sv = Sv::daemon(71);
    create(&sv, &["/bin/sleep", "60", "--set", "startsecs=0"]).ok();
    create(
        &sv,
        &["/bin/sleep", "60", "--create-stopped", "--name", "idle"],
    )
    .ok();
    sv.wait_state("sleep", "RUNNING", 10);
    let r = sv.sv(&["start", "sleep"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(r.stdout, "");
    assert_eq!(r.stderr, "sleep: ERROR (already started)\n");
    let r = sv.sv(&["stop", "idle"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(r.stdout, "");
    assert_eq!(r.stderr, "idle: ERROR (not running)\n");
}

#[test]
fn restart_prints_both_lines_and_changes_the_pid() {
    let sv = Sv::daemon(72);
    let r = create(&sv, &["/bin/sleep", "60", "--set", "startsecs=0"]);
    let old = pid_in(r.ok().trim_end());
    sv.wait_state("sleep", "RUNNING", 10);
    let r = sv.sv(&["restart", "sleep"]);
    assert_eq!(r.ok(), "sleep: stopped\nsleep: started\n");
    let d = sv.wait_state("sleep", "RUNNING", 5);
    let new = sv.pid("sleep").expect("pid");
    assert_ne!(old, new);
    assert!(is_running_detail(&d, new), "{d:?}");
    wait_gone(old);
}

#[test]
fn start_of_a_program_that_exits_early_reports_an_error() {
    let sv = Sv::daemon(73);
    create(&sv, &["/bin/false", "--create-stopped"]).ok();
    let r = sv.sv(&["start", "false"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.starts_with("false: ERROR ("), "{r:?}");
    assert_eq!(row(&sv, "false"), "false EXITED exit 1");
}

#[test]
fn parrot_stops_cleanly_on_term() {
    let sv = Sv::daemon(74);
    let link = applet_link(sv.work.path(), "parrot_service");
    let r = create(
        &sv,
        &[
            link.to_str().unwrap(),
            "--set",
            "startsecs=0",
            "--",
            "--interval",
            "0.2",
            "--file",
            "x",
        ],
    );
    let pid = pid_in(r.ok().trim_end());
    let file = sv.work.path().join("x");
    assert!(wait_until(10, || std::fs::read_to_string(&file)
        .is_ok_and(|s| s.lines().count() >= 2)));
    let r = sv.sv(&["stop", "parrot_service"]);
    assert_eq!(r.ok(), "parrot_service: stopped\n");
    assert_eq!(
        row(&sv, "parrot_service"),
        "parrot_service STOPPED Stopped (exit 0)"
    );
    wait_gone(pid);
}

// ---------------------------------------------------------------------------
// --json
// ---------------------------------------------------------------------------

#[test]
fn status_json_is_valid_with_the_right_fields() {
    let sv = Sv::daemon(75);
    let r = create(&sv, &["/bin/sleep", "60", "--set", "startsecs=0"]);
    let pid = pid_in(r.ok().trim_end());
    create(
        &sv,
        &["/bin/sleep", "60", "--create-stopped", "--name", "idle"],
    )
    .ok();
    sv.wait_state("sleep", "RUNNING", 10);

    let r = sv.sv(&["status", "--json"]);
    let v = parse_json(r.ok().trim()).unwrap_or_else(|e| panic!("{e}: {r:?}"));
    let Json::Arr(items) = v else {
        panic!("not an array: {r:?}")
    };
    assert_eq!(items.len(), 2, "{r:?}");
    let s = &items[0];
    assert_eq!(s.str("name"), Some("sleep"));
    assert_eq!(s.str("state"), Some("RUNNING"));
    assert_eq!(s.num("pid"), Some(pid as f64));
    assert!(s.num("uptime_secs").is_some(), "{r:?}");
    assert_eq!(s.num("restarts"), Some(0.0));
    let i = &items[1];
    assert_eq!(i.str("name"), Some("idle"));
    assert_eq!(i.str("state"), Some("STOPPED"));
    assert_eq!(i.str("detail"), Some("Not started"));
    assert!(r.stdout.contains("\"state\":\"RUNNING\""), "{r:?}");

    // One target: still one JSON document.
    let r = sv.sv(&["status", "sleep", "--json"]);
    let v = parse_json(r.ok().trim()).unwrap_or_else(|e| panic!("{e}: {r:?}"));
    let one = match &v {
        Json::Arr(items) => {
            assert_eq!(items.len(), 1, "{r:?}");
            items[0].clone()
        }
        obj => obj.clone(),
    };
    assert_eq!(one.str("name"), Some("sleep"));
    assert_eq!(one.num("pid"), Some(pid as f64));

    // service-status --json: the same shape, an array, with one target too.
    let r = sv.sv(&["service-status", "sleep", "--json"]);
    let v = only(parse_json(r.ok().trim()).unwrap_or_else(|e| panic!("{e}: {r:?}")));
    assert_eq!(v.str("name"), Some("sleep"));
    assert_eq!(v.str("state"), Some("RUNNING"));
    assert_eq!(v.num("pid"), Some(pid as f64));
}

// ---------------------------------------------------------------------------
// signal
// ---------------------------------------------------------------------------

#[test]
fn signal_usr1_reaches_the_process() {
    let sv = Sv::daemon(76);
    let r = create(
        &sv,
        &[
            "/bin/sh",
            "--name",
            "u",
            "--set",
            "startsecs=0",
            "--",
            "-c",
            "trap 'echo got >> usr1.txt' USR1; echo ready > ready; while :; do sleep 0.1; done",
        ],
    );
    let pid = pid_in(r.ok().trim_end());
    let ready = sv.work.path().join("ready");
    assert!(wait_until(10, || std::fs::read_to_string(&ready)
        .is_ok_and(|s| s == "ready\n")));
    let r = sv.sv(&["signal", "USR1", "u"]);
    assert_eq!(r.ok(), "u: signalled SIGUSR1\n");
    let file = sv.work.path().join("usr1.txt");
    assert!(wait_until(10, || std::fs::read_to_string(&file)
        .is_ok_and(|s| s == "got\n")));
    // The trap handled it: the process lives on.
    assert!(alive(pid));
    assert_eq!(sv.state("u").map(|s| s.0).as_deref(), Some("RUNNING"));

    let r = sv.sv(&["signal", "USR1", "nope"]);
    assert_eq!(r.code, 1, "{r:?}");
    let r = sv.sv(&["signal", "BOGUS", "u"]);
    assert_eq!(r.code, 2, "{r:?}");
}

#[test]
fn signal_goes_to_the_process_not_its_group() {
    let sv = Sv::daemon(77);
    let r = create(
        &sv,
        &[
            "/bin/sh",
            "--name",
            "g",
            "--set",
            "startsecs=0",
            "--",
            "-c",
            "sleep 60 & echo $! > bg; trap 'echo got >> usr1.txt' USR1; echo ready > ready; \
             while :; do sleep 0.1; done",
        ],
    );
    let pid = pid_in(r.ok().trim_end());
    let ready = sv.work.path().join("ready");
    assert!(wait_until(10, || std::fs::read_to_string(&ready)
        .is_ok_and(|s| s == "ready\n")));
    let bg: i32 = std::fs::read_to_string(sv.work.path().join("bg"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let r = sv.sv(&["signal", "USR1", &pid.to_string()]);
    assert_eq!(r.ok(), "g: signalled SIGUSR1\n");
    let file = sv.work.path().join("usr1.txt");
    assert!(wait_until(10, || std::fs::read_to_string(&file)
        .is_ok_and(|s| s == "got\n")));
    // A grandchild in the same group did not get it (USR1 would kill it).
    assert!(alive(bg), "sv signal must not signal the whole group");
    // The stop rules, though, do signal the group.
    let r = sv.sv(&["stop", "g"]);
    assert_eq!(r.ok(), "g: stopped\n");
    wait_gone(bg);
}

#[test]
fn stop_of_an_externally_stopped_process_does_not_wait_for_sigkill() {
    let sv = Sv::daemon(78);
    let r = create(
        &sv,
        &[
            "/bin/sleep",
            "60",
            "--set",
            "startsecs=0",
            "--set",
            "stopwaitsecs=30",
        ],
    );
    let pid = pid_in(r.ok().trim_end());
    sv.wait_state("sleep", "RUNNING", 10);
    kill(pid, libc::SIGSTOP);
    sv.wait_state("sleep", "SUSPENDED", 5);
    let t = std::time::Instant::now();
    let r = sv.sv(&["stop", "sleep"]);
    assert_eq!(r.ok(), "sleep: stopped\n");
    assert!(
        t.elapsed() < std::time::Duration::from_secs(10),
        "a stopped process must be continued so TERM can act: {:?}",
        t.elapsed()
    );
    assert_eq!(
        row(&sv, "sleep"),
        "sleep STOPPED Stopped (killed by SIGTERM)"
    );
    wait_gone(pid);
}

#[test]
fn json_escapes_quotes_and_backslashes() {
    let sv = Sv::daemon(79);
    let r = create(
        &sv,
        &[
            "/bin/sh",
            "--name",
            "q\"x",
            "--set",
            "startsecs=30",
            "--",
            "-c",
            "echo \"a\\b\"; sleep 60",
        ],
    );
    let pid = pid_in(r.ok().trim_end());
    for args in [
        &["status", "--json"][..],
        &["list-supervisor", "--json"][..],
    ] {
        let r = sv.sv(args);
        let v = parse_json(r.ok().trim()).unwrap_or_else(|e| panic!("{e}: {r:?}"));
        let Json::Arr(items) = v else {
            panic!("not an array: {r:?}")
        };
        assert_eq!(items.len(), 1, "{r:?}");
        assert_eq!(items[0].str("name"), Some("q\"x"));
        assert_eq!(items[0].str("state"), Some("STARTING"));
        assert_eq!(items[0].num("pid"), Some(pid as f64));
    }
    let r = sv.sv(&["service-status", "q\"x", "--json"]);
    let v = only(parse_json(r.ok().trim()).unwrap_or_else(|e| panic!("{e}: {r:?}")));
    assert_eq!(v.str("name"), Some("q\"x"));
    if let Some(cmd) = v.str("command") {
        assert!(cmd.contains("echo \"a\\b\""), "{cmd:?}");
    }
}

#[test]
fn concurrent_starts_spawn_one_process() {
    let sv = Sv::daemon(80);
    create(&sv, &["/bin/sleep", "60", "--create-stopped"]).ok();
    let n = sv.instance.to_string();
    let clients: Vec<_> = (0..4)
        .map(|_| {
            sv.command()
                .args(["start", "sleep", "-i", &n])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn sv start")
        })
        .collect();
    let outs: Vec<_> = clients
        .into_iter()
        .map(|c| c.wait_with_output().expect("sv start"))
        .collect();
    let ok = outs.iter().filter(|o| o.status.code() == Some(0)).count();
    assert_eq!(ok, 1, "{outs:?}");
    for o in &outs {
        let (out, err) = (
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr),
        );
        if o.status.code() == Some(0) {
            assert_eq!(out, "sleep: started\n");
        } else {
            assert_eq!(o.status.code(), Some(1), "{o:?}");
            assert_eq!(err, "sleep: ERROR (already started)\n");
        }
    }
    let pid = sv.pid("sleep").expect("pid");
    let daemon = sv.child.as_ref().unwrap().id() as i32;
    let kids: Vec<i32> = children(daemon).into_iter().filter(|p| alive(*p)).collect();
    assert_eq!(kids, [pid], "exactly one process runs");
}

#[test]
fn stopped_or_removed_pending_and_backoff_services_never_start_later() {
    let sv = Sv::daemon(81);
    create(&sv, &["/bin/sleep", "60", "-c", "1", "--name", "p-stop"]).ok();
    create(&sv, &["/bin/sleep", "60", "-c", "1", "--name", "p-rm"]).ok();
    create(&sv, &["/bin/false", "-r", "3", "--name", "bo"]).ok();
    sv.wait_state("bo", "BACKOFF", 10);
    assert_eq!(sv.sv(&["stop", "p-stop"]).ok(), "p-stop: stopped\n");
    assert_eq!(sv.sv(&["remove-service", "p-rm"]).ok(), "p-rm: removed\n");
    assert_eq!(sv.sv(&["stop", "bo"]).ok(), "bo: stopped\n");
    assert_eq!(row(&sv, "p-stop"), "p-stop STOPPED Not started");
    assert_eq!(sv.state("bo").map(|s| s.0).as_deref(), Some("STOPPED"));
    // A sentinel due after all of them: once it runs, their times are past.
    create(
        &sv,
        &[
            "/bin/sleep",
            "60",
            "-c",
            "2",
            "--name",
            "sentinel",
            "--set",
            "startsecs=0",
        ],
    )
    .ok();
    sv.wait_state("sentinel", "RUNNING", 15);
    assert_eq!(row(&sv, "p-stop"), "p-stop STOPPED Not started");
    assert_eq!(sv.state("p-rm"), None);
    assert_eq!(sv.state("bo").map(|s| s.0).as_deref(), Some("STOPPED"));
    assert_eq!(sv.pid("bo"), None);
    let daemon = sv.child.as_ref().unwrap().id() as i32;
    let kids: Vec<i32> = children(daemon).into_iter().filter(|p| alive(*p)).collect();
    assert_eq!(kids, [sv.pid("sentinel").unwrap()]);
}

#[test]
fn open_service_takes_the_next_free_name_and_can_be_stopped() {
    let sv = Sv::daemon(82);
    create(&sv, &["/bin/sleep", "60", "--set", "startsecs=0"]).ok();
    let mut child = own_sleep();
    let pid = child.id() as i32;
    let r = sv.sv(&["open-service", &pid.to_string()]);
    assert_eq!(r.ok(), format!("sleep-2: adopted, pid {pid}\n"));
    let r = sv.sv(&["service-status", "sleep-2", "--json"]);
    let v = only(parse_json(r.ok().trim()).unwrap_or_else(|e| panic!("{e}: {r:?}")));
    assert_eq!(v.get("adopted"), Some(&Json::Bool(true)), "{r:?}");
    // `stop` applies its stop rules to an adopted process too.
    let r = sv.sv(&["stop", "sleep-2"]);
    assert_eq!(r.ok(), "sleep-2: stopped\n");
    let _ = child.wait();
    assert_eq!(sv.state("sleep-2").map(|s| s.0).as_deref(), Some("STOPPED"));
    // It is not restarted, and `sleep` was not touched.
    assert_eq!(sv.pid("sleep-2"), None);
    assert_eq!(sv.state("sleep").map(|s| s.0).as_deref(), Some("RUNNING"));
}

/// Delays past what the clock can hold are refused, not a crash of the
/// daemon (an Instant overflow would panic it).
#[test]
fn absurd_delays_are_refused_and_the_daemon_goes_on() {
    let sv = Sv::daemon(51);
    for args in [
        &["-c", "18446744073709551615", "/bin/true"][..],
        &["--set", "startsecs=18446744073709551615", "/bin/true"][..],
        &["--set", "stopwaitsecs=99999999999", "/bin/true"][..],
    ] {
        let r = create(&sv, args);
        assert_eq!(r.code, 1, "{args:?}: {r:?}");
        assert!(r.stderr.contains("year"), "{args:?}: {r:?}");
    }
    // Nothing half-made was left behind, and the daemon answers.
    assert_eq!(sv.sv(&["status"]).ok(), "");
}
