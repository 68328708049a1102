//! What a service is made of, whether it came from `create-service` or from a
//! config file: the command, where and as whom it runs, its output targets
//! and its [`Policy`]. [`ServiceSpec::set`] applies one SPEC §5 key, in
//! either spelling, so `create-service --set KEY=VALUE` and the config parser
//! share one definition of every key.

use super::service::{parse_backoff_max, AutoRestart, Backoff, Policy, RestartRule};
use super::supervisor::ShutdownOn;
use crate::wire::CreateSpec;
use std::path::PathBuf;

mod depends;
mod values;
pub use depends::{Condition, Dep};
pub use values::{
    join_words, parse_bool, parse_env, parse_output, parse_secs, parse_signal, parse_size,
    split_words, MAX_SECS,
};
use values::{parse_num, parse_prefix, parse_secs_min1};

/// Where a stream of the child's output goes (SPEC §5 `stdout`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputSpec {
    /// `logs/NAME-stdout.log` of the instance.
    Auto,
    /// `/dev/null` or `NONE`.
    Discard,
    /// The daemon's own stdout (1) or stderr (2).
    Daemon(i32),
    File(PathBuf),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServiceSpec {
    pub name: String,
    /// The config program this came from (for `PROGRAM:*`), if any.
    pub program: Option<String>,
    pub group: Option<String>,
    pub argv: Vec<String>,
    pub cwd: Option<PathBuf>,
    /// Added to the daemon's environment, in order.
    pub env: Vec<(String, String)>,
    pub umask: Option<u32>,
    pub user: Option<String>,
    pub autostart: bool,
    pub priority: i32,
    /// The `priority` of its `[group:g]`, if it has one: supervisord
    /// starts and stops a group's programs at the group's place.
    pub group_priority: Option<i32>,
    pub stdout: OutputSpec,
    pub stderr: OutputSpec,
    pub redirect_stderr: bool,
    pub maxbytes: [u64; 2],
    pub backups: [u32; 2],
    pub policy: Policy,
    /// `depends_on` (SPEC §12): spawned once these meet their conditions.
    pub depends_on: Vec<Dep>,
    /// `log_prefix` (SPEC §15), expanded: put before each line of output.
    pub log_prefix: Option<Box<str>>,
    /// `log_timestamps`: an RFC 3339 UTC time before each line.
    pub log_timestamps: bool,
    /// `stdout_events_enabled`, `stderr_events_enabled` (SPEC §14).
    pub events_enabled: [bool; 2],
    /// `[eventlistener:x]` (SPEC §14): the pool it serves, named by
    /// `program`; its stdin and stdout are the protocol channel.
    pub listener: Option<Box<crate::core::events::PoolConf>>,
    /// `schedule` (SPEC §17): runs at these times, one-shot; boxed, as
    /// most services have none.
    pub schedule: Option<Box<crate::core::schedule::Schedule>>,
    /// `shutdown_on` (SPEC §15): whether its end stops the daemon.
    pub shutdown_on: ShutdownOn,
}

impl ServiceSpec {
    /// An ad hoc service with the defaults of SPEC §5 and §11.
    pub fn new(name: &str, argv: Vec<String>) -> ServiceSpec {
        ServiceSpec {
            name: name.to_string(),
            program: None,
            group: None,
            argv,
            cwd: None,
            env: Vec::new(),
            umask: None,
            user: None,
            autostart: true,
            priority: 999,
            group_priority: None,
            stdout: OutputSpec::Auto,
            stderr: OutputSpec::Auto,
            redirect_stderr: false,
            maxbytes: [50 << 20; 2],
            backups: [10; 2],
            policy: Policy::default(),
            depends_on: Vec::new(),
            log_prefix: None,
            log_timestamps: false,
            events_enabled: [false; 2],
            listener: None,
            schedule: None,
            shutdown_on: ShutdownOn::Never,
        }
    }

    /// Where it starts and stops among the others (lowest first up,
    /// highest first down): its group's priority, as supervisord orders
    /// groups, else its own.
    pub fn rank(&self) -> i32 {
        self.group_priority.unwrap_or(self.priority)
    }

