//! Taking the services back after the daemon was killed (SPEC §8): from
//! the state file that `persist` wrote, and from the instance's own
//! processes a scan of /proc finds.
//!
//! A recorded process that is still alive (same pid, same start time in
//! /proc) is adopted back with a pidfd: its exit is seen at once but its
//! status cannot be known, so it counts as unexpected for its restart rules.
//! Its output FIFOs are the same files, so its output goes on into its logs.
//! A process that died meanwhile is handled by the restart rules as if its
//! exit had just been seen.

use super::persist::unix_ms;
use super::{adopted_spec, Id, Supervisor};
use crate::core::census::{self, Found};
use crate::core::config::Config;
use crate::core::service::{Event, ExitKind, Reason, Record, State, Want};
use crate::core::spec::{spec_from, ServiceSpec};
use crate::core::state_file::{Origin, Saved, SavedExit, SavedReason, SavedService};
use crate::core::sys;
use crate::wire::{CreateSpec, Text};
use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime};

/// The leader found for one service that is its spawn's own: one that did
/// not call setsid, then the oldest (the others, if any,
/// are its own descendants that made groups of their own).
fn oldest(v: Vec<Found>) -> Option<Found> {
    // The first of the least rank, as a stable sort would put first.
    v.into_iter().min_by_key(Found::rank)
}

/// The first process of each spawn, oldest first, by service: where a
/// service whose recorded process is gone takes its live one from.
fn leaders_by_service(found: Vec<Found>) -> HashMap<String, Vec<Found>> {
    let mut leaders: HashMap<String, Vec<Found>> = HashMap::new();
    for f in found.into_iter().filter(Found::is_leader) {
        leaders.entry(f.name.clone()).or_default().push(f);
    }
    leaders
}

/// A saved service takes a found process as its own: it is running.
fn claim(s: &mut SavedService, f: &Found) {
    s.pid = f.pid;
    s.start_time = f.start_time;
    if !matches!(s.state.0.as_str(), "STARTING" | "RUNNING" | "SUSPENDED") {
        s.state = State::Running.name().into();
    }
    s.want = 0;
}

/// The record of a found process that no state file recorded.
fn unrecorded(name: &str, origin: Origin, f: &Found) -> SavedService {
    SavedService {
        name: name.into(),
        origin,
        pid: f.pid,
        start_time: f.start_time,
        state: State::Running.name().into(),
        restarts: 0,
        attempts: 0,
        held: false,
        want: 0,
        due_unix_ms: 0,
        last_exit: SavedExit::default(),
        reason: SavedReason::default(),
        ever_started: true,
    }
}

fn state_from_name(name: &str) -> Option<State> {
    State::ALL.into_iter().find(|s| s.name() == name)
}

/// The last exit and the reason a saved service had.
fn detail_of(s: &SavedService) -> (Option<ExitKind>, Reason) {
    let exit = match s.last_exit.kind {
        1 => Some(ExitKind::Code(s.last_exit.value)),
        2 => Some(ExitKind::Signal(s.last_exit.value)),
        3 => Some(ExitKind::Unknown),
        _ => None,
    };
    let reason = match s.reason.kind {
        1 => Reason::SpawnError(s.reason.text.0.clone()),
        2 => Reason::TooQuickly,
        3 => Reason::RestartLimit(s.reason.n),
        _ => Reason::None,
    };
    (exit, reason)
}

/// What the machine takes back of a saved service (its process as gone:
/// the caller says when it is alive).
fn record_of(s: &SavedService, state: State, now: Instant) -> Record {
    let (last_exit, reason) = detail_of(s);
    let wait = Duration::from_millis(s.due_unix_ms.saturating_sub(unix_ms(SystemTime::now())));
    // A file from the future (or a corrupt one) cannot push it past a year.
    let wait = wait.min(Duration::from_secs(crate::core::spec::MAX_SECS));
    Record {
        state,
        want: match s.want {
            0 => Want::Up,
            2 => Want::Gone,
            _ => Want::Down,
        },
        restarts: s.restarts,
        attempts: s.attempts,
        last_exit,
        reason,
        ever_started: s.ever_started,
        pid: s.pid,
        alive_since: None,
        due: now + wait,
    }
}

