//! The daemon's own log: every command, answer and state change goes to
//! stderr and to syslog with the ident `supervisor` (SPEC §7), and to the
//! files of `--log FILE` or, when nothing else reaches anyone, the
//! instance's `daemon.log`.
//!
//! Levels are syslog priorities: err for failures, warning, notice for
//! state changes, info for commands that change something and their
//! answers, debug for `status` and other read-only requests (a monitor
//! polling `status` must not flood the journal). Syslog gets every level
//! (its configuration decides what to keep); stderr and files get debug
//! lines only with `SV_DEBUG=1` or `sv daemon --verbose`.
//!
//! Syslog is a non-blocking datagram socket written by hand (RFC 3164 lines)
//! rather than the `syslog` crate, whose blocking socket could stall the poll
//! loop when the log daemon falls behind. A dropped line is better than a
//! stuck supervisor. With no syslog on the machine it goes on without.
//!
//! Syslog and file lines are gathered during a pass of the poll loop and
//! written when the loop is about to sleep ([`Logger::flush`]): a restart
//! is not held up by the lines that describe it, and a burst of a thousand
//! spawns costs a few writes instead of thousands. Stderr lines are
//! gathered too, unless a child shares the daemon's stdout or stderr
//! (`stdout=/dev/stdout`): then each is written as it is logged, so that
//! the line saying what the daemon decided comes before what the children
//! print in answer to it. Stderr lines that cannot be written yet (a full
//! pipe) wait, in order, and the loop polls for room (see
//! [`Logger::stderr_waiting`]).

mod file;
mod stderr;
mod supervisord;
pub use stderr::stderr_heard;
pub(crate) use stderr::{own_fd, write_stderr as write_whole, Gone as WriteGone};
use stderr::{own_stderr, write_stderr, Gone};
use supervisord::supervisord_timestamp;

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};

const IDENT: &str = "supervisor";
/// LOG_DAEMON facility.
const FACILITY: u8 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Err = 3,
    Warning = 4,
    Notice = 5,
    Info = 6,
    Debug = 7,
}

impl Level {
    fn name(self) -> &'static str {
        match self {
            Level::Err => "ERROR",
            Level::Warning => "WARNING",
            Level::Notice => "NOTICE",
            Level::Info => "INFO",
            Level::Debug => "DEBUG",
        }
    }
}

/// The most bytes of stderr lines held for later; past it lines are
/// dropped, as they would be by a stderr that cannot take them.
const PENDING_MAX: usize = 1 << 20;
/// The most syslog lines held for the next flush.
const PENDING_LINES: usize = 4096;
/// Bytes of buffer kept from one flush to the next.
const KEEP: usize = 16 * 1024;
/// The longest line logged: one request cannot fill the log.
const LINE_MAX: usize = 16 * 1024;
/// Warnings of one kind past the first in this long are only counted.
const RATE_WINDOW: std::time::Duration = std::time::Duration::from_secs(1);

/// A kind of warning that a flood could repeat (a refused client).
struct Limited {
    key: &'static str,
    /// When its last line (the first, or a summary) was logged.
    since: std::time::Instant,
    /// Held back since then.
    dropped: u64,
}

pub struct Logger {
    /// stderr lines not yet written.
    pending: Vec<u8>,
    /// syslog datagrams not yet sent.
    pending_syslog: Vec<String>,
    /// File lines not yet written.
    pending_file: Vec<u8>,
    syslog: Option<UnixDatagram>,
    /// When connecting last failed: retried at most once a second, so a
    /// machine with no syslog costs one connect(2) per second of logging.
    failed_at: Option<std::time::Instant>,
    target: PathBuf,
    prefix: String,
    pid: u32,
    limited: Vec<Limited>,
    /// The least urgent level written to stderr; None: stderr is not
    /// written (detached to /dev/null, or its reader is gone).
    stderr_max: Option<Level>,
    /// The least urgent level written to files.
    file_max: Level,
    /// Write stderr lines as they are logged: a child shares the stream.
    immediate: bool,
    /// Where stderr lines go: a non-blocking descriptor of its own for a
    /// pipe or terminal (see [`own_stderr`]), else fd 2 itself.
    stderr: Option<std::os::fd::OwnedFd>,
    files: Vec<file::Sink>,
    /// Run as the `supervisord` applet: file lines in supervisord's format,
    /// and the supervisor speaks supervisord's words for state changes.
    supervisord: bool,
    /// `[supervisord] logfile=/dev/stdout` (or stderr): the daemon's fd
    /// that "stderr" lines go to, in supervisord's format, as its file's.
    own_stream: Option<std::os::fd::RawFd>,
}

