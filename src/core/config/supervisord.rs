//! The `[supervisord]` section (SPEC §13), read into [`Supervisord`].
//!
//! Values are checked here, where a bad one can name its file and line;
//! what they mean at run time (paths made absolute, the user looked up,
//! flags laid over them) is the `supervisord` applet's. `environment`
//! alone reaches the programs from here: it is laid under each program's
//! own `environment=` and its names are `%(ENV_X)s` names for the
//! sections, as supervisord 4 does.

use super::build::Loader;
use super::expand::Ctx;
use super::lex::{Entry, Section};
use super::ConfigError;
use crate::core::log::Level;
use crate::core::spec::{parse_bool, parse_env, parse_size};
use std::path::PathBuf;

/// supervisord's default `identifier`.
pub const DEFAULT_IDENTIFIER: &str = "supervisor";

/// The daemon's fd a `logfile` names (1 or 2), where its log then goes in
/// supervisord's format, as supervisord writes it there.
pub fn own_stream_fd(logfile: &str) -> Option<i32> {
    match logfile {
        "/dev/stdout" | "/dev/fd/1" | "/proc/self/fd/1" => Some(1),
        "/dev/stderr" | "/dev/fd/2" | "/proc/self/fd/2" => Some(2),
        _ => None,
    }
}

/// The keys of `[supervisord]` as written (expanded, checked); None where
/// the key is absent, so the applet's flags and defaults can fill them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Supervisord {
    /// A path, `syslog`, or the daemon's own `/dev/stdout` / `/dev/stderr`.
    pub logfile: Option<String>,
    pub logfile_maxbytes: Option<u64>,
    pub logfile_backups: Option<u32>,
    /// supervisord's level mapped to sv's (see [`parse_level`]).
    pub loglevel: Option<Level>,
    pub pidfile: Option<PathBuf>,
    pub umask: Option<u32>,
    pub nodaemon: Option<bool>,
    pub silent: Option<bool>,
    pub minfds: Option<u64>,
    pub minprocs: Option<u64>,
    pub childlogdir: Option<PathBuf>,
    pub user: Option<String>,
    pub directory: Option<PathBuf>,
    /// Given to every program, under its own `environment=`.
    pub environment: Vec<(String, String)>,
    pub identifier: Option<String>,
    /// sv's own (SPEC §15): every program's `shutdown_on` unless its own.
    pub shutdown_on: Option<crate::core::supervisor::ShutdownOn>,
}

impl Supervisord {
    /// The identifier XML-RPC's `getIdentification` answers.
    pub fn identifier(&self) -> &str {
        self.identifier.as_deref().unwrap_or(DEFAULT_IDENTIFIER)
    }
}

/// supervisord's level names (`critical`, `error`, `warn`, `info`,
/// `debug`, `trace`, `blather`, any case) as sv's levels: sv has nothing
/// finer than debug, nor coarser than err.
pub fn parse_level(v: &str) -> Result<Level, String> {
    Ok(match v.to_ascii_lowercase().as_str() {
        "critical" | "error" => Level::Err,
        "warn" => Level::Warning,
        "info" => Level::Info,
        "debug" | "trace" | "blather" => Level::Debug,
        _ => {
            return Err(format!(
                "bad logging level name '{v}' (critical, error, warn, info, debug, \
                 trace or blather)"
            ))
        }
    })
}

/// An octal umask such as `022`.
pub fn parse_umask(v: &str) -> Result<u32, String> {
    u32::from_str_radix(v, 8)
        .ok()
        .filter(|m| *m <= 0o777)
        .ok_or_else(|| format!("'{v}' is not an octal umask like 022"))
}

/// A whole number (minfds, minprocs, logfile_backups).
pub fn parse_count(v: &str) -> Result<u64, String> {
    v.parse()
        .map_err(|_| format!("'{v}' is not a whole number"))
}

/// supervisord's keys of this section that sv has no use for.
const UNUSED: &[&str] = &["strip_ansi"];

