//! HTTP/1.1 to supervisord's server, over a unix socket (`unix:///path`) or
//! TCP (`http://host:port`), as supervisor's `SupervisorTransport` speaks
//! it: `POST /RPC2` with basic auth when both a username and a password are
//! set, and `GET /logtail/...` streams for `tail -f`. One connection per
//! request (`Connection: close`); an answer is read by Content-Length,
//! chunked, or to the end of the connection, whichever the server sends.

use super::super::shell::interrupt;
use crate::wire::xmlrpc::{self, Fault, Value};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::time::Duration;

/// A server that does not accept within this long is not there.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// A request is small; a server that takes longer to read it is stuck.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// `start` and `stop` answer only once the process has settled (startsecs,
/// stopwaitsecs, server side), so an answer may come late; supervisorctl
/// waits forever, this waits an hour.
const READ_TIMEOUT: Duration = Duration::from_secs(3600);
/// The head of an answer (status line and headers).
const MAX_HEAD: usize = 64 * 1024;
/// An answer's body: `getAllProcessInfo` of many thousands of processes
/// fits with room to spare.
const MAX_BODY: usize = 256 * 1024 * 1024;

/// Where the server is, from its URL.
#[derive(Debug, Clone, PartialEq)]
pub enum Addr {
    Unix(String),
    Tcp(String, u16),
}

/// Why a request has no answer.
#[derive(Debug)]
pub enum Error {
    /// The connect or a read or write failed: the OS's error.
    Os(io::Error),
    /// The server answered with this status (and reason) instead of 200.
    Status(u16, String),
    /// The answer is not HTTP or not XML-RPC.
    Bad(String),
    /// The URL is neither `unix://` nor `http://`.
    Protocol(String),
    /// The method failed: supervisord's fault.
    Fault(Fault),
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Error {
        Error::Os(e)
    }
}

/// The server's address, as `SupervisorTransport` reads its URL.
pub fn addr(url: &str) -> Result<Addr, Error> {
    if let Some(path) = url.strip_prefix("unix://") {
        return Ok(Addr::Unix(path.to_string()));
    }
    let Some(rest) = url.strip_prefix("http://") else {
        return Err(Error::Protocol(url.to_string()));
    };
    let hostport = rest.split(['/', '?', '#']).next().unwrap_or("");
    let hostport = hostport.rsplit('@').next().unwrap_or("");
    let (host, port) = match hostport.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((h, p)) => (h, p.strip_prefix(':').unwrap_or("")),
            None => return Err(Error::Bad(format!("bad IPv6 address in {url}"))),
        },
        None => match hostport.rsplit_once(':') {
            Some((h, p)) => (h, p),
            None => (hostport, ""),
        },
    };
    let port = match port {
        "" => 80,
        p => p
            .parse()
            .map_err(|_| Error::Bad(format!("Port could not be cast to integer value as '{p}'")))?,
    };
    Ok(Addr::Tcp(host.to_ascii_lowercase(), port))
}

