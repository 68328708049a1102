//! Real outside programs from PyPI (supervisor's `supervisorctl` and
//! `supervisord`, superlance, prometheus-client), in one virtual
//! environment shared by every test: `$SV_PYTHON_VENV`, else
//! `target/pyenv`. scripts/ci.sh makes it before the tests; a test run
//! without it makes it here, once, under a lock. Where it cannot be made
//! (no python3, no package index), the test is reported as skipped with
//! the reason, never passed.

use std::fs::OpenOptions;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::process::Command;

/// The virtual environment's directory.
pub fn venv_dir() -> PathBuf {
    match std::env::var_os("SV_PYTHON_VENV") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/pyenv"),
    }
}

/// The path of the venv's program `name` (`supervisorctl`, `python`, ...),
/// making the venv first if need be; None after reporting the running test
/// as skipped with the reason.
pub fn venv_program(name: &str) -> Option<PathBuf> {
    match ensure_venv() {
        Ok(dir) => {
            let p = dir.join("bin").join(name);
            if p.exists() {
                Some(p)
            } else {
                super::skip(&format!("{} is not in the venv {}", name, dir.display()));
                None
            }
        }
        Err(why) => {
            super::skip(&why);
            None
        }
    }
}

/// Makes the venv (scripts/pyenv.sh) unless a complete one is there.
/// The lock keeps parallel tests from building it twice.
fn ensure_venv() -> Result<PathBuf, String> {
    let dir = venv_dir();
    let done = dir.join(".sv-complete");
    if done.exists() {
        return Ok(dir);
    }
    if let Some(parent) = dir.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    let lock_path = dir.with_extension("lock");
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| format!("cannot open {}: {e}", lock_path.display()))?;
    // SAFETY: a valid descriptor of the open file; released at close.
    if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(format!(
            "cannot lock {}: {}",
            lock_path.display(),
            std::io::Error::last_os_error()
        ));
    }
    if done.exists() {
        return Ok(dir);
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/pyenv.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg(&dir)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} {} failed (no python3 or no package index?): {}",
            script.display(),
            dir.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    if done.exists() {
        Ok(dir)
    } else {
        Err(format!(
            "{} did not complete {}",
            script.display(),
            dir.display()
        ))
    }
}
