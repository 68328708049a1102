//! Processes a service leaves behind (SPEC §11): children of a leader that
//! exited, forked daemons, children that called setsid. The daemon is a
//! child subreaper, so every such orphan is reparented to it: its own
//! children list (/proc/self/task/TID/children) holds them, small and
//! exact, with no scan of the host's /proc. Each is attributed to its
//! service by the `SV_PROCESS_NAME` its environment inherited.
//!
//! `status` counts them, `stop` ends them by the service's stop rules
//! (stopsignal, SIGKILL after stopwaitsecs), and a clean `close` ends every
//! one, attributed or not, once the services' own stop rules have run.

use super::{Id, Supervisor};
use crate::core::census;
use crate::core::service::Want;
use crate::core::sys;
use std::collections::HashMap;
use std::time::Instant;

/// The leftovers known to the daemon and the stops under way.
#[derive(Default)]
pub(super) struct Leftovers {
    /// Each leftover pid and the service it came from (None: unknown).
    owner: HashMap<i32, Option<Id>>,
    /// The children may have changed since the last look: a child was reaped.
    stale: bool,
    /// Stops under way, by owner.
    sweeps: HashMap<Option<Id>, Sweep>,
    /// `close`: every leftover is stopped, whoever it belongs to.
    closing: bool,
    /// When /proc was last searched for live members of lingering groups.
    group_scan: Option<Instant>,
}

/// One owner's leftovers being stopped.
#[derive(Clone, Copy)]
struct Sweep {
    /// The signal for each leftover (stopsignal, then SIGKILL).
    sig: i32,
    /// Signal each one's process group too (stopasgroup).
    group: bool,
    /// When SIGKILL is due; None once it was sent.
    kill_at: Option<Instant>,
}

impl Leftovers {
    /// A child of the daemon was reaped: it is no leftover any more, and
    /// its own children (if any) were just reparented to the daemon.
    pub(super) fn reaped(&mut self, pid: i32) {
        self.owner.remove(&pid);
        self.stale = true;
    }

    /// Asks for a fresh look at the daemon's children on the next pass.
    pub(super) fn touch(&mut self) {
        self.stale = true;
    }

    /// How many processes `id` left behind.
    pub(super) fn count(&self, id: Id) -> usize {
        self.owner.values().filter(|o| **o == Some(id)).count()
    }

    /// Whether a stop of `id`'s leftovers is under way.
    pub(super) fn sweeping(&self, id: Id) -> bool {
        self.sweeps.contains_key(&Some(id))
    }

    /// `close` has stopped every leftover: nothing is left, nothing is
    /// being stopped, and the last look at the children is fresh.
    pub(super) fn closed(&self) -> bool {
        self.closing && !self.stale && self.owner.is_empty() && self.sweeps.is_empty()
    }

    /// When the next SIGKILL is due.
    pub(super) fn deadline(&self) -> Option<Instant> {
        self.sweeps.values().filter_map(|s| s.kill_at).min()
    }
}

impl Supervisor {
    /// Starts stopping what service `id` left behind, by its stop rules.
    /// False when it left nothing.
    pub(super) fn stop_leftovers(&mut self, id: Id, now: Instant) -> bool {
        if self.leftovers.count(id) == 0 {
            return false;
        }
        let Some(p) = self.services.get(&id).map(|s| &s.spec.policy) else {
            return false;
        };
        let sweep = Sweep {
            sig: p.stopsignal,
            group: p.group,
            kill_at: Some(self.grace_cap(now + p.stopwait)),
        };
        if !self.leftovers.sweeps.contains_key(&Some(id)) {
            let name = self.services.get(&id).map(|s| s.spec.name.clone());
            let n = self.leftovers.count(id);
            self.log.info(&format!(
                "{}: stopping {n} process{} left behind",
                name.unwrap_or_default(),
                if n == 1 { "" } else { "es" }
            ));
            self.leftovers.sweeps.insert(Some(id), sweep);
        }
        self.signal_leftovers(Some(id));
        true
    }

