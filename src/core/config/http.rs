//! `[unix_http_server]` and `[inet_http_server]` (SPEC §13): where the
//! daemon serves HTTP, read as supervisord's `server_configs_from_parser`
//! reads them. Names in `chown` are looked up when the socket is bound,
//! not here: the parser asks nothing of the system but its [`Host`].
//!
//! [`Host`]: super::Host

use super::build::Loader;
use super::expand::Ctx;
use super::lex::{Entry, Section};
use super::ConfigError;
use std::path::PathBuf;

/// The HTTP servers a config asks for; both absent when it has neither
/// section.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HttpServers {
    pub unix: Option<UnixServer>,
    pub inet: Option<InetServer>,
}

/// `[unix_http_server]`.
#[derive(Debug, Clone, PartialEq)]
pub struct UnixServer {
    pub file: PathBuf,
    /// The socket's mode (`chmod`, octal; 0700 when not set).
    pub chmod: u32,
    /// `chown = USER[:GROUP]`, as written.
    pub chown: Option<String>,
    pub auth: Option<Credentials>,
}

/// `[inet_http_server]`.
#[derive(Debug, Clone, PartialEq)]
pub struct InetServer {
    /// Lowercased; empty for every address (`*:PORT` or `PORT`).
    pub host: String,
    pub port: u16,
    pub auth: Option<Credentials>,
}

/// `username` and `password` (plain, or `{SHA}` and the hex SHA-1).
#[derive(Clone, PartialEq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    // Never the password, wherever a config is printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({:?}, ...)", self.username)
    }
}

impl HttpServers {
    /// supervisord's `serverurl` for children: the unix socket first.
    pub fn server_url(&self) -> Option<String> {
        if let Some(u) = &self.unix {
            return Some(format!("unix://{}", u.file.display()));
        }
        self.inet.as_ref().map(|i| {
            let host = if i.host.is_empty() {
                "localhost"
            } else {
                &i.host
            };
            format!("http://{host}:{}", i.port)
        })
    }
}

impl Loader<'_> {
    /// The two sections among `sections`, checked; each may appear once
    /// (the loader refuses a duplicate section already).
    pub(super) fn http_servers(
        &mut self,
        sections: &[Section],
    ) -> Result<HttpServers, ConfigError> {
        let mut out = HttpServers::default();
        for s in sections {
            match s.name.as_str() {
                "unix_http_server" => out.unix = Some(self.unix_server(s)?),
                "inet_http_server" => out.inet = Some(self.inet_server(s)?),
                _ => {}
            }
        }
        Ok(out)
    }

    /// The expanded value of `key` in `s`, with its entry.
    fn http_value<'s>(
        &mut self,
        s: &'s Section,
        key: &str,
    ) -> Result<Option<(&'s Entry, String)>, ConfigError> {
        let Some(e) = s.entries.iter().rev().find(|e| e.key == key) else {
            return Ok(None);
        };
        let ctx = Ctx::new(&self.files[s.file]);
        let label = format!("[{}]", s.name);
        let v = self
            .expand(&e.value, &ctx)
            .map_err(|x| self.unexpanded(e, &label, x))?;
        Ok(Some((e, v.trim().to_string())))
    }

    fn unix_server(&mut self, s: &Section) -> Result<UnixServer, ConfigError> {
        let Some((_, file)) = self.http_value(s, "file")? else {
            return Err(self.err(
                s.file,
                s.line,
                "[unix_http_server] has no file = line (the socket's path)".into(),
            ));
        };
        if file.is_empty() {
            return Err(self.err(s.file, s.line, "file in [unix_http_server] is empty".into()));
        }
        let chmod = match self.http_value(s, "chmod")? {
            None => 0o700,
            Some((e, v)) => match u32::from_str_radix(&v, 8) {
                Ok(m) if m <= 0o7777 => m,
                _ => {
                    return Err(self.err(
                        e.file,
                        e.line,
                        format!("chmod in [unix_http_server]: '{v}' is not an octal mode (0700)"),
                    ))
                }
            },
        };
        let chown = match self.http_value(s, "chown")? {
            Some((e, v)) if v.is_empty() || v.split(':').any(str::is_empty) => {
                return Err(self.err(
                    e.file,
                    e.line,
                    format!("chown in [unix_http_server]: '{v}' is not USER or USER:GROUP"),
                ))
            }
            other => other.map(|(_, v)| v),
        };
        Ok(UnixServer {
            // Absolute from the working directory at parse time, as
            // supervisord's normalize_path: a daemon that moves into its
            // `directory=` still binds (and names to children) this path.
            file: super::include::normalize(
                &std::path::absolute(&file).unwrap_or_else(|_| PathBuf::from(&file)),
            ),
            chmod,
            chown,
            auth: self.credentials(s)?,
        })
    }

    fn inet_server(&mut self, s: &Section) -> Result<InetServer, ConfigError> {
        let Some((e, port)) = self.http_value(s, "port")? else {
            return Err(self.err(
                s.file,
                s.line,
                "[inet_http_server] has no port = line (port = 127.0.0.1:9001)".into(),
            ));
        };
        let Some((host, port)) = inet_address(&port) else {
            return Err(self.err(
                e.file,
                e.line,
                format!(
                    "port in [inet_http_server]: '{port}' is not HOST:PORT, *:PORT or PORT \
                     (a port 1 to 65535)"
                ),
            ));
        };
        if !(host.is_empty() || host == "localhost" || host.parse::<std::net::IpAddr>().is_ok()) {
            return Err(self.err(
                e.file,
                e.line,
                format!(
                    "port in [inet_http_server]: '{host}' is not an IP address; sv takes \
                     an IP address, localhost or * (host names are not looked up)"
                ),
            ));
        }
        Ok(InetServer {
            host,
            port,
            auth: self.credentials(s)?,
        })
    }

    /// `username` and `password`: both or neither, as supervisord demands.
    fn credentials(&mut self, s: &Section) -> Result<Option<Credentials>, ConfigError> {
        let user = self.http_value(s, "username")?;
        let pass = self.http_value(s, "password")?;
        match (user, pass) {
            (None, None) => Ok(None),
            (Some((_, username)), Some((_, password))) => {
                Ok(Some(Credentials { username, password }))
            }
            (Some((e, _)), None) | (None, Some((e, _))) => Err(self.err(
                e.file,
                e.line,
                format!(
                    "[{}] has a {} but no {}: set both, or neither",
                    s.name,
                    e.key,
                    if e.key == "username" {
                        "password"
                    } else {
                        "username"
                    }
                ),
            )),
        }
    }
}

