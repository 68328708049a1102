//! The longer cells of [`step`](super::step)'s table, written once: what an
//! exit leads to under the restart rules, suspending and continuing, and a
//! machine taken back after a crash of the daemon. Pure, like `step`.

use super::{
    AutoRestart, Effect, Effects, ExitKind, Machine, Policy, Reason, Record, RestartRule, State,
    Want,
};
use std::time::{Duration, Instant};

/// Seen stopped, or stopped by `suspend`: no startsecs runs out meanwhile.
pub(super) fn suspended(m: &mut Machine) {
    m.state = State::Suspended;
    m.deadline = None;
}

/// Seen continued, or continued by `resume`: back to STARTING if startsecs
/// has not run out since the spawn. With a `ready=` check, RUNNING only
/// if this process has been ready; else STARTING until its ready_timeout
/// (due at once if that passed while it was stopped: a failed start).
pub(super) fn continued(m: &mut Machine, p: &Policy, now: Instant) {
    if p.ready.is_some() && !p.scheduled {
        if m.ready_seen {
            m.state = State::Running;
            m.attempts = 0;
        } else {
            m.state = State::Starting;
            let due = m.started_at.map_or(now, |t| t + p.ready_timeout);
            m.deadline = Some(due.max(now));
        }
        return;
    }
    match m
        .started_at
        .map(|t| t + p.start_window())
        .filter(|d| *d > now)
    {
        Some(due) => {
            m.state = State::Starting;
            m.deadline = Some(due);
        }
        None => {
            m.state = State::Running;
            m.attempts = 0;
        }
    }
}

/// A fresh machine as the state file recorded it (SPEC §8): a live process
/// is watched again (same pid, nothing started twice), a dead one is put
/// back for its exit to be fed in, and a service without one waits as it
/// did.
pub(super) fn take_back(m: &mut Machine, p: &Policy, r: Record, now: Instant) {
    use State as S;
    // Nothing of an earlier life is kept.
    *m = Machine::new();
    m.restarts = r.restarts;
    m.attempts = r.attempts;
    m.want = r.want;
    m.last_exit = r.last_exit;
    m.reason = r.reason;
    if let Some(since) = r.alive_since {
        m.pid = Some(r.pid);
        m.pgid = (!p.adopted).then_some(r.pid);
        m.started_at = Some(since);
        m.ever_started = true;
        m.state = match r.state {
            S::Starting | S::Suspended | S::Running => r.state,
            // A stop under way is the caller's to go on with.
            S::Stopped | S::Pending | S::Backoff | S::Stopping | S::Exited | S::Fatal => S::Running,
        };
        if m.state == S::Starting {
            m.deadline = Some(now + p.start_window());
        }
    } else if r.state.has_process() {
        m.state = match r.state {
            S::Starting | S::Stopping => r.state,
            S::Stopped
            | S::Pending
            | S::Running
            | S::Backoff
            | S::Exited
            | S::Fatal
            | S::Suspended => S::Running,
        };
        m.pid = Some(r.pid.max(1));
        m.started_at = Some(now);
        m.ever_started = true;
    } else {
        m.state = r.state;
        m.ever_started = r.ever_started;
        // A scheduled one waits for its schedule, not a deadline (SPEC
        // §17: a run missed while no daemon ran is not made up).
        if matches!(r.state, S::Pending | S::Backoff) && !p.scheduled {
            m.deadline = Some(r.due);
        }
    }
}

/// STOPPING is over: nothing of the service is left. A scheduled one
/// waits for its next run (`stop` ends a run, not the schedule).
pub(super) fn settle_stopped(m: &mut Machine, p: &Policy, fx: &mut Effects) {
    m.pgid = None;
    m.deadline = None;
    m.state = State::Stopped;
    if m.want == Want::Gone {
        fx.push(Effect::Forget);
    } else if p.scheduled {
        m.want = Want::Up;
        m.state = State::Pending;
    }
}

/// An exit the operator did not ask for: restart, back off, or settle.
pub(super) fn on_exit(
    m: &mut Machine,
    p: &Policy,
    kind: ExitKind,
    early: bool,
    now: Instant,
    fx: &mut Effects,
) {
    let expected = matches!(kind, ExitKind::Code(c) if p.exitcodes.contains(&c));
    if p.scheduled && m.want != Want::Gone {
        // A run is one-shot (SPEC §17): never restarted, whatever
        // autorestart says; its exit stays shown until the next run.
        m.want = Want::Up;
        m.state = State::Pending;
        return;
    }
    if m.want != Want::Up {
        m.state = State::Stopped;
        if m.want == Want::Gone {
            fx.push(Effect::Forget);
        }
        return;
    }
    match &p.restart {
        RestartRule::Never => m.state = State::Exited,
        RestartRule::Budget(_) if expected => m.state = State::Exited,
        RestartRule::Budget(n) => {
            if m.restarts >= *n {
                m.state = State::Fatal;
                m.reason = Reason::RestartLimit(*n);
            } else {
                m.restarts = m.restarts.saturating_add(1);
                if early {
                    m.attempts = m.attempts.saturating_add(1);
                    backoff(m, p, now);
                } else {
                    respawn(m, now, fx);
                }
            }
        }
        RestartRule::Auto {
            autorestart,
            startretries,
        } => {
            if early {
                m.attempts = m.attempts.saturating_add(1);
                if *startretries != 0 && m.attempts >= *startretries {
                    m.state = State::Fatal;
                    m.reason = Reason::TooQuickly;
                } else {
                    backoff(m, p, now);
                }
            } else {
                let again = match autorestart {
                    AutoRestart::Always => true,
                    AutoRestart::Never => false,
                    AutoRestart::Unexpected => !expected,
                };
                if again {
                    m.restarts = m.restarts.saturating_add(1);
                    respawn(m, now, fx);
                } else {
                    m.state = State::Exited;
                }
            }
        }
    }
}

/// The shortest time from one spawn to the next automatic one (SPEC §11).
pub const RESTART_FLOOR: Duration = Duration::from_secs(1);

/// A restart after a late exit: at once if the run lasted the floor, else
/// PENDING until the floor has passed since it began (s6's rule), so a
/// program that keeps exiting at once is never respawned in a tight loop,
/// even with startsecs=0.
fn respawn(m: &mut Machine, now: Instant, fx: &mut Effects) {
    match m
        .started_at
        .map(|t| t + RESTART_FLOOR)
        .filter(|due| *due > now)
    {
        Some(due) => {
            m.state = State::Pending;
            m.deadline = Some(due);
        }
        None => fx.push(Effect::Spawn),
    }
}

/// BACKOFF for the delay the policy gives this attempt (SPEC §6, §12).
fn backoff(m: &mut Machine, p: &Policy, now: Instant) {
    m.state = State::Backoff;
    m.deadline = Some(now + p.backoff_delay(m.attempts));
}
