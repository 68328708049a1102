//! The daemon: setup, then the only poll(2) loop.
//!
//! Each pass rebuilds the pollfd array and a parallel token list from the
//! current state, polls once with the time to the earliest deadline (or no
//! timeout at all when nothing is due: zero idle wake-ups, SPEC §6), then
//! drains every ready source until it would block. Only setup may fail the
//! process; inside the loop every error becomes a log line or a state.
//!
//! What the loop dispatches to lives beside it, one job a file: `setup`
//! (everything before the loop, the only part that may end the process),
//! `signals` (the signalfd and reaping), `pipes` (child output to the
//! logs) and `requests` (serving clients).

mod healthz;
mod http;
mod listeners;
mod metrics;
mod page;
mod pipes;
mod poll_set;
mod requests;
mod rpc;
mod rpc_admin;
mod rpc_process;
mod setup;
mod signals;

pub use setup::{Options, SetupError};

use super::control::{self, Conn};
use super::state_file;
use super::supervisor::{ConnId, Id, Shutdown, Supervisor};
use crate::wire::Response;
use nix::sys::signalfd::SignalFd;
use pipes::{Follower, PausedPipes, PipeKey, PipeState};
use poll_set::PollSet;
use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::time::{Duration, Instant};

pub struct Daemon {
    sup: Supervisor,
    signals: SignalFd,
    listener: UnixListener,
    conns: BTreeMap<ConnId, Conn>,
    next_conn: ConnId,
    /// `tail -f` clients.
    followers: Vec<Follower>,
    uid: u32,
    /// Held for the daemon's life: the instance lock.
    _lock: File,
    /// A descriptor kept in reserve, given up to refuse a client cleanly
    /// when the daemon runs out of them.
    spare: Option<File>,
    sock_path: PathBuf,
    /// Busy pipes left out of poll for a moment.
    paused: PausedPipes,
    /// Connections whose request under way changes the services: its
    /// answer waits for the state file (see [`Daemon::reply`]).
    changing: std::collections::HashSet<ConnId>,
    /// XML-RPC calls waiting for their services (see `rpc`).
    rpc_calls: rpc::Calls,
    /// The HTTP servers of `[unix_http_server]`/`[inet_http_server]` and
    /// their clients (see `http`).
    http: super::http::Http,
    /// `/metrics` scrapes reading /proc a slice a pass (see `metrics`).
    scrapes: metrics::Scrapes,
}

#[derive(Clone, Copy)]
enum Token {
    Signals,
    Listener,
    Conn(ConnId),
    /// A child's output. `hint` is its index in `sup.pipes` when the pass
    /// began; `pipe` says whose it was, as handlers earlier in the same
    /// pass may have dropped pipes before it.
    Pipe {
        hint: usize,
        pipe: PipeKey,
    },
    /// Readable once `pid`, the adopted process `service` watches, exits.
    Pidfd {
        service: Id,
        pid: i32,
    },
    /// The report pipe of a child not yet known to have exec'd.
    Exec {
        pid: i32,
    },
    /// Room in a full stderr for the daemon's own lines waiting there, or
    /// in its stdout or stderr for children's lines (`/dev/stdout`).
    Stderr,
    /// The socket of a `ready=` check of `service` (see `supervisor/ready`).
    Check {
        service: Id,
    },
    /// The socket of a `health=` check of `service` (see `supervisor/health`).
    Health {
        service: Id,
    },
    /// The sd_notify socket (see `supervisor/notify`).
    Notify,
    /// The `ready=fd:N` pipe of `service` (see `supervisor/notify`).
    ReadyFd {
        service: Id,
    },
    /// The listener of `[unix_http_server]`, of `[inet_http_server]`, and
    /// an HTTP client (see `http`).
    HttpUnix,
    HttpInet,
    Http(ConnId),
    /// An event listener's stdout, or its stdin when `write` (see
    /// `listeners`).
    EventListener {
        service: Id,
        write: bool,
    },
}

impl Daemon {
    // ================================================================ loop

