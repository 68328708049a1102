//! Children between clone(2) and their exec, and what the loop does about
//! them (SPEC §6: nothing blocks the loop).
//!
//! A batch of spawns still waits for its children's exec, [`super::LAUNCH_WINDOW`]
//! in flight at a time, but never [`SPAWN_WAIT`] without one of them
//! reporting: a healthy exec takes well under a millisecond, so `start` and
//! `create-service` answer with the outcome of the exec, as before. A child
//! that has not reported when that time is up (stopped before its exec, or hung in a chdir or execve on a dead
//! NFS or FUSE mount) is handed to the loop: its service is told
//! `Spawned(pid)` (STARTING, with its pid, so stop, status and the rest
//! treat it as the process it is), its report pipe becomes one more poll
//! source, and its exec is confirmed, or its failure fed in as
//! `SpawnFailed`, when the pipe ends. One that still has not reached exec
//! after the exec timeout is killed and its service goes FATAL with the
//! reason.
//!
//! How a child is made (its wiring, its command built once and reused,
//! what a failure says) is here too: [`Supervisor::launch`].
//!
//! The child shares the daemon's memory until its exec, so its
//! [`spawn::Pending`] (which owns the child's stack and context) is kept in
//! [`Launches`] until its report pipe has ended, whatever became of the
//! service.

use super::{Id, Supervisor};
use crate::core::service::Event;
use crate::core::spawn::Target;
use crate::core::spawn::{self, Child};
use crate::core::spec::{OutputSpec, ServiceSpec};
use crate::core::stream::Stream;
use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

/// How long a batch of spawns waits for the next of its children's exec
/// before handing the oldest to the loop: a batch of children that all
/// hang costs the loop this much once, not once each.
pub(super) const SPAWN_WAIT: Duration = Duration::from_millis(20);

/// How long a child may take to reach its exec before it is killed: far
/// beyond any healthy exec (under a millisecond; a cold binary on a slow
/// disk, well under a second), short enough that a service stuck in a hung
/// mount goes FATAL with a reason while someone still looks. Not tied to
/// startsecs, which may be 0. `SV_EXEC_TIMEOUT_MS` in the daemon's
/// environment sets another (tests use it).
const EXEC_TIMEOUT: Duration = Duration::from_secs(10);

fn exec_timeout() -> Duration {
    static T: std::sync::OnceLock<Duration> = std::sync::OnceLock::new();
    *T.get_or_init(|| {
        std::env::var("SV_EXEC_TIMEOUT_MS")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .map_or(EXEC_TIMEOUT, Duration::from_millis)
    })
}

/// A launch the loop waits for.
struct Launch {
    id: Id,
    pending: spawn::Pending,
    /// Whether it reused the service's built command (see `finish_spawn`).
    cached: bool,
    deadline: Instant,
    /// Killed at its deadline; its service was told already.
    expired: bool,
    /// Its pid was reaped (and may be reused): never signal it again.
    reaped: bool,
}

/// Launches handed to the loop, until their report pipe ends.
#[derive(Default)]
pub struct Launches(Vec<Launch>);

impl Drop for Launches {
    fn drop(&mut self) {
        // The daemon is leaving: a child still on our memory (hung in the
        // kernel) must not keep it from exiting. Leaking is safe; the
        // memory goes with the process.
        for l in self.0.drain(..) {
            std::mem::forget(l.pending);
        }
    }
}

/// A launch in a batch, not yet handed to the loop.
pub(super) type Flight = VecDeque<(Id, spawn::Pending, bool)>;

/// A spawn's outcome as far as the batch goes.
pub(super) enum Settled {
    Event(Event),
    /// The built command was stale and was launched again.
    Again(spawn::Pending),
}