/// supervisord's `inet_address`: `HOST:PORT`, `*:PORT` or `PORT`; the
/// host lowercased, empty for every address.
pub fn inet_address(s: &str) -> Option<(String, u16)> {
    let (host, port) = match s.rsplit_once(':') {
        Some((h, p)) => (h.to_lowercase(), p),
        None => (String::new(), s),
    };
    let port: u16 = port.trim().parse().ok().filter(|&p| p > 0)?;
    let host = match host.trim() {
        "*" => String::new(),
        h => h.trim_start_matches('[').trim_end_matches(']').to_string(),
    };
    Some((host, port))
}

#[cfg(test)]
mod tests {
    use super::super::parse_str;
    use super::*;

    fn servers(text: &str) -> HttpServers {
        parse_str(text).unwrap().http
    }

    fn error(text: &str) -> String {
        parse_str(text).unwrap_err().to_string()
    }

    #[test]
    fn both_sections_are_read_with_defaults() {
        let h = servers(
            "[unix_http_server]\nfile=/run/x.sock\n[inet_http_server]\nport=*:9001\n\
             username=u\npassword={SHA}abc\n",
        );
        let u = h.unix.unwrap();
        assert_eq!(u.file, PathBuf::from("/run/x.sock"));
        assert_eq!(u.chmod, 0o700);
        assert_eq!(u.chown, None);
        assert_eq!(u.auth, None);
        let i = h.inet.unwrap();
        assert_eq!((i.host.as_str(), i.port), ("", 9001));
        assert_eq!(i.auth.unwrap().password, "{SHA}abc");
    }

    #[test]
    fn here_is_expanded_and_chmod_is_octal() {
        let h = servers("[unix_http_server]\nfile=%(here)s/s.sock\nchmod=0766\nchown=a:b\n");
        let u = h.unix.unwrap();
        // Relative (no here in a string): from the working directory, as
        // supervisord's normalize_path.
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(u.file, cwd.join("s.sock"));
        assert_eq!(u.chmod, 0o766);
        assert_eq!(u.chown.as_deref(), Some("a:b"));
    }

    #[test]
    fn errors_name_the_line() {
        assert_eq!(
            error("[unix_http_server]\nfile=/x\nchmod=999\n"),
            "config:3: chmod in [unix_http_server]: '999' is not an octal mode (0700)"
        );
        assert!(error("[unix_http_server]\nchmod=0700\n").starts_with("config:1: "));
        assert!(error("[inet_http_server]\nport=host:\n").starts_with("config:2: port"));
        assert!(error("[inet_http_server]\nport=70000\n").starts_with("config:2: port"));
        assert_eq!(
            error("[inet_http_server]\nport=9001\nusername=u\n"),
            "config:3: [inet_http_server] has a username but no password: set both, or neither"
        );
        assert!(error("[unix_http_server]\nfile=/x\nchown=:g\n").starts_with("config:3: chown"));
        assert_eq!(
            error("[inet_http_server]\nport=example.com:80\n"),
            "config:2: port in [inet_http_server]: 'example.com' is not an IP address; sv takes \
             an IP address, localhost or * (host names are not looked up)"
        );
    }

    #[test]
    fn no_sections_no_servers() {
        assert_eq!(servers("[program:a]\ncommand=x\n"), HttpServers::default());
    }

    #[test]
    fn inet_address_as_supervisord() {
        assert_eq!(inet_address("9001"), Some((String::new(), 9001)));
        assert_eq!(inet_address("*:9001"), Some((String::new(), 9001)));
        assert_eq!(
            inet_address("LocalHost:1"),
            Some(("localhost".to_string(), 1))
        );
        assert_eq!(inet_address("[::1]:80"), Some(("::1".to_string(), 80)));
        assert_eq!(inet_address("x:0"), None);
        assert_eq!(inet_address("x"), None);
    }

    #[test]
    fn server_url_prefers_the_unix_socket() {
        let mut h = servers("[inet_http_server]\nport=9001\n");
        assert_eq!(h.server_url().as_deref(), Some("http://localhost:9001"));
        h.unix = Some(UnixServer {
            file: "/a/b".into(),
            chmod: 0o700,
            chown: None,
            auth: None,
        });
        assert_eq!(h.server_url().as_deref(), Some("unix:///a/b"));
    }
}