impl Loader<'_> {
    /// Reads `[supervisord]` into `self.supervisord`; its environment is
    /// then laid under every program's. Warnings come later, in file
    /// order ([`Loader::supervisord_warnings`]).
    pub(super) fn supervisord(&mut self, s: &Section) -> Result<(), ConfigError> {
        let own: Vec<&str> = s.entries.iter().map(|e| e.key.as_str()).collect();
        // supervisord reads this section through [DEFAULT] too.
        let defaults: Vec<Entry> = self
            .defaults
            .iter()
            .filter(|d| super::keys::supervisord_key(&d.key) && !own.contains(&d.key.as_str()))
            .cloned()
            .collect();
        let ctx = Ctx::new(&self.files[s.file]);
        let mut out = Supervisord::default();
        for e in defaults.iter().chain(&s.entries) {
            if !super::keys::supervisord_key(&e.key) {
                continue;
            }
            if UNUSED.contains(&e.key.as_str()) {
                continue;
            }
            let v = self
                .expand(&e.value, &ctx)
                .map_err(|x| self.unexpanded(e, "[supervisord]", x))?;
            let v = v.trim();
            let missing = match e.key.as_str() {
                "logfile" | "pidfile" => self.missing_dir(v),
                _ => None,
            };
            missing
                .map_or_else(|| set(&mut out, &e.key, v), Err)
                .map_err(|why| {
                    self.err(e.file, e.line, format!("{} in [supervisord]: {why}", e.key))
                })?;
        }
        self.supervisord = Some(out);
        Ok(())
    }

    /// The warnings of `[supervisord]`, in file order with the others:
    /// keys sv has no use for, keys supervisord does not know either.
    pub(super) fn supervisord_warnings(&mut self, s: &Section) {
        for e in s
            .entries
            .iter()
            .filter(|e| UNUSED.contains(&e.key.as_str()))
        {
            self.warn(
                e.file,
                e.line,
                format!("{} in [supervisord] is not used by sv; ignored", e.key),
            );
        }
        self.unknown_supervisord_keys(s);
    }
}

impl Loader<'_> {
    /// `[supervisord]`'s environment, which every program's lies over.
    pub(super) fn global_env(&self) -> Vec<(String, String)> {
        self.supervisord
            .as_ref()
            .map(|s| s.environment.clone())
            .unwrap_or_default()
    }

    /// `[supervisord]`'s `shutdown_on`, every program's unless its own.
    pub(super) fn global_shutdown_on(&self) -> crate::core::supervisor::ShutdownOn {
        let s = self.supervisord.as_ref();
        s.and_then(|s| s.shutdown_on).unwrap_or_default()
    }

    /// `[rpcinterface:NAME]`: supervisor's own interface is the one sv
    /// serves; another (a Python plugin) cannot be.
    pub(super) fn rpcinterface(&mut self, s: &Section) {
        let own = s.entries.iter().any(|e| {
            e.key == "supervisor.rpcinterface_factory"
                && e.value.trim() == "supervisor.rpcinterface:make_main_rpcinterface"
        });
        if !own {
            self.warn(
                s.file,
                s.line,
                format!(
                    "[{}] is not used by sv; ignored (sv serves supervisor's own interface only)",
                    s.name
                ),
            );
        }
    }
}

