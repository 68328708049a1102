//! The supervisor's side of the event bus (SPEC §14): pool members as
//! services come and go, their pipes at each spawn, and the events the
//! daemon raises: PROCESS_STATE_* as supervisord's, PROCESS_GROUP_*,
//! SUPERVISOR_STATE_CHANGE_*, TICK_*.
//!
//! sv's states are reported as supervisord's names (`rpc::info::state`):
//! PENDING (a start put off: the restart floor, `depends_on`) and SUSPENDED
//! raise nothing, the next state reports from the state reported last;
//! a process that exits and is started again at once (sv passes through no
//! EXITED of its own then) raises PROCESS_STATE_EXITED all the same, so
//! crashmail-like listeners see every exit; a start that fails for the
//! last time raises BACKOFF before FATAL, as supervisord's always does
//! (its startretries counts one more attempt); with startsecs=0 STARTING
//! comes before RUNNING, as supervisord's. A listener's own state changes
//! are raised too, as supervisord raises them.

use super::{groups, Id, Supervisor};
use crate::core::events::types::{self, StateExtra};
use crate::core::rpc::info;
use crate::core::service::{ExitKind, State};
use crate::core::sys;
use std::io;
use std::os::fd::OwnedFd;
use std::time::Instant;

impl Supervisor {
    /// A service was added or given new settings: in its pool, if it is a
    /// listener, else in none.
    pub(super) fn listener_added(&mut self, id: Id) {
        let Some(svc) = self.services.get(&id) else {
            return;
        };
        match (&svc.spec.listener, &svc.spec.program) {
            (Some(conf), Some(pool)) => self.events.member_added(id, &svc.spec.name, pool, conf),
            _ => self.events.member_removed(id),
        }
    }

    /// The child's ends of a listener's stdin and stdout pipes; the
    /// daemon's go to the bus. None for any other service.
    pub(super) fn listener_pipes(&mut self, id: Id) -> io::Result<Option<(OwnedFd, OwnedFd)>> {
        if !self.events.is_member(id) {
            return Ok(None);
        }
        let (in_r, in_w) = sys::pipe()?;
        let (out_r, out_w) = sys::pipe()?;
        sys::set_nonblocking(&in_w)?;
        sys::set_nonblocking(&out_r)?;
        self.events.attach(id, in_w, out_r);
        Ok(Some((in_r, out_w)))
    }

    /// After a step of service `id`: its pool learns whether its process
    /// runs, and PROCESS_STATE events are raised (see the module doc).
    pub(super) fn state_events(
        &mut self,
        id: Id,
        before: State,
        exited: Option<ExitKind>,
        old_pid: Option<i32>,
        quiet: bool,
    ) {
        let Some(svc) = self.services.get(&id) else {
            return;
        };
        let after = svc.machine.state;
        if self.events.is_member(id) {
            if old_pid.is_some() && svc.machine.pid != old_pid {
                self.events.process_gone(id);
            }
            self.events.set_running(id, after == State::Running);
        }
        if quiet || !self.events.wants_state() || (before == after && exited.is_none()) {
            return;
        }
        let name = svc.spec.name.clone();
        let group = groups::group_of(&svc.spec).unwrap_or(&name).to_string();
        let mut extra = StateExtra {
            tries: svc.machine.attempts,
            expected: false,
            pid: old_pid.unwrap_or(0),
        };
        if let (Some(kind), Some(_)) = (exited, old_pid) {
            extra.expected =
                matches!(kind, ExitKind::Code(c) if svc.spec.policy.exitcodes.contains(&c));
            // Started again at once: nothing else says it exited.
            let restarted = matches!(after, State::Running | State::Starting | State::Pending);
            if restarted && before != State::Stopping {
                self.raise_state(id, &name, &group, before, "EXITED", extra);
                // Still RUNNING in sv's eyes until the new process is
                // made: STARTING is reported then.
                if after != State::Starting {
                    return;
                }
            }
            // supervisord gives up from BACKOFF, after one more attempt
            // than sv's startretries counts: listeners see its sequence.
            if before == State::Starting && after == State::Fatal {
                self.raise_state(id, &name, &group, before, "BACKOFF", extra);
            }
        }
        if matches!(after, State::Pending | State::Suspended) {
            return;
        }
        // startsecs=0: sv is RUNNING at once; supervisord passes STARTING.
        let was_up = matches!(before, State::Starting | State::Running | State::Suspended);
        if after == State::Running && !was_up {
            self.raise_state(id, &name, &group, before, "STARTING", extra);
        }
        if matches!(after, State::Running | State::Stopping) {
            extra.pid = self
                .services
                .get(&id)
                .and_then(|s| s.machine.pid)
                .unwrap_or(0);
        }
        self.raise_state(id, &name, &group, before, info::state(after).1, extra);
    }

