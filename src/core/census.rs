//! Finding the processes an instance started without trusting its state
//! file (SPEC §8, §11).
//!
//! A daemon killed before it wrote the state file (a cold start, a spawn,
//! a `create-service`, a `restart all`), or whose file is damaged, leaves
//! children that only they themselves can tell about. So every child
//! carries a marker: [`MARKER`]`=<canonical instance directory>` in its
//! environment, beside `SV_PROCESS_NAME`. Children inherit both, so a
//! service's whole tree is marked, and the directory names one instance of
//! one runtime directory, never another's. A program that rewrites its
//! environment (setproctitle) still holds its output FIFOs
//! (`RUNTIME/N/fifo/NAME-stdout`), which name the service too.
//!
//! The next daemon scans /proc once at startup ([`scan`]) and takes back
//! what it finds instead of starting copies; `close` scans once more and
//! ends whatever is left ([`sweep`]). Both are one pass over /proc, never
//! a periodic cost.

use std::path::Path;

/// The environment variable that marks a child of an instance.
pub const MARKER: &str = "SV_SUPERVISOR";

/// At most this much of a process's environment is read.
const ENVIRON_LIMIT: usize = 1 << 20;

/// A live process of the instance, found in /proc.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub pid: i32,
    pub pgid: i32,
    /// Field 22 of /proc/PID/stat.
    pub start_time: u64,
    /// The service it belongs to.
    pub name: String,
}

impl Found {
    /// The first process of a spawn: the daemon makes every child the
    /// leader of its own process group.
    pub fn is_leader(&self) -> bool {
        self.pid == self.pgid
    }
}

/// The marker value of an instance directory: its canonical path, so two
/// spellings of one directory give one marker.
pub fn marker_of(dir: &Path) -> String {
    std::fs::canonicalize(dir)
        .unwrap_or_else(|_| dir.to_path_buf())
        .display()
        .to_string()
}

/// Every live (not zombie) process marked with `marker`, or holding one of
/// the FIFOs in `fifos`, oldest first. This process is never in it.
///
/// A child that a killed daemon had made but that had not reached its exec
/// yet (it may wait for a CPU for a while on a busy machine) carries no
/// marker until it execs: it is still the daemon's image. Such processes
/// (sv's own executable, PF_FORKNOEXEC set) are waited for, up to
/// [`UNBORN_WAIT`], before the scan is taken; otherwise one would exec
/// after the scan and run beside the copy the new daemon starts.
pub fn scan(marker: &str, fifos: &Path) -> Vec<Found> {
    let deadline = std::time::Instant::now() + UNBORN_WAIT;
    loop {
        let pids = pids();
        let waiting = std::time::Instant::now() < deadline && pids.iter().any(|&p| unborn(p));
        if !waiting {
            return scan_once(&pids, marker, fifos);
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

/// How long a new daemon waits at most for children that are not yet exec'd.
const UNBORN_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Every pid in /proc but ours and init's.
fn pids() -> Vec<i32> {
    let me = std::process::id() as i32;
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| pid != me && pid > 1)
        .collect()
}

fn scan_once(pids: &[i32], marker: &str, fifos: &Path) -> Vec<Found> {
    let fifos = std::fs::canonicalize(fifos).unwrap_or_else(|_| fifos.to_path_buf());
    let mut out: Vec<Found> = pids
        .iter()
        .filter_map(|&pid| examine(pid, marker, &fifos))
        .collect();
    out.sort_by_key(|f| (f.start_time, f.pid));
    out
}

/// A process running sv's own executable that was made by fork or clone
/// and has not exec'd since (PF_FORKNOEXEC in /proc/PID/stat's flags).
fn unborn(pid: i32) -> bool {
    const PF_FORKNOEXEC: u64 = 0x40;
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
        return false;
    };
    let mut fields = rest.split_whitespace();
    let state = fields.next();
    // Field 9 is the 7th after the comm.
    let flags: u64 = fields.nth(5).and_then(|f| f.parse().ok()).unwrap_or(0);
    if flags & PF_FORKNOEXEC == 0 || matches!(state, Some("Z" | "X")) {
        return false;
    }
    use std::os::unix::fs::MetadataExt;
    let (Ok(theirs), Ok(ours)) = (
        std::fs::metadata(format!("/proc/{pid}/exe")),
        std::fs::metadata("/proc/self/exe"),
    ) else {
        return false;
    };
    theirs.dev() == ours.dev() && theirs.ino() == ours.ino()
}

/// Ends every process of the instance that is still alive: the last step
/// of a clean `close`, after every service's stop rules have run. Returns
/// how many were signalled.
pub fn sweep(marker: &str, fifos: &Path) -> usize {
    let found = scan_once(&pids(), marker, fifos);
    for f in &found {
        // SAFETY: plain kill(2) on a pid just found marked as ours.
        unsafe { libc::kill(f.pid, libc::SIGKILL) };
    }
    found.len()
}

/// Whether a process has ended and waits to be reaped (or is gone).
pub fn is_zombie(pid: i32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return true;
    };
    let state = stat
        .rfind(')')
        .and_then(|i| stat[i + 1..].split_whitespace().next());
    matches!(state, Some("Z" | "X") | None)
}

