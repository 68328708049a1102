//! The daemon's lifecycle commands: `daemon` (foreground), `init`
//! (detached), `list-supervisors`. `close` is a plain client call in `cli`.

use super::cli::{instance, parse};
use super::exit::{self, Exit, Stop};
use super::{client, print_stdout};
use crate::core::clock::clock;
use crate::core::paths::{self, InstancePaths};
use crate::core::{Daemon, Options};
use crate::wire::{DaemonInfo, Request, Response};
use argh::FromArgs;
use nanoserde::SerJson;
use std::ffi::OsString;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

/// Run supervisor instance N in the foreground.
#[derive(FromArgs)]
struct DaemonArgs {
    /// instance number, 0 to 99 (default $SV_INSTANCE, else 0)
    #[argh(positional)]
    instance: Option<String>,
    /// instance number, as the positional N (SPEC §11: -i anywhere)
    #[argh(option, short = 'i', long = "instance")]
    i: Option<String>,
    /// config file with [program:x] sections (supervisord format)
    #[argh(option, short = 'c')]
    config: Option<String>,
    /// also append the daemon's own log lines to FILE (reopened on SIGUSR2)
    #[argh(option)]
    log: Option<String>,
    /// debug lines (read-only requests) on stderr and in log files too
    #[argh(switch, short = 'v')]
    verbose: bool,
    /// internal, used by init: detach stdio once ready
    #[argh(switch)]
    detach: bool,
}

pub fn main(args: Vec<OsString>) -> exit::Result {
    let a: DaemonArgs = parse(&args)?;
    if a.detach {
        // Started by `init`: whatever it had open besides stdio (a pipe of
        // its caller's, say `5>&1`) must not live on in a daemon that
        // outlives it, or the caller's reader never sees EOF.
        crate::core::sys::close_from(3);
    }
    let n = daemon_instance(a.instance.as_deref(), a.i.as_deref())
        .map_err(|e| Stop::usage("daemon", &e))?;
    // Started by `init`, whose caller reads these lines as its own.
    let me = if a.detach { "sv init" } else { "sv daemon" };
    let failed = |e: &dyn std::fmt::Display| Stop::failed(format!("{me}: {e}"));
    let config = a.config.as_deref().map(absolute).transpose();
    let config = config.map_err(|e| failed(&e))?;
    let log_file = a.log.as_deref().map(absolute_log).transpose();
    let log_file = log_file.map_err(|e| failed(&e))?;
    let daemon = Daemon::open(Options {
        instance: n,
        config,
        detach: a.detach,
        log_file,
        verbose: a.verbose,
        supervisord: None,
    })
    .map_err(|e| failed(&e.message))?;
    let status = daemon
        .run()
        .map_err(|e| failed(&format!("supervisor {n}: {e}")))?;
    // A program's `shutdown_on` ended the daemon with its status (SPEC §15).
    match status {
        0 => Ok(()),
        n => Err(Stop::told(exit::Exit::Code(n))),
    }
}

/// The instance of `sv daemon N` or `sv daemon -i N`; both may stand only
/// if they agree.
fn daemon_instance(positional: Option<&str>, option: Option<&str>) -> Result<u8, String> {
    match (positional, option) {
        (Some(p), Some(o)) => {
            let (p, o) = (instance(Some(p))?, instance(Some(o))?);
            if p != o {
                return Err(format!("instance {p} and -i {o} disagree; give one"));
            }
            Ok(p)
        }
        (p, o) => instance(p.or(o)),
    }
}

/// Start supervisor instance N detached.
#[derive(FromArgs)]
struct InitArgs {
    /// instance number, 0 to 99 (default $SV_INSTANCE, else 0)
    #[argh(option, short = 'i')]
    instance: Option<String>,
    /// config file with [program:x] sections (supervisord format)
    #[argh(option, short = 'c')]
    config: Option<String>,
    /// also append the daemon's own log lines to FILE (reopened on SIGUSR2)
    #[argh(option)]
    log: Option<String>,
    /// debug lines (read-only requests) in the log file too
    #[argh(switch, short = 'v')]
    verbose: bool,
}

/// A log path made absolute: the daemon's cwd is no concern of the user's.
fn absolute_log(p: &str) -> Result<std::path::PathBuf, String> {
    std::path::absolute(p).map_err(|e| format!("log file {p}: {e}"))
}

/// A config path made absolute, so `reload` finds it whatever the cwd.
fn absolute(p: &str) -> Result<std::path::PathBuf, String> {
    std::path::absolute(p).map_err(|e| format!("config file {p}: {e}"))
}

