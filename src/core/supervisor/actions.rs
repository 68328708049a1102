//! Requests that act on services and wait for the outcome: `start` waits
//! for RUNNING (or failure), `stop` for STOPPED, `restart` for both, `close`
//! for every process to be gone. Each becomes a [`Waiter`] whose items are
//! moved on after every loop pass; the answer goes out when all are done.

use super::{err, ok, svc_reason, ConnId, Id, Supervisor};
use crate::core::service::{Event, ExitKind, State};
use crate::core::sys;
use crate::wire::{Action, Outcome, Response};
use std::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    Stopping,
    /// Restart: stopped, waiting for the others of its request to stop
    /// too, so all start again together by priority.
    Stopped,
    Starting,
    Removing,
    Done,
}

pub(super) struct Item {
    id: Id,
    name: String,
    phase: Phase,
    /// Start again once stopped.
    restart: bool,
    /// Lines to print, in order; `finished` once the last is known.
    outcomes: Vec<Outcome>,
    finished: bool,
    /// `started, pid P` rather than `started` (`create-service`).
    with_pid: bool,
    /// Its first line is a `stopped`.
    stopped_line: bool,
    /// A start that answers at the first failed attempt (XML-RPC).
    first_failure: bool,
}

impl Item {
    fn finish(&mut self, o: Outcome) {
        self.outcomes.push(o);
        self.finished = true;
    }
}

/// A request whose answer depends on how its services turn out.
pub(super) struct Waiter {
    conn: ConnId,
    items: Vec<Item>,
}

impl Supervisor {
    // ------------------------------------------------------------ actions

    /// Carries out an action. Returns the response now, or None when a
    /// waiter will answer `conn` later.
    pub fn act(
        &mut self,
        conn: ConnId,
        action: Action,
        targets: &[crate::wire::Text],
        now: Instant,
    ) -> Option<Response> {
        if targets.is_empty() {
            return Some(Response::Error(
                "no service named (give a name, a pid, PROGRAM:* or all)".into(),
            ));
        }
        if matches!(action, Action::Start | Action::Restart) && self.closing() {
            return Some(Response::Error(self.closing_error().into()));
        }
        let ids = match self.resolve_all(targets) {
            Ok(ids) => ids,
            Err(e) => return Some(Response::Error(e.into())),
        };
        // `stop all` and `stop g:*` (or `g:`) pass over what is not running,
        // as supervisorctl does; a service named on its own gets an error.
        let pattern = |t: &str| t == "all" || t.ends_with(":*") || t.ends_with(':');
        let by_pattern = targets.iter().any(|t| pattern(t));
        let named: std::collections::HashSet<Id> = targets
            .iter()
            .filter(|t| !pattern(t))
            .flat_map(|t| self.resolve(t).unwrap_or_default())
            .collect();
        let mut items = Vec::new();
        let (mut to_start, mut to_stop) = (Vec::new(), Vec::new());
        // `start` brings along the dependencies it needs (SPEC §12).
        let (ids, quiet) = match action {
            Action::Start => {
                let (lines, quiet) = self.needed_deps(&ids);
                (lines.into_iter().chain(ids).collect(), quiet)
            }
            _ => (ids, Vec::new()),
        };
        for id in quiet {
            self.hold(id, false);
            to_start.push(id);
        }
        for id in ids {
            let by_pattern = by_pattern && !named.contains(&id);
            let lists = (&mut to_start, &mut to_stop);
            if let Some(item) = self.begin(id, action, by_pattern, lists, now) {
                items.push(item);
            }
        }
        self.plan(Event::Stop, to_stop, now);
        self.plan(Event::Start, to_start, now);
        self.waiters.push(Waiter { conn, items });
        None
    }

