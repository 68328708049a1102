//! Step 3: the sections read into a [`Config`]: each `[program:x]` and
//! `[group:x]` checked and built (a program's processes in `program`),
//! supervisord's own sections passed with a warning, any other an error.

use super::expand::Ctx;
use super::host::Host;
use super::lex::{Entry, Section};
use super::{keys, Config, ConfigError};
use crate::core::names;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// Reads a config and its includes, then builds it.
pub(super) struct Loader<'h> {
    pub(super) host: &'h mut dyn Host,
    pub(super) files: Vec<PathBuf>,
    /// Normalized paths of the files read, so none is read twice.
    pub(super) seen: HashSet<PathBuf>,
    pub(super) sections: Vec<Section>,
    /// Section name to index in `sections`, to refuse duplicates.
    pub(super) names: HashMap<String, usize>,
    pub(super) defaults: Vec<Entry>,
    warnings: Vec<String>,
    warned: HashSet<String>,
    pub(super) hostname: Option<String>,
    /// Reading stopped at an error: build only to find an earlier one, so
    /// what may come after (a command, a group's member) is not required.
    pub(super) incomplete: bool,
    /// `[supervisord]`, once read (see `supervisord`).
    pub(super) supervisord: Option<super::Supervisord>,
}

/// One `[group:NAME]` section, checked.
struct GroupDef {
    name: String,
    members: Vec<String>,
    file: usize,
    /// The `[group:NAME]` line.
    line: usize,
    /// The `programs =` line.
    programs_line: usize,
    /// Its `priority`, if set (supervisord's default is 999).
    priority: Option<i32>,
}

/// The program and group sections, in file order, each name once.
struct Sorted<'s> {
    programs: Vec<(&'s Section, &'s str)>,
    program_at: HashMap<&'s str, &'s Section>,
    groups: Vec<GroupDef>,
    /// Group name to its file and line.
    group_at: HashMap<String, (usize, usize)>,
}

impl<'h> Loader<'h> {
    pub(super) fn new(host: &'h mut dyn Host) -> Self {
        Loader {
            host,
            files: Vec::new(),
            seen: HashSet::new(),
            sections: Vec::new(),
            names: HashMap::new(),
            defaults: Vec::new(),
            warnings: Vec::new(),
            warned: HashSet::new(),
            hostname: None,
            incomplete: false,
            supervisord: None,
        }
    }

    pub(super) fn err(&self, file: usize, line: usize, message: String) -> ConfigError {
        ConfigError {
            file: self.files[file].clone(),
            line,
            message,
        }
    }

    /// `FILE:LINE: message`, once.
    pub(super) fn warn(&mut self, file: usize, line: usize, message: String) {
        let w = format!("{}:{line}: {message}", self.files[file].display());
        if self.warned.insert(w.clone()) {
            self.warnings.push(w);
        }
    }

    pub(super) fn build(mut self, path: &Path) -> Result<Config, ConfigError> {
        let sections = std::mem::take(&mut self.sections);
        // Before the programs, whose environment lies over its own.
        if let Some(s) = sections.iter().find(|s| s.name == "supervisord") {
            self.supervisord(s)?;
        }
        let sorted = self.sort(&sections)?;
        let group_of = self.check_groups(&sorted)?;
        let mut taken = HashMap::new();
        let mut total = 0;
        let mut out = Vec::with_capacity(sorted.programs.len());
        for &(s, name) in &sorted.programs {
            let group = group_of.get(name).copied();
            let mut p = self.program(s, name, group, &mut taken, &mut total)?;
            let g = group.and_then(|g| sorted.groups.iter().find(|d| d.name == g));
            for spec in &mut p.processes {
                spec.group_priority = g.map(|d| d.priority.unwrap_or(999));
            }
            if s.name.starts_with("eventlistener:") {
                self.listener(s, &mut p)?;
            }
            out.push(p);
        }
        if !self.incomplete {
            super::deps::check(&out)?;
        }
        let http = self.http_servers(&sections)?;
        Ok(Config {
            path: path.to_path_buf(),
            programs: out,
            groups: sorted
                .groups
                .into_iter()
                .map(|g| (g.name, g.members))
                .collect(),
            warnings: self.warnings,
            supervisord: self.supervisord,
            http,
        })
    }

