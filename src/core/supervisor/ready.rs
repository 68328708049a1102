//! `ready=` checks (SPEC §12): for which service a check runs, when its
//! next try is due, and what an outcome does.
//!
//! A service has a [`Run`] while it is STARTING with a polled check and
//! has not missed its ready_timeout; [`Supervisor::sync_ready`] keeps that
//! true after every event. A try begins at once when the process is
//! spawned, then again after each failure: soon at first (every 10 ms for
//! 100 ms, then doubling) and at most `ready_interval` apart, so a program that is ready a moment
//! after its spawn is not held a whole interval; it is a socket the
//! loop polls (tcp, http), a stat (file), or a child of the one spawn path
//! reaped by the loop (exec). A tcp or http try on a loopback address that
//! was refused (nothing listens yet) also watches the kernel's table of
//! listening sockets (`checks::listening`), one read shared by every such
//! check, at a 50th of the time since the spawn (1 ms to 100 ms): the next
//! try begins as soon as the port is listed, so a program that opens its
//! port 50 ms after its spawn is RUNNING about 1 ms later, not 10.
//! Success is `Event::Ready`; the ready_timeout is the machine's own
//! deadline (`step` turns it into a failed start).
//! Nothing here waits: the loop sleeps until the earliest try or try
//! deadline ([`Supervisor::ready_due`]), so with no check there is nothing
//! to wake for.

use super::probe::{self, Began, Current, Reaped};
use super::{Id, Supervisor};
use crate::core::checks::{listening, tcp, Kind, Outcome};
use crate::core::service::{Event, State};
use crate::core::spawn;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The least time one try may take; a longer `ready_interval` allows more.
/// Every try also ends with the ready_timeout.
const TRY_TIMEOUT: Duration = Duration::from_secs(5);

/// The wait between the first tries; past [`QUICK_TRIES`] failures each
/// wait doubles, up to `ready_interval`. A program ready 50 ms after its
/// spawn is then seen within 10 ms (a chain of dependencies pays that per
/// link), and a slow one costs a few cheap tries, then one an interval.
const FIRST_RETRY: Duration = Duration::from_millis(10);
/// Failed tries retried after [`FIRST_RETRY`] alone (the first 100 ms).
const QUICK_TRIES: u32 = 10;

/// How often a refused check looks at the listening table: this share of
/// the time since its spawn, so a port that opens after `t` is seen within
/// about `t / 50`, and a slow starter costs a few looks a second.
const LOOK_SHARE: u32 = 50;
const LOOK_MIN: Duration = Duration::from_millis(1);
const LOOK_MAX: Duration = Duration::from_millis(100);

/// When a check that has waited `age` since its spawn next looks at the
/// listening table.
fn look_every(age: Duration) -> Duration {
    (age / LOOK_SHARE).clamp(LOOK_MIN, LOOK_MAX)
}

/// One service's checking.
struct Run {
    /// The process it checks for: a new one starts afresh.
    pid: i32,
    /// When the next try begins (when none is under way).
    next: Instant,
    /// Tries failed so far: the wait before the next one grows with it.
    failed: u32,
    /// The try under way and when it gives up.
    try_: Current,
    /// When its process was spawned (the run began).
    since: Instant,
    /// Watching the listening table (its last try was refused on a
    /// loopback address): when it next looks.
    look: Option<Instant>,
    /// Its address was listed at the last look: a try is brought forward
    /// only when it newly is, so a listener that is listed yet refuses (a
    /// v6-only wildcard) cannot make it try at every look.
    listed: bool,
}

/// Every service's checks.
#[derive(Default)]
pub(super) struct ReadyChecks {
    runs: BTreeMap<Id, Run>,
    /// Why the last try failed, by service: shown in `status`.
    last: BTreeMap<Id, String>,
    /// Exec check children killed (their service moved on), until reaped.
    dying: Vec<spawn::Pending>,
    /// The listening table could not be read (no sock_diag here, or a
    /// sandbox refuses it): checks keep to their schedule alone.
    no_table: bool,
}