    /// Applies one `key = value` of SPEC §5. Err names what is wrong with
    /// the value; an unknown key is `Err` too, a variant of its own.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), SetError> {
        let v = value.trim();
        match key {
            "cmd" | "command" => {
                self.argv = split_words(v)?;
                if self.argv.is_empty() {
                    return Err(SetError::Invalid("command is empty".into()));
                }
            }
            "workingdir" | "directory" => self.cwd = Some(PathBuf::from(v)),
            "env" | "environment" => self.env.extend(parse_env(v)?),
            "umask" => {
                self.umask = Some(
                    u32::from_str_radix(v, 8)
                        .ok()
                        .filter(|m| *m <= 0o777)
                        .ok_or_else(|| format!("umask '{v}' is not an octal mode like 022"))?,
                )
            }
            "user" => self.user = Some(v.to_string()).filter(|u| !u.is_empty()),
            // A scheduled program runs at its times only (SPEC §17).
            "autostart" => self.autostart = parse_bool(v)? && self.schedule.is_none(),
            "priority" => self.priority = parse_num(v, "priority")?,
            "autorestart" => {
                let a = match v.to_ascii_lowercase().as_str() {
                    "always" | "true" | "yes" | "on" | "1" => AutoRestart::Always,
                    "never" | "false" | "no" | "off" | "0" => AutoRestart::Never,
                    "unexpected" => AutoRestart::Unexpected,
                    _ => {
                        return Err(SetError::Invalid(format!(
                            "autorestart '{v}' must be always, never, unexpected, true or false"
                        )))
                    }
                };
                let startretries = self.startretries();
                self.policy.restart = RestartRule::Auto {
                    autorestart: a,
                    startretries,
                };
            }
            "startretries" => {
                let n = parse_num(v, "startretries")?;
                let autorestart = match self.policy.restart {
                    RestartRule::Auto { autorestart, .. } => autorestart,
                    RestartRule::Never | RestartRule::Budget(_) => AutoRestart::Unexpected,
                };
                self.policy.restart = RestartRule::Auto {
                    autorestart,
                    startretries: n,
                };
            }
            "exitcodes" => {
                self.policy.exitcodes = v
                    .split(',')
                    .map(|c| parse_num(c.trim(), "exitcodes"))
                    .collect::<Result<_, _>>()?
            }
            "startsecs" => self.policy.startsecs = parse_secs(v, "startsecs")?,
            "stopwaitsecs" => self.policy.stopwait = parse_secs(v, "stopwaitsecs")?,
            "stopsignal" => self.policy.stopsignal = parse_signal(v)?,
            "stopasgroup" | "killasgroup" => self.policy.group = parse_bool(v)?,
            "stdout" | "stdout_logfile" => self.stdout = parse_output(v),
            "stderr" | "stderr_logfile" => self.stderr = parse_output(v),
            "stdout_maxbytes" | "stdout_logfile_maxbytes" => self.maxbytes[0] = parse_size(v)?,
            "stderr_maxbytes" | "stderr_logfile_maxbytes" => self.maxbytes[1] = parse_size(v)?,
            "stdout_backups" | "stdout_logfile_backups" => {
                self.backups[0] = parse_num(v, "stdout_backups")?
            }
            "stderr_backups" | "stderr_logfile_backups" => {
                self.backups[1] = parse_num(v, "stderr_backups")?
            }
            "redirect_stderr" => self.redirect_stderr = parse_bool(v)?,
            "backoff" => self.policy.backoff = Backoff::parse(v)?,
            "backoff_max" => self.policy.backoff_max = parse_backoff_max(v)?,
            "depends_on" => self.depends_on = depends::parse(v)?,
            "ready" => self.policy.ready = Some(Box::new(crate::core::checks::Check::parse(v)?)),
            "ready_timeout" => self.policy.ready_timeout = parse_secs_min1(v, "ready_timeout")?,
            "ready_interval" => self.policy.ready_interval = parse_secs_min1(v, "ready_interval")?,
            "health" | "health_interval" | "health_timeout" | "health_retries"
            | "health_action" => self.policy.health.set(key, v)?,
            "watchdog_secs" => self.policy.watchdog = parse_secs(v, "watchdog_secs")?,
            "log_prefix" => self.log_prefix = parse_prefix(v),
            "log_timestamps" => self.log_timestamps = parse_bool(v)?,
            "stdout_events_enabled" => self.events_enabled[0] = parse_bool(v)?,
            "stderr_events_enabled" => self.events_enabled[1] = parse_bool(v)?,
            "schedule" => {
                self.schedule = match v {
                    "" => None,
                    _ => Some(Box::new(
                        crate::core::schedule::Schedule::parse(v)
                            .map_err(|e| format!("schedule '{v}': {e}"))?,
                    )),
                };
                self.policy.scheduled = self.schedule.is_some();
                self.autostart &= self.schedule.is_none();
            }
            "shutdown_on" => self.shutdown_on = ShutdownOn::parse(v)?,
            _ => return Err(SetError::UnknownKey(key.to_string())),
        }
        Ok(())
    }

    fn startretries(&self) -> u32 {
        match self.policy.restart {
            RestartRule::Auto { startretries, .. } => startretries,
            RestartRule::Never | RestartRule::Budget(_) => 3,
        }
    }
}

