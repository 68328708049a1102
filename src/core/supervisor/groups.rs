//! Config groups one at a time, as supervisord's XML-RPC interface handles
//! them (SPEC §13): `reloadConfig` reads the config and says which groups
//! it adds, changes and removes without applying anything; then
//! `addProcessGroup` and `removeProcessGroup` apply one group each, from
//! exactly the config that was read (kept by [`Supervisor::keep_read`]).
//! supervisorctl's `update` is these three together.
//!
//! A group is a config process's `[group:g]`, else its program. `sv
//! reload` (`reload.rs`) applies a whole config process by process; both
//! compare processes the same way (their [`ServiceSpec`]s), so a group is
//! changed exactly when `sv reload` would touch one of its processes.

use super::{Id, Supervisor};
use crate::core::config::Config;
use crate::core::service::{Event, State};
use crate::core::spec::ServiceSpec;
use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

/// The group of a config process; None for ad hoc and adopted services,
/// which belong to no config group.
pub fn group_of(spec: &ServiceSpec) -> Option<&str> {
    spec.program.as_ref()?;
    spec.group.as_deref().or(spec.program.as_deref())
}

/// supervisord's priority of a process's group: a program alone is its
/// own group, of its priority; a `[group:g]` has its `priority`.
pub fn group_priority(spec: &ServiceSpec) -> i32 {
    spec.rank()
}

/// The processes of a config in name order (names are unique).
pub fn processes_by_name(cfg: &Config) -> Vec<&ServiceSpec> {
    let mut specs: Vec<&ServiceSpec> = cfg.programs.iter().flat_map(|p| &p.processes).collect();
    specs.sort_unstable_by(|a, b| a.name.cmp(&b.name));
    specs
}

/// What a config read anew changes, by group name (supervisord's
/// `diff_to_active`). Added and changed in the new config's order,
/// removed in the old one's.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct GroupDiff {
    pub added: Vec<String>,
    pub changed: Vec<String>,
    pub removed: Vec<String>,
}

/// Config processes by group, groups in the order first seen, processes
/// by name.
fn by_group<'a>(specs: &[&'a ServiceSpec]) -> Vec<(&'a str, BTreeMap<&'a str, &'a ServiceSpec>)> {
    let mut groups: Vec<(&str, BTreeMap<&str, &ServiceSpec>)> = Vec::new();
    let mut at: HashMap<&str, usize> = HashMap::new();
    for &spec in specs {
        let Some(g) = group_of(spec) else { continue };
        let i = *at.entry(g).or_insert_with(|| {
            groups.push((g, BTreeMap::new()));
            groups.len() - 1
        });
        groups[i].1.insert(spec.name.as_str(), spec);
    }
    groups
}

/// Compares the config processes the daemon runs (`old`) with those of a
/// config read anew (`new`): a group is changed when a process of it was
/// added, removed, or has other settings. Pure.
pub fn diff_groups(old: &[&ServiceSpec], new: &[&ServiceSpec]) -> GroupDiff {
    let old = by_group(old);
    let new = by_group(new);
    let old_at: HashMap<&str, &BTreeMap<&str, &ServiceSpec>> =
        old.iter().map(|(g, m)| (*g, m)).collect();
    let new_names: std::collections::HashSet<&str> = new.iter().map(|(g, _)| *g).collect();
    let mut diff = GroupDiff::default();
    for (g, members) in &new {
        match old_at.get(g) {
            None => diff.added.push(g.to_string()),
            Some(was) if *was != members => diff.changed.push(g.to_string()),
            Some(_) => {}
        }
    }
    diff.removed = old
        .iter()
        .filter(|(g, _)| !new_names.contains(g))
        .map(|(g, _)| g.to_string())
        .collect();
    diff
}

/// Why a group could not be added or removed: supervisord's faults.
#[derive(Debug, PartialEq, Eq)]
pub enum GroupError {
    /// No such group in the config read last (add) or in the daemon (remove).
    BadName,
    /// Running already; or a process of it has the name of another service.
    AlreadyAdded(String),
    /// A process of it has a process (remove).
    StillRunning,
}

impl Supervisor {
    /// `reloadConfig`: reads the config file and keeps it for
    /// [`add_group`](Self::add_group), applying nothing; Err is the
    /// config's error (`FILE:LINE: what`).
    pub fn reread(&mut self) -> Result<GroupDiff, String> {
        let (path, cfg) = self.read_config_text()?;
        let new: Vec<&ServiceSpec> = cfg.programs.iter().flat_map(|p| &p.processes).collect();
        if let Some(why) = self.ad_hoc_clash_text(&path, new.iter().copied()) {
            return Err(why);
        }
        for w in &cfg.warnings {
            self.log.warn(&format!("config: {w}"));
        }
        let old: Vec<&ServiceSpec> = self.services().map(|s| &s.spec).collect();
        let diff = diff_groups(&old, &new);
        self.keep_read(cfg);
        Ok(diff)
    }

