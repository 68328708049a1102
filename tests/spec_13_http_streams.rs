//! SPEC §13: the log streams of the HTTP server, `/logtail/NAME[/stderr]`
//! and `/mainlogtail`, read by a raw client and by supervisorctl's own
//! `tail -f` client.

mod common;

use common::http::*;
use common::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

#[test]
fn logtail_streams_a_programs_new_output() {
    let prog = "[program:talk]\ncommand=/bin/sh -c 'i=0; while :; do i=$((i+1)); echo line$i; sleep 0.2; done'\n\
                [program:err]\ncommand=/bin/sh -c 'echo oops >&2; exec sleep 600'\n";
    let s = serve("", "", prog, &[]);
    s.sv.wait_state("talk", "RUNNING", 10);
    let mut t = s.tcp();
    t.write_all(b"GET /logtail/talk HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    // The head, then chunks that keep coming.
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(t.read(&mut byte).unwrap(), 1);
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("Transfer-Encoding: chunked"), "{head}");
    let mut seen = String::new();
    let mut buf = [0u8; 4096];
    let ok = wait_until(10, || {
        let n = t.read(&mut buf).unwrap_or(0);
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        // Five more lines than the first one seen: new output arrives.
        let nums: Vec<u32> = seen
            .split("line")
            .filter_map(|p| p.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok())
            .collect();
        nums.len() > 1 && nums.last() >= Some(&(nums[0] + 5))
    });
    assert!(ok, "{seen}");
    // Unknown names are 404; so is a stream with no log file.
    for path in ["/logtail/nope", "/logtail/talk/other", "/logtail/all"] {
        let mut u = s.unix();
        u.write_all(format!("GET {path} HTTP/1.1\r\n\r\n").as_bytes())
            .unwrap();
        assert_eq!(read_answer(&mut u).0, 404, "{path}");
    }
    // stderr, the name URL-encoded, through HTTP/1.0: plain bytes, then
    // the stream stays open.
    let mut u = s.unix();
    u.write_all(b"GET /logtail/%65rr/stderr HTTP/1.0\r\n\r\n")
        .unwrap();
    let mut got = String::new();
    let ok = wait_until(10, || {
        let n = u.read(&mut buf).unwrap_or(0);
        got.push_str(&String::from_utf8_lossy(&buf[..n]));
        got.contains("\r\n\r\noops\n")
    });
    assert!(ok, "{got}");
}

#[test]
fn mainlogtail_follows_the_daemons_log_file() {
    let s = serve("", "", "[program:a]\ncommand=sleep 600\n", &[]);
    // The daemon's log goes to no file here: 404.
    let mut t = s.tcp();
    t.write_all(b"GET /mainlogtail HTTP/1.1\r\n\r\n").unwrap();
    assert_eq!(read_answer(&mut t).0, 404);
    drop(s);
    // With --log FILE, what the daemon logs streams to the client.
    let port = free_port();
    let mut sv = Sv::new(0);
    let log = sv.work.path().join("d.log");
    let conf =
        format!("[inet_http_server]\nport=127.0.0.1:{port}\n[program:a]\ncommand=sleep 600\n");
    let mut cmd = sv.config_daemon(&conf);
    cmd.arg("--log").arg(&log);
    sv.launch(cmd);
    let mut t = TcpStream::connect(("127.0.0.1", port)).unwrap();
    t.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    t.write_all(b"GET /mainlogtail HTTP/1.1\r\n\r\n").unwrap();
    let mut got = String::new();
    let mut buf = [0u8; 4096];
    assert!(wait_until(10, || {
        let n = t.read(&mut buf).unwrap_or(0);
        got.push_str(&String::from_utf8_lossy(&buf[..n]));
        got.contains("\r\n\r\n")
    }));
    assert_eq!(sv.sv(&["stop", "a"]).code, 0);
    let ok = wait_until(10, || {
        let n = t.read(&mut buf).unwrap_or(0);
        got.push_str(&String::from_utf8_lossy(&buf[..n]));
        got.contains("request: stop a") && got.contains("a: STOPPING -> STOPPED")
    });
    assert!(ok, "{got}");
    sv.close();
}

