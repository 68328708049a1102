//! `sv create-service`: options may stand before or after the program's
//! arguments (`sv create-service /bin/sleep 60 -r 3 -i 4`), and everything
//! after `--` goes to the program unchanged (SPEC §11). argh cannot mix the
//! two, so this one parser is written by hand.

use super::cli::{instance, print_response};
use super::client;
use super::exit::{self, Stop};
use crate::wire::{CreateSpec, List, Request, Response, Setting, Text};
use std::ffi::OsString;

/// What the command line says.
#[derive(Debug, PartialEq)]
pub struct Parsed {
    pub instance: Option<String>,
    pub spec: CreateSpec,
    /// `--no-wait`: answered at once, `NAME: starting, pid P`.
    pub no_wait: bool,
}

/// Parses the arguments after `create-service`.
pub fn parse(args: &[String]) -> Result<Parsed, String> {
    let mut spec = CreateSpec::default();
    let mut inst = None;
    let mut no_wait = false;
    let mut argv = Vec::new();
    let mut settings = Vec::new();
    let mut cron = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |flag: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match a.as_str() {
            "--" => {
                argv.extend(it.by_ref().cloned());
                break;
            }
            "-c" | "--delay" => {
                let v = value(a)?;
                spec.delay_secs = Some(
                    v.parse()
                        .map_err(|_| format!("-c '{v}' is not a whole number of seconds"))?,
                );
            }
            "-r" | "--restarts" => {
                let v = value(a)?;
                spec.restarts = Some(
                    v.parse()
                        .map_err(|_| format!("-r '{v}' is not a whole number of restarts"))?,
                );
            }
            "-i" | "--instance" => {
                let v = value(a)?;
                // `sv -i 4 create-service ... -i 5`: say so, not pick one.
                if inst.as_ref().is_some_and(|i| *i != v) {
                    return Err(format!("-i {} and -i {v} disagree; give one", inst.unwrap_or_default()));
                }
                inst = Some(v);
            }
            "--cron" => {
                // SPEC §17: refused here, before any daemon is asked.
                let v = value(a)?;
                crate::core::schedule::Schedule::parse(&v)
                    .map_err(|e| format!("--cron '{v}': {e}"))?;
                settings.push(Setting {
                    key: "schedule".into(),
                    value: v.into(),
                });
                cron = true;
            }
            "--name" => spec.name = Some(Text(value(a)?)),
            "--create-stopped" => spec.stopped = true,
            "--no-wait" => no_wait = true,
            "--set" => {
                let v = value(a)?;
                let (k, val) = v
                    .split_once('=')
                    .ok_or_else(|| format!("--set '{v}' is not KEY=VALUE"))?;
                settings.push(Setting {
                    key: k.trim().into(),
                    value: val.into(),
                });
            }
            s if s.starts_with('-') && s.len() > 1 && !argv.is_empty() || s.starts_with("--") => {
                return Err(format!(
                    "unknown option '{s}' (arguments for the program that begin with '-' go after --)"
                ))
            }
            s if s.starts_with('-') && s.len() > 1 => {
                return Err(format!("unknown option '{s}'"))
            }
            _ => argv.push(a.clone()),
        }
    }
    if argv.is_empty() {
        return Err("give the PATH of the program to run".into());
    }
    if spec.stopped && spec.delay_secs.is_some() {
        return Err("--create-stopped and -c exclude each other".into());
    }
    if cron && (spec.stopped || spec.delay_secs.is_some()) {
        return Err("--cron excludes -c and --create-stopped: it runs at its times".into());
    }
    spec.argv = argv.into_iter().map(Text).collect::<List<Text>>();
    spec.settings = settings.into();
    Ok(Parsed {
        instance: inst,
        spec,
        no_wait,
    })
}

pub fn main(args: Vec<OsString>) -> exit::Result {
    let cmd = "create-service";
    let usage = |why: &str| Stop::usage(cmd, why);
    let mut strs = Vec::new();
    for a in &args[1..] {
        match a.to_str() {
            Some(s) => strs.push(s.to_string()),
            None => return Err(usage(&format!("argument {a:?} is not UTF-8"))),
        }
    }
    let mut parsed = parse(&strs).map_err(|e| usage(&e))?;
    let n = instance(parsed.instance.as_deref()).map_err(|e| usage(&e))?;
    let dir = std::env::current_dir()
        .map_err(|e| Stop::failed(format!("sv: cannot read the current directory: {e}")))?;
    parsed.spec.cwd = Text(dir.to_string_lossy().into_owned());
    // Like `start`, it returns once the service is RUNNING (past
    // startsecs) or has failed, unless told not to wait.
    let req = if parsed.no_wait {
        Request::Create(parsed.spec)
    } else {
        Request::CreateWait(parsed.spec)
    };
    let resp = client::call(n, &req)?;
    // A daemon of the previous release, still running after an upgrade,
    // knows no CreateWait: ask it the old way (no wait).
    if from_old_daemon(&req, &resp) {
        let old = match req {
            Request::CreateWait(spec) => Request::Create(spec),
            other => other,
        };
        return print_response(cmd, client::call(n, &old)?, false);
    }
    print_response(cmd, resp, false)
}