    /// Runs until a clean shutdown has stopped every service; the status
    /// the daemon exits with (SPEC §15: a program's `shutdown_on`, else 0).
    pub fn run(mut self) -> io::Result<u8> {
        let mut set = PollSet::default();
        loop {
            let now = Instant::now();
            if self.sup.shutdown.requested() && self.sup.all_down() {
                self.finish_shutdown();
                return Ok(self.sup.exit_status());
            }
            self.rebuild(&mut set, now);
            let timeout = self.poll_timeout(now);
            self.flush_log(&mut set);
            if let Err(e) = set.wait(timeout) {
                if e.kind() != io::ErrorKind::Interrupted {
                    self.sup.log.error(&format!("poll failed: {e}"));
                }
                continue;
            }
            let now = Instant::now();
            self.dispatch(&set, now);
            self.end_pass(now);
        }
    }

    /// Fills `set` from the current state, as s6 does on each pass: what
    /// changed since the last poll is watched without bookkeeping.
    fn rebuild(&mut self, set: &mut PollSet, now: Instant) {
        set.clear();
        set.add(
            self.signals.as_fd().as_raw_fd(),
            libc::POLLIN,
            Token::Signals,
        );
        // Always: a full table makes room or tells the newcomer why.
        set.add(self.listener.as_raw_fd(), libc::POLLIN, Token::Listener);
        for (id, c) in &self.conns {
            let mut ev = 0;
            if c.wants_read() {
                ev |= libc::POLLIN;
            }
            if c.wants_write() {
                ev |= libc::POLLOUT;
            }
            set.add(c.stream.as_raw_fd(), ev, Token::Conn(*id));
        }
        self.paused.expire(now);
        for (hint, p) in self.sup.pipes.iter().enumerate() {
            let pipe = PipeKey::of(p);
            if self.paused.contains(pipe) || self.sup.output_blocked(p.service, p.stream) {
                continue;
            }
            set.add(p.fd.as_raw_fd(), libc::POLLIN, Token::Pipe { hint, pipe });
        }
        for s in self.sup.services() {
            // Set together: a pidfd watches the service's process.
            if let (Some(fd), Some(pid)) = (&s.pidfd, s.machine.pid) {
                let service = s.id;
                set.add(fd.as_raw_fd(), libc::POLLIN, Token::Pidfd { service, pid });
            }
        }
        for (fd, pid) in self.sup.exec_reports() {
            set.add(fd, libc::POLLIN, Token::Exec { pid });
        }
        for (fd, ev, service) in self.sup.check_fds() {
            set.add(fd, ev, Token::Check { service });
        }
        for (fd, ev, service) in self.sup.health_fds() {
            set.add(fd, ev, Token::Health { service });
        }
        if let Some(fd) = self.sup.notify_fd() {
            set.add(fd, libc::POLLIN, Token::Notify);
        }
        for (fd, service) in self.sup.ready_fd_polls() {
            set.add(fd, libc::POLLIN, Token::ReadyFd { service });
        }
        self.http_poll(set);
        self.listener_polls(set);
    }

    /// How long poll may sleep: until the earliest timer, paused pipe or
    /// idle client is due, or for ever (zero idle wake-ups, SPEC §6).
    fn poll_timeout(&self, now: Instant) -> Option<Duration> {
        let paused_left = self.paused.left(now);
        let idle_left =
            control::idle_deadline(&self.conns).map(|t| t.saturating_duration_since(now));
        self.sup
            .timeout(now)
            .into_iter()
            .chain(paused_left)
            .chain(idle_left)
            .chain(self.scrapes.timeout())
            .chain(self.sup.output_timeout(now))
            .chain(
                self.http
                    .deadline()
                    .map(|t| t.saturating_duration_since(now)),
            )
            .min()
    }

    /// Writes out the daemon's own lines before it sleeps.
    fn flush_log(&mut self, set: &mut PollSet) {
        // What this pass logged goes out before we sleep; what a full
        // stderr cannot take yet goes out when it has room.
        self.sup.log.flush();
        if self.sup.log.stderr_waiting() {
            set.add(self.sup.log.stderr_fd(), libc::POLLOUT, Token::Stderr);
        }
        for fd in self.sup.shared_out.waiting() {
            set.add(fd, libc::POLLOUT, Token::Stderr);
        }
    }