impl Supervisor {
    /// Takes back the services a killed daemon left in its state file, then
    /// adds the config programs it did not know. `found` is what a scan of
    /// /proc found of the instance's own processes (`census`): a service
    /// whose recorded process is gone, or that the file does not record
    /// (it was spawned or created after the last write, or the file was
    /// refused), takes its live process from there instead of starting a
    /// copy; a process no service claims is taken back as an ad hoc service
    /// rebuilt from its /proc command line.
    pub fn recover(&mut self, saved: Saved, cfg: Option<Config>, found: Vec<Found>, now: Instant) {
        let (mut programs, order) = self.config_programs(cfg);
        let mut leaders = leaders_by_service(found);
        let mut start = Vec::new();
        // Schedules are armed once all are back, with their anchors.
        self.schedules.recovering = true;
        for s in saved.services.0 {
            start.extend(self.recover_saved(s, &mut programs, &mut leaders, now));
        }
        start.extend(self.recover_unrecorded(programs, order, &mut leaders, now));
        self.recover_unclaimed(leaders, now);
        self.arm_taken_back(saved.schedules);
        // A run missed meanwhile is not made up (SPEC §17).
        start.retain(|id| !self.scheduled(*id));
        self.started_events();
        self.restart_taken_back_listeners(now);
        self.plan(Event::Start, start, now);
    }

    /// The config's processes by name, and their names in config order (the
    /// order the ones the file does not record are added in); its warnings
    /// are logged here, as a first load logs them.
    fn config_programs(
        &mut self,
        cfg: Option<Config>,
    ) -> (HashMap<String, ServiceSpec>, Vec<String>) {
        let mut programs: HashMap<String, ServiceSpec> = HashMap::new();
        let mut order = Vec::new();
        if let Some(cfg) = cfg {
            for w in &cfg.warnings {
                self.log.warn(&format!("config: {w}"));
            }
            for spec in cfg.programs.into_iter().flat_map(|p| p.processes) {
                order.push(spec.name.clone());
                programs.insert(spec.name.clone(), spec);
            }
        }
        (programs, order)
    }

    /// Takes back one service the state file records, from its live process
    /// or from a found one. Returns its id when it should be started.
    fn recover_saved(
        &mut self,
        mut s: SavedService,
        programs: &mut HashMap<String, ServiceSpec>,
        leaders: &mut HashMap<String, Vec<Found>>,
        now: Instant,
    ) -> Option<Id> {
        // A zombie is not alive: it ended, and nobody has reaped it yet
        // (init, after the daemon that made it died).
        let mut alive = s.pid > 0
            && sys::start_time(s.pid).is_ok_and(|t| t == s.start_time)
            && !census::is_zombie(s.pid);
        let found = leaders.remove(&s.name.0).and_then(oldest);
        let spec = self.saved_spec(&s, programs);
        // A process the file does not record is taken only for a
        // service that would run as its uid (never for an adopted one).
        if let (Some(f), Some(sp), false) = (&found, &spec, alive) {
            if self.runs_as(sp) == Some(f.uid) {
                self.log.info(&format!(
                    "{}: found pid {} running, which the state file did not record",
                    s.name, f.pid
                ));
                claim(&mut s, f);
                alive = true;
            }
        }
        let Some(spec) = spec else {
            self.recover_specless(&s, alive, now);
            return None;
        };
        let id = self.add(spec);
        if let (Some(svc), Origin::AdHoc(_)) = (self.services.get_mut(&id), &s.origin) {
            svc.origin = s.origin.clone();
        }
        self.take_back(id, &s, alive, now)
    }

    /// How a saved service is started again: its config program, or its
    /// create request rebuilt; none for an adopted one, or when the program
    /// left the config or the request cannot be rebuilt (logged).
    fn saved_spec(
        &mut self,
        s: &SavedService,
        programs: &mut HashMap<String, ServiceSpec>,
    ) -> Option<ServiceSpec> {
        match &s.origin {
            Origin::Config(_) => programs.remove(&s.name.0),
            Origin::AdHoc(req) => match spec_from(req) {
                Ok(spec) => Some(spec),
                Err(e) => {
                    self.log.error(&format!("{}: cannot rebuild: {e}", s.name));
                    None
                }
            },
            Origin::Adopted => None,
        }
    }

    /// A saved service with nothing that says how to start it: watched if
    /// its process lives, listed as ended if it was adopted, else dropped.
    fn recover_specless(&mut self, s: &SavedService, alive: bool, now: Instant) {
        match &s.origin {
            Origin::Config(_) if alive => self.recover_unconfigured(s, now),
            Origin::Adopted if alive => {
                // Adopted: watch the process, as open-service would.
                match self.adopt(s.pid, Some(s.name.0.clone()), now) {
                    Ok(name) => self.log.info(&format!("{name}: adopted back")),
                    Err(e) => self.log.error(&format!("{}: {e}", s.name)),
                }
            }
            Origin::Adopted => self.recover_ended_adoption(s, now),
            Origin::Config(_) | Origin::AdHoc(_) => {
                self.log.info(&format!(
                    "{}: not taken back (its process is gone and nothing says how to start it)",
                    s.name
                ));
            }
        }
    }

