//! Schedules (SPEC §17): when each scheduled service runs next.
//!
//! The next due time of each is one more deadline the loop sleeps until
//! (`timeout`), kept in time order as the machines' own are: no periodic
//! tick, no wake-up between runs. When one is due, the service is started
//! if it has no process (the machine makes the run one-shot and waits
//! PENDING after it), or the run is skipped and logged; then the next due
//! time is computed from that one, so a late wake-up makes up nothing.
//!
//! Due times are wall-clock times (`Schedule::next`, local time), turned
//! into a monotonic deadline when computed; a wall clock set back since is
//! caught when the deadline comes (it waits again until due by the wall).
//! `@every` counts from an anchor: when the schedule was set, kept by a
//! reload that leaves it unchanged and in the state file (`persist`).

use super::persist::unix_ms;
use super::timers::Timers;
use super::{Id, Supervisor};
use crate::core::clock::clock;
use crate::core::schedule::Zone;
use crate::core::service::Event;
use crate::core::state_file::SavedSchedule;
use crate::wire::List;
use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Schedules due in one pass of the loop, at most (each may spawn).
const DUE_PER_PASS: usize = 16;

#[derive(Default)]
pub(super) struct Schedules {
    /// The next due time of each armed service, as a loop deadline.
    timers: Timers,
    entries: HashMap<Id, Entry>,
    /// The local zone, read at the first schedule.
    zone: Option<Zone>,
    /// While services are taken back after a crash: `add` leaves arming
    /// to `recover`, which knows each one's anchor.
    pub(super) recovering: bool,
}

struct Entry {
    /// The expression as armed (normalized), to tell a changed one.
    expr: String,
    /// When the schedule was set: what `@every` counts from.
    anchor: SystemTime,
    /// The next run; None: never.
    due: Option<SystemTime>,
    /// The same as the loop's deadline.
    at: Option<Instant>,
}

impl Schedules {
    /// The earliest due time, for poll's timeout.
    pub(super) fn first(&self) -> Option<Instant> {
        self.timers.first()
    }

    pub(super) fn remove(&mut self, id: Id) {
        self.entries.remove(&id);
        self.timers.remove(id);
    }
}

impl Supervisor {
    /// Follows a service's spec: arms its schedule (anchored at `anchor`,
    /// else now), keeps one that is unchanged (and its anchor), re-arms a
    /// changed one at once, disarms a removed one (the service is then
    /// STOPPED, for its start rules to take it).
    pub(super) fn sync_schedule(&mut self, id: Id, anchor: Option<SystemTime>) {
        let now = Instant::now();
        let Some(svc) = self.services.get(&id) else {
            return;
        };
        let expr = svc.spec.schedule.as_ref().map(|s| s.to_string());
        let m = &svc.machine;
        let waiting = m.state == crate::core::service::State::Pending && m.deadline.is_none();
        let old = self.schedules.entries.get(&id).map(|e| e.expr.clone());
        match (expr, old) {
            (None, None) => {}
            (None, Some(_)) => {
                self.schedules.remove(id);
                if waiting {
                    self.apply(id, Event::Stop, now);
                }
            }
            (Some(e), Some(o)) if e == o && anchor.is_none() => {}
            (Some(expr), _) => {
                let wall = SystemTime::now();
                let anchor = anchor.filter(|a| *a <= wall).unwrap_or(wall);
                self.schedules.entries.insert(
                    id,
                    Entry {
                        expr,
                        anchor,
                        due: None,
                        at: None,
                    },
                );
                self.next_due(id, wall, now);
                self.apply(id, Event::Scheduled, now);
            }
        }
    }

    /// Whether the service runs on a schedule.
    pub fn scheduled(&self, id: Id) -> bool {
        self.schedules.entries.contains_key(&id)
    }

    /// A scheduled service with no run under way.
    pub fn between_runs(&self, id: Id) -> bool {
        self.scheduled(id)
            && self
                .services
                .get(&id)
                .is_some_and(|s| !s.machine.state.has_process())
    }

    /// Every schedule, for the state file (SPEC §8): a new daemon keeps
    /// the anchor of one its config or request still has.
    pub(super) fn saved_schedules(&self) -> List<SavedSchedule> {
        let mut v: Vec<SavedSchedule> = Vec::with_capacity(self.schedules.entries.len());
        for (id, e) in &self.schedules.entries {
            if let Some(s) = self.services.get(id) {
                v.push(SavedSchedule {
                    name: s.spec.name.clone().into(),
                    expr: e.expr.clone().into(),
                    anchor_unix_ms: unix_ms(e.anchor),
                });
            }
        }
        v.into()
    }

    /// Arms a service taken back after a crash: with its recorded anchor
    /// if its schedule is the one recorded, else from now. The next due
    /// time is computed from now: runs missed meanwhile are not made up.
    pub(super) fn arm_recovered(&mut self, id: Id, saved: Option<&SavedSchedule>) {
        let Some(svc) = self.services.get(&id) else {
            return;
        };
        let expr = svc.spec.schedule.as_ref().map(|s| s.to_string());
        let anchor = saved
            .filter(|s| Some(&s.expr.0) == expr.as_ref())
            .and_then(|s| UNIX_EPOCH.checked_add(Duration::from_millis(s.anchor_unix_ms)));
        self.sync_schedule(id, anchor);
    }

