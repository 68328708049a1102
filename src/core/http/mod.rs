//! The HTTP server of `[unix_http_server]` and `[inet_http_server]`
//! (SPEC §13): its listeners, bound at setup, and its connections, served
//! by the same poll loop as everything else (`event_loop/http.rs` routes
//! their requests). The request parser is `crate::wire::http`.
//!
//! The servers are bound once, when the daemon starts: `reload` keeps
//! them as they were (the README says so).

mod conn;
pub mod sha1;

pub use conn::{request_timeout, HttpConn, Phase, Stream, BODIES_MAX, WBUF_LIMIT};

use crate::core::config::{Credentials, HttpServers, InetServer, UnixServer};
use crate::core::supervisor::ConnId;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::time::Instant;

/// Connections at once on each server; past it a newcomer gets a 503 and
/// is closed.
pub const MAX_CONNS: usize = 256;

/// The unix socket server.
pub struct UnixHttp {
    pub listener: UnixListener,
    pub path: PathBuf,
    pub auth: Option<Credentials>,
}

/// The TCP server.
pub struct InetHttp {
    pub listener: TcpListener,
    pub auth: Option<Credentials>,
}

/// Both servers (either may be absent) and their connections.
#[derive(Default)]
pub struct Http {
    pub unix: Option<UnixHttp>,
    pub inet: Option<InetHttp>,
    pub conns: BTreeMap<ConnId, HttpConn>,
    /// Connections whose deferred answer was sent: their next request,
    /// if already buffered, is served at the end of the pass.
    pub resume: Vec<ConnId>,
    /// `/mainlogtail` clients.
    pub main_tails: Vec<MainTail>,
    /// Work left for the next pass (a multicall out of its slice of loop
    /// time): the loop must not sleep past this.
    pub resume_at: Option<Instant>,
    /// Request bytes granted to connections (at most [`BODIES_MAX`]).
    pub bodies: usize,
}

/// A `/mainlogtail` client: the daemon's log file from `pos` on.
pub struct MainTail {
    pub conn: ConnId,
    pub path: PathBuf,
    pub file: File,
    pub pos: u64,
}

/// The most of the daemon's log sent to a `/mainlogtail` client per pass.
const MAIN_STEP: u64 = 256 * 1024;

impl MainTail {
    /// What the log gained since last time, as supervisord's
    /// `tail_f_producer` finds it: a file rotated away is followed at its
    /// path again, a truncated one is said and read from its start.
    pub fn more(&mut self) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        if let (Ok(now), Ok(had)) = (std::fs::metadata(&self.path), self.file.metadata()) {
            if now.ino() != had.ino() || now.dev() != had.dev() {
                self.file = crate::core::trust::open_log_regular(&self.path)?;
                self.pos = 0;
            }
        }
        let size = self.file.metadata()?.len();
        if size < self.pos {
            out.extend_from_slice(b"==> File truncated <==\n");
            self.pos = 0;
        }
        let want = (size - self.pos).min(MAIN_STEP) as usize;
        if want > 0 {
            let start = out.len();
            out.resize(start + want, 0);
            let n = self.file.read_at(&mut out[start..], self.pos)?;
            out.truncate(start + n);
            self.pos += n as u64;
        }
        Ok(out)
    }
}

impl Http {
    /// Binds what `cfg` asks for. The warnings (an open inet server) are
    /// for the daemon's log.
    pub fn open(cfg: &HttpServers, warnings: &mut Vec<String>) -> Result<Http, String> {
        let unix = cfg.unix.as_ref().map(bind_unix).transpose()?;
        let inet = match cfg.inet.as_ref().map(bind_inet).transpose() {
            Ok(i) => i,
            Err(e) => {
                if let Some(u) = &unix {
                    let _ = std::fs::remove_file(&u.path);
                }
                return Err(e);
            }
        };
        if let (Some(i), Some(c)) = (&inet, &cfg.inet) {
            if c.auth.is_none() && !loopback(&c.host) {
                let addr = i.listener.local_addr().map(|a| a.to_string());
                warnings.push(format!(
                    "the inet HTTP server on {} is open to the network with no password: \
                     anyone who can reach it controls every program; set username and \
                     password in [inet_http_server]",
                    addr.unwrap_or_else(|_| c.port.to_string())
                ));
            }
        }
        Ok(Http {
            unix,
            inet,
            ..Http::default()
        })
    }

    /// Where it serves, for the daemon's log.
    pub fn describe(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(u) = &self.unix {
            out.push(format!("unix://{}", u.path.display()));
        }
        if let Some(a) = self
            .inet
            .as_ref()
            .and_then(|i| i.listener.local_addr().ok())
        {
            out.push(format!("http://{a}"));
        }
        out
    }

