//! `parrot_service`: a toy service for testing the supervisor (SPEC section 10).
//!
//! It appends a line `YYYY-MM-DDTHH:MM:SSZ MESSAGE` (UTC) to a file every
//! interval, writing the first line at once, and echoes each line to stdout
//! so that log capture can be seen working. It exits 0 on SIGTERM or SIGINT,
//! promptly: the wait between lines is a `poll` on a self-pipe that the signal
//! handler writes to, so there are no wake-ups between lines and no delay
//! after the signal.
//!
//! Exit codes: 0 on SIGTERM/SIGINT or `--help`, 1 on an I/O error (the file
//! cannot be written), 2 on a usage error.

use std::ffi::OsString;
use std::fs::OpenOptions;
use std::io::{ErrorKind, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::exit::{self, Stop};
use super::toy;
use argh::FromArgs;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, Signal};

const DEFAULT_NAME: &str = "parrot_service";
const DEFAULT_FILE: &str = "parrot.log";
const DEFAULT_INTERVAL: &str = "2";
const DEFAULT_MESSAGE: &str = "parrot says hello";

/// Toy service for testing sv: appends a timestamped line to a file every
/// interval and exits 0 on SIGTERM.
#[derive(FromArgs, Debug)]
struct Args {
    /// file to append to (default: parrot.log in the working directory)
    #[argh(option, default = "String::from(DEFAULT_FILE)")]
    file: String,

    /// seconds between lines, fractions allowed (default: 2)
    #[argh(option, default = "String::from(DEFAULT_INTERVAL)")]
    interval: String,

    /// text after the timestamp (default: "parrot says hello")
    #[argh(option, default = "String::from(DEFAULT_MESSAGE)")]
    message: String,
}

/// What to run, once the arguments have been checked.
#[derive(Debug, PartialEq)]
struct Config {
    file: PathBuf,
    interval: Duration,
    message: String,
}

/// Entry point: `args[0]` is the applet name, the rest are its arguments.
pub fn main(args: Vec<OsString>) -> exit::Result {
    run(&parse(&args)?)
}

fn parse(args: &[OsString]) -> Result<Config, Stop> {
    let name = toy::name(args, DEFAULT_NAME);
    let rest = toy::strs(&name, args)?;
    let parsed: Args = toy::parse(&name, &rest)?;
    let interval = parse_interval(&parsed.interval).ok_or_else(|| {
        toy::usage(&format!(
            "{name}: bad --interval {:?}: expected a positive number of seconds",
            parsed.interval
        ))
    })?;
    Ok(Config {
        file: PathBuf::from(parsed.file),
        interval,
        message: parsed.message,
    })
}

/// A positive, finite number of seconds (`2`, `0.2`, `1e-1`) that is at
/// least a nanosecond long; `None` for anything else.
fn parse_interval(text: &str) -> Option<Duration> {
    let secs: f64 = text.trim().parse().ok()?;
    if !secs.is_finite() || secs <= 0.0 {
        return None;
    }
    Duration::try_from_secs_f64(secs)
        .ok()
        .filter(|d| !d.is_zero())
}

/// `YYYY-MM-DDTHH:MM:SSZ` for a count of seconds since the Unix epoch.
fn format_utc(secs: u64) -> String {
    let (year, month, day) = crate::core::log::civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3_600,
        rem / 60 % 60,
        rem % 60
    )
}

fn now_line(message: &str) -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!("{} {message}\n", format_utc(secs))
}

/// Appends one line to `path`, opening it each time so that a rotated or
/// deleted log is recreated rather than written into the void.
fn append_line(path: &Path, line: &str) -> std::io::Result<()> {
    let mut file = OpenOptions::new().append(true).create(true).open(path)?;
    file.write_all(line.as_bytes())?;
    file.flush()
}

/// Echoes a line to stdout; a closed or broken stdout is not our problem.
fn echo_line(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(line.as_bytes());
    let _ = out.flush();
}

/// The flag set by SIGTERM/SIGINT and the read end of the self-pipe that the
/// same signals write to.
struct StopSignal {
    flag: Arc<AtomicBool>,
    wake: UnixStream,
}

impl StopSignal {
    fn install() -> std::io::Result<Self> {
        let flag = Arc::new(AtomicBool::new(false));
        let (wake, wake_tx) = UnixStream::pair()?;
        wake.set_nonblocking(true)?;
        for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
            // The flag first: actions run in registration order, so the flag
            // is set by the time the poll below sees the pipe readable.
            signal_hook::flag::register(sig, Arc::clone(&flag))?;
            signal_hook::low_level::pipe::register(sig, wake_tx.try_clone()?)?;
        }
        // Whoever started us may have left these blocked; then they would
        // never arrive.
        let mut set = SigSet::empty();
        set.add(Signal::SIGTERM);
        set.add(Signal::SIGINT);
        set.thread_unblock().map_err(std::io::Error::from)?;
        Ok(StopSignal { flag, wake })
    }

    fn raised(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// Waits until `deadline` or a stop signal, whichever comes first.
    /// Returns true if a stop signal has arrived.
    fn wait_until(&self, deadline: Instant) -> bool {
        loop {
            if self.raised() {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            // Round up so we never wake a hair early and spin.
            let ms = left.as_nanos().div_ceil(1_000_000);
            let timeout = PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX);
            let mut fds = [PollFd::new(self.wake.as_fd(), PollFlags::POLLIN)];
            // EINTR and timeouts alike: go round and look again.
            if let Ok(n) = poll(&mut fds, timeout) {
                if n > 0 {
                    self.drain();
                }
            }
        }
    }

    fn drain(&self) {
        let mut buf = [0u8; 64];
        loop {
            match (&self.wake).read(&mut buf) {
                Ok(0) => return,
                Ok(_) => continue,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => return,
            }
        }
    }
}

