//! Polled checks (SPEC §12 `ready=`): `tcp:HOST:PORT`, `http://HOST:PORT/PATH`,
//! `exec:COMMAND` and `file:PATH`, each run inside the one poll loop.
//!
//! The probe API: [`Check::parse`] reads a value once, at load; a try is
//! begun with [`SockProbe::start`] (tcp, http: a non-blocking socket whose
//! descriptor the loop polls, [`SockProbe::interest`], and advances on
//! readiness, [`SockProbe::advance`]), [`file::exists`] (a stat, at once) or
//! an exec child that the supervisor spawns and reaps like any other
//! ([`exec::outcome`] reads its exit). Every try has a deadline the caller
//! keeps: nothing here blocks or sleeps. Host names are refused (only IP
//! addresses and `localhost`): resolving one would block the loop.

pub mod exec;
pub mod file;
pub mod health;
pub mod http;
pub mod listening;
pub mod tcp;

pub use tcp::SockProbe;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

/// A try's result: Err says why it failed (`connection refused`).
pub type Outcome = Result<(), String>;

/// What to try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Tcp(SocketAddr),
    Http {
        addr: SocketAddr,
        /// As written, for the `Host:` header.
        host: String,
        path: String,
    },
    Exec(Vec<String>),
    File(PathBuf),
    /// `notify`: the program says READY=1 over `NOTIFY_SOCKET` (see
    /// `supervisor/notify`); nothing is polled.
    Notify,
    /// `fd:N`: the program writes a newline to its descriptor N, a pipe
    /// the daemon reads (s6's notification-fd; see `supervisor/notify`).
    Fd(i32),
}

/// A check as configured: what to try, and the value as written (shown in
/// `status`: `waiting for ready: tcp:127.0.0.1:8080`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub text: String,
    pub kind: Kind,
}

impl Check {
    /// Reads a `ready=` value.
    pub fn parse(v: &str) -> Result<Check, String> {
        let v = v.trim();
        let kind = if v == "notify" {
            Kind::Notify
        } else if let Some(n) = v.strip_prefix("fd:") {
            match n.parse::<i32>() {
                Ok(n @ 3..=255) => Kind::Fd(n),
                _ => {
                    return Err(format!(
                        "ready '{v}': N of fd:N must be 3 to 255 (0, 1 and 2 are stdio)"
                    ))
                }
            }
        } else if let Some(rest) = v.strip_prefix("tcp:") {
            Kind::Tcp(addr(rest)?)
        } else if let Some(rest) = v.strip_prefix("http://") {
            let (hostport, path) = match rest.find('/') {
                Some(i) => (&rest[..i], &rest[i..]),
                None => (rest, "/"),
            };
            if path.contains(|c: char| c.is_whitespace() || c.is_control()) {
                return Err(format!("ready '{v}': the path may not hold spaces"));
            }
            Kind::Http {
                addr: addr(hostport)?,
                host: hostport.to_string(),
                path: path.to_string(),
            }
        } else if let Some(rest) = v.strip_prefix("exec:") {
            let argv = crate::core::spec::split_words(rest)?;
            if argv.is_empty() {
                return Err(format!("ready '{v}': exec: needs a command"));
            }
            Kind::Exec(argv)
        } else if let Some(rest) = v.strip_prefix("file:").filter(|p| !p.trim().is_empty()) {
            Kind::File(PathBuf::from(rest.trim()))
        } else {
            return Err(format!(
                "ready '{v}' must be notify, fd:N, tcp:HOST:PORT, http://HOST:PORT/PATH, exec:COMMAND or file:PATH"
            ));
        };
        Ok(Check {
            text: v.to_string(),
            kind,
        })
    }

    /// Tried by the loop (tcp, http, exec, file), not told (notify, fd).
    pub fn polled(&self) -> bool {
        !matches!(self.kind, Kind::Notify | Kind::Fd(_))
    }
}