impl Logger {
    /// Connects to `$SV_SYSLOG_SOCKET`, else `/dev/log`, if it is there.
    /// `SV_DEBUG=1` (or [`set_verbose`](Self::set_verbose)) adds debug
    /// lines to stderr and files.
    pub fn new(instance: u8) -> Logger {
        let target = std::env::var_os("SV_SYSLOG_SOCKET")
            .filter(|s| !s.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/dev/log"));
        let mut logger = Logger::quiet(target, format!("supervisor {instance}: "));
        logger.set_verbose(std::env::var_os("SV_DEBUG").is_some_and(|v| !v.is_empty() && v != "0"));
        logger.stderr = own_stderr();
        logger.connect();
        logger
    }

    /// A logger to `target` that has not tried to connect yet.
    fn quiet(target: PathBuf, prefix: String) -> Logger {
        Logger {
            pending: Vec::new(),
            pending_syslog: Vec::new(),
            pending_file: Vec::new(),
            syslog: None,
            failed_at: None,
            target,
            prefix,
            pid: std::process::id(),
            limited: Vec::new(),
            stderr_max: Some(Level::Info),
            file_max: Level::Info,
            immediate: false,
            stderr: None,
            files: Vec::new(),
            supervisord: false,
            own_stream: None,
        }
    }

    /// The daemon runs as the `supervisord` applet: its log files get
    /// supervisord's lines (`2026-12-06 21:00:00,123 INFO spawned: ...`),
    /// which supervisord's users grep for and alert on.
    pub fn speak_supervisord(&mut self) {
        self.supervisord = true;
    }

    /// Whether state changes are said in supervisord's words.
    pub fn supervisord(&self) -> bool {
        self.supervisord
    }

    /// Debug lines on stderr and in files too (`--verbose`, `SV_DEBUG=1`).
    pub fn set_verbose(&mut self, on: bool) {
        let max = if on { Level::Debug } else { Level::Info };
        if self.stderr_max.is_some() {
            self.stderr_max = Some(max);
        }
        self.file_max = max;
    }

    /// The least urgent level written to stderr and files
    /// (`[supervisord] loglevel`); syslog still gets every level.
    pub fn set_level(&mut self, max: Level) {
        if self.stderr_max.is_some() {
            self.stderr_max = Some(max);
        }
        self.file_max = max;
    }

    /// Until it detaches, `init` reads the daemon's stderr and shows it:
    /// only warnings and errors are for its caller's eyes.
    pub fn detaching(&mut self) {
        if self.stderr_max.is_some() {
            self.stderr_max = Some(Level::Warning);
        }
    }

    /// Stderr now goes nowhere (`init` pointed it at /dev/null).
    pub fn stderr_off(&mut self) {
        self.flush();
        self.stderr_max = None;
        self.pending.clear();
        // Holding the old stderr open would keep `init`'s pipe alive.
        self.stderr = None;
    }

    /// The descriptor stderr lines are written to (for the loop's poll).
    pub fn stderr_fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsRawFd;
        (self.stderr.as_ref()).map_or(self.own_stream.unwrap_or(2), |fd| fd.as_raw_fd())
    }

    /// `[supervisord] logfile=/dev/stdout` (fd 1) or `/dev/stderr` (2):
    /// the log goes there, in the lines of its file (SPEC §13).
    pub fn log_to_own_stream(&mut self, n: std::os::fd::RawFd) {
        self.stderr = own_fd(n);
        self.own_stream = Some(n);
    }

    /// A child writes to the daemon's own stdout or stderr: from now on
    /// each stderr line is written as it is logged, in order with the
    /// child's lines.
    pub fn share_stderr(&mut self) {
        if !self.immediate {
            self.immediate = true;
            self.write_pending();
        }
    }

    /// Also appends every line to `path` (`--log FILE`).
    pub fn add_file(&mut self, path: &Path) -> std::io::Result<()> {
        self.files.push(file::Sink::open(path, false)?);
        Ok(())
    }

    /// Also appends every line to `path`, rotated past `maxbytes` (0:
    /// never) with `backups` old files (`[supervisord] logfile`).
    pub fn add_rotated_file(
        &mut self,
        path: &Path,
        maxbytes: u64,
        backups: u32,
    ) -> std::io::Result<()> {
        self.files
            .push(file::Sink::shared(path, maxbytes, backups)?);
        Ok(())
    }

    /// Keeps the instance's own bounded `daemon.log` at `path` when no line
    /// would reach anyone otherwise: no `--log` file, no syslog, and a
    /// stderr that nobody hears (`heard` false). Says so as a warning,
    /// which `init` shows before it detaches.
    pub fn keep_own_file(&mut self, path: &Path, heard: bool) {
        if heard || self.syslog.is_some() || !self.files.is_empty() {
            return;
        }
        let why = format!("no syslog at {}", self.target.display());
        match file::Sink::open(path, true) {
            Ok(sink) => {
                self.files.push(sink);
                self.warn(&format!(
                    "{why} and stderr goes nowhere: logging to {}",
                    path.display()
                ));
            }
            Err(e) => self.error(&format!(
                "{why}, stderr goes nowhere, and {} cannot be opened: {e}",
                path.display()
            )),
        }
    }

