//! What the services' process groups cost now, read from each process's
//! `/proc/PID/stat` (it has the group, CPU time and resident pages), summed
//! by group for the groups asked for. Two ways, whichever reads less:
//!
//! - down the tree: from the daemon's children (every leader, and the
//!   leftovers reparented to it, the subreaper) through each member's
//!   `children`, two reads a member, never leaving a group asked for;
//! - a walk of the whole of /proc, one read a process, when the groups'
//!   members are most of the host's processes.
//!
//! Either way each process is read once a scan, never once per service, and
//! a scan goes a slice at a time ([`Scan::step`]), so a big host does not
//! hold the loop for all of it.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::fs::ReadDir;
use std::io::Read;
use std::os::unix::fs::FileExt;

/// Leaders' `/proc/PID/stat` kept open between scans: a `pread` on an open
/// file costs a third of open, read and close (bench/findings.md). At most
/// [`KEPT_MAX`] and an eighth of the fd limit, so spawns keep their fds; a
/// file is closed when its group is no longer asked for or its process is
/// gone (a read of a stat file whose process was reaped fails, so a pid
/// used again is never read through an old file).
#[derive(Default)]
pub struct Kept(HashMap<i32, File>);

const KEPT_MAX: usize = 1024;

impl Kept {
    fn cap() -> usize {
        let mut r = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes the struct it is given.
        let ok = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) } == 0;
        if ok {
            KEPT_MAX.min((r.rlim_cur / 8) as usize)
        } else {
            0
        }
    }
}

/// A process group's live members, summed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// utime + stime, in clock ticks.
    pub ticks: u64,
    /// Resident set, in pages.
    pub pages: u64,
}

/// The kernel's units: clock ticks a second, bytes a page.
#[derive(Debug, Clone, Copy)]
pub struct Units {
    pub hz: u64,
    pub page: u64,
}

impl Units {
    pub fn of_host() -> Units {
        // SAFETY: sysconf has no preconditions.
        let (hz, page) = unsafe {
            (
                libc::sysconf(libc::_SC_CLK_TCK),
                libc::sysconf(libc::_SC_PAGESIZE),
            )
        };
        Units {
            hz: if hz > 0 { hz as u64 } else { 100 },
            page: if page > 0 { page as u64 } else { 4096 },
        }
    }

    /// Clock ticks as milliseconds.
    pub fn cpu_ms(self, ticks: u64) -> u64 {
        ticks.saturating_mul(1000) / self.hz.max(1)
    }
}

/// The group, CPU ticks and resident pages of a `/proc/PID/stat` line;
/// None for a zombie or a line that is not one.
pub fn parse_stat(line: &[u8]) -> Option<(i32, Usage)> {
    // The command (field 2) may hold anything, `)` too: fields start
    // after the last `)`.
    let close = line.iter().rposition(|&b| b == b')')?;
    let rest = std::str::from_utf8(&line[close + 1..]).ok()?;
    let f: Vec<&str> = rest.split_ascii_whitespace().take(22).collect();
    if f.len() < 22 || matches!(f[0], "Z" | "X") {
        return None;
    }
    let num = |i: usize| f[i].parse::<u64>().ok();
    let pgrp = f[2].parse::<i32>().ok()?;
    let ticks = num(11)?.saturating_add(num(12)?);
    // rss is signed in the kernel's format; a negative one counts as 0.
    let pages = f[21].parse::<i64>().ok()?.max(0) as u64;
    Some((pgrp, Usage { ticks, pages }))
}

/// How a scan finds the processes it reads.
enum Way {
    /// Down from these pids (still to read).
    Tree(Vec<i32>),
    /// Every entry of /proc.
    Walk(ReadDir),
    Done,
}

/// One scan, for the groups in `wanted`.
pub struct Scan {
    wanted: HashSet<i32>,
    way: Way,
    pub found: HashMap<i32, Usage>,
    path: String,
    /// Taken back by the caller once the scan is over.
    pub kept: Kept,
    cap: usize,
}