    /// The soonest deadline of a connection.
    pub fn deadline(&self) -> Option<Instant> {
        let conns = self.conns.values().filter_map(HttpConn::deadline);
        conns.chain(self.resume_at).min()
    }

    /// Removes the socket file (at exit).
    pub fn remove_socket(&self) {
        if let Some(u) = &self.unix {
            let _ = std::fs::remove_file(&u.path);
        }
    }
}

/// Whether `host` (as `[inet_http_server]` writes it) is only this machine.
fn loopback(host: &str) -> bool {
    host_ip(host).is_some_and(|ip| ip.is_loopback())
}

/// The address `host` names: an IP address, `localhost`, or every
/// address for an empty host. Host names are not looked up: a resolver
/// in the static binary would cost more than all of the HTTP server.
fn host_ip(host: &str) -> Option<IpAddr> {
    match host {
        "" => Some(IpAddr::from([0, 0, 0, 0])),
        "localhost" => Some(IpAddr::from([127, 0, 0, 1])),
        h => h.parse().ok(),
    }
}

/// Binds the unix socket: a stale socket file is removed first (one that
/// a live server answers on is refused), then bound, chmod'ed and chown'ed.
fn bind_unix(cfg: &UnixServer) -> Result<UnixHttp, String> {
    let path = &cfg.file;
    let shown = path.display();
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_socket() => {
            if UnixStream::connect(path).is_ok() {
                return Err(format!(
                    "cannot listen on {shown}: another program is listening there \
                     ([unix_http_server] file)"
                ));
            }
            std::fs::remove_file(path)
                .map_err(|e| format!("cannot remove the stale socket {shown}: {e}"))?;
        }
        Ok(_) => {
            return Err(format!(
                "cannot listen on {shown}: it exists and is not a socket ([unix_http_server] file)"
            ))
        }
        Err(_) => {}
    }
    // Bound under umask 077: never open wider than its owner until chmod.
    // SAFETY: umask cannot fail; the daemon is single-threaded.
    let old_mask = unsafe { libc::umask(0o077) };
    let bound = UnixListener::bind(path);
    // SAFETY: as above, restoring the previous mask.
    unsafe { libc::umask(old_mask) };
    let listener =
        bound.map_err(|e| format!("cannot listen on {shown}: {e} ([unix_http_server] file)"))?;
    let fail = |what: String| {
        let _ = std::fs::remove_file(path);
        what
    };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(cfg.chmod))
        .map_err(|e| fail(format!("cannot chmod {shown} to {:o}: {e}", cfg.chmod)))?;
    if let Some(owner) = &cfg.chown {
        let (uid, gid) = owner_ids(owner).map_err(fail)?;
        std::os::unix::fs::lchown(path, uid, gid).map_err(|e| {
            fail(format!(
                "cannot chown {shown} to {owner}: {e}; set chown in [unix_http_server] \
                 to a user the daemon may give it to"
            ))
        })?;
    }
    listener
        .set_nonblocking(true)
        .map_err(|e| fail(format!("cannot make {shown} non-blocking: {e}")))?;
    Ok(UnixHttp {
        listener,
        path: path.clone(),
        auth: cfg.auth.clone(),
    })
}

/// `USER[:GROUP]` (names or numbers) as uid and gid.
fn owner_ids(owner: &str) -> Result<(Option<u32>, Option<u32>), String> {
    use nix::unistd::{Group, User};
    let (user, group) = match owner.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (owner, None),
    };
    let uid = match user.parse::<u32>() {
        Ok(n) => Some(n),
        Err(_) => match User::from_name(user) {
            Ok(Some(u)) => Some(u.uid.as_raw()),
            _ => return Err(format!("chown in [unix_http_server]: no such user: {user}")),
        },
    };
    let gid = match group {
        None => None,
        Some(g) => match g.parse::<u32>() {
            Ok(n) => Some(n),
            Err(_) => match Group::from_name(g) {
                Ok(Some(grp)) => Some(grp.gid.as_raw()),
                _ => return Err(format!("chown in [unix_http_server]: no such group: {g}")),
            },
        },
    };
    Ok((uid, gid))
}

/// Binds the TCP socket (std sets SO_REUSEADDR, as supervisord does).
fn bind_inet(cfg: &InetServer) -> Result<InetHttp, String> {
    let what = if cfg.host.is_empty() {
        format!("*:{}", cfg.port)
    } else {
        format!("{}:{}", cfg.host, cfg.port)
    };
    let ip = host_ip(&cfg.host).ok_or_else(|| {
        format!(
            "cannot listen on {what}: sv takes an IP address, localhost or * here, \
             not a host name ([inet_http_server] port)"
        )
    })?;
    let listener = TcpListener::bind(SocketAddr::new(ip, cfg.port))
        .map_err(|e| format!("cannot listen on {what}: {e} ([inet_http_server] port)"))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| format!("cannot make {what} non-blocking: {e}"))?;
    Ok(InetHttp {
        listener,
        auth: cfg.auth.clone(),
    })
}

