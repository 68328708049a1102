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

use super::{Id, Supervisor};
use crate::core::checks::health::Action;
use crate::core::checks::{exec, file, http, tcp::Progress, Kind, Outcome, SockProbe};
use crate::core::service::{Event, State, Want};
use crate::core::spawn;
use std::collections::BTreeMap;
use std::os::fd::RawFd;
use std::time::Instant;

/// A check under way.
enum Try {
    Sock(SockProbe),
    /// An exec check's child, kept until it is reaped.
    Exec(spawn::Pending),
}

/// One service's checking.
struct Run {
    /// The process it checks: a new one starts afresh.
    pid: i32,
    /// When the next check begins (when none is under way).
    next: Instant,
    /// The check under way and when it gives up (health_timeout).
    try_: Option<(Try, Instant)>,
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
        // As `Launches`: a child still on our memory must not keep a
        // leaving daemon waiting.
        let pendings = std::mem::take(&mut self.dying).into_iter().chain(
            std::mem::take(&mut self.runs)
                .into_values()
                .filter_map(|r| match r.try_ {
                    Some((Try::Exec(p), _)) => Some(p),
                    _ => None,
                }),
        );
        for p in pendings {
            std::mem::forget(p);
        }
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

    fn drop_health_try(&mut self, t: Option<(Try, Instant)>) {
        if let Some((Try::Exec(p), _)) = t {
            p.kill_group();
            self.health.dying.push(p);
        }
    }

    /// The earliest check or check deadline, for poll's timeout.
    pub(super) fn health_due(&self) -> Option<Instant> {
        (self.health.runs.values())
            .map(|r| r.try_.as_ref().map_or(r.next, |(_, d)| *d))
            .min()
    }

    /// The sockets of checks under way, for the poll set.
    pub fn health_fds(&self) -> impl Iterator<Item = (RawFd, libc::c_short, Id)> + '_ {
        self.health.runs.iter().filter_map(|(id, r)| match &r.try_ {
            Some((Try::Sock(p), _)) => {
                let (fd, ev) = p.interest();
                Some((fd, ev, *id))
            }
            _ => None,
        })
    }

    /// A health check's socket is ready: the check goes on.
    pub fn health_io(&mut self, id: Id, now: Instant) {
        let Some(run) = self.health.runs.get_mut(&id) else {
            return;
        };
        let Some((Try::Sock(probe), deadline)) = run.try_.take() else {
            return;
        };
        match probe.advance() {
            Progress::Waiting(p) => run.try_ = Some((Try::Sock(p), deadline)),
            Progress::Done(outcome) => self.health_over(id, outcome, now),
        }
    }

    /// Begins the checks that are due and fails those past their timeout.
    pub(super) fn run_health(&mut self, now: Instant) {
        let due: Vec<Id> = (self.health.runs.iter())
            .filter(|(_, r)| r.try_.as_ref().map_or(r.next, |(_, d)| *d) <= now)
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
        let started = match check.kind {
            Kind::Tcp(addr) => SockProbe::start(addr, None),
            Kind::Http { addr, host, path } => {
                SockProbe::start(addr, Some(http::request(&host, &path)))
            }
            Kind::File(path) => Progress::Done(file::exists(&path)),
            Kind::Exec(argv) => match self.launch_check(id, argv) {
                Ok(p) => {
                    if let Some(run) = self.health.runs.get_mut(&id) {
                        run.try_ = Some((Try::Exec(p), limit));
                    }
                    return;
                }
                Err(why) => Progress::Done(Err(why)),
            },
            // Refused as health checks when the key is set.
            Kind::Notify | Kind::Fd(_) => Progress::Done(Err("not a polled check".into())),
        };
        match started {
            Progress::Waiting(p) => {
                if let Some(run) = self.health.runs.get_mut(&id) {
                    run.try_ = Some((Try::Sock(p), limit));
                }
            }
            Progress::Done(outcome) => self.health_over(id, outcome, now),
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
        let exited = match ev {
            Event::Exited(kind) => Some(*kind),
            _ => None,
        };
        if let Some(i) = self.health.dying.iter().position(|p| p.pid() == pid) {
            if exited.is_some() {
                let mut p = self.health.dying.swap_remove(i);
                let _ = p.try_wait();
            }
            return true;
        }
        let found = self.health.runs.iter().find_map(|(id, r)| match &r.try_ {
            Some((Try::Exec(p), _)) if p.pid() == pid => Some(*id),
            _ => None,
        });
        let Some(id) = found else {
            return false;
        };
        let Some(kind) = exited else {
            return true;
        };
        let Some((Try::Exec(mut p), _)) =
            (self.health.runs.get_mut(&id)).and_then(|r| r.try_.take())
        else {
            return true;
        };
        let outcome = match p.try_wait() {
            Some(Err(e)) => Err(format!("exec: {}", super::os_reason(&e))),
            Some(Ok(_)) | None => exec::outcome(kind),
        };
        self.health_over(id, outcome, now);
        true
    }

    /// Whether `pid` is an exec health check's child.
    pub(super) fn is_health_pid(&self, pid: i32) -> bool {
        self.health.dying.iter().any(|p| p.pid() == pid)
            || (self.health.runs.values())
                .any(|r| matches!(&r.try_, Some((Try::Exec(p), _)) if p.pid() == pid))
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
