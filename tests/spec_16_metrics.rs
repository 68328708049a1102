//! SPEC §16: `GET /metrics` and `GET /healthz` on the HTTP server of
//! section 13. The Prometheus client library's own parser
//! (`prometheus_client.parser`, from the tests' venv) judges the format;
//! its values are checked against `sv status --json`.

mod common;

use common::http::*;
use common::json::{parse_json, Json};
use common::python::venv_program;
use common::*;
use std::io::Write;
use std::process::Command;

const AUTH: &str = "username=ops\npassword=s3cret\n";
/// `ops:s3cret` in base64.
const BASIC: &str = "Authorization: Basic b3BzOnMzY3JldA==\r\n";

/// `GET path` on the inet server with extra header lines `more`.
fn get(s: &Served, path: &str, more: &str) -> (u16, Vec<(String, String)>, String) {
    let mut t = s.tcp();
    let req = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n{more}\r\n");
    t.write_all(req.as_bytes()).unwrap();
    let (status, headers, body) = read_answer(&mut t);
    (
        status,
        headers,
        String::from_utf8(body).expect("a UTF-8 body"),
    )
}

/// One sample as the parser gave it.
#[derive(Debug)]
struct Sample {
    kind: String,
    metric: String,
    name: String,
    group: String,
    instance: String,
    /// The other labels, `k=v` sorted, comma-joined.
    rest: String,
    value: f64,
}

/// Parses `text` with prometheus_client's parser; None (skipped) without
/// the venv. A text it refuses fails the test.
fn parse(text: &str, dir: &std::path::Path) -> Option<Vec<Sample>> {
    let python = venv_program("python")?;
    let file = dir.join("metrics.txt");
    std::fs::write(&file, text).unwrap();
    let script = "import sys\n\
        from prometheus_client.parser import text_string_to_metric_families\n\
        for fam in text_string_to_metric_families(open(sys.argv[1]).read()):\n\
        \x20   for s in fam.samples:\n\
        \x20       l = dict(s.labels)\n\
        \x20       head = [fam.type, s.name, l.pop('name', ''), l.pop('group', ''), l.pop('instance', '')]\n\
        \x20       rest = ','.join(k + '=' + v for k, v in sorted(l.items()))\n\
        \x20       print('\\t'.join(head + [rest, repr(float(s.value))]))\n";
    let out = Command::new(python)
        .arg("-c")
        .arg(script)
        .arg(&file)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "the parser refused /metrics: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = String::from_utf8(out.stdout).unwrap();
    Some(
        lines
            .lines()
            .map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                assert_eq!(f.len(), 7, "{l:?}");
                Sample {
                    kind: f[0].into(),
                    metric: f[1].into(),
                    name: f[2].into(),
                    group: f[3].into(),
                    instance: f[4].into(),
                    rest: f[5].into(),
                    value: f[6].parse().unwrap(),
                }
            })
            .collect(),
    )
}

fn value(samples: &[Sample], metric: &str, name: &str, rest: &str) -> Option<f64> {
    (samples.iter())
        .find(|s| s.metric == metric && s.name == name && s.rest == rest)
        .map(|s| s.value)
}

const PROGRAMS: &str = "\
[program:busy]
command=sh -c 'i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; exec sleep 1000'
startsecs=0

[program:sleeper]
command=sleep 1000
startsecs=0

[group:pool]
programs=sleeper

[program:family]
command=sh -c 'sleep 1000 & sleep 1000 & wait'
startsecs=0

[program:off]
command=sleep 1000
autostart=false

[program:bad]
command=/bin/false
startretries=1
";