    /// The first file the lines go to (`--log`, or the instance's own
    /// `daemon.log`), for `/mainlogtail`.
    pub fn file_path(&self) -> Option<&Path> {
        self.files.first().map(|f| f.path.as_path())
    }

    /// SIGUSR2: the log files again from their paths (logrotate).
    pub fn reopen(&mut self) {
        self.flush();
        let failed: Vec<String> = self
            .files
            .iter_mut()
            .filter_map(|f| f.reopen().err())
            .collect();
        for why in failed {
            self.error(&why);
        }
    }

    fn connect(&mut self) {
        self.syslog = UnixDatagram::unbound()
            .and_then(|s| {
                s.connect(&self.target)?;
                s.set_nonblocking(true)?;
                Ok(s)
            })
            .ok();
        self.failed_at = match self.syslog {
            Some(_) => None,
            None => Some(std::time::Instant::now()),
        };
    }

    /// A failure.
    pub fn error(&mut self, msg: &str) {
        self.log(Level::Err, msg)
    }

    pub fn warn(&mut self, msg: &str) {
        self.log(Level::Warning, msg)
    }

    /// A state change.
    pub fn notice(&mut self, msg: &str) {
        self.log(Level::Notice, msg)
    }

    /// A command that changes something, its answer, other facts.
    pub fn info(&mut self, msg: &str) {
        self.log(Level::Info, msg)
    }

    /// Read-only requests and their answers.
    pub fn debug(&mut self, msg: &str) {
        self.log(Level::Debug, msg)
    }

    /// A warning that may come in floods: the first of its `key` is
    /// logged, then at most one line a second saying how many more came.
    /// The count is logged by a later [`flush`](Self::flush), so an idle
    /// daemon is not woken for it.
    pub fn warn_limited(&mut self, key: &'static str, msg: &str) {
        let now = std::time::Instant::now();
        if let Some(l) = self.limited.iter_mut().find(|l| l.key == key) {
            if now.duration_since(l.since) < RATE_WINDOW {
                l.dropped += 1;
                return;
            }
        }
        self.summarize();
        self.limited.retain(|l| l.key != key);
        self.limited.push(Limited {
            key,
            since: now,
            dropped: 0,
        });
        self.warn(msg);
    }

    /// Logs the counts of the warnings held back in windows now over.
    fn summarize(&mut self) {
        let now = std::time::Instant::now();
        let mut lines = Vec::new();
        self.limited.retain_mut(|l| {
            let over = now.duration_since(l.since) >= RATE_WINDOW;
            if l.dropped > 0 && over {
                lines.push(format!(
                    "{}: {} more in the last {:.1} s",
                    l.key,
                    l.dropped,
                    now.duration_since(l.since).as_secs_f64()
                ));
                // A new window: what comes in it is counted, not logged.
                l.dropped = 0;
                l.since = now;
                return true;
            }
            // An old entry with nothing held back is forgotten.
            !over
        });
        for line in lines {
            self.warn(&line);
        }
    }

    /// Whether a connect may be tried: at most once a second after one failed.
    fn may_connect(&self) -> bool {
        self.failed_at
            .is_none_or(|t| t.elapsed() >= std::time::Duration::from_secs(1))
    }

    /// Queues a line for stderr, syslog and files; [`flush`](Self::flush)
    /// sends it (stderr at once when a child shares it).
    pub fn log(&mut self, level: Level, msg: &str) {
        let msg = &*super::control::clip(msg, LINE_MAX);
        // A newline in a client's argument must not forge a line.
        let escaped;
        let msg = if msg.chars().any(|c| c.is_control()) {
            escaped = msg
                .chars()
                .map(|c| match c {
                    '\n' => "\\n".to_string(),
                    '\r' => "\\r".to_string(),
                    '\t' => "\\t".to_string(),
                    c if c.is_control() => c.escape_unicode().to_string(),
                    c => c.to_string(),
                })
                .collect::<String>();
            &*escaped
        } else {
            msg
        };
        if self.stderr_max.is_some_and(|max| level <= max) && self.pending.len() < PENDING_MAX {
            let was_empty = self.pending.is_empty();
            if self.own_stream.is_some() {
                let head = format!("{} {} ", supervisord_timestamp(), level.supervisord_name());
                self.pending.extend_from_slice(head.as_bytes());
            } else {
                self.pending.extend_from_slice(self.prefix.as_bytes());
            }
            self.pending.extend_from_slice(msg.as_bytes());
            self.pending.push(b'\n');
            // Behind lines still waiting for room, it waits its turn.
            if self.immediate && was_empty {
                self.write_pending();
            }
        }
        if !self.files.is_empty() && level <= self.file_max && self.pending_file.len() < PENDING_MAX
        {
            let line = if self.supervisord {
                format!(
                    "{} {} {msg}\n",
                    supervisord_timestamp(),
                    level.supervisord_name()
                )
            } else {
                format!("{} {:<7} {msg}\n", iso_timestamp(), level.name())
            };
            self.pending_file.extend_from_slice(line.as_bytes());
        }
        // With no syslog to be had until the next retry, nothing to queue.
        let reachable = self.syslog.is_some() || self.may_connect();
        if reachable && self.pending_syslog.len() < PENDING_LINES {
            self.pending_syslog.push(format!(
                "<{}>{} {}[{}]: {}",
                FACILITY * 8 + level as u8,
                timestamp(),
                IDENT,
                self.pid,
                msg
            ));
        }
    }