    /// One target's part of an action: its item, finished at once or
    /// waiting in a phase, with what to start and stop added to the lists;
    /// None when a pattern (`all`, `g:*`) passes over it.
    fn begin(
        &mut self,
        id: Id,
        action: Action,
        by_pattern: bool,
        (to_start, to_stop): (&mut Vec<Id>, &mut Vec<Id>),
        now: Instant,
    ) -> Option<Item> {
        let svc = self.services.get(&id)?;
        let name = svc.shown();
        let state = svc.machine.state;
        let adopted = svc.spec.policy.adopted;
        let mut item = Item {
            id,
            name: name.clone(),
            phase: Phase::Done,
            restart: action == Action::Restart,
            outcomes: Vec::new(),
            finished: false,
            with_pid: false,
            stopped_line: false,
            first_failure: self.answer_first_failure,
        };
        match action {
            Action::Start | Action::Stop
                if by_pattern
                    && (skip_for_all(action, state)
                        || action == Action::Stop && self.between_runs(id))
                    && !(action == Action::Stop && self.leftovers.count(id) > 0) =>
            {
                return None
            }
            // sv knows no command line for a process it did not start.
            Action::Start | Action::Restart if adopted => {
                if by_pattern {
                    return None;
                }
                item.finish(err(
                    &name,
                    "adopted: sv did not start it and cannot start it",
                ))
            }
            Action::Start => {
                if state.has_process() {
                    item.finish(err(&name, "already started"));
                } else {
                    self.hold(id, false);
                    to_start.push(id);
                    item.phase = Phase::Starting;
                }
            }
            Action::Stop => match self.begin_stop(id, state, now) {
                Ok(later) => {
                    to_stop.extend(later);
                    item.phase = Phase::Stopping;
                }
                Err(why) => item.finish(err(&name, why)),
            },
            Action::Restart => {
                self.hold(id, false);
                if state.has_process() {
                    to_stop.push(id);
                    item.phase = Phase::Stopping;
                } else {
                    // Nothing to stop, but it starts only once every
                    // other target has stopped (SPEC §4.2); a retry
                    // or a delayed start due meanwhile is called off.
                    if matches!(state, State::Backoff | State::Pending) {
                        self.apply(id, Event::Stop, now);
                    }
                    item.phase = Phase::Stopped;
                }
            }
            Action::Remove => {
                self.apply(id, Event::Remove, now);
                item.phase = Phase::Removing;
            }
            Action::Cancel | Action::Suspend | Action::Resume | Action::Signal(_) => {
                item.finish(self.answer_now(id, action, &name, state, now))
            }
        }
        Some(item)
    }

