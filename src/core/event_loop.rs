//! The daemon: setup, then the only poll(2) loop.
//!
//! Each pass rebuilds the pollfd array and a parallel token list from the
//! current state, polls once with the time to the earliest deadline (or no
//! timeout at all when nothing is due: zero idle wake-ups, SPEC §6), then
//! drains every ready source until it would block. Only setup may fail the
//! process; inside the loop every error becomes a log line or a state.

use super::control::{self, Conn};
use super::log::Logger;
use super::output::{self, Drain};
use super::paths::InstancePaths;
use super::service::{Event, ExitKind};
use super::state_file;
use super::supervisor::{ConnId, Supervisor};
use super::sys;
use crate::wire::{DaemonInfo, Request, Response, TailSpec};

/// The most `tail` sends at once, well under the frame limit.
const TAIL_LIMIT: usize = 512 * 1024;
/// A pipe that gave at least this much in one wake-up is busy: it is left
/// out of poll for [`COALESCE`], so the next wake-up finds much more in it
/// (a child writing fast otherwise wakes the daemon once per write, and
/// pays for that wake-up itself in every write).
const HOT_BYTES: u64 = 64 * 1024;
const COALESCE: std::time::Duration = std::time::Duration::from_micros(100);
/// The most of a request or an answer that the log shows.
const DESCRIBE_MAX: usize = 512;
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::time::Instant;

/// How the daemon was asked to run.
pub struct Options {
    pub instance: u8,
    pub config: Option<PathBuf>,
    /// After setup, point stdio at /dev/null (`sv init`: the parent reads
    /// stderr until then to learn whether startup worked).
    pub detach: bool,
}

/// A failure before the loop runs; the daemon exits with it.
#[derive(Debug)]
pub struct SetupError {
    pub message: String,
    /// Another daemon holds the instance.
    pub already_running: bool,
}

impl SetupError {
    fn new(message: String) -> SetupError {
        SetupError {
            message,
            already_running: false,
        }
    }
}

pub struct Daemon {
    sup: Supervisor,
    signals: SignalFd,
    listener: UnixListener,
    conns: BTreeMap<ConnId, Conn>,
    next_conn: ConnId,
    /// `tail -f` clients: (connection, service, stream).
    followers: Vec<(ConnId, u64, usize)>,
    uid: u32,
    /// Held for the daemon's life: the instance lock.
    _lock: File,
    /// A descriptor kept in reserve, given up to refuse a client cleanly
    /// when the daemon runs out of them.
    spare: Option<File>,
    sock_path: PathBuf,
    /// Busy pipes (service, stream) left out of poll until `hot_until`.
    hot: Vec<(u64, usize)>,
    hot_until: Option<Instant>,
    /// Connections whose request under way changes the services: its
    /// answer waits for the state file (see [`Daemon::reply`]).
    changing: std::collections::HashSet<ConnId>,
}

/// What reading a pipe found.
enum PipeState {
    /// Its writers are gone (or it failed): drop it.
    Done,
    Open,
    /// It gave a lot straight into its log: more is coming at once.
    Busy,
}

#[derive(Clone, Copy)]
enum Token {
    Signals,
    Listener,
    Conn(ConnId),
    /// Index in `sup.pipes` when the pass began, and whose pipe it was:
    /// handlers earlier in the same pass may have dropped pipes before it.
    Pipe(usize, u64, usize),
    Pidfd(u64),
    /// The report pipe of a child not yet known to have exec'd, by pid.
    Exec(i32),
}

