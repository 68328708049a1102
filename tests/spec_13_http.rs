//! SPEC §13: the HTTP server of `[unix_http_server]` and
//! `[inet_http_server]`, driven by raw clients (std's UnixStream and
//! TcpStream) and by Python's xmlrpc.client. The XML-RPC methods are not
//! judged here, only the transport: whatever `/RPC2` answers, it must
//! reach the client as an HTTP answer Python accepts.

mod common;

use common::*;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

/// What the rpc stub (and any XML-RPC fault) answers: a methodResponse.
const RPC_BODY: &str = "<?xml version=\"1.0\"?><methodCall><methodName>supervisor.noSuchMethod\
</methodName><params></params></methodCall>";

/// A daemon serving HTTP on `work/http.sock` and 127.0.0.1:`port`.
struct Served {
    sv: Sv,
    port: u16,
}

impl Served {
    fn sock(&self) -> PathBuf {
        self.sv.work.path().join("http.sock")
    }

    fn unix(&self) -> UnixStream {
        let s = UnixStream::connect(self.sock()).expect("connect to the unix http socket");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s
    }

    fn tcp(&self) -> TcpStream {
        let s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to the inet server");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s
    }
}

/// A port free a moment ago (bound to 0, then closed).
fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    l.local_addr().unwrap().port()
}

/// Starts a daemon with `extra` (programs, auth keys) after both server
/// sections; `unix_extra` and `inet_extra` go in those sections. Picks a
/// free port, and another if someone took it meanwhile.
fn serve(unix_extra: &str, inet_extra: &str, extra: &str, env: &[(&str, &str)]) -> Served {
    for _ in 0..5 {
        let port = free_port();
        let mut sv = Sv::new(0);
        let conf = format!(
            "[unix_http_server]\nfile=%(here)s/http.sock\n{unix_extra}\n\
             [inet_http_server]\nport=127.0.0.1:{port}\n{inet_extra}\n{extra}"
        );
        let mut child = sv
            .config_daemon_env(&conf, env)
            .spawn()
            .expect("spawn the daemon");
        let up = wait_until(10, || {
            matches!(child.try_wait(), Ok(Some(_))) || sv.sv(&["status"]).code == 0
        });
        assert!(up, "the daemon neither started nor failed");
        if let Ok(Some(_)) = child.try_wait() {
            let err = std::fs::read_to_string(sv.work.path().join("daemon.err")).unwrap();
            assert!(err.contains("in use"), "the daemon failed: {err}");
            sv.close();
            continue;
        }
        sv.child = Some(child);
        return Served { sv, port };
    }
    panic!("no free port in five tries");
}

/// One answer read from `s`: status, headers (names lowercased), body
/// (by Content-Length; up to the end without one).
fn read_answer(s: &mut (impl Read + ?Sized)) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        let n = s.read(&mut byte).expect("read an answer");
        assert!(
            n == 1,
            "closed before a whole head: {:?}",
            String::from_utf8_lossy(&buf)
        );
        buf.push(byte[0]);
    }
    let head = String::from_utf8(buf).unwrap();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (n, v) = l.split_once(':').unwrap();
            (n.to_ascii_lowercase(), v.trim().to_string())
        })
        .collect();
    let len = header(&headers, "content-length").map(|v| v.parse::<usize>().unwrap());
    let mut body = Vec::new();
    match len {
        Some(n) => {
            body.resize(n, 0);
            s.read_exact(&mut body).expect("read the body");
        }
        None => {
            let _ = s.read_to_end(&mut body);
        }
    }
    (status, headers, body)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// `POST /RPC2` with extra header lines `more`.
fn rpc_request(more: &str) -> Vec<u8> {
    format!(
        "POST /RPC2 HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml\r\n{more}\
         Content-Length: {}\r\n\r\n{RPC_BODY}",
        RPC_BODY.len()
    )
    .into_bytes()
}

/// Whether the server closed `s` (reads the end of the stream).
fn closed(s: &mut (impl Read + ?Sized)) -> bool {
    let mut rest = Vec::new();
    matches!(s.read_to_end(&mut rest), Ok(0))
}