    /// Arms every scheduled service once all are taken back, each with
    /// its recorded schedule (`arm_recovered`).
    pub(super) fn arm_taken_back(&mut self, saved: List<SavedSchedule>) {
        self.schedules.recovering = false;
        let saved: HashMap<String, SavedSchedule> =
            saved.0.into_iter().map(|s| (s.name.0.clone(), s)).collect();
        let ids: Vec<(Id, String)> = self
            .services
            .values()
            .filter(|s| s.spec.schedule.is_some() && !self.schedules.entries.contains_key(&s.id))
            .map(|s| (s.id, s.spec.name.clone()))
            .collect();
        for (id, name) in ids {
            self.arm_recovered(id, saved.get(&name));
        }
    }

    /// Sets the next due time of `id`: the first after `after`.
    fn next_due(&mut self, id: Id, after: SystemTime, now: Instant) {
        let wall = SystemTime::now();
        let zone = self.schedules.zone.get_or_insert_with(Zone::local).clone();
        let (Some(svc), Some(e)) = (self.services.get(&id), self.schedules.entries.get_mut(&id))
        else {
            return;
        };
        let Some(sched) = svc.spec.schedule.as_deref() else {
            return;
        };
        e.due = sched.next(after, e.anchor, &zone);
        e.at = e
            .due
            .map(|t| now + t.duration_since(wall).unwrap_or(Duration::ZERO));
        self.schedules.timers.sync(id, e.at);
    }

    /// Runs the schedules whose time has come.
    pub(super) fn run_schedules(&mut self, now: Instant) {
        for id in self.schedules.timers.due(now, DUE_PER_PASS) {
            self.run_due(id, now);
        }
    }

    /// One due time: a run, or a skip if the last is still going; then the
    /// next due time.
    fn run_due(&mut self, id: Id, now: Instant) {
        let wall = SystemTime::now();
        let (Some(due), Some(svc)) = (
            self.schedules.entries.get(&id).and_then(|e| e.due),
            self.services.get(&id),
        ) else {
            self.schedules.timers.sync(id, None);
            return;
        };
        // The wall clock went back since the deadline was set: not due yet.
        if let Ok(early) = due.duration_since(wall) {
            if early >= Duration::from_secs(1) {
                if let Some(e) = self.schedules.entries.get_mut(&id) {
                    e.at = Some(now + early);
                }
                self.schedules.timers.sync(id, Some(now + early));
                return;
            }
        }
        let name = svc.spec.name.clone();
        let at = self.local_time(due, true);
        if self.closing() {
            // Nothing starts while everything stops.
        } else if svc.machine.state.has_process() {
            let pid = svc
                .machine
                .pid
                .map(|p| format!(" (pid {p})"))
                .unwrap_or_default();
            self.log.notice(&format!(
                "{name}: run due at {at} skipped: the last run{pid} is still going"
            ));
        } else {
            self.log.info(&format!("{name}: run due at {at}"));
            self.apply(id, Event::Start, now);
        }
        self.next_due(id, wall.max(due), now);
    }

    /// `next run in H:MM:SS (at YYYY-MM-DD HH:MM)` for a scheduled service.
    pub(super) fn schedule_detail(&self, id: Id, now: Instant) -> Option<String> {
        let e = self.schedules.entries.get(&id)?;
        let (Some(due), Some(at)) = (e.due, e.at) else {
            return Some("no next run".into());
        };
        let left = at.saturating_duration_since(now).as_secs_f64().round() as u64;
        Some(format!(
            "next run in {} (at {})",
            clock(left),
            self.local_time(due, false)
        ))
    }

    /// `last run: exit 0 at HH:MM:SS` (the time when known), once it ran.
    pub(super) fn last_run(&self, id: Id, now: Instant) -> Option<String> {
        let m = &self.services.get(&id)?.machine;
        let exit = m.last_exit?.describe();
        let when = m
            .stopped_at
            .and_then(|t| SystemTime::now().checked_sub(now.saturating_duration_since(t)))
            .map(|wall| format!(" at {}", self.local_time(wall, true)));
        Some(format!("last run: {exit}{}", when.unwrap_or_default()))
    }

    /// `YYYY-MM-DD HH:MM` in the schedules' zone, or `HH:MM:SS`.
    fn local_time(&self, t: SystemTime, time_only: bool) -> String {
        let utc = match t.duration_since(UNIX_EPOCH) {
            Ok(d) => d.as_secs().min(i64::MAX as u64 / 2) as i64,
            Err(_) => 0,
        };
        let zone = self.schedules.zone.as_ref();
        if !time_only {
            return zone.map_or_else(|| Zone::utc().minute_text(utc), |z| z.minute_text(utc));
        }
        let offset = zone.map_or(0, |z| z.offset_at(utc));
        let secs = (utc + i64::from(offset)).rem_euclid(86_400);
        format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
    }
}