impl Supervisor {
    /// The report pipes the loop polls, with their child's pid.
    pub fn exec_reports(&self) -> impl Iterator<Item = (RawFd, i32)> + '_ {
        self.launching
            .0
            .iter()
            .map(|l| (l.pending.report_fd(), l.pending.pid()))
    }

    /// Whether a service's process has yet to reach its exec.
    pub fn exec_pending(&self, id: Id) -> bool {
        self.launching.0.iter().any(|l| l.id == id && !l.expired)
    }

    /// The earliest exec deadline, for poll's timeout.
    pub(super) fn next_exec_deadline(&self) -> Option<Instant> {
        self.launching
            .0
            .iter()
            .filter(|l| !l.expired)
            .map(|l| l.deadline)
            .min()
    }

    /// A report pipe is readable, or its child `pid` was reaped (then the
    /// pipe has ended: a dying process closes its descriptors before it
    /// becomes a zombie): settle the launch if it is over.
    pub fn exec_report(&mut self, pid: i32, reaped: bool, now: Instant) {
        let Some(i) = self.launching.0.iter().position(|l| l.pending.pid() == pid) else {
            return;
        };
        let Some(result) = self.launching.0[i].pending.try_wait() else {
            // Reaped with its pipe still open: cannot happen (an exiting
            // process closes its descriptors first), but its pid must not
            // be signalled once it is free for reuse.
            self.launching.0[i].reaped |= reaped;
            return;
        };
        let l = self.launching.0.swap_remove(i);
        if l.expired {
            return;
        }
        // Still the service's process (not stopped and removed meanwhile)?
        let current = self
            .services
            .get(&l.id)
            .is_some_and(|s| s.machine.pid == Some(pid));
        if !current {
            return;
        }
        match result {
            Ok(_) => {
                // Reaped: it may as well have died before its exec; the
                // exit says what it needs to.
                if let Some(svc) = self.services.get(&l.id).filter(|_| !reaped) {
                    let msg = format!("{}: pid {pid} exec'd", svc.spec.name);
                    self.log.debug(&msg);
                }
            }
            Err(e) => match self.failed_spawn(l.id, e, l.cached) {
                Settled::Event(ev) => self.apply(l.id, ev, now),
                Settled::Again(p) => self.hand_off(l.id, p, false, now),
            },
        }
    }

    /// Kills every child past its exec deadline; its service goes FATAL.
    pub fn expire_launches(&mut self, now: Instant) {
        let mut failed = Vec::new();
        for l in self.launching.0.iter_mut() {
            if !l.expired && l.deadline <= now {
                if !l.reaped {
                    l.pending.kill();
                }
                l.expired = true;
                failed.push((l.id, l.pending.pid()));
            }
        }
        let secs = exec_timeout().as_secs_f64();
        for (id, pid) in failed {
            let Some(svc) = self.services.get_mut(&id) else {
                continue;
            };
            let why = format!(
                "spawn error: the child did not reach exec within {secs} s \
                 (stopped, or hung in chdir/exec?)"
            );
            let msg = format!("{}: pid {pid}: {why}; killed it", svc.spec.name);
            self.log.error(&msg);
            if svc.machine.pid == Some(pid) {
                self.apply(id, Event::SpawnFailed(why), now);
            }
        }
    }

    /// Waits until at most `keep` launches of a batch are in flight,
    /// feeding each outcome to its service. `until` is when the batch gives
    /// up waiting: each exec seen moves it on by [`SPAWN_WAIT`]; once it has
    /// passed, the oldest launches go to the loop instead.
    pub(super) fn settle_flight(
        &mut self,
        flight: &mut Flight,
        keep: usize,
        until: &mut Instant,
        now: Instant,
    ) {
        while flight.len() > keep {
            let mut fds: Vec<libc::pollfd> = flight
                .iter()
                .map(|(_, p, _)| libc::pollfd {
                    fd: p.report_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                })
                .collect();
            let left = until.saturating_duration_since(Instant::now());
            let ms = left.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32;
            // SAFETY: fds is a valid array of fds.len() pollfds.
            let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
            if n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            }
            let mut progress = false;
            let mut i = 0;
            for pfd in &fds {
                if pfd.revents == 0 {
                    i += 1;
                    continue;
                }
                let Some(result) = flight[i].1.try_wait() else {
                    i += 1;
                    continue;
                };
                progress = true;
                if let Some((id, _, cached)) = flight.remove(i) {
                    match self.finish_spawn(id, result, cached) {
                        Settled::Event(ev) => self.apply(id, ev, now),
                        Settled::Again(p) => flight.push_back((id, p, false)),
                    }
                }
            }
            if progress {
                *until = Instant::now() + SPAWN_WAIT;
            } else if Instant::now() >= *until {
                // Out of time: the oldest (all of them, at the end of the
                // batch) wait in the loop instead.
                let excess = flight.len() - keep;
                for (id, p, cached) in flight.drain(..excess).collect::<Vec<_>>() {
                    self.hand_off(id, p, cached, now);
                }
            }
        }
    }

    /// A child whose exec has not been seen yet becomes its service's
    /// process now, and its report pipe a poll source of the loop.
    fn hand_off(&mut self, id: Id, pending: spawn::Pending, cached: bool, now: Instant) {
        let pid = pending.pid();
        let Some(svc) = self.services.get_mut(&id) else {
            // Gone meanwhile: nothing wants it.
            pending.kill();
            self.launching.0.push(Launch {
                id,
                pending,
                cached,
                deadline: now,
                expired: true,
                reaped: false,
            });
            return;
        };
        svc.start_time = pending.start_time();
        let msg = format!(
            "{}: spawned pid {pid}; its exec is not confirmed yet",
            svc.spec.name
        );
        self.log.info(&msg);
        self.spawned = true;
        self.by_pid.insert(pid, id);
        self.launching.0.push(Launch {
            id,
            pending,
            cached,
            deadline: Instant::now() + exec_timeout(),
            expired: false,
            reaped: false,
        });
        self.apply(id, Event::Spawned(pid), now);
    }

    /// A launched child's outcome: the event for its service. A built
    /// command whose program is no longer where it was found (ENOENT,
    /// ENOTDIR: moved to another directory of PATH) is built again and
    /// launched once more before the spawn counts as failed.
    pub(super) fn finish_spawn(
        &mut self,
        id: Id,
        result: io::Result<Child>,
        cached: bool,
    ) -> Settled {
        match result {
            Ok(child) => {
                self.spawned = true;
                self.by_pid.insert(child.pid, id);
                if let Some(svc) = self.services.get_mut(&id) {
                    svc.start_time = child.start_time;
                    let msg = format!("{}: spawned pid {}", svc.spec.name, child.pid);
                    // As supervisord, its `spawned:` line says it.
                    if !self.log.supervisord() {
                        self.log.info(&msg);
                    }
                }
                Settled::Event(Event::Spawned(child.pid))
            }
            Err(e) => self.failed_spawn(id, e, cached),
        }
    }

    fn failed_spawn(&mut self, id: Id, e: io::Error, cached: bool) -> Settled {
        if let Some(svc) = self.services.get_mut(&id) {
            svc.cmd = None;
        }
        let moved = matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ENOTDIR));
        if cached && moved {
            return match self.launch(id) {
                Ok((pending, _)) => Settled::Again(pending),
                Err(ev) => Settled::Event(ev),
            };
        }
        Settled::Event(self.spawn_failed(id, &e))
    }
}

