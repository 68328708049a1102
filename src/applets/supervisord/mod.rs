//! The `supervisord` applet (SPEC §13): supervisord's command line and
//! start-up around sv's own daemon, so that a symlink named supervisord
//! replaces the real one. It finds the config as supervisord does, lays
//! the flags over `[supervisord]`, drops privileges and raises the limits
//! as supervisord does (with its messages and exit 2), detaches unless
//! told not to, then runs `Daemon` as instance `$SV_INSTANCE` and keeps
//! the pidfile while it runs. What the daemon itself honours of the
//! section (log level and file, childlogdir, identifier) goes to it in
//! `Options::supervisord`.

mod getopt;
mod process;

use super::exit::{self, Exit, Stop};
use crate::core::config::{self, parse_count, parse_level, parse_umask, Supervisord};
use crate::core::log::Level;
use crate::core::paths;
use crate::core::spec::parse_size;
use crate::core::{Daemon, Options};
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

/// supervisord's defaults for what sv does not default otherwise.
const DEFAULT_LOGFILE: &str = "supervisord.log";
const DEFAULT_PIDFILE: &str = "supervisord.pid";
const DEFAULT_MAXBYTES: u64 = 50 << 20;
const DEFAULT_BACKUPS: u32 = 10;
const DEFAULT_MINFDS: u64 = 1024;
const DEFAULT_MINPROCS: u64 = 200;
/// The umask a detaching supervisord sets when none is given.
const DEFAULT_UMASK: u32 = 0o022;

/// `logfile` values that name no file: the daemon's own streams (see
/// `config::own_stream_fd`), nowhere, and syslog (which sv always
/// writes).
const NO_FILE: &[&str] = &[
    "syslog",
    "/dev/null",
    "/dev/stdout",
    "/dev/stderr",
    "/dev/fd/1",
    "/dev/fd/2",
    "/proc/self/fd/1",
    "/proc/self/fd/2",
];

use crate::core::config::own_stream_fd;

pub fn main(args: Vec<OsString>) -> exit::Result {
    // The real argv[0]: the search for the config starts beside it, and
    // it names the program in messages, as supervisord's does.
    let argv0 = std::env::args_os()
        .next()
        .map(|a| a.to_string_lossy().into_owned())
        .unwrap_or_default();
    let prog = if Path::new(&argv0)
        .file_name()
        .is_some_and(|n| n == "supervisord")
    {
        argv0.clone()
    } else {
        "sv supervisord".to_string()
    };
    let usage = |msg: &str| Stop::bad(format!("Error: {msg}\nFor help, use {prog} -h"));
    let strs: Vec<String> = args[1..]
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let parsed = getopt::parse(&strs).map_err(|m| usage(&m))?;
    for (_, name, _) in &parsed.given {
        match *name {
            "help" => return Err(Stop::help(getopt::HELP.replace("%s", &prog))),
            "version" => return Err(Stop::help(format!("{}\n", env!("CARGO_PKG_VERSION")))),
            _ => {}
        }
    }
    let instance = match parsed.get("sv_instance") {
        Some(n) => paths::parse_instance(n),
        None => paths::default_instance(),
    }
    .map_err(|e| usage(&e))?;
    let path = match parsed.get("configfile") {
        Some(c) => PathBuf::from(c),
        None => {
            if crate::core::sys::getuid() == 0 && parsed.get("sv_detached").is_none() {
                eprintln!(
                    "UserWarning: Supervisord is running as root and it is searching for its \
                     configuration file in default locations (including its current working \
                     directory); you probably want to specify a \"-c\" argument specifying an \
                     absolute path to a configuration file for improved security."
                );
            }
            let search = search_paths(&as_run(&argv0));
            search.iter().find(|p| p.exists()).cloned().ok_or_else(|| {
                let shown: Vec<String> = search.iter().map(|p| p.display().to_string()).collect();
                usage(&format!(
                    "No config file found at default paths ({}); use the -c option to \
                     specify a config file at a different path",
                    shown.join(", ")
                ))
            })?
        }
    };
    if !path.exists() {
        return Err(usage(&format!(
            "could not find config file {}",
            path.display()
        )));
    }
    let path =
        std::path::absolute(&path).map_err(|e| usage(&format!("{}: {e}", path.display())))?;
    let cfg = config::load(&path).map_err(|e| usage(&e.to_string()))?;
    let file = cfg
        .supervisord
        .ok_or_else(|| usage(".ini file does not include supervisord section"))?;
    let s = resolve(&parsed, file).map_err(|m| usage(&m))?;
    let detached = parsed.get("sv_detached").is_some();
    // As PID 1 (a container's entrypoint) it stays in the foreground
    // (SPEC §15): detaching would end PID 1, and the container with it.
    let pid1 = std::process::id() == 1;
    if s.nodaemon != Some(true) && !detached && !pid1 {
        return process::daemonize(OsStr::new(&argv0), &args[1..]);
    }
    // In the detached daemon (see `process::daemonize`).
    let ready = detached.then(process::detached_start);
    start(instance, path, s, ready, &usage)
}

