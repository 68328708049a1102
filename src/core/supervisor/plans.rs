//! Plans: stops made one priority level at a time (highest first, each
//! level together, SPEC §11), and starts spawned all at once in priority
//! order (SPEC §4.2).

use super::{Id, Supervisor};
use crate::core::service::Event;
use std::time::Instant;

/// Stops a set of services one priority level at a time: each level
/// together, the next once the level before is down (SPEC §11: highest
/// priority first). Starts need no plan: they are all spawned at once, in
/// priority order (see [`Supervisor::plan`]).
pub(super) struct Plan {
    pub(super) event: Event,
    levels: std::collections::VecDeque<Vec<Id>>,
    current: Vec<Id>,
    /// Shutdown: until when the next level, of event listeners, waits
    /// for the events of the levels before to reach them.
    hold: Option<Instant>,
}

/// The longest a shutdown waits for listeners to take the events of
/// the programs it stopped before it stops the listeners themselves.
const LISTENER_DRAIN: std::time::Duration = std::time::Duration::from_secs(1);

impl Supervisor {
    /// Stops `ids` level by level of priority, highest first; starts them
    /// all at once, lowest priority first, without waiting for one level
    /// to be RUNNING before spawning the next (SPEC §4.2, as supervisord):
    /// a program that never starts holds back no other.
    pub fn plan(&mut self, event: Event, ids: Vec<Id>, now: Instant) {
        if ids.is_empty() {
            return;
        }
        // A `[group:g]`'s programs go at the group's priority (as
        // supervisord: one stop level per group), by their own inside it.
        let mut keyed: Vec<(i32, i32, Id)> = ids
            .into_iter()
            .filter_map(|id| {
                self.services
                    .get(&id)
                    .map(|s| (s.spec.rank(), s.spec.priority, id))
            })
            .collect();
        keyed.sort_unstable();
        let keyed: Vec<(i32, Id)> = keyed.into_iter().map(|(r, _, id)| (r, id)).collect();
        if event != Event::Stop {
            // One batch: spawned in this order, several in flight at once.
            // A start overtakes a stop plan that has yet to reach it (whose
            // level still stops it when it comes).
            self.begin_batch();
            for (_, id) in keyed {
                self.queued.remove(&id);
                self.apply(id, event.clone(), now);
            }
            self.end_batch(now);
            return;
        }
        // Dependents first, then highest priority first (SPEC §11).
        let keyed = self.stop_order(keyed);
        let mut levels: std::collections::VecDeque<Vec<Id>> = Default::default();
        let mut last = None;
        for (prio, id) in keyed {
            if last != Some(prio) {
                levels.push_back(Vec::new());
                last = Some(prio);
            }
            if let Some(l) = levels.back_mut() {
                l.push(id);
            }
            self.queued.insert(id);
        }
        self.plans.push(Plan {
            event,
            levels,
            current: Vec::new(),
            hold: None,
        });
        self.advance_plans(now);
    }

    /// Moves every plan on to its next level once the current one settled.
    pub fn advance_plans(&mut self, now: Instant) {
        let mut plans = std::mem::take(&mut self.plans);
        plans.retain_mut(|plan| loop {
            let settled = plan.current.iter().all(|id| match self.services.get(id) {
                None => true,
                Some(s) => !s.machine.state.has_process(),
            });
            if !settled || self.listeners_wait(plan, now) {
                return true;
            }
            plan.hold = None;
            let Some(level) = plan.levels.pop_front() else {
                return false;
            };
            self.begin_batch();
            for &id in &level {
                self.queued.remove(&id);
                self.apply(id, plan.event.clone(), now);
            }
            self.end_batch(now);
            plan.current = level;
        });
        // Plans made while these ran (none today) go after them.
        plans.append(&mut self.plans);
        self.plans = plans;
    }

    /// Shutdown (supervisord stops listeners last): the next level holds
    /// event listeners and events still wait for them, so it waits, at
    /// most [`LISTENER_DRAIN`] and never past the grace period.
    fn listeners_wait(&self, plan: &mut Plan, now: Instant) -> bool {
        let listeners = plan
            .levels
            .front()
            .is_some_and(|l| l.iter().any(|&id| self.events.is_member(id)));
        if plan.event != Event::Stop
            || !self.shutdown.requested()
            || !listeners
            || !self.events.undelivered()
        {
            return false;
        }
        let until = *plan
            .hold
            .get_or_insert_with(|| self.grace_cap(now + LISTENER_DRAIN));
        now < until
    }

    /// When a shutdown's wait for listeners ends, for poll's timeout.
    pub(super) fn plans_due(&self) -> Option<Instant> {
        self.plans.iter().filter_map(|p| p.hold).min()
    }
}
