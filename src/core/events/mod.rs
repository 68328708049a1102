//! Event listeners (SPEC §14): the events the daemon raises and the pools
//! of `[eventlistener:x]` processes they are delivered to, as supervisord's
//! `EventListenerPool` delivers them.
//!
//! The one way into it from the rest of the daemon is [`Bus`], owned by the
//! supervisor, which tells it of pool members as services come and go
//! (`supervisor/listeners.rs`); the loop polls the members' pipes
//! (`event_loop/listeners.rs`). An event is queued in every pool that
//! subscribes (at most `buffer_size`, the oldest dropped past that) and
//! written whole to the first READY member of the pool whose stdin has
//! room. Nothing here blocks: stdin and stdout are non-blocking pipes, a
//! member that does not read keeps its one envelope and stays BUSY while
//! the queue waits, and a member that writes nonsense goes UNKNOWN.

pub mod protocol;
pub mod types;

use crate::core::log::Logger;
use crate::core::stream::Stream;
use protocol::{ListenerState, Parser, Said};
use std::collections::{HashMap, VecDeque};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime};
use types::Kind;
pub use types::PoolConf;

/// The TICK periods, in the order of their kinds from `TICK_5`.
const TICKS: [u64; 3] = [5, 60, 3600];

/// One event, shared by the queues of the pools that took it.
struct Ev {
    serial: u64,
    kind: Kind,
    payload: String,
}

#[derive(Clone)]
struct Queued {
    ev: Rc<Ev>,
    poolserial: u64,
}

/// A member's pipes: the protocol channel.
struct Chan {
    stdin: OwnedFd,
    /// None once it has ended.
    stdout: Option<OwnedFd>,
    /// What is still to be written of the envelope sent last.
    out: Vec<u8>,
}

struct Member {
    id: u64,
    name: String,
    /// Its process is RUNNING (supervisord dispatches to no other).
    running: bool,
    parser: Parser,
    chan: Option<Chan>,
    /// The event it is busy with.
    event: Option<Queued>,
}

struct Pool {
    name: String,
    conf: PoolConf,
    /// The last poolserial given (supervisord's start at 0).
    serial: Option<u64>,
    queue: VecDeque<Queued>,
    members: Vec<Member>,
}

/// Where events are raised and queued for the listener pools.
#[derive(Default)]
pub struct Bus {
    /// `[supervisord] identifier`, the header's `server:`.
    pub ident: String,
    serial: Option<u64>,
    pools: Vec<Pool>,
    /// Every pool's subscriptions together.
    mask: u32,
    /// The supervisord state each service was last reported in, for the
    /// next event's `from_state`.
    last: HashMap<u64, (&'static str, i32)>,
    /// The last tick of each period raised (or the start), as supervisord's
    /// `timeslice`.
    ticks: [Option<u64>; 3],
    /// What to log, for the next pass (see [`Bus::pump`]).
    notes: Vec<(bool, String)>,
}

fn wall_secs() -> f64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

impl Bus {
    // ------------------------------------------------------------ raising

    /// Whether some pool subscribes to `kind`.
    pub fn wants(&self, kind: Kind) -> bool {
        self.mask & types::bit(kind) != 0
    }

    /// Raises an event: queued in every pool that subscribes to it, with
    /// the global serial and each pool's own; `payload` is only made when
    /// some pool does.
    pub fn raise(&mut self, kind: Kind, payload: impl FnOnce() -> String) {
        if self.wants(kind) {
            self.raise_now(kind, payload());
        }
    }

    /// [`Bus::raise`], not generic: one copy in the binary.
    fn raise_now(&mut self, kind: Kind, payload: String) {
        let serial = self.serial.map_or(0, |s| s.wrapping_add(1));
        self.serial = Some(serial);
        let ev = Rc::new(Ev {
            serial,
            kind,
            payload,
        });
        for p in self.pools.iter_mut() {
            if p.conf.events & types::bit(kind) != 0 {
                let poolserial = p.serial.map_or(0, |s| s.wrapping_add(1));
                p.serial = Some(poolserial);
                let q = Queued {
                    ev: Rc::clone(&ev),
                    poolserial,
                };
                accept(p, q, false, &mut self.notes);
            }
        }
    }

