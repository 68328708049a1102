//! Keys sv does not know, in sections it knows (SPEC §5): a warning naming
//! the file, the line and, where a known key is close, `did you mean ...?`.
//! The file still loads, as in supervisord, which ignores unknown keys (and
//! real configs carry keys meant for other tools).

use super::build::Loader;
use super::lex::{Entry, Section};
use crate::core::spec::{ServiceSpec, SetError};
use crate::core::suggest;

/// Every key of a `[program:x]` section: those [`ServiceSpec::set`] applies,
/// in both spellings, and those the loader reads itself. supervisord's keys
/// that sv has no use for are in `SUPERVISORD_UNUSED`.
///
/// [`ServiceSpec::set`]: crate::core::spec::ServiceSpec::set
pub(super) const PROGRAM: &[&str] = &[
    "cmd",
    "command",
    "workingdir",
    "directory",
    "env",
    "environment",
    "umask",
    "user",
    "autostart",
    "priority",
    "autorestart",
    "startretries",
    "exitcodes",
    "startsecs",
    "stopwaitsecs",
    "stopsignal",
    "stopasgroup",
    "killasgroup",
    "stdout",
    "stdout_logfile",
    "stderr",
    "stderr_logfile",
    "stdout_maxbytes",
    "stdout_logfile_maxbytes",
    "stderr_maxbytes",
    "stderr_logfile_maxbytes",
    "stdout_backups",
    "stdout_logfile_backups",
    "stderr_backups",
    "stderr_logfile_backups",
    "redirect_stderr",
    "backoff",
    "backoff_max",
    "depends_on",
    "ready",
    "ready_timeout",
    "ready_interval",
    "health",
    "health_interval",
    "health_timeout",
    "health_retries",
    "health_action",
    "watchdog_secs",
    "log_prefix",
    "log_timestamps",
    "stdout_events_enabled",
    "stderr_events_enabled",
    "schedule",
    "shutdown_on",
    "numprocs",
    "numprocs_start",
    "process_name",
];

/// supervisord's `[program:x]` keys that sv has no use for: accepted with a
/// warning, but only when [`ServiceSpec::set`] does not know them.
const SUPERVISORD_UNUSED: &[&str] = &[
    "stdout_capture_maxbytes",
    "stderr_capture_maxbytes",
    "stdout_syslog",
    "stderr_syslog",
    "serverurl",
];

pub(super) const GROUP: &[&str] = &["programs", "priority"];
const INCLUDE: &[&str] = &["files"];

/// supervisord 4's keys of its own sections, which sv reads past: a typo
/// there is a typo for supervisord too.
fn supervisord_section(name: &str) -> Option<&'static [&'static str]> {
    Some(match name {
        "supervisord" => &[
            "logfile",
            "logfile_maxbytes",
            "logfile_backups",
            "loglevel",
            "pidfile",
            "umask",
            "nodaemon",
            "silent",
            "minfds",
            "minprocs",
            "nocleanup",
            "childlogdir",
            "user",
            "directory",
            "strip_ansi",
            "environment",
            "identifier",
            // sv's own (SPEC §15): every program's default.
            "shutdown_on",
        ],
        "unix_http_server" => &["file", "chmod", "chown", "username", "password"],
        "inet_http_server" => &["port", "username", "password"],
        "supervisorctl" => &[
            "serverurl",
            "username",
            "password",
            "prompt",
            "history_file",
        ],
        _ => return None,
    })
}

/// Whether `[supervisord]` has `key` (in supervisord 4).
pub(super) fn supervisord_key(key: &str) -> bool {
    supervisord_section("supervisord").is_some_and(|keys| keys.contains(&key))
}

/// Whether [`ServiceSpec::set`] applies `key` (asked of the one definition,
/// so a key added there is never taken for an unknown one).
pub(super) fn applies(key: &str) -> bool {
    let mut probe = ServiceSpec::new("", Vec::new());
    !matches!(probe.set(key, ""), Err(SetError::UnknownKey(_)))
}

/// The keys a program section may have, for `did you mean`.
fn program_keys() -> impl Iterator<Item = &'static str> {
    PROGRAM.iter().chain(SUPERVISORD_UNUSED).copied()
}

/// `unknown key 'KEY' in PLACE`, with a hint where a known key is close.
fn unknown(key: &str, place: &str, known: impl IntoIterator<Item = &'static str>) -> String {
    format!(
        "unknown key '{key}' in {place}{}",
        suggest::hint(key, known)
    )
}

/// What to add to a "has no KEY" error when the section has a key that is
/// close to one of `wanted`: `; 'comand' (line 12) is not a key: did you
/// mean command?`. The warning says so too, but an error is printed alone.
fn misspelt<'a>(entries: impl IntoIterator<Item = &'a Entry>, wanted: &[&'static str]) -> String {
    for e in entries {
        if let Some(k) = suggest::closest(&e.key, wanted.iter().copied()) {
            return format!(
                "; '{}' (line {}) is not a key: did you mean {k}?",
                e.key, e.line
            );
        }
    }
    String::new()
}