/// A connected stream of either kind.
enum Stream {
    Unix(UnixStream),
    Tcp(TcpStream),
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Unix(s) => s.read(buf),
            Stream::Tcp(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Unix(s) => s.write(buf),
            Stream::Tcp(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// How to reach the server and who we are.
#[derive(Debug, Clone)]
pub struct Server {
    pub url: String,
    /// `Authorization` header value, when both username and password are set.
    auth: Option<String>,
}

impl Server {
    pub fn new(url: &str, username: Option<&str>, password: Option<&str>) -> Server {
        let auth = match (username, password) {
            (Some(u), Some(p)) => Some(format!("Basic {}", base64(format!("{u}:{p}").as_bytes()))),
            _ => None,
        };
        Server {
            url: url.to_string(),
            auth,
        }
    }

    fn connect(&self) -> Result<(Stream, String), Error> {
        let stream = match addr(&self.url)? {
            Addr::Unix(path) => {
                let s = UnixStream::connect(&path)?;
                s.set_read_timeout(Some(READ_TIMEOUT))?;
                s.set_write_timeout(Some(WRITE_TIMEOUT))?;
                (Stream::Unix(s), "localhost".to_string())
            }
            Addr::Tcp(host, port) => {
                let mut last = None;
                let mut found = None;
                for a in (host.as_str(), port).to_socket_addrs()? {
                    match TcpStream::connect_timeout(&a, CONNECT_TIMEOUT) {
                        Ok(s) => {
                            found = Some(s);
                            break;
                        }
                        Err(e) => last = Some(e),
                    }
                }
                let s = match (found, last) {
                    (Some(s), _) => s,
                    (None, Some(e)) => return Err(e.into()),
                    (None, None) => return Err(Error::Bad(format!("{host} has no address"))),
                };
                s.set_read_timeout(Some(READ_TIMEOUT))?;
                s.set_write_timeout(Some(WRITE_TIMEOUT))?;
                let _ = s.set_nodelay(true);
                (Stream::Tcp(s), format!("{host}:{port}"))
            }
        };
        Ok(stream)
    }

    /// Calls `method` and returns its value; a fault is [`Error::Fault`].
    pub fn call(&self, method: &str, params: &[Value]) -> Result<Value, Error> {
        let body = xmlrpc::call(method, params);
        let (mut stream, host) = self.connect()?;
        // Ctrl-C at the prompt of a terminal ends a call that is waiting
        // (a start waits startsecs), as it ends supervisorctl's shell.
        interrupt::watch(match &stream {
            Stream::Unix(s) => s.as_raw_fd(),
            Stream::Tcp(s) => s.as_raw_fd(),
        });
        let mut head = format!(
            "POST /RPC2 HTTP/1.1\r\nHost: {host}\r\nUser-Agent: sv-supervisorctl\r\nContent-Type: text/xml\r\nAccept: text/xml\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        );
        self.finish_head(&mut head);
        stream.write_all(head.as_bytes())?;
        stream.write_all(&body)?;
        let mut reader = BufReader::new(stream);
        let framing = read_head(&mut reader)?;
        let mut answer = Vec::new();
        read_body(&mut reader, framing, &mut |b| {
            if answer.len() + b.len() > MAX_BODY {
                return Err(Error::Bad(format!(
                    "an answer larger than {MAX_BODY} bytes"
                )));
            }
            answer.extend_from_slice(b);
            Ok(())
        })?;
        match xmlrpc::parse_response(&answer) {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(f)) => Err(Error::Fault(f)),
            Err(e) => Err(Error::Bad(e.to_string())),
        }
    }

    /// GETs `path` and hands each piece of the body to `feed` as it comes,
    /// until the server ends it, a read fails (Ctrl-C shuts the socket's
    /// reading down, see `shell::interrupt::watch`) or `feed` fails (our
    /// stdout is gone). `connected` is given the socket first, for whoever
    /// must end the stream from elsewhere (Ctrl-C, the end of `fg`). No
    /// read timeout: a quiet program's log is quiet for as long as it likes.
    pub fn stream(
        &self,
        path: &str,
        feed: &mut dyn FnMut(&[u8]) -> io::Result<()>,
        connected: &mut dyn FnMut(RawFd),
    ) -> Result<(), Error> {
        let (mut stream, host) = self.connect()?;
        connected(match &stream {
            Stream::Unix(s) => {
                s.set_read_timeout(None)?;
                s.as_raw_fd()
            }
            Stream::Tcp(s) => {
                s.set_read_timeout(None)?;
                s.as_raw_fd()
            }
        });
        let mut head = format!(
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept-Encoding: chunked\r\nAccept: */*\r\nUser-agent: sv-supervisorctl\r\n"
        );
        self.finish_head(&mut head);
        stream.write_all(head.as_bytes())?;
        let mut reader = BufReader::new(stream);
        let framing = read_head(&mut reader)?;
        read_body(&mut reader, framing, &mut |b| Ok(feed(b)?))
    }

    fn finish_head(&self, head: &mut String) {
        if let Some(a) = &self.auth {
            head.push_str("Authorization: ");
            head.push_str(a);
            head.push_str("\r\n");
        }
        head.push_str("\r\n");
    }
}

/// How the body of an answer is delimited.
#[derive(Debug, PartialEq)]
enum Framing {
    Length(usize),
    Chunked,
    Close,
}

/// One line of the head, without its CRLF; `budget` bounds the head.
fn head_line(r: &mut impl BufRead, budget: &mut usize) -> Result<String, Error> {
    let mut line = Vec::new();
    let n = r.take(*budget as u64 + 1).read_until(b'\n', &mut line)?;
    if n == 0 {
        return Err(Error::Bad(
            "the server closed the connection without answering".into(),
        ));
    }
    if n > *budget {
        return Err(Error::Bad(format!(
            "an answer head larger than {MAX_HEAD} bytes"
        )));
    }
    *budget -= n;
    while line.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        line.pop();
    }
    Ok(String::from_utf8_lossy(&line).into_owned())
}

/// Reads the status line and headers; a status other than 200 is
/// [`Error::Status`].
fn read_head(r: &mut impl BufRead) -> Result<Framing, Error> {
    let mut budget = MAX_HEAD;
    let status = head_line(r, &mut budget)?;
    let mut parts = status.splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    let code = parts.next().and_then(|c| c.parse::<u16>().ok());
    let reason = parts.next().unwrap_or("").to_string();
    let Some(code) = code.filter(|_| version.starts_with("HTTP/")) else {
        return Err(Error::Bad(format!("not an HTTP answer: {status:.80}")));
    };
    let mut framing = Framing::Close;
    loop {
        let line = head_line(r, &mut budget)?;
        if line.is_empty() {
            break;
        }
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") && framing == Framing::Close {
            let n = value
                .parse()
                .map_err(|_| Error::Bad(format!("bad Content-Length: {value:.40}")))?;
            framing = Framing::Length(n);
        } else if name.eq_ignore_ascii_case("transfer-encoding")
            && value.to_ascii_lowercase().contains("chunked")
        {
            framing = Framing::Chunked;
        }
    }
    if code != 200 {
        return Err(Error::Status(code, reason));
    }
    Ok(framing)
}

fn read_body(
    r: &mut impl BufRead,
    framing: Framing,
    feed: &mut dyn FnMut(&[u8]) -> Result<(), Error>,
) -> Result<(), Error> {
    let mut buf = vec![0u8; 16 * 1024];
    match framing {
        Framing::Length(mut left) => {
            while left > 0 {
                let want = left.min(buf.len());
                let n = r.read(&mut buf[..want])?;
                if n == 0 {
                    return Err(Error::Bad(
                        "the server closed the connection mid-answer".into(),
                    ));
                }
                feed(&buf[..n])?;
                left -= n;
            }
        }
        Framing::Close => loop {
            let n = r.read(&mut buf)?;
            if n == 0 {
                break;
            }
            feed(&buf[..n])?;
        },
        Framing::Chunked => loop {
            let mut budget = MAX_HEAD;
            let line = head_line(r, &mut budget)?;
            let size = line.split([';', ' ']).next().unwrap_or("");
            let mut left = usize::from_str_radix(size, 16)
                .map_err(|_| Error::Bad(format!("bad chunk size: {line:.40}")))?;
            if left == 0 {
                // Trailers, up to the empty line (or the end).
                while !matches!(head_line(r, &mut budget).as_deref(), Ok("") | Err(_)) {}
                break;
            }
            while left > 0 {
                let want = left.min(buf.len());
                let n = r.read(&mut buf[..want])?;
                if n == 0 {
                    return Err(Error::Bad(
                        "the server closed the connection mid-chunk".into(),
                    ));
                }
                feed(&buf[..n])?;
                left -= n;
            }
            let mut crlf = Vec::new();
            r.take(2).read_to_end(&mut crlf)?;
        },
    }
    Ok(())
}

/// Standard base64 with padding, for the basic auth header.
fn base64(data: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_pads_as_python() {
        assert_eq!(base64(b"user:123"), "dXNlcjoxMjM=");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"abc"), "YWJj");
        assert_eq!(base64(b""), "");
    }

    #[test]
    fn urls_give_addresses() {
        assert_eq!(
            addr("unix:///tmp/s.sock").unwrap(),
            Addr::Unix("/tmp/s.sock".into())
        );
        assert_eq!(
            addr("http://localhost:9001").unwrap(),
            Addr::Tcp("localhost".into(), 9001)
        );
        assert_eq!(
            addr("http://LocalHost/x").unwrap(),
            Addr::Tcp("localhost".into(), 80)
        );
        assert_eq!(addr("http://[::1]:7").unwrap(), Addr::Tcp("::1".into(), 7));
        assert!(matches!(addr("https://x"), Err(Error::Protocol(_))));
        assert!(matches!(addr("http://x:y"), Err(Error::Bad(_))));
    }

    #[test]
    fn bodies_by_length_chunks_or_close() {
        let body = |raw: &[u8]| -> Result<Vec<u8>, String> {
            let mut r = BufReader::new(raw);
            let framing = read_head(&mut r).map_err(|e| format!("{e:?}"))?;
            let mut out = Vec::new();
            read_body(&mut r, framing, &mut |b| {
                out.extend_from_slice(b);
                Ok(())
            })
            .map_err(|e| format!("{e:?}"))?;
            Ok(out)
        };
        assert_eq!(
            body(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcdef").unwrap(),
            b"abc"
        );
        assert_eq!(
            body(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x\r\nde\r\n0\r\n\r\n")
                .unwrap(),
            b"abcde"
        );
        assert_eq!(
            body(b"HTTP/1.0 200 OK\r\n\r\nto the end").unwrap(),
            b"to the end"
        );
        assert!(body(b"HTTP/1.1 401 Unauthorized\r\n\r\n")
            .unwrap_err()
            .contains("401"));
        assert!(body(b"garbage\r\n\r\n")
            .unwrap_err()
            .contains("not an HTTP"));
        assert!(body(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc").is_err());
    }
}
