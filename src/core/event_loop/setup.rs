//! Daemon setup: everything before the loop runs, and the only part of
//! the daemon that may end the process (STYLE 9).
//!
//! [`Daemon::open`] takes the instance lock, blocks the handled signals
//! into a signalfd, reads the config, binds the control socket and takes
//! back whatever a previous daemon of the instance left running. Any
//! failure is a [`SetupError`], which the applet maps to an exit code.
//! Apart from the loop, so that the loop's file holds only the loop.

use super::Daemon;
use crate::core::config::{self, Config};
use crate::core::http::Http;
use crate::core::log::Logger;
use crate::core::paths::InstancePaths;
use crate::core::state_file;
use crate::core::supervisor::Supervisor;
use crate::core::sys;
use crate::core::{census, spawn};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// How the daemon was asked to run.
pub struct Options {
    pub instance: u8,
    pub config: Option<PathBuf>,
    /// After setup, point stdio at /dev/null (`sv init`: the parent reads
    /// stderr until then to learn whether startup worked).
    pub detach: bool,
    /// `--log FILE`: the daemon's own lines also go there.
    pub log_file: Option<PathBuf>,
    /// `--verbose`: debug lines on stderr and in log files too.
    pub verbose: bool,
    /// Started as `supervisord` (SPEC §13): `[supervisord]` with its flags
    /// laid over it, paths absolute. None for `sv daemon`, which takes
    /// only `childlogdir` and `identifier` from the config.
    pub supervisord: Option<crate::core::config::Supervisord>,
}

/// A failure before the loop runs; the daemon exits with it.
#[derive(Debug)]
pub struct SetupError {
    pub message: String,
}

impl SetupError {
    fn new(message: String) -> SetupError {
        SetupError { message }
    }
}

impl Daemon {
    // =============================================================== setup

    /// Takes the instance lock, blocks the handled signals into a signalfd,
    /// and binds the control socket.
    pub fn open(opts: Options) -> Result<Daemon, SetupError> {
        let paths = InstancePaths::new(opts.instance);
        paths.create().map_err(|e| SetupError::new(e.to_string()))?;
        let lock = open_lock(&paths)?;
        let signals = block_signals()?;
        prepare_process(opts.instance)?;
        // Read the config before anything is bound: a broken one is refused
        // with its file and line, and nothing starts.
        let cfg = match &opts.config {
            Some(path) => {
                Some(config::load(path).map_err(|e| SetupError::new(format!("error: {e}")))?)
            }
            None => None,
        };
        let moved = move_to_directory(&opts);
        // The log first: a `--log` that cannot be opened leaves no socket.
        let mut log = open_log(&opts)?;
        let (listener, sock_path) = bind_socket(&paths)?;
        let servers = cfg.as_ref().map(|c| c.http.clone()).unwrap_or_default();
        let mut warnings = Vec::new();
        let http = Http::open(&servers, &mut warnings).map_err(|e| {
            let _ = std::fs::remove_file(&sock_path);
            SetupError::new(format!("error: {e}"))
        })?;
        announce(&mut log, &opts, &paths, &sock_path);
        if let Some((level, note)) = moved {
            log.log(level, &note);
        }
        for at in http.describe() {
            log.notice(&format!("serving HTTP (XML-RPC at /RPC2) on {at}"));
        }
        for w in warnings {
            log.warn(&w);
        }
        let state_path = paths.state();
        let saved = read_saved(&state_path, &mut log);
        let mut sup = Supervisor::new(paths, log, opts.config.clone());
        sup.supervisord = supervisord_settings(&opts, cfg.as_ref());
        sup.server_url = servers.server_url();
        // Detach before the first spawn, so no child holds `init`'s pipe.
        if opts.detach {
            sup.log.flush();
            detach_stdio();
            sup.log.stderr_off();
        }
        take_back(&mut sup, saved, cfg, &state_path);
        let _ = sup.persist(Instant::now());
        Ok(Daemon {
            sup,
            signals,
            listener,
            conns: BTreeMap::new(),
            next_conn: 1,
            followers: Vec::new(),
            uid: sys::getuid(),
            _lock: lock,
            spare: File::open("/dev/null").ok(),
            sock_path,
            paused: Default::default(),
            changing: Default::default(),
            rpc_calls: Default::default(),
            scrapes: Default::default(),
            http,
        })
    }
}

impl Daemon {
    /// The daemon's own log, for what its applet has to say before the
    /// loop runs (the `supervisord` applet's pidfile, say).
    pub fn logger(&mut self) -> &mut Logger {
        &mut self.sup.log
    }
}