/// Builds the service a `create-service` request describes. The request
/// must name it (create fills the name in first); recovery after a crash
/// rebuilds ad hoc services from their saved requests the same way.
pub fn spec_from(req: &CreateSpec) -> Result<ServiceSpec, String> {
    let argv: Vec<String> = req.argv.iter().map(|a| a.0.clone()).collect();
    if argv.first().is_none_or(|p| p.is_empty()) {
        return Err("create-service needs a program to run".into());
    }
    let name = req.name.as_deref().unwrap_or_default();
    let mut spec = ServiceSpec::new(name, argv);
    if !req.cwd.is_empty() {
        spec.cwd = Some(PathBuf::from(&req.cwd.0));
    }
    if let Some(n) = req.restarts {
        spec.policy.restart = RestartRule::Budget(n);
    }
    for s in req.settings.iter() {
        spec.set(&s.key, &s.value)
            .map_err(|e| format!("--set {}={}: {e}", s.key, s.value))?;
    }
    Ok(spec)
}

/// Why [`ServiceSpec::set`] refused a `key = value`: the config reader
/// warns about a key it does not know, but stops at a bad value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetError {
    /// Not a key of SPEC §5; shown as `unknown key 'KEY'`.
    UnknownKey(String),
    /// What is wrong with the value, for the user.
    Invalid(String),
}

impl From<String> for SetError {
    fn from(why: String) -> Self {
        SetError::Invalid(why)
    }
}

