//! SPEC §13/§16, what a new user's trial found: HEAD answered as GET
//! without a body, every 405 naming the methods allowed (`Allow`), and a
//! server without a password refusing a `Host` that names another site
//! (DNS rebinding) while supervisorctl's and xmlrpc.client's hosts work.

mod common;

use common::http::*;
use common::*;
use std::io::{Read, Write};
use std::process::Command;

/// Not started: nothing in the page or the JSON changes with time.
const PROG: &str = "[program:idle]\ncommand=sleep 600\nautostart=false\n";

/// The status line and headers of one answer, and nothing after them.
fn read_head(t: &mut impl Read) -> (u16, Vec<(String, String)>) {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        assert_eq!(t.read(&mut byte).expect("read a head"), 1, "closed early");
        buf.push(byte[0]);
    }
    let text = String::from_utf8(buf).unwrap();
    let mut lines = text.split("\r\n");
    let status = lines.next().unwrap()[9..12].parse().unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, headers)
}

fn request(method: &str, path: &str, host: &str) -> Vec<u8> {
    format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\n\r\n").into_bytes()
}

#[test]
fn head_answers_as_get_with_no_body() {
    let mut s = serve("", "", PROG, &[]);
    let host = format!("127.0.0.1:{}", s.port);
    for path in ["/", "/status.json", "/healthz", "/metrics"] {
        let mut t = s.tcp();
        // HEAD, then GET on the same connection: were the HEAD followed by
        // a body, the GET's status line would not come next.
        t.write_all(&request("HEAD", path, &host)).unwrap();
        let (status, head) = read_head(&mut t);
        assert_eq!(status, 200, "HEAD {path}: {head:?}");
        t.write_all(&request("GET", path, &host)).unwrap();
        let (status, get, body) = read_answer(&mut t);
        assert_eq!(status, 200, "GET {path} after HEAD: {get:?}");
        assert_eq!(header(&head, "content-type"), header(&get, "content-type"));
        if path == "/metrics" {
            // Its length needs a scan of /proc; HEAD does not start one.
            assert_eq!(header(&head, "content-length"), None, "{head:?}");
        } else {
            let len = body.len().to_string();
            assert_eq!(header(&head, "content-length"), Some(&*len), "{path}");
        }
    }
    s.sv.close();
}

#[test]
fn every_405_names_the_methods_allowed() {
    let mut s = serve("", "", PROG, &[]);
    let host = format!("localhost:{}", s.port);
    for (method, path, allow) in [
        ("POST", "/", "GET, HEAD"),
        ("DELETE", "/status.json", "GET, HEAD"),
        ("POST", "/healthz", "GET, HEAD"),
        ("PUT", "/metrics", "GET, HEAD"),
        ("GET", "/RPC2", "POST"),
        ("HEAD", "/RPC2", "POST"),
        ("GET", "/action", "POST"),
        ("POST", "/logtail/idle", "GET"),
    ] {
        let mut t = s.tcp();
        t.write_all(&request(method, path, &host)).unwrap();
        let (status, headers) = read_head(&mut t);
        assert_eq!(status, 405, "{method} {path}: {headers:?}");
        assert_eq!(header(&headers, "allow"), Some(allow), "{method} {path}");
        assert_eq!(header(&headers, "connection"), Some("close"));
    }
    s.sv.close();
}