    /// A program with `stdout_events_enabled` / `stderr_events_enabled`
    /// wrote `data` (what one read gave) on `stream`: raises
    /// `PROCESS_LOG_STDOUT` / `PROCESS_LOG_STDERR` for the pools that
    /// subscribe, with supervisord's payload
    /// (`processname:NAME groupname:GROUP pid:PID channel:STREAM\n` + data).
    pub fn process_log(&mut self, name: &str, group: &str, pid: i32, stream: Stream, data: &[u8]) {
        let kind = match stream {
            Stream::Stdout => types::PROCESS_LOG_STDOUT,
            Stream::Stderr => types::PROCESS_LOG_STDERR,
        };
        self.raise(kind, || {
            format!(
                "processname:{name} groupname:{group} pid:{pid} channel:{stream}\n{}",
                types::py_text(data)
            )
        });
    }

    /// Whether any pool subscribes to PROCESS_LOG events: when none does,
    /// the output path need not look at the data at all.
    pub fn wants_process_log(&self) -> bool {
        self.wants(types::PROCESS_LOG_STDOUT) || self.wants(types::PROCESS_LOG_STDERR)
    }

    /// Whether some pool subscribes to a PROCESS_STATE event.
    pub fn wants_state(&self) -> bool {
        self.mask & 0xff != 0
    }

    /// The supervisord state a service was last reported in, and the pid
    /// reported with it.
    pub fn last_reported(&self, id: u64) -> Option<(&'static str, i32)> {
        self.last.get(&id).copied()
    }

    /// A service was reported in supervisord's state `to`, with `pid`.
    pub fn reported(&mut self, id: u64, to: &'static str, pid: i32) {
        self.last.insert(id, (to, pid));
    }

    // ------------------------------------------------------------ members

    /// A service of pool `pool` was added (or given new settings).
    pub fn member_added(&mut self, id: u64, name: &str, pool: &str, conf: &PoolConf) {
        self.member_removed(id);
        let i = match self.pools.iter().position(|p| p.name == pool) {
            Some(i) => i,
            None => {
                self.pools.push(Pool {
                    name: pool.to_string(),
                    conf: conf.clone(),
                    serial: None,
                    queue: VecDeque::new(),
                    members: Vec::new(),
                });
                self.pools.len() - 1
            }
        };
        let p = &mut self.pools[i];
        p.conf = conf.clone();
        p.members.push(Member {
            id,
            name: name.to_string(),
            running: false,
            parser: Parser::default(),
            chan: None,
            event: None,
        });
        self.resubscribe();
    }

    /// A service is gone: out of its pool (the pool goes with its last
    /// member, and its queue with it, as supervisord's).
    pub fn member_removed(&mut self, id: u64) {
        self.last.remove(&id);
        let before = self.pools.len();
        for p in self.pools.iter_mut() {
            p.members.retain(|m| m.id != id);
        }
        self.pools.retain(|p| !p.members.is_empty());
        if self.pools.len() != before {
            self.resubscribe();
        }
    }

    fn resubscribe(&mut self) {
        self.mask = self.pools.iter().fold(0, |m, p| m | p.conf.events);
        let now = wall_secs() as u64;
        for (i, period) in TICKS.iter().enumerate() {
            let on = self.wants(types::TICK_5 + i as Kind);
            let t = &mut self.ticks[i];
            *t = if on {
                t.or(Some(now - now % period))
            } else {
                None
            };
        }
    }

    /// Whether the service is a pool member (its stdin and stdout are the
    /// protocol channel).
    pub fn is_member(&self, id: u64) -> bool {
        self.member(id).is_some()
    }

    fn member(&self, id: u64) -> Option<&Member> {
        self.pools
            .iter()
            .flat_map(|p| &p.members)
            .find(|m| m.id == id)
    }

    /// A new process of member `id` was launched with these pipes (the
    /// daemon's ends, non-blocking): it starts ACKNOWLEDGED.
    pub fn attach(&mut self, id: u64, stdin: OwnedFd, stdout: OwnedFd) {
        if let Some((p, i)) = find(&mut self.pools, id) {
            let m = &mut p.members[i];
            m.parser = Parser::default();
            m.chan = Some(Chan {
                stdin,
                stdout: Some(stdout),
                out: Vec::new(),
            });
        }
    }

