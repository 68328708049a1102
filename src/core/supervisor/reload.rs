//! Config programs: the first load at startup and `reload` (SPEC §4.2).
//!
//! A reload reads the whole file first; an error changes nothing. Then it
//! compares process by process: an unchanged one keeps running untouched, a
//! changed one is restarted with the new settings, a removed one is stopped
//! and dropped, an added one is started if autostart. A service stopped by
//! a command stays stopped (operator intent wins over autostart).

use super::{Id, Supervisor};
use crate::core::config::{self, Config};
use crate::core::output::LogFile;
use crate::core::service::Event;
use crate::core::spec::ServiceSpec;
use crate::core::state_file::Origin;
use crate::core::stream::Stream;
use crate::wire::Response;
use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

impl Supervisor {
    /// Adds every program of a freshly loaded config and starts the
    /// autostart ones, by priority.
    pub fn load_programs(&mut self, cfg: Config, now: Instant) {
        for w in &cfg.warnings {
            self.log.warn(&format!("config: {w}"));
        }
        let mut start = Vec::new();
        for spec in cfg.programs.into_iter().flat_map(|p| p.processes) {
            let autostart = spec.autostart;
            let id = self.add(spec);
            if autostart {
                start.push(id);
            }
        }
        self.plan(Event::Start, start, now);
    }

    /// Re-reads the config file and applies the difference.
    pub fn reload(&mut self, now: Instant) -> Response {
        let Some(path) = self.config.clone() else {
            return Response::Error(
                "no config file to reload: the daemon was started without -c".into(),
            );
        };
        let cfg = match config::load(&path) {
            Ok(c) => c,
            Err(e) => return Response::Error(format!("error: {e}").into()),
        };
        let mut lines = vec!["Reloading configuration...".to_string()];
        lines.extend(cfg.warnings.iter().map(|w| format!("warning: {w}")));
        let new: Vec<ServiceSpec> = cfg.programs.into_iter().flat_map(|p| p.processes).collect();
        for spec in &new {
            if let Some(s) = self
                .by_name
                .get(&spec.name)
                .and_then(|id| self.services.get(id))
                .filter(|s| s.spec.program.is_none())
            {
                return Response::Error(
                    format!(
                        "error: {}: program process {} has the name of an existing ad hoc service",
                        path.display(),
                        s.name()
                    )
                    .into(),
                );
            }
        }
        let by_name: HashMap<&str, &ServiceSpec> =
            new.iter().map(|s| (s.name.as_str(), s)).collect();
        // What happens to each program, for the report.
        let mut report: BTreeMap<String, &str> = BTreeMap::new();
        let mut mark = |prog: &str, what: &'static str| {
            let e = report.entry(prog.to_string()).or_insert(what);
            if *e != what {
                *e = "changed";
            }
        };
        let mut start: Vec<Id> = Vec::new();
        let mut restart: Vec<Id> = Vec::new();
        let mut remove: Vec<Id> = Vec::new();
        let old: Vec<(Id, String, String)> = self
            .services()
            .filter_map(|s| Some((s.id, s.spec.name.clone(), s.spec.program.clone()?)))
            .collect();
        for (id, name, prog) in &old {
            match by_name.get(name.as_str()) {
                None => {
                    mark(prog, "removed");
                    remove.push(*id);
                }
                Some(spec) => {
                    let Some(svc) = self.services.get_mut(id) else {
                        continue;
                    };
                    if svc.spec == **spec {
                        mark(prog, "unchanged");
                        continue;
                    }
                    mark(spec.program.as_deref().unwrap_or(prog), "changed");
                    if prog != spec.program.as_deref().unwrap_or(prog) {
                        mark(prog, "changed");
                    }
                    svc.spec = (*spec).clone();
                    svc.cmd = None;
                    svc.origin = Origin::Config(spec.program.clone().unwrap_or_default().into());
                    self.dirty = true;
                    let paths = Stream::BOTH.map(|s| self.log_path(spec, s));
                    let Some(svc) = self.services.get_mut(id) else {
                        continue;
                    };
                    for (s, p) in Stream::BOTH.into_iter().zip(paths) {
                        svc.logs[s] = LogFile::new(p, spec.maxbytes[s], spec.backups[s]);
                    }
                    if svc.machine.state.has_process() {
                        restart.push(*id);
                    } else if spec.autostart && !svc.held {
                        start.push(*id);
                    }
                }
            }
        }
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
            mark(&prog, if exists { "changed" } else { "added" });
            let autostart = spec.autostart;
            let id = self.add(spec);
            if autostart {
                start.push(id);
            }
        }
        for (prog, what) in &report {
            if *what != "unchanged" {
                lines.push(format!("{prog}: {what}"));
            }
        }
        for id in remove {
            self.apply(id, Event::Remove, now);
        }
        self.restart_quietly(restart, now);
        self.plan(Event::Start, start, now);
        lines.push("Configuration loaded successfully".to_string());
        Response::Ok(lines.join("\n").into())
    }
}
