//! HTTP clients (SPEC §13): accepting on the servers of
//! `[unix_http_server]` and `[inet_http_server]`, and serving their
//! requests: `POST /RPC2` to the XML-RPC interface (`rpc`), the log
//! streams `GET /logtail/NAME[/stderr]` and `GET /mainlogtail` that
//! supervisorctl's `tail -f` reads. Their connections take ids from the
//! control connections' space, so a waiter answers either kind
//! (`Daemon::reply`). Apart from the loop, as `requests` is.

use super::pipes::{Follower, PipeKey};
use super::poll_set::PollSet;
use super::{Daemon, Token};
use crate::core::http::{self, HttpConn, MainTail, Phase, Stream};
use crate::core::rpc::names;
use crate::core::stream::Stream as Output;
use crate::core::supervisor::ConnId;
use crate::core::trust::open_log_regular;
use crate::wire::http::{self as wire_http, Request};
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::time::{Instant, SystemTime};

/// How much of a log a new stream starts with, as supervisord's
/// `tail_f_producer`.
const HEAD: u64 = 1024;

impl Daemon {
    /// Adds the listeners and connections to the pass's poll set.
    pub(super) fn http_poll(&self, set: &mut PollSet) {
        if let Some(u) = &self.http.unix {
            set.add(u.listener.as_raw_fd(), libc::POLLIN, Token::HttpUnix);
        }
        if let Some(i) = &self.http.inet {
            set.add(i.listener.as_raw_fd(), libc::POLLIN, Token::HttpInet);
        }
        for (id, c) in &self.http.conns {
            let mut ev = 0;
            if c.wants_read() {
                ev |= libc::POLLIN;
            }
            if c.wants_write() {
                ev |= libc::POLLOUT;
            }
            if c.wants_hangup() {
                ev |= libc::POLLRDHUP;
            }
            set.add(c.stream.raw_fd(), ev, Token::Http(*id));
        }
    }

