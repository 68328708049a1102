//! `depends_on` at run time (SPEC §12): a spawn whose dependencies have not
//! met their conditions is held back (PENDING, `waiting for db (STARTING)`)
//! and released once they have; stops run the graph backwards; `start`
//! brings along what a service needs.
//!
//! No polling: every state change marks the graph changed, and the held
//! services are looked at again when the batch of that change ends (in
//! `run_deferred`), so an idle daemon still never wakes up.

use super::{Id, Service, Supervisor};
use crate::core::service::{Event, ExitKind, State, Want};
use crate::core::spec::{Condition, ServiceSpec};
use std::cmp::Reverse;
use std::collections::HashSet;
use std::time::Instant;

/// The services held back by their dependencies.
#[derive(Default)]
pub(super) struct Deps {
    waiting: HashSet<Id>,
    /// Some state changed since the held ones were last looked at (set
    /// by `apply_one`).
    pub(super) changed: bool,
}

/// Whether `s` meets `c` now.
fn meets(s: &Service, c: Condition) -> bool {
    let m = &s.machine;
    match c {
        Condition::Running => m.state == State::Running,
        Condition::Started => {
            m.state.has_process() || matches!(m.state, State::Exited | State::Backoff)
        }
        Condition::Completed => {
            m.state == State::Exited
                && matches!(m.last_exit, Some(ExitKind::Code(c)) if s.spec.policy.exitcodes.contains(&c))
        }
    }
}

impl Supervisor {
    /// The services a `depends_on` target stands for now: a program's
    /// processes, else the process of that name; `GROUP:NAME`, `GROUP:*`.
    fn dep_ids(&self, target: &str) -> Vec<Id> {
        if target.contains(':') {
            return self.resolve(target).unwrap_or_default();
        }
        let named = self.by_name.get(target).copied();
        let own = named
            .and_then(|id| self.services.get(&id))
            .is_some_and(|s| s.spec.program.as_deref().is_none_or(|p| p == target));
        if own {
            return named.into_iter().collect();
        }
        let of_program: Vec<Id> = self
            .services
            .values()
            .filter(|s| s.spec.program.as_deref() == Some(target))
            .map(|s| s.id)
            .collect();
        if of_program.is_empty() {
            named.into_iter().collect()
        } else {
            of_program
        }
    }

    /// The first dependency of `id` that has not met its condition, as
    /// status shows it (`db (STARTING)`), with its id if it exists.
    fn first_unmet(&self, id: Id) -> Option<(String, Option<Id>)> {
        let svc = self.services.get(&id)?;
        for dep in &svc.spec.depends_on {
            let ids = self.dep_ids(&dep.target);
            if ids.is_empty() {
                return Some((format!("{} (no such service)", dep.target), None));
            }
            for d in ids {
                let Some(s) = self.services.get(&d) else {
                    continue;
                };
                if !meets(s, dep.condition) {
                    let label = format!("{} ({})", s.shown(), s.machine.state.name());
                    return Some((label, Some(d)));
                }
            }
        }
        None
    }

    /// `waiting for db (STARTING)` for a service held by its dependencies.
    pub(super) fn waiting_for(&self, id: Id) -> Option<String> {
        if !self.deps.waiting.contains(&id) {
            return None;
        }
        self.first_unmet(id)
            .map(|(w, _)| format!("waiting for {w}"))
    }

    /// A spawn about to be launched: held back (true) while a dependency
    /// has not met its condition.
    pub(super) fn hold_for_deps(&mut self, id: Id, now: Instant) -> bool {
        let Some((why, _)) = self.first_unmet(id) else {
            return false;
        };
        if self.deps.waiting.insert(id) {
            if let Some(s) = self.services.get(&id) {
                let msg = format!("{}: waiting for {why}", s.spec.name);
                self.log.info(&msg);
            }
        }
        self.apply(id, Event::Hold, now);
        true
    }