/// Sets one key of the section; Err says why the value is wrong.
fn set(out: &mut Supervisord, key: &str, v: &str) -> Result<(), String> {
    let path = |v: &str| (!v.is_empty()).then(|| PathBuf::from(v));
    match key {
        "logfile" => out.logfile = Some(v.to_string()).filter(|v| !v.is_empty()),
        "logfile_maxbytes" => out.logfile_maxbytes = Some(parse_size(v)?),
        "logfile_backups" => {
            let n = parse_count(v)?;
            out.logfile_backups = Some(u32::try_from(n).map_err(|_| format!("{n} is too many"))?)
        }
        "loglevel" => out.loglevel = Some(parse_level(v)?),
        "pidfile" => out.pidfile = path(v),
        "umask" => out.umask = Some(parse_umask(v)?),
        "nodaemon" => out.nodaemon = Some(parse_bool(v)?),
        "silent" => out.silent = Some(parse_bool(v)?),
        // Checked only: sv never deletes old AUTO logs at start.
        "nocleanup" => {
            parse_bool(v)?;
        }
        "minfds" => out.minfds = Some(parse_count(v)?),
        "minprocs" => out.minprocs = Some(parse_count(v)?),
        "childlogdir" => out.childlogdir = path(v),
        "user" => out.user = Some(v.to_string()).filter(|v| !v.is_empty()),
        "directory" => out.directory = path(v),
        "environment" => out.environment = parse_env(v)?,
        "identifier" => out.identifier = Some(v.to_string()),
        "shutdown_on" => out.shutdown_on = Some(crate::core::supervisor::ShutdownOn::parse(v)?),
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::parse_str;
    use super::*;

    #[test]
    fn the_section_is_read_with_its_types() {
        let c = parse_str(
            "[supervisord]\nlogfile=/var/log/s.log\nlogfile_maxbytes=1MB\nlogfile_backups=3\n\
             loglevel=WARN\npidfile=/run/s.pid\numask=002\nnodaemon=true\nminfds=2048\n\
             minprocs=100\nchildlogdir=/var/log/c\nuser=nobody\ndirectory=/srv\n\
             environment=A=\"1,2\",B=b\nidentifier=box\nnocleanup=true\nsilent=false\n",
        )
        .unwrap();
        assert_eq!(c.warnings, Vec::<String>::new());
        let s = c.supervisord.unwrap();
        assert_eq!(s.logfile.as_deref(), Some("/var/log/s.log"));
        assert_eq!(s.logfile_maxbytes, Some(1 << 20));
        assert_eq!(s.logfile_backups, Some(3));
        assert_eq!(s.loglevel, Some(Level::Warning));
        assert_eq!(s.pidfile, Some(PathBuf::from("/run/s.pid")));
        assert_eq!(s.umask, Some(0o002));
        assert_eq!(s.nodaemon, Some(true));
        assert_eq!((s.minfds, s.minprocs), (Some(2048), Some(100)));
        assert_eq!(s.childlogdir, Some(PathBuf::from("/var/log/c")));
        assert_eq!(s.user.as_deref(), Some("nobody"));
        assert_eq!(s.directory, Some(PathBuf::from("/srv")));
        assert_eq!(
            s.environment,
            [("A".into(), "1,2".into()), ("B".into(), "b".into())]
        );
        assert_eq!(s.identifier(), "box");
        assert_eq!(s.silent, Some(false));
    }

    #[test]
    fn shutdown_on_is_every_programs_default_unless_its_own() {
        use crate::core::supervisor::ShutdownOn;
        let c = parse_str(
            "[program:a]\ncommand=/bin/a\n[program:b]\ncommand=/bin/b\nshutdown_on=never\n\
             [supervisord]\nshutdown_on=exit\n",
        )
        .unwrap();
        assert_eq!(c.warnings, Vec::<String>::new());
        let on: Vec<ShutdownOn> = c
            .programs
            .iter()
            .map(|p| p.processes[0].shutdown_on)
            .collect();
        assert_eq!(on, [ShutdownOn::Exit, ShutdownOn::Never]);
        let c = parse_str("[program:a]\ncommand=/bin/a\nshutdown_on=fatal\n").unwrap();
        assert_eq!(c.programs[0].processes[0].shutdown_on, ShutdownOn::Fatal);
        let e = parse_str("[supervisord]\nshutdown_on=crash\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "config:2: shutdown_on in [supervisord]: 'crash' is not never, fatal or exit"
        );
    }

    #[test]
    fn the_identifier_defaults_to_supervisors() {
        let c = parse_str("[supervisord]\n").unwrap();
        assert_eq!(c.supervisord.unwrap().identifier(), "supervisor");
        assert!(parse_str("").unwrap().supervisord.is_none());
    }

    #[test]
    fn levels_map_to_svs() {
        for (v, l) in [
            ("critical", Level::Err),
            ("error", Level::Err),
            ("warn", Level::Warning),
            ("info", Level::Info),
            ("Debug", Level::Debug),
            ("trace", Level::Debug),
            ("blather", Level::Debug),
        ] {
            assert_eq!(parse_level(v), Ok(l), "{v}");
        }
        // supervisord knows no `warning`.
        assert!(parse_level("warning").is_err());
    }

    #[test]
    fn a_bad_value_names_its_line() {
        let e = parse_str("[supervisord]\nnodaemon=true\numask=089\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "config:3: umask in [supervisord]: '089' is not an octal umask like 022"
        );
        let e = parse_str("[supervisord]\nloglevel=loud\n").unwrap_err();
        assert!(e.message.contains("bad logging level name 'loud'"), "{e}");
    }

    #[test]
    fn environment_lies_under_the_programs_own_and_is_env_names() {
        let c = parse_str(
            "[program:a]\ncommand=/bin/a %(ENV_G)s\nenvironment=K=own,L=%(ENV_G)s\n\
             [supervisord]\nenvironment=G=global,K=global\n",
        )
        .unwrap();
        let a = &c.programs[0].processes[0];
        assert_eq!(a.argv, ["/bin/a", "global"]);
        // Later entries win when the child's environment is made.
        assert_eq!(
            a.env,
            [
                ("G".into(), "global".into()),
                ("K".into(), "global".into()),
                ("K".into(), "own".into()),
                ("L".into(), "global".into()),
            ]
        );
    }

    #[test]
    fn supervisords_other_sections_are_not_warned_about() {
        let c = parse_str(
            "[supervisord]\nlogfile=/tmp/x\n[supervisorctl]\nserverurl=unix:///tmp/s.sock\n\
             [rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = \
             supervisor.rpcinterface:make_main_rpcinterface\n\
             [rpcinterface:other]\nsupervisor.rpcinterface_factory = my.mod:make\n\
             [supervisord]\n",
        );
        // A section twice is refused, as anywhere.
        assert!(c.is_err());
        let c = parse_str(
            "[supervisord]\nlogfile=/tmp/x\nstrip_ansi=true\n\
             [supervisorctl]\nserverurl=unix:///tmp/s.sock\n\
             [rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = \
             supervisor.rpcinterface:make_main_rpcinterface\n\
             [rpcinterface:other]\nsupervisor.rpcinterface_factory = my.mod:make\n",
        )
        .unwrap();
        assert_eq!(
            c.warnings,
            [
                "config:3: strip_ansi in [supervisord] is not used by sv; ignored",
                "config:8: [rpcinterface:other] is not used by sv; ignored \
                 (sv serves supervisor's own interface only)",
            ]
        );
    }
}