    /// PROCESS_STATE_`to`, from the state last reported (else `before`),
    /// unless that is `to` already.
    fn raise_state(
        &mut self,
        id: Id,
        name: &str,
        group: &str,
        before: State,
        to: &'static str,
        mut extra: StateExtra,
    ) {
        let last = self.events.last_reported(id);
        let from = last.map_or(info::state(before).1, |(s, _)| s);
        if from == to {
            return;
        }
        // A stop whose group outlived the leader settles after its pid is
        // gone: STOPPED names the process STOPPING did, as supervisord's.
        if let (Some(("STOPPING", pid)), "STOPPED", 0) = (last, to, extra.pid) {
            extra.pid = pid;
        }
        self.events.reported(id, to, extra.pid);
        let kind = types::state_kind(to);
        self.events.raise(kind, || {
            types::state_payload(name, group, from, kind, extra)
        });
    }

    /// PROCESS_GROUP_ADDED or _REMOVED for `group`.
    pub(super) fn group_event(&mut self, group: &str, added: bool) {
        let kind = if added {
            types::GROUP_ADDED
        } else {
            types::GROUP_REMOVED
        };
        self.events.raise(kind, || format!("groupname:{group}\n"));
    }

    /// At start: PROCESS_GROUP_ADDED for each config group (as supervisord
    /// adds them, by priority), then SUPERVISOR_STATE_CHANGE_RUNNING.
    pub(super) fn started_events(&mut self) {
        self.events.ident = self.supervisord.identifier().to_string();
        let mut seen = std::collections::HashSet::new();
        let mut list: Vec<(i32, String)> = Vec::new();
        for s in self.services.values() {
            if let Some(g) = groups::group_of(&s.spec) {
                if seen.insert(g.to_string()) {
                    list.push((groups::group_priority(&s.spec), g.to_string()));
                }
            }
        }
        list.sort();
        for (_, g) in list {
            self.group_event(&g, true);
        }
        self.events.raise(types::SUPERVISOR_RUNNING, String::new);
    }

    /// Shutdown begins: SUPERVISOR_STATE_CHANGE_STOPPING, once, written
    /// to a READY listener before any stop signal goes out.
    pub(super) fn stopping_event(&mut self) {
        self.events.raise(types::SUPERVISOR_STOPPING, String::new);
        self.events.pump(&mut self.log);
    }

    /// REMOTE_COMMUNICATION (XML-RPC `sendRemoteCommEvent`).
    pub fn remote_event(&mut self, kind: &str, data: &str) {
        self.events.raise(types::REMOTE_COMMUNICATION, || {
            format!("type:{kind}\n{data}")
        });
    }

    /// Taken back after a crash of the daemon: a listener's protocol
    /// state (a header half read, a result half written) is unknown and
    /// its pipes ended with the old daemon, so each one running is
    /// restarted, with fresh pipes, rather than guessed at.
    pub(super) fn restart_taken_back_listeners(&mut self, now: Instant) {
        let ids: Vec<Id> = (self.services.values())
            .filter(|s| s.machine.pid.is_some() && self.events.is_member(s.id))
            .map(|s| s.id)
            .collect();
        for id in &ids {
            if let Some(s) = self.services.get(id) {
                let msg = format!(
                    "{}: an event listener taken back: restarted, its protocol state is unknown",
                    s.spec.name
                );
                self.log.info(&msg);
            }
        }
        self.restart_quietly(ids, now);
    }

    /// Due TICKs, then what the pools have to send: each pass of the loop.
    pub fn pump_events(&mut self) {
        self.events.tick();
        self.events.pump(&mut self.log);
    }
}