    /// Takes every waiting client of one server.
    pub(super) fn on_http_accept(&mut self, unix: bool, now: Instant) {
        loop {
            let accepted = match (unix, &self.http.unix, &self.http.inet) {
                (true, Some(u), _) => u.listener.accept().map(|(s, _)| {
                    let peer = match crate::core::sys::peer_cred(&s) {
                        Ok(c) => format!("pid {} uid {}", c.pid, c.uid),
                        Err(e) => format!("unknown peer ({e})"),
                    };
                    (Stream::Unix(s), peer, u.auth.clone())
                }),
                (false, _, Some(i)) => i
                    .listener
                    .accept()
                    .map(|(s, addr)| (Stream::Tcp(s), addr.to_string(), i.auth.clone())),
                _ => return,
            };
            match accepted {
                Ok((stream, peer, auth)) => self.http_take(stream, peer, auth, now),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE)) => {
                    // The listener stays readable: take the client with the
                    // spare descriptor and let it go, or the loop spins.
                    self.spare = None;
                    let _ = match (unix, &self.http.unix, &self.http.inet) {
                        (true, Some(u), _) => u.listener.accept().map(|_| ()),
                        (false, _, Some(i)) => i.listener.accept().map(|_| ()),
                        _ => Ok(()),
                    };
                    self.spare = File::open("/dev/null").ok();
                    let msg = format!("http: accept failed: {e}; refused a client");
                    self.sup.log.warn_limited("http accept", &msg);
                    return;
                }
                Err(e) => {
                    let msg = format!("http: accept failed: {e}");
                    self.sup.log.warn_limited("http accept", &msg);
                    return;
                }
            }
        }
    }

    /// Keeps a new client, or tells it the table is full.
    fn http_take(
        &mut self,
        stream: Stream,
        peer: String,
        auth: Option<crate::core::config::Credentials>,
        now: Instant,
    ) {
        let nonblocking = match &stream {
            Stream::Unix(s) => s.set_nonblocking(true),
            Stream::Tcp(s) => s.set_nonblocking(true),
        };
        if nonblocking.is_err() {
            return;
        }
        // Each server has its own table: TCP clients cannot lock out the
        // unix socket.
        let unix = matches!(stream, Stream::Unix(_));
        let same = |c: &&HttpConn| matches!(c.stream, Stream::Unix(_)) == unix;
        if self.http.conns.values().filter(same).count() >= http::MAX_CONNS {
            let _ = match &stream {
                Stream::Unix(s) => http::refuse_full(s),
                Stream::Tcp(s) => http::refuse_full(s),
            };
            let msg = format!(
                "http: refused {peer}: {} connections already on the {} server",
                http::MAX_CONNS,
                if unix { "unix" } else { "inet" }
            );
            self.sup.log.warn_limited("http full", &msg);
            return;
        }
        self.sup.log.debug(&format!("http: connection from {peer}"));
        let id = self.next_conn;
        self.next_conn += 1;
        let mut conn = HttpConn::new(stream, peer, auth, now);
        if let Stream::Tcp(s) = &conn.stream {
            conn.local = s.local_addr().ok();
            // A head and its body are two writes: without this, Nagle holds
            // the body until the client's delayed ACK (40 ms an answer).
            let _ = s.set_nodelay(true);
        }
        self.http.conns.insert(id, conn);
    }

    pub(super) fn on_http_conn(&mut self, id: ConnId, revents: libc::c_short, now: Instant) {
        let Some(c) = self.http.conns.get_mut(&id) else {
            return;
        };
        if revents & libc::POLLOUT != 0 {
            c.flush();
        }
        let gone = libc::POLLHUP | libc::POLLERR | libc::POLLNVAL;
        if revents & libc::POLLRDHUP != 0 && c.wants_hangup() {
            // It left while its call waits: dropped now, and the call's
            // waiter with it (`http_end_pass`).
            c.dead = true;
            return;
        }
        if revents & gone != 0 && !c.wants_read() {
            c.dead = true;
            return;
        }
        if revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0 && c.wants_read() {
            c.fill(now);
        }
        self.serve_http(id, now);
    }

    /// Serves the whole requests a connection has sent, one at a time.
    fn serve_http(&mut self, id: ConnId, now: Instant) {
        loop {
            let Some(c) = self.http.conns.get_mut(&id) else {
                return;
            };
            match c.next_request(now, &mut self.http.bodies) {
                None => return,
                Some(Err((503, why))) => {
                    let msg = format!(
                        "http: refused {}: its request body would pass the {} MiB \
                         that all requests arriving may hold",
                        c.peer,
                        http::BODIES_MAX >> 20
                    );
                    c.send_error(503, why);
                    self.sup.log.warn_limited("http bodies", &msg);
                    return;
                }
                Some(Err((401, why))) => {
                    let msg = format!(
                        "http: refused {}: wrong or no username and password",
                        c.peer
                    );
                    c.send_error(401, why);
                    self.sup.log.warn_limited("http auth", &msg);
                    return;
                }
                Some(Err((status, why))) => {
                    let msg = format!("http: bad request from {}: {status} {why}", c.peer);
                    c.send_error(status, why);
                    self.sup.log.warn_limited("http bad request", &msg);
                    return;
                }
                Some(Ok(req)) => self.route(id, req, now),
            }
        }
    }

    /// One request, to its handler.
    fn route(&mut self, id: ConnId, req: Request, now: Instant) {
        let Some(c) = self.http.conns.get_mut(&id) else {
            return;
        };
        self.sup.log.debug(&format!(
            "http: {}: {} {}",
            c.peer,
            req.method,
            crate::core::control::clip(&req.target, 200)
        ));
        // Authorization was checked with the head (`next_request`).
        let path = req.path();
        let head = req.method == "HEAD";
        let get = req.method == "GET";
        // Without a password, a name another site points at this address
        // (DNS rebinding) must not read the page, logs or metrics; the unix
        // server is out of a browser's reach.
        if let (Some(h), None, Stream::Tcp(_)) = (req.header("host"), &c.auth, &c.stream) {
            if !wire_http::own_host(h, &super::page::host()) {
                let msg = format!(
                    "http: refused {}: Host {:?} is not this server's address \
                     (set a username and password to serve other names)",
                    c.peer,
                    crate::core::control::clip(h, 100)
                );
                c.send_error(403, "this server answers to its address or localhost only");
                self.sup.log.warn_limited("http host", &msg);
                return;
            }
        }
        let foreign = match (req.header("origin"), c.local) {
            (Some(o), Some(local)) => !http::same_origin(o, local),
            _ => false,
        };
        match path {
            "/RPC2" if foreign => {
                let msg = format!("http: refused {}: a request from a web page", c.peer);
                c.send_error(403, "requests from other web pages are refused");
                self.sup.log.warn_limited("http origin", &msg);
            }
            "/RPC2" if req.method == "POST" => {
                c.phase = Phase::Waiting;
                if let Some(xml) = self.rpc(id, &req.body, now) {
                    self.http_reply(id, xml);
                }
            }
            "/RPC2" => refuse_method(c, "POST", "/RPC2 takes POST"),
            "/" => self.page(id, &req, false, now),
            "/status.json" => self.page(id, &req, true, now),
            "/action" => self.page_action(id, &req, foreign, now),
            p if p.starts_with("/logtail/") && get => self.logtail(id, &req),
            "/mainlogtail" if get => self.mainlogtail(id, &req),
            p if p.starts_with("/logtail/") || p == "/mainlogtail" => {
                refuse_method(c, "GET", "the log streams take GET")
            }
            "/metrics" if get => self.metrics(id),
            "/metrics" if head => metrics_head(c),
            "/healthz" if get || head => self.healthz(id, head),
            "/metrics" | "/healthz" => refuse_method(c, "GET, HEAD", "it takes GET or HEAD"),
            _ => c.send_error(404, "nothing here; XML-RPC is at /RPC2"),
        }
    }

    /// Sends the XML answer of the call under way on `conn`: now (from
    /// `rpc`) or later (from a waiter).
    pub(super) fn http_reply(&mut self, conn: ConnId, xml: Vec<u8>) {
        if let Some(c) = self.http.conns.get_mut(&conn) {
            c.answer("text/xml", &xml);
            // A request it sent meanwhile is served at the end of the pass.
            self.http.resume.push(conn);
        }
        self.rpc_calls.recycle(xml);
    }

    /// `GET /logtail/NAME[/stderr]`: the last KiB of the log, then what the
    /// program writes, for as long as the client stays.
    fn logtail(&mut self, id: ConnId, req: &Request) {
        let found = self.logtail_target(req);
        let Some(c) = self.http.conns.get_mut(&id) else {
            return;
        };
        let (service, stream, name, path) = match found {
            Ok(t) => t,
            Err(why) => return c.send_error(404, &why),
        };
        let start = match tail_start(&path) {
            Ok(s) => s,
            Err(e) => {
                let why = format!("cannot read {}: {e}", path.display());
                return c.send_error(404, &why);
            }
        };
        stream_start(c, req, &start.0, start.1, true);
        self.followers.push(Follower {
            conn: id,
            pipe: PipeKey { service, stream },
            name,
        });
    }

    /// The service, stream, name and log file a `/logtail/` path names.
    #[allow(clippy::type_complexity)]
    fn logtail_target(
        &self,
        req: &Request,
    ) -> Result<(crate::core::supervisor::Id, Output, String, PathBuf), String> {
        let rest = &req.path()["/logtail/".len()..];
        let rest = wire_http::percent_decode(rest)
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or("a bad %-escape in the name")?;
        let (name, channel) = rest.split_once('/').unwrap_or((&rest, "stdout"));
        let stream = match channel {
            "stdout" => Output::Stdout,
            "stderr" => Output::Stderr,
            _ => return Err(format!("no such stream: {channel} (stdout or stderr)")),
        };
        // supervisord's names, as XML-RPC's: GROUP:NAME, or NAME where
        // the group has the same name; never a pid or a bare member.
        let (group, one) = names::split(name);
        let svc = one
            .and_then(|one| self.process(group, one))
            .and_then(|id| self.sup.service(id))
            .ok_or_else(|| format!("no such process: {name}"))?;
        // A missing file is a log not written yet: it starts empty.
        let path = match &svc.logs[stream].path {
            Some(p) if !(stream == Output::Stderr && svc.spec.redirect_stderr) => p.clone(),
            _ => return Err(format!("{name}: no {stream} log file")),
        };
        Ok((svc.id, stream, svc.name().to_string(), path))
    }

    /// `GET /mainlogtail`: the daemon's own log file, followed.
    fn mainlogtail(&mut self, id: ConnId, req: &Request) {
        let path = self.sup.log.file_path().map(|p| p.to_path_buf());
        let Some(c) = self.http.conns.get_mut(&id) else {
            return;
        };
        let Some(path) = path.filter(|p| p.exists()) else {
            return c.send_error(404, "the daemon logs to no file");
        };
        let opened = open_log_regular(&path).and_then(|f| {
            let start = tail_start_of(&f)?;
            Ok((f, start))
        });
        let (file, (data, mtime, pos)) = match opened {
            Ok(o) => o,
            Err(e) => {
                let why = format!("cannot read {}: {e}", path.display());
                return c.send_error(404, &why);
            }
        };
        stream_start(c, req, &data, mtime, false);
        self.http.main_tails.push(MainTail {
            conn: id,
            path,
            file,
            pos,
        });
    }
}