    /// `stop` of one service: Ok with the id when its process is to be
    /// stopped by the plan, Ok with nothing when only what it left behind
    /// is (already under way), Err when there is nothing to stop.
    fn begin_stop(
        &mut self,
        id: Id,
        state: State,
        now: Instant,
    ) -> Result<Option<Id>, &'static str> {
        match state {
            // Gone itself, but what it left behind is stopped.
            State::Stopped | State::Exited | State::Fatal if self.stop_leftovers(id, now) => {
                self.hold(id, true);
                self.apply(id, Event::Stop, now);
                Ok(None)
            }
            State::Stopped | State::Exited | State::Fatal => Err("not running"),
            // `stop` ends a run, not the schedule (SPEC §17).
            State::Pending if self.between_runs(id) => {
                Err("not running (it runs on its schedule; supervisor-cancel removes it)")
            }
            _ => {
                self.stop_leftovers(id, now);
                self.hold(id, true);
                Ok(Some(id))
            }
        }
    }

    /// XML-RPC `stopProcess` of a service that is not running: supervisord
    /// answers NOT_RUNNING, but what it left behind (SPEC §11) is stopped
    /// as `sv stop` stops it, so a following start makes no duplicate.
    pub(crate) fn stop_left_behind(&mut self, id: Id, now: Instant) {
        let state = self.services.get(&id).map(|s| s.machine.state);
        if matches!(state, Some(State::Stopped | State::Exited | State::Fatal)) {
            let _ = self.begin_stop(id, state.unwrap_or(State::Stopped), now);
        }
    }

    /// The actions answered at once: cancel, suspend, resume, signal.
    fn answer_now(
        &mut self,
        id: Id,
        action: Action,
        name: &str,
        state: State,
        now: Instant,
    ) -> Outcome {
        match action {
            // A schedule is cancelled whatever its run is doing (SPEC §17).
            Action::Cancel if state == State::Pending || self.scheduled(id) => {
                self.apply(id, Event::Remove, now);
                ok(name, "cancelled")
            }
            Action::Cancel => err(name, format!("not pending but {}", state.name())),
            Action::Suspend => match state {
                State::Starting | State::Running => {
                    self.apply(id, Event::Suspend, now);
                    ok(name, "suspended")
                }
                State::Suspended => err(name, "already suspended"),
                _ => err(name, "not running"),
            },
            Action::Resume if state == State::Suspended => {
                self.apply(id, Event::Resume, now);
                ok(name, "resumed")
            }
            Action::Resume => err(name, "not suspended"),
            Action::Signal(sig) => {
                let pid = self.services.get(&id).and_then(|s| s.machine.pid);
                match pid {
                    Some(pid) if state.has_process() => match sys::send_signal(pid, sig, false) {
                        Ok(()) => ok(
                            name,
                            format!("signalled {}", crate::core::service::signal_name(sig)),
                        ),
                        Err(e) => err(name, format!("cannot signal pid {pid}: {e}")),
                    },
                    _ => err(name, "not running"),
                }
            }
            Action::Start | Action::Stop | Action::Restart | Action::Remove => {
                err(name, "is not answered at once")
            }
        }
    }

    /// Restarts services with no client waiting (a reload's changed
    /// programs): a waiter for connection 0, which no client ever has.
    pub(super) fn restart_quietly(&mut self, ids: Vec<Id>, now: Instant) {
        if ids.is_empty() {
            return;
        }
        let items = ids
            .iter()
            .filter_map(|&id| {
                Some(Item {
                    id,
                    name: self.services.get(&id)?.spec.name.clone(),
                    phase: Phase::Stopping,
                    restart: true,
                    outcomes: Vec::new(),
                    finished: false,
                    with_pid: false,
                    stopped_line: false,
                    first_failure: false,
                })
            })
            .collect();
        self.plan(Event::Stop, ids, now);
        self.waiters.push(Waiter { conn: 0, items });
    }

    /// Answers `conn` once a service just started is RUNNING (past
    /// startsecs) or has failed, as `start` does: `create-service`
    /// without `--no-wait`.
    pub fn wait_started(&mut self, conn: ConnId, id: Id) {
        let Some(name) = self.services.get(&id).map(|s| s.spec.name.clone()) else {
            return;
        };
        let item = Item {
            id,
            name,
            phase: Phase::Starting,
            restart: false,
            outcomes: Vec::new(),
            finished: false,
            with_pid: true,
            stopped_line: false,
            first_failure: false,
        };
        self.waiters.push(Waiter {
            conn,
            items: vec![item],
        });
    }

    /// The daemon is stopping everything (`close`, a signal): nothing may
    /// start again, or the close would never end.
    pub(crate) fn closing(&self) -> bool {
        self.shutdown.requested()
    }

    /// Why a start is refused while [`closing`](Self::closing).
    pub(crate) fn closing_error(&self) -> String {
        format!("supervisor {} is closing", self.paths.instance)
    }

    /// Records operator intent: a service stopped by a command stays
    /// stopped across reload until a command starts it.
    fn hold(&mut self, id: Id, held: bool) {
        if let Some(s) = self.services.get_mut(&id) {
            s.held = held;
            self.dirty = true;
        }
    }

    /// Begins a clean shutdown: every service is stopped by its rules.
    pub fn begin_shutdown(&mut self, conn: Option<ConnId>, now: Instant) {
        // What services left behind is stopped too, once they are down.
        self.leftovers.touch();
        // A signal said so already, with the signal's name (`signals`).
        let first = !self.shutdown.requested();
        if first && conn.is_some() {
            self.log.info("shutting down: stopping every service");
        }
        // The latest `close` is the one answered; a later signal changes nothing.
        if first || conn.is_some() {
            self.shutdown = super::Shutdown::Requested { by: conn };
        }
        if first {
            self.stopping_event();
        }
        let ids: Vec<Id> = self
            .services
            .values()
            .filter(|s| !s.spec.policy.adopted && !self.queued.contains(&s.id))
            .filter(|s| {
                matches!(
                    s.machine.state,
                    State::Starting | State::Running | State::Suspended
                )
            })
            .map(|s| s.id)
            .collect();
        // Nothing runs for these: cancel their timers at once.
        let waiting: Vec<Id> = self
            .services
            .values()
            .filter(|s| matches!(s.machine.state, State::Pending | State::Backoff))
            .map(|s| s.id)
            .collect();
        for id in waiting {
            self.apply(id, Event::Stop, now);
        }
        // Pending plans to start things are void now.
        self.plans.retain(|p| p.event == Event::Stop);
        self.queued.clear();
        self.plan(Event::Stop, ids, now);
    }

    /// True once no process of ours is left (adopted ones are not ours),
    /// nor any process our services left behind.
    pub fn all_down(&self) -> bool {
        self.leftovers.closed()
            && self.plans.is_empty()
            && self
                .services
                .values()
                .all(|s| s.spec.policy.adopted || !s.machine.state.has_process())
    }

    /// Answers every waiter whose services have all settled.
    pub fn settle_waiters(&mut self, now: Instant) -> Vec<(ConnId, Response)> {
        self.advance_plans(now);
        let mut answers = Vec::new();
        let mut waiters = std::mem::take(&mut self.waiters);
        for w in &mut waiters {
            for item in &mut w.items {
                self.advance(item);
            }
            // A restart starts its services again once all have stopped,
            // as one plan: by priority, each level together.
            if !w
                .items
                .iter()
                .any(|i| i.phase == Phase::Stopping && !i.finished)
            {
                let ids: Vec<Id> = w
                    .items
                    .iter_mut()
                    .filter(|i| i.phase == Phase::Stopped && !i.finished)
                    .map(|i| {
                        i.phase = Phase::Starting;
                        i.id
                    })
                    .collect();
                if !ids.is_empty() && self.closing() {
                    // A close came meanwhile: nothing starts again.
                    let why = self.closing_error();
                    for item in w.items.iter_mut().filter(|i| ids.contains(&i.id)) {
                        item.finish(err(&item.name, &why));
                    }
                } else if !ids.is_empty() {
                    self.plan(Event::Start, ids, now);
                    for item in &mut w.items {
                        self.advance(item);
                    }
                }
            }
        }
        for w in waiters {
            if w.items.iter().all(|i| i.finished) {
                // Every `stopped` line of a restart, then every other line
                // (`started`, errors), as supervisorctl prints them: a
                // target that was not running has only the second kind.
                let (stops, rest): (Vec<_>, Vec<_>) = w
                    .items
                    .iter()
                    .flat_map(|i| {
                        let n = usize::from(i.restart && i.stopped_line);
                        i.outcomes.iter().enumerate().map(move |(k, o)| (k < n, o))
                    })
                    .partition(|(stop, _)| *stop);
                let outcomes = stops
                    .into_iter()
                    .chain(rest)
                    .map(|(_, o)| o.clone())
                    .collect();
                answers.push((w.conn, Response::Outcomes(outcomes)));
            } else {
                self.waiters.push(w);
            }
        }
        answers.extend(self.settle_waits(now));
        answers
    }

    /// Moves one item of a waiter on, as far as its service has come.
    fn advance(&mut self, item: &mut Item) {
        while !item.finished {
            let Some(svc) = self.services.get(&item.id) else {
                let o = match item.phase {
                    Phase::Removing => ok(&item.name, "removed"),
                    // Removed by someone else while it stopped: it did stop.
                    Phase::Stopping if !item.restart => ok(&item.name, "stopped (and removed)"),
                    Phase::Stopping | Phase::Stopped | Phase::Starting | Phase::Done => {
                        err(&item.name, "removed meanwhile")
                    }
                };
                item.finish(o);
                return;
            };
            let state = svc.machine.state;
            if self.queued.contains(&item.id) {
                return;
            }
            match item.phase {
                Phase::Done => item.finished = true,
                Phase::Removing | Phase::Stopped => return,
                Phase::Stopping if state.has_process() || self.leftovers.sweeping(item.id) => {
                    return
                }
                Phase::Stopping => {
                    item.outcomes.push(ok(&item.name, "stopped"));
                    item.stopped_line = true;
                    if item.restart {
                        item.phase = Phase::Stopped;
                    } else {
                        item.finished = true;
                    }
                    return;
                }
                // Its exec is not confirmed yet: the answer waits for it.
                Phase::Starting if self.exec_pending(item.id) => return,
                Phase::Starting => {
                    let o = match state {
                        State::Pending => match self.deps_blocked(item.id) {
                            Some(why) => err(&item.name, why),
                            // A scheduled run that has been and gone.
                            None if self.between_runs(item.id)
                                && self.waiting_for(item.id).is_none() =>
                            {
                                ok(&item.name, "started")
                            }
                            None => return,
                        },
                        State::Backoff if item.first_failure => {
                            err(&item.name, "abnormal termination")
                        }
                        State::Starting | State::Backoff => return,
                        State::Running => match svc.machine.pid.filter(|_| item.with_pid) {
                            Some(pid) => ok(&item.name, format!("started, pid {pid}")),
                            None => ok(&item.name, "started"),
                        },
                        State::Suspended => ok(&item.name, "started (suspended)"),
                        State::Fatal => err(&item.name, svc_reason(svc)),
                        State::Exited => err(
                            &item.name,
                            format!(
                                "exited: {}",
                                svc.machine
                                    .last_exit
                                    .map(ExitKind::describe)
                                    .unwrap_or_default()
                            ),
                        ),
                        State::Stopped | State::Stopping => err(&item.name, "stopped meanwhile"),
                    };
                    item.finish(o);
                }
            }
        }
    }
}

/// Whether `all` leaves this service out of a start or stop.
fn skip_for_all(action: Action, state: State) -> bool {
    match action {
        Action::Start => state.has_process(),
        Action::Stop => matches!(state, State::Stopped | State::Exited | State::Fatal),
        _ => false,
    }
}

impl Supervisor {
    /// Services a `restart` under way has stopped or is stopping, to start
    /// again: the state file records them as wanted up, so a daemon killed
    /// between the stop and the start still ends with them running.
    pub(super) fn restarting(&self) -> std::collections::HashSet<Id> {
        self.waiters
            .iter()
            .flat_map(|w| w.items.iter())
            .filter(|i| i.restart && matches!(i.phase, Phase::Stopping | Phase::Stopped))
            .map(|i| i.id)
            .collect()
    }
}
