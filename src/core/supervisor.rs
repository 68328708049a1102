//! The table of services and the only executor of [`Effect`]s.
//!
//! Everything that happens to a service goes through [`Supervisor::apply`]:
//! it runs the pure [`step`], carries out the effects (spawn, signal,
//! forget), feeds spawn results back in, and logs every state change.
//! Requests that must wait for an outcome (`start` waits for RUNNING, `stop`
//! for STOPPED) become [`Waiter`]s, checked after every loop pass.

use super::log::Logger;
use super::output::LogFile;
use super::paths::InstancePaths;
use super::service::{step, Effect, Event, Machine, State, Want};
use super::spawn;
use super::spec::{OutputSpec, ServiceSpec};
use super::state_file::Origin;
use super::stream::Stream;
use super::sys;
use crate::wire::Outcome;
use std::collections::{BTreeMap, HashMap};
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::time::{Duration, Instant};

pub type Id = u64;
pub type ConnId = u64;

/// Timers run in one pass of the loop, at most: each may spawn.
const TIMERS_PER_PASS: usize = 16;

/// Children launched but not yet known to have exec'd, at most: enough to
/// keep every CPU busy loading one while the daemon makes the next.
const LAUNCH_WINDOW: usize = 8;

/// One supervised service.
pub struct Service {
    pub id: Id,
    pub spec: ServiceSpec,
    pub machine: Machine,
    /// Adopted processes: readable when the process exits.
    pub pidfd: Option<OwnedFd>,
    pub logs: [LogFile; 2],
    /// Stopped by a command: reload does not autostart it.
    pub held: bool,
    /// The FIFO of each captured stream (see `output`).
    pub fifos: [Option<PathBuf>; 2],
    /// How to rebuild it after a crash of the daemon.
    pub origin: Origin,
    /// Start time of its process (/proc/PID/stat field 22), to recognise it.
    pub start_time: u64,
    /// Its command line, environment and paths as C strings, built at the
    /// first spawn and reused by every restart; None after a change of spec.
    pub cmd: Option<std::sync::Arc<spawn::Command>>,
    /// Its processes' ends by reason, for `/metrics` (SPEC §16).
    pub exits: super::metrics::Exits,
}

impl Service {
    pub fn name(&self) -> &str {
        &self.spec.name
    }
}

/// A pipe from a child's stdout or stderr to a service's log.
pub struct OutPipe {
    pub fd: OwnedFd,
    pub service: Id,
    pub stream: Stream,
}

mod actions;
mod deps;
mod exit_policy;
pub use exit_policy::ShutdownOn;
pub mod groups;
mod health;
mod last_read;
mod launching;
mod leftovers;
mod listeners;
mod log_lines;
mod notify;
mod observe;
mod output;
mod persist;
mod plans;
mod probe;
mod ready;
mod recover;
mod reload;
mod schedule;
mod shutdown;
pub use shutdown::Shutdown;
mod status;
mod table;
pub(crate) use status::svc_reason;
mod timers;
mod update;
mod wait;
use actions::Waiter;
use plans::Plan;