    /// Releases the held services whose dependencies now meet their
    /// conditions, by priority; their spawns go to the batch under way.
    pub(super) fn release_deps(&mut self, now: Instant) {
        if !std::mem::take(&mut self.deps.changed) || self.deps.waiting.is_empty() {
            return;
        }
        let mut ids: Vec<(i32, Id)> = Vec::new();
        let mut gone = Vec::new();
        for &id in &self.deps.waiting {
            let m = self
                .services
                .get(&id)
                .map(|s| (s.spec.priority, &s.machine));
            match m {
                Some((prio, m))
                    if m.state == State::Pending && m.deadline.is_none() && m.want == Want::Up =>
                {
                    if !self.closing() && self.first_unmet(id).is_none() {
                        ids.push((prio, id));
                    }
                }
                _ => gone.push(id),
            }
        }
        for id in gone {
            self.deps.waiting.remove(&id);
        }
        ids.sort_unstable();
        for (_, id) in ids {
            self.deps.waiting.remove(&id);
            // PENDING with no deadline: Timer spawns it.
            self.apply(id, Event::Timer, now);
        }
    }

    /// Why a held service will not start by itself: its dependency is
    /// FATAL, stopped, exited short of its condition, gone, or held by one
    /// such itself.
    pub(super) fn deps_blocked(&self, id: Id) -> Option<String> {
        let mut at = id;
        // Down the chain of held services. Checks at load and create keep
        // cycles out; should one slip in, it is said, not waited on.
        let mut seen = HashSet::new();
        for _ in 0..=self.services.len() {
            if !self.deps.waiting.contains(&at) {
                return None;
            }
            if !seen.insert(at) {
                return Some("waiting in a dependency cycle".into());
            }
            let (why, dep) = self.first_unmet(at)?;
            let Some(s) = dep.and_then(|d| self.services.get(&d)) else {
                return Some(format!("waiting for {why}"));
            };
            let stuck = !self.exec_pending(s.id)
                && match s.machine.state {
                    State::Fatal | State::Exited => true,
                    State::Stopped => s.machine.want != Want::Up,
                    _ => false,
                };
            if stuck {
                return Some(format!("waiting for {why}"));
            }
            at = s.id;
        }
        None
    }

    /// `start` of `ids`: the dependencies they need that are not on their
    /// way up by themselves (stopped, exited, FATAL), deepest first. Those
    /// awaited `running` or `started` get a line of their own (`db:
    /// started`); those awaited `completed` are started without one (a
    /// one-shot job's start ends in EXITED, no error).
    pub(super) fn needed_deps(&self, ids: &[Id]) -> (Vec<Id>, Vec<Id>) {
        let mut seen: HashSet<Id> = ids.iter().copied().collect();
        let (mut lines, mut quiet) = (Vec::new(), Vec::new());
        // One already up (`already started`) brings nothing along.
        let mut todo: Vec<Id> = ids
            .iter()
            .copied()
            .filter(|id| {
                self.services
                    .get(id)
                    .is_some_and(|s| !s.machine.state.has_process())
            })
            .collect();
        while let Some(id) = todo.pop() {
            let Some(svc) = self.services.get(&id) else {
                continue;
            };
            for dep in &svc.spec.depends_on {
                for d in self.dep_ids(&dep.target) {
                    let Some(s) = self.services.get(&d) else {
                        continue;
                    };
                    let idle = matches!(
                        s.machine.state,
                        State::Stopped | State::Exited | State::Fatal
                    ) || s.machine.want != Want::Up;
                    if meets(s, dep.condition) || !seen.insert(d) {
                        continue;
                    }
                    // One on its way up may wait for one that is not.
                    todo.push(d);
                    if !idle || s.spec.policy.adopted {
                        continue;
                    }
                    if dep.condition == Condition::Completed {
                        quiet.push(d);
                    } else {
                        lines.push(d);
                    }
                }
            }
        }
        lines.reverse();
        (lines, quiet)
    }

