//! sv's own `reread`, `update [GROUP...]` and `avail`: supervisorctl's
//! habits over the control socket, with supervisorctl's output.
//!
//! `reread` and `avail` are the XML-RPC `reloadConfig` and
//! `getAllConfigInfo` as supervisorctl prints them. `update` keeps sv's
//! meaning of `reload` (unchanged programs untouched, changed ones
//! restarted, removed ones stopped and dropped, added ones started), for
//! every group or only the named ones.

use super::groups::{group_of, group_priority, GroupDiff};
use super::Supervisor;
use crate::core::names;
use crate::core::spec::ServiceSpec;
use crate::wire::{Response, Text};
use std::collections::{HashMap, HashSet};
use std::time::Instant;

/// supervisorctl's words for what `reread` found: a line per group, in
/// name order, or `No config updates to processes`.
pub fn reread_text(d: &GroupDiff) -> String {
    let mut what: HashMap<&str, &str> = HashMap::new();
    for (list, word) in [
        (&d.added, "available"),
        (&d.changed, "changed"),
        (&d.removed, "disappeared"),
    ] {
        for g in list {
            what.insert(g, word);
        }
    }
    if what.is_empty() {
        return "No config updates to processes".into();
    }
    let mut names: Vec<&str> = what.keys().copied().collect();
    names.sort_unstable();
    let mut text = String::new();
    for g in names {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&format!("{g}: {}", what[g]));
    }
    text
}

/// One line of supervisorctl's `avail`.
pub fn avail_line(spec: &ServiceSpec, inuse: bool) -> String {
    let name = names::display(&spec.name, spec.program.as_deref(), spec.group.as_deref());
    let inuse = if inuse { "in use" } else { "avail" };
    let auto = if spec.autostart { "auto" } else { "manual" };
    let prio = format!("{}:{}", group_priority(spec), spec.priority);
    format!("{name:<32} {inuse:<9} {auto:<9} {prio}")
}

/// An error the way `reload` words it: `error: ...`, except for the lack
/// of a config file, which says so alone.
fn config_error(sup: &Supervisor, why: String) -> Response {
    if sup.config.is_none() {
        Response::Error(why.into())
    } else {
        Response::Error(format!("error: {why}").into())
    }
}

impl Supervisor {
    /// `sv reread`: reads the config file, applying nothing.
    pub fn reread_answer(&mut self) -> Response {
        match self.reread() {
            Ok(d) => Response::Ok(reread_text(&d).into()),
            Err(why) => config_error(self, why),
        }
    }

    /// `sv avail`: every process of the config read last, in name order.
    pub fn avail(&self) -> Response {
        let Some(mut specs) = self.last_processes() else {
            return config_error(
                self,
                "no config file: the daemon was started without -c".into(),
            );
        };
        let in_use: HashSet<&str> = self.services().filter_map(|s| group_of(&s.spec)).collect();
        specs.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        let lines: Vec<String> = specs
            .into_iter()
            .map(|s| avail_line(s, group_of(s).is_some_and(|g| in_use.contains(g))))
            .collect();
        Response::Ok(lines.join("\n").into())
    }

    /// `sv update [GROUP...]`: reads the config file and applies it as
    /// `reload` does, to the named groups only when some are named (`all`
    /// names every one). An error changes nothing.
    pub fn update(&mut self, groups: &[Text], now: Instant) -> Response {
        let (path, cfg) = match self.read_config_text() {
            Ok(v) => v,
            Err(why) => return config_error(self, why),
        };
        let kept = cfg.clone();
        let new: Vec<ServiceSpec> = cfg.programs.into_iter().flat_map(|p| p.processes).collect();
        if let Some(why) = self.ad_hoc_clash_text(&path, &new) {
            return Response::Error(format!("error: {why}").into());
        }
        let only: HashSet<&str> = groups.iter().map(|g| g.0.as_str()).collect();
        let only = if only.contains("all") {
            HashSet::new()
        } else {
            only
        };
        for g in &only {
            let known = new.iter().any(|s| group_of(s) == Some(*g)) || self.has_group(g);
            if !known {
                return Response::Error(format!("no such group: {g}").into());
            }
        }
        let keep =
            |s: &ServiceSpec| only.is_empty() || group_of(s).is_some_and(|g| only.contains(g));
        // A name moving between a named group and one left alone would
        // be two services of one name.
        for spec in new.iter().filter(|s| keep(s)) {
            if let Some(other) = self
                .services()
                .find(|s| s.spec.name == spec.name && !keep(&s.spec))
            {
                return Response::Error(
                    format!(
                        "error: {} of group {} has the name of {}, which this update leaves \
                         alone; update both groups together",
                        spec.name,
                        group_of(spec).unwrap_or_default(),
                        other.shown()
                    )
                    .into(),
                );
            }
        }
        let mut lines: Vec<String> = kept
            .warnings
            .iter()
            .map(|w| format!("warning: {w}"))
            .collect();
        let changes = self.apply_config(new, &keep, now);
        if changes.is_empty() {
            lines.push("No config updates to processes".into());
        }
        lines.extend(changes);
        self.keep_read(kept);
        Response::Ok(lines.join("\n").into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::config::parse_str;

    #[test]
    fn reread_lines_are_supervisorctls() {
        assert_eq!(
            reread_text(&GroupDiff::default()),
            "No config updates to processes"
        );
        let d = GroupDiff {
            added: vec!["zeta".into(), "fresh".into()],
            changed: vec!["edit".into()],
            removed: vec!["gone".into()],
        };
        assert_eq!(
            reread_text(&d),
            "edit: changed\nfresh: available\ngone: disappeared\nzeta: available"
        );
    }

    #[test]
    fn avail_lines_are_supervisorctls() {
        let cfg = parse_str(
            "[program:web]\ncommand=/bin/w\npriority=5\nautostart=false\n\
             [program:a]\ncommand=/bin/a\n[group:g]\nprograms=a\n",
        )
        .unwrap();
        let specs: Vec<&ServiceSpec> = cfg.programs.iter().flat_map(|p| &p.processes).collect();
        assert_eq!(
            avail_line(specs[0], false),
            "web                              avail     manual    5:5"
        );
        assert_eq!(
            avail_line(specs[1], true),
            "g:a                              in use    auto      999:999"
        );
    }
}
