//! SPEC §13: the limits of the HTTP server against one greedy request or
//! many idle clients: a multicall's calls and answer size, a connection
//! table per server, a deadline for a silent client, credentials checked
//! before a body is invited, cross-site requests refused, and a call left
//! behind by a client that went away forgotten.

mod common;

use common::http::*;
use common::*;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A `methodCall` of `method` with `params` (`<value>`s).
fn call_xml(method: &str, params: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?><methodCall><methodName>{method}</methodName>\
         <params>{params}</params></methodCall>"
    )
}

/// A `system.multicall` of `n` calls of `method` with `params`.
fn multicall_xml(n: usize, method: &str, params: &str) -> String {
    let one = format!(
        "<value><struct><member><name>methodName</name><value><string>{method}</string>\
         </value></member><member><name>params</name><value><array><data>{params}</data>\
         </array></value></member></struct></value>"
    );
    let all = one.repeat(n);
    call_xml(
        "system.multicall",
        &format!("<param><value><array><data>{all}</data></array></value></param>"),
    )
}

/// `POST /RPC2` of `xml` with extra header lines `more`: status and body.
fn post(conn: &mut dyn ReadWrite, xml: &str, more: &str) -> (u16, String) {
    let req = format!(
        "POST /RPC2 HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml\r\n{more}\
         Content-Length: {}\r\n\r\n{xml}",
        xml.len()
    );
    conn.write_all(req.as_bytes()).unwrap();
    let (status, _, body) = read_answer(conn);
    (status, String::from_utf8_lossy(&body).into_owned())
}

fn string(s: &str) -> String {
    format!("<value><string>{s}</string></value>")
}

const INT0: &str = "<value><int>0</int></value>";

#[test]
fn a_multicall_takes_1000_calls_at_most_and_stops_calling_past_12_mib() {
    let s = serve(
        "",
        "",
        "[program:big]\n\
         command=/bin/sh -c \"head -c 1048576 /dev/zero | tr -c x x; exec sleep 600\"\n\
         startsecs=0\nstdout_logfile_maxbytes=10MB\n",
        &[],
    );
    let mut t = s.tcp();
    // 1001 calls: refused whole, naming the limit.
    let (status, body) = post(&mut t, &multicall_xml(1001, "supervisor.getPID", ""), "");
    assert_eq!(status, 200);
    assert!(is_fault(body.as_bytes()), "{body}");
    assert!(
        body.contains("<int>2</int>"),
        "not INCORRECT_PARAMETERS: {body}"
    );
    assert!(body.contains("at most 1000"), "{body}");
    // 1000 are served.
    let (_, body) = post(&mut t, &multicall_xml(1000, "supervisor.getPID", ""), "");
    assert!(!is_fault(body.as_bytes()));
    assert_eq!(body.matches("<int>").count(), 1000);
    // 20 reads of a 1 MiB log: 12 are made, the rest are faults that say why.
    let log = log_path(&s.sv, "big", "stdout");
    let full = wait_until(20, || file_len(&log) >= 1 << 20);
    assert!(full, "the program never wrote its 1 MiB");
    let params = format!("{}{INT0}{INT0}", string("big"));
    let xml = multicall_xml(20, "supervisor.readProcessStdoutLog", &params);
    let (status, body) = post(&mut t, &xml, "");
    assert_eq!(status, 200);
    assert!(body.len() < 13 << 20, "an answer of {} bytes", body.len());
    assert_eq!(body.matches("not called").count(), 8, "{}", &body[..200]);
    assert!(body.contains("passed 12 MiB"));
    assert_eq!(body.matches(&"x".repeat(1 << 20)).count(), 12);
    assert_eq!(s.sv.sv(&["status"]).code, 0);
}

#[test]
fn a_multicall_is_one_line_of_the_daemons_log() {
    let s = serve("", "", "", &[]);
    let mut u = s.unix();
    let xml = multicall_xml(50, "supervisor.stopProcess", &string("nosuch"));
    let (status, body) = post(&mut u, &xml, "");
    assert_eq!(status, 200);
    assert_eq!(body.matches("BAD_NAME").count(), 50, "{body}");
    let err = daemon_err(&s.sv);
    let logged = wait_until(10, || {
        (lines_of(&err).iter()).any(|l| l.contains("system.multicall of 50 calls"))
    });
    assert!(logged, "{:?}", lines_of(&err));
    let per_call = (lines_of(&err).iter())
        .filter(|l| l.contains("supervisor.stopProcess(\"nosuch\")"))
        .count();
    assert_eq!(per_call, 0, "{:?}", lines_of(&err));
}

#[test]
fn idle_tcp_clients_cannot_lock_out_the_unix_socket() {
    let s = serve("", "", "", &[("SV_HTTP_TIMEOUT_MS", "60000")]);
    let held: Vec<TcpStream> = (0..256).map(|_| s.tcp()).collect();
    // The inet server is full: its next client gets 503 ...
    let mut extra = s.tcp();
    assert_eq!(read_answer(&mut extra).0, 503);
    // ... and the unix socket still serves.
    let mut u = s.unix();
    u.write_all(&rpc_request("")).unwrap();
    assert_eq!(read_answer(&mut u).0, 200);
    let ctl = s.sv.sv(&["status"]);
    assert_eq!(ctl.code, 0, "{ctl:?}");
    drop(held);
}