    /// Stderr lines are waiting for room in a full pipe: the loop polls
    /// fd 2 for POLLOUT and calls [`write_pending`](Self::write_pending).
    pub fn stderr_waiting(&self) -> bool {
        self.stderr_max.is_some() && !self.pending.is_empty()
    }

    /// Writes as much of the waiting stderr lines as fits now.
    pub fn write_pending(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        match write_stderr(self.stderr_fd(), &self.pending) {
            Ok(n) => {
                self.pending.drain(..n);
            }
            Err(Gone::Full) => {
                // A full disk under a stderr file: these lines are lost,
                // later ones are tried again.
                self.pending.clear();
            }
            Err(Gone::ForGood) => {
                // Nobody reads it any more (closed, EPIPE, EBADF).
                self.pending.clear();
                self.stderr_max = None;
            }
        }
        if self.pending.is_empty() {
            // A burst (a thousand spawns) leaves no big buffer behind.
            self.pending.shrink_to(KEEP);
        }
    }

    /// Writes what was logged since the last flush, without ever waiting.
    pub fn flush(&mut self) {
        if !self.limited.is_empty() {
            self.summarize();
        }
        self.write_pending();
        if !self.pending_file.is_empty() {
            let mut failures = Vec::new();
            for f in &mut self.files {
                if let Err(Some(why)) = f.write(&self.pending_file) {
                    failures.push(why);
                }
            }
            self.pending_file.clear();
            self.pending_file.shrink_to(KEEP);
            // Said elsewhere now, and in the files at the next flush.
            for why in failures {
                self.error(&why);
            }
        }
        if self.pending_syslog.is_empty() {
            return;
        }
        let lines = std::mem::take(&mut self.pending_syslog);
        for line in &lines {
            self.send_syslog(line);
        }
        // Keep the allocation for the next pass, unless a burst made it big.
        self.pending_syslog = lines;
        self.pending_syslog.clear();
        self.pending_syslog.shrink_to(KEEP / 64);
    }

    fn send_syslog(&mut self, line: &str) {
        if self.syslog.is_none() && self.may_connect() {
            self.connect();
        }
        let sent = match &self.syslog {
            Some(s) => s.send(line.as_bytes()),
            None => return,
        };
        if let Err(e) = sent {
            // The log daemon may have restarted: reconnect once; drop the line
            // if it is merely busy (EAGAIN).
            if e.kind() != std::io::ErrorKind::WouldBlock {
                self.connect();
                if let Some(s) = &self.syslog {
                    let _ = s.send(line.as_bytes());
                }
            }
        }
    }
}

impl Drop for Logger {
    fn drop(&mut self) {
        self.flush();
        // The last lines (`stopped`) may still wait for room: a moment,
        // no more, for a reader that is slow.
        for _ in 0..20 {
            if !self.stderr_waiting() {
                break;
            }
            let mut pfd = libc::pollfd {
                fd: self.stderr_fd(),
                events: libc::POLLOUT,
                revents: 0,
            };
            // SAFETY: one valid pollfd; at most 10 ms.
            unsafe { libc::poll(&mut pfd, 1, 10) };
            self.write_pending();
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ`, for the log files.
fn iso_timestamp() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (year, month, day) = civil_from_days((secs / 86_400) as i64);
    let t = secs % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        t / 3600,
        t / 60 % 60,
        t % 60
    )
}

/// `Mmm dd hh:mm:ss` in UTC, as RFC 3164 wants.
fn timestamp() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (_, month, day) = civil_from_days((secs / 86_400) as i64);
    let t = secs % 86_400;
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{} {:>2} {:02}:{:02}:{:02}",
        MONTHS[(month - 1) as usize],
        day,
        t / 3600,
        t / 60 % 60,
        t % 60
    )
}

/// Days since 1970-01-01 to (year, month 1..=12, day 1..=31); Howard Hinnant's algorithm.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests;