    /// Hands each ready source to its handler, which drains it.
    fn dispatch(&mut self, set: &PollSet, now: Instant) {
        let mut closed_pipes = Vec::new();
        for (token, revents) in set.ready() {
            match token {
                Token::Signals => {
                    self.feed_followers();
                    self.on_signals(now)
                }
                Token::Listener => self.on_accept(),
                Token::Conn(id) => self.on_conn(id, revents, now),
                Token::Pipe { hint, pipe } => match self.on_pipe(hint, pipe) {
                    PipeState::Done => closed_pipes.push(pipe),
                    PipeState::Busy => self.paused.pause(pipe, now),
                    PipeState::Open => {}
                },
                Token::Pidfd { service, pid } => {
                    self.feed_followers();
                    self.on_pidfd(service, pid, now)
                }
                Token::Exec { pid } => self.sup.exec_report(pid, false, now),
                Token::Stderr => {
                    self.sup.log.write_pending();
                    self.sup.shared_out.write();
                }
                Token::Check { service } => self.sup.check_io(service, now),
                Token::Health { service } => self.sup.health_io(service, now),
                Token::Notify => self.sup.notify_read(now),
                Token::ReadyFd { service } => self.sup.ready_fd_read(service, now),
                Token::HttpUnix => self.on_http_accept(true, now),
                Token::HttpInet => self.on_http_accept(false, now),
                Token::Http(id) => self.on_http_conn(id, revents, now),
                Token::EventListener { service, write } => self.on_listener(service, write),
            }
        }
        if !closed_pipes.is_empty() {
            self.sup
                .pipes
                .retain(|p| !closed_pipes.contains(&PipeKey::of(p)));
        }
    }

    /// Runs due timers, answers who waits, saves the state and drops
    /// finished clients: what each pass ends with, whatever woke it.
    fn end_pass(&mut self, now: Instant) {
        self.sup.run_timers(Instant::now());
        self.sup.flush_quiet_output(Instant::now());
        self.sup.pump_events();
        if std::mem::take(&mut self.sup.spawned) {
            // The children just started share this CPU with us until
            // one of us moves: let them run on to their exec and first
            // instructions before the bookkeeping below (answers, the
            // state file, the log) takes it. Otherwise our wake-up at
            // their exec preempts them for all of that.
            // SAFETY: sched_yield has no preconditions.
            unsafe { libc::sched_yield() };
        }
        self.answer_waiters(now);
        self.end_follows_of_removed();
        // One atomic write per pass, however many changes it saw (a
        // failure is logged and tried again next pass).
        let _ = self.sup.persist(Instant::now());
        control::limit(&mut self.conns, &mut self.sup.log);
        self.conns.retain(|_, c| !c.finished());
        self.metrics_step();
        self.http_end_pass(now);
        let (conns, http) = (&self.conns, &self.http.conns);
        self.followers
            .retain(|f| conns.contains_key(&f.conn) || http.contains_key(&f.conn));
        self.sup
            .drop_waits(|c| conns.contains_key(&c) || http.contains_key(&c));
    }

    // ============================================================ handlers

