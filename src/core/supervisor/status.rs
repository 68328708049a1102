//! Targets and status: what a name, `GROUP:NAME`, a pid, `PROGRAM:*` or
//! `all` stands for, and the rows `status` shows.

use super::{Id, Service, Supervisor};
use crate::core::clock::clock;
use crate::core::names;
use crate::core::service::{ExitKind, Reason, State};
use crate::wire::{Response, ServiceInfo};
use std::time::Instant;

impl Supervisor {
    // ------------------------------------------------------------ targets

    /// Resolves a target: a name, `GROUP:NAME`, `GROUP:*` (or `GROUP:`),
    /// a pid or `all`. A config process's group is its `[group:g]`, else
    /// its program; `PROGRAM:` also reaches a program inside a group, as
    /// `PROGRAM:*` always has. Names hold no `:`, so a target with one is
    /// never a name.
    pub fn resolve(&self, target: &str) -> Result<Vec<Id>, String> {
        if target == "all" {
            return Ok(self.services.keys().copied().collect());
        }
        if let Some(&id) = self.by_name.get(target) {
            return Ok(vec![id]);
        }
        if let Some((group, name)) = target.split_once(':') {
            let in_group = |s: &&Service| {
                s.spec.program.as_deref() == Some(group) || s.spec.group.as_deref() == Some(group)
            };
            let ids: Vec<Id> = self
                .services()
                .filter(in_group)
                .filter(|s| name.is_empty() || name == "*" || s.spec.name == name)
                .map(|s| s.id)
                .collect();
            if !ids.is_empty() {
                return Ok(ids);
            }
            if (name.is_empty() || name == "*") && !group.is_empty() {
                return Err(format!("no such program or group: {group}"));
            }
            return Err(self.no_such(target));
        }
        if let Ok(pid) = target.parse::<i32>() {
            if let Some(&id) = self.by_pid.get(&pid) {
                return Ok(vec![id]);
            }
            return Err(format!("no service has pid {pid}"));
        }
        Err(self.no_such(target))
    }

    /// `no such service: T`, with the closest name `status` shows if one
    /// is near. Edit distance costs the product of the lengths, so only a
    /// target of a typed name's length is compared, and only with names of
    /// about its length: a huge target or a huge table costs no more than
    /// a scan (the loop must not stall on a bad request).
    fn no_such(&self, target: &str) -> String {
        const TYPED: usize = 64;
        let len = target.chars().count();
        let hint = if len <= TYPED {
            let near = |n: &String| n.chars().count().abs_diff(len) <= len / 3 + 1;
            // Shown names (`backend:worker`) and bare ones (`worker`).
            let shown: Vec<String> = self
                .services
                .values()
                .flat_map(|s| [s.shown(), s.spec.name.clone()])
                .filter(near)
                .collect();
            crate::core::suggest::hint(target, shown.iter().map(String::as_str))
        } else {
            String::new()
        };
        format!("no such service: {target}{hint}")
    }

    /// Resolves several targets, in order, without duplicates.
    pub fn resolve_all(&self, targets: &[crate::wire::Text]) -> Result<Vec<Id>, String> {
        let mut ids = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for t in targets {
            for id in self.resolve(t)? {
                if seen.insert(id) {
                    ids.push(id);
                }
            }
        }
        Ok(ids)
    }

    // ------------------------------------------------------------- status

