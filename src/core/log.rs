//! The daemon's own log: every command, answer and state change goes to
//! stderr and to syslog with the ident `supervisor` (SPEC §7).
//!
//! Syslog is a non-blocking datagram socket written by hand (RFC 3164 lines)
//! rather than the `syslog` crate, whose blocking socket could stall the poll
//! loop when the log daemon falls behind. A dropped line is better than a
//! stuck supervisor. With no syslog on the machine it goes on without.
//!
//! Lines are gathered during a pass of the poll loop and written when the
//! loop is about to sleep ([`Logger::flush`]): a restart is not held up by
//! the lines that describe it, and a burst of a thousand spawns costs a
//! few writes instead of thousands.

use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;

const IDENT: &str = "supervisor";
/// LOG_DAEMON facility.
const FACILITY: u8 = 3;

#[derive(Debug, Clone, Copy)]
pub enum Level {
    Err = 3,
    Warning = 4,
    Info = 6,
}

/// The most bytes of stderr lines held for the next flush; past it lines
/// are dropped, as they would be by a stderr that cannot take them.
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
    syslog: Option<UnixDatagram>,
    /// When connecting last failed: retried at most once a second, so a
    /// machine with no syslog costs one connect(2) per second of logging.
    failed_at: Option<std::time::Instant>,
    target: PathBuf,
    prefix: String,
    pid: u32,
    limited: Vec<Limited>,
}

impl Logger {
    /// Connects to `$SV_SYSLOG_SOCKET`, else `/dev/log`, if it is there.
    pub fn new(instance: u8) -> Logger {
        let target = std::env::var_os("SV_SYSLOG_SOCKET")
            .filter(|s| !s.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/dev/log"));
        let mut logger = Logger {
            pending: Vec::new(),
            pending_syslog: Vec::new(),
            syslog: None,
            failed_at: None,
            target,
            prefix: format!("supervisor {instance}: "),
            pid: std::process::id(),
            limited: Vec::new(),
        };
        logger.connect();
        logger
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

    pub fn info(&mut self, msg: &str) {
        self.log(Level::Info, msg)
    }

    pub fn warn(&mut self, msg: &str) {
        self.log(Level::Warning, msg)
    }

    pub fn error(&mut self, msg: &str) {
        self.log(Level::Err, msg)
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

    /// Queues a line for stderr and syslog; [`flush`](Self::flush) sends it.
    pub fn log(&mut self, level: Level, msg: &str) {
        let msg = &*super::control::clip(msg, LINE_MAX);
        if self.pending.len() < PENDING_MAX {
            self.pending.extend_from_slice(self.prefix.as_bytes());
            self.pending.extend_from_slice(msg.as_bytes());
            self.pending.push(b'\n');
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

    /// Writes what was logged since the last flush, without ever waiting.
    pub fn flush(&mut self) {
        if !self.limited.is_empty() {
            self.summarize();
        }
        if !self.pending.is_empty() {
            write_stderr(&self.pending);
            self.pending.clear();
            // A burst (a thousand spawns) leaves no big buffer behind.
            self.pending.shrink_to(KEEP);
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
    }
}

/// Writes lines to stderr only as far as that cannot block: a full pipe
/// (a reader that stopped reading) loses lines, never stalls the daemon.
/// poll(2) reports a pipe writable when PIPE_BUF bytes fit, and a write of
/// at most PIPE_BUF is taken whole, so each write below is sent in pieces
/// of at most PIPE_BUF that end at a line end, each after its own poll.
fn write_stderr(mut bytes: &[u8]) {
    while !bytes.is_empty() {
        let mut pfd = libc::pollfd {
            fd: 2,
            events: libc::POLLOUT,
            revents: 0,
        };
        // SAFETY: one valid pollfd, zero timeout.
        if unsafe { libc::poll(&mut pfd, 1, 0) } != 1 || pfd.revents & libc::POLLOUT == 0 {
            return;
        }
        let mut n = bytes.len().min(libc::PIPE_BUF);
        if n < bytes.len() {
            // End the piece at a line end, unless one line is longer.
            if let Some(end) = bytes[..n].iter().rposition(|&b| b == b'\n') {
                n = end + 1;
            }
        }
        // SAFETY: writing a valid buffer to fd 2; errors (closed, EPIPE) ignored.
        let wrote = unsafe { libc::write(2, bytes.as_ptr().cast(), n) };
        if wrote <= 0 {
            return;
        }
        bytes = &bytes[wrote as usize..];
    }
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
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_781), (2026, 11, 24));
    }

    #[test]
    fn lines_reach_the_syslog_socket() {
        let dir = std::env::temp_dir().join(format!("sv-log-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("log.sock");
        let _ = std::fs::remove_file(&path);
        let server = UnixDatagram::bind(&path).unwrap();
        let mut logger = Logger {
            pending: Vec::new(),
            pending_syslog: Vec::new(),
            syslog: None,
            failed_at: None,
            target: path.clone(),
            prefix: String::new(),
            pid: 7,
            limited: Vec::new(),
        };
        logger.connect();
        logger.info("hello there");
        logger.flush();
        let mut buf = [0u8; 512];
        let n = server.recv(&mut buf).unwrap();
        let line = std::str::from_utf8(&buf[..n]).unwrap();
        assert!(line.starts_with("<30>"), "{line}");
        assert!(line.ends_with("supervisor[7]: hello there"), "{line}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_flood_of_one_warning_makes_one_line_then_a_count() {
        let mut logger = Logger {
            pending: Vec::new(),
            pending_syslog: Vec::new(),
            syslog: None,
            failed_at: Some(std::time::Instant::now()),
            target: PathBuf::from("/nonexistent"),
            prefix: String::new(),
            pid: 7,
            limited: Vec::new(),
        };
        for i in 0..100 {
            logger.warn_limited("refused", &format!("refused client {i}"));
        }
        logger.warn_limited("other", "another kind");
        let text = String::from_utf8_lossy(&logger.pending).into_owned();
        assert_eq!(text, "refused client 0\nanother kind\n");
        // Once its window is over, the next flush says how many were held.
        logger.limited[0].since -= RATE_WINDOW;
        logger.summarize();
        let text = String::from_utf8_lossy(&logger.pending).into_owned();
        assert!(
            text.ends_with("refused: 99 more in the last 1.0 s\n"),
            "{text}"
        );
        logger.pending.clear();
    }

    #[test]
    fn a_huge_line_is_cut() {
        let mut logger = Logger {
            pending: Vec::new(),
            pending_syslog: Vec::new(),
            syslog: None,
            failed_at: Some(std::time::Instant::now()),
            target: PathBuf::from("/nonexistent"),
            prefix: String::new(),
            pid: 7,
            limited: Vec::new(),
        };
        logger.info(&"x".repeat(1 << 20));
        assert!(logger.pending.len() < LINE_MAX + 64);
        logger.pending.clear();
    }
}