/// The machine's name, as the daemon reads it.
fn hostname() -> String {
    let out = Command::new("hostname").output().expect("run hostname");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn a_foreign_host_is_refused_without_a_password() {
    let mut s = serve("", "", PROG, &[]);
    let port = s.port;
    let ask = |host: &str| {
        let mut t = s.tcp();
        t.write_all(&request("GET", "/status.json", host)).unwrap();
        read_answer(&mut t).0
    };
    let evil = format!("rebind.example:{port}");
    for path in ["/", "/status.json", "/metrics", "/healthz", "/logtail/idle"] {
        let mut t = s.tcp();
        t.write_all(&request("GET", path, &evil)).unwrap();
        let (status, _, body) = read_answer(&mut t);
        assert_eq!(status, 403, "{path}: {}", String::from_utf8_lossy(&body));
    }
    let logged = wait_until(10, || {
        let err = std::fs::read_to_string(s.sv.work.path().join("daemon.err")).unwrap_or_default();
        err.contains(&format!("Host \"{evil}\""))
    });
    assert!(logged, "the refusal names the Host seen");
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        "localhost".into(),
        format!("[::1]:{port}"),
        format!("{}:{port}", hostname()),
    ] {
        assert_eq!(ask(&host), 200, "Host: {host}");
    }
    // The unix server is out of a browser's reach: any Host.
    let mut u = s.unix();
    u.write_all(&request("GET", "/status.json", &evil)).unwrap();
    assert_eq!(read_answer(&mut u).0, 200);
    // Python's xmlrpc.client, by address and by localhost.
    for url in [
        format!("http://127.0.0.1:{port}/RPC2"),
        format!("http://localhost:{port}/RPC2"),
    ] {
        let out = Command::new("python3")
            .args(["-c", "import sys, xmlrpc.client as x; print(x.ServerProxy(sys.argv[1]).supervisor.getState()['statename'])"])
            .arg(&url)
            .output()
            .expect("run python3");
        let said = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            said.trim(),
            "RUNNING",
            "{url}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    s.sv.close();
}

#[test]
fn with_a_password_any_host_is_served() {
    let mut s = serve("", "username=ops\npassword=s3cret\n", PROG, &[]);
    let mut t = s.tcp();
    let req = format!(
        "GET /status.json HTTP/1.1\r\nHost: myname.example:{}\r\n\
         Authorization: Basic b3BzOnMzY3JldA==\r\n\r\n",
        s.port
    );
    t.write_all(req.as_bytes()).unwrap();
    assert_eq!(read_answer(&mut t).0, 200);
    s.sv.close();
}

/// The value of the first sample of `family` for service `name` whose
/// labels hold `more`.
fn sample(text: &str, family: &str, name: &str, more: &str) -> Option<f64> {
    let start = format!("{family}{{name=\"{name}\"");
    text.lines()
        .find(|l| l.starts_with(&start) && l.contains(more))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

#[test]
fn restarts_total_says_a_crash_loop_counts_in_exits_total() {
    let prog = "[program:crash]\ncommand=/bin/sh -c 'exit 3'\nstartsecs=5\nstartretries=50\n";
    let mut s = serve("", "", prog, &[]);
    let host = format!("127.0.0.1:{}", s.port);
    let scrape = || {
        let mut t = s.tcp();
        t.write_all(&request("GET", "/metrics", &host)).unwrap();
        String::from_utf8(read_answer(&mut t).2).unwrap()
    };
    let mut text = String::new();
    let looped = wait_until(20, || {
        text = scrape();
        let unexpected = "reason=\"unexpected\"";
        sample(&text, "sv_service_exits_total", "crash", unexpected).is_some_and(|n| n >= 2.0)
    });
    assert!(looped, "no crash loop seen: {text}");
    // Its retries are exits, not restarts, and the HELP says where to look.
    assert_eq!(
        sample(&text, "sv_service_restarts_total", "crash", ""),
        Some(0.0)
    );
    let help = (text.lines())
        .find(|l| l.starts_with("# HELP sv_service_restarts_total "))
        .unwrap();
    assert!(
        help.contains("sv_service_exits_total{reason=\"unexpected\"}"),
        "{help}"
    );
    assert!(help.contains("as sv status counts them"), "{help}");
    let status = s.sv.sv(&["status", "--json"]);
    assert!(status.ok().contains("\"restarts\":0"), "{}", status.ok());
    s.sv.close();
}

#[test]
fn a_fatal_program_keeps_healthz_503_until_removed_or_started() {
    let prog = "[program:ok]\ncommand=sleep 600\nstartsecs=0\n\
        [program:crash]\ncommand=/bin/sh -c 'exit 3'\nstartsecs=5\nstartretries=1\n";
    let mut s = serve("", "", prog, &[]);
    let host = format!("127.0.0.1:{}", s.port);
    let healthz = || {
        let mut t = s.tcp();
        t.write_all(&request("GET", "/healthz", &host)).unwrap();
        let (status, _, body) = read_answer(&mut t);
        (status, String::from_utf8(body).unwrap())
    };
    s.sv.wait_state("crash", "FATAL", 20);
    s.sv.wait_state("ok", "RUNNING", 20);
    let (status, body) = healthz();
    assert_eq!(status, 503);
    assert!(body.starts_with("crash FATAL"), "{body}");
    // `stop` has nothing to stop: the program still should run.
    let stop = s.sv.sv(&["stop", "crash"]);
    assert!(
        stop.stdout.contains("not running") || stop.stderr.contains("not running"),
        "{stop:?}"
    );
    assert_eq!(healthz().0, 503);
    // As the README says: removing it (or starting it, fixed) clears it.
    s.sv.sv(&["remove-service", "crash"]).ok();
    assert_eq!(healthz(), (200, "ok\n".to_string()));
    s.sv.close();
}

#[test]
fn a_fatal_program_taken_out_of_the_config_clears_healthz_at_reload() {
    let crash = "[program:crash]\ncommand=/bin/sh -c 'exit 3'\nstartsecs=5\nstartretries=1\n";
    let mut s = serve("", "", crash, &[]);
    let host = format!("127.0.0.1:{}", s.port);
    let healthz = || {
        let mut t = s.tcp();
        t.write_all(&request("GET", "/healthz", &host)).unwrap();
        read_answer(&mut t).0
    };
    s.sv.wait_state("crash", "FATAL", 20);
    assert_eq!(healthz(), 503);
    let path = s.sv.work.path().join("sv.conf");
    let conf = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, conf.replace(crash, "")).unwrap();
    s.sv.sv(&["reload"]).ok();
    assert_eq!(healthz(), 200);
    s.sv.close();
}