    /// Member `id` is RUNNING, or not.
    pub fn set_running(&mut self, id: u64, running: bool) {
        if let Some((p, i)) = find(&mut self.pools, id) {
            p.members[i].running = running;
        }
    }

    /// The process of member `id` is gone: what it wrote last is read, and
    /// an event it was busy with goes back to the head of the queue, to be
    /// sent again (supervisord's EventRejectedEvent).
    pub fn process_gone(&mut self, id: u64) {
        self.readable(id);
        let Some((p, i)) = find(&mut self.pools, id) else {
            return;
        };
        let m = &mut p.members[i];
        m.chan = None;
        m.running = false;
        m.parser = Parser::default();
        if let Some(q) = m.event.take() {
            accept(p, q, true, &mut self.notes);
        }
    }

    /// Whether events still wait for a listener able to take them: queued
    /// in a pool with a live member, or sent and not yet answered. A
    /// shutdown stops the listeners only once none does (or time is up).
    pub fn undelivered(&self) -> bool {
        self.pools.iter().any(|p| {
            let live = |m: &Member| {
                m.running && m.chan.is_some() && m.parser.state != ListenerState::Unknown
            };
            p.members.iter().any(|m| live(m) && m.event.is_some())
                || (!p.queue.is_empty() && p.members.iter().any(live))
        })
    }

    // ------------------------------------------------------------ the loop

    /// The descriptors to poll: fd, events, member, and whether it is the
    /// member's stdin (for room) rather than its stdout. An UNKNOWN
    /// member's stdout is not read any more: one that floods fills its
    /// pipe and waits there, costing the daemon nothing.
    pub fn fds(&self) -> impl Iterator<Item = (RawFd, i16, u64, bool)> + '_ {
        self.pools.iter().flat_map(|p| &p.members).flat_map(|m| {
            let c = m.chan.as_ref();
            let read = c
                .filter(|_| m.parser.state != ListenerState::Unknown)
                .and_then(|c| c.stdout.as_ref())
                .map(|fd| (fd.as_raw_fd(), libc::POLLIN, m.id, false));
            let write = c
                .filter(|c| !c.out.is_empty())
                .map(|c| (c.stdin.as_raw_fd(), libc::POLLOUT, m.id, true));
            read.into_iter().chain(write)
        })
    }

    /// Reads what member `id` wrote, a bounded amount, and acts on it.
    pub fn readable(&mut self, id: u64) {
        let Some((p, i)) = find(&mut self.pools, id) else {
            return;
        };
        let mut said = Vec::new();
        let m = &mut p.members[i];
        let Some(chan) = m.chan.as_mut() else { return };
        let mut buf = [0u8; 4096];
        for _ in 0..16 {
            let Some(fd) = &chan.stdout else { break };
            // SAFETY: reading into a buffer of ours from a descriptor we hold.
            let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            match n {
                n if n > 0 => m.parser.feed(&buf[..n as usize], &mut said),
                -1 if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted => {
                }
                -1 if std::io::Error::last_os_error().kind() == std::io::ErrorKind::WouldBlock => {
                    break
                }
                _ => chan.stdout = None,
            }
        }
        for s in said {
            let m = &mut p.members[i];
            match s {
                Said::Ready => {}
                Said::Result(true) => m.event = None,
                Said::Result(false) => {
                    self.notes
                        .push((false, format!("{}: event was rejected", m.name)));
                    if let Some(q) = m.event.take() {
                        accept(p, q, true, &mut self.notes);
                    }
                }
                Said::Bad(what) => {
                    self.notes.push((
                        false,
                        format!(
                            "{}: has entered the UNKNOWN state and will no longer receive \
                             events, this usually indicates the process violated the \
                             eventlistener protocol (it wrote {what:?})",
                            m.name
                        ),
                    ));
                    if let Some(q) = m.event.take() {
                        accept(p, q, true, &mut self.notes);
                    }
                }
            }
        }
    }

    /// Member `id`'s stdin has room: more of its envelope goes.
    pub fn writable(&mut self, id: u64) {
        if let Some((p, i)) = find(&mut self.pools, id) {
            if let Some(c) = p.members[i].chan.as_mut() {
                flush(c);
            }
        }
    }

