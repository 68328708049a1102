//! Helpers of the HTTP server's tests (SPEC §13): a daemon serving both
//! servers on a free port, and a raw client's view of its answers.

use super::*;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

/// What the rpc stub (and any XML-RPC fault) answers: a methodResponse.
pub const RPC_BODY: &str = "<?xml version=\"1.0\"?><methodCall><methodName>supervisor.noSuchMethod\
</methodName><params></params></methodCall>";

/// A daemon serving HTTP on `work/http.sock` and 127.0.0.1:`port`.
pub struct Served {
    pub sv: Sv,
    pub port: u16,
}

impl Served {
    pub fn sock(&self) -> PathBuf {
        self.sv.work.path().join("http.sock")
    }

    pub fn unix(&self) -> UnixStream {
        let s = UnixStream::connect(self.sock()).expect("connect to the unix http socket");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s
    }

    pub fn tcp(&self) -> TcpStream {
        let s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to the inet server");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s
    }
}

/// A port free a moment ago (bound to 0, then closed).
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    l.local_addr().unwrap().port()
}

/// Starts a daemon with `extra` (programs, auth keys) after both server
/// sections; `unix_extra` and `inet_extra` go in those sections. Picks a
/// free port, and another if someone took it meanwhile.
pub fn serve(unix_extra: &str, inet_extra: &str, extra: &str, env: &[(&str, &str)]) -> Served {
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
pub fn read_answer(s: &mut (impl Read + ?Sized)) -> (u16, Vec<(String, String)>, Vec<u8>) {
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
    if status < 200 {
        return (status, headers, body);
    }
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

pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// `POST /RPC2` with extra header lines `more`.
pub fn rpc_request(more: &str) -> Vec<u8> {
    format!(
        "POST /RPC2 HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml\r\n{more}\
         Content-Length: {}\r\n\r\n{RPC_BODY}",
        RPC_BODY.len()
    )
    .into_bytes()
}

/// Whether the server closed `s` (reads the end of the stream).
pub fn closed(s: &mut (impl Read + ?Sized)) -> bool {
    let mut rest = Vec::new();
    matches!(s.read_to_end(&mut rest), Ok(0))
}

pub fn is_fault(body: &[u8]) -> bool {
    let b = String::from_utf8_lossy(body);
    b.contains("<methodResponse>") && b.contains("<fault>") && b.contains("faultCode")
}

/// A stream to write requests to and read answers from.
pub trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}