/// `init`: starts `sv daemon N --detach` in its own session and returns once
/// it answers. Its stderr comes through a pipe until it is ready, so a
/// failed start is reported with the daemon's own words.
pub fn init_main(args: Vec<OsString>) -> exit::Result {
    let a: InitArgs = parse(&args)?;
    let n = instance(a.instance.as_deref()).map_err(|e| Stop::usage("init", &e))?;
    // Running already: one line that says so, not a failed start.
    if let Ok(Response::Info(info)) = client::call(n, &Request::Info) {
        return Err(Stop::failed(format!(
            "sv init: supervisor {n} is already running (pid {})",
            info.pid
        )));
    }
    let exe = std::env::current_exe()
        .map_err(|e| Stop::failed(format!("sv init: cannot find the sv binary: {e}")))?;
    let mut cmd = Command::new(exe);
    cmd.arg("daemon")
        .arg(n.to_string())
        .arg("--detach")
        .args(a.config.iter().flat_map(|c| ["-c", c.as_str()]))
        .args(a.log.iter().flat_map(|l| ["--log", l.as_str()]))
        .args(a.verbose.then_some("--verbose"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // SAFETY: setsid is async-signal-safe; it detaches from our terminal.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| Stop::failed(format!("sv init: cannot start the daemon: {e}")))?;
    // EOF comes when the daemon points its stderr at /dev/null (ready) or exits.
    let mut said = String::new();
    if let Some(mut err) = child.stderr.take() {
        let _ = err.read_to_string(&mut said);
    }
    let exited = |child: &mut std::process::Child| child.try_wait().ok().flatten();
    let mut status = exited(&mut child);
    let answer = match status {
        Some(_) => None,
        None => Some(client::call(n, &Request::Ping)),
    };
    if let Some(Ok(_)) = answer {
        // Only warnings come this way (where the log goes, say).
        eprint!("{said}");
        print_stdout(&format!("supervisor {n}: started, pid {}\n", child.id()));
        return Ok(());
    }
    // The daemon closes its stderr on its way out a moment before it can be
    // waited for: give a failed start that moment, so it is reported as one
    // (exit 1) rather than as an unreachable instance.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while status.is_none() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(5));
        status = exited(&mut child);
    }
    eprint!("{said}");
    if let Some(status) = status {
        if !said.ends_with('\n') && !said.is_empty() {
            eprintln!();
        }
        // What the daemon said is the reason; only its silence needs this.
        if said.trim().is_empty() {
            eprintln!("sv init: supervisor {n} did not start ({status})");
        }
        return Err(Stop::told(Exit::Failed));
    }
    match answer {
        Some(Err(e)) => Err(e.into()),
        _ => Err(Stop::told(Exit::Failed)),
    }
}

/// One instance in `list-supervisors --json`: no config file is `null`.
#[derive(SerJson)]
#[nserde(serialize_none_as_null)]
struct JsonDaemon<'a> {
    instance: u8,
    pid: i32,
    uptime_secs: u64,
    services: u32,
    config: Option<&'a str>,
}

fn json_daemons(found: &[DaemonInfo]) -> String {
    let list: Vec<JsonDaemon> = found
        .iter()
        .map(|i| JsonDaemon {
            instance: i.instance,
            pid: i.pid,
            uptime_secs: i.uptime_secs,
            services: i.services,
            config: (!i.config.is_empty()).then_some(&*i.config),
        })
        .collect();
    list.serialize_json()
}

/// Every live supervisor instance of this user.
#[derive(FromArgs)]
struct ListArgs {
    /// print one JSON document instead of the table
    #[argh(switch)]
    json: bool,
}

pub fn list_main(args: Vec<OsString>) -> exit::Result {
    let a: ListArgs = parse(&args)?;
    let runtime = paths::runtime_dir();
    let mut found: Vec<DaemonInfo> = Vec::new();
    for n in 0..=paths::MAX_INSTANCE {
        if !InstancePaths::under(&runtime, n).sock().exists() {
            continue;
        }
        if let Ok(Response::Info(info)) = client::call(n, &Request::Info) {
            found.push(info);
        }
    }
    if a.json {
        print_stdout(&format!("{}\n", json_daemons(&found)));
        return Ok(());
    }
    let mut out = String::new();
    for i in &found {
        let config = if i.config.is_empty() { "-" } else { &i.config };
        out.push_str(&format!(
            "{:<2}  pid {:<7}  uptime {}  services {:<4}  config {config}\n",
            i.instance,
            i.pid,
            clock(i.uptime_secs),
            i.services
        ));
    }
    print_stdout(&out);
    Ok(())
}
