//! `health=` checks (SPEC §12): a RUNNING program is checked every
//! `health_interval`; a check that fails or outlasts `health_timeout` is
//! one failure; `health_retries` in a row run the `health_action`
//! (restart, stop, or only report); a success resets the count.
//!
//! A service has a [`Run`] exactly while it is RUNNING with a check
//! ([`Supervisor::sync_health`], after every event). Tries are the probes
//! of `ready=` (`core::checks`): a socket the loop polls, a stat, or an
//! exec child of the one spawn path reaped by the loop. Nothing waits: the
//! loop sleeps until the earliest try or try deadline
//! ([`Supervisor::health_due`]), so without checks nothing wakes it.

use super::probe::{self, Began, Current, Reaped};
use super::{Id, Supervisor};
use crate::core::checks::health::Action;
use crate::core::checks::Outcome;
use crate::core::service::{Event, State, Want};
use crate::core::spawn;
use std::collections::BTreeMap;
use std::os::fd::RawFd;
use std::time::Instant;

/// One service's checking.
struct Run {
    /// The process it checks: a new one starts afresh.
    pid: i32,
    /// When the next check begins (when none is under way).
    next: Instant,
    /// The check under way and when it gives up (health_timeout).
    try_: Current,
    /// Consecutive failures, and why the last one failed.
    fails: u32,
    last: String,
}

/// Every service's health checks.
#[derive(Default)]
pub(super) struct HealthChecks {
    runs: BTreeMap<Id, Run>,
    /// Exec check children killed (their service moved on), until reaped.
    dying: Vec<spawn::Pending>,
    /// Restarts made by `health_action=restart`, by service, since it was
    /// last stopped otherwise: added to the `restarts` it shows.
    restarts: BTreeMap<Id, u32>,
}

impl Drop for HealthChecks {
    fn drop(&mut self) {
        let runs = std::mem::take(&mut self.runs).into_values();
        probe::forget_children(std::mem::take(&mut self.dying), runs.map(|r| r.try_));
    }
}

impl Supervisor {
    /// After any event: a service RUNNING with a health check has a run
    /// for its process, any other none (a check under way is dropped).
    pub(super) fn sync_health(&mut self, id: Id, now: Instant) {
        let wanted = self.services.get(&id).and_then(|s| {
            let running = s.machine.state == State::Running;
            (running && s.spec.policy.health.check.is_some()).then_some(s.machine.pid?)
        });
        // Stopped and meant to stay down, not by its own restart (whose
        // start comes next): the count starts over.
        let down = self.services.get(&id).is_none_or(|s| {
            s.machine.want != Want::Up
                && matches!(
                    s.machine.state,
                    State::Stopped | State::Exited | State::Fatal
                )
        });
        if down && self.health.restarts.contains_key(&id) && !self.restarting().contains(&id) {
            self.health.restarts.remove(&id);
        }
        let current = self.health.runs.get(&id).map(|r| r.pid);
        if wanted == current {
            return;
        }
        if let Some(run) = self.health.runs.remove(&id) {
            self.drop_health_try(run.try_);
        }
        if let Some(pid) = wanted {
            let interval = self
                .services
                .get(&id)
                .map(|s| s.spec.policy.health.interval);
            let run = Run {
                pid,
                next: now + interval.unwrap_or_default(),
                try_: None,
                fails: 0,
                last: String::new(),
            };
            self.health.runs.insert(id, run);
        }
    }

    fn drop_health_try(&mut self, t: Current) {
        probe::abandon(t, &mut self.health.dying);
    }

    /// The earliest check or check deadline, for poll's timeout.
    pub(super) fn health_due(&self) -> Option<Instant> {
        (self.health.runs.values())
            .map(|r| probe::due(r.next, &r.try_))
            .min()
    }

