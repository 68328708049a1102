//! Saving the services to the state file, and taking them back after the
//! daemon was killed (SPEC §8).
//!
//! A recorded process that is still alive (same pid, same start time in
//! /proc) is adopted back with a pidfd: its exit is seen at once but its
//! status cannot be known, so it counts as unexpected for its restart rules.
//! Its output FIFOs are the same files, so its output goes on into its logs.
//! A process that died meanwhile is handled by the restart rules as if its
//! exit had just been seen.

use super::{adopted_spec, Id, Supervisor};
use crate::core::config::Config;
use crate::core::create;
use crate::core::service::{Event, ExitKind, State, Want};
use crate::core::spec::ServiceSpec;
use crate::core::state_file::{self, Origin, Saved, SavedService};
use crate::core::sys;
use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn state_from_name(name: &str) -> Option<State> {
    State::ALL.into_iter().find(|s| s.name() == name)
}

impl Supervisor {
    /// Writes the state file if anything changed. A failure is logged and
    /// tried again after the next change; supervision goes on.
    pub fn persist(&mut self, now: Instant) {
        if !self.dirty {
            return;
        }
        self.dirty = false;
        let wall = SystemTime::now();
        let services = self
            .services
            .values()
            .map(|s| SavedService {
                name: s.spec.name.clone().into(),
                origin: s.origin.clone(),
                pid: s.m.pid.unwrap_or(0),
                start_time: if s.m.pid.is_some() { s.start_time } else { 0 },
                state: s.m.state.name().into(),
                restarts: s.m.restarts,
                attempts: s.m.attempts,
                held: s.held,
                want: match s.m.want {
                    Want::Up => 0,
                    Want::Down => 1,
                    Want::Gone => 2,
                },
                due_unix_ms: s
                    .m
                    .deadline
                    .filter(|_| matches!(s.m.state, State::Pending | State::Backoff))
                    .map(|d| unix_ms(wall + d.saturating_duration_since(now)))
                    .unwrap_or(0),
            })
            .collect();
        let path = self.paths.state();
        if let Err(e) = state_file::write(&path, &Saved { services }) {
            self.log
                .error(&format!("cannot write {}: {e}", path.display()));
        }
    }