pub struct Supervisor {
    pub paths: InstancePaths,
    pub log: Logger,
    pub started: Instant,
    pub config: Option<PathBuf>,
    /// Boxed: a `Service` is over 1 KiB, and a B-tree leaf holds 11 of them
    /// inline, half empty after a split (1000 services: 2.2 MiB, boxed 1.2).
    services: BTreeMap<Id, Box<Service>>,
    by_pid: HashMap<i32, Id>,
    /// Every service by name: resolving, creating and reloading cost the
    /// same with ten services or ten thousand.
    by_name: HashMap<String, Id>,
    /// Every machine's deadline, in time order.
    timers: timers::Timers,
    /// The schedules' due times (SPEC §17, see `schedule`).
    schedules: schedule::Schedules,
    next_id: Id,
    pub pipes: Vec<OutPipe>,
    waiters: Vec<Waiter>,
    /// Set while an XML-RPC `startProcess` makes its request: its start
    /// answers at the first failed attempt (BACKOFF), as supervisord's
    /// does, instead of waiting through the retries as `sv start` does
    /// (with `startretries=0`, for ever).
    pub answer_first_failure: bool,
    /// `sv wait` requests under way (see `wait`).
    waits: Vec<wait::Wait>,
    plans: Vec<Plan>,
    /// Stopping services whose leader is gone but whose group may not be.
    lingering: std::collections::HashSet<Id>,
    /// The services changed since the state file was last written.
    pub dirty: bool,
    /// Inside a batch (see [`Supervisor::begin_batch`]), how deep: spawns
    /// wait in `deferred` until it ends.
    batch: u32,
    deferred: Vec<Id>,
    /// A process was started in this pass of the loop (see `Daemon::run`).
    pub spawned: bool,
    /// Services waiting in a later level of a plan.
    queued: std::collections::HashSet<Id>,
    /// Set by `close` or SIGTERM, with the connection to answer, if any.
    pub shutdown: Shutdown,
    /// The daemon's environment, passed to every child.
    base_env: std::sync::Arc<spawn::Env>,
    /// The value of [`census::MARKER`] every child of this instance carries.
    pub marker: String,
    /// Why the state file could not be written last time, until it can.
    pub persist_error: Option<String>,
    /// Children the loop waits for to reach their exec.
    launching: launching::Launches,
    /// Processes services left behind (see `leftovers`).
    leftovers: leftovers::Leftovers,
    /// Services held back by `depends_on` (see `deps`).
    deps: deps::Deps,
    /// `ready=` checks under way (see `ready`).
    ready: ready::ReadyChecks,
    /// `health=` checks of RUNNING services (see `health`).
    health: health::HealthChecks,
    /// The sd_notify socket and what it was told (see `notify`).
    notify: notify::Notify,
    /// `[supervisord]` as the daemon runs it (SPEC §13): where AUTO logs
    /// go, the identifier XML-RPC answers.
    pub supervisord: super::config::Supervisord,
    /// The config as last read, at start, by `reload` or by `reloadConfig`:
    /// what `addProcessGroup` adds (see `groups`).
    last_read: Option<last_read::LastRead>,
    /// `SUPERVISOR_SERVER_URL` for children: where the HTTP server is.
    pub server_url: Option<String>,
    /// Events for the `[eventlistener:x]` pools (SPEC §14).
    pub events: super::events::Bus,
    /// The daemon's own stdout and stderr as children's log target.
    pub shared_out: super::output::Shared,
    /// `shutdown_on` (SPEC §15): a program's end that stops the daemon,
    /// and the status it exits with (see `exit_policy`).
    ending: exit_policy::Ending,
}

pub(crate) fn ok(name: &str, message: impl Into<String>) -> Outcome {
    Outcome {
        name: name.into(),
        ok: true,
        message: message.into().into(),
    }
}

pub(crate) fn err(name: &str, message: impl Into<String>) -> Outcome {
    Outcome {
        name: name.into(),
        ok: false,
        message: format!("ERROR ({})", message.into()).into(),
    }
}

impl Supervisor {
    pub fn new(paths: InstancePaths, log: Logger, config: Option<PathBuf>) -> Supervisor {
        Supervisor {
            log,
            started: Instant::now(),
            config,
            services: BTreeMap::new(),
            by_pid: HashMap::new(),
            by_name: HashMap::new(),
            timers: Default::default(),
            schedules: Default::default(),
            next_id: 1,
            pipes: Vec::new(),
            waiters: Vec::new(),
            answer_first_failure: false,
            waits: Vec::new(),
            plans: Vec::new(),
            queued: Default::default(),
            lingering: Default::default(),
            dirty: false,
            batch: 0,
            deferred: Vec::new(),
            spawned: false,
            shutdown: Shutdown::Running,
            launching: Default::default(),
            leftovers: Default::default(),
            deps: Default::default(),
            ready: Default::default(),
            health: Default::default(),
            notify: Default::default(),
            last_read: None,
            server_url: None,
            events: Default::default(),
            shared_out: Default::default(),
            ending: Default::default(),
            base_env: std::sync::Arc::new(spawn::Env::new(
                &std::env::vars_os()
                    .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                    .collect::<Vec<_>>(),
            )),
            marker: super::census::marker_of(&paths.dir),
            persist_error: None,
            paths,
            supervisord: Default::default(),
        }
    }