    /// The order of a stop plan (SPEC §11): a service stops before what it
    /// depends on (a level per step down the graph), then highest priority
    /// first; the key groups each level.
    pub(super) fn stop_order(&self, keyed: Vec<(i32, Id)>) -> Vec<((usize, Reverse<i32>), Id)> {
        let set: HashSet<Id> = keyed.iter().map(|&(_, id)| id).collect();
        // What each stopping service depends on, among those stopping.
        let mut edges: Vec<(Id, Id)> = Vec::new();
        for &(_, id) in &keyed {
            let Some(s) = self.services.get(&id) else {
                continue;
            };
            for dep in &s.spec.depends_on {
                for d in self.dep_ids(&dep.target) {
                    if d != id && set.contains(&d) {
                        edges.push((id, d));
                    }
                }
            }
        }
        // Depth below its dependents: at most one pass per service (the
        // graph is acyclic; the bound keeps a bad one from looping).
        let mut depth: std::collections::HashMap<Id, usize> = Default::default();
        for _ in 0..keyed.len() {
            let mut moved = false;
            for &(from, to) in &edges {
                let want = depth.get(&from).copied().unwrap_or(0) + 1;
                if depth.get(&to).copied().unwrap_or(0) < want {
                    depth.insert(to, want);
                    moved = true;
                }
            }
            if !moved {
                break;
            }
        }
        let mut out: Vec<((usize, Reverse<i32>), Id)> = keyed
            .into_iter()
            .map(|(prio, id)| ((depth.get(&id).copied().unwrap_or(0), Reverse(prio)), id))
            .collect();
        out.sort_unstable();
        out
    }

    /// `create-service --set depends_on=...`: every name must be a service
    /// of the daemon now, and not the new one itself.
    pub fn check_deps(&self, spec: &ServiceSpec) -> Result<(), String> {
        for dep in &spec.depends_on {
            if dep.target == spec.name {
                return Err(format!("depends_on: {} cannot depend on itself", spec.name));
            }
            if self.dep_ids(&dep.target).is_empty() {
                let hint = crate::core::suggest::hint(
                    &dep.target,
                    self.services.values().map(|s| s.spec.name.as_str()),
                );
                return Err(format!(
                    "depends_on: no service, program or group named '{}'{hint}",
                    dep.target
                ));
            }
        }
        match self.path_back_to(spec) {
            Some(path) => Err(format!(
                "depends_on: dependency cycle {} -> {} -> {}",
                spec.name,
                path.join(" -> "),
                spec.name
            )),
            None => Ok(()),
        }
    }

    /// The services through which `spec`'s dependencies lead back to it
    /// (a name it takes again after a removal can close a cycle), in
    /// order; None when none do. Iterative: a long chain cannot overflow
    /// the stack.
    fn path_back_to(&self, spec: &ServiceSpec) -> Option<Vec<String>> {
        let mut parent: std::collections::HashMap<Id, Option<Id>> = Default::default();
        let mut todo: Vec<Id> = Vec::new();
        for dep in &spec.depends_on {
            for d in self.dep_ids(&dep.target) {
                if parent.insert(d, None).is_none() {
                    todo.push(d);
                }
            }
        }
        while let Some(id) = todo.pop() {
            let Some(s) = self.services.get(&id) else {
                continue;
            };
            for dep in &s.spec.depends_on {
                if dep.target == spec.name {
                    let mut path = Vec::new();
                    let mut at = Some(id);
                    while let Some(i) = at {
                        path.extend(self.services.get(&i).map(|s| s.shown()));
                        at = parent.get(&i).copied().flatten();
                    }
                    path.reverse();
                    return Some(path);
                }
                for d in self.dep_ids(&dep.target) {
                    if let std::collections::hash_map::Entry::Vacant(e) = parent.entry(d) {
                        e.insert(Some(id));
                        todo.push(d);
                    }
                }
            }
        }
        None
    }
}