/// Blocks the signals the daemon handles and opens the signalfd that
/// delivers them instead (STYLE 7): the loop reads them as data, with no
/// handler.
fn block_signals() -> Result<SignalFd, SetupError> {
    super::signals::default_sigchld();
    let mut mask = SigSet::empty();
    for s in [
        Signal::SIGCHLD,
        Signal::SIGTERM,
        Signal::SIGINT,
        Signal::SIGQUIT,
        Signal::SIGHUP,
        Signal::SIGUSR2,
    ] {
        mask.add(s);
    }
    mask.thread_block()
        .map_err(|e| SetupError::new(format!("cannot block signals: {e}")))?;
    SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
        .map_err(|e| SetupError::new(format!("cannot create signalfd: {e}")))
}

/// Readies the process to supervise: room for descriptors, the spawn's
/// /dev/null, and orphans of its services reparented to it.
fn prepare_process(instance: u8) -> Result<(), SetupError> {
    if let Err(e) = spawn::raise_nofile() {
        eprintln!("supervisor {instance}: cannot raise the descriptor limit: {e}");
    }
    spawn::prepare().map_err(|e| SetupError::new(format!("cannot open /dev/null: {e}")))?;
    if let Err(e) = sys::set_child_subreaper() {
        eprintln!("supervisor {instance}: cannot become child subreaper: {e}");
    }
    Ok(())
}

/// A detached `supervisord` moves into its `directory=` as supervisord
/// does, but only once its config is read (a relative socket path is from
/// where it was started, supervisord's normalize_path) and before anything
/// is spawned; the line to log about it.
fn move_to_directory(opts: &Options) -> Option<(crate::core::log::Level, String)> {
    use crate::core::log::Level;
    let dir = opts.supervisord.as_ref()?.directory.as_ref()?;
    if !opts.detach {
        return None;
    }
    Some(match std::env::set_current_dir(dir) {
        Ok(()) => (Level::Info, format!("set current directory: {dir:?}")),
        Err(e) => (Level::Err, format!("can't chdir into {dir:?}: {e}")),
    })
}

/// The daemon's own log, as `--verbose` and `--log` ask.
fn open_log(opts: &Options) -> Result<Logger, SetupError> {
    let mut log = Logger::new(opts.instance);
    if opts.verbose {
        log.set_verbose(true);
    }
    let sd = opts.supervisord.as_ref();
    if sd.is_some() {
        log.speak_supervisord();
    }
    if let Some(level) = sd.and_then(|s| s.loglevel) {
        log.set_level(level);
    }
    if sd.and_then(|s| s.silent) == Some(true) {
        log.stderr_off();
    }
    if let Some(n) = sd.and_then(|s| crate::core::config::own_stream_fd(s.logfile.as_deref()?)) {
        log.log_to_own_stream(n);
    }
    if let Some(path) = &opts.log_file {
        let added = match sd {
            Some(s) => log.add_rotated_file(
                path,
                s.logfile_maxbytes.unwrap_or(0),
                s.logfile_backups.unwrap_or(0),
            ),
            None => log.add_file(path),
        };
        added.map_err(|e| {
            SetupError::new(format!("cannot open log file {}: {e}", path.display()))
        })?;
    }
    Ok(log)
}

/// What the daemon keeps of `[supervisord]`: all of it as the applet
/// resolved it, else (`sv daemon -c`) the config's childlogdir, made
/// absolute, and identifier.
fn supervisord_settings(opts: &Options, cfg: Option<&Config>) -> crate::core::config::Supervisord {
    if let Some(s) = &opts.supervisord {
        return s.clone();
    }
    let Some(s) = cfg.and_then(|c| c.supervisord.as_ref()) else {
        return Default::default();
    };
    crate::core::config::Supervisord {
        childlogdir: s
            .childlogdir
            .as_ref()
            .map(|d| std::path::absolute(d).unwrap_or_else(|_| d.clone())),
        identifier: s.identifier.clone(),
        ..Default::default()
    }
}

