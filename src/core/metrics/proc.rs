//! What the services' process groups cost now: one pass over /proc per
//! scrape, reading each process's `stat` once (it has the group, CPU time
//! and resident pages), and keeping only the groups asked for. The walk is
//! bounded by the number of processes on the host, never repeated per
//! service, and can go a slice at a time ([`Scan::step`]), so a big host
//! does not hold the loop for the whole walk.

use std::collections::{HashMap, HashSet};
use std::fs::ReadDir;
use std::io::Read;

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

/// One walk of /proc, for the groups in `wanted`.
pub struct Scan {
    wanted: HashSet<i32>,
    dir: Option<ReadDir>,
    pub found: HashMap<i32, Usage>,
    path: String,
}

impl Scan {
    pub fn new(wanted: HashSet<i32>) -> Scan {
        // No /proc (or none readable): every group reads as absent.
        let dir = if wanted.is_empty() {
            None
        } else {
            std::fs::read_dir("/proc").ok()
        };
        Scan {
            wanted,
            dir,
            found: HashMap::new(),
            path: String::with_capacity(32),
        }
    }

    /// Reads up to `max` processes; true once the walk is over.
    pub fn step(&mut self, max: usize) -> bool {
        let Some(dir) = &mut self.dir else {
            return true;
        };
        let mut buf = [0u8; 1024];
        for _ in 0..max {
            let Some(entry) = dir.next() else {
                self.dir = None;
                return true;
            };
            let Ok(entry) = entry else { continue };
            let name = entry.file_name();
            let Some(pid) = name
                .to_str()
                .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
            else {
                continue;
            };
            self.path.clear();
            self.path.push_str("/proc/");
            self.path.push_str(pid);
            self.path.push_str("/stat");
            // Gone since the listing, or not ours to read: skipped.
            let Ok(mut f) = std::fs::File::open(&self.path) else {
                continue;
            };
            let Ok(n) = f.read(&mut buf) else { continue };
            let Some((pgrp, u)) = parse_stat(&buf[..n]) else {
                continue;
            };
            if self.wanted.contains(&pgrp) {
                let e = self.found.entry(pgrp).or_default();
                e.ticks = e.ticks.saturating_add(u.ticks);
                e.pages = e.pages.saturating_add(u.pages);
            }
        }
        false
    }
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
    fn the_scan_finds_its_own_group() {
        // SAFETY: getpgrp has no preconditions.
        let me = unsafe { libc::getpgrp() };
        let mut scan = Scan::new(HashSet::from([me]));
        while !scan.step(64) {}
        let u = scan.found.get(&me).copied().unwrap_or_default();
        assert!(u.pages > 0, "{u:?}");
    }
}
