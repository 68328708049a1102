//! What would fail at run time (SPEC §3 `sv check`): a command that is not
//! found or not executable, a `user=` that does not exist, a log or working
//! directory that does not exist, a config with no programs. Warnings, not
//! errors: the machine `sv check` runs on may not be the one the daemon
//! will run on, and the daemon reports spawn errors itself.

use super::{Config, Program};
use crate::core::spawn::resolve;
use crate::core::spec::{OutputSpec, ServiceSpec};
use std::collections::HashSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// PATH when neither the program nor the daemon has one, as at spawn.
const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// `FILE:LINE: what would fail`, per program in order, each once. Bare
/// command names are looked up in the program's own `PATH` if its env sets
/// one, else in `daemon_path` (the environment the daemon would start
/// with); relative paths from the current directory, as the daemon
/// started here would.
pub fn runtime_warnings(cfg: &Config, daemon_path: Option<&str>) -> Vec<String> {
    let mut out = Vec::new();
    if cfg.programs.is_empty() {
        out.push(format!(
            "{}: no [program:NAME] section; nothing would run",
            cfg.path.display()
        ));
    }
    let mut seen = HashSet::new();
    for p in &cfg.programs {
        for spec in &p.processes {
            for w in process(p, spec, daemon_path) {
                if seen.insert(w.clone()) {
                    out.push(w);
                }
            }
        }
    }
    out
}

/// The warnings of one process of `p`.
fn process(p: &Program, spec: &ServiceSpec, daemon_path: Option<&str>) -> Vec<String> {
    let label = format!("[program:{}]", p.name);
    // The key's line, else the section's; and the key as spelt there.
    let found = |keys: &[&'static str]| {
        p.keys
            .iter()
            .rev()
            .find(|(k, _, _)| keys.contains(&k.as_str()))
    };
    let at = |keys: &[&'static str]| -> String {
        let (file, line) = found(keys).map_or((&p.file, p.line), |(_, f, l)| (f, *l));
        format!("{}:{line}", file.display())
    };
    let mut out = Vec::new();
    if let Some(why) = command(spec, &label, daemon_path) {
        out.push(format!("{}: {why}", at(&["command", "cmd"])));
    }
    if let Some(user) = &spec.user {
        if !user_exists(user) {
            out.push(format!(
                "{}: user '{user}' of {label} does not exist",
                at(&["user"])
            ));
        }
    }
    if let Some(dir) = &spec.cwd {
        if !dir.is_dir() {
            out.push(format!(
                "{}: directory '{}' of {label} does not exist",
                at(&["directory", "workingdir"]),
                dir.display()
            ));
        }
    }
    // systemd's WatchdogSec needs its sd_notify: without it no ping comes.
    let notify = spec
        .policy
        .ready
        .as_ref()
        .is_some_and(|c| c.kind == crate::core::checks::Kind::Notify);
    if !spec.policy.watchdog.is_zero() && !notify {
        out.push(format!(
            "{}: watchdog_secs of {label} does nothing without ready=notify \
             (the pings come over the notify socket)",
            at(&["watchdog_secs"])
        ));
    }
    let streams = [
        (&spec.stdout, ["stdout_logfile", "stdout"]),
        (&spec.stderr, ["stderr_logfile", "stderr"]),
    ];
    let used = if spec.redirect_stderr { 1 } else { 2 };
    for (target, keys) in streams.into_iter().take(used) {
        let OutputSpec::File(file) = target else {
            continue;
        };
        let dir = parent(file);
        if !dir.is_dir() {
            let key = found(&keys).map_or(keys[0], |(k, _, _)| k.as_str());
            out.push(format!(
                "{}: log directory '{}' of [program:{}] does not exist ({key}={})",
                at(&keys),
                dir.display(),
                p.name,
                file.display()
            ));
        }
    }
    out
}

/// Why the command would not start, if it would not.
fn command(spec: &ServiceSpec, label: &str, daemon_path: Option<&str>) -> Option<String> {
    let program = spec.argv.first()?;
    let cwd = spec.cwd.as_deref();
    if !program.contains('/') {
        let own = spec.env.iter().rev().find(|(k, _)| k == "PATH");
        let path_var = own
            .map(|(_, v)| v.as_str())
            .or(daemon_path)
            .unwrap_or(DEFAULT_PATH);
        let whose = match own {
            Some((_, v)) => format!("its env's PATH ({v})"),
            None => "PATH".to_string(),
        };
        return resolve(program, path_var, cwd)
            .err()
            .map(|_| format!("command '{program}' of {label} is not found in {whose}"));
    }
    let full = resolve(program, "", cwd).ok()?;
    let shown = full.display();
    let why = match std::fs::metadata(&full) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => "does not exist".to_string(),
        Err(e) => format!("cannot be run: {e}"),
        Ok(m) if m.is_dir() => "is a directory".to_string(),
        Ok(m) if m.permissions().mode() & 0o111 == 0 => "is not executable".to_string(),
        Ok(_) => return None,
    };
    Some(format!("command '{shown}' of {label} {why}"))
}