    /// The services of the config group `name` the daemon has.
    fn group_ids(&self, name: &str) -> Vec<Id> {
        self.services()
            .filter(|s| group_of(&s.spec) == Some(name))
            .map(|s| s.id)
            .collect()
    }

    /// Whether the daemon has the config group `name`.
    pub fn has_group(&self, name: &str) -> bool {
        self.services().any(|s| group_of(&s.spec) == Some(name))
    }

    /// `addProcessGroup`: adds the group `name` of the config read last,
    /// and starts its autostart processes (by priority).
    pub fn add_group(&mut self, name: &str, now: Instant) -> Result<(), GroupError> {
        let specs: Vec<ServiceSpec> = (self.last_processes().unwrap_or_default())
            .into_iter()
            .filter(|s| group_of(s) == Some(name))
            .cloned()
            .collect();
        if specs.is_empty() {
            return Err(GroupError::BadName);
        }
        if self.has_group(name) {
            return Err(GroupError::AlreadyAdded(name.to_string()));
        }
        if let Some(s) = specs.iter().find(|s| self.name_taken(&s.name)) {
            return Err(GroupError::AlreadyAdded(format!(
                "{name}: process {} has the name of a service the daemon has already",
                s.name
            )));
        }
        self.log.info(&format!("{name}: adding process group"));
        let mut start = Vec::new();
        for spec in specs {
            let autostart = spec.autostart;
            let id = self.add(spec);
            if autostart {
                start.push(id);
            }
        }
        self.group_event(name, true);
        self.plan(Event::Start, start, now);
        Ok(())
    }

    /// `removeProcessGroup`: forgets the group `name`, none of whose
    /// processes may be running (STARTING, RUNNING, STOPPING, SUSPENDED).
    pub fn remove_group(&mut self, name: &str, now: Instant) -> Result<(), GroupError> {
        let ids = self.group_ids(name);
        if ids.is_empty() {
            return Err(GroupError::BadName);
        }
        // supervisord's get_unstopped_processes: anything but STOPPED,
        // EXITED or FATAL (BACKOFF, waiting to retry, too) still runs.
        let running = ids.iter().any(|id| {
            self.services.get(id).is_some_and(|s| {
                !matches!(
                    s.machine.state,
                    State::Stopped | State::Exited | State::Fatal
                )
            })
        });
        if running {
            return Err(GroupError::StillRunning);
        }
        self.log.info(&format!("{name}: removing process group"));
        for id in ids {
            self.apply(id, Event::Remove, now);
        }
        self.group_event(name, false);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::config::parse_str;

    fn refs(specs: &[ServiceSpec]) -> Vec<&ServiceSpec> {
        specs.iter().collect()
    }

    fn specs(text: &str) -> Vec<ServiceSpec> {
        parse_str(text)
            .unwrap()
            .programs
            .into_iter()
            .flat_map(|p| p.processes)
            .collect()
    }

    const OLD: &str = "[program:same]\ncommand=/bin/sleep 1\n\
        [program:edit]\ncommand=/bin/sleep 2\n\
        [program:gone]\ncommand=/bin/sleep 3\n\
        [program:a]\ncommand=/bin/a\n[program:b]\ncommand=/bin/b\n\
        [group:g]\nprograms=a,b\n\
        [program:n]\ncommand=/bin/n\nnumprocs=2\n";

    #[test]
    fn an_unchanged_config_changes_nothing() {
        let old = specs(OLD);
        assert_eq!(diff_groups(&refs(&old), &refs(&old)), GroupDiff::default());
        // Ad hoc services belong to no group.
        let adhoc = ServiceSpec::new("x", vec!["/bin/x".into()]);
        let with = [old.clone(), vec![adhoc]].concat();
        assert_eq!(diff_groups(&refs(&with), &refs(&old)), GroupDiff::default());
    }

    #[test]
    fn added_changed_and_removed_are_named_by_group() {
        let old = specs(OLD);
        let new = specs(
            "[program:same]\ncommand=/bin/sleep 1\n\
             [program:edit]\ncommand=/bin/sleep 20\n\
             [program:fresh]\ncommand=/bin/f\n\
             [program:a]\ncommand=/bin/a\n[program:b]\ncommand=/bin/b\nautostart=false\n\
             [group:g]\nprograms=a,b\n\
             [program:n]\ncommand=/bin/n\nnumprocs=3\n",
        );
        let d = diff_groups(&refs(&old), &refs(&new));
        assert_eq!(d.added, ["fresh"]);
        assert_eq!(d.changed, ["edit", "g", "n"]);
        assert_eq!(d.removed, ["gone"]);
    }

    #[test]
    fn a_program_moved_into_a_group_leaves_its_own() {
        let old = specs("[program:a]\ncommand=/bin/a\n");
        let new = specs("[program:a]\ncommand=/bin/a\n[group:g]\nprograms=a\n");
        let d = diff_groups(&refs(&old), &refs(&new));
        assert_eq!(d.added, ["g"]);
        assert_eq!(d.removed, ["a"]);
        assert!(d.changed.is_empty());
    }
}