fn run(config: &Config) -> exit::Result {
    let stop = StopSignal::install().map_err(|e| {
        Stop::failed(format!(
            "{DEFAULT_NAME}: cannot set up signal handling: {e}"
        ))
    })?;
    let mut next = Instant::now();
    loop {
        if stop.raised() {
            return Ok(());
        }
        let line = now_line(&config.message);
        append_line(&config.file, &line).map_err(|e| {
            Stop::failed(format!(
                "{DEFAULT_NAME}: cannot write {}: {e}",
                config.file.display()
            ))
        })?;
        echo_line(&line);
        // Keep to a fixed schedule, but after falling behind (a stopped
        // process, a slow disk) start afresh instead of catching up in a burst.
        next += config.interval;
        let now = Instant::now();
        if next < now {
            next = now + config.interval;
        }
        if stop.wait_until(next) {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    #[test]
    fn defaults() {
        let config = parse(&args(&["parrot_service"])).unwrap();
        assert_eq!(
            config,
            Config {
                file: PathBuf::from("parrot.log"),
                interval: Duration::from_secs(2),
                message: "parrot says hello".to_string(),
            }
        );
    }

    #[test]
    fn good_args() {
        let config = parse(&args(&[
            "parrot_service",
            "--file",
            "/tmp/x.log",
            "--interval",
            "0.2",
            "--message",
            "hi there",
        ]))
        .unwrap();
        assert_eq!(config.file, PathBuf::from("/tmp/x.log"));
        assert_eq!(config.interval, Duration::from_millis(200));
        assert_eq!(config.message, "hi there");
    }

    #[test]
    fn bad_interval() {
        for bad in ["0", "-1", "abc", "", "nan", "inf", "1e-30"] {
            let err = parse(&args(&["parrot_service", "--interval", bad])).unwrap_err();
            assert_eq!(err.exit, exit::Exit::Usage, "{bad:?}");
            assert!(matches!(err.say, exit::Say::Line(_)));
            assert!(err.text().contains("--interval"), "{}", err.text());
            assert!(err.text().contains(&format!("{bad:?}")), "{}", err.text());
        }
    }

    #[test]
    fn unknown_option_and_stray_argument() {
        for list in [
            &["parrot_service", "--bogus"][..],
            &["parrot_service", "extra"][..],
            &["parrot_service", "--interval"][..],
        ] {
            let err = parse(&args(list)).unwrap_err();
            assert_eq!(err.exit, exit::Exit::Usage);
            assert!(matches!(err.say, exit::Say::Line(_)));
        }
    }

    #[test]
    fn help() {
        let help = parse(&args(&["parrot_service", "--help"])).unwrap_err();
        assert_eq!(help.exit, exit::Exit::Ok);
        assert!(matches!(help.say, exit::Say::Out(_)));
        assert!(
            help.text().contains("Usage: parrot_service"),
            "{}",
            help.text()
        );
        assert!(help.text().contains("--interval"));
    }

    #[test]
    fn non_utf8_argument() {
        use std::os::unix::ffi::OsStringExt;
        let list = vec![
            OsString::from("parrot_service"),
            OsString::from("--file"),
            OsString::from_vec(vec![b'a', 0xff]),
        ];
        let err = parse(&list).unwrap_err();
        assert_eq!(err.exit, exit::Exit::Usage);
        assert!(err.text().contains("UTF-8"), "{}", err.text());
    }

    #[test]
    fn timestamps() {
        assert_eq!(format_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(format_utc(951_868_799), "2000-02-29T23:59:59Z");
        assert_eq!(format_utc(951_868_800), "2000-03-01T00:00:00Z");
        assert_eq!(format_utc(1_234_567_890), "2009-02-13T23:31:30Z");
        assert_eq!(format_utc(4_107_542_399), "2100-02-28T23:59:59Z");
        assert_eq!(format_utc(4_107_542_400), "2100-03-01T00:00:00Z");
        assert_eq!(format_utc(253_402_300_799), "9999-12-31T23:59:59Z");
    }

    #[test]
    fn line_shape() {
        let line = now_line("hello");
        assert!(line.ends_with("Z hello\n"), "{line:?}");
        assert_eq!(line.len(), "YYYY-MM-DDTHH:MM:SSZ hello\n".len());
    }
}