/// In the daemon's own process (detached already, or in the foreground):
/// privileges, limits, the directory and umask of a detached one, then the
/// daemon, with the pidfile kept while it runs.
fn start(
    instance: u8,
    config: PathBuf,
    mut s: Supervisord,
    ready: Option<std::os::fd::OwnedFd>,
    usage: &dyn Fn(&str) -> Stop,
) -> exit::Result {
    let mut notes: Vec<(Level, String)> = Vec::new();
    match &s.user {
        Some(user) => {
            process::drop_privileges(user).map_err(|m| usage(&m))?;
            notes.push((Level::Info, format!("Set uid to user {user} succeeded")));
        }
        None if crate::core::sys::getuid() == 0 => notes.push((
            Level::Warning,
            "Supervisor is running as root.  Privileges were not dropped because no user is \
             specified in the config file.  If you intend to run as root, you can set \
             user=root in the config file to avoid this message."
                .into(),
        )),
        None => {}
    }
    let raised = process::raise_limits(
        s.minfds.unwrap_or(DEFAULT_MINFDS),
        s.minprocs.unwrap_or(DEFAULT_MINPROCS),
    )
    .map_err(|m| usage(&m))?;
    notes.extend(raised.into_iter().map(|n| (Level::Info, n)));
    let detach = ready.is_some();
    if detach {
        // As supervisord: only a detached daemon sets its umask and moves
        // into `directory=` (`Daemon::open`, once the config is read: its
        // relative socket path is from where supervisord was started).
        // SAFETY: umask cannot fail; single-threaded.
        unsafe { libc::umask(s.umask.unwrap_or(DEFAULT_UMASK) as libc::mode_t) };
    }
    let log_file = s
        .logfile
        .as_deref()
        .filter(|l| !NO_FILE.contains(l))
        .map(PathBuf::from);
    if s.logfile.as_deref().is_some_and(own_stream) {
        // Asked for on the daemon's own output: there it goes.
        s.silent = Some(false);
    }
    let pidfile = s.pidfile.clone();
    let ident = s.identifier().to_string();
    let mut daemon = Daemon::open(Options {
        instance,
        config: Some(config),
        detach,
        log_file,
        verbose: false,
        supervisord: Some(s),
    })
    // The daemon's "error: " would follow supervisord's "Error: ".
    .map_err(|e| {
        let msg = e.message.strip_prefix("error: ").unwrap_or(&e.message);
        // supervisord tells its copies apart by their configs; sv by instance.
        if msg.contains("is already running") {
            usage(&format!(
                "{msg}; another supervisord beside it needs an instance of its own: \
                 SV_INSTANCE=N (1-99)"
            ))
        } else {
            usage(msg)
        }
    })?;
    for (level, note) in notes {
        daemon.logger().log(level, &note);
    }
    let kept = pidfile.and_then(|p| process::PidFile::write(p, daemon.logger()));
    daemon.logger().info(&format!(
        "supervisord started with pid {} (identifier {ident})",
        std::process::id()
    ));
    if let Some(ready) = ready {
        process::tell_ready(ready);
    }
    let ran = daemon.run();
    drop(kept);
    let status =
        ran.map_err(|e| Stop::failed(format!("supervisord: supervisor {instance}: {e}")))?;
    // A program's `shutdown_on` ended the daemon with its status (SPEC §15).
    match status {
        0 => Ok(()),
        n => Err(Stop::told(exit::Exit::Code(n))),
    }
}