/// Making a child: its wiring, its command, and what a failure says.
impl Supervisor {
    /// Starts a process for a service without waiting for its exec, and
    /// says whether it reused the service's built command; Err is the
    /// event for a spawn that failed before any process existed.
    pub(super) fn launch(&mut self, id: Id) -> Result<(spawn::Pending, bool), Event> {
        self.attach_output(id);
        self.bind_notify(id);
        // An event listener's stdin and stdout: the protocol channel.
        let pipes = match self.listener_pipes(id) {
            Ok(p) => p,
            Err(e) => return Err(self.spawn_failed(id, &e)),
        };
        let Some(svc) = self.services.get(&id) else {
            return Err(Event::SpawnFailed("no such service".into()));
        };
        let spec = &svc.spec;
        let shared = |o: &OutputSpec| matches!(o, OutputSpec::Daemon(_));
        if shared(&spec.stdout) || shared(&spec.stderr) {
            // Its lines and the daemon's share a stream: keep them in order.
            self.log.share_stderr();
        }
        let user = match spec
            .user
            .as_deref()
            .map(crate::core::users::lookup)
            .transpose()
        {
            Ok(u) => u,
            Err(e) => return Err(self.spawn_failed(id, &e)),
        };
        // The child's ends of the FIFOs live until it has exec'd.
        let mut ends: [Option<OwnedFd>; 2] = [None, None];
        for (stream, end) in Stream::BOTH.into_iter().zip(&mut ends) {
            if let Some(path) = &svc.fifos[stream] {
                match crate::core::output::child_end(path) {
                    Ok(fd) => *end = Some(fd),
                    Err(e) => return Err(self.spawn_failed(id, &e)),
                }
            }
        }
        let out_target = |stream: Stream, out: &OutputSpec| match &ends[stream] {
            Some(fd) => Target::Fd(fd.as_raw_fd()),
            None => match out {
                OutputSpec::Daemon(fd) => Target::Fd(*fd),
                OutputSpec::Auto | OutputSpec::File(_) | OutputSpec::Discard => Target::Null,
            },
        };
        let stdout = match &pipes {
            Some((_, w)) => Target::Fd(w.as_raw_fd()),
            None => out_target(Stream::Stdout, &spec.stdout),
        };
        let stderr = if spec.redirect_stderr {
            Target::SameAsStdout
        } else {
            out_target(Stream::Stderr, &spec.stderr)
        };
        // A user's HOME, USER and LOGNAME are looked up afresh each time;
        // anything else is built once.
        let cached = svc.cmd.as_ref().filter(|_| user.is_none());
        let reused = cached.is_some();
        let cmd = match cached {
            Some(cmd) => std::sync::Arc::clone(cmd),
            None => match self.build_command(spec, user.as_ref()) {
                Ok(c) => std::sync::Arc::new(c),
                Err(e) => return Err(self.spawn_failed(id, &e)),
            },
        };
        let mut keep: Vec<OwnedFd> = ends.into_iter().flatten().collect();
        let stdin = pipes.as_ref().map(|(r, _)| r.as_raw_fd());
        keep.extend(pipes.into_iter().flat_map(|(r, w)| [r, w]));
        // `ready=fd:N`: the pipe's write end becomes the child's N.
        let extra = match self.ready_fd_pipe(id) {
            Ok(Some((write, n))) => {
                let raw = write.as_raw_fd();
                keep.push(write);
                Some((raw, n))
            }
            Ok(None) => None,
            Err(e) => return Err(self.spawn_failed(id, &e)),
        };
        let wiring = spawn::Wiring {
            stdin,
            stdout,
            stderr,
            user,
            keep,
        };
        let launched = cmd.launch_with(wiring, extra);
        if let Some(svc) = self.services.get_mut(&id) {
            // Built afresh next time a spawn fails: the program may have moved.
            svc.cmd = launched.is_ok().then_some(cmd);
        }
        launched
            .map(|p| (p, reused))
            .map_err(|e| self.spawn_failed(id, &e))
    }