fn is_fault(body: &[u8]) -> bool {
    let b = String::from_utf8_lossy(body);
    b.contains("<methodResponse>") && b.contains("<fault>") && b.contains("faultCode")
}

#[test]
fn both_servers_answer_rpc2_and_keep_the_connection_alive() {
    let s = serve("", "", "", &[]);
    let mut u = s.unix();
    let mut t = s.tcp();
    for conn in [&mut u as &mut dyn ReadWrite, &mut t] {
        // Two requests on one connection, the second sent after the first answer.
        for _ in 0..2 {
            conn.write_all(&rpc_request("")).unwrap();
            let (status, headers, body) = read_answer(conn);
            assert_eq!(status, 200);
            assert_eq!(header(&headers, "content-type"), Some("text/xml"));
            assert!(is_fault(&body), "{}", String::from_utf8_lossy(&body));
            assert_eq!(header(&headers, "connection"), None);
        }
    }
    // Pipelined: two requests in one write, two answers in order.
    let mut both = rpc_request("");
    both.extend(rpc_request("Connection: close\r\n"));
    t.write_all(&both).unwrap();
    assert_eq!(read_answer(&mut t).0, 200);
    let (status, headers, _) = read_answer(&mut t);
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "connection"), Some("close"));
    assert!(closed(&mut t), "Connection: close leaves it open");
    // HTTP/1.0 without keep-alive: one answer, then closed.
    let req = String::from_utf8(rpc_request(""))
        .unwrap()
        .replace("HTTP/1.1", "HTTP/1.0");
    u.write_all(req.as_bytes()).unwrap();
    assert_eq!(read_answer(&mut u).0, 200);
    assert!(closed(&mut u), "an HTTP/1.0 connection stays open");
}

/// A stream to write requests to and read answers from.
trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

#[test]
fn bad_requests_get_their_status_and_a_closed_connection() {
    let s = serve("", "", "", &[]);
    let mut big = b"GET / HTTP/1.1\r\nX-Big: ".to_vec();
    big.resize(9 * 1024, b'a');
    big.extend_from_slice(b"\r\n\r\n");
    let cases: [(&[u8], u16); 6] = [
        (&big, 431),
        (
            b"POST /RPC2 HTTP/1.1\r\nContent-Length: 2000000\r\n\r\n",
            413,
        ),
        (b"HELLO THERE\r\n\r\n", 400),
        (b"GET /RPC2 HTTP/1.1\r\n\r\n", 405),
        (b"GET /nothing HTTP/1.1\r\n\r\n", 404),
        (
            b"POST /RPC2 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            411,
        ),
    ];
    for (req, want) in cases {
        let mut t = s.tcp();
        t.write_all(req).unwrap();
        let (status, headers, body) = read_answer(&mut t);
        assert_eq!(status, want, "{}", String::from_utf8_lossy(&body));
        assert_eq!(header(&headers, "connection"), Some("close"));
        assert!(closed(&mut t), "still open after a {want}");
    }
    // The daemon is unharmed.
    assert_eq!(s.sv.sv(&["status"]).code, 0);
}

#[test]
fn a_stalled_client_does_not_stop_the_daemon_and_times_out() {
    let s = serve("", "", "", &[("SV_HTTP_TIMEOUT_MS", "1000")]);
    let mut stalled = s.tcp();
    stalled
        .write_all(b"POST /RPC2 HTTP/1.1\r\nContent-Le")
        .unwrap();
    let mut half_body = s.unix();
    half_body
        .write_all(b"POST /RPC2 HTTP/1.1\r\nContent-Length: 100\r\n\r\n<?xml")
        .unwrap();
    // Others are served at once meanwhile.
    let t0 = Instant::now();
    assert_eq!(s.sv.sv(&["status"]).code, 0);
    let mut other = s.tcp();
    other.write_all(&rpc_request("")).unwrap();
    assert_eq!(read_answer(&mut other).0, 200);
    assert!(
        t0.elapsed() < Duration::from_millis(900),
        "{:?}",
        t0.elapsed()
    );
    // At the timeout: 408, then closed.
    for conn in [&mut stalled as &mut dyn ReadWrite, &mut half_body] {
        let (status, _, _) = read_answer(conn);
        assert_eq!(status, 408);
        assert!(closed(conn));
    }
}

