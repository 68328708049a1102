//! `sv wait TARGET... --for running|stopped|completed` (SPEC §12): the
//! answer waits until every target meets the condition (`Ok`), or goes out
//! at once when one cannot any more (`Error` naming it and its state). The
//! client keeps the timeout: a wait whose client has gone is dropped
//! ([`Supervisor::drop_waits`]), so an endless one costs nothing for long.
//! Apart from `start`'s waiters (`actions`), which act as well as wait.

use super::{ConnId, Id, Supervisor};
use crate::core::service::{ExitKind, State, Want};
use crate::wire::{Response, WaitFor, WaitSpec};
use std::collections::HashSet;
use std::time::Instant;

/// One `sv wait` request under way.
pub(super) struct Wait {
    conn: ConnId,
    until: WaitFor,
    /// Each target's id and the name `status` shows.
    items: Vec<(Id, String)>,
}

/// Where one target stands against the condition.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Met,
    NotYet,
    /// It cannot reach the condition by itself; why, for the user.
    Cannot(String),
}

impl Supervisor {
    /// Serves `sv wait`: the answer now when it is already decided, else
    /// None and it goes out from [`settle_waits`](Self::settle_waits).
    pub fn wait_for(&mut self, conn: ConnId, spec: WaitSpec, now: Instant) -> Option<Response> {
        if spec.targets.is_empty() {
            return Some(Response::Error(
                "no service named (give a name, a pid, PROGRAM:* or all)".into(),
            ));
        }
        let ids = match self.resolve_all(&spec.targets) {
            Ok(ids) => ids,
            Err(e) => return Some(Response::Error(e.into())),
        };
        let items = ids
            .into_iter()
            .filter_map(|id| Some((id, self.services.get(&id)?.shown())))
            .collect();
        let w = Wait {
            conn,
            until: spec.until,
            items,
        };
        let answer = self.judge(&w, now);
        if answer.is_none() {
            self.waits.push(w);
        }
        answer
    }

    /// The answers of the waits decided since the last pass.
    pub(super) fn settle_waits(&mut self, now: Instant) -> Vec<(ConnId, Response)> {
        if self.waits.is_empty() {
            return Vec::new();
        }
        let mut answers = Vec::new();
        for w in std::mem::take(&mut self.waits) {
            match self.judge(&w, now) {
                Some(resp) => answers.push((w.conn, resp)),
                None => self.waits.push(w),
            }
        }
        answers
    }

    /// Forgets the waits of clients that are gone (timed out, interrupted).
    pub fn drop_waits(&mut self, alive: impl Fn(ConnId) -> bool) {
        self.waits.retain(|w| alive(w.conn));
    }

    /// The answer to `w` if it is decided: the first target that cannot
    /// meet the condition, else Ok once all do.
    fn judge(&self, w: &Wait, now: Instant) -> Option<Response> {
        let restarting = self.restarting();
        let mut all = true;
        for (id, name) in &w.items {
            match self.verdict(*id, w.until, &restarting, now) {
                Verdict::Met => {}
                Verdict::NotYet => all = false,
                Verdict::Cannot(why) => {
                    return Some(Response::Error(format!("{name} {why}").into()))
                }
            }
        }
        all.then(|| Response::Ok("".into()))
    }

    fn verdict(&self, id: Id, until: WaitFor, restarting: &HashSet<Id>, now: Instant) -> Verdict {
        let Some(svc) = self.services.get(&id) else {
            return match until {
                WaitFor::Stopped => Verdict::Met,
                WaitFor::Running | WaitFor::Completed => Verdict::Cannot("was removed".into()),
            };
        };
        let m = &svc.machine;
        // Not running now, but on its way: a start not spawned yet, a later
        // level of a start plan, a restart between its stop and its start.
        let coming = (m.state == State::Stopped && m.want == Want::Up)
            || self.queued.contains(&id)
            || restarting.contains(&id);
        let is = |extra: &str| {
            let detail = self.info(id, now).map(|i| i.detail.0).unwrap_or_default();
            let detail = match (detail.is_empty(), extra.is_empty()) {
                (true, true) => String::new(),
                (true, false) => format!(" ({extra})"),
                (false, true) => format!(" ({detail})"),
                (false, false) => format!(" ({detail}, {extra})"),
            };
            Verdict::Cannot(format!("is {}{detail}", m.state.name()))
        };
        let ended = matches!(m.state, State::Stopped | State::Exited | State::Fatal);
        // Held by a dependency that will not get there by itself (FATAL,
        // stopped, exited short of its condition): it cannot either.
        let blocked = m.state == State::Pending && self.deps_blocked(id).is_some();
        match until {
            WaitFor::Running | WaitFor::Completed if blocked => is(""),
            WaitFor::Running => match m.state {
                _ if coming => Verdict::NotYet,
                // Its exec is not confirmed yet: it may still fail to run.
                State::Running if self.exec_pending(id) => Verdict::NotYet,
                State::Running => Verdict::Met,
                State::Stopped | State::Exited | State::Fatal => is(""),
                State::Pending
                | State::Starting
                | State::Backoff
                | State::Stopping
                | State::Suspended => Verdict::NotYet,
            },
            WaitFor::Stopped if ended && !coming => Verdict::Met,
            WaitFor::Stopped => Verdict::NotYet,
            WaitFor::Completed if coming || !ended => Verdict::NotYet,
            WaitFor::Completed => match (m.state, m.last_exit) {
                (State::Exited, Some(ExitKind::Code(c)))
                    if svc.spec.policy.exitcodes.contains(&c) =>
                {
                    Verdict::Met
                }
                (State::Exited, _) => is("not an expected exit"),
                _ => is(""),
            },
        }
    }
}