impl Daemon {
    /// Takes the instance lock, blocks the handled signals into a signalfd,
    /// and binds the control socket.
    pub fn open(opts: Options) -> Result<Daemon, SetupError> {
        let paths = InstancePaths::new(opts.instance);
        paths.create().map_err(|e| SetupError::new(e.to_string()))?;
        let lock = open_lock(&paths)?;

        let mut mask = SigSet::empty();
        for s in [
            Signal::SIGCHLD,
            Signal::SIGTERM,
            Signal::SIGINT,
            Signal::SIGHUP,
            Signal::SIGUSR2,
        ] {
            mask.add(s);
        }
        mask.thread_block()
            .map_err(|e| SetupError::new(format!("cannot block signals: {e}")))?;
        let signals = SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
            .map_err(|e| SetupError::new(format!("cannot create signalfd: {e}")))?;
        if let Err(e) = super::spawn::raise_nofile() {
            eprintln!(
                "supervisor {}: cannot raise the descriptor limit: {e}",
                opts.instance
            );
        }
        super::spawn::prepare()
            .map_err(|e| SetupError::new(format!("cannot open /dev/null: {e}")))?;
        if let Err(e) = sys::set_child_subreaper() {
            eprintln!(
                "supervisor {}: cannot become child subreaper: {e}",
                opts.instance
            );
        }

        // Read the config before anything is bound: a broken one is refused
        // with its file and line, and nothing starts.
        let cfg = match &opts.config {
            Some(path) => Some(
                super::config::load(path).map_err(|e| SetupError::new(format!("error: {e}")))?,
            ),
            None => None,
        };

        let sock_path = paths.sock();
        // We hold the lock, so any socket file left here is stale.
        let _ = std::fs::remove_file(&sock_path);
        // Bind under umask 0177 so the socket is never, even briefly, open
        // wider than 0600.
        // SAFETY: umask cannot fail; the daemon is single-threaded.
        let old_mask = unsafe { libc::umask(0o177) };
        let bound = UnixListener::bind(&sock_path);
        // SAFETY: as above, restoring the previous mask.
        unsafe { libc::umask(old_mask) };
        let listener = bound.map_err(|e| {
            SetupError::new(format!("cannot listen on {}: {e}", sock_path.display()))
        })?;
        std::fs::set_permissions(&sock_path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| SetupError::new(format!("cannot chmod {}: {e}", sock_path.display())))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| SetupError::new(format!("cannot set the socket non-blocking: {e}")))?;