    /// Takes back the services a killed daemon left in its state file, then
    /// adds the config programs it did not know.
    pub fn recover(&mut self, saved: Saved, cfg: Option<Config>, now: Instant) {
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
        let mut start = Vec::new();
        for s in saved.services.0 {
            let alive = s.pid > 0 && sys::start_time(s.pid).is_ok_and(|t| t == s.start_time);
            let spec = match &s.origin {
                Origin::Config(_) => programs.remove(&s.name.0),
                Origin::AdHoc(req) => match create::spec_from(req) {
                    Ok(spec) => Some(spec),
                    Err(e) => {
                        self.log.error(&format!("{}: cannot rebuild: {e}", s.name));
                        None
                    }
                },
                Origin::Adopted => None,
            };
            let spec = match (spec, &s.origin) {
                (Some(spec), _) => spec,
                (None, Origin::Adopted) | (None, Origin::Config(_)) if alive => {
                    // Adopted, or a program no longer in the config: watch
                    // the process, as open-service would.
                    match self.adopt(s.pid, Some(s.name.0.clone()), now) {
                        Ok(name) => self.log.info(&format!("{name}: adopted back")),
                        Err(e) => self.log.error(&format!("{}: {e}", s.name)),
                    }
                    continue;
                }
                (None, Origin::Adopted) => {
                    // It ended while no daemon watched it: listed as EXITED
                    // until removed, like any adopted process that ends.
                    let id = self.add(adopted_spec(&s.name, s.pid));
                    if let Some(svc) = self.services.get_mut(&id) {
                        svc.origin = Origin::Adopted;
                        svc.m.state = State::Exited;
                        svc.m.want = Want::Up;
                        svc.m.ever_started = true;
                        svc.m.last_exit = Some(ExitKind::Unknown);
                    }
                    self.log.info(&format!(
                        "{}: adopted pid {} ended while the daemon was down",
                        s.name, s.pid
                    ));
                    continue;
                }
                (None, _) => {
                    self.log.info(&format!(
                        "{}: not taken back (its process is gone and nothing says how to start it)",
                        s.name
                    ));
                    continue;
                }
            };
            let id = self.add(spec);
            if let (Some(svc), Origin::AdHoc(_)) = (self.services.get_mut(&id), &s.origin) {
                svc.origin = s.origin.clone();
            }
            if let Some(id) = self.take_back(id, &s, alive, now) {
                start.push(id);
            }
        }
        // Config programs the dead daemon did not have yet.
        for name in order {
            if let Some(spec) = programs.remove(&name) {
                let autostart = spec.autostart;
                let id = self.add(spec);
                if autostart {
                    start.push(id);
                }
            }
        }
        self.plan(Event::Start, start, now);
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
        svc.m.restarts = s.restarts;
        svc.m.attempts = s.attempts;
        svc.m.want = match s.want {
            0 => Want::Up,
            2 => Want::Gone,
            _ => Want::Down,
        };
        let name = svc.spec.name.clone();
        if let Some(fd) = pidfd {
            // Still running: adopt it back, same pid, nothing started twice.
            svc.pidfd = Some(fd);
            svc.start_time = s.start_time;
            svc.m.pid = Some(s.pid);
            svc.m.pgid = (!svc.spec.policy.adopted).then_some(s.pid);
            // Uptime counts from the process's real start, not from now.
            svc.m.started_at = sys::age(s.start_time)
                .and_then(|a| now.checked_sub(a))
                .or(Some(now));
            svc.m.ever_started = true;
            svc.m.state = match saved_state {
                State::Starting | State::Suspended | State::Running => saved_state,
                _ => State::Running,
            };
            if svc.m.state == State::Starting {
                svc.m.deadline = Some(now + svc.spec.policy.startsecs);
            }
            self.by_pid.insert(s.pid, id);
            // Its output is waiting in the same FIFOs.
            self.attach_output(id);
            self.log.info(&format!(
                "{name}: adopted back pid {} ({})",
                s.pid,
                saved_state.name()
            ));
            if saved_state == State::Stopping {
                let ev = if s.want == 2 {
                    Event::Remove
                } else {
                    Event::Stop
                };
                self.apply(id, ev, now);
            }
            return None;
        }
        if saved_state.has_process() {
            // It died while no daemon watched it: its exit, as if just seen.
            svc.m.state = if saved_state == State::Starting {
                State::Starting
            } else if saved_state == State::Stopping {
                State::Stopping
            } else {
                State::Running
            };
            svc.m.pid = Some(s.pid.max(1));
            svc.m.started_at = Some(now);
            svc.m.ever_started = true;
            self.log.info(&format!(
                "{name}: pid {} ended while the daemon was down",
                s.pid
            ));
            self.apply(id, Event::Exited(ExitKind::Unknown), now);
            return None;
        }
        svc.m.state = saved_state;
        svc.m.ever_started = !matches!(saved_state, State::Stopped | State::Pending);
        if matches!(saved_state, State::Pending | State::Backoff) {
            let wait =
                Duration::from_millis(s.due_unix_ms.saturating_sub(unix_ms(SystemTime::now())));
            // A file from the future (or a corrupt one) cannot push it past a year.
            let wait = wait.min(Duration::from_secs(crate::core::spec::MAX_SECS));
            svc.m.deadline = Some(now + wait);
        }
        // A config program the dead daemon had not started yet (its plan
        // was still on an earlier priority level) starts now, if autostart.
        let unstarted = saved_state == State::Stopped
            && !s.held
            && matches!(s.origin, Origin::Config(_))
            && (s.want == 0 || svc.spec.autostart && !svc.m.ever_started);
        unstarted.then_some(id)
    }
}