    pub fn services(&self) -> impl Iterator<Item = &Service> {
        self.services.values().map(|s| &**s)
    }

    pub fn service(&self, id: Id) -> Option<&Service> {
        self.services.get(&id).map(|s| &**s)
    }

    /// The service named `name` exactly (no TARGET forms).
    pub fn id_by_name(&self, name: &str) -> Option<Id> {
        self.by_name.get(name).copied()
    }

    pub fn service_mut(&mut self, id: Id) -> Option<&mut Service> {
        self.services.get_mut(&id).map(|s| &mut **s)
    }

    pub fn len(&self) -> usize {
        self.services.len()
    }

    pub fn is_empty(&self) -> bool {
        self.services.is_empty()
    }

    // ------------------------------------------------------------ executor

    /// Runs one event through the machine and carries out its effects.
    pub fn apply(&mut self, id: Id, ev: Event, now: Instant) {
        // A spawn it calls for is launched when the outermost batch ends:
        // at the end of this call, unless the caller holds a batch open.
        self.begin_batch();
        self.apply_one(id, ev, now);
        self.end_batch(now);
    }

    fn apply_one(&mut self, id: Id, ev: Event, now: Instant) {
        let Some(svc) = self.services.get_mut(&id) else {
            return;
        };
        let before = svc.machine.state;
        let old_pid = svc.machine.pid;
        let exited = match ev {
            Event::Exited(kind) => Some(kind),
            _ => None,
        };
        // A machine set up from what is found says so itself (`adopt`,
        // `take_back`): no transition of its own to log.
        let quiet = matches!(ev, Event::Adopted { .. } | Event::TakenBack(_));
        let effects = step(&mut svc.machine, &svc.spec.policy, ev, now);
        self.timers.sync(id, svc.machine.deadline);
        self.dirty = true;
        let after = svc.machine.state;
        let name = svc.spec.name.clone();
        if old_pid.is_some() && svc.machine.pid != old_pid {
            if let Some(p) = old_pid {
                self.by_pid.remove(&p);
            }
            // Adopted and re-adopted processes were watched by pidfd.
            svc.pidfd = None;
        }
        if let (Some(kind), Some(_)) = (exited, old_pid) {
            let codes = &svc.spec.policy.exitcodes;
            (svc.exits).count(super::metrics::ExitReason::of(before, kind, codes));
        }
        let supervisord = self.log.supervisord();
        let said = supervisord && !quiet && self.say_as_supervisord(id, before, old_pid, exited);
        if let (Some(kind), Some(pid), false) = (exited, old_pid, supervisord) {
            self.log
                .info(&format!("{name}: pid {pid} ended: {}", kind.describe()));
        }
        self.deps.changed |= before != after;
        if before != after && !quiet {
            let line = format!("{name}: {} -> {}", before.name(), after.name());
            if !said {
                self.log_change(id, after, line);
            }
            self.exit_policy_seen(id, after);
            if matches!(after, State::Stopped | State::Exited | State::Fatal) {
                self.detach_output(id);
            }
        }
        self.state_events(id, before, exited, old_pid, quiet);
        for fx in effects {
            match fx {
                Effect::Spawn => self.deferred.push(id),
                Effect::Signal { sig, group }
                    if sig == libc::SIGKILL && before == State::Stopping =>
                {
                    self.log_kill(id, old_pid);
                    self.signal(id, sig, group)
                }
                Effect::Signal { sig, group } => self.signal(id, sig, group),
                Effect::Forget => self.forget(id),
                Effect::AwaitGroup => {
                    self.lingering.insert(id);
                }
            }
        }
        self.sync_ready(id, now);
        self.sync_health(id, now);
        self.sync_notify(id, now);
    }