impl Drop for ReadyChecks {
    fn drop(&mut self) {
        let runs = std::mem::take(&mut self.runs).into_values();
        probe::forget_children(std::mem::take(&mut self.dying), runs.map(|r| r.try_));
    }
}

impl Supervisor {
    /// After any event: a service STARTING with a check has a run for its
    /// process, any other none (a try under way is dropped: its socket
    /// closed, its child killed).
    pub(super) fn sync_ready(&mut self, id: Id, now: Instant) {
        let wanted = self.services.get(&id).and_then(|s| {
            let m = &s.machine;
            let checking = m.state == State::Starting && !m.unready;
            let polled = s.spec.policy.ready.as_ref().is_some_and(|c| c.polled());
            (checking && polled).then_some(m.pid?)
        });
        let current = self.ready.runs.get(&id).map(|r| r.pid);
        if wanted == current {
            return;
        }
        if let Some(run) = self.ready.runs.remove(&id) {
            self.drop_try(run.try_);
            self.log_unready(id);
        }
        if wanted.is_none() || current.is_some() {
            self.ready.last.remove(&id);
        }
        if let Some(pid) = wanted {
            let run = Run {
                pid,
                next: now,
                failed: 0,
                try_: None,
                since: now,
                look: None,
                listed: false,
            };
            self.ready.runs.insert(id, run);
        }
    }

    /// Says why a service that missed its ready_timeout is being stopped.
    fn log_unready(&mut self, id: Id) {
        let Some(svc) = self.services.get(&id).filter(|s| s.machine.unready) else {
            return;
        };
        let (Some(check), Some(pid)) = (&svc.spec.policy.ready, svc.machine.pid) else {
            return;
        };
        let last = match self.ready.last.get(&id) {
            Some(why) => format!(", last try: {why}"),
            None => String::new(),
        };
        let msg = format!(
            "{}: not ready within {} s ({}{last}); stopping pid {pid} as a failed start",
            svc.spec.name,
            svc.spec.policy.ready_timeout.as_secs(),
            check.text
        );
        self.log.warn(&msg);
    }

    fn drop_try(&mut self, t: Current) {
        probe::abandon(t, &mut self.ready.dying);
    }

    /// The earliest try or try deadline, for poll's timeout.
    pub(super) fn ready_due(&self) -> Option<Instant> {
        (self.ready.runs.values())
            .map(|r| match (r.look, &r.try_) {
                (Some(look), None) => look.min(r.next),
                _ => probe::due(r.next, &r.try_),
            })
            .min()
    }