    /// Sends queued events to READY members, and hands out what is to be
    /// logged: what each pass of the loop ends with.
    pub fn pump(&mut self, log: &mut Logger) {
        self.send();
        for (error, msg) in self.notes.drain(..) {
            if error {
                log.error(&msg);
            } else {
                log.warn(&msg);
            }
        }
    }

    fn send(&mut self) {
        for p in self.pools.iter_mut() {
            dispatch(p, &self.ident);
        }
    }

    // -------------------------------------------------------------- ticks

    /// When the next TICK a pool subscribes to is due; None when none does
    /// (then the daemon never wakes for them).
    pub fn tick_due(&self, now: Instant) -> Option<Instant> {
        let wall = wall_secs();
        (TICKS.iter().zip(&self.ticks))
            .filter_map(|(period, last)| last.map(|l| l + period))
            .map(|next| now + Duration::from_secs_f64((next as f64 - wall).max(0.0) + 0.002))
            .min()
    }

    /// Raises the TICK events that are due: `when:` is the start of the
    /// period, as supervisord's `timeslice`.
    pub fn tick(&mut self) {
        if self.ticks.iter().all(Option::is_none) {
            return;
        }
        let now = wall_secs() as u64;
        for (i, period) in TICKS.iter().enumerate() {
            let this = now - now % period;
            match self.ticks[i] {
                Some(last) if last != this => {
                    self.ticks[i] = Some(this);
                    self.raise(types::TICK_5 + i as Kind, || format!("when:{this}"));
                }
                _ => {}
            }
        }
    }
}

/// The pool of member `id`, and where in it the member is.
fn find(pools: &mut [Pool], id: u64) -> Option<(&mut Pool, usize)> {
    let p = pools
        .iter_mut()
        .find(|p| p.members.iter().any(|m| m.id == id))?;
    let i = p.members.iter().position(|m| m.id == id)?;
    Some((p, i))
}

/// supervisord's `_acceptEvent`: past `buffer_size` the oldest goes (and
/// is logged); a redelivery goes to the head.
fn accept(p: &mut Pool, q: Queued, head: bool, notes: &mut Vec<(bool, String)>) {
    if p.queue.len() >= p.conf.buffer_size {
        if let Some(old) = p.queue.pop_front() {
            notes.push((
                true,
                format!(
                    "pool {} event buffer overflowed, discarding event {}",
                    p.name, old.ev.serial
                ),
            ));
        }
    }
    if head {
        p.queue.push_front(q);
    } else {
        p.queue.push_back(q);
    }
}

/// supervisord's `dispatch`: the oldest event to the first RUNNING, READY
/// member, until none is left.
fn dispatch(p: &mut Pool, ident: &str) {
    while !p.queue.is_empty() {
        let Some(m) = p.members.iter_mut().find(|m| {
            m.running
                && m.parser.state == ListenerState::Ready
                && m.chan.as_ref().is_some_and(|c| c.out.is_empty())
        }) else {
            return;
        };
        let Some(q) = p.queue.pop_front() else { return };
        let Some(c) = m.chan.as_mut() else { return };
        let e = &q.ev;
        let len = types::py_len(&e.payload);
        c.out = types::header(ident, e.serial, &p.name, q.poolserial, e.kind, len).into_bytes();
        c.out.extend_from_slice(e.payload.as_bytes());
        flush(c);
        m.parser.sent();
        m.event = Some(q);
    }
}

/// Writes what it can of the envelope under way, without blocking. A
/// broken pipe drops it: the process is going, and its event is sent
/// again when it is gone.
fn flush(c: &mut Chan) {
    while !c.out.is_empty() {
        // SAFETY: writing our own buffer to a descriptor we hold.
        let n = unsafe { libc::write(c.stdin.as_raw_fd(), c.out.as_ptr().cast(), c.out.len()) };
        if n >= 0 {
            c.out.drain(..n as usize);
            continue;
        }
        match std::io::Error::last_os_error().kind() {
            std::io::ErrorKind::Interrupted => {}
            std::io::ErrorKind::WouldBlock => return,
            _ => {
                c.out.clear();
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests;