    /// When [`Supervisor::run_leftovers`] must run next: now if the children
    /// changed or `close` may begin on them since it last ran (a request
    /// served after the pass's timers), else at the next SIGKILL due.
    /// The daemon's end (SPEC §15) rides on this timer too: a program's
    /// end for the exit policy to act on, the end of a grace period.
    pub(super) fn leftovers_due(&self, now: Instant) -> Option<Instant> {
        let close_due =
            self.shutdown.requested() && !self.leftovers.closing && self.services_down();
        if self.leftovers.stale || close_due || self.exit_policy_due() {
            return Some(now);
        }
        let due = self.leftovers.deadline();
        due.into_iter().chain(self.grace_due()).min()
    }

    /// No service of ours has a process (adopted ones are not ours).
    fn services_down(&self) -> bool {
        self.services
            .values()
            .all(|s| s.spec.policy.adopted || !s.machine.state.has_process())
    }

    /// Each pass: looks at the daemon's children again if they may have
    /// changed, sends SIGKILL where it is due, and at `close` stops what
    /// is left once every service's own stop rules have run.
    pub(super) fn run_leftovers(&mut self, now: Instant) {
        self.run_exit_policy(now);
        self.run_grace(now);
        // No stop's SIGKILL comes later than the grace period's end.
        if let Some(end) = self.grace_end() {
            for s in self.leftovers.sweeps.values_mut() {
                s.kill_at = s.kill_at.map(|t| t.min(end));
            }
        }
        if std::mem::take(&mut self.leftovers.stale) {
            self.scan_leftovers();
        }
        if self.shutdown.requested() && !self.leftovers.closing && self.services_down() {
            self.leftovers.closing = true;
            if !self.leftovers.owner.is_empty() {
                let n = self.leftovers.owner.len();
                self.log.info(&format!(
                    "shutting down: stopping {n} processes left behind"
                ));
            }
        }
        if self.leftovers.closing {
            let owners: Vec<Option<Id>> = self.leftovers.owner.values().copied().collect();
            for owner in owners {
                if self.leftovers.sweeps.contains_key(&owner) {
                    continue;
                }
                let ok = owner.is_some_and(|id| self.stop_leftovers(id, now));
                if !ok {
                    // Unknown, or its service was removed: no rules to follow.
                    self.leftovers.sweeps.insert(
                        owner,
                        Sweep {
                            sig: libc::SIGKILL,
                            group: false,
                            kill_at: None,
                        },
                    );
                    self.signal_leftovers(owner);
                }
            }
        }
        let due: Vec<Option<Id>> = self
            .leftovers
            .sweeps
            .iter()
            .filter(|(_, s)| s.kill_at.is_some_and(|t| t <= now))
            .map(|(o, _)| *o)
            .collect();
        for owner in due {
            if let Some(s) = self.leftovers.sweeps.get_mut(&owner) {
                s.sig = libc::SIGKILL;
                s.kill_at = None;
            }
            self.signal_leftovers(owner);
        }
        // A stop is over once its owner has nothing left.
        let owner = &self.leftovers.owner;
        self.leftovers
            .sweeps
            .retain(|o, _| owner.values().any(|x| x == o));
    }

    /// The lingering services (STOPPING, leader gone) whose group has no
    /// live member left. `kill(-pgid, 0)` answers for each at once; a group
    /// it still finds may hold only zombies nobody reaps, which only /proc
    /// tells: one pass over it for all such groups, at most once a second,
    /// never one per service per loop pass.
    pub(super) fn lingering_gone(&mut self, now: Instant) -> Vec<Id> {
        let mut gone = Vec::new();
        let mut present = Vec::new();
        for &id in &self.lingering {
            match self.services.get(&id).and_then(|s| s.machine.pgid) {
                Some(g) if sys::group_present(g) => present.push((id, g)),
                _ => gone.push(id),
            }
        }
        let due = self
            .leftovers
            .group_scan
            .is_none_or(|t| now >= t + std::time::Duration::from_secs(1));
        if !present.is_empty() && due {
            self.leftovers.group_scan = Some(now);
            let pgids: Vec<i32> = present.iter().map(|p| p.1).collect();
            let live = sys::live_groups(&pgids);
            gone.extend(
                present
                    .iter()
                    .filter(|(_, g)| !live.contains(g))
                    .map(|(id, _)| *id),
            );
        }
        gone
    }