/// supervisorctl's own `tail -f` client (supervisor.http_client), printing
/// what it is fed, with the server's credentials.
const TAILF: &str = "import sys\n\
from supervisor import http_client\n\
from supervisor.medusa import asyncore_25 as asyncore\n\
class L(http_client.Listener):\n\
\x20   def feed(self, url, data):\n\
\x20       sys.stdout.write(data.decode() if isinstance(data, bytes) else data)\n\
\x20       sys.stdout.flush()\n\
h = http_client.HTTPHandler(L(), sys.argv[2], sys.argv[3])\n\
h.get(sys.argv[1], '/logtail/talk')\n\
asyncore.loop()\n";

#[test]
fn supervisorctls_own_tail_client_reads_the_logtail_stream() {
    let prog = "[program:talk]\ncommand=/bin/sh -c 'i=0; while :; do i=$((i+1)); echo line$i; sleep 0.2; done'\n";
    let s = serve(
        "username=u\npassword=p",
        "username=u\npassword=p",
        prog,
        &[],
    );
    let Some(python) = common::python::venv_program("python") else {
        return;
    };
    s.sv.wait_state("talk", "RUNNING", 10);
    let unix_url = format!("unix://{}", s.sock().display());
    let inet_url = format!("http://127.0.0.1:{}", s.port);
    for url in [unix_url, inet_url] {
        let mut child = Command::new(&python)
            .args(["-c", TAILF, &url, "u", "p"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("run python");
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
        let mut seen = String::new();
        let ok = wait_until(15, || {
            while let Ok(chunk) = rx.try_recv() {
                seen.push_str(&String::from_utf8_lossy(&chunk));
            }
            let nums: Vec<u32> = seen
                .split("line")
                .filter_map(|p| p.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok())
                .collect();
            nums.len() > 1 && nums.last() >= Some(&(nums[0] + 3))
        });
        // Recorded pid: the client this test started.
        let _ = child.kill();
        let _ = child.wait();
        assert!(ok, "{url}: {seen:?}");
        // Only the log's lines: no chunk sizes, no headers.
        assert!(!seen.contains("HTTP/1.1"), "{seen:?}");
        assert!(
            seen.lines().skip(1).all(|l| l.starts_with("line")),
            "{seen:?}"
        );
    }
}

#[test]
fn a_stream_client_that_does_not_read_is_dropped_and_blocks_nobody() {
    // 8 MiB of output in one burst, once the test says so.
    let prog =
        "[program:burst]\ncommand=/bin/sh -c 'echo ready; while [ ! -e go ]; do sleep 0.05; done; \
                head -c 8388608 /dev/zero | tr \"\\0\" x; exec sleep 600'\n\
                directory=%(here)s\n";
    let s = serve("", "", prog, &[]);
    s.sv.wait_state("burst", "RUNNING", 10);
    assert!(wait_until(10, || s
        .sv
        .sv(&["tail", "burst"])
        .stdout
        .contains("ready")));
    let mut u = s.unix();
    u.write_all(b"GET /logtail/burst HTTP/1.1\r\n\r\n").unwrap();
    let mut head = [0u8; 15];
    u.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"HTTP/1.1 200 OK");
    std::fs::write(s.sv.work.path().join("go"), "").unwrap();
    // The daemon answers at once meanwhile, and drops the client once its
    // unread output passes the limit: what is left to read ends.
    assert_eq!(s.sv.sv(&["status"]).code, 0);
    let log = s.sv.work.path().join("daemon.err");
    let ok = wait_until(20, || {
        std::fs::read_to_string(&log).is_ok_and(|t| t.contains("output unread"))
    });
    assert!(ok, "{}", std::fs::read_to_string(&log).unwrap_or_default());
    let mut got = Vec::new();
    u.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    assert!(u.read_to_end(&mut got).is_ok(), "not closed");
    assert!(got.len() < 8 << 20, "all of it arrived: {}", got.len());
}
