//! SPEC §14: the daemon's side of supervisord's event listener protocol
//! 3.0, judged by a shell listener that records every header and payload
//! (and answers FAIL once, so the event comes again), and by a real
//! supervisord running the same listener on the same programs: the
//! payloads must read the same. The real listeners (superlance's, those
//! written with `supervisor.childutils`) are judged in spec_14_listeners.

mod common;
mod crash_harness;

use common::python::venv_program;
use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The instance of every daemon here (each test has its own runtime dir).
const N: u8 = 14;

/// Records each header line and payload to `$1` (a payload, then a line
/// end); answers FAIL to the first PROCESS_STATE_EXITED of `runs`, OK to
/// the rest.
const RECORDER: &str = r#"#!/bin/sh
out=$1
failed=
while :; do
  printf 'READY\n'
  IFS= read -r header || exit 0
  len=${header##*len:}
  dd bs=1 count="$len" of="$out.p" 2>/dev/null
  { printf '%s\n' "$header"; cat "$out.p"; printf '\n'; } >> "$out"
  case "$header" in
  *eventname:PROCESS_STATE_EXITED*)
    if [ -z "$failed" ] && grep -q '^processname:runs ' "$out.p"; then
      failed=1; printf 'RESULT 4\nFAIL'; continue
    fi;;
  esac
  printf 'RESULT 2\nOK'
done
"#;

/// One delivery: the header's fields and the payload.
#[derive(Debug, Clone)]
struct Delivery {
    fields: Vec<(String, String)>,
    payload: String,
}

impl Delivery {
    fn get(&self, key: &str) -> &str {
        let f = self.fields.iter().find(|(k, _)| k == key);
        f.map_or("", |(_, v)| v.as_str())
    }

    fn name(&self) -> &str {
        self.get("eventname")
    }

