//! The client's own timeout (`SV_TIMEOUT`, default 10 s; 0 waits forever):
//! a daemon that is stopped (SIGSTOP) or stuck must not hang `sv`.
//!
//! Connecting is bounded by it. For the answer there are two kinds of
//! request. Quick ones (`status`, `signal`, `create-service --no-wait`, ...)
//! must be answered within it. Waiting ones (`start`, `stop`, `restart`,
//! `create-service`, `close`, `reload`, ...) legitimately take as long as
//! startsecs or stopwaitsecs say, which the client does not know: they wait
//! as long as the daemon runs, and give up once it has been stopped for
//! the whole timeout.
//! `tail -f` follows forever once its first answer came.
//! `sv wait` waits as they do, and its own `--timeout` ends it ([`ask_until`]).
//!
//! The bound is kept without a thread: the socket is read with a short
//! timeout, and each time it passes the daemon is looked at.

use super::client::{exchange, CallError};
use super::exit::Exit;
use crate::core::trust;
use crate::wire::{Action, Request, Response};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

/// Without `SV_TIMEOUT`.
const DEFAULT: Duration = Duration::from_secs(10);
/// Where the watcher's reason says what was waited for.
const WAITING: &str = "(waiting)";
/// How often the watcher looks.
const TICK: Duration = Duration::from_millis(50);
/// A bound never reached (SV_TIMEOUT=0 under a command's own deadline).
const FOREVER: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// `SV_TIMEOUT` in seconds (fractions allowed), else 10; `None` for 0.
pub fn limit() -> Result<Option<Duration>, String> {
    let Some(raw) = std::env::var_os("SV_TIMEOUT").filter(|v| !v.is_empty()) else {
        return Ok(Some(DEFAULT));
    };
    let text = raw.to_string_lossy();
    match text.trim().parse::<f64>() {
        Ok(0.0) => Ok(None),
        Ok(s) if s.is_finite() && s > 0.0 && s < 1e9 => Ok(Some(Duration::from_secs_f64(s))),
        _ => Err(format!(
            "SV_TIMEOUT must be a number of seconds (0 waits forever), not '{text}'"
        )),
    }
}

/// `10 s`, `2.5 s`.
pub fn secs(limit: Option<Duration>) -> String {
    match limit {
        Some(d) => format!("{} s", d.as_secs_f64()),
        None => "ever".to_string(),
    }
}

/// Connects to the socket at `path`, retrying while its backlog is full
/// (a stopped daemon accepts nobody) until `limit` has passed.
pub fn connect(path: &Path, limit: Option<Duration>) -> io::Result<UnixStream> {
    use nix::sys::socket::{self, AddressFamily, SockFlag, SockType, UnixAddr};
    let addr = UnixAddr::new(path).map_err(io::Error::from)?;
    let fd: OwnedFd = socket::socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
        None,
    )
    .map_err(io::Error::from)?;
    let deadline = limit.map(|l| Instant::now() + l);
    loop {
        match socket::connect(fd.as_raw_fd(), &addr) {
            Ok(()) => break,
            Err(nix::errno::Errno::EINTR) => {}
            // A unix socket says EAGAIN when the listener's backlog is full.
            Err(nix::errno::Errno::EAGAIN) => {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the daemon's backlog stayed full",
                    ));
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => return Err(e.into()),
        }
    }
    // SAFETY: a connected stream socket we own, handed over whole.
    let stream = unsafe { UnixStream::from_raw_fd(std::os::fd::IntoRawFd::into_raw_fd(fd)) };
    stream.set_nonblocking(false)?;
    Ok(stream)
}

/// Does the daemon answer `req` only once something is done?
fn waits(req: &Request) -> bool {
    match req {
        Request::Shutdown | Request::Reload | Request::CreateWait(_) | Request::Wait(_) => true,
        Request::Update(_) => true,
        Request::Reread | Request::Avail => false,
        Request::Act(Action::Signal(_), _) => false,
        Request::Act(..) => true,
        Request::Ping
        | Request::Info
        | Request::Create(_)
        | Request::Adopt(_)
        | Request::Status(_)
        | Request::Tail(_) => false,
    }
}

/// The command a request stands for, for the message.
fn label(req: &Request) -> &'static str {
    match req {
        Request::Ping => "ping",
        Request::Info => "info",
        Request::Shutdown => "close",
        Request::Create(_) | Request::CreateWait(_) => "create-service",
        Request::Adopt(_) => "open-service",
        Request::Act(a, _) => match a {
            Action::Start => "start",
            Action::Stop => "stop",
            Action::Restart => "restart",
            Action::Suspend => "suspend-service",
            Action::Resume => "resume-service",
            Action::Remove => "remove-service",
            Action::Cancel => "supervisor-cancel",
            Action::Signal(_) => "signal",
        },
        Request::Status(_) => "status",
        Request::Tail(_) => "tail",
        Request::Reload => "reload",
        Request::Wait(_) => "wait",
        Request::Reread => "reread",
        Request::Update(_) => "update",
        Request::Avail => "avail",
    }
}

