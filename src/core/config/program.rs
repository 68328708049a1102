//! One `[program:x]` into its processes: `[DEFAULT]` merged, numprocs
//! copies named by `process_name`, and every other key expanded and handed
//! to [`ServiceSpec::set`], the one definition of the keys.

use super::build::Loader;
use super::expand::Ctx;
use super::lex::{shown, Entry, Section};
use super::{keys, ConfigError, Program};
use crate::core::names;
use crate::core::service::{AutoRestart, RestartRule};
use crate::core::spec::{ServiceSpec, SetError};
use std::collections::{HashMap, HashSet};

/// numprocs of one program.
const MAX_NUMPROCS: u64 = 1000;
/// Processes of the whole config, so no input can make the parser allocate
/// without bound.
const MAX_PROCESSES: u64 = 10_000;

/// The keys that name a log file, whose directory must exist.
const LOG_KEYS: [&str; 4] = ["stdout", "stdout_logfile", "stderr", "stderr_logfile"];

/// Keys with two spellings (SPEC §5); a section may use one of each pair.
const SPELLINGS: &[(&str, &str)] = &[
    ("cmd", "command"),
    ("workingdir", "directory"),
    ("env", "environment"),
    ("stdout", "stdout_logfile"),
    ("stderr", "stderr_logfile"),
    ("stdout_maxbytes", "stdout_logfile_maxbytes"),
    ("stderr_maxbytes", "stderr_logfile_maxbytes"),
    ("stdout_backups", "stdout_logfile_backups"),
    ("stderr_backups", "stderr_logfile_backups"),
];

/// Process names given so far: the program, file and line of each.
pub(super) type Taken = HashMap<String, (String, usize, usize)>;

/// What the copies of one program share.
struct Shared<'a> {
    section: &'a Section,
    name: &'a str,
    group: Option<&'a str>,
    label: String,
    /// process_name, and where it is set (else the section's header).
    template: &'a str,
    name_at: (usize, usize),
    /// environment first: its variables are ENV_ names for the rest, as in
    /// supervisord 4.
    env_entries: Vec<&'a Entry>,
    other_entries: Vec<&'a Entry>,
}