impl Loader<'_> {
    /// A key of a program (or of `[DEFAULT]`, for a program) that
    /// [`ServiceSpec::set`](crate::core::spec::ServiceSpec::set) does not
    /// know: a warning, once (from the first copy of the program).
    pub(super) fn unknown_program_key(&mut self, e: &Entry, label: &str, first: bool) {
        if !first {
            return;
        }
        let place = if e.default { "[DEFAULT]" } else { label };
        let message = if SUPERVISORD_UNUSED.contains(&e.key.as_str()) {
            format!("{} in {place} is not used by sv; ignored", e.key)
        } else {
            unknown(&e.key, place, program_keys())
        };
        self.warn(e.file, e.line, message);
    }

    /// A key of `[group:x]` other than programs and priority.
    pub(super) fn unknown_group_key(&mut self, e: &Entry, label: &str) {
        self.warn(
            e.file,
            e.line,
            unknown(&e.key, label, GROUP.iter().copied()),
        );
    }

    /// A key of `[include]` other than files.
    pub(super) fn unknown_include_key(&mut self, e: &Entry) {
        self.warn(
            e.file,
            e.line,
            unknown(&e.key, "[include]", INCLUDE.iter().copied()),
        );
    }

    /// The keys of one of supervisord's own sections that supervisord does
    /// not know either.
    pub(super) fn unknown_supervisord_keys(&mut self, s: &Section) {
        let Some(known) = supervisord_section(&s.name) else {
            return;
        };
        for e in s
            .entries
            .iter()
            .filter(|e| !known.contains(&e.key.as_str()))
        {
            let message = unknown(&e.key, &format!("[{}]", s.name), known.iter().copied());
            self.warn(e.file, e.line, message);
        }
    }
}

/// For "has no command": a misspelt command key, if there is one.
pub(super) fn misspelt_command<'a>(entries: impl IntoIterator<Item = &'a Entry>) -> String {
    misspelt(
        entries
            .into_iter()
            .filter(|e| !PROGRAM.contains(&e.key.as_str())),
        &["command", "cmd"],
    )
}

/// For "has no programs = line".
pub(super) fn misspelt_programs<'a>(entries: impl IntoIterator<Item = &'a Entry>) -> String {
    misspelt(entries, &["programs"])
}

/// For "has no files = line".
pub(super) fn misspelt_files<'a>(entries: impl IntoIterator<Item = &'a Entry>) -> String {
    misspelt(entries, &["files"])
}

#[cfg(test)]
mod tests {
    use super::super::parse_str;
    use super::*;
    use crate::core::service::{AutoRestart, RestartRule};

    #[test]
    fn an_unknown_program_key_is_a_warning_with_a_hint() {
        let c = parse_str(
            "[program:web]\ncommand=/bin/web\nautorestrat=true\nnumprocs=2\n\
             x-other-tool=1\nautorestart=false\n",
        )
        .unwrap();
        // Once, not once per copy; the rest of the section still applies.
        assert_eq!(
            c.warnings,
            [
                "config:3: unknown key 'autorestrat' in [program:web]; did you mean autorestart?",
                "config:5: unknown key 'x-other-tool' in [program:web]",
            ]
        );
        let all: Vec<_> = c.programs.iter().flat_map(|p| &p.processes).collect();
        assert_eq!(all.len(), 2);
        for s in all {
            assert!(matches!(
                s.policy.restart,
                RestartRule::Auto {
                    autorestart: AutoRestart::Never,
                    ..
                }
            ));
        }
    }

    #[test]
    fn unknown_keys_of_groups_includes_and_supervisord_sections_warn() {
        let c = parse_str(
            "[program:a]\ncommand=/bin/a\n[group:g]\nprograms=a\nprogrames=a\n\
             [include]\nfile=x\nfiles=y\n[supervisord]\nnodeamon=true\nlogfile=/x\n\
             [unix_http_server]\nfile=/s\nchwon=me\n[inet_http_server]\nport=1\nflavour=x\n",
        )
        .unwrap();
        let mine: Vec<&str> = c
            .warnings
            .iter()
            .map(String::as_str)
            .filter(|w| w.contains("unknown key"))
            .collect();
        assert_eq!(
            mine,
            [
                "config:7: unknown key 'file' in [include]; did you mean files?",
                "config:5: unknown key 'programes' in [group:g]; did you mean programs?",
                "config:10: unknown key 'nodeamon' in [supervisord]; did you mean nodaemon?",
                "config:14: unknown key 'chwon' in [unix_http_server]; did you mean chown?",
                "config:17: unknown key 'flavour' in [inet_http_server]",
            ],
            "{:?}",
            c.warnings
        );
    }

    #[test]
    fn a_missing_required_key_names_a_misspelt_one() {
        let e = parse_str("[include]\nfile = x.conf\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "config:1: [include] has no files = line (space-separated globs); \
             'file' (line 2) is not a key: did you mean files?"
        );
        // Nothing close: the error alone.
        let e = parse_str("[program:a]\nzzz=1\n").unwrap_err().to_string();
        assert_eq!(
            e,
            "config:1: [program:a] has no command (command = /path/to/program args)"
        );
    }

    /// Another tool's value is not expanded, so it cannot be an error.
    #[test]
    fn an_unknown_key_is_not_expanded() {
        let c = parse_str(
            "[DEFAULT]\nx_url=http://h/%20\n[program:a]\ncommand=/bin/a\nx_fmt=%(asctime)s %d\n\
             [group:g]\nprograms=a\nx_note=100%\n",
        )
        .unwrap();
        assert_eq!(c.warnings.len(), 3, "{:?}", c.warnings);
    }

    /// The list `did you mean` picks from names only keys the loader takes.
    #[test]
    fn every_listed_program_key_is_applied() {
        let own = ["numprocs", "numprocs_start", "process_name"];
        for key in PROGRAM.iter().filter(|k| !own.contains(k)) {
            assert!(applies(key), "{key}");
        }
        assert!(!applies("autorestrat"));
        for key in PROGRAM.iter().chain(SUPERVISORD_UNUSED) {
            let c = parse_str(&format!("[program:a]\ncommand=/bin/a\n{key}=1\n"));
            assert!(
                c.is_err() || c.unwrap().warnings.iter().all(|w| !w.contains("unknown")),
                "{key}"
            );
        }
    }
}