    /// A service that has settled with no process gives its FIFO ends back
    /// (after copying what they hold); the FIFO files stay for next time.
    fn detach_output(&mut self, id: Id) {
        let Some(svc) = self.services.get_mut(&id) else {
            return;
        };
        svc.fifos = [None, None];
        let pipes = std::mem::take(&mut self.pipes);
        for p in pipes.iter().filter(|p| p.service == id) {
            let _ = super::output::drain(&p.fd, |data| {
                self.take_output(id, p.stream, data, &mut Vec::new())
            });
        }
        self.pipes = pipes;
        self.pipes.retain(|p| p.service != id);
        self.finish_output(id);
    }

    fn signal(&mut self, id: Id, sig: i32, group: bool) {
        let Some(svc) = self.services.get(&id) else {
            return;
        };
        let target = if group {
            svc.machine.pgid.or(svc.machine.pid)
        } else {
            svc.machine.pid
        };
        let Some(pid) = target else { return };
        if let Err(e) = sys::send_signal(pid, sig, group) {
            // The group may be gone already while the leader is a zombie.
            if group
                && e.raw_os_error() == Some(libc::ESRCH)
                && sys::send_signal(pid, sig, false).is_ok()
            {
                return;
            }
            let msg = format!(
                "{}: cannot send {} to pid {pid}: {e}",
                svc.name(),
                super::service::signal_name(sig)
            );
            self.log.warn(&msg);
        }
    }

    fn forget(&mut self, id: Id) {
        // Last words first, then the FIFOs go.
        self.detach_output(id);
        if let Some(svc) = self.services.remove(&id) {
            if let Some(r) = &mut self.last_read {
                r.forget(id, &svc.spec);
            }
            self.events.member_removed(id);
            self.dirty = true;
            self.by_name.remove(&svc.spec.name);
            self.timers.remove(id);
            self.schedules.remove(id);
            if let Some(pid) = svc.machine.pid {
                self.by_pid.remove(&pid);
            }
            for stream in Stream::BOTH {
                let path = self
                    .paths
                    .fifos()
                    .join(format!("{}-{stream}", svc.spec.name));
                let _ = std::fs::remove_file(path);
            }
            self.log.info(&format!("{}: removed", svc.name()));
        }
    }

    // ------------------------------------------------------------- events

    /// A child changed state (from waitpid). Unknown pids (reaped orphans
    /// of the subreaper) are ignored.
    pub fn child_event(&mut self, pid: i32, ev: Event, now: Instant) {
        if matches!(ev, Event::Exited(_)) {
            self.leftovers.reaped(pid);
        }
        if self.check_reaped(pid, &ev, now) {
            return;
        }
        if self.health_reaped(pid, &ev, now) {
            return;
        }
        if let Some(&id) = self.by_pid.get(&pid) {
            self.apply(id, ev, now);
        }
    }

    /// Begins a batch of events: the processes they start are launched
    /// together when the batch ends, several in flight at a time, so the
    /// next child is made while the last one loads on another CPU. While
    /// reaping it also keeps children that die at once from keeping the
    /// reap loop (and the daemon) busy for ever.
    pub fn begin_batch(&mut self) {
        self.batch += 1;
    }

    /// Ends a batch; the outermost carries out its spawns.
    pub fn end_batch(&mut self, now: Instant) {
        self.batch = self.batch.saturating_sub(1);
        if self.batch == 0 {
            self.run_deferred(now);
        }
    }

