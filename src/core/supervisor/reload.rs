//! Config programs: the first load at startup and `reload` (SPEC §4.2).
//!
//! A reload reads the whole file first; an error changes nothing. Then it
//! compares process by process: an unchanged one keeps running untouched, a
//! changed one is restarted with the new settings, a removed one is stopped
//! and dropped, an added one is started if autostart. A service stopped by
//! a command stays stopped (operator intent wins over autostart).

use super::{Id, Service, Supervisor};
use crate::core::config::{self, Config};
use crate::core::output::LogFile;
use crate::core::service::Event;
use crate::core::spec::ServiceSpec;
use crate::core::state_file::Origin;
use crate::core::stream::Stream;
use crate::wire::Response;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Instant;

impl Supervisor {
    /// Adds every program of a freshly loaded config and starts the
    /// autostart ones, by priority; keeps the config as read last, its
    /// specs those of the services.
    pub fn load_programs(&mut self, mut cfg: Config, now: Instant) {
        for w in &cfg.warnings {
            self.log.warn(&format!("config: {w}"));
        }
        let mut start = Vec::new();
        let mut ids = Vec::new();
        for p in &mut cfg.programs {
            let mut of_program = Vec::new();
            for spec in std::mem::take(&mut p.processes) {
                let autostart = spec.autostart;
                let id = self.add(spec);
                if autostart {
                    start.push(id);
                }
                of_program.push(id);
            }
            ids.push(of_program);
        }
        self.keep_loaded(cfg, ids);
        self.started_events();
        self.plan(Event::Start, start, now);
    }

    /// Re-reads the config file and applies the difference.
    pub fn reload(&mut self, now: Instant) -> Response {
        let (path, cfg) = match self.read_config_text() {
            Ok(v) => v,
            Err(why) if self.config.is_none() => return Response::Error(why.into()),
            Err(why) => return Response::Error(format!("error: {why}").into()),
        };
        let kept = cfg.clone();
        let mut lines = vec!["Reloading configuration...".to_string()];
        lines.extend(cfg.warnings.iter().map(|w| format!("warning: {w}")));
        let new: Vec<ServiceSpec> = cfg.programs.into_iter().flat_map(|p| p.processes).collect();
        if let Some(why) = self.ad_hoc_clash_text(&path, &new) {
            return Response::Error(format!("error: {why}").into());
        }
        lines.extend(self.apply_config(new, &|_| true, now));
        self.keep_read(kept);
        lines.push("Configuration loaded successfully".to_string());
        Response::Ok(lines.join("\n").into())
    }

    /// Applies the config processes `new` to the config services, both
    /// as far as `keep` selects them (`sv update GROUP`; all for `reload`):
    /// process by process, as the module says. Returns a line per program
    /// that changed, `NAME: added / changed / removed`.
    pub(super) fn apply_config(
        &mut self,
        new: Vec<ServiceSpec>,
        keep: &dyn Fn(&ServiceSpec) -> bool,
        now: Instant,
    ) -> Vec<String> {
        let new: Vec<ServiceSpec> = new.into_iter().filter(|s| keep(s)).collect();
        let old: Vec<(Id, String, String)> = self
            .services()
            .filter(|s| keep(&s.spec))
            .filter_map(|s| Some((s.id, s.spec.name.clone(), s.spec.program.clone()?)))
            .collect();
        let mut diff = Diff::default();
        self.update_old(&old, &new, &mut diff);
        self.add_new(&old, new, &mut diff);
        let lines = diff
            .report
            .iter()
            .filter(|(_, what)| **what != "unchanged")
            .map(|(prog, what)| format!("{prog}: {what}"))
            .collect();
        for id in diff.remove {
            self.apply(id, Event::Remove, now);
        }
        self.restart_quietly(diff.restart, now);
        self.plan(Event::Start, diff.start, now);
        lines
    }