    /// The payload with every pid as `N`.
    fn shape(&self) -> String {
        self.payload
            .split(' ')
            .map(|w| match w.strip_prefix("pid:") {
                Some(_) => "pid:N",
                None => w,
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The record file read back: header, payload of `len` characters, `\n`.
fn deliveries(path: &Path) -> Vec<Delivery> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut out = Vec::new();
    let mut rest = text.as_str();
    while let Some((header, after)) = rest.split_once('\n') {
        let fields: Vec<(String, String)> = header
            .split(' ')
            .filter_map(|f| f.split_once(':'))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let len: usize = match fields.iter().find(|(k, _)| k == "len") {
            Some((_, v)) => v.parse().unwrap(),
            None => panic!("no len in header {header:?}"),
        };
        let end = after
            .char_indices()
            .nth(len)
            .map_or(after.len(), |(i, _)| i);
        if end + 1 > after.len() {
            break; // still being written
        }
        out.push(Delivery {
            fields,
            payload: after[..end].to_string(),
        });
        rest = &after[end + 1..];
    }
    out
}

fn write_script(dir: &Path, name: &str, text: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// How many times the daemon went to sleep and woke (voluntary switches).
fn wakeups(pid: i32) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap()
}

fn daemon_log(sv: &Sv) -> String {
    std::fs::read_to_string(sv.work.path().join("daemon.err")).unwrap_or_default()
}

/// The programs both daemons run, after their `[supervisord]`: one that
/// runs and exits 0, one that fails every start (`retries` as each
/// counts them), one that exits after startsecs and is restarted, one
/// that stays, and the recording listener.
fn programs(listener: &Path, record: &Path, retries: u32) -> String {
    format!(
        "[eventlistener:rec]\ncommand={} {}\nevents=PROCESS_STATE,SUPERVISOR_STATE_CHANGE_RUNNING,PROCESS_GROUP\n\
         buffer_size=100\n\n\
         [program:runs]\ncommand=/bin/sh -c \"sleep 1.5; exit 0\"\nstartsecs=1\nautorestart=false\n\n\
         [program:dies]\ncommand=/bin/false\nstartsecs=1\nstartretries={retries}\n\n\
         [program:flap]\ncommand=/bin/sh -c \"sleep 1.2; exit 1\"\nstartsecs=1\nautorestart=true\n\n\
         [program:stays]\ncommand=/bin/sleep 600\nstartsecs=0\n",
        listener.display(),
        record.display()
    )
}

/// What the recorder must have seen once both programs have settled.
fn settled(d: &[Delivery]) -> bool {
    let has = |p: &str| d.iter().any(|x| x.payload.starts_with(p));
    has("processname:dies groupname:dies from_state:BACKOFF")
        && d.iter().any(|x| x.name() == "PROCESS_STATE_FATAL")
        && has("processname:runs groupname:runs from_state:RUNNING expected:1")
        && per_process(d, "flap").len() >= 5
}

/// Each process's events in order, pids as `N`: what must read the same
/// under sv and supervisord (the order between processes is timing).
fn per_process(d: &[Delivery], name: &str) -> Vec<String> {
    let prefix = format!("processname:{name} ");
    d.iter()
        .filter(|x| x.payload.starts_with(&prefix))
        .map(|x| format!("{} {}", x.name(), x.shape()))
        .collect()
}

fn run_sv(retries: u32) -> (Sv, Vec<Delivery>) {
    let mut sv = Sv::new(N);
    let listener = write_script(sv.work.path(), "rec.sh", RECORDER);
    let record = sv.work.path().join("record");
    let conf = format!(
        "[supervisord]\nidentifier=svtest\n\n{}",
        programs(&listener, &record, retries)
    );
    let cmd = sv.config_daemon(&conf);
    sv.launch(cmd);
    let ok = wait_until(20, || settled(&deliveries(&record)));
    let got = deliveries(&record);
    assert!(ok, "not settled: {got:#?}\n{}", daemon_log(&sv));
    (sv, got)
}

#[test]
fn a_shell_listener_gets_supervisords_headers_and_payloads() {
    let (mut sv, d) = run_sv(2);
    // Every header: the fields and order of supervisord's envelope, the
    // identifier, one pool, len the payload's length.
    for x in &d {
        let keys: Vec<&str> = x.fields.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "ver",
                "server",
                "serial",
                "pool",
                "poolserial",
                "eventname",
                "len"
            ]
        );
        assert_eq!(
            (x.get("ver"), x.get("server"), x.get("pool")),
            ("3.0", "svtest", "rec")
        );
        assert_eq!(x.get("len"), x.payload.chars().count().to_string());
        assert_eq!(
            x.get("serial"),
            x.get("poolserial"),
            "one pool: the same count"
        );
    }
    // Serials count up from 0, one each; the FAILed event came again,
    // next, with its own serials.
    let serials: Vec<u64> = d.iter().map(|x| x.get("serial").parse().unwrap()).collect();
    let mut want: Vec<u64> = (0..serials.len() as u64 - 1).collect();
    let again = (d.iter())
        .position(|x| {
            x.payload
                .starts_with("processname:runs groupname:runs from_state:RUNNING")
        })
        .unwrap();
    want.insert(again + 1, serials[again]);
    assert_eq!(serials, want, "{d:#?}");
    assert_eq!(d[again].payload, d[again + 1].payload);
    // First the groups, by priority (the listener's is -1), then RUNNING.
    let first: Vec<String> = d[..6]
        .iter()
        .map(|x| format!("{} {}", x.name(), x.payload))
        .collect();
    assert_eq!(
        first,
        [
            "PROCESS_GROUP_ADDED groupname:rec\n",
            "PROCESS_GROUP_ADDED groupname:dies\n",
            "PROCESS_GROUP_ADDED groupname:flap\n",
            "PROCESS_GROUP_ADDED groupname:runs\n",
            "PROCESS_GROUP_ADDED groupname:stays\n",
            "SUPERVISOR_STATE_CHANGE_RUNNING ",
        ]
    );
    assert_eq!(
        per_process(&d, "runs"),
        [
            "PROCESS_STATE_STARTING processname:runs groupname:runs from_state:STOPPED tries:0",
            "PROCESS_STATE_RUNNING processname:runs groupname:runs from_state:STARTING pid:N",
            "PROCESS_STATE_EXITED processname:runs groupname:runs from_state:RUNNING expected:1 pid:N",
            "PROCESS_STATE_EXITED processname:runs groupname:runs from_state:RUNNING expected:1 pid:N",
        ]
    );
    assert_eq!(
        per_process(&d, "dies"),
        [
            "PROCESS_STATE_STARTING processname:dies groupname:dies from_state:STOPPED tries:0",
            "PROCESS_STATE_BACKOFF processname:dies groupname:dies from_state:STARTING tries:1",
            "PROCESS_STATE_STARTING processname:dies groupname:dies from_state:BACKOFF tries:1",
            "PROCESS_STATE_BACKOFF processname:dies groupname:dies from_state:STARTING tries:2",
            "PROCESS_STATE_FATAL processname:dies groupname:dies from_state:BACKOFF",
        ]
    );
    // An exit past startsecs, restarted at once: EXITED, then STARTING.
    assert_eq!(
        per_process(&d, "flap")[..5],
        [
            "PROCESS_STATE_STARTING processname:flap groupname:flap from_state:STOPPED tries:0",
            "PROCESS_STATE_RUNNING processname:flap groupname:flap from_state:STARTING pid:N",
            "PROCESS_STATE_EXITED processname:flap groupname:flap from_state:RUNNING expected:0 pid:N",
            "PROCESS_STATE_STARTING processname:flap groupname:flap from_state:EXITED tries:0",
            "PROCESS_STATE_RUNNING processname:flap groupname:flap from_state:STARTING pid:N",
        ]
    );
    // A start of what runs changes nothing and raises nothing; a stop:
    // STOPPING and STOPPED name the process stopped.
    let pid = sv.pid("stays").unwrap();
    sv.sv(&["start", "stays"]);
    assert_eq!(sv.sv(&["stop", "stays"]).code, 0);
    let want = [
        format!("processname:stays groupname:stays from_state:RUNNING pid:{pid}"),
        format!("processname:stays groupname:stays from_state:STOPPING pid:{pid}"),
    ];
    assert!(wait_until(10, || {
        let d = deliveries(&sv.work.path().join("record"));
        let got: Vec<&str> = d.iter().map(|x| x.payload.as_str()).collect();
        got.ends_with(&[want[0].as_str(), want[1].as_str()])
    }));
    let d = deliveries(&sv.work.path().join("record"));
    assert_eq!(
        per_process(&d, "stays").len(),
        4,
        "{:#?}",
        per_process(&d, "stays")
    );
    // The listener's own changes are raised to it too, as supervisord's.
    assert_eq!(
        per_process(&d, "rec")[..2],
        [
            "PROCESS_STATE_STARTING processname:rec groupname:rec from_state:STOPPED tries:0",
            "PROCESS_STATE_RUNNING processname:rec groupname:rec from_state:STARTING pid:N",
        ]
    );
    let pid = sv.pid("runs");
    let ran = d
        .iter()
        .find(|x| x.name() == "PROCESS_STATE_RUNNING" && x.payload.contains("runs"));
    assert!(pid.is_none() && ran.is_some());
    assert!(daemon_log(&sv).contains("rec: event was rejected"));
    sv.close();
}

#[test]
fn a_real_supervisord_records_the_same_payloads() {
    let Some(bin) = venv_program("supervisord") else {
        return;
    };
    let dir = TempDir::new("supervisord");
    let listener = write_script(dir.path(), "rec.sh", RECORDER);
    let record = dir.path().join("record");
    let d = dir.path().display();
    // supervisord's startretries counts one attempt more than sv's.
    let conf = format!(
        "[supervisord]\nnodaemon=true\nidentifier=svtest\nlogfile={d}/supervisord.log\n\
         pidfile={d}/supervisord.pid\nchildlogdir={d}\n\n{}",
        programs(&listener, &record, 1)
    );
    std::fs::write(dir.path().join("supervisord.conf"), conf).unwrap();
    let mut child = Command::new(bin)
        .arg("-c")
        .arg(dir.path().join("supervisord.conf"))
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn supervisord");
    let ok = wait_until(30, || settled(&deliveries(&record)));
    kill(child.id() as i32, libc::SIGTERM);
    let _ = child.wait();
    let real = deliveries(&record);
    assert!(ok, "supervisord did not settle: {real:#?}");
    let (mut sv, ours) = run_sv(2);
    for name in ["runs", "dies", "flap", "stays", "rec"] {
        let (a, b) = (per_process(&ours, name), per_process(&real, name));
        let n = a.len().min(b.len()).min(match name {
            "rec" | "stays" => 2,
            "flap" => 5,
            _ => 10,
        });
        assert_eq!(a[..n], b[..n], "{name}");
        assert!(n >= 2, "{name}: {a:?} {b:?}");
    }
    let head = |d: &[Delivery]| -> Vec<String> {
        d[..4]
            .iter()
            .map(|x| format!("{} {}", x.name(), x.payload))
            .collect()
    };
    assert_eq!(head(&ours), head(&real));
    sv.close();
}

#[test]
fn the_event_of_a_listener_that_dies_busy_comes_again() {
    let mut sv = Sv::new(N);
    // The first process reads its event and exits without an answer.
    let script = r#"#!/bin/sh
out=$1
printf 'READY\n'
IFS= read -r header || exit 0
printf '%s\n' "$header" >> "$out"
[ -e "$out.once" ] || { touch "$out.once"; exit 3; }
len=${header##*len:}
dd bs=1 count="$len" of=/dev/null 2>/dev/null
printf 'RESULT 2\nOK'
exec sleep 600
"#;
    let listener = write_script(sv.work.path(), "dies.sh", script);
    let record = sv.work.path().join("record");
    let conf = format!(
        "[eventlistener:once]\ncommand={} {}\nevents=SUPERVISOR_STATE_CHANGE_RUNNING\nstartsecs=0\n",
        listener.display(),
        record.display()
    );
    let cmd = sv.config_daemon(&conf);
    sv.launch(cmd);
    let lines = || std::fs::read_to_string(&record).unwrap_or_default();
    assert!(
        wait_until(20, || lines().lines().count() >= 2),
        "{}",
        lines()
    );
    let l: Vec<String> = lines().lines().map(str::to_string).collect();
    assert_eq!(l[0], l[1]);
    assert!(l[0].starts_with("ver:3.0 server:supervisor serial:0 pool:once poolserial:0 eventname:SUPERVISOR_STATE_CHANGE_RUNNING len:0"), "{l:?}");
    sv.close();
}

#[test]
fn garbage_and_a_listener_that_never_reads_leave_the_daemon_serving() {
    let mut sv = Sv::new(N);
    // One says READY, then floods garbage; one never says READY, so its
    // pool's queue of 2 overflows.
    let conf = "[eventlistener:flood]\ncommand=/bin/sh -c \"printf 'READY\\\\n'; exec yes garbage\"\n\
                events=PROCESS_STATE\nstartsecs=0\n\n\
                [eventlistener:stuck]\ncommand=/bin/sleep 600\nevents=PROCESS_STATE\nbuffer_size=2\nstartsecs=0\n\n\
                [program:p]\ncommand=/bin/sleep 600\nstartsecs=0\n";
    let cmd = sv.config_daemon(conf);
    sv.launch(cmd);
    let log = || daemon_log(&sv);
    assert!(
        wait_until(20, || log()
            .contains("flood: has entered the UNKNOWN state")),
        "{}",
        log()
    );
    assert!(
        wait_until(20, || log()
            .contains("pool stuck event buffer overflowed, discarding event 0")),
        "{}",
        log()
    );
    // The flood waits in its own pipe: the daemon sleeps (no TICK is
    // subscribed, so nothing wakes it).
    let daemon = sv.child.as_ref().unwrap().id() as i32;
    assert!(wait_until(10, || {
        let before = wakeups(daemon);
        std::thread::sleep(std::time::Duration::from_millis(500));
        wakeups(daemon) == before
    }));
    // Still serving, at once.
    let r = sv.sv(&["restart", "p"]);
    assert_eq!(r.code, 0, "{r:?}");
    sv.wait_state("p", "RUNNING", 10);
    sv.close();
}

#[test]
fn tick_5_comes_on_the_five_second_boundary() {
    let mut sv = Sv::new(N);
    let listener = write_script(sv.work.path(), "rec.sh", RECORDER);
    let record = sv.work.path().join("record");
    let conf = format!(
        "[eventlistener:ticks]\ncommand={} {}\nevents=TICK\nstartsecs=0\n",
        listener.display(),
        record.display()
    );
    let cmd = sv.config_daemon(&conf);
    sv.launch(cmd);
    assert!(wait_until(12, || !deliveries(&record).is_empty()));
    let d = deliveries(&record);
    assert_eq!(d[0].name(), "TICK_5");
    let when: u64 = d[0].payload.strip_prefix("when:").unwrap().parse().unwrap();
    assert_eq!(when % 5, 0, "{d:?}");
    sv.close();
}

#[test]
fn a_listener_taken_back_after_a_crash_is_restarted_and_gets_events() {
    let scripts = TempDir::new("listener");
    // Outlives the daemon's death (its stdin ends): sleeps on.
    let script = RECORDER.replace(
        "IFS= read -r header || exit 0",
        "IFS= read -r header || exec sleep 600",
    );
    let listener = write_script(scripts.path(), "rec.sh", &script);
    let record = scripts.path().join("record");
    let conf = format!(
        "[eventlistener:rec]\ncommand={} {}\nevents=SUPERVISOR_STATE_CHANGE_RUNNING\nstartsecs=0\n",
        listener.display(),
        record.display()
    );
    let mut c = crash_harness::Crashy::new(Some(&conf));
    let count = || deliveries(&record).len();
    assert!(wait_until(10, || count() == 1), "{}", c.log(1));
    let old = c.pid("rec");
    c.crash();
    assert!(alive(old), "the listener died with the daemon");
    c.boot();
    // The new daemon's RUNNING reaches a new process of it.
    assert!(wait_until(10, || count() == 2), "{}", c.log(2));
    let new = c.pid("rec");
    assert_ne!(old, new);
    assert!(wait_until(10, || !alive(old)));
    assert!(
        c.log(2)
            .contains("rec: an event listener taken back: restarted"),
        "{}",
        c.log(2)
    );
    c.close();
}

#[test]
fn xml_rpc_raises_remote_communication_and_group_events() {
    let Some(python) = venv_program("python") else {
        return;
    };
    let mut sv = Sv::new(N);
    let listener = write_script(sv.work.path(), "rec.sh", RECORDER);
    let record = sv.work.path().join("record");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let conf = format!(
        "[inet_http_server]\nport=127.0.0.1:{port}\n\n\
         [eventlistener:rec]\ncommand={} {}\nevents=REMOTE_COMMUNICATION,PROCESS_GROUP\nstartsecs=0\n\n\
         [program:extra]\ncommand=/bin/sleep 600\nautostart=false\n",
        listener.display(),
        record.display()
    );
    let cmd = sv.config_daemon(&conf);
    sv.launch(cmd);
    let script = format!(
        "import xmlrpc.client as x\n\
         s = x.ServerProxy('http://127.0.0.1:{port}/RPC2').supervisor\n\
         print(s.sendRemoteCommEvent('mytype', 'hello\\nworld'))\n\
         print(s.removeProcessGroup('extra'))\n\
         print(s.addProcessGroup('extra'))\n"
    );
    let out = Command::new(python).arg("-c").arg(script).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "True\nTrue\nTrue\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want = [
        ("PROCESS_GROUP_ADDED", "groupname:rec\n"),
        ("PROCESS_GROUP_ADDED", "groupname:extra\n"),
        ("REMOTE_COMMUNICATION", "type:mytype\nhello\nworld"),
        ("PROCESS_GROUP_REMOVED", "groupname:extra\n"),
        ("PROCESS_GROUP_ADDED", "groupname:extra\n"),
    ];
    assert!(wait_until(10, || deliveries(&record).len() >= want.len()));
    let d = deliveries(&record);
    let got: Vec<(&str, &str)> = d.iter().map(|x| (x.name(), x.payload.as_str())).collect();
    assert_eq!(got, want);
    assert_eq!(d[2].get("len"), "23");
    sv.close();
}