/// Binds the control socket, open to its owner only, and makes it
/// non-blocking for the loop.
fn bind_socket(paths: &InstancePaths) -> Result<(UnixListener, PathBuf), SetupError> {
    let sock_path = paths.sock();
    // We hold the lock, so any socket file left here is stale.
    let _ = std::fs::remove_file(&sock_path);
    // Bind under umask 0177 so the socket is never, even briefly, open
    // wider than 0600.
    // SAFETY: umask cannot fail; the daemon is single-threaded.
    let old_mask = unsafe { libc::umask(0o177) };
    let bound = UnixListener::bind(&sock_path);
    // SAFETY: as above, restoring the previous mask.
    unsafe { libc::umask(old_mask) };
    let listener = bound
        .map_err(|e| SetupError::new(format!("cannot listen on {}: {e}", sock_path.display())))?;
    std::fs::set_permissions(&sock_path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| SetupError::new(format!("cannot chmod {}: {e}", sock_path.display())))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| SetupError::new(format!("cannot set the socket non-blocking: {e}")))?;
    Ok((listener, sock_path))
}

/// Says where the log goes and that the daemon started.
fn announce(log: &mut Logger, opts: &Options, paths: &InstancePaths, sock_path: &Path) {
    if opts.detach {
        log.detaching();
    }
    // Said before detaching, so that `init` shows where the log went.
    let heard = !opts.detach && crate::core::log::stderr_heard();
    log.keep_own_file(&paths.dir.join("daemon.log"), heard);
    log.notice(&format!(
        "started, pid {}, socket {}",
        std::process::id(),
        sock_path.display()
    ));
}

/// Reads what the last daemon saved; a state file that cannot be read is
/// set aside, and the daemon starts from the config alone.
fn read_saved(state_path: &Path, log: &mut Logger) -> Option<state_file::Saved> {
    // A state file means the last daemon died without `close`.
    match state_file::read(state_path) {
        Ok(saved) => saved,
        Err(why) => {
            let kept = match state_file::set_aside(state_path) {
                Ok(p) => format!("kept as {}", p.display()),
                Err(e) => format!("and it cannot be moved aside: {e}"),
            };
            log.error(&format!(
                "state file {} refused: {why}; {kept}; starting from the config alone",
                state_path.display()
            ));
            None
        }
    }
}

/// Takes back what a previous daemon left running, or else starts the
/// config's programs.
fn take_back(
    sup: &mut Supervisor,
    saved: Option<state_file::Saved>,
    cfg: Option<Config>,
    state_path: &Path,
) {
    // Whatever the state file says, the instance's own processes are
    // found in /proc: those it does not record are taken back too.
    let found = census::scan(&sup.marker, &sup.paths.fifos());
    if !found.is_empty() {
        sup.log.info(&format!(
            "found {} processes of this instance still running",
            found.len()
        ));
    }
    // Taken back: kept once the services are there, to share their specs
    // (`load_programs` keeps its own).
    let kept = (saved.is_some() || !found.is_empty())
        .then(|| cfg.clone())
        .flatten();
    match (saved, cfg) {
        (Some(saved), cfg) => {
            sup.log.info(&format!(
                "taking back {} services from {}",
                saved.services.len(),
                state_path.display()
            ));
            sup.recover(saved, cfg, found, Instant::now());
        }
        (None, cfg) if !found.is_empty() => {
            sup.recover(state_file::Saved::default(), cfg, found, Instant::now())
        }
        (None, Some(cfg)) => sup.load_programs(cfg, Instant::now()),
        (None, None) => {}
    }
    if let Some(cfg) = kept {
        sup.keep_read(cfg);
    }
}

fn open_lock(paths: &InstancePaths) -> Result<File, SetupError> {
    use std::os::unix::fs::OpenOptionsExt;
    let path = paths.lock();
    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)
        .map_err(|e| SetupError::new(format!("cannot open {}: {e}", path.display())))?;
    match sys::try_lock(&f) {
        Ok(true) => {}
        Ok(false) => {
            let holder = std::fs::read_to_string(&path).unwrap_or_default();
            let holder = holder.trim();
            return Err(SetupError {
                message: format!(
                    "supervisor {} is already running{}",
                    paths.instance,
                    if holder.is_empty() {
                        String::new()
                    } else {
                        format!(" (pid {holder})")
                    }
                ),
            });
        }
        Err(e) => {
            return Err(SetupError::new(format!(
                "cannot lock {}: {e}",
                path.display()
            )))
        }
    }
    let _ = f.set_len(0);
    let _ = writeln!(f, "{}", std::process::id());
    Ok(f)
}

/// Points stdin, stdout and stderr at /dev/null.
fn detach_stdio() {
    if let Ok(null) = OpenOptions::new().read(true).write(true).open("/dev/null") {
        for fd in 0..3 {
            // SAFETY: dup2 onto our own standard descriptors.
            unsafe { libc::dup2(null.as_raw_fd(), fd) };
        }
    }
}
