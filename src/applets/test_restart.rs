//! `test_restart SECS`: a toy service for testing the supervisor's restarts
//! (SPEC section 10).
//!
//! It prints `test_restart: pid P, crashing in SECS s`, sleeps SECS seconds
//! (fractions allowed, 0 crashes at once) and then dies by SIGSEGV, so that
//! the supervisor sees a process killed by a signal, not a plain exit. Core
//! dumps are switched off first (soft RLIMIT_CORE = 0): the crash is on
//! purpose and should not litter the working directory.
//!
//! Exit codes: 0 for `--help`, 2 on a usage error; otherwise it does not exit,
//! it is killed.

use std::ffi::OsString;
use std::io::Write;
use std::time::Duration;

use super::exit::{self, Stop};
use super::toy;
use argh::FromArgs;
use nix::sys::resource::{getrlimit, setrlimit, Resource};
use nix::sys::signal::{SigSet, Signal};

const DEFAULT_NAME: &str = "test_restart";

/// Toy service for testing sv: runs for SECS seconds, then dies by SIGSEGV.
#[derive(FromArgs, Debug)]
struct Args {
    /// seconds to run before crashing, fractions allowed
    #[argh(positional)]
    secs: String,
}

/// Entry point: `args[0]` is the applet name, the rest are its arguments.
pub fn main(args: Vec<OsString>) -> exit::Result {
    run(parse(&args)?)
}

/// The number of seconds to live.
fn parse(args: &[OsString]) -> Result<f64, Stop> {
    let name = toy::name(args, DEFAULT_NAME);
    let mut rest = toy::strs(&name, args)?;
    // argh takes `-1` for an unknown option; pass a negative number on as
    // SECS (after a `--`) so it gets a clear "bad SECS" message instead.
    if !rest.contains(&"--") {
        if let Some(i) = rest
            .iter()
            .position(|a| a.starts_with('-') && a.parse::<f64>().is_ok())
        {
            rest.insert(i, "--");
        }
    }
    let parsed: Args = toy::parse(&name, &rest)?;
    parse_secs(&parsed.secs).ok_or_else(|| {
        toy::usage(&format!(
            "{name}: bad SECS {:?}: expected a number of seconds, 0 or more",
            parsed.secs
        ))
    })
}

/// A finite, non-negative number of seconds that fits in a `Duration`.
fn parse_secs(text: &str) -> Option<f64> {
    let secs: f64 = text.trim().parse().ok()?;
    if !secs.is_finite() || secs < 0.0 || Duration::try_from_secs_f64(secs).is_err() {
        return None;
    }
    // "-0" parses as negative zero; print it as plain 0.
    Some(secs + 0.0)
}

fn run(secs: f64) -> ! {
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "{DEFAULT_NAME}: pid {}, crashing in {secs} s",
            std::process::id()
        );
        let _ = out.flush();
    }
    // parse_secs has checked that this converts.
    std::thread::sleep(Duration::from_secs_f64(secs));
    crash()
}

/// Dies by SIGSEGV, whatever handler or mask we inherited or the Rust
/// runtime installed (it catches SIGSEGV to report stack overflows).
fn crash() -> ! {
    if let Ok((_, hard)) = getrlimit(Resource::RLIMIT_CORE) {
        let _ = setrlimit(Resource::RLIMIT_CORE, 0, hard);
    }
    let mut set = SigSet::empty();
    set.add(Signal::SIGSEGV);
    // SAFETY: restoring the default disposition of SIGSEGV and raising it
    // touch no memory of ours; abort() is the fallback should we survive.
    unsafe {
        libc::signal(libc::SIGSEGV, libc::SIG_DFL);
        let _ = set.thread_unblock();
        libc::raise(libc::SIGSEGV);
        libc::abort()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    #[test]
    fn good_args() {
        assert_eq!(parse(&args(&["test_restart", "5"])), Ok(5.0));
        assert_eq!(parse(&args(&["test_restart", "0.3"])), Ok(0.3));
        assert_eq!(parse(&args(&["test_restart", "0"])), Ok(0.0));
        assert_eq!(parse(&args(&["test_restart", "--", "2"])), Ok(2.0));
        assert!(parse(&args(&["test_restart", "-0"]))
            .unwrap()
            .is_sign_positive());
    }

    #[test]
    fn bad_secs() {
        for bad in ["-1", "-0.5", "-inf", "abc", "", "nan", "inf", "1e300"] {
            let err = parse(&args(&["test_restart", bad])).unwrap_err();
            assert_eq!(err.exit, exit::Exit::Usage, "{bad:?}");
            assert!(matches!(err.say, exit::Say::Line(_)));
            assert!(err.text().contains(&format!("{bad:?}")), "{}", err.text());
        }
    }

    #[test]
    fn missing_or_extra_argument() {
        for list in [
            &["test_restart"][..],
            &["test_restart", "1", "2"][..],
            &["test_restart", "--bogus", "1"][..],
        ] {
            let err = parse(&args(list)).unwrap_err();
            assert_eq!(err.exit, exit::Exit::Usage, "{list:?}");
            assert!(matches!(err.say, exit::Say::Line(_)));
        }
    }

    #[test]
    fn help() {
        let help = parse(&args(&["test_restart", "--help"])).unwrap_err();
        assert_eq!(help.exit, exit::Exit::Ok);
        assert!(matches!(help.say, exit::Say::Out(_)));
        assert!(
            help.text().contains("Usage: test_restart"),
            "{}",
            help.text()
        );
    }

    #[test]
    fn non_utf8_argument() {
        use std::os::unix::ffi::OsStringExt;
        let list = vec![
            OsString::from("test_restart"),
            OsString::from_vec(vec![b'1', 0xff]),
        ];
        let err = parse(&list).unwrap_err();
        assert_eq!(err.exit, exit::Exit::Usage);
        assert!(err.text().contains("UTF-8"), "{}", err.text());
    }
}