/// [`exchange`] under the timeout: exit 3 with a line that says what it
/// waited for when the daemon does not answer in time.
pub fn ask(stream: &mut UnixStream, n: u8, req: &Request) -> Result<Response, CallError> {
    // With no deadline of its own, only an answer or an error ends it.
    ask_until(stream, n, req, None)?.ok_or_else(|| CallError {
        exit: Exit::Unreachable,
        message: format!("supervisor {n} gave no answer"),
    })
}

/// [`ask`] with a deadline of the command's own (`sv wait --timeout`):
/// Ok(None) when it passed before the answer came.
pub fn ask_until(
    stream: &mut UnixStream,
    n: u8,
    req: &Request,
    until: Option<Instant>,
) -> Result<Option<Response>, CallError> {
    let limit = limit().map_err(|message| CallError {
        exit: Exit::Usage,
        message,
    })?;
    // SV_TIMEOUT=0 waits for ever, but the command's deadline still holds.
    let limit = match (limit, until) {
        (Some(l), _) => l,
        (None, Some(_)) => FOREVER,
        (None, None) => return exchange(stream, n, req).map(Some),
    };
    // Reads wake every TICK to look at the daemon; no thread is needed.
    if stream.set_read_timeout(Some(TICK.min(limit))).is_err() {
        return exchange(stream, n, req).map(Some);
    }
    let mut guarded = Guarded {
        stream,
        pid: 0,
        limit,
        waits: waits(req),
        begun: Instant::now(),
        stopped_since: None,
        fired: None,
        until,
        expired: false,
    };
    guarded.pid = trust::peer_cred(guarded.stream).map(|c| c.pid).unwrap_or(0);
    let result = exchange(&mut guarded, n, req);
    let fired = guarded.fired.take();
    let expired = guarded.expired;
    // What follows (`tail -f`) blocks for as long as it likes.
    let _ = stream.set_read_timeout(None);
    match (result, fired) {
        (Ok(resp), _) => Ok(Some(resp)),
        (Err(_), Some(_)) if expired => Ok(None),
        (Err(_), Some(why)) => Err(CallError {
            exit: Exit::Unreachable,
            message: format!("supervisor {n} {why}").replace(
                WAITING,
                &format!("(waiting for the answer to {})", label(req)),
            ),
        }),
        (Err(e), None) => Err(e),
    }
}

/// The socket, read with a short timeout: each time a read times out the
/// daemon is looked at, and once the bound is passed the read fails and
/// `fired` says why.
struct Guarded<'a> {
    stream: &'a mut UnixStream,
    pid: i32,
    limit: Duration,
    waits: bool,
    begun: Instant,
    stopped_since: Option<Instant>,
    fired: Option<String>,
    /// The command's own deadline, and whether it is what fired.
    until: Option<Instant>,
    expired: bool,
}

impl io::Read for Guarded<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.stream.read(buf) {
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    if let Some(why) = self.overdue() {
                        self.fired = Some(why);
                        return Err(io::Error::new(io::ErrorKind::TimedOut, "no answer in time"));
                    }
                }
                other => return other,
            }
        }
    }
}

impl io::Write for Guarded<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.stream.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}

impl Guarded<'_> {
    /// Why to give up now, if it is time to.
    fn overdue(&mut self) -> Option<String> {
        let now = Instant::now();
        if self.until.is_some_and(|u| now >= u) {
            self.expired = true;
            return Some("reached the command's deadline".into());
        }
        let pid = self.pid;
        let stopped = pid > 0 && matches!(trust::proc_state(pid), Some('T' | 't'));
        self.stopped_since = if stopped {
            self.stopped_since.or(Some(now))
        } else {
            None
        };
        let secs = secs(Some(self.limit));
        if self.waits {
            let since = self.stopped_since?;
            return (now - since >= self.limit).then(|| {
                format!("has been stopped (SIGSTOP) for {secs} {WAITING}; `kill -CONT {pid}` resumes it")
            });
        }
        if now - self.begun < self.limit {
            return None;
        }
        Some(if stopped {
            format!("did not answer within {secs} {WAITING}: it is stopped (SIGSTOP); `kill -CONT {pid}` resumes it")
        } else {
            format!(
                "did not answer within {secs} {WAITING}; is it stopped (SIGSTOP) or overloaded?"
            )
        })
    }
}