#[test]
fn metrics_parse_with_prometheus_client_and_match_status() {
    let s = serve("", AUTH, PROGRAMS, &[]);
    // A name with a quote and a backslash: escaped in its label.
    let odd = "we\"ird\\x";
    let args = [
        "create-service",
        "-i",
        "0",
        "/bin/sleep",
        "--name",
        odd,
        "--",
        "1000",
    ];
    let r = s.sv.run(&args);
    assert_eq!(r.code, 0, "{r:?}");
    s.sv.wait_state("busy", "RUNNING", 20);
    s.sv.wait_state("bad", "FATAL", 20);
    // Both endpoints obey the server's basic auth.
    for path in ["/metrics", "/healthz"] {
        assert_eq!(get(&s, path, "").0, 401, "{path} without a password");
    }
    let (status, headers, _) = get(&s, "/metrics", "");
    assert_eq!(status, 401);
    assert!(header(&headers, "www-authenticate").is_some());
    let mut t = s.tcp();
    t.write_all(b"POST /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Basic b3BzOnMzY3JldA==\r\nContent-Length: 0\r\n\r\n")
        .unwrap();
    assert_eq!(read_answer(&mut t).0, 405);
    // Two scrapes pipelined on one connection: two whole answers, in turn
    // (the second waits for the first's walk of /proc).
    let mut t = s.tcp();
    let one = format!("GET /metrics HTTP/1.1\r\nHost: x\r\n{BASIC}\r\n");
    t.write_all(format!("{one}{one}").as_bytes()).unwrap();
    for _ in 0..2 {
        let (status, _, body) = read_answer(&mut t);
        assert_eq!(status, 200);
        assert!(String::from_utf8_lossy(&body).ends_with("\n"));
    }

    // The family's leader and its two children, one process group.
    s.sv.wait_state("family", "RUNNING", 20);
    let leader = s.sv.pid("family").expect("family's pid");
    assert!(
        wait_until(20, || children(leader).len() == 2),
        "no children"
    );
    let statm = std::fs::read_to_string(format!("/proc/{leader}/statm")).unwrap();
    let pages: f64 = statm.split(' ').nth(1).unwrap().parse().unwrap();
    let leader_rss = pages * 4096.0;
    // The busy loop's CPU shows once it has run a tick; the family's
    // memory is its three members'.
    let mut samples = Vec::new();
    let mut text = String::new();
    let burnt = wait_until(20, || {
        let (status, headers, body) = get(&s, "/metrics", BASIC);
        assert_eq!(status, 200, "{body}");
        let ctype = header(&headers, "content-type").unwrap_or_default();
        assert!(ctype.starts_with("text/plain; version=0.0.4"), "{ctype}");
        text = body;
        match parse(&text, s.sv.work.path()) {
            Some(got) => samples = got,
            None => return true,
        }
        let family = value(&samples, "sv_service_memory_rss_bytes", "family", "");
        value(&samples, "sv_service_cpu_seconds_total", "busy", "").is_some_and(|v| v > 0.0)
            && family.is_some_and(|v| v > leader_rss * 2.0)
    });
    if samples.is_empty() {
        return; // skipped: no venv
    }
    assert!(
        burnt,
        "busy's CPU or family's 3 members never showed:\n{text}"
    );

    let json = s.sv.sv(&["status", "--json"]);
    let Ok(Json::Arr(rows)) = parse_json(&json.stdout) else {
        panic!("status --json: {json:?}");
    };
    let states = [
        "STOPPED",
        "PENDING",
        "STARTING",
        "RUNNING",
        "BACKOFF",
        "STOPPING",
        "EXITED",
        "FATAL",
        "SUSPENDED",
    ];
    for row in &rows {
        let shown = row.str("name").unwrap();
        // status shows GROUP:NAME; the labels keep them apart.
        let (group, name) = shown.split_once(':').unwrap_or((shown, shown));
        let state = row.str("state").unwrap();
        for st in states {
            let want = if st == state { 1.0 } else { 0.0 };
            let got = value(&samples, "sv_service_state", name, &format!("state={st}"));
            assert_eq!(got, Some(want), "{name} state {st} (status says {state})");
        }
        let up = matches!(row.get("pid"), Some(Json::Num(p)) if *p > 0.0);
        let got_up = value(&samples, "sv_service_up", name, "");
        assert_eq!(got_up, Some(up as u8 as f64), "{name} up");
        assert_eq!(
            value(&samples, "sv_service_restarts_total", name, ""),
            row.num("restarts"),
            "{name} restarts"
        );
        let sample = samples.iter().find(|x| x.name == name).unwrap();
        assert_eq!(sample.group, if name == odd { odd } else { group });
        assert_eq!(sample.instance, "0");
        let started = value(&samples, "sv_service_start_time_seconds", name, "");
        assert_eq!(started.is_some(), up, "{name} start time");
    }
    assert_eq!(
        value(&samples, "sv_daemon_services", "", ""),
        Some(rows.len() as f64)
    );
    assert_eq!(value(&samples, "sv_service_ready", "busy", ""), Some(1.0));
    assert_eq!(value(&samples, "sv_service_ready", "bad", ""), Some(0.0));
    assert_eq!(
        value(&samples, "sv_service_healthy", "sleeper", ""),
        Some(1.0)
    );
    let rss = value(&samples, "sv_service_memory_rss_bytes", "sleeper", "");
    assert!(rss.is_some_and(|v| v > 0.0), "sleeper rss {rss:?}");
    assert_eq!(
        value(&samples, "sv_service_cpu_seconds_total", "off", ""),
        None
    );
    let unexpected = value(
        &samples,
        "sv_service_exits_total",
        "bad",
        "reason=unexpected",
    );
    assert!(
        unexpected.is_some_and(|v| v >= 1.0),
        "bad exits {unexpected:?}"
    );
    assert!(text.contains(r#"name="we\"ird\\x""#), "{text}");
    // Types as the format names them (counters lose `_total` in the family).
    let kind = |m: &str| {
        samples
            .iter()
            .find(|x| x.metric == m)
            .map(|x| x.kind.clone())
    };
    assert_eq!(
        kind("sv_service_restarts_total").as_deref(),
        Some("counter")
    );
    assert_eq!(kind("sv_service_state").as_deref(), Some("gauge"));
    assert!(value(&samples, "sv_daemon_start_time_seconds", "", "").is_some_and(|v| v > 1e9));
    assert!(value(&samples, "sv_daemon_cpu_seconds_total", "", "").is_some());
}

#[test]
fn healthz_is_ok_until_a_program_that_should_run_goes_fatal() {
    let work = TempDir::new("keep");
    let keep = work.path().join("keep");
    std::fs::write(&keep, "").unwrap();
    let programs = format!(
        "[program:web]\ncommand=sleep 1000\nstartsecs=0\n\n\
         [program:flaky]\ncommand=sh -c 'while [ -e {k} ]; do sleep 0.1; done; exit 3'\n\
         startsecs=1\nstartretries=1\n\n\
         [program:off]\ncommand=sleep 1000\nautostart=false\n\n\
         [program:once]\ncommand=true\nstartsecs=0\nautorestart=false\n",
        k = keep.display()
    );
    let s = serve("", "", &programs, &[]);
    s.sv.wait_state("once", "EXITED", 20);
    // Not started, a one-shot done, a program stopped by a command: none
    // should run, so none is reported.
    let mut last = (0, String::new());
    let ok = wait_until(20, || {
        let (status, _, body) = get(&s, "/healthz", "");
        last = (status, body);
        last.0 == 200
    });
    assert!(ok, "/healthz never 200: {last:?}");
    assert_eq!(last.1, "ok\n");
    assert_eq!(s.sv.sv(&["stop", "web"]).code, 0);
    let (status, _, body) = get(&s, "/healthz", "");
    assert_eq!((status, body.as_str()), (200, "ok\n"));

    std::fs::remove_file(&keep).unwrap();
    s.sv.wait_state("flaky", "FATAL", 30);
    let (status, headers, body) = get(&s, "/healthz", "");
    assert_eq!(status, 503, "{body}");
    assert_eq!(
        header(&headers, "connection"),
        None,
        "a probe keeps its connection"
    );
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(lines.len(), 1, "{body}");
    assert!(lines[0].starts_with("flaky FATAL"), "{body}");
    // Back up: ok again.
    std::fs::write(&keep, "").unwrap();
    assert_eq!(s.sv.sv(&["start", "flaky"]).code, 0);
    let (status, _, body) = get(&s, "/healthz", "");
    assert_eq!((status, body.as_str()), (200, "ok\n"));
}