    fn on_accept(&mut self) {
        loop {
            match self.listener.accept() {
                Ok((stream, _)) => {
                    if stream.set_nonblocking(true).is_err() {
                        continue;
                    }
                    let now = Instant::now();
                    let (pid, uid) = match control::peer_cred(&stream) {
                        Ok(cred) => cred,
                        Err(e) => {
                            self.sup
                                .log
                                .warn_limited("peer", &format!("cannot check a client's uid: {e}"));
                            continue;
                        }
                    };
                    let mut conn = Conn::new(stream, pid, now);
                    if uid != self.uid && uid != 0 {
                        self.sup.log.warn_limited(
                            "refused uid",
                            &format!(
                                "refused a client of uid {uid}: only uid {} and root may connect",
                                self.uid
                            ),
                        );
                        conn.send(&Response::Error(
                            format!("permission denied: uid {uid} may not use this supervisor")
                                .into(),
                        ));
                        conn.closing = true;
                    } else if let Err(why) =
                        control::make_room(&mut self.conns, pid, &mut self.sup.log)
                    {
                        self.sup.log.warn_limited("too many connections", &why);
                        conn.send(&Response::Error(why.into()));
                        conn.closing = true;
                        // Not kept: it must not count against the table.
                        if conn.finished() {
                            continue;
                        }
                    }
                    let id = self.next_conn;
                    self.next_conn += 1;
                    self.conns.insert(id, conn);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE)) => {
                    // Out of descriptors: the listener stays readable, so
                    // refusing nothing would spin. Free the spare, take the
                    // client, tell it why, let it go, and keep the spare again.
                    self.spare = None;
                    if let Ok((stream, _)) = self.listener.accept() {
                        let _ = stream.set_nonblocking(true);
                        let mut conn = Conn::new(stream, 0, Instant::now());
                        conn.send(&Response::Error(
                            "the supervisor is out of file descriptors; try again later".into(),
                        ));
                    }
                    self.spare = File::open("/dev/null").ok();
                    self.sup
                        .log
                        .warn_limited("accept", &format!("accept failed: {e}; refused a client"));
                    return;
                }
                Err(e) => {
                    self.sup.log.warn(&format!("accept failed: {e}"));
                    return;
                }
            }
        }
    }

    fn on_conn(&mut self, id: ConnId, revents: libc::c_short, now: Instant) {
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        if revents & libc::POLLOUT != 0 {
            conn.flush();
        }
        // A client that hung up while we hold its answer (or follow a log
        // for it) is gone: HUP keeps being reported, so drop it now.
        if revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0 && !conn.wants_read() {
            conn.dead = true;
            return;
        }
        if revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0 && conn.wants_read() {
            conn.fill();
        }
        self.serve(id, now);
    }

    /// Everything is stopped: answer `close`, flush, and leave.
    fn finish_shutdown(&mut self) {
        // The last words of the stopped children are still in their pipes.
        let all: Vec<PipeKey> = self.sup.pipes.iter().map(PipeKey::of).collect();
        for (hint, pipe) in all.into_iter().enumerate() {
            self.on_pipe_last(hint, pipe);
        }
        // And what they wrote to the daemon's stdout (`/dev/stdout`).
        self.sup
            .shared_out
            .write_before_exit(std::time::Duration::from_millis(500));
        if let Shutdown::Requested { by: Some(conn) } = self.sup.shutdown {
            let msg = format!("supervisor {}: stopped", self.sup.paths.instance);
            self.reply(conn, Response::Ok(msg.into()));
        }
        for c in self.conns.values_mut() {
            // Best effort: a client that does not read loses its answer.
            let _ = c.stream.set_nonblocking(false);
            let _ = c
                .stream
                .set_write_timeout(Some(std::time::Duration::from_millis(200)));
            c.flush();
        }
        // Whatever of the instance outlived its stop rules (a child that
        // left its group, processes a crash left behind) ends now.
        let spare = self.sup.adopted_pids();
        let left = match super::census::may_be_left(&spare) {
            true => super::census::sweep(&self.sup.marker, &self.sup.paths.fifos(), &spare),
            false => 0,
        };
        if left > 0 {
            self.sup.log.info(&format!(
                "killed {left} processes left behind by stopped services"
            ));
        }
        let _ = std::fs::remove_file(&self.sock_path);
        self.http_close();
        // A clean close leaves nothing to take back: the next start begins
        // from the config alone.
        if let Err(e) = state_file::clear(&self.sup.paths.state()) {
            self.sup
                .log
                .error(&format!("cannot remove the state file: {e}"));
        }
        if let Ok(dir) = std::fs::read_dir(self.sup.paths.fifos()) {
            for entry in dir.flatten() {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        self.sup.log.notice("stopped");
        self.sup.log.flush();
    }
}