/// Whether `Authorization` lets the request in, as supervisord checks it:
/// Basic, the username, and the password plain or as `{SHA}` + hex SHA-1.
pub fn authorized(creds: &Credentials, header: Option<&str>) -> bool {
    let Some(h) = header else {
        return false;
    };
    let Some((scheme, cookie)) = h.trim().split_once(' ') else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return false;
    }
    let Some(decoded) = crate::wire::http::base64_decode(cookie) else {
        return false;
    };
    let Some(colon) = decoded.iter().position(|&b| b == b':') else {
        return false;
    };
    let (user, pass) = (&decoded[..colon], &decoded[colon + 1..]);
    let user_ok = same(user, creds.username.as_bytes());
    let pass_ok = match creds.password.strip_prefix("{SHA}") {
        Some(hex) => same(
            sha1::sha1_hex(pass).as_bytes(),
            hex.to_ascii_lowercase().as_bytes(),
        ),
        None => same(pass, creds.password.as_bytes()),
    };
    user_ok && pass_ok
}

/// Whether a browser's `Origin` (`http://HOST[:PORT]`) is the server's
/// own address `local` (`localhost` for a loopback one): any other web
/// page must not drive the server (supervisorctl sends no `Origin`).
pub fn same_origin(origin: &str, local: SocketAddr) -> bool {
    let (rest, default_port) = match origin.split_once("://") {
        Some(("http", r)) => (r, 80),
        Some(("https", r)) => (r, 443),
        _ => return false,
    };
    let auth = rest.split('/').next().unwrap_or("");
    let (host, port) = match auth.rsplit_once(':') {
        Some((h, p)) if !p.contains(']') => (h, p.parse().ok()),
        _ => (auth, Some(default_port)),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let ip_ok = match host {
        "localhost" => local.ip().to_canonical().is_loopback(),
        h => (h.parse::<IpAddr>()).is_ok_and(|ip| ip.to_canonical() == local.ip().to_canonical()),
    };
    ip_ok && port == Some(local.port())
}

/// Equal, in a time that does not depend on where they differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Writes a 503 to a newcomer that finds the table full, without waiting.
pub fn refuse_full(mut stream: impl Write) -> io::Result<()> {
    stream.write_all(&crate::wire::http::error(
        503,
        "too many connections; try again later",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(p: &str) -> Credentials {
        Credentials {
            username: "user".into(),
            password: p.into(),
        }
    }

    #[test]
    fn basic_auth_plain_and_sha() {
        // base64("user:123") and base64("user:12")
        let good = Some("Basic dXNlcjoxMjM=");
        let bad = Some("Basic dXNlcjoxMg==");
        assert!(authorized(&creds("123"), good));
        assert!(!authorized(&creds("123"), bad));
        assert!(!authorized(&creds("123"), None));
        assert!(!authorized(&creds("123"), Some("Digest dXNlcjoxMjM=")));
        let sha = "{SHA}40bd001563085fc35165329ea1ff5c5ecbdbbeef";
        assert!(authorized(&creds(sha), good));
        assert!(authorized(&creds(&sha.to_uppercase()), good));
        assert!(!authorized(&creds(sha), bad));
        // A password with a colon: only the first one splits.
        assert!(authorized(&creds("a:b"), Some("Basic dXNlcjphOmI=")));
    }

    #[test]
    fn origins_of_the_server_itself_only() {
        let local: SocketAddr = "127.0.0.1:9001".parse().unwrap();
        assert!(same_origin("http://127.0.0.1:9001", local));
        assert!(same_origin("http://localhost:9001/", local));
        assert!(!same_origin("http://evil.example", local));
        assert!(!same_origin("http://evil.example:9001", local));
        assert!(!same_origin("http://127.0.0.1:9002", local));
        assert!(!same_origin("http://127.0.0.1", local));
        assert!(!same_origin("null", local));
        let v6: SocketAddr = "[::1]:80".parse().unwrap();
        assert!(same_origin("http://[::1]", v6));
        assert!(!same_origin("http://[::2]:80", v6));
        // A v4 client of a dual-stack server.
        let mapped: SocketAddr = "[::ffff:127.0.0.1]:9001".parse().unwrap();
        assert!(same_origin("http://127.0.0.1:9001", mapped));
        assert!(same_origin("http://localhost:9001", mapped));
    }

    #[test]
    fn loopback_hosts() {
        assert!(loopback("127.0.0.1"));
        assert!(loopback("localhost"));
        assert!(loopback("::1"));
        assert!(!loopback(""));
        assert!(!loopback("0.0.0.0"));
        assert!(!loopback("example.com"));
    }
}
