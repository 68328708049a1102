//! The client side of the control socket: connect, send one request, read
//! the answer(s). Blocking is fine here: a client serves one user.

use super::exit::{Exit, Say, Stop};
use super::timeout;
pub use super::timeout::ask;
use crate::core::paths::InstancePaths;
use crate::core::trust::{self, Trust};
use crate::wire::{frame, Request, Response};
use std::io;
use std::os::unix::net::UnixStream;

/// Why a call did not get an answer.
#[derive(Debug)]
pub struct CallError {
    pub exit: Exit,
    pub message: String,
}

/// A call that failed ends the command with `sv: MESSAGE`.
impl From<CallError> for Stop {
    #[cold]
    #[inline(never)]
    fn from(e: CallError) -> Stop {
        Stop {
            exit: e.exit,
            say: Say::Line(format!("sv: {}", e.message)),
        }
    }
}

/// Connects to instance `n`; exit 3 with a clear line when it is not
/// running, when its directories could be another user's, or when the
/// daemon answering runs as another user (SPEC §2, §9). Nothing is sent
/// before those checks pass. Connecting is bounded by `SV_TIMEOUT`.
pub fn connect(n: u8) -> Result<UnixStream, CallError> {
    let paths = InstancePaths::new(n);
    let path = paths.sock();
    let unreachable = |message: String| CallError {
        exit: Exit::Unreachable,
        message,
    };
    let not_running = || {
        unreachable(format!(
            "supervisor {n} is not running (no daemon at {})",
            path.display()
        ))
    };
    let trust = Trust::client();
    match paths.check(&trust) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(not_running()),
        Err(e) => return Err(unreachable(format!("supervisor {n}: {e}"))),
    }
    let limit = timeout::limit().map_err(|e| CallError {
        exit: Exit::Usage,
        message: e,
    })?;
    let stream = timeout::connect(&path, limit).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused => not_running(),
        io::ErrorKind::TimedOut => unreachable(format!(
            "supervisor {n} did not accept the connection within {} at {}; is it stopped (SIGSTOP) or overloaded?",
            timeout::secs(limit),
            path.display()
        )),
        _ => unreachable(format!("cannot reach supervisor {n} at {}: {e}", path.display())),
    })?;
    super::shell::interrupt::watch(std::os::fd::AsRawFd::as_raw_fd(&stream));
    let cred = trust::peer_cred(&stream).map_err(|e| {
        unreachable(format!(
            "cannot tell who runs supervisor {n} at {}: {e}",
            path.display()
        ))
    })?;
    if !trust.owner_ok(cred.uid) {
        return Err(unreachable(format!(
            "refusing supervisor {n} at {}: the daemon (pid {}) runs as {}, not as {}; nothing was sent",
            path.display(),
            cred.pid,
            trust::describe_uid(cred.uid),
            if trust.me == 0 {
                "root".to_string()
            } else {
                format!("you ({}) or root", trust::describe_uid(trust.me))
            }
        )));
    }
    Ok(stream)
}

/// Sends `req` on `stream` and reads one response.
pub fn exchange<S: io::Read + io::Write>(
    stream: &mut S,
    n: u8,
    req: &Request,
) -> Result<Response, CallError> {
    let lost = |e: io::Error| CallError {
        exit: Exit::Unreachable,
        message: format!("lost supervisor {n}: {e}"),
    };
    // A daemon that refuses us (another uid) answers and hangs up before
    // reading: the write may fail, but its answer is there to read.
    if let Err(e) = frame::write_msg(stream, req) {
        if !matches!(
            e.kind(),
            io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
        ) {
            return Err(lost(e));
        }
    }
    // A long status or list of outcomes comes in parts: gather them into
    // one answer.
    let mut rows = Vec::new();
    let mut outcomes = Vec::new();
    loop {
        match frame::read_msg::<Response>(stream) {
            Ok(Some(Response::StatusPart(part))) => rows.extend(part.0),
            Ok(Some(Response::Status(last))) if !rows.is_empty() => {
                rows.extend(last.0);
                return Ok(Response::Status(rows.into()));
            }
            Ok(Some(Response::OutcomesPart(part))) => outcomes.extend(part.0),
            Ok(Some(Response::Outcomes(last))) if !outcomes.is_empty() => {
                outcomes.extend(last.0);
                return Ok(Response::Outcomes(outcomes.into()));
            }
            Ok(Some(resp)) => return Ok(resp),
            // Ctrl-C in `sv shell` gives the prompt back; the daemon goes on.
            Ok(None) | Err(_) if super::shell::interrupt::interrupted() => {
                return Err(CallError {
                    exit: Exit::Failed,
                    message: format!("interrupted; supervisor {n} goes on with the request"),
                })
            }
            Ok(None) => {
                return Err(CallError {
                    exit: Exit::Unreachable,
                    message: format!("supervisor {n} closed the connection without an answer"),
                })
            }
            Err(e) => return Err(lost(e)),
        }
    }
}

/// One request, one response.
pub fn call(n: u8, req: &Request) -> Result<Response, CallError> {
    let mut stream = connect(n)?;
    timeout::ask(&mut stream, n, req)
}