    pub fn info(&self, id: Id, now: Instant) -> Option<ServiceInfo> {
        let s = self.services.get(&id)?;
        let m = &s.machine;
        let uptime = match (m.state.has_process(), m.started_at) {
            (true, Some(t)) => now.saturating_duration_since(t).as_secs(),
            _ => 0,
        };
        // SPEC §17: PENDING between runs says when the next is, and how
        // the last ended; any other state adds when the next is.
        let next = self.schedule_detail(id, now);
        let between_runs = next.is_some() && self.waiting_for(id).is_none();
        let mut detail = match m.state {
            State::Pending if between_runs => {
                let last = self.last_run(id, now).map(|l| format!(", {l}"));
                format!(
                    "{}{}",
                    next.clone().unwrap_or_default(),
                    last.unwrap_or_default()
                )
            }
            State::Running => format!("pid {}, uptime {}", m.pid.unwrap_or(0), clock(uptime)),
            State::Stopping if m.pid.is_none() => format!(
                "waiting for the rest of process group {}",
                m.pgid.unwrap_or(0)
            ),
            State::Starting | State::Stopping | State::Suspended => {
                format!("pid {}", m.pid.unwrap_or(0))
            }
            State::Pending if self.waiting_for(id).is_some() => {
                self.waiting_for(id).unwrap_or_default()
            }
            State::Pending => format!(
                "starts in {} s",
                m.deadline
                    .map(|d| d.saturating_duration_since(now).as_secs_f64().ceil() as u64)
                    .unwrap_or(0)
            ),
            State::Backoff if m.unready => format!(
                "not ready within {} s, retry in {} s",
                s.spec.policy.ready_timeout.as_secs(),
                m.deadline
                    .map(|d| d.saturating_duration_since(now).as_secs_f64().ceil() as u64)
                    .unwrap_or(0)
            ),
            State::Backoff => format!(
                "Exited too quickly (process log may have details), retry in {} s",
                m.deadline
                    .map(|d| d.saturating_duration_since(now).as_secs_f64().ceil() as u64)
                    .unwrap_or(0)
            ),
            State::Stopped if !m.ever_started => "Not started".to_string(),
            State::Stopped => match m.last_exit {
                Some(k) => format!("Stopped ({})", k.describe()),
                None => "Stopped".to_string(),
            },
            State::Exited => m.last_exit.map(ExitKind::describe).unwrap_or_default(),
            State::Fatal => svc_reason(s),
        };
        if let Some(next) = next.filter(|_| m.state != State::Pending) {
            detail.push_str(&format!(", {next}"));
        }
        if let Some(ready) = self.ready_detail(id) {
            detail.push_str(&format!(", {ready}"));
        }
        if let Some(health) = self.health_detail(id) {
            detail.push_str(&format!(", {health}"));
        }
        if let Some(told) = self.notify_status(id) {
            detail.push_str(&format!(", status: {told}"));
        }
        let left = self.leftovers.count(id);
        if left > 0 && !m.state.has_process() {
            let s = if left == 1 { "" } else { "es" };
            detail.push_str(&format!(", {left} process{s} left"));
        }
        for log in &s.logs {
            if let Some(e) = &log.error {
                detail.push_str(&format!(", log error: {e}"));
            }
        }
        Some(ServiceInfo {
            name: s.shown().into(),
            state: m.state.name().into(),
            pid: m.pid.unwrap_or(0),
            uptime_secs: uptime,
            restarts: m.restarts + self.health_restarts(id),
            last_exit: m
                .last_exit
                .map(ExitKind::describe)
                .unwrap_or_default()
                .into(),
            detail: detail.into(),
            command: crate::core::spec::join_words(&s.spec.argv).into(),
            adopted: s.spec.policy.adopted,
        })
    }

    pub fn status(&self, targets: &[crate::wire::Text], now: Instant) -> Response {
        let ids = if targets.is_empty() {
            self.services.keys().copied().collect()
        } else {
            match self.resolve_all(targets) {
                Ok(ids) => ids,
                Err(e) => return Response::Error(e.into()),
            }
        };
        Response::Status(
            ids.into_iter()
                .filter_map(|id| self.info(id, now))
                .collect(),
        )
    }
}

impl Service {
    /// The name as `status`, outcome lines and `--json` show it:
    /// `GROUP:NAME` where supervisorctl shows that (see [`names::display`]).
    /// Files, the state file and the name index keep the bare name.
    pub fn shown(&self) -> String {
        names::display(
            &self.spec.name,
            self.spec.program.as_deref(),
            self.spec.group.as_deref(),
        )
    }
}

pub(crate) fn svc_reason(s: &Service) -> String {
    match &s.machine.reason {
        Reason::SpawnError(e) | Reason::NotReady(e) => e.clone(),
        Reason::TooQuickly => "Exited too quickly (process log may have details)".to_string(),
        Reason::RestartLimit(n) => format!(
            "restart limit of {n} reached, last {}",
            s.machine
                .last_exit
                .map(ExitKind::describe)
                .unwrap_or_default()
        ),
        Reason::None => s
            .machine
            .last_exit
            .map(ExitKind::describe)
            .unwrap_or_default(),
    }
}
