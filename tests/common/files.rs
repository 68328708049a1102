//! Small readings of files and of the system the tests share.

use super::Sv;
use std::path::{Path, PathBuf};

/// The non-empty lines of a file, or none if it is not there yet.
pub fn lines_of(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// The daemon's stderr under [`Sv::config_daemon`]: `work/daemon.err`.
pub fn daemon_err(sv: &Sv) -> PathBuf {
    sv.work.path().join("daemon.err")
}

/// How many bytes the daemon has written to `work/daemon.err` so far.
pub fn log_len(sv: &Sv) -> usize {
    super::file_len(&daemon_err(sv)) as usize
}

/// The kernel's pid_max: pids wrap around to low numbers past it.
pub fn pid_max() -> i64 {
    std::fs::read_to_string("/proc/sys/kernel/pid_max")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(32768)
}

/// The first column of each row of `sv status ARGS...`.
pub fn names(sv: &Sv, args: &[&str]) -> Vec<String> {
    let mut all = vec!["status"];
    all.extend_from_slice(args);
    sv.sv(&all)
        .ok()
        .lines()
        .map(|l| l.split_whitespace().next().unwrap_or("").to_string())
        .collect()
}