    /// The sockets of checks under way, for the poll set.
    pub fn health_fds(&self) -> impl Iterator<Item = (RawFd, libc::c_short, Id)> + '_ {
        (self.health.runs.iter())
            .filter_map(|(id, r)| probe::interest(&r.try_).map(|(fd, ev)| (fd, ev, *id)))
    }

    /// A health check's socket is ready: the check goes on.
    pub fn health_io(&mut self, id: Id, now: Instant) {
        let outcome = (self.health.runs.get_mut(&id)).and_then(|r| probe::advance(&mut r.try_));
        if let Some(outcome) = outcome {
            self.health_over(id, outcome, now);
        }
    }

    /// Begins the checks that are due and fails those past their timeout.
    pub(super) fn run_health(&mut self, now: Instant) {
        let due: Vec<Id> = (self.health.runs.iter())
            .filter(|(_, r)| probe::due(r.next, &r.try_) <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            let Some(run) = self.health.runs.get_mut(&id) else {
                continue;
            };
            match run.try_.take() {
                Some(t) => {
                    self.drop_health_try(Some(t));
                    let secs = (self.services.get(&id))
                        .map_or(0, |s| s.spec.policy.health.timeout.as_secs());
                    self.health_over(id, Err(format!("no answer within {secs} s")), now);
                }
                None => self.begin_health(id, now),
            }
        }
    }

    fn begin_health(&mut self, id: Id, now: Instant) {
        let policy = self.services.get(&id).map(|s| s.spec.policy.health.clone());
        let Some((check, timeout)) = policy.and_then(|h| Some((h.check?, h.timeout))) else {
            // Its check went away (a reload): nothing more to do.
            self.health.runs.remove(&id);
            return;
        };
        let limit = now + timeout;
        match self.begin_probe(id, check.kind) {
            Began::Under(t) => {
                if let Some(run) = self.health.runs.get_mut(&id) {
                    run.try_ = Some((t, limit));
                }
            }
            Began::Done(outcome) => self.health_over(id, outcome, now),
            // Refused as health checks when the key is set.
            Began::Told => self.health_over(id, Err("not a polled check".into()), now),
        }
    }

    /// A check ended: the count goes back to 0 or up by one, and at
    /// health_retries the action runs.
    fn health_over(&mut self, id: Id, outcome: Outcome, now: Instant) {
        let Some(svc) = self.services.get(&id) else {
            return;
        };
        let h = &svc.spec.policy.health;
        let (name, check) = (
            svc.spec.name.clone(),
            h.check.as_ref().map(|c| c.text.clone()),
        );
        let (retries, action, interval) = (h.retries, h.action, h.interval);
        let Some(run) = self.health.runs.get_mut(&id) else {
            return;
        };
        run.next = now + interval;
        let check = check.unwrap_or_default();
        let why = match outcome {
            Ok(()) => {
                if run.fails > 0 {
                    run.fails = 0;
                    self.log.info(&format!("{name}: healthy again ({check})"));
                }
                return;
            }
            Err(why) => why,
        };
        run.fails = run.fails.saturating_add(1);
        run.last = why.clone();
        let fails = run.fails;
        if fails < retries {
            self.log.warn(&format!(
                "{name}: health check failed ({fails}/{retries}: {check}: {why})"
            ));
            return;
        }
        if fails > retries {
            // `none`: said once, at the crossing; the status keeps showing it.
            return;
        }
        let head = format!("{name}: unhealthy ({fails}/{retries}: {why})");
        match action {
            Action::None => self.log.warn(&head),
            Action::Restart => {
                self.log.warn(&format!("{head}; restarting"));
                *self.health.restarts.entry(id).or_default() += 1;
                self.restart_quietly(vec![id], now);
            }
            Action::Stop => {
                self.log.warn(&format!("{head}; stopping"));
                // Down until a command starts it: a reload does not.
                if let Some(s) = self.services.get_mut(&id) {
                    s.held = true;
                }
                self.dirty = true;
                self.apply(id, Event::Stop, now);
            }
        }
    }

    /// A reaped child that was an exec health check: its outcome is taken
    /// and true returned; false for any other child.
    pub(super) fn health_reaped(&mut self, pid: i32, ev: &Event, now: Instant) -> bool {
        let tries = self
            .health
            .runs
            .iter_mut()
            .map(|(id, r)| (*id, &mut r.try_));
        match probe::reaped(&mut self.health.dying, tries, pid, ev) {
            Reaped::NotOurs => false,
            Reaped::Noted => true,
            Reaped::Over(id, outcome) => {
                self.health_over(id, outcome, now);
                true
            }
        }
    }

    /// Whether `pid` is an exec health check's child.
    pub(super) fn is_health_pid(&self, pid: i32) -> bool {
        self.health.dying.iter().any(|p| p.pid() == pid)
            || (self.health.runs.values()).any(|r| probe::is_exec(&r.try_, pid))
    }

    /// Restarts made by its health check (see [`HealthChecks`]).
    pub(super) fn health_restarts(&self, id: Id) -> u32 {
        self.health.restarts.get(&id).copied().unwrap_or(0)
    }

    /// What `status` adds for a RUNNING service failing its checks:
    /// `unhealthy (2/3: connection refused)`.
    pub(super) fn health_detail(&self, id: Id) -> Option<String> {
        let run = self.health.runs.get(&id).filter(|r| r.fails > 0)?;
        let retries = self.services.get(&id)?.spec.policy.health.retries;
        let shown = run.fails.min(retries);
        Some(format!("unhealthy ({shown}/{retries}: {})", run.last))
    }
}