#[test]
fn a_connection_that_sends_nothing_is_closed_at_the_request_timeout() {
    let s = serve("", "", "", &[("SV_HTTP_TIMEOUT_MS", "1000")]);
    let mut t = s.tcp();
    let t0 = Instant::now();
    // The read timeout is 10 s; the keep-alive timeout, 60 s.
    assert!(closed(&mut t), "still open after {:?}", t0.elapsed());
    // After a request, the idle keep-alive connection stays.
    let mut t = s.tcp();
    t.write_all(&rpc_request("")).unwrap();
    assert_eq!(read_answer(&mut t).0, 200);
    t.set_read_timeout(Some(Duration::from_millis(2500)))
        .unwrap();
    let mut byte = [0u8; 1];
    let r = t.read(&mut byte);
    assert!(
        matches!(&r, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "{r:?}"
    );
}

#[test]
fn credentials_are_checked_before_the_body_is_invited_or_read() {
    let s = serve(
        "",
        "username=bob\npassword=secret",
        "",
        &[("SV_HTTP_TIMEOUT_MS", "60000")],
    );
    let head = |more: &str| {
        format!("POST /RPC2 HTTP/1.1\r\nContent-Length: 1000000\r\n{more}\r\n").into_bytes()
    };
    for more in ["Expect: 100-continue\r\n", ""] {
        let mut t = s.tcp();
        t.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        t.write_all(&head(more)).unwrap();
        let (status, _, _) = read_answer(&mut t);
        assert_eq!(status, 401, "{more:?}");
        assert!(closed(&mut t));
    }
    // The right ones are still invited to send the body.
    let mut t = s.tcp();
    t.write_all(&head(
        "Expect: 100-continue\r\nAuthorization: Basic Ym9iOnNlY3JldA==\r\n",
    ))
    .unwrap();
    assert_eq!(read_answer(&mut t).0, 100);
}

#[test]
fn a_request_from_another_web_page_is_refused() {
    let s = serve("", "", "", &[]);
    let xml = call_xml("supervisor.getPID", "");
    let ask = |origin: &str| {
        let mut t = s.tcp();
        post(&mut t, &xml, origin).0
    };
    assert_eq!(ask("Origin: http://evil.example\r\n"), 403);
    assert_eq!(
        ask(&format!("Origin: http://127.0.0.1:{}\r\n", s.port + 1)),
        403
    );
    assert_eq!(
        ask(&format!("Origin: http://127.0.0.1:{}\r\n", s.port)),
        200
    );
    assert_eq!(
        ask(&format!("Origin: http://localhost:{}\r\n", s.port)),
        200
    );
    assert_eq!(ask(""), 200);
}

#[test]
fn a_call_whose_client_went_away_is_forgotten_at_once() {
    let s = serve(
        "",
        "",
        "[program:slow]\ncommand=/bin/sleep 600\nautostart=false\nstartsecs=30\n",
        &[],
    );
    let mut u = s.unix();
    let xml = call_xml(
        "supervisor.startProcess",
        "<param><value><string>slow</string></value></param>",
    );
    let req = format!(
        "POST /RPC2 HTTP/1.1\r\nContent-Length: {}\r\n\r\n{xml}",
        xml.len()
    );
    u.write_all(req.as_bytes()).unwrap();
    let err = daemon_err(&s.sv);
    let has = |what: &str| lines_of(&err).iter().any(|l| l.contains(what));
    assert!(wait_until(10, || has("supervisor.startProcess(\"slow\")")));
    drop(u);
    let gone = "went away before the answer to supervisor.startProcess";
    assert!(wait_until(10, || has(gone)), "{:?}", lines_of(&err));
}

#[test]
fn a_server_that_cannot_listen_is_one_error_line_of_the_supervisord_applet() {
    let sv = Sv::new(0);
    let dir = sv.work.path();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    std::fs::write(
        dir.join("s.conf"),
        format!(
            "[supervisord]\nlogfile={0}/supervisord.log\npidfile={0}/supervisord.pid\n\
             [inet_http_server]\nport=127.0.0.1:{port}\n",
            dir.display()
        ),
    )
    .unwrap();
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let out = Command::new(applet_link(&bin, "supervisord"))
        .args(["-c", "s.conf", "-n"])
        .env("SV_RUNTIME_DIR", sv.runtime.path())
        .env("SV_INSTANCE", "0")
        .env_remove("SV_SYSLOG_SOCKET")
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let first = err.lines().find(|l| l.starts_with("Error:")).unwrap_or("");
    assert!(
        first.starts_with(&format!("Error: cannot listen on 127.0.0.1:{port}: ")),
        "{err}"
    );
    assert_ne!(out.status.code(), Some(0));
}
