//! What the tests read about a process from /proc, and the daemon's pid.

use super::Sv;
use std::path::Path;

/// The pid of the foreground daemon this test spawned ([`Sv::daemon`],
/// [`Sv::launch`]).
pub fn daemon_pid(sv: &Sv) -> i32 {
    sv.child.as_ref().expect("foreground daemon").id() as i32
}

/// Whether the tests run as root (some need another uid, a mount, ...).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Field `idx` (1-based, as in proc(5)) of /proc/PID/stat.
pub fn stat_field(pid: i32, idx: usize) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    // Fields after the comm start at 3 (state).
    after.split_whitespace().nth(idx - 3).map(str::to_string)
}

/// CPU time (user + system, fields 14 and 15 of stat) of a process, in
/// clock ticks.
#[track_caller]
pub fn cpu_ticks(pid: i32) -> u64 {
    let field = |i| -> u64 {
        stat_field(pid, i)
            .and_then(|f| f.parse().ok())
            .unwrap_or_else(|| panic!("no field {i} in /proc/{pid}/stat"))
    };
    field(14) + field(15)
}

/// CPU time (user + system) of a process, in seconds.
#[track_caller]
pub fn cpu_secs(pid: i32) -> f64 {
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    cpu_ticks(pid) as f64 / hz
}

/// The process group of a process (field 5 of stat).
pub fn pgid(pid: i32) -> Option<i32> {
    stat_field(pid, 5)?.parse().ok()
}

/// Every process in /proc with its command line split at the NULs (empty
/// arguments dropped); for counting and finding, never for killing by name.
pub fn cmdlines() -> Vec<(i32, Vec<Vec<u8>>)> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in dir.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(raw) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let parts = raw
            .split(|b| *b == 0)
            .filter(|s| !s.is_empty())
            .map(<[u8]>::to_vec)
            .collect();
        out.push((pid, parts));
    }
    out
}

/// A figure of /proc/PID/status in KiB (`VmHWM`, `VmRSS`, ...), or None
/// when the process or the field is not there.
pub fn status_kib(pid: i32, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

/// [`status_kib`] of a process that must have the field.
#[track_caller]
pub fn proc_kib(pid: i32, field: &str) -> u64 {
    status_kib(pid, field).unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// Peak resident memory of a process in KiB (VmHWM).
#[track_caller]
pub fn peak_kib(pid: i32) -> u64 {
    proc_kib(pid, "VmHWM")
}

/// The size of a file, 0 when it is not there (yet).
pub fn file_len(p: &Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}