impl Loader<'_> {
    /// The program of section `s`, named `name`, in `group` if any;
    /// `total` counts the processes of the config so far.
    pub(super) fn program(
        &mut self,
        s: &Section,
        name: &str,
        group: Option<&str>,
        taken: &mut Taken,
        total: &mut u64,
    ) -> Result<Program, ConfigError> {
        let listener = s.name.starts_with("eventlistener:");
        let label = match listener {
            true => format!("[eventlistener:{name}]"),
            false => format!("[program:{name}]"),
        };
        let entries = self.entries_of(s, &label)?;
        let find = |key: &str| entries.iter().find(|e| e.key == key);
        let mut ctx = Ctx::new(&self.files[s.file]);
        ctx.program = Some((name, group.unwrap_or(name)));
        let (start, numprocs) = self.copies(s, &entries, &ctx, &label, total)?;
        let name_entry = find("process_name");
        let template = match name_entry {
            Some(e) => e.value.as_str(),
            None if numprocs > 1 => "%(program_name)s_%(process_num)02d",
            None => "%(program_name)s",
        };
        let (env_entries, other_entries) = entries
            .iter()
            .filter(|e| {
                let listener_key = listener && super::listener::KEYS.contains(&e.key.as_str());
                !listener_key
                    && !matches!(
                        e.key.as_str(),
                        "numprocs" | "numprocs_start" | "process_name"
                    )
            })
            .partition(|e| e.key == "env" || e.key == "environment");
        let shared = Shared {
            section: s,
            name,
            group,
            label,
            template,
            name_at: name_entry.map_or((s.file, s.line), |e| (e.file, e.line)),
            env_entries,
            other_entries,
        };
        let mut processes = Vec::with_capacity(numprocs as usize);
        for num in start..start + numprocs {
            ctx.num = Some((num, numprocs));
            // [supervisord]'s environment: ENV_ names here too.
            ctx.env = self.global_env();
            let pname = self.process_name(&shared, &ctx, taken)?;
            processes.push(self.process(&shared, &pname, &mut ctx, num == start)?);
        }
        // Checked last, so a misspelt `comand` is reported as such.
        if find("cmd").is_none() && find("command").is_none() && !self.incomplete {
            return Err(self.err(
                s.file,
                s.line,
                format!(
                    "{} has no command (command = /path/to/program args){}",
                    shared.label,
                    keys::misspelt_command(&entries)
                ),
            ));
        }
        // supervisord reads 0 as "never retry"; in sv it is "retry
        // forever", so a config that meant the first would loop on a
        // failing program. A parser warning, so the daemon logs it at load
        // as `sv check` prints it.
        let forever = processes.first().is_some_and(|p| {
            matches!(
                p.policy.restart,
                RestartRule::Auto {
                    startretries: 0,
                    ..
                }
            )
        });
        if let (Some(e), true) = (find("startretries"), forever) {
            self.warn(
                e.file,
                e.line,
                format!(
                    "startretries=0 of {} means retry forever in sv (in supervisord: \
                     never retry); give a number of attempts to have it give up",
                    shared.label
                ),
            );
        }
        Ok(Program {
            name: name.to_string(),
            file: self.files[s.file].clone(),
            line: s.line,
            processes,
            keys: entries
                .iter()
                .map(|e| (e.key.clone(), self.files[e.file].clone(), e.line))
                .collect(),
        })
    }

    /// The section's entries after `[DEFAULT]`'s, unless the section has
    /// the key itself; Err if it uses both spellings of a key.
    fn entries_of(&self, s: &Section, label: &str) -> Result<Vec<Entry>, ConfigError> {
        let own: HashSet<&str> = s.entries.iter().map(|e| e.key.as_str()).collect();
        let entries: Vec<Entry> = self
            .defaults
            .iter()
            .filter(|d| !own.contains(d.key.as_str()))
            .chain(&s.entries)
            .cloned()
            .collect();
        let find = |key: &str| entries.iter().find(|e| e.key == key);
        for (a, b) in SPELLINGS {
            if let (Some(x), Some(y)) = (find(a), find(b)) {
                let at = if y.default { x } else { y };
                return Err(self.err(
                    at.file,
                    at.line,
                    format!("{label} sets both {a} and {b}, two spellings of one key; keep one"),
                ));
            }
        }
        Ok(entries)
    }

    /// numprocs_start and numprocs, counted into `total`.
    fn copies(
        &mut self,
        s: &Section,
        entries: &[Entry],
        ctx: &Ctx,
        label: &str,
        total: &mut u64,
    ) -> Result<(u64, u64), ConfigError> {
        let find = |key: &str| entries.iter().find(|e| e.key == key);
        let numprocs = match find("numprocs") {
            Some(e) => self.count(e, ctx, label, 1, MAX_NUMPROCS)?,
            None => 1,
        };
        let start = match find("numprocs_start") {
            Some(e) => self.count(e, ctx, label, 0, u64::from(u32::MAX))?,
            None => 0,
        };
        *total += numprocs;
        if *total > MAX_PROCESSES {
            return Err(self.err(
                s.file,
                s.line,
                format!("{label} brings the config past {MAX_PROCESSES} processes"),
            ));
        }
        Ok((start, numprocs))
    }

    /// The name of the copy `ctx.num`: valid, and not taken before.
    fn process_name(
        &mut self,
        p: &Shared,
        ctx: &Ctx,
        taken: &mut Taken,
    ) -> Result<String, ConfigError> {
        let (file, line) = p.name_at;
        let label = &p.label;
        let pname = self.expand(p.template, ctx).map_err(|x| {
            let msg = format!("{} in process_name of {label}: {}", x.token, x.why);
            self.err(file, line, msg)
        })?;
        names::check(&pname).map_err(|why| {
            self.err(
                file,
                line,
                format!("process name '{pname}' of {label}: {why}"),
            )
        })?;
        if let Some((other, f, l)) = taken.get(&pname) {
            let message = if other == p.name {
                format!(
                    "process_name '{}' gives more than one copy of {label} \
                     the name '{pname}'; put %(process_num)02d in it",
                    p.template
                )
            } else {
                format!(
                    "process name '{pname}' of {label} is already used by \
                     [program:{other}] at {}:{l}",
                    self.files[*f].display()
                )
            };
            return Err(self.err(file, line, message));
        }
        let s = p.section;
        taken.insert(pname.clone(), (p.name.to_string(), s.file, s.line));
        Ok(pname)
    }

    /// One copy, named `pname`; `first` warns what all copies share once.
    fn process(
        &mut self,
        p: &Shared,
        pname: &str,
        ctx: &mut Ctx,
        first: bool,
    ) -> Result<ServiceSpec, ConfigError> {
        let mut spec = ServiceSpec::new(pname, Vec::new());
        spec.policy.restart = RestartRule::Auto {
            autorestart: AutoRestart::Unexpected,
            startretries: 3,
        };
        spec.program = Some(p.name.to_string());
        spec.group = p.group.map(str::to_string);
        spec.env = self.global_env();
        spec.shutdown_on = self.global_shutdown_on();
        for e in &p.env_entries {
            self.apply(&mut spec, e, ctx, &p.label, first)?;
        }
        ctx.env = spec.env.clone();
        let mut asgroup = [None, None];
        for e in &p.other_entries {
            self.apply(&mut spec, e, ctx, &p.label, first)?;
            match e.key.as_str() {
                "stopasgroup" => asgroup[0] = Some(spec.policy.group),
                "killasgroup" => asgroup[1] = Some(spec.policy.group),
                _ => {}
            }
        }
        // ServiceSpec has one flag for both; when they differ, signal
        // the group rather than orphan grandchildren.
        if let [Some(stop), Some(kill)] = asgroup {
            if stop != kill {
                spec.policy.group = true;
                if first {
                    self.warn(
                        p.section.file,
                        p.section.line,
                        format!(
                            "stopasgroup and killasgroup differ in {}; sv has one \
                             setting for both and signals the process group",
                            p.label
                        ),
                    );
                }
            }
        }
        Ok(spec)
    }

    /// Expands one entry and hands it to [`ServiceSpec::set`].
    fn apply(
        &mut self,
        spec: &mut ServiceSpec,
        e: &Entry,
        ctx: &Ctx,
        label: &str,
        first: bool,
    ) -> Result<(), ConfigError> {
        // Not expanded: another tool's value need not be valid here.
        if !keys::applies(&e.key) {
            self.unknown_program_key(e, label, first);
            return Ok(());
        }
        let place = if e.default {
            format!("[DEFAULT] (for {label})")
        } else {
            label.to_string()
        };
        let mut v = self
            .expand(&e.value, ctx)
            .map_err(|x| self.unexpanded(e, &place, x))?;
        if e.key == "cmd" || e.key == "command" {
            v = v.replace('\n', " ");
        }
        match spec.set(&e.key, &v) {
            Ok(()) if LOG_KEYS.contains(&e.key.as_str()) => match self.missing_dir(v.trim()) {
                Some(why) => Err(self.err(e.file, e.line, format!("{} in {place}: {why}", e.key))),
                None => Ok(()),
            },
            Ok(()) => Ok(()),
            // Not after `applies`; handled the same way all the same.
            Err(SetError::UnknownKey(_)) => {
                self.unknown_program_key(e, label, first);
                Ok(())
            }
            Err(SetError::Invalid(why)) => {
                let hint = if e.comment {
                    " (note: a ; or # after a space starts a comment)"
                } else {
                    ""
                };
                Err(self.err(e.file, e.line, format!("{} in {place}: {why}{hint}", e.key)))
            }
        }
    }

    /// A whole number in `min..=max` (numprocs, numprocs_start).
    fn count(
        &mut self,
        e: &Entry,
        ctx: &Ctx,
        label: &str,
        min: u64,
        max: u64,
    ) -> Result<u64, ConfigError> {
        let v = self
            .expand(&e.value, ctx)
            .map_err(|x| self.unexpanded(e, label, x))?;
        let v = v.trim();
        let Ok(n) = v.parse::<u64>() else {
            return Err(self.err(
                e.file,
                e.line,
                format!(
                    "{} in {label}: '{}' is not a whole number",
                    e.key,
                    shown(v, 40)
                ),
            ));
        };
        if n < min || n > max {
            return Err(self.err(
                e.file,
                e.line,
                format!(
                    "{} in {label} is {n}; it must be from {min} to {max}",
                    e.key
                ),
            ));
        }
        Ok(n)
    }
}