/// The daemon could not read a CreateWait: one that predates it answers
/// `bad request: malformed frame: ...` to a variant it does not know.
fn from_old_daemon(req: &Request, resp: &Response) -> bool {
    matches!(req, Request::CreateWait(_))
        && matches!(resp, Response::Error(t) if t.starts_with("bad request: malformed frame"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_daemon_that_cannot_read_create_wait_is_asked_the_old_way() {
        let wait = Request::CreateWait(CreateSpec::default());
        // What a daemon of 40f70e2 answers to CreateWait.
        let old = Response::Error(
            "bad request: malformed frame: Bin deserialize error at:2 wanted:0 bytes but max \
             size is 62"
                .into(),
        );
        assert!(from_old_daemon(&wait, &old));
        let refused = Response::Error("no such program".into());
        assert!(!from_old_daemon(&wait, &refused));
        assert!(!from_old_daemon(
            &Request::Create(CreateSpec::default()),
            &old
        ));
    }

    fn p(args: &[&str]) -> Result<Parsed, String> {
        parse(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn options_may_follow_the_arguments() {
        let got = p(&["/bin/sleep", "60", "-r", "3", "-i", "4"]).unwrap();
        assert_eq!(got.instance.as_deref(), Some("4"));
        assert_eq!(got.spec.restarts, Some(3));
        let argv: Vec<&str> = got.spec.argv.iter().map(|t| t.0.as_str()).collect();
        assert_eq!(argv, ["/bin/sleep", "60"]);
    }

    #[test]
    fn options_may_precede_and_double_dash_passes_through() {
        let got = p(&[
            "--name",
            "web",
            "-c",
            "5",
            "/bin/echo",
            "--",
            "-n",
            "-r",
            "x",
        ])
        .unwrap();
        assert_eq!(got.spec.name.as_deref(), Some("web"));
        assert_eq!(got.spec.delay_secs, Some(5));
        let argv: Vec<&str> = got.spec.argv.iter().map(|t| t.0.as_str()).collect();
        assert_eq!(argv, ["/bin/echo", "-n", "-r", "x"]);
    }

    #[test]
    fn no_wait_anywhere_on_the_line() {
        assert!(!p(&["/bin/sleep", "60"]).unwrap().no_wait);
        assert!(p(&["--no-wait", "/bin/sleep", "60"]).unwrap().no_wait);
        let got = p(&["/bin/sleep", "60", "--no-wait", "--", "--no-wait"]).unwrap();
        assert!(got.no_wait);
        let argv: Vec<&str> = got.spec.argv.iter().map(|t| t.0.as_str()).collect();
        assert_eq!(argv, ["/bin/sleep", "60", "--no-wait"]);
    }

    #[test]
    fn settings_and_stopped() {
        let got = p(&["--create-stopped", "/bin/true", "--set", "startsecs=0"]).unwrap();
        assert!(got.spec.stopped);
        assert_eq!(got.spec.settings[0].key.0, "startsecs");
        assert_eq!(got.spec.settings[0].value.0, "0");
    }

    #[test]
    fn cron_is_a_schedule_setting_checked_here() {
        let got = p(&["--cron", "@every 2s", "/bin/true"]).unwrap();
        assert_eq!(got.spec.settings[0].key.0, "schedule");
        assert_eq!(got.spec.settings[0].value.0, "@every 2s");
        assert!(p(&["--cron", "@every", "/bin/true"])
            .unwrap_err()
            .starts_with("--cron '@every': "));
        assert!(p(&["--cron", "@every 1s", "-c", "3", "/bin/true"]).is_err());
        assert!(p(&["/bin/true", "--cron"]).is_err());
    }

    #[test]
    fn bad_input_is_refused_with_a_reason() {
        assert!(p(&[]).unwrap_err().contains("PATH"));
        assert!(p(&["/bin/true", "-r"])
            .unwrap_err()
            .contains("needs a value"));
        assert!(p(&["/bin/true", "-r", "x"]).unwrap_err().contains("'x'"));
        assert!(p(&["/bin/true", "-z"]).unwrap_err().contains("after --"));
        assert!(p(&["/bin/true", "--set", "novalue"])
            .unwrap_err()
            .contains("KEY=VALUE"));
        assert!(p(&["-c", "1", "--create-stopped", "/bin/true"]).is_err());
        assert!(p(&["-i", "4", "/bin/true", "-i", "5"])
            .unwrap_err()
            .contains("disagree"));
        assert!(p(&["-i", "4", "/bin/true", "-i", "4"]).is_ok());
    }
}