    /// Launches the spawns a batch put off, [`LAUNCH_WINDOW`] in flight at
    /// a time, and feeds each outcome to its service as it is known; a
    /// child that has not reached its exec within the batch's time goes to
    /// the loop (see `launching`).
    fn run_deferred(&mut self, now: Instant) {
        self.batch += 1;
        let mut until = Instant::now() + launching::SPAWN_WAIT;
        loop {
            self.release_deps(now); // what the changes so far released
            if self.deferred.is_empty() {
                break;
            }
            let mut ids = std::mem::take(&mut self.deferred);
            let mut seen = std::collections::HashSet::new();
            ids.retain(|id| seen.insert(*id));
            let mut flight = launching::Flight::default();
            for id in ids {
                // Still waiting for its new process: wanted up, with no
                // timer of its own and not stopped meanwhile?
                let due = self.services.get(&id).is_some_and(|s| {
                    s.machine.pid.is_none()
                        && s.machine.want == Want::Up
                        && s.machine.deadline.is_none()
                        && s.machine.state != State::Stopping
                });
                if !due || self.hold_for_deps(id, now) {
                    continue;
                }
                match self.launch(id) {
                    Ok((p, cached)) => flight.push_back((id, p, cached)),
                    Err(ev) => self.apply(id, ev, now),
                }
                if flight.len() >= LAUNCH_WINDOW {
                    self.settle_flight(&mut flight, LAUNCH_WINDOW - 1, &mut until, now);
                }
            }
            self.settle_flight(&mut flight, 0, &mut until, now);
        }
        self.batch -= 1;
    }

    /// Runs every due timer, and settles groups that have emptied.
    pub fn run_timers(&mut self, now: Instant) {
        self.expire_launches(now);
        let gone = self.lingering_gone(now);
        for id in gone {
            self.lingering.remove(&id);
            self.apply(id, Event::GroupGone, now);
        }
        // A bounded batch: the rest stay due, so the loop comes straight
        // back after serving the socket (a restart storm of a thousand
        // crash-looping programs never keeps a request waiting long).
        let due = self.timers.due(now, TIMERS_PER_PASS);
        self.begin_batch();
        for id in due {
            self.apply(id, Event::Timer, now);
        }
        self.run_schedules(now);
        self.end_batch(now);
        self.run_ready(now);
        self.run_health(now);
        self.run_watchdogs(now);
        // Last: what the events above ended is looked at in this same pass.
        self.run_leftovers(now);
    }

    /// The earliest deadline of any service.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.timers.first()
    }

    /// The processes adopted with `open-service` (or taken back as such):
    /// not sv's to end at `close`.
    pub fn adopted_pids(&self) -> std::collections::HashSet<i32> {
        self.services
            .values()
            .filter(|s| s.spec.policy.adopted)
            .filter_map(|s| s.machine.pid)
            .collect()
    }

    /// The time left until the next deadline, for poll's timeout.
    pub fn timeout(&self, now: Instant) -> Option<Duration> {
        self.next_deadline()
            .into_iter()
            .chain(self.schedules.first())
            .chain(self.next_exec_deadline())
            .chain(self.leftovers_due(now))
            .chain(self.ready_due())
            .chain(self.health_due())
            .chain(self.watchdog_due())
            .chain(self.events.tick_due(now))
            .chain(self.plans_due())
            .min()
            .map(|d| d.saturating_duration_since(now))
    }
}

/// What sv knows of a process it did not start: a name and a pid.
pub(crate) fn adopted_spec(name: &str, pid: i32) -> ServiceSpec {
    let mut spec = ServiceSpec::new(name, vec![format!("(adopted pid {pid})")]);
    spec.policy.adopted = true;
    spec.stdout = OutputSpec::Discard;
    spec.stderr = OutputSpec::Discard;
    spec
}

/// `No such file or directory`, without Rust's ` (os error 2)` suffix.
pub fn os_reason(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}