/// A user name or numeric uid that the system knows.
fn user_exists(user: &str) -> bool {
    use nix::unistd::{Uid, User};
    let found = match user.parse::<u32>() {
        Ok(uid) => User::from_uid(Uid::from_raw(uid)),
        Err(_) => User::from_name(user),
    };
    // A lookup that fails (not "no such user") is not this config's fault.
    !matches!(found, Ok(None))
}

/// The directory a log file is created in; `.` for a bare name.
fn parent(file: &Path) -> PathBuf {
    match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse_str;
    use super::*;

    fn warnings(text: &str) -> Vec<String> {
        let c = parse_str(text).unwrap_or_else(|e| panic!("{e}"));
        runtime_warnings(&c, Some("/nonexistent-sv:/bin:/usr/bin"))
    }

    #[test]
    fn a_config_that_would_run_has_no_warnings() {
        let w = warnings(
            "[program:a]\ncommand=sh -c true\nuser=root\nstdout=/tmp/a.log\nstderr=NONE\n\
             [program:b]\ncommand=/bin/sh\ndirectory=/tmp\nstdout=/dev/stdout\nstderr=AUTO\n\
             [program:c]\ncommand=./sh\ndirectory=/bin\nuser=0\nstdout=b.log\n",
        );
        assert!(w.is_empty(), "{w:?}");
    }

    #[test]
    fn commands_that_would_not_start() {
        let w = warnings(
            "[program:a]\ncommand=no-such-program-sv x\n\
             [program:b]\n\ncommand=/etc/passwd\n\
             [program:c]\ncommand=/\n\
             [program:d]\ncommand=/nonexistent-sv/run\n\
             [program:e]\nenvironment=PATH=/nonexistent-sv\ncommand=sh\n\
             [program:f]\ncommand=./sh\ndirectory=/etc\n",
        );
        assert_eq!(
            w,
            [
                "config:2: command 'no-such-program-sv' of [program:a] is not found in PATH",
                "config:5: command '/etc/passwd' of [program:b] is not executable",
                "config:7: command '/' of [program:c] is a directory",
                "config:9: command '/nonexistent-sv/run' of [program:d] does not exist",
                "config:12: command 'sh' of [program:e] is not found in its env's PATH \
                 (/nonexistent-sv)",
                "config:14: command '/etc/./sh' of [program:f] does not exist",
            ]
        );
    }

    #[test]
    fn users_and_directories_that_do_not_exist() {
        let w = warnings(
            "[program:a]\ncommand=/bin/sh\nuser=no-such-user-sv\nnumprocs=2\n\
             stdout_logfile=/nonexistent-sv/%(process_num)d/out.log\n\
             stderr=/nonexistent-sv/err.log\ndirectory=/nonexistent-sv\n\
             [program:b]\ncommand=/bin/sh\nstdout=/nonexistent-sv/out.log\n\
             stderr=/nonexistent-sv/err.log\nredirect_stderr=true\n",
        );
        assert_eq!(
            w,
            [
                "config:3: user 'no-such-user-sv' of [program:a] does not exist",
                "config:7: directory '/nonexistent-sv' of [program:a] does not exist",
                "config:5: log directory '/nonexistent-sv/0' of [program:a] does not exist \
                 (stdout_logfile=/nonexistent-sv/0/out.log)",
                "config:6: log directory '/nonexistent-sv' of [program:a] does not exist \
                 (stderr=/nonexistent-sv/err.log)",
                "config:5: log directory '/nonexistent-sv/1' of [program:a] does not exist \
                 (stdout_logfile=/nonexistent-sv/1/out.log)",
                // stderr goes where stdout goes: its own path is never opened.
                "config:10: log directory '/nonexistent-sv' of [program:b] does not exist \
                 (stdout=/nonexistent-sv/out.log)",
            ]
        );
    }

    #[test]
    fn a_config_without_programs_runs_nothing() {
        for text in ["", "; nothing yet\n", "[supervisord]\nnodaemon=true\n"] {
            assert_eq!(
                warnings(text),
                ["config: no [program:NAME] section; nothing would run"]
            );
        }
    }
}