    /// A program sv started whose process outlived the dead daemon, but
    /// that the config no longer has. supervisord, started on that config,
    /// would not have it; left running it would be unsupervised, and
    /// adopted `remove` and `close` could not end it. So it is taken back
    /// as the config's own (its output still goes to a log until it ends)
    /// and removed: stopped by the default stop rules (the config that had
    /// its own is gone), then dropped, as `update` drops a removed program.
    fn recover_unconfigured(&mut self, s: &SavedService, now: Instant) {
        let argv: Vec<String> = std::fs::read(format!("/proc/{}/cmdline", s.pid))
            .map(|raw| {
                raw.split(|b| *b == 0)
                    .filter(|a| !a.is_empty())
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect()
            })
            .unwrap_or_default();
        let id = self.add(ServiceSpec::new(&s.name, argv));
        if let Some(svc) = self.services.get_mut(&id) {
            svc.origin = s.origin.clone();
        }
        self.take_back(id, s, true, now);
        self.log.notice(&format!(
            "{}: no longer in the config: stopping pid {} and removing it",
            s.name, s.pid
        ));
        self.apply(id, Event::Remove, now);
    }

    /// An adopted process that ended while no daemon watched it: listed as
    /// EXITED until removed, like any adopted process that ends. One that
    /// had no process any more when the daemon died (stopped by a command,
    /// or ended before) keeps the state and last exit it had.
    fn recover_ended_adoption(&mut self, s: &SavedService, now: Instant) {
        let id = self.add(adopted_spec(&s.name, s.pid));
        if let Some(svc) = self.services.get_mut(&id) {
            svc.origin = Origin::Adopted;
        }
        let recorded = state_from_name(&s.state).filter(|st| !st.has_process());
        if let Some(state) = recorded {
            let record = record_of(s, state, now);
            self.apply(id, Event::TakenBack(Box::new(record)), now);
            return;
        }
        let ended = Record {
            state: State::Exited,
            want: Want::Up,
            restarts: 0,
            attempts: 0,
            last_exit: Some(ExitKind::Unknown),
            reason: Reason::None,
            ever_started: true,
            pid: s.pid,
            alive_since: None,
            due: now,
        };
        self.apply(id, Event::TakenBack(Box::new(ended)), now);
        self.log.info(&format!(
            "{}: adopted pid {} ended while the daemon was down",
            s.name, s.pid
        ));
    }

    /// Config programs the dead daemon did not record: running already
    /// if a process of theirs was found, else started if autostart (the
    /// ids returned).
    fn recover_unrecorded(
        &mut self,
        mut programs: HashMap<String, ServiceSpec>,
        order: Vec<String>,
        leaders: &mut HashMap<String, Vec<Found>>,
        now: Instant,
    ) -> Vec<Id> {
        let mut start = Vec::new();
        for name in order {
            let Some(spec) = programs.remove(&name) else {
                continue;
            };
            let autostart = spec.autostart;
            let uid = self.runs_as(&spec);
            let id = self.add(spec);
            let found = leaders
                .remove(&name)
                .and_then(oldest)
                .filter(|f| Some(f.uid) == uid);
            if let Some(f) = found {
                self.log.info(&format!(
                    "{name}: found pid {} running, which the state file did not record",
                    f.pid
                ));
                let mut s = unrecorded(&name, Origin::Config(name.clone().into()), &f);
                s.want = 0;
                self.take_back(id, &s, true, now);
            } else if autostart {
                start.push(id);
            }
        }
        start
    }

    /// Processes no service claims: ad hoc services whose record was
    /// lost. Rebuilt from what /proc says, so they are not forgotten and
    /// `close` ends them.
    fn recover_unclaimed(&mut self, leaders: HashMap<String, Vec<Found>>, now: Instant) {
        let mut rest: Vec<Found> = leaders.into_values().filter_map(oldest).collect();
        rest.sort_unstable_by_key(|f| (f.start_time, f.pid));
        for f in rest {
            self.take_back_unknown(&f, now);
        }
    }

    /// The uid a service's processes run as: its `user=`, else the
    /// daemon's. None when its user cannot be looked up.
    fn runs_as(&self, spec: &ServiceSpec) -> Option<u32> {
        match &spec.user {
            // SAFETY: geteuid cannot fail.
            None => Some(unsafe { libc::geteuid() }),
            Some(u) => crate::core::users::lookup(u).ok().map(|r| r.uid),
        }
    }