/// `127.0.0.1:80`, `[::1]:80` or `localhost:80`: no name lookup, which
/// would block the loop.
fn addr(s: &str) -> Result<SocketAddr, String> {
    if let Ok(a) = s.parse::<SocketAddr>() {
        return Ok(a);
    }
    let bad = || format!("'{s}' is not HOST:PORT with HOST an IP address or localhost");
    let (host, port) = s.rsplit_once(':').ok_or_else(bad)?;
    let port: u16 = port.parse().map_err(|_| bad())?;
    let ip = match host {
        "localhost" => IpAddr::V4(Ipv4Addr::LOCALHOST),
        h => h.parse::<IpAddr>().map_err(|_| {
            format!(
                "'{h}' is not an IP address or localhost (a name lookup would block the daemon)"
            )
        })?,
    };
    Ok(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_parse_and_the_unsupported_ones_say_so() {
        let tcp = Check::parse("tcp:127.0.0.1:8080").unwrap();
        assert_eq!(tcp.kind, Kind::Tcp("127.0.0.1:8080".parse().unwrap()));
        assert_eq!(tcp.text, "tcp:127.0.0.1:8080");
        assert_eq!(
            Check::parse("tcp:localhost:9").unwrap().kind,
            Kind::Tcp("127.0.0.1:9".parse().unwrap())
        );
        assert_eq!(
            Check::parse("http://[::1]:80/health?x=1").unwrap().kind,
            Kind::Http {
                addr: "[::1]:80".parse().unwrap(),
                host: "[::1]:80".into(),
                path: "/health?x=1".into()
            }
        );
        match Check::parse("http://127.0.0.1:80").unwrap().kind {
            Kind::Http { path, .. } => assert_eq!(path, "/"),
            k => panic!("{k:?}"),
        }
        assert_eq!(
            Check::parse("exec:test -f '/a b'").unwrap().kind,
            Kind::Exec(vec!["test".into(), "-f".into(), "/a b".into()])
        );
        assert_eq!(
            Check::parse("file:/run/x.pid").unwrap().kind,
            Kind::File("/run/x.pid".into())
        );
        assert_eq!(Check::parse("notify").unwrap().kind, Kind::Notify);
        assert!(!Check::parse("notify").unwrap().polled());
        assert_eq!(Check::parse("fd:3").unwrap().kind, Kind::Fd(3));
        assert!(!Check::parse("fd:3").unwrap().polled());
        for bad in ["fd:2", "fd:0", "fd:256", "fd:x", "fd:"] {
            assert!(Check::parse(bad).unwrap_err().contains("3 to 255"), "{bad}");
        }
        for bad in [
            "tcp:example.com:80",
            "tcp:127.0.0.1",
            "tcp:127.0.0.1:99999",
            "http://h:1/a b",
            "exec:",
            "file:",
            "bogus",
            "",
        ] {
            assert!(Check::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_keys_set_the_policy() {
        use crate::core::spec::ServiceSpec;
        use std::time::Duration;
        let mut s = ServiceSpec::new("x", vec!["/bin/true".into()]);
        assert_eq!(s.policy.ready, None);
        assert_eq!(s.policy.ready_timeout, Duration::from_secs(60));
        assert_eq!(s.policy.ready_interval, Duration::from_secs(1));
        s.set("ready", "file:/tmp/x").unwrap();
        s.set("ready_timeout", "5").unwrap();
        s.set("ready_interval", "2").unwrap();
        assert_eq!(s.policy.ready.as_ref().unwrap().text, "file:/tmp/x");
        assert_eq!(s.policy.start_window(), Duration::from_secs(5));
        assert_eq!(s.policy.ready_interval, Duration::from_secs(2));
        // 0 would make a check spin, or fail every start at once.
        assert!(s.set("ready_interval", "0").is_err());
        assert!(s.set("ready_timeout", "0").is_err());
        assert!(s.set("ready", "fd:2").is_err());
    }
}