fn examine(pid: i32, marker: &str, fifos: &Path) -> Option<Found> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Fields from 3 on: state, ppid, pgrp, ... starttime is field 22.
    let state = *fields.first()?;
    if state == "Z" || state == "X" {
        return None;
    }
    let pgid = fields.get(2)?.parse().ok()?;
    let start_time = fields.get(19)?.parse().ok()?;
    let name = match service_of(pid, marker) {
        Mark::Ours(name) => Some(name),
        Mark::Other | Mark::Unreadable => None,
    }
    .or_else(|| by_fifo(pid, fifos))?;
    Some(Found {
        pid,
        pgid,
        start_time,
        name,
    })
}

/// What a process's environment says of it.
#[derive(Debug, PartialEq, Eq)]
pub enum Mark {
    /// Marked as this instance's, for this service.
    Ours(String),
    /// Readable, and not ours.
    Other,
    /// Gone, not ours to read, or caught in the middle of an exec (the new
    /// image has no environment yet for a moment): ask again.
    Unreadable,
}

/// The service a process belongs to, by [`MARKER`] and `SV_PROCESS_NAME`
/// in its environment. A process caught in the middle of an exec shows an
/// empty environment for a moment: it is read again a few times.
pub fn service_of(pid: i32, marker: &str) -> Mark {
    for _ in 0..20 {
        match read_mark(pid, marker) {
            Mark::Unreadable if std::path::Path::new(&format!("/proc/{pid}")).exists() => {
                // SAFETY: sched_yield has no preconditions.
                unsafe { libc::sched_yield() };
            }
            mark => return mark,
        }
    }
    Mark::Unreadable
}

fn read_mark(pid: i32, marker: &str) -> Mark {
    use std::io::Read;
    let mut env = Vec::new();
    let read = std::fs::File::open(format!("/proc/{pid}/environ"))
        .and_then(|f| f.take(ENVIRON_LIMIT as u64).read_to_end(&mut env));
    match read {
        // Another user's: none of ours (a daemon that is not root only
        // makes children of its own uid).
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => return Mark::Other,
        Err(_) => return Mark::Unreadable,
        Ok(_) if env.is_empty() => return Mark::Unreadable,
        Ok(_) => {}
    }
    let want = format!("{MARKER}={marker}");
    let mut marked = false;
    let mut name = None;
    for var in env.split(|b| *b == 0) {
        if var == want.as_bytes() {
            marked = true;
        } else if let Some(v) = var.strip_prefix(b"SV_PROCESS_NAME=") {
            name = std::str::from_utf8(v).ok().map(str::to_string);
        }
    }
    match name.filter(|n| marked && !n.is_empty()) {
        Some(n) => Mark::Ours(n),
        None => Mark::Other,
    }
}

/// The service whose FIFO is the process's stdout or stderr.
fn by_fifo(pid: i32, fifos: &Path) -> Option<String> {
    for fd in [1, 2] {
        let Ok(target) = std::fs::read_link(format!("/proc/{pid}/fd/{fd}")) else {
            continue;
        };
        if target.parent() != Some(fifos) {
            continue;
        }
        let file = target.file_name()?.to_str()?;
        let name = file
            .strip_suffix("-stdout")
            .or_else(|| file.strip_suffix("-stderr"))?;
        if !name.is_empty() {
            return Some(name.to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Command, Stdio};

    #[test]
    fn a_marked_child_is_found_by_its_marker_and_an_unmarked_one_is_not() {
        let marker = format!("/nonexistent/sv-census-{}", std::process::id());
        let fifos = Path::new("/nonexistent/fifo");
        let mut marked = Command::new("/bin/sleep")
            .arg("30")
            .env(MARKER, &marker)
            .env("SV_PROCESS_NAME", "web")
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let mut other = Command::new("/bin/sleep")
            .arg("30")
            .env(MARKER, format!("{marker}-other"))
            .env("SV_PROCESS_NAME", "web")
            .spawn()
            .unwrap();
        let found = scan(&marker, fifos);
        let mine: Vec<&Found> = found
            .iter()
            .filter(|f| f.pid == marked.id() as i32)
            .collect();
        assert_eq!(mine.len(), 1, "{found:?}");
        assert_eq!(mine[0].name, "web");
        assert!(found.iter().all(|f| f.pid != other.id() as i32));
        for c in [&mut marked, &mut other] {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }
}
