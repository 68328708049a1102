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
pub fn scan(marker: &str, fifos: &Path) -> Vec<Found> {
    let me = std::process::id() as i32;
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let fifos = std::fs::canonicalize(fifos).unwrap_or_else(|_| fifos.to_path_buf());
    let mut out: Vec<Found> = dir
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| pid != me && pid > 1)
        .filter_map(|pid| examine(pid, marker, &fifos))
        .collect();
    out.sort_by_key(|f| (f.start_time, f.pid));
    out
}

/// Ends every process of the instance that is still alive: the last step
/// of a clean `close`, after every service's stop rules have run. Returns
/// how many were signalled.
pub fn sweep(marker: &str, fifos: &Path) -> usize {
    let found = scan(marker, fifos);
    for f in &found {
        // SAFETY: plain kill(2) on a pid just found marked as ours.
        unsafe { libc::kill(f.pid, libc::SIGKILL) };
    }
    found.len()
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
    let name = by_environ(pid, marker).or_else(|| by_fifo(pid, fifos))?;
    Some(Found {
        pid,
        pgid,
        start_time,
        name,
    })
}

/// `SV_PROCESS_NAME` when the environment carries our marker.
fn by_environ(pid: i32, marker: &str) -> Option<String> {
    use std::io::Read;
    let mut env = Vec::new();
    std::fs::File::open(format!("/proc/{pid}/environ"))
        .ok()?
        .take(ENVIRON_LIMIT as u64)
        .read_to_end(&mut env)
        .ok()?;
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
    name.filter(|n| marked && !n.is_empty())
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