/// `/dev/stdout` and the like: the daemon's own output.
fn own_stream(logfile: &str) -> bool {
    own_stream_fd(logfile).is_some()
}

/// supervisord's search order: `../etc/supervisord.conf` and
/// `../supervisord.conf` from the directory of argv[0] as typed (not
/// resolved, as Python's `os.path.dirname` does it), then the usual
/// places.
fn search_paths(argv0: &str) -> Vec<PathBuf> {
    let here = py_dirname(&py_dirname(argv0));
    let beside = |f: &str| {
        if here.is_empty() {
            PathBuf::from(f)
        } else {
            Path::new(&here).join(f)
        }
    };
    vec![
        beside("etc/supervisord.conf"),
        beside("supervisord.conf"),
        PathBuf::from("supervisord.conf"),
        PathBuf::from("etc/supervisord.conf"),
        PathBuf::from("/etc/supervisord.conf"),
        PathBuf::from("/etc/supervisor/supervisord.conf"),
    ]
}

/// argv[0] as Python's `sys.argv[0]` has it for supervisord, a script:
/// a bare name found in `PATH` is the path the kernel ran (so
/// `/usr/local/bin/supervisord` finds `/usr/local/etc/supervisord.conf`).
fn as_run(argv0: &str) -> String {
    let path = std::env::var("PATH").unwrap_or_default();
    match crate::core::spawn::resolve(argv0, &path, None) {
        Ok(p) => p.to_string_lossy().into_owned(),
        Err(_) => argv0.to_string(),
    }
}

/// Python's `os.path.dirname`: everything before the last `/`, trailing
/// slashes dropped unless that is all there is; "" for a bare name.
fn py_dirname(p: &str) -> String {
    match p.rfind('/') {
        None => String::new(),
        Some(i) => {
            let head = &p[..=i];
            let trimmed = head.trim_end_matches('/');
            if trimmed.is_empty() {
                head.to_string()
            } else {
                trimmed.to_string()
            }
        }
    }
}

/// The flags laid over the file's `[supervisord]`, supervisord's defaults
/// filled in, paths made absolute from the working directory (as
/// supervisord does) and checked.
fn resolve(parsed: &getopt::Parsed, mut s: Supervisord) -> Result<Supervisord, String> {
    let bad =
        |written: &str, v: &str, why: String| format!("invalid value for {written} '{v}': {why}");
    for (written, name, v) in &parsed.given {
        let (w, v) = (written.as_str(), v.as_str());
        match *name {
            "user" => s.user = Some(v.to_string()),
            "umask" => s.umask = Some(parse_umask(v).map_err(|e| bad(w, v, e))?),
            "directory" => s.directory = Some(PathBuf::from(v)),
            "logfile" => s.logfile = Some(v.to_string()),
            "logfile_maxbytes" => {
                s.logfile_maxbytes = Some(parse_size(v).map_err(|e| bad(w, v, e))?)
            }
            "logfile_backups" => {
                let n = parse_count(v).map_err(|e| bad(w, v, e))?;
                s.logfile_backups =
                    Some(u32::try_from(n).map_err(|_| bad(w, v, "too many".into()))?)
            }
            "loglevel" => s.loglevel = Some(parse_level(v).map_err(|e| bad(w, v, e))?),
            "pidfile" => s.pidfile = Some(PathBuf::from(v)),
            "identifier" => s.identifier = Some(v.to_string()),
            "childlogdir" => s.childlogdir = Some(PathBuf::from(v)),
            "minfds" => s.minfds = Some(parse_count(v).map_err(|e| bad(w, v, e))?),
            "minprocs" => s.minprocs = Some(parse_count(v).map_err(|e| bad(w, v, e))?),
            "nodaemon" => s.nodaemon = Some(true),
            "silent" => s.silent = Some(true),
            _ => {}
        }
    }
    let logfile = s.logfile.get_or_insert_with(|| DEFAULT_LOGFILE.into());
    if !NO_FILE.contains(&logfile.as_str()) {
        *logfile = absolute(Path::new(logfile))?.to_string_lossy().into_owned();
        existing_dirpath(Path::new(logfile))?;
    }
    s.logfile_maxbytes.get_or_insert(DEFAULT_MAXBYTES);
    s.logfile_backups.get_or_insert(DEFAULT_BACKUPS);
    s.loglevel.get_or_insert(Level::Info);
    let pidfile = absolute(s.pidfile.as_deref().unwrap_or(Path::new(DEFAULT_PIDFILE)))?;
    existing_dirpath(&pidfile)?;
    s.pidfile = Some(pidfile);
    for dir in [&mut s.directory, &mut s.childlogdir].into_iter().flatten() {
        if !dir.is_dir() {
            return Err(format!("{} is not an existing directory", dir.display()));
        }
        *dir = absolute(dir)?;
    }
    Ok(s)
}