    /// A found process whose service nothing records: an ad hoc service
    /// with its /proc command line and working directory, running, and
    /// run as the process's own uid if it is not the daemon's (so nobody
    /// can have a command of theirs started as root by leaving a marked
    /// process behind).
    fn take_back_unknown(&mut self, f: &Found, now: Instant) {
        let argv: Vec<Text> = match std::fs::read(format!("/proc/{}/cmdline", f.pid)) {
            Ok(raw) => raw
                .split(|b| *b == 0)
                .filter(|a| !a.is_empty())
                .map(|a| Text(String::from_utf8_lossy(a).into_owned()))
                .collect(),
            Err(_) => Vec::new(),
        };
        if argv.is_empty()
            || self.name_taken(&f.name)
            || crate::core::names::check(&f.name).is_err()
        {
            self.log.warn(&format!(
                "pid {} ({}) was left by the dead daemon and no service can take it back",
                f.pid, f.name
            ));
            return;
        }
        let cwd = std::fs::read_link(format!("/proc/{}/cwd", f.pid))
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        // SAFETY: geteuid cannot fail.
        let me = unsafe { libc::geteuid() };
        if f.uid != me && me != 0 {
            return;
        }
        let settings = if f.uid == me {
            Vec::new()
        } else {
            vec![crate::wire::Setting {
                key: "user".into(),
                value: f.uid.to_string().into(),
            }]
        };
        let req = CreateSpec {
            argv: argv.into(),
            name: Some(f.name.clone().into()),
            cwd: cwd.into(),
            settings: settings.into(),
            ..Default::default()
        };
        let Ok(spec) = spec_from(&req) else {
            return;
        };
        self.log.info(&format!(
            "{}: found pid {} running, which no record knows: taken back as an ad hoc service",
            f.name, f.pid
        ));
        let origin = Origin::AdHoc(req);
        let s = unrecorded(&f.name, origin.clone(), f);
        let id = self.add(spec);
        if let Some(svc) = self.services.get_mut(&id) {
            svc.origin = origin;
        }
        self.take_back(id, &s, true, now);
    }

    /// Restores one service's machine. Returns its id when it should be
    /// started by the caller's plan.
    fn take_back(&mut self, id: Id, s: &SavedService, alive: bool, now: Instant) -> Option<Id> {
        let saved_state = state_from_name(&s.state).unwrap_or(State::Stopped);
        let pidfd = if alive {
            sys::pidfd_open(s.pid).ok()
        } else {
            None
        };
        let svc = self.services.get_mut(&id)?;
        svc.held = s.held;
        let mut record = record_of(s, saved_state, now);
        let name = svc.spec.name.clone();
        if let Some(fd) = pidfd {
            // Still running: adopt it back, same pid, nothing started twice.
            svc.pidfd = Some(fd);
            svc.start_time = s.start_time;
            // Uptime counts from the process's real start, not from now.
            record.alive_since = Some(
                sys::age(s.start_time)
                    .and_then(|a| now.checked_sub(a))
                    .unwrap_or(now),
            );
            self.apply(id, Event::TakenBack(Box::new(record)), now);
            self.by_pid.insert(s.pid, id);
            // Its output is waiting in the same FIFOs.
            self.attach_output(id);
            self.log.info(&format!(
                "{name}: adopted back pid {} ({})",
                s.pid,
                saved_state.name()
            ));
            // A stop under way goes on; the stop of a `restart` (wanted up)
            // is dropped: the process runs, as the restart would end.
            if saved_state == State::Stopping && s.want != 0 {
                let ev = if s.want == 2 {
                    Event::Remove
                } else {
                    Event::Stop
                };
                self.apply(id, ev, now);
            }
            return None;
        }
        self.apply(id, Event::TakenBack(Box::new(record)), now);
        if saved_state.has_process() {
            // It died while no daemon watched it: its exit, as if just seen.
            self.log.info(&format!(
                "{name}: pid {} ended while the daemon was down",
                s.pid
            ));
            self.apply(id, Event::Exited(ExitKind::Unknown), now);
            // A `restart` had stopped it: it starts again.
            let restart = saved_state == State::Stopping && s.want == 0;
            return restart.then_some(id);
        }
        let svc = self.services.get(&id)?;
        // A config program the dead daemon had not started yet (its plan
        // was still on an earlier priority level) starts now, if autostart;
        // so does any service a `restart` had stopped (wanted up).
        let unstarted = saved_state == State::Stopped
            && !s.held
            && (s.want == 0
                || matches!(s.origin, Origin::Config(_))
                    && svc.spec.autostart
                    && !svc.machine.ever_started);
        unstarted.then_some(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(pid: i32, sid: i32, start_time: u64) -> Found {
        Found {
            pid,
            pgid: pid,
            sid,
            start_time,
            uid: 0,
            name: "x".into(),
        }
    }

    #[test]
    fn the_leader_is_the_oldest_that_did_not_call_setsid() {
        let v = vec![
            found(30, 1, 5),
            found(20, 20, 1),
            found(40, 1, 3),
            found(10, 1, 3),
        ];
        assert_eq!(oldest(v).map(|f| f.pid), Some(10));
        assert_eq!(oldest(vec![found(20, 20, 1)]).map(|f| f.pid), Some(20));
        assert!(oldest(Vec::new()).is_none());
    }
}