    /// The sockets of tries under way, for the poll set.
    pub fn check_fds(&self) -> impl Iterator<Item = (RawFd, libc::c_short, Id)> + '_ {
        (self.ready.runs.iter())
            .filter_map(|(id, r)| probe::interest(&r.try_).map(|(fd, ev)| (fd, ev, *id)))
    }

    /// A check's socket is ready: the try goes on.
    pub fn check_io(&mut self, id: Id, now: Instant) {
        let outcome = (self.ready.runs.get_mut(&id)).and_then(|r| probe::advance(&mut r.try_));
        if let Some(outcome) = outcome {
            self.try_over(id, outcome, now);
        }
    }

    /// Begins the tries that are due and ends those past their deadline.
    pub(super) fn run_ready(&mut self, now: Instant) {
        self.look_at_listeners(now);
        let due: Vec<Id> = (self.ready.runs.iter())
            .filter(|(_, r)| probe::due(r.next, &r.try_) <= now)
            .map(|(id, _)| *id)
            .collect();
        // One batch: the dependents that the tries of this pass release
        // are launched together at its end, 8 in flight, rather than each
        // ready program's after the one before it has reached its exec.
        self.begin_batch();
        for id in due {
            let Some(run) = self.ready.runs.get_mut(&id) else {
                continue;
            };
            match run.try_.take() {
                Some(t) => {
                    self.drop_try(Some(t));
                    self.try_over(id, Err("timed out".into()), now);
                }
                None => self.begin_try(id, now),
            }
        }
        self.end_batch(now);
    }

    /// When a run's look is due, the listening table is read once and
    /// every watching run looks at it (the read costs the same for all);
    /// one whose address is newly listed tries now. Only the due ones
    /// move their next look.
    fn look_at_listeners(&mut self, now: Instant) {
        let due = |r: &Run| r.try_.is_none() && r.look.is_some_and(|l| l <= now);
        if !self.ready.runs.values().any(due) {
            return;
        }
        let table = match listening::read() {
            Ok(t) => t,
            Err(e) => {
                self.ready.no_table = true;
                for run in self.ready.runs.values_mut() {
                    run.look = None;
                }
                let msg = format!(
                    "cannot read the listening sockets ({}): ready= tcp and http checks keep to their schedule",
                    super::os_reason(&e)
                );
                self.log.debug(&msg);
                return;
            }
        };
        // By port: a thousand checks against a thousand listeners stay a
        // thousand lookups, not a million comparisons.
        let mut by_port: HashMap<u16, Vec<SocketAddr>> = HashMap::new();
        for l in table {
            by_port.entry(l.port()).or_default().push(l);
        }
        let watching: Vec<(Id, bool)> = (self.ready.runs.iter())
            .filter(|(_, r)| r.try_.is_none() && r.look.is_some())
            .map(|(id, r)| (*id, due(r)))
            .collect();
        for (id, was_due) in watching {
            let target = self
                .services
                .get(&id)
                .and_then(|s| watched(s.spec.policy.ready.as_ref()?));
            let Some(run) = self.ready.runs.get_mut(&id) else {
                continue;
            };
            let Some(target) = target else {
                run.look = None;
                continue;
            };
            let listed = (by_port.get(&target.port()))
                .is_some_and(|ls| ls.iter().any(|l| listening::serves(l, &target)));
            if listed && !run.listed {
                run.next = now;
            }
            run.listed = listed;
            if was_due {
                run.look = Some(now + look_every(now.saturating_duration_since(run.since)));
            }
        }
    }

    fn begin_try(&mut self, id: Id, now: Instant) {
        let found = self.services.get(&id).and_then(|s| {
            let check = s.spec.policy.ready.clone()?;
            Some((s, check))
        });
        let Some((svc, check)) = found else {
            // Its service or its check went (a reload swapped the spec): a
            // run left due would keep the loop from sleeping.
            self.ready.runs.remove(&id);
            return;
        };
        let limit = now + svc.spec.policy.ready_interval.max(TRY_TIMEOUT);
        match self.begin_probe(id, check.kind) {
            Began::Under(t) => {
                if let Some(run) = self.ready.runs.get_mut(&id) {
                    run.try_ = Some((t, limit));
                }
            }
            Began::Done(outcome) => self.try_over(id, outcome, now),
            // Told over the notify socket, never tried (no run: sync_ready).
            Began::Told => {}
        }
    }

    /// A try ended: ready, or another try soon (at most ready_interval).
    fn try_over(&mut self, id: Id, outcome: Outcome, now: Instant) {
        let Some(svc) = self.services.get(&id) else {
            self.ready.runs.remove(&id);
            return;
        };
        let check = svc.spec.policy.ready.as_ref().map(|c| c.text.clone());
        let name = svc.spec.name.clone();
        let interval = svc.spec.policy.ready_interval;
        let watch =
            !self.ready.no_table && svc.spec.policy.ready.as_deref().and_then(watched).is_some();
        match outcome {
            Ok(()) => {
                let check = check.unwrap_or_default();
                self.log.info(&format!("{name}: ready ({check})"));
                self.apply(id, Event::Ready, now);
            }
            Err(why) => {
                if self.ready.last.get(&id) != Some(&why) {
                    let check = check.unwrap_or_default();
                    self.log
                        .debug(&format!("{name}: not ready yet ({check}: {why})"));
                }
                let refused = tcp::refused(&why);
                self.ready.last.insert(id, why);
                if let Some(run) = self.ready.runs.get_mut(&id) {
                    let doublings = run.failed.saturating_sub(QUICK_TRIES - 1).min(16);
                    let soon = FIRST_RETRY.saturating_mul(1 << doublings);
                    run.next = now + soon.min(interval);
                    run.failed = run.failed.saturating_add(1);
                    // Refused: nothing listens yet, and the table will say
                    // when something does. Any other failure (an http
                    // error, a timeout) is the program's, not a closed port.
                    run.look = match (watch && refused, run.look) {
                        (false, _) => None,
                        (true, Some(l)) => Some(l),
                        (true, None) => {
                            Some(now + look_every(now.saturating_duration_since(run.since)))
                        }
                    };
                }
            }
        }
    }

    /// A reaped child that was an exec check: its outcome is taken and
    /// true returned; false for any other child.
    pub(super) fn check_reaped(&mut self, pid: i32, ev: &Event, now: Instant) -> bool {
        let tries = self.ready.runs.iter_mut().map(|(id, r)| (*id, &mut r.try_));
        match probe::reaped(&mut self.ready.dying, tries, pid, ev) {
            Reaped::NotOurs => false,
            Reaped::Noted => true,
            Reaped::Over(id, outcome) => {
                self.try_over(id, outcome, now);
                true
            }
        }
    }

    /// Whether `pid` is an exec check's child (not a leftover of its service).
    pub(super) fn is_check_pid(&self, pid: i32) -> bool {
        self.ready.dying.iter().any(|p| p.pid() == pid)
            || (self.ready.runs.values()).any(|r| probe::is_exec(&r.try_, pid))
    }

    /// What `status` adds for a STARTING service that waits for its check:
    /// `waiting for ready: tcp:127.0.0.1:8080 (connection refused)`.
    pub(super) fn ready_detail(&self, id: Id) -> Option<String> {
        let svc = self.services.get(&id)?;
        if svc.machine.state != State::Starting {
            return None;
        }
        let check = svc.spec.policy.ready.as_ref()?;
        if svc.machine.unready {
            let secs = svc.spec.policy.ready_timeout.as_secs();
            return Some(format!("not ready within {secs} s, stopping"));
        }
        Some(match self.ready.last.get(&id) {
            Some(why) => format!("waiting for ready: {} (last try: {why})", check.text),
            None => format!("waiting for ready: {}", check.text),
        })
    }

    /// Starts an exec check's command: through the one spawn path, with
    /// its service's environment, directory and user, output discarded.
    pub(super) fn launch_check(
        &mut self,
        id: Id,
        argv: Vec<String>,
    ) -> Result<spawn::Pending, String> {
        let svc = self.services.get(&id).ok_or("no such service")?;
        let mut spec = svc.spec.clone();
        spec.argv = argv;
        let user = (spec.user.as_deref())
            .map(crate::core::users::lookup)
            .transpose()
            .map_err(|e| format!("exec: {}", super::os_reason(&e)))?;
        let cmd = self
            .build_command(&spec, user.as_ref())
            .map_err(|e| format!("exec: {}", super::os_reason(&e)))?;
        let wiring = spawn::Wiring {
            stdin: None,
            stdout: spawn::Target::Null,
            stderr: spawn::Target::Null,
            user,
            keep: Vec::new(),
        };
        let pending = Arc::new(cmd)
            .launch(wiring)
            .map_err(|e| format!("exec: {}", super::os_reason(&e)))?;
        self.spawned = true;
        Ok(pending)
    }
}

/// The address a check connects to, where the listening table speaks for
/// it (tcp and http on a loopback address).
fn watched(check: &crate::core::checks::Check) -> Option<SocketAddr> {
    match check.kind {
        Kind::Tcp(a) | Kind::Http { addr: a, .. } if listening::covers(&a) => Some(a),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn looks_come_at_a_50th_of_the_wait_within_bounds() {
        let ms = Duration::from_millis;
        assert_eq!(look_every(ms(0)), ms(1));
        assert_eq!(look_every(ms(49)), ms(1));
        assert_eq!(look_every(ms(100)), ms(2));
        assert_eq!(look_every(ms(1000)), ms(20));
        assert_eq!(look_every(Duration::from_secs(60)), ms(100));
    }
}