    /// Sends the sweep's current signal to each leftover of `owner`.
    fn signal_leftovers(&mut self, owner: Option<Id>) {
        let Some(sweep) = self.leftovers.sweeps.get(&owner).copied() else {
            return;
        };
        // SAFETY: getpgrp cannot fail.
        let own_group = unsafe { libc::getpgrp() };
        let pids: Vec<i32> = self
            .leftovers
            .owner
            .iter()
            .filter(|(_, o)| **o == owner)
            .map(|(p, _)| *p)
            .collect();
        let own_pgid = owner
            .and_then(|id| self.services.get(&id))
            .and_then(|s| s.machine.pgid);
        for pid in pids {
            if sweep.group {
                // Its group, where it is its own (it leads it) or its
                // service's: never the daemon's, and never a group it
                // joined that belongs to another service.
                if let Some(g) = stat_of(pid)
                    .map(|s| s.pgid)
                    .filter(|g| *g > 1 && *g != own_group)
                    .filter(|g| *g == pid || Some(*g) == own_pgid)
                {
                    let _ = sys::send_signal(g, sweep.sig, true);
                }
            }
            // ESRCH: it died meanwhile and is being reaped.
            let _ = sys::send_signal(pid, sweep.sig, false);
        }
    }

    /// Reads the daemon's children and attributes each new one that no
    /// service runs as its leader.
    fn scan_leftovers(&mut self) {
        let children = own_children();
        let mut names: Option<HashMap<String, Id>> = None;
        let mut seen = HashMap::with_capacity(children.len());
        for pid in children {
            if self.by_pid.contains_key(&pid) || self.is_check_pid(pid) || self.is_health_pid(pid) {
                continue;
            }
            if let Some(o) = self.leftovers.owner.get(&pid) {
                seen.insert(pid, *o);
                continue;
            }
            let Some(stat) = stat_of(pid) else { continue };
            if stat.zombie {
                // Reaped in this very pass or the next.
                continue;
            }
            let names = names.get_or_insert_with(|| {
                self.services
                    .values()
                    .filter(|s| s.machine.want != Want::Gone)
                    .map(|s| (s.spec.name.clone(), s.id))
                    .collect()
            });
            // `service_of` reads again a process caught mid-exec; one with
            // no environment at all (`env -i`) is told by its group.
            let owner = match census::service_of(pid, &self.marker) {
                census::Mark::Ours(n) => names.get(&n).copied(),
                census::Mark::Other | census::Mark::Unreadable => None,
            }
            .or_else(|| {
                // Its environment was replaced: its group may tell.
                self.services
                    .values()
                    .find(|s| s.machine.pgid == Some(stat.pgid))
                    .map(|s| s.id)
            });
            seen.insert(pid, owner);
            // A stop under way takes in what turns up meanwhile.
            if let Some(sweep) = self.leftovers.sweeps.get(&owner).copied() {
                let _ = sys::send_signal(pid, sweep.sig, false);
            }
        }
        self.leftovers.owner = seen;
    }
}

/// What the daemon needs of /proc/PID/stat.
struct Stat {
    zombie: bool,
    pgid: i32,
}

fn stat_of(pid: i32) -> Option<Stat> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let mut fields = stat[stat.rfind(')')? + 1..].split_whitespace();
    let state = fields.next()?;
    let pgid = fields.nth(1)?.parse().ok()?;
    Some(Stat {
        zombie: state == "Z" || state == "X",
        pgid,
    })
}

/// The daemon's own children: every thread's list (there is one thread).
fn own_children() -> Vec<i32> {
    let mut out = Vec::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return out;
    };
    for t in tasks.flatten() {
        if let Ok(s) = std::fs::read_to_string(t.path().join("children")) {
            out.extend(s.split_whitespace().filter_map(|p| p.parse::<i32>().ok()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_children_lists_a_child_and_stat_reads_it() {
        let mut c = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .expect("spawn sleep");
        let pid = c.id() as i32;
        assert!(own_children().contains(&pid));
        let st = stat_of(pid).expect("stat");
        assert!(!st.zombie);
        // SAFETY: getpgrp cannot fail.
        assert_eq!(st.pgid, unsafe { libc::getpgrp() });
        let _ = c.kill();
        let _ = c.wait();
        assert!(!own_children().contains(&pid));
    }
}