/// `Authorization: Basic` of `user:pass`.
fn basic(user_pass: &str) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b = user_pass.as_bytes();
    let mut out = String::new();
    for c in b.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    format!("Authorization: Basic {out}\r\n")
}

#[test]
fn basic_auth_with_plain_and_sha_passwords() {
    // sha1("secret") = e5e9fa1ba31ecd1ae84f75caaa474f3a663f05f4
    let s = serve(
        "username=alice\npassword=secret",
        "username=bob\npassword={SHA}e5e9fa1ba31ecd1ae84f75caaa474f3a663f05f4",
        "",
        &[],
    );
    let ask = |conn: &mut dyn ReadWrite, auth: &str| {
        conn.write_all(&rpc_request(auth)).unwrap();
        read_answer(conn)
    };
    for (user, good) in [("alice", true), ("bob", false)] {
        let fresh = |s: &Served| -> Box<dyn ReadWrite> {
            if good {
                Box::new(s.unix())
            } else {
                Box::new(s.tcp())
            }
        };
        let (status, headers, _) = ask(&mut *fresh(&s), "");
        assert_eq!(status, 401, "{user}: no credentials");
        assert_eq!(
            header(&headers, "www-authenticate"),
            Some("Basic realm=\"default\"")
        );
        let wrong = basic(&format!("{user}:guess"));
        assert_eq!(
            ask(&mut *fresh(&s), &wrong).0,
            401,
            "{user}: wrong password"
        );
        let right = basic(&format!("{user}:secret"));
        let (status, _, body) = ask(&mut *fresh(&s), &right);
        assert_eq!(status, 200, "{user}: right password");
        assert!(is_fault(&body));
    }
}

#[test]
fn the_unix_socket_has_its_mode_replaces_a_stale_one_and_is_removed_at_exit() {
    // A stale socket file where the server's goes: nobody listens on it.
    let mut sv = Sv::new(0);
    let sock = sv.work.path().join("http.sock");
    drop(UnixListener::bind(&sock).unwrap());
    assert!(std::fs::metadata(&sock).unwrap().file_type().is_socket());
    let port = free_port();
    let conf = format!(
        "[unix_http_server]\nfile=%(here)s/http.sock\nchmod=0660\n\
         [inet_http_server]\nport=127.0.0.1:{port}\n\
         [program:env]\ncommand=/bin/sh -c 'echo \"url=$SUPERVISOR_SERVER_URL\"; exec sleep 600'\n"
    );
    let cmd = sv.config_daemon(&conf);
    sv.launch(cmd);
    let mode = std::fs::metadata(&sock).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o660);
    let mut u = UnixStream::connect(&sock).expect("the new socket answers");
    u.write_all(&rpc_request("")).unwrap();
    assert_eq!(read_answer(&mut u).0, 200);
    // Children are told where the server is: the unix socket first.
    let want = format!("url=unix://{}", sock.display());
    let ok = wait_until(10, || sv.sv(&["tail", "env"]).stdout.contains(&want));
    assert!(ok, "{:?}", sv.sv(&["tail", "env"]));
    sv.close();
    assert!(!sock.exists(), "the socket file outlived the daemon");
}