    /// The config file's path and what it now says; Err says why there is
    /// none or it cannot be read (`FILE:LINE: what`). An error changes
    /// nothing.
    pub(super) fn read_config_text(&self) -> Result<(PathBuf, Config), String> {
        let Some(path) = self.config.clone() else {
            return Err("no config file to reload: the daemon was started without -c".into());
        };
        match config::load(&path) {
            Ok(c) => Ok((path, c)),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Why a new program process cannot be added when it has the name of
    /// an ad hoc service: one name cannot address both.
    pub(super) fn ad_hoc_clash_text<'a>(
        &self,
        path: &Path,
        new: impl IntoIterator<Item = &'a ServiceSpec>,
    ) -> Option<String> {
        for spec in new {
            if let Some(s) = self
                .by_name
                .get(&spec.name)
                .and_then(|id| self.services.get(id))
                .filter(|s| s.spec.program.is_none())
            {
                return Some(format!(
                    "{}: program process {} has the name of an existing ad hoc service",
                    path.display(),
                    s.name()
                ));
            }
        }
        None
    }

    /// Compares each program process the daemon runs (`old`: id, name,
    /// program) with the new config: gone ones are removed, changed ones
    /// take their new settings and restart (or start, if autostart).
    fn update_old(&mut self, old: &[(Id, String, String)], new: &[ServiceSpec], diff: &mut Diff) {
        let by_name: HashMap<&str, &ServiceSpec> =
            new.iter().map(|s| (s.name.as_str(), s)).collect();
        for (id, name, prog) in old {
            let Some(spec) = by_name.get(name.as_str()) else {
                diff.mark(prog, "removed");
                diff.remove.push(*id);
                continue;
            };
            let Some(svc) = self.services.get(id) else {
                continue;
            };
            if svc.spec == **spec {
                diff.mark(prog, "unchanged");
                continue;
            }
            diff.mark(spec.program.as_deref().unwrap_or(prog), "changed");
            if prog != spec.program.as_deref().unwrap_or(prog) {
                diff.mark(prog, "changed");
            }
            // A scheduled run under way is left to end: the new settings
            // apply from the next run (SPEC §17).
            let run = svc.spec.schedule.is_some() && spec.schedule.is_some();
            let Some(svc) = self.renew(*id, spec) else {
                continue;
            };
            if svc.machine.state.has_process() && !run {
                diff.restart.push(*id);
            } else if spec.autostart && !svc.held {
                diff.start.push(*id);
            }
        }
    }

    /// Gives a changed service its new settings, and its logs their new
    /// paths and limits; the state file records its new origin.
    fn renew(&mut self, id: Id, spec: &ServiceSpec) -> Option<&Service> {
        let svc = self.services.get_mut(&id)?;
        svc.spec = spec.clone();
        svc.cmd = None;
        svc.origin = Origin::Config(spec.program.clone().unwrap_or_default().into());
        self.dirty = true;
        self.listener_added(id);
        self.sync_schedule(id, None);
        let paths = Stream::BOTH.map(|s| self.log_path(spec, s));
        let svc = self.services.get_mut(&id)?;
        for (s, p) in Stream::BOTH.into_iter().zip(paths) {
            svc.logs[s] = LogFile::new(p, spec.maxbytes[s], spec.backups[s]).shaped(spec, s);
        }
        Some(svc)
    }

    /// Adds the new config's processes the daemon does not run yet, to be
    /// started if autostart; a new process of a known program changes it.
    fn add_new(&mut self, old: &[(Id, String, String)], new: Vec<ServiceSpec>, diff: &mut Diff) {
        let old_names: std::collections::HashSet<&str> =
            old.iter().map(|(_, n, _)| n.as_str()).collect();
        let old_programs: std::collections::HashSet<&str> =
            old.iter().map(|(_, _, p)| p.as_str()).collect();
        for spec in new {
            if old_names.contains(spec.name.as_str()) {
                continue;
            }
            let prog = spec.program.clone().unwrap_or_else(|| spec.name.clone());
            let exists = old_programs.contains(prog.as_str());
            diff.mark(&prog, if exists { "changed" } else { "added" });
            let autostart = spec.autostart;
            let id = self.add(spec);
            if autostart {
                diff.start.push(id);
            }
        }
    }
}

/// What a reload does to each service, and what it reports of each program.
#[derive(Default)]
struct Diff {
    /// What happens to each program, for the report.
    report: BTreeMap<String, &'static str>,
    start: Vec<Id>,
    restart: Vec<Id>,
    remove: Vec<Id>,
}

impl Diff {
    /// Notes what happens to one process of a program: a program whose
    /// processes fare differently is reported "changed".
    fn mark(&mut self, prog: &str, what: &'static str) {
        let e = self.report.entry(prog.to_string()).or_insert(what);
        if *e != what {
            *e = "changed";
        }
    }
}