fn absolute(p: &Path) -> Result<PathBuf, String> {
    std::path::absolute(p).map_err(|e| format!("{}: {e}", p.display()))
}

/// supervisord's `existing_dirpath`: the file's directory must exist.
fn existing_dirpath(p: &Path) -> Result<(), String> {
    match p.parent() {
        Some(dir) if !dir.is_dir() => Err(format!(
            "The directory named as part of the path {} does not exist",
            p.display()
        )),
        _ => Ok(()),
    }
}

/// What a failed start of a detached daemon exits with, by its status.
fn exit_of(code: Option<i32>) -> Exit {
    match code {
        Some(0) => Exit::Ok,
        Some(2) => Exit::Usage,
        Some(3) => Exit::Unreachable,
        _ => Exit::Failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dirname_is_pythons() {
        assert_eq!(py_dirname("/usr/local/bin/supervisord"), "/usr/local/bin");
        assert_eq!(py_dirname("supervisord"), "");
        assert_eq!(py_dirname("/supervisord"), "/");
        assert_eq!(py_dirname("bin/supervisord"), "bin");
        assert_eq!(py_dirname("a//b"), "a");
    }

    #[test]
    fn the_search_starts_beside_the_binary() {
        let p = search_paths("/opt/x/bin/supervisord");
        assert_eq!(p[0], Path::new("/opt/x/etc/supervisord.conf"));
        assert_eq!(p[1], Path::new("/opt/x/supervisord.conf"));
        assert_eq!(p[2], Path::new("supervisord.conf"));
        assert_eq!(p[5], Path::new("/etc/supervisor/supervisord.conf"));
        // A bare name (found in PATH): relative, as supervisord has it.
        let p = search_paths("supervisord");
        assert_eq!(p[0], Path::new("etc/supervisord.conf"));
        assert_eq!(p[1], Path::new("supervisord.conf"));
    }

    #[test]
    fn flags_lie_over_the_file() {
        let file = Supervisord {
            logfile: Some("/tmp/file.log".into()),
            loglevel: Some(Level::Warning),
            identifier: Some("fromfile".into()),
            nodaemon: Some(false),
            minfds: Some(10),
            ..Default::default()
        };
        let args: Vec<String> = ["-n", "-e", "debug", "-i", "flag", "-l", "/tmp/flag.log"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let s = resolve(&getopt::parse(&args).unwrap(), file).unwrap();
        assert_eq!(s.nodaemon, Some(true));
        assert_eq!(s.loglevel, Some(Level::Debug));
        assert_eq!(s.identifier(), "flag");
        assert_eq!(s.logfile.as_deref(), Some("/tmp/flag.log"));
        // Kept from the file, defaults filled in.
        assert_eq!(s.minfds, Some(10));
        assert_eq!(s.logfile_maxbytes, Some(DEFAULT_MAXBYTES));
        assert_eq!(s.logfile_backups, Some(DEFAULT_BACKUPS));
        assert!(s.pidfile.unwrap().is_absolute());
        let args = vec!["-m".to_string(), "9".to_string()];
        assert_eq!(
            resolve(&getopt::parse(&args).unwrap(), Supervisord::default()).unwrap_err(),
            "invalid value for -m '9': '9' is not an octal umask like 022"
        );
        let args = vec!["-q".to_string(), "/no/such/dir".to_string()];
        assert_eq!(
            resolve(&getopt::parse(&args).unwrap(), Supervisord::default()).unwrap_err(),
            "/no/such/dir is not an existing directory"
        );
    }
}