#[test]
fn a_socket_path_in_use_or_not_a_socket_is_refused_by_name() {
    let sv = Sv::new(0);
    let path = sv.work.path().join("taken.sock");
    let _live = UnixListener::bind(&path).unwrap();
    let conf = "[unix_http_server]\nfile=%(here)s/taken.sock\n";
    let out = sv.config_daemon(conf).output().unwrap();
    assert_ne!(out.status.code(), Some(0));
    let err = std::fs::read_to_string(sv.work.path().join("daemon.err")).unwrap();
    assert!(
        err.contains(&format!("cannot listen on {}", path.display())),
        "{err}"
    );
    let file = sv.work.path().join("plain");
    std::fs::write(&file, "x").unwrap();
    let out = sv
        .config_daemon("[unix_http_server]\nfile=%(here)s/plain\n")
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
    let err = std::fs::read_to_string(sv.work.path().join("daemon.err")).unwrap();
    assert!(err.contains("is not a socket"), "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "x");
}

#[test]
fn logtail_streams_a_programs_new_output() {
    let prog = "[program:talk]\ncommand=/bin/sh -c 'i=0; while :; do i=$((i+1)); echo line$i; sleep 0.2; done'\n\
                [program:err]\ncommand=/bin/sh -c 'echo oops >&2; exec sleep 600'\n";
    let s = serve("", "", prog, &[]);
    s.sv.wait_state("talk", "RUNNING", 10);
    let mut t = s.tcp();
    t.write_all(b"GET /logtail/talk HTTP/1.1\r\nHost: x\r\n\r\n")
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

#[test]
fn pythons_xmlrpc_client_gets_the_answer_as_a_fault() {
    let s = serve("", "", "", &[]);
    let script = format!(
        "import xmlrpc.client\n\
         p = xmlrpc.client.ServerProxy('http://127.0.0.1:{}/RPC2')\n\
         for i in range(2):\n\
         \x20   try:\n\
         \x20       p.supervisor.noSuchMethod()\n\
         \x20       print('no fault')\n\
         \x20   except xmlrpc.client.Fault as f:\n\
         \x20       print('fault', f.faultCode)\n",
        s.port
    );
    let out = match Command::new("python3").arg("-c").arg(&script).output() {
        Ok(o) => o,
        Err(e) => return skip(&format!("python3 cannot be run: {e}")),
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(lines.iter().all(|l| l.starts_with("fault ")), "{stdout}");
}

#[test]
fn with_both_servers_and_nobody_connected_the_daemon_does_not_wake() {
    let s = serve("", "", "", &[]);
    // One client comes and goes: its connection leaves no timer behind.
    let mut t = s.tcp();
    t.write_all(&rpc_request("Connection: close\r\n")).unwrap();
    read_answer(&mut t);
    assert!(closed(&mut t));
    let pid = s.sv.child.as_ref().unwrap().id() as i32;
    assert!(wait_until(10, || {
        let before = wakeups(pid);
        std::thread::sleep(Duration::from_millis(1500));
        wakeups(pid) == before
    }));
}

/// How many times the daemon went to sleep and woke (voluntary switches).
fn wakeups(pid: i32) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap()
}

#[test]
fn an_inet_server_open_to_the_network_without_a_password_is_warned_about() {
    let mut sv = Sv::new(0);
    let port = free_port();
    let cmd = sv.config_daemon(&format!("[inet_http_server]\nport=*:{port}\n"));
    sv.launch(cmd);
    let err = std::fs::read_to_string(sv.work.path().join("daemon.err")).unwrap();
    assert!(
        err.contains(&format!(
            "0.0.0.0:{port} is open to the network with no password"
        )),
        "{err}"
    );
    sv.close();
    // On loopback, or with a password, no warning.
    let mut sv = Sv::new(0);
    let cmd = sv.config_daemon(&format!(
        "[inet_http_server]\nport=*:{port}\nusername=u\npassword=p\n"
    ));
    sv.launch(cmd);
    let err = std::fs::read_to_string(sv.work.path().join("daemon.err")).unwrap();
    assert!(!err.contains("no password"), "{err}");
}

#[test]
fn past_the_connection_cap_a_newcomer_gets_503() {
    let s = serve("", "", "", &[]);
    // 256 connections at once, each proved accepted by an answer.
    let mut held: Vec<UnixStream> = (0..256).map(|_| s.unix()).collect();
    for c in held.iter_mut() {
        c.write_all(&rpc_request("")).unwrap();
        assert_eq!(read_answer(c).0, 200);
    }
    let mut extra = s.unix();
    let (status, _, _) = read_answer(&mut extra);
    assert_eq!(status, 503);
    assert!(closed(&mut extra));
    // One leaves: there is room again.
    drop(held.pop());
    let ok = wait_until(10, || {
        let mut c = s.unix();
        c.write_all(&rpc_request("")).is_ok() && read_answer(&mut c).0 == 200
    });
    assert!(ok);
    assert_eq!(s.sv.sv(&["status"]).code, 0);
}
