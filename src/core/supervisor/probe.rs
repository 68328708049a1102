//! One try of a polled check, as `ready=` and `health=` both run it: a
//! socket the loop polls (tcp, http), a stat (file), or an exec child of
//! the one spawn path, reaped by the loop and killed with its process
//! group when it is given up. The runs around the tries (when they are
//! due, what an outcome does) stay in `ready` and `health`.

use super::{Id, Supervisor};
use crate::core::checks::{exec, file, http, tcp::Progress, Kind, Outcome, SockProbe};
use crate::core::service::Event;
use crate::core::spawn;
use std::os::fd::RawFd;
use std::time::Instant;

/// A try under way.
pub(super) enum Try {
    Sock(SockProbe),
    /// An exec check's child, kept (with the memory it was launched with)
    /// until it is reaped.
    Exec(spawn::Pending),
}

/// The try under way, if any, and when it gives up.
pub(super) type Current = Option<(Try, Instant)>;

/// How a try began.
pub(super) enum Began {
    /// Under way: polled, or reaped, later.
    Under(Try),
    /// Over at once (a stat, a refused connect, a failed launch).
    Done(Outcome),
    /// Not a polled form (notify, fd:N): nothing to try.
    Told,
}

/// When a run is next due: its try's deadline, else when the next begins.
pub(super) fn due(next: Instant, current: &Current) -> Instant {
    current.as_ref().map_or(next, |(_, d)| *d)
}

/// The socket of a try under way and what to poll it for.
pub(super) fn interest(current: &Current) -> Option<(RawFd, libc::c_short)> {
    match current {
        Some((Try::Sock(p), _)) => Some(p.interest()),
        _ => None,
    }
}

/// The try's socket is ready: it goes on, or its outcome is returned
/// (and the try cleared).
pub(super) fn advance(current: &mut Current) -> Option<Outcome> {
    let Some((Try::Sock(probe), deadline)) = current.take() else {
        return None;
    };
    match probe.advance() {
        Progress::Waiting(p) => {
            *current = Some((Try::Sock(p), deadline));
            None
        }
        Progress::Done(outcome) => Some(outcome),
    }
}

/// Gives a try up: an exec child is killed with its group and kept in
/// `dying` until reaped.
pub(super) fn abandon(current: Current, dying: &mut Vec<spawn::Pending>) {
    if let Some((Try::Exec(p), _)) = current {
        p.kill_group();
        dying.push(p);
    }
}

/// Whether `pid` is the exec child of this try.
pub(super) fn is_exec(current: &Current, pid: i32) -> bool {
    matches!(current, Some((Try::Exec(p), _)) if p.pid() == pid)
}

/// A leaving daemon does not wait for exec children still on its memory
/// (as `Launches` does): the dying ones and those of tries under way.
pub(super) fn forget_children(dying: Vec<spawn::Pending>, tries: impl Iterator<Item = Current>) {
    let pendings = dying.into_iter().chain(tries.filter_map(|t| match t {
        Some((Try::Exec(p), _)) => Some(p),
        _ => None,
    }));
    for p in pendings {
        std::mem::forget(p);
    }
}

impl Supervisor {
    /// Begins one try of `kind` for service `id`.
    pub(super) fn begin_probe(&mut self, id: Id, kind: Kind) -> Began {
        let started = match kind {
            Kind::Tcp(addr) => SockProbe::start(addr, None),
            Kind::Http { addr, host, path } => {
                SockProbe::start(addr, Some(http::request(&host, &path)))
            }
            Kind::File(path) => Progress::Done(file::exists(&path)),
            Kind::Notify | Kind::Fd(_) => return Began::Told,
            Kind::Exec(argv) => {
                return match self.launch_check(id, argv) {
                    Ok(p) => Began::Under(Try::Exec(p)),
                    Err(why) => Began::Done(Err(why)),
                }
            }
        };
        match started {
            Progress::Waiting(p) => Began::Under(Try::Sock(p)),
            Progress::Done(outcome) => Began::Done(outcome),
        }
    }
}

/// What a reaped child was to a set of runs.
pub(super) enum Reaped {
    /// Not a check's child.
    NotOurs,
    /// A check's child, with nothing more to do.
    Noted,
    /// The exec try of service `Id` is over, with this outcome.
    Over(Id, Outcome),
}

/// A reaped (or stopped) child among the given-up children `dying` and
/// the tries under way.
pub(super) fn reaped<'a>(
    dying: &mut Vec<spawn::Pending>,
    tries: impl Iterator<Item = (Id, &'a mut Current)>,
    pid: i32,
    ev: &Event,
) -> Reaped {
    let exited = match ev {
        Event::Exited(kind) => Some(*kind),
        _ => None,
    };
    if let Some(i) = dying.iter().position(|p| p.pid() == pid) {
        if exited.is_some() {
            let mut p = dying.swap_remove(i);
            // Its report pipe has ended (a dying process closes it): the
            // memory it was launched with is free.
            let _ = p.try_wait();
        }
        return Reaped::Noted;
    }
    for (id, current) in tries {
        if !is_exec(current, pid) {
            continue;
        }
        let Some(kind) = exited else {
            return Reaped::Noted;
        };
        let Some((Try::Exec(mut p), _)) = current.take() else {
            return Reaped::Noted;
        };
        let outcome = match p.try_wait() {
            Some(Err(e)) => Err(format!("exec: {}", super::os_reason(&e))),
            Some(Ok(_)) | None => exec::outcome(kind),
        };
        return Reaped::Over(id, outcome);
    }
    Reaped::NotOurs
}