/// A 405 that names the methods `allow`ed; the connection closes after
/// it, as after every error answer (`HttpConn::send_error`).
pub(super) fn refuse_method(c: &mut HttpConn, allow: &str, why: &str) {
    c.send(&wire_http::not_allowed(allow, why, true));
    c.phase = Phase::Reading;
    c.closing = true;
}

/// `HEAD /metrics`: the headers of a scrape, without Content-Length: its
/// body needs a scan of /proc over several passes, which a HEAD must not
/// start (RFC 9110 §9.3.2 lets a HEAD answer leave the length out).
fn metrics_head(c: &mut HttpConn) {
    let close = !c.keep_alive;
    let ctype = [("Content-Type", "text/plain; version=0.0.4; charset=utf-8")];
    let mut head = wire_http::head(200, &ctype);
    if close {
        head.extend_from_slice(b"Connection: close\r\n");
    }
    head.extend_from_slice(b"\r\n");
    c.send(&head);
    c.phase = Phase::Reading;
    c.closing |= close;
}

/// The last [`HEAD`] bytes of the file at `path` and its mtime; nothing
/// when the file is not there yet (the program has not written). Only a
/// regular file is read: a FIFO or a device could block the loop.
fn tail_start(path: &std::path::Path) -> io::Result<(Vec<u8>, SystemTime)> {
    match open_log_regular(path) {
        Ok(f) => tail_start_of(&f).map(|(d, t, _)| (d, t)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok((Vec::new(), SystemTime::now())),
        Err(e) => Err(e),
    }
}

/// The last [`HEAD`] bytes of `f`, its mtime and its size.
fn tail_start_of(f: &File) -> io::Result<(Vec<u8>, SystemTime, u64)> {
    let meta = f.metadata()?;
    let size = meta.len();
    let from = size.saturating_sub(HEAD);
    let mut data = vec![0; (size - from) as usize];
    let n = f.read_at(&mut data, from)?;
    data.truncate(n);
    Ok((
        data,
        meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
        size,
    ))
}

/// Starts a log stream on `c`: supervisord's headers, then `data`.
fn stream_start(c: &mut HttpConn, req: &Request, data: &[u8], mtime: SystemTime, proxy: bool) {
    let chunked = req.version == wire_http::Version::V11;
    let date = http_date(mtime);
    let mut headers = vec![
        ("Content-Type", "text/plain;charset=utf-8"),
        ("Last-Modified", date.as_str()),
    ];
    if proxy {
        headers.push(("X-Accel-Buffering", "no"));
    }
    if chunked {
        headers.push(("Transfer-Encoding", "chunked"));
    } else {
        headers.push(("Connection", "close"));
    }
    let mut head = wire_http::head(200, &headers);
    head.extend_from_slice(b"\r\n");
    c.send(&head);
    c.phase = Phase::Streaming { chunked };
    c.stream_data(data);
}

/// `Sun, 06 Nov 1994 08:49:37 GMT` (RFC 9110 §5.6.7).
fn http_date(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = crate::core::log::civil_from_days(days);
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{}, {d:02} {} {y} {:02}:{:02}:{:02} GMT",
        DAYS[days.rem_euclid(7) as usize],
        MONTHS[(m - 1) as usize],
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

impl Daemon {
    /// What each pass ends with for HTTP: multicalls that go on, requests
    /// that waited for an answer to leave, new lines of the daemon's log
    /// for `/mainlogtail`, deadlines (408 for a request that did not arrive whole, close an
    /// idle or stuck connection), and finished connections dropped.
    pub(super) fn http_end_pass(&mut self, now: Instant) {
        self.rpc_resume();
        for id in std::mem::take(&mut self.http.resume) {
            self.serve_http(id, now);
        }
        self.feed_main_tails();
        let due: Vec<ConnId> = (self.http.conns.iter())
            .filter(|(_, c)| c.deadline().is_some_and(|t| t <= now))
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            let Some(c) = self.http.conns.get_mut(&id) else {
                continue;
            };
            let peer = c.peer.clone();
            if c.expire() {
                let msg = format!(
                    "http: {peer}: the request did not arrive whole within {} ms; answered 408",
                    http::request_timeout().as_millis()
                );
                self.sup.log.warn_limited("http slow", &msg);
            } else {
                self.sup
                    .log
                    .debug(&format!("http: {peer}: closed (idle or not reading)"));
            }
        }
        let before = self.http.conns.len();
        for c in self.http.conns.values().filter(|c| c.overflowed) {
            let msg = format!(
                "http: dropped {}: it left more than {} MiB of output unread",
                c.peer,
                http::WBUF_LIMIT >> 20
            );
            self.sup.log.warn_limited("http overflow", &msg);
        }
        let gone: Vec<ConnId> = (self.http.conns.iter())
            .filter(|(_, c)| c.finished())
            .map(|(id, _)| *id)
            .collect();
        for id in &gone {
            let conn = self.http.conns.remove(id);
            let granted = conn.as_ref().map_or(0, HttpConn::granted);
            self.http.bodies -= granted.min(self.http.bodies);
            let peer = conn.map(|c| c.peer);
            // A call it waited on is forgotten; its waiter answers no one.
            self.changing.remove(id);
            if let Some(method) = self.rpc_calls.forget(*id) {
                let peer = peer.unwrap_or_default();
                let msg = format!("http: {peer} went away before the answer to {method}");
                self.sup.log.info(&msg);
            }
        }
        if self.http.conns.len() != before {
            let conns = &self.http.conns;
            self.http.main_tails.retain(|t| conns.contains_key(&t.conn));
        }
    }

    /// Sends `/mainlogtail` clients what the daemon's log gained.
    fn feed_main_tails(&mut self) {
        if self.http.main_tails.is_empty() {
            return;
        }
        self.sup.log.flush();
        let http::Http {
            main_tails, conns, ..
        } = &mut self.http;
        for t in main_tails.iter_mut() {
            let Some(c) = conns.get_mut(&t.conn) else {
                continue;
            };
            match t.more() {
                Ok(data) => c.stream_data(&data),
                Err(_) => c.end_stream(),
            }
        }
    }

    /// At exit: log streams are ended, what is queued gets a moment to
    /// leave, and the socket file is removed.
    pub(super) fn http_close(&mut self) {
        for c in self.http.conns.values_mut() {
            if matches!(c.phase, Phase::Streaming { .. }) {
                c.end_stream();
            }
            c.stream.linger(std::time::Duration::from_millis(200));
            c.flush();
        }
        self.http.remove_socket();
    }
}

#[cfg(test)]
mod tests {
    use super::http_date;
    use std::time::{Duration, SystemTime};

    #[test]
    fn http_dates() {
        assert_eq!(
            http_date(SystemTime::UNIX_EPOCH),
            "Thu, 01 Jan 1970 00:00:00 GMT"
        );
        // RFC 9110's example.
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777);
        assert_eq!(http_date(t), "Sun, 06 Nov 1994 08:49:37 GMT");
    }
}