        let mut log = Logger::new(opts.instance);
        let config = opts.config.clone();
        log.info(&format!(
            "started, pid {}, socket {}",
            std::process::id(),
            sock_path.display()
        ));
        // A state file means the last daemon died without `close`.
        let state_path = paths.state();
        let saved = match state_file::read(&state_path) {
            Ok(saved) => saved,
            Err(why) => {
                let kept = match state_file::set_aside(&state_path) {
                    Ok(p) => format!("kept as {}", p.display()),
                    Err(e) => format!("and it cannot be moved aside: {e}"),
                };
                log.error(&format!(
                    "state file {} refused: {why}; {kept}; starting from the config alone",
                    state_path.display()
                ));
                None
            }
        };
        let mut sup = Supervisor::new(paths, log, config);
        // Detach before the first spawn, so no child holds `init`'s pipe.
        if opts.detach {
            sup.log.flush();
            detach_stdio();
        }
        // Whatever the state file says, the instance's own processes are
        // found in /proc: those it does not record are taken back too.
        let found = super::census::scan(&sup.marker, &sup.paths.fifos());
        if !found.is_empty() {
            sup.log.info(&format!(
                "found {} processes of this instance still running",
                found.len()
            ));
        }
        match (saved, cfg) {
            (Some(saved), cfg) => {
                sup.log.info(&format!(
                    "taking back {} services from {}",
                    saved.services.len(),
                    state_path.display()
                ));
                sup.recover(saved, cfg, found, Instant::now());
            }
            (None, cfg) if !found.is_empty() => {
                sup.recover(state_file::Saved::default(), cfg, found, Instant::now())
            }
            (None, Some(cfg)) => sup.load_programs(cfg, Instant::now()),
            (None, None) => {}
        }
        let _ = sup.persist(Instant::now());
        Ok(Daemon {
            sup,
            signals,
            listener,
            conns: BTreeMap::new(),
            next_conn: 1,
            followers: Vec::new(),
            uid: sys::getuid(),
            _lock: lock,
            spare: File::open("/dev/null").ok(),
            sock_path,
            hot: Vec::new(),
            hot_until: None,
            changing: Default::default(),
        })
    }

    /// The supervisor, for setting up services before the loop runs.
    pub fn supervisor(&mut self) -> &mut Supervisor {
        &mut self.sup
    }

    // ================================================================ loop

    /// Runs until a clean shutdown has stopped every service.
    pub fn run(mut self) -> io::Result<()> {
        let mut fds: Vec<libc::pollfd> = Vec::new();
        let mut tokens: Vec<Token> = Vec::new();
        loop {
            let now = Instant::now();
            if self.sup.shutdown.is_some() && self.sup.all_down() {
                self.finish_shutdown();
                return Ok(());
            }

            // ---- rebuild ----
            fds.clear();
            tokens.clear();
            let mut add = |fd: RawFd, events: libc::c_short, t: Token| {
                fds.push(libc::pollfd {
                    fd,
                    events,
                    revents: 0,
                });
                tokens.push(t);
            };
            add(
                self.signals.as_fd().as_raw_fd(),
                libc::POLLIN,
                Token::Signals,
            );
            // Always: a full table makes room or tells the newcomer why.
            add(self.listener.as_raw_fd(), libc::POLLIN, Token::Listener);
            for (id, c) in &self.conns {
                let mut ev = 0;
                if c.wants_read() {
                    ev |= libc::POLLIN;
                }
                if c.wants_write() {
                    ev |= libc::POLLOUT;
                }
                add(c.stream.as_raw_fd(), ev, Token::Conn(*id));
            }
            if self.hot_until.is_some_and(|t| t <= now) {
                self.hot.clear();
                self.hot_until = None;
            }
            for (i, p) in self.sup.pipes.iter().enumerate() {
                if self.hot.contains(&(p.service, p.stream)) {
                    continue;
                }
                add(
                    p.fd.as_raw_fd(),
                    libc::POLLIN,
                    Token::Pipe(i, p.service, p.stream),
                );
            }
            for s in self.sup.services() {
                if let Some(fd) = &s.pidfd {
                    add(fd.as_raw_fd(), libc::POLLIN, Token::Pidfd(s.id));
                }
            }
            for (fd, pid) in self.sup.exec_reports() {
                add(fd, libc::POLLIN, Token::Exec(pid));
            }

            // ---- poll ----
            let hot_left = self.hot_until.map(|t| t.saturating_duration_since(now));
            let idle_left =
                control::idle_deadline(&self.conns).map(|t| t.saturating_duration_since(now));
            let timeout = self
                .sup
                .timeout(now)
                .into_iter()
                .chain(hot_left)
                .chain(idle_left)
                .min();
            // In nanoseconds: a timer is never run early, and a busy pipe's
            // pause is not rounded up to a millisecond.
            let ts = timeout.map(|d| {
                let d = d.min(std::time::Duration::from_secs(i32::MAX as u64));
                libc::timespec {
                    tv_sec: d.as_secs() as _,
                    tv_nsec: d.subsec_nanos() as _,
                }
            });
            // What this pass logged goes out before we sleep.
            self.sup.log.flush();
            // SAFETY: fds is a valid array of fds.len() pollfds; the
            // timespec, if any, lives across the call; no signal mask.
            let n = unsafe {
                libc::ppoll(
                    fds.as_mut_ptr(),
                    fds.len() as libc::nfds_t,
                    ts.as_ref().map_or(std::ptr::null(), |t| t as *const _),
                    std::ptr::null(),
                )
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    self.sup.log.error(&format!("poll failed: {e}"));
                }
                continue;
            }

            // ---- dispatch ----
            let now = Instant::now();
            let mut closed_pipes = Vec::new();
            for (pfd, token) in fds.iter().zip(tokens.iter()) {
                // HUP and ERR count as readable: the read finds out what happened.
                if pfd.revents == 0 {
                    continue;
                }
                match *token {
                    Token::Signals => self.on_signals(now),
                    Token::Listener => self.on_accept(),
                    Token::Conn(id) => self.on_conn(id, pfd.revents, now),
                    Token::Pipe(i, service, stream) => match self.on_pipe(i, service, stream) {
                        PipeState::Done => closed_pipes.push((service, stream)),
                        PipeState::Busy => {
                            // Join the pause under way rather than extend
                            // it: a stream of newly busy pipes must not keep
                            // the first ones out of poll for ever.
                            self.hot.push((service, stream));
                            self.hot_until.get_or_insert(now + COALESCE);
                        }
                        PipeState::Open => {}
                    },
                    Token::Pidfd(id) => self.sup.apply(id, Event::Exited(ExitKind::Unknown), now),
                    Token::Exec(pid) => self.sup.exec_report(pid, false, now),
                }
            }
            if !closed_pipes.is_empty() {
                self.sup
                    .pipes
                    .retain(|p| !closed_pipes.contains(&(p.service, p.stream)));
            }

            // ---- timers and answers ----
            self.sup.run_timers(Instant::now());
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
            // One atomic write per pass, however many changes it saw (a
            // failure is logged and tried again next pass).
            let _ = self.sup.persist(Instant::now());
            control::limit(&mut self.conns, &mut self.sup.log);
            self.conns.retain(|_, c| !c.finished());
            let conns = &self.conns;
            self.followers.retain(|f| conns.contains_key(&f.0));
        }
    }

    // ============================================================ handlers

    /// Reads every pending signal first, then acts once per kind: a
    /// SIGCHLD that arrives while restarts are being made waits for the
    /// next pass, so children that die at once cannot hold the loop here.
    fn on_signals(&mut self, now: Instant) {
        let mut seen = Vec::new();
        // Up to 16 at a time: one read(2) in the usual case of one signal.
        const BATCH: usize = 16;
        const SIZE: usize = std::mem::size_of::<libc::signalfd_siginfo>();
        let mut buf = [0u8; BATCH * SIZE];
        loop {
            // SAFETY: reading into a local buffer from the signalfd we own.
            let n = unsafe {
                libc::read(
                    self.signals.as_fd().as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                )
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                match e.kind() {
                    io::ErrorKind::Interrupted => continue,
                    io::ErrorKind::WouldBlock => {}
                    _ => self
                        .sup
                        .log
                        .error(&format!("reading the signalfd failed: {e}")),
                }
                break;
            }
            let n = n as usize;
            for info in buf[..n - n % SIZE].chunks_exact(SIZE) {
                // ssi_signo is the first field, a u32 in native byte order.
                let signo = u32::from_ne_bytes([info[0], info[1], info[2], info[3]]);
                if let Ok(sig) = Signal::try_from(signo as i32) {
                    if !seen.contains(&sig) {
                        seen.push(sig);
                    }
                }
            }
            if n < buf.len() {
                break;
            }
        }
        for sig in seen {
            match sig {
                Signal::SIGCHLD => self.reap(now),
                Signal::SIGTERM | Signal::SIGINT => {
                    self.sup.log.info("received a signal to terminate");
                    self.sup.begin_shutdown(None, now);
                }
                Signal::SIGHUP => {
                    self.sup.log.info("SIGHUP: reloading the config file");
                    self.reload(now);
                }
                Signal::SIGUSR2 => {
                    self.sup.log.info("SIGUSR2: reopening log files");
                    let ids: Vec<u64> = self.sup.services().map(|s| s.id).collect();
                    for id in ids {
                        if let Some(s) = self.sup.service_mut(id) {
                            s.logs.iter_mut().for_each(|l| l.reopen());
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// Reaps every child that changed state. signalfd merges SIGCHLDs, so
    /// one signal can stand for many children: loop until none is left.
    fn reap(&mut self, now: Instant) {
        // Restarts wait until the loop is done: a child that dies at once
        // would otherwise keep this loop (and the daemon) busy for ever.
        self.sup.begin_batch();
        self.reap_all(now);
        self.sup.end_batch(now);
    }

    /// waitpid(2) itself, not nix's: nix has no way to say "killed by a
    /// real-time signal" and fails such a status after reaping it, which
    /// lost the exit for good (see `wait`).
    fn reap_all(&mut self, now: Instant) {
        loop {
            let Some((pid, ev)) = super::wait::wait_any() else {
                return;
            };
            if let Event::Exited(_) = ev {
                // Its report pipe has ended: settle its exec first.
                self.sup.exec_report(pid, true, now);
            }
            self.sup.child_event(pid, ev, now);
        }
    }

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

    /// Serves the whole requests a connection has sent, until one must wait.
    fn serve(&mut self, id: ConnId, now: Instant) {
        self.log_refusal(id);
        while let Some(req) = self.conns.get_mut(&id).and_then(|c| c.next_request()) {
            let what = describe(&req);
            let what = control::clip(&what, DESCRIBE_MAX);
            self.sup.log.info(&format!("request: {what}"));
            if changes_state(&req) {
                self.changing.insert(id);
            }
            match self.handle(id, req, now) {
                Some(resp) => self.reply(id, resp),
                None => {
                    if let Some(c) = self.conns.get_mut(&id) {
                        c.busy = true;
                    }
                }
            }
        }
        self.log_refusal(id);
    }

    /// Logs why a connection's frame was refused; a flood of them makes
    /// one line a second.
    fn log_refusal(&mut self, id: ConnId) {
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        if let Some(why) = c.refused.take() {
            let msg = format!("bad request from pid {}: {why}", c.pid);
            self.sup.log.warn_limited("bad request", &msg);
        }
    }

    /// Copies what a child wrote to its log, and to any `tail -f` of it.
    fn on_pipe(&mut self, hint: usize, service: u64, stream: usize) -> PipeState {
        let is_it = |p: &super::supervisor::OutPipe| p.service == service && p.stream == stream;
        let i = match self.sup.pipes.get(hint) {
            Some(p) if is_it(p) => hint,
            _ => match self.sup.pipes.iter().position(is_it) {
                Some(i) => i,
                // Dropped earlier in this pass (its service stopped).
                None => return PipeState::Open,
            },
        };
        let followed = self
            .followers
            .iter()
            .any(|f| f.1 == service && f.2 == stream);
        let mut copy = Vec::new();
        let mut failed = None;
        let mut busy = false;
        // The pipe list and the service table both live in `sup`: lend the
        // list out while the closure writes into the table.
        let pipes = std::mem::take(&mut self.sup.pipes);
        let result = pipes.get(i).map(|pipe| {
            let sup = &mut self.sup;
            if !followed {
                // Nobody tails it: straight from the pipe to the file.
                let Some(s) = sup.service_mut(service) else {
                    return output::drain(&pipe.fd, |_| {});
                };
                let (result, error) = s.logs[stream].splice_from(&pipe.fd);
                busy = s.logs[stream].moved >= HOT_BYTES;
                if let Some(e) = error {
                    failed = Some(format!("{}: log error: {e}", s.name()));
                }
                return result;
            }
            output::drain(&pipe.fd, |data| {
                if let Some(s) = sup.service_mut(service) {
                    if let Some(e) = s.logs[stream].write(data) {
                        failed = Some(format!("{}: log error: {e}", s.name()));
                    }
                }
                if followed {
                    copy.extend_from_slice(data);
                }
            })
        });
        self.sup.pipes = pipes;
        if let Some(msg) = failed {
            self.sup.log.error(&msg);
        }
        for chunk in copy.chunks(256 * 1024) {
            let resp = Response::Bytes(chunk.to_vec().into());
            for f in self
                .followers
                .iter()
                .filter(|f| f.1 == service && f.2 == stream)
            {
                if let Some(c) = self.conns.get_mut(&f.0) {
                    c.send(&resp);
                }
            }
        }
        match result {
            Some(Ok(Drain::Open)) if busy => PipeState::Busy,
            Some(Ok(Drain::Open)) => PipeState::Open,
            _ => PipeState::Done,
        }
    }

    /// `tail`: the last lines now; with `follow`, every new chunk after.
    fn tail(&mut self, conn: ConnId, t: TailSpec) -> Option<Response> {
        let id = match self.sup.resolve(&t.target) {
            Ok(ids) if ids.len() == 1 => ids[0],
            Ok(_) => {
                return Some(Response::Error(
                    format!("tail takes one service, and {} names several", t.target).into(),
                ))
            }
            Err(e) => return Some(Response::Error(e.into())),
        };
        let stream = usize::from(t.stream.min(1));
        let name = ["stdout", "stderr"][stream];
        let svc = self.sup.services().find(|s| s.id == id)?;
        if stream == 1 && svc.spec.redirect_stderr {
            return Some(Response::Error(
                format!(
                    "{}: stderr is redirected to stdout; tail its stdout",
                    svc.name()
                )
                .into(),
            ));
        }
        let Some(path) = svc.logs[stream].path.clone() else {
            return Some(Response::Error(
                format!("{}: {name} is not captured to a log file", svc.name()).into(),
            ));
        };
        let data = match output::tail(&path, t.lines as usize, TAIL_LIMIT) {
            Ok(d) => d,
            Err(e) => {
                return Some(Response::Error(
                    format!("cannot read {}: {e}", path.display()).into(),
                ))
            }
        };
        if !t.follow {
            return Some(Response::Bytes(data.into()));
        }
        if let Some(c) = self.conns.get_mut(&conn) {
            c.send(&Response::Bytes(data.into()));
        }
        self.followers.push((conn, id, stream));
        None
    }

    // ============================================================ requests

    /// Serves one request: Some(answer) now, or None when a waiter answers later.
    fn handle(&mut self, conn: ConnId, req: Request, now: Instant) -> Option<Response> {
        match req {
            Request::Ping => Some(Response::Ok("pong".into())),
            Request::Info => Some(Response::Info(DaemonInfo {
                instance: self.sup.paths.instance,
                pid: std::process::id() as i32,
                uptime_secs: now.saturating_duration_since(self.sup.started).as_secs(),
                services: self.sup.len() as u32,
                config: self
                    .sup
                    .config
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
                    .into(),
            })),
            Request::Shutdown => {
                self.sup.begin_shutdown(Some(conn), now);
                None
            }
            Request::Create(spec) => Some(super::create::create_durably(&mut self.sup, spec, now)),
            Request::Adopt(a) => Some(match self.sup.adopt(a.pid, a.name.map(|n| n.0), now) {
                Ok(name) => Response::Ok(format!("{name}: adopted, pid {}", a.pid).into()),
                Err(e) => Response::Error(e.into()),
            }),
            Request::Act(action, targets) => self.sup.act(conn, action, &targets, now),
            Request::Status(targets) => Some(self.sup.status(&targets, now)),
            Request::Tail(t) => self.tail(conn, t),
            Request::Reload => Some(self.reload(now)),
        }
    }

    /// `reload` and SIGHUP: re-read the config file and apply the difference.
    fn reload(&mut self, now: Instant) -> Response {
        let resp = self.sup.reload(now);
        match &resp {
            Response::Ok(t) | Response::Error(t) => {
                for line in t.lines() {
                    self.sup.log.info(&format!("reload: {line}"));
                }
            }
            _ => {}
        }
        resp
    }

    fn reply(&mut self, id: ConnId, resp: Response) {
        // What is answered is on disk first: a SIGKILL right after the
        // answer loses nothing (SPEC §8); a change that cannot be is
        // answered as failed.
        let changed = self.changing.remove(&id);
        let resp = self.sup.durable(changed, resp, Instant::now());
        let what = describe_response(&resp);
        let what = control::clip(&what, DESCRIBE_MAX);
        self.sup.log.info(&format!("answer: {what}"));
        // And logged: a client that reads the log after its answer finds
        // every line that led to it.
        self.sup.log.flush();
        if let Some(c) = self.conns.get_mut(&id) {
            c.busy = false;
            c.send(&resp);
        }
    }

    fn answer_waiters(&mut self, now: Instant) {
        for (conn, resp) in self.sup.settle_waiters(now) {
            self.reply(conn, resp);
            // It may have sent more requests (or hung up) meanwhile.
            self.serve(conn, now);
        }
    }

    /// Everything is stopped: answer `close`, flush, and leave.
    fn finish_shutdown(&mut self) {
        // The last words of the stopped children are still in their pipes.
        let all: Vec<(u64, usize)> = self
            .sup
            .pipes
            .iter()
            .map(|p| (p.service, p.stream))
            .collect();
        for (i, (service, stream)) in all.into_iter().enumerate() {
            self.on_pipe(i, service, stream);
        }
        if let Some(Some(conn)) = self.sup.shutdown {
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
        let left = super::census::sweep(&self.sup.marker, &self.sup.paths.fifos());
        if left > 0 {
            self.sup.log.info(&format!(
                "killed {left} processes left behind by stopped services"
            ));
        }
        let _ = std::fs::remove_file(&self.sock_path);
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
        self.sup.log.info("stopped");
        self.sup.log.flush();
    }
}

fn open_lock(paths: &InstancePaths) -> Result<File, SetupError> {
    use std::os::unix::fs::OpenOptionsExt;
    let path = paths.lock();
    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)
        .map_err(|e| SetupError::new(format!("cannot open {}: {e}", path.display())))?;
    match sys::try_lock(&f) {
        Ok(true) => {}
        Ok(false) => {
            let holder = std::fs::read_to_string(&path).unwrap_or_default();
            let holder = holder.trim();
            return Err(SetupError {
                message: format!(
                    "supervisor {} is already running{}",
                    paths.instance,
                    if holder.is_empty() {
                        String::new()
                    } else {
                        format!(" (pid {holder})")
                    }
                ),
                already_running: true,
            });
        }
        Err(e) => {
            return Err(SetupError::new(format!(
                "cannot lock {}: {e}",
                path.display()
            )))
        }
    }
    let _ = f.set_len(0);
    let _ = writeln!(f, "{}", std::process::id());
    Ok(f)
}

/// Points stdin, stdout and stderr at /dev/null.
fn detach_stdio() {
    if let Ok(null) = OpenOptions::new().read(true).write(true).open("/dev/null") {
        for fd in 0..3 {
            // SAFETY: dup2 onto our own standard descriptors.
            unsafe { libc::dup2(null.as_raw_fd(), fd) };
        }
    }
}

/// Whether a request changes what the state file records. Creating
/// answers for itself (`create::create_durably`).
fn changes_state(req: &Request) -> bool {
    match req {
        Request::Adopt(_) | Request::Act(..) | Request::Reload => true,
        Request::Ping
        | Request::Info
        | Request::Shutdown
        | Request::Create(_)
        | Request::Status(_)
        | Request::Tail(_) => false,
    }
}

/// A request, for the log.
fn describe(req: &Request) -> String {
    match req {
        Request::Ping => "ping".into(),
        Request::Info => "info".into(),
        Request::Shutdown => "close".into(),
        Request::Create(c) => format!(
            "create-service {}",
            c.argv
                .iter()
                .map(|a| a.0.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        ),
        Request::Adopt(a) => format!("open-service {}", a.pid),
        Request::Act(action, t) => format!(
            "{action:?} {}",
            t.iter().map(|a| a.0.as_str()).collect::<Vec<_>>().join(" ")
        )
        .to_lowercase(),
        Request::Status(t) => std::iter::once("status")
            .chain(t.iter().map(|a| a.0.as_str()))
            .collect::<Vec<_>>()
            .join(" "),
        Request::Tail(t) => format!(
            "tail{} -n {} {} {}",
            if t.follow { " -f" } else { "" },
            t.lines,
            t.target,
            ["stdout", "stderr"][usize::from(t.stream.min(1))]
        ),
        Request::Reload => "reload".into(),
    }
}

fn describe_response(resp: &Response) -> String {
    match resp {
        Response::Ok(t) => format!("ok {t}"),
        Response::Error(t) => format!("error {t}"),
        Response::Outcomes(o) | Response::OutcomesPart(o) => o
            .iter()
            .map(|o| format!("{}: {}", o.name, o.message))
            .collect::<Vec<_>>()
            .join("; "),
        Response::Status(s) | Response::StatusPart(s) => format!("{} services", s.len()),
        Response::Info(_) => "info".into(),
        Response::Bytes(b) => format!("{} bytes", b.len()),
    }
}