impl Scan {
    /// A scan of the daemon's process tree or of all of /proc, whichever
    /// reads less.
    pub fn new(wanted: HashSet<i32>, kept: Kept) -> Scan {
        // Members are about the groups (a leader each), at two reads each;
        // the walk is one read per task on the host (threads count too).
        let host = host_tasks().unwrap_or(usize::MAX);
        if wanted.len().saturating_mul(2) < host {
            return Scan::from(wanted, Way::Tree(own_children()), kept);
        }
        // No /proc (or none readable): every group reads as absent.
        let way = std::fs::read_dir("/proc").map_or(Way::Done, Way::Walk);
        Scan::from(wanted, way, kept)
    }

    fn from(wanted: HashSet<i32>, way: Way, mut kept: Kept) -> Scan {
        let way = if wanted.is_empty() { Way::Done } else { way };
        // Groups gone since the last scan: their files close.
        kept.0.retain(|pid, _| wanted.contains(pid));
        Scan {
            wanted,
            way,
            found: HashMap::new(),
            path: String::with_capacity(48),
            kept,
            cap: Kept::cap(),
        }
    }

    /// Reads up to `max` processes; true once the scan is over.
    pub fn step(&mut self, max: usize) -> bool {
        for _ in 0..max {
            let next = match &mut self.way {
                Way::Done => return true,
                Way::Tree(todo) => todo.pop(),
                Way::Walk(dir) => match dir.next() {
                    Some(e) => {
                        let pid = e.ok().and_then(|e| e.file_name().to_str()?.parse().ok());
                        // Not a process (`self`, `meminfo`, ...): next.
                        let Some(pid) = pid else { continue };
                        Some(pid)
                    }
                    None => None,
                },
            };
            let Some(pid) = next else {
                self.way = Way::Done;
                return true;
            };
            // Gone since it was listed, or not ours to read: skipped.
            let Some((pgrp, u)) = self.read_stat(pid) else {
                continue;
            };
            if !self.wanted.contains(&pgrp) {
                continue;
            }
            let e = self.found.entry(pgrp).or_default();
            e.ticks = e.ticks.saturating_add(u.ticks);
            e.pages = e.pages.saturating_add(u.pages);
            if let Way::Tree(todo) = &mut self.way {
                todo.extend(read_pids(&format!("/proc/{pid}/task/{pid}/children")));
            }
        }
        false
    }

    fn read_stat(&mut self, pid: i32) -> Option<(i32, Usage)> {
        use std::fmt::Write;
        self.path.clear();
        let _ = write!(self.path, "/proc/{pid}/stat");
        let mut buf = [0u8; 1024];
        if let Some(f) = self.kept.0.get(&pid) {
            match f.read_at(&mut buf, 0) {
                Ok(n) if n > 0 => return parse_stat(&buf[..n]),
                // Gone: closed, and the pid looked up afresh.
                _ => drop(self.kept.0.remove(&pid)),
            }
        }
        let mut f = File::open(&self.path).ok()?;
        let n = f.read(&mut buf).ok()?;
        let got = parse_stat(&buf[..n]);
        // A leader of a group asked for: kept, within bounds.
        let leader = got.is_some_and(|(g, _)| g == pid && self.wanted.contains(&g));
        if leader && self.kept.0.len() < self.cap {
            self.kept.0.insert(pid, f);
        }
        got
    }
}

/// Tasks on the host, from /proc/loadavg (`1.00 0.50 0.25 2/1144 3976`).
fn host_tasks() -> Option<usize> {
    let l = std::fs::read_to_string("/proc/loadavg").ok()?;
    l.split_whitespace().nth(3)?.split_once('/')?.1.parse().ok()
}

/// The daemon's children: its services' leaders and the leftovers
/// reparented to it. One thread, so its main task has them all.
fn own_children() -> Vec<i32> {
    let me = std::process::id();
    read_pids(&format!("/proc/{me}/task/{me}/children"))
}