impl std::fmt::Display for SetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SetError::UnknownKey(key) => write!(f, "unknown key '{key}'"),
            SetError::Invalid(why) => f.write_str(why),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_prefix_ends_in_a_space_unless_quoted() {
        let mut s = ServiceSpec::new("a", Vec::new());
        s.set("log_prefix", "web |").unwrap();
        assert_eq!(s.log_prefix.as_deref(), Some("web | "));
        s.set("log_prefix", "\"[web] \"").unwrap();
        assert_eq!(s.log_prefix.as_deref(), Some("[web] "));
        s.set("log_prefix", "\"w:\"").unwrap();
        assert_eq!(s.log_prefix.as_deref(), Some("w:"));
        s.set("log_prefix", "").unwrap();
        assert_eq!(s.log_prefix, None);
        s.set("stderr_events_enabled", "true").unwrap();
        s.set("log_timestamps", "yes").unwrap();
        assert_eq!((s.events_enabled, s.log_timestamps), ([false, true], true));
        assert!(s.set("log_timestamps", "sometimes").is_err());
    }

    #[test]
    fn joined_words_split_back_the_same() {
        let words: Vec<String> = ["/bin/sh", "-c", "echo 'hi' $X", "", "a b"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let line = join_words(&words);
        assert_eq!(split_words(&line).unwrap(), words);
        assert_eq!(
            join_words(&["/bin/sleep".into(), "60".into()]),
            "/bin/sleep 60"
        );
    }

    #[test]
    fn words_split_like_a_shell() {
        assert_eq!(
            split_words(r#"/bin/sh -c 'echo "hi there"' a\ b "x\"y""#).unwrap(),
            vec!["/bin/sh", "-c", "echo \"hi there\"", "a b", "x\"y"]
        );
        assert_eq!(split_words("  ").unwrap(), Vec::<String>::new());
        assert!(split_words("'open").is_err());
        assert!(split_words("\"open").is_err());
    }

    #[test]
    fn env_values_may_hold_quoted_commas() {
        assert_eq!(
            parse_env(r#"A=1,B="x, y",C=z"#).unwrap(),
            vec![
                ("A".into(), "1".into()),
                ("B".into(), "x, y".into()),
                ("C".into(), "z".into())
            ]
        );
        assert!(parse_env("=1").is_err());
        assert!(parse_env("NOEQUALS").is_err());
        assert!(parse_env("A=1,B").is_err());
        assert!(parse_env("A=\"open").is_err());
    }

    #[test]
    fn real_time_signals_by_name_and_back() {
        use crate::core::service::signal_name;
        for (name, n) in [
            ("RTMIN", 34),
            ("SIGRTMIN+3", 37),
            ("rtmin+1", 35),
            ("RTMAX-1", 63),
            ("SIGRTMAX", 64),
            ("RTMIN+30", 64),
        ] {
            assert_eq!(parse_signal(name), Ok(n), "{name}");
        }
        for bad in [
            "RTMIN+31",
            "RTMAX-31",
            "RTMIN-1",
            "RTMIN+",
            "RTFOO",
            "RTMIN+99999999999",
        ] {
            assert!(parse_signal(bad).is_err(), "{bad}");
        }
        assert_eq!(signal_name(37), "SIGRTMIN+3");
        assert_eq!(signal_name(34), "SIGRTMIN");
        assert_eq!(signal_name(50), "SIGRTMAX-14");
        assert_eq!(signal_name(64), "SIGRTMAX");
        assert_eq!(signal_name(32), "signal 32");
        for n in 34..=64 {
            assert_eq!(parse_signal(&signal_name(n)), Ok(n));
        }
    }

    #[test]
    fn sizes_signals_and_booleans() {
        assert_eq!(parse_size("50MB").unwrap(), 50 << 20);
        assert_eq!(parse_size("10kb").unwrap(), 10 << 10);
        assert_eq!(parse_size("0").unwrap(), 0);
        assert!(parse_size("lots").is_err());
        assert_eq!(parse_signal("TERM").unwrap(), libc::SIGTERM);
        assert_eq!(parse_signal("sigkill").unwrap(), libc::SIGKILL);
        assert_eq!(parse_signal("10").unwrap(), 10);
        assert!(parse_signal("NOPE").is_err());
        assert!(parse_bool("Yes").unwrap());
        assert!(!parse_bool("FALSE").unwrap());
        assert!(parse_bool("maybe").is_err());
    }

    #[test]
    fn set_applies_either_spelling() {
        let mut s = ServiceSpec::new("x", vec!["/bin/true".into()]);
        s.set("directory", "/tmp").unwrap();
        s.set("stopsignal", "INT").unwrap();
        s.set("startsecs", "0").unwrap();
        s.set("autorestart", "always").unwrap();
        s.set("startretries", "0").unwrap();
        s.set("stdout_logfile", "/dev/stdout").unwrap();
        assert_eq!(s.cwd, Some(PathBuf::from("/tmp")));
        assert_eq!(s.policy.stopsignal, libc::SIGINT);
        assert!(s.policy.startsecs.is_zero());
        assert_eq!(
            s.policy.restart,
            RestartRule::Auto {
                autorestart: AutoRestart::Always,
                startretries: 0
            }
        );
        assert_eq!(s.stdout, OutputSpec::Daemon(1));
        assert_eq!(
            s.set("bogus", "1").unwrap_err().to_string(),
            "unknown key 'bogus'"
        );
        assert!(s.set("startsecs", "18446744073709551615").is_err());
        assert!(s.set("stopwaitsecs", "99999999999").is_err());
        assert!(s.set("umask", "999").is_err());
    }
}