    /// The strings of a service's command: its argv, what it adds to the
    /// daemon's environment, its working directory.
    pub(super) fn build_command(
        &self,
        spec: &ServiceSpec,
        user: Option<&spawn::RunAs>,
    ) -> std::io::Result<spawn::Command> {
        let mut env = Vec::new();
        if let Some(u) = user {
            // As login(1) would: the user's own HOME, USER and LOGNAME.
            env.push(("HOME".into(), u.home.clone()));
            env.push(("USER".into(), u.name.clone()));
            env.push(("LOGNAME".into(), u.name.clone()));
        }
        env.extend(spec.env.iter().cloned());
        env.push(("SV_INSTANCE".into(), self.paths.instance.to_string()));
        env.push(("SV_PROCESS_NAME".into(), spec.name.clone()));
        env.push(("SUPERVISOR_PROCESS_NAME".into(), spec.name.clone()));
        env.push(("SUPERVISOR_ENABLED".into(), "1".into()));
        // As supervisord: a program outside any [group:x] is its own group.
        let group = spec.group.as_ref().or(spec.program.as_ref());
        let group = group.unwrap_or(&spec.name).clone();
        env.push(("SUPERVISOR_GROUP_NAME".into(), group));
        if let Some(url) = &self.server_url {
            env.push(("SUPERVISOR_SERVER_URL".into(), url.clone()));
        }
        if let Some(path) = self.notify_socket_for(spec) {
            env.push(("NOTIFY_SOCKET".into(), path));
        }
        // How the next daemon finds this process if the state file cannot
        // tell it (see `census`).
        env.push((crate::core::census::MARKER.into(), self.marker.clone()));
        let mut cmd = spawn::Command::new(&spec.argv, &self.base_env, &env, spec.cwd.as_deref())?;
        cmd.umask = spec.umask;
        Ok(cmd)
    }

    /// Logs why a spawn failed; the event it returns takes the machine to
    /// FATAL with that reason.
    pub(super) fn spawn_failed(&mut self, id: Id, e: &std::io::Error) -> Event {
        let why = format!("spawn error: {}", super::os_reason(e));
        if let Some(s) = self.services.get(&id) {
            let msg = format!("{}: {why}", s.spec.name);
            self.log.error(&msg);
        }
        Event::SpawnFailed(why)
    }
}