/// The pids a `children` file lists; none if it cannot be read.
fn read_pids(path: &str) -> Vec<i32> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.split_ascii_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// The calling process's own CPU ticks (`/proc/self/stat`), 0 if unread.
pub fn own_ticks() -> u64 {
    std::fs::read("/proc/self/stat")
        .ok()
        .and_then(|l| parse_stat(&l))
        .map_or(0, |(_, u)| u.ticks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::CommandExt;

    #[test]
    fn stat_lines() {
        let line = b"4242 (we ird) x) S 1 4240 4240 0 -1 4194560 100 0 0 0 \
                     25 7 0 0 20 0 1 0 12345 1000000 321 18446744073709551615\n";
        let (pgrp, u) = parse_stat(line).unwrap();
        assert_eq!(pgrp, 4240);
        assert_eq!(
            u,
            Usage {
                ticks: 32,
                pages: 321
            }
        );
        let zombie = b"7 (z) Z 1 7 7 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 5 0 0 0\n";
        assert_eq!(parse_stat(zombie), None);
        assert_eq!(parse_stat(b"7 (cut) S 1 7"), None);
    }

    #[test]
    fn both_ways_find_a_group_and_its_members() {
        // A child in a group of its own, with a child of its own in it.
        let mut child = std::process::Command::new("/bin/sh")
            .args(["-c", "sleep 30 & wait"])
            .process_group(0)
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        let members = || read_pids(&format!("/proc/{pid}/task/{pid}/children"));
        let ok = (0..1000).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(10));
            !members().is_empty()
        });
        let shell = Scan::from(HashSet::from([pid]), Way::Done, Kept::default()).read_stat(pid);
        let walk = std::fs::read_dir("/proc").map(Way::Walk).unwrap();
        let mut got = Vec::new();
        for way in [Way::Tree(vec![pid]), walk] {
            let mut scan = Scan::from(HashSet::from([pid]), way, Kept::default());
            while !scan.step(64) {}
            got.push(scan.found.get(&pid).copied().unwrap_or_default());
        }
        // SAFETY: kill on the group made here, by its recorded pid.
        unsafe { libc::kill(-pid, libc::SIGKILL) };
        let _ = child.wait();
        assert!(ok, "the shell's sleep never showed");
        // The shell and its sleep: more than the shell alone, both ways.
        let shell = shell.unwrap().1;
        for u in got {
            assert!(u.pages > shell.pages, "{u:?} {shell:?}");
        }
    }

    #[test]
    fn a_leaders_file_is_kept_open_until_it_goes() {
        let mut child = std::process::Command::new("/bin/sleep")
            .arg("30")
            .process_group(0)
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        let scan = |kept: Kept| {
            let mut scan = Scan::from(HashSet::from([pid]), Way::Tree(vec![pid]), kept);
            while !scan.step(64) {}
            (scan.found.get(&pid).copied(), scan.kept)
        };
        let (first, kept) = scan(Kept::default());
        let opened = kept.0.contains_key(&pid);
        // Read again through the kept file.
        let (again, kept) = scan(kept);
        // SAFETY: kill on the group made here, by its recorded pid.
        unsafe { libc::kill(-pid, libc::SIGKILL) };
        let _ = child.wait();
        let (gone, kept) = scan(kept);
        assert!(first.is_some() && again.is_some(), "{first:?} {again:?}");
        assert!(opened, "the leader's stat file was not kept");
        assert_eq!(gone, None);
        assert!(kept.0.is_empty(), "a file of a reaped process stays open");
        // A group no longer asked for closes its file.
        let mut kept = Kept::default();
        kept.0.insert(1, File::open("/proc/self/stat").unwrap());
        let scan = Scan::from(HashSet::from([2]), Way::Done, kept);
        assert!(scan.kept.0.is_empty());
    }
}