    /// Each section by its kind: a program, a group, one of supervisord's
    /// (a warning), or an error.
    fn sort<'s>(&mut self, sections: &'s [Section]) -> Result<Sorted<'s>, ConfigError> {
        let mut sorted = Sorted {
            programs: Vec::new(),
            program_at: HashMap::new(),
            groups: Vec::new(),
            group_at: HashMap::new(),
        };
        for s in sections {
            let (kind, name) = match s.name.split_once(':') {
                Some((kind, name)) => (kind, Some(name.trim())),
                None => (s.name.as_str(), None),
            };
            match (kind, name) {
                ("program", Some(name)) => self.add_program(&mut sorted, s, name)?,
                ("group", Some(name)) => {
                    let g = self.group(s, name)?;
                    self.add_group(&mut sorted, s, g)?;
                }
                // Read before the others (see `build`).
                ("supervisord", None) => self.supervisord_warnings(s),
                // Read by the supervisorctl applet.
                ("supervisorctl", None) => self.unknown_supervisord_keys(s),
                ("rpcinterface", Some(_)) => self.rpcinterface(s),
                ("unix_http_server" | "inet_http_server", None) => self.unknown_supervisord_keys(s),
                ("ctlplugin", Some(_)) => self.supervisord_section(s),
                ("eventlistener", Some(name)) => self.add_program(&mut sorted, s, name)?,
                ("fcgi-program", Some(_)) => self.warn(
                    s.file,
                    s.line,
                    format!(
                        "[{}] is not used by sv; ignored (its processes are not started)",
                        s.name
                    ),
                ),
                _ => {
                    return Err(self.err(
                        s.file,
                        s.line,
                        format!(
                            "unknown section [{}]; sv reads [program:NAME], [group:NAME] \
                             and [include]",
                            s.name
                        ),
                    ))
                }
            }
        }
        Ok(sorted)
    }

    fn add_program<'s>(
        &self,
        sorted: &mut Sorted<'s>,
        s: &'s Section,
        name: &'s str,
    ) -> Result<(), ConfigError> {
        names::check(name)
            .map_err(|why| self.err(s.file, s.line, format!("bad name in [{}]: {why}", s.name)))?;
        if let Some(first) = sorted.program_at.insert(name, s) {
            return Err(self.err(
                s.file,
                s.line,
                format!(
                    "duplicate [program:{name}]; the first one is at {}:{}",
                    self.files[first.file].display(),
                    first.line
                ),
            ));
        }
        sorted.programs.push((s, name));
        Ok(())
    }

    fn add_group(&self, sorted: &mut Sorted, s: &Section, g: GroupDef) -> Result<(), ConfigError> {
        if let Some((f, l)) = sorted.group_at.insert(g.name.clone(), (g.file, g.line)) {
            return Err(self.err(
                s.file,
                s.line,
                format!(
                    "duplicate [group:{}]; the first one is at {}:{l}",
                    g.name,
                    self.files[f].display(),
                ),
            ));
        }
        sorted.groups.push(g);
        Ok(())
    }

    /// One of supervisord's own sections: read past, with warnings.
    fn supervisord_section(&mut self, s: &Section) {
        self.warn(
            s.file,
            s.line,
            format!("[{}] is not used by sv; ignored", s.name),
        );
        self.unknown_supervisord_keys(s);
    }

    /// Every member is a program, in one group only, and a group named as
    /// a program holds it; the group of each member.
    fn check_groups<'s>(
        &self,
        sorted: &'s Sorted<'_>,
    ) -> Result<HashMap<&'s str, &'s str>, ConfigError> {
        let mut group_of: HashMap<&str, &str> = HashMap::new();
        for g in &sorted.groups {
            for m in &g.members {
                if !sorted.program_at.contains_key(m.as_str()) && !self.incomplete {
                    return Err(self.err(
                        g.file,
                        g.programs_line,
                        format!(
                            "[group:{}] lists '{m}', but there is no [program:{m}]",
                            g.name
                        ),
                    ));
                }
                if let Some(other) = group_of.insert(m, &g.name) {
                    return Err(self.err(
                        g.file,
                        g.programs_line,
                        format!(
                            "[group:{}] lists '{m}', which is in [group:{other}] already; \
                             a program can be in one group only",
                            g.name
                        ),
                    ));
                }
            }
            if sorted.program_at.contains_key(g.name.as_str()) && !g.members.contains(&g.name) {
                return Err(self.err(
                    g.file,
                    g.line,
                    format!(
                        "[group:{0}] has the name of [program:{0}], which is not in it; \
                         {0}:* would mean either",
                        g.name
                    ),
                ));
            }
        }
        Ok(group_of)
    }

    fn group(&mut self, s: &Section, name: &str) -> Result<GroupDef, ConfigError> {
        names::check(name)
            .map_err(|why| self.err(s.file, s.line, format!("bad name in [{}]: {why}", s.name)))?;
        let label = format!("[group:{name}]");
        let ctx = Ctx::new(&self.files[s.file]);
        let mut members = None;
        let mut priority = None;
        for e in &s.entries {
            if !keys::GROUP.contains(&e.key.as_str()) {
                self.unknown_group_key(e, &label);
                continue;
            }
            let v = self
                .expand(&e.value, &ctx)
                .map_err(|x| self.unexpanded(e, &label, x))?;
            match e.key.as_str() {
                "programs" => members = Some((self.members(e, &v, &label)?, e.line)),
                "priority" => priority = Some(self.group_priority(e, &v, &label)?),
                _ => {}
            }
        }
        let members = members.or_else(|| self.incomplete.then(|| (Vec::new(), s.line)));
        let Some((members, programs_line)) = members else {
            return Err(self.err(
                s.file,
                s.line,
                format!(
                    "{label} has no programs = line (programs = a,b){}",
                    keys::misspelt_programs(&s.entries)
                ),
            ));
        };
        Ok(GroupDef {
            name: name.to_string(),
            members,
            file: s.file,
            line: s.line,
            programs_line,
            priority,
        })
    }

    /// `programs = a, b`, expanded as `v`: the names, each once.
    fn members(&self, e: &Entry, v: &str, label: &str) -> Result<Vec<String>, ConfigError> {
        let mut list: Vec<String> = Vec::new();
        let mut listed = HashSet::new();
        for m in v.split(',').map(str::trim).filter(|m| !m.is_empty()) {
            if listed.insert(m) {
                list.push(m.to_string());
            }
        }
        if list.is_empty() {
            return Err(self.err(
                e.file,
                e.line,
                format!("programs in {label} lists no program"),
            ));
        }
        Ok(list)
    }

    /// A group's `priority`, expanded as `v`.
    fn group_priority(&self, e: &Entry, v: &str, label: &str) -> Result<i32, ConfigError> {
        v.trim().parse::<i32>().map_err(|_| {
            self.err(
                e.file,
                e.line,
                format!("priority in {label}: '{}' is not a whole number", v.trim()),
            )
        })
    }
}
