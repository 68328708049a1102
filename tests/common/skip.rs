//! A test that cannot run here says so instead of passing in silence:
//! `SKIPPED: <test>: <reason>` on stderr, and a line in the file named by
//! `$SV_SKIP_LOG` (scripts/ci.sh counts and lists them; a skip is never
//! a pass).

use std::io::Write;
use std::path::Path;

/// The running test as `FILE::NAME` (libtest names each test's thread).
pub fn test_name() -> String {
    let exe = std::env::current_exe().ok();
    let file = exe
        .as_deref()
        .and_then(Path::file_stem)
        .and_then(|s| s.to_str())
        .map(|s| s.rsplit_once('-').map_or(s, |(f, _)| f).to_string())
        .unwrap_or_default();
    let thread = std::thread::current();
    let name = thread.name().unwrap_or("?");
    format!("{file}::{name}")
}

/// Reports the running test as skipped for `reason`; the caller returns.
pub fn skip(reason: &str) {
    skip_to(
        std::env::var_os("SV_SKIP_LOG").as_deref().map(Path::new),
        reason,
    );
}

/// [`skip`], with the log file given.
pub fn skip_to(log: Option<&Path>, reason: &str) {
    let line = format!("SKIPPED: {}: {reason}", test_name());
    eprintln!("{line}");
    if let Some(path) = log {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path);
        // One write of a whole line: parallel tests do not interleave.
        match file.and_then(|mut f| f.write_all(format!("{line}\n").as_bytes())) {
            Ok(()) => {}
            Err(e) => panic!("cannot record the skip in {}: {e}", path.display()),
        }
    }
}

/// True when running as root; otherwise reports the test as skipped
/// because it needs root `to` do something, and the caller returns.
pub fn require_root(to: &str) -> bool {
    if super::is_root() {
        return true;
    }
    skip(&format!("needs root to {to}"));
    false
}
