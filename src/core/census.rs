//! Finding the processes an instance started without trusting its state
//! file (SPEC §8, §11).
//!
//! A daemon killed before it wrote the state file (a cold start, a spawn,
//! a `create-service`, a `restart all`), or whose file is damaged, leaves
//! children that only they themselves can tell about. So every child
//! carries a marker: [`MARKER`]`=<canonical instance directory>#<token>` in
//! its environment, beside `SV_PROCESS_NAME`. Children inherit both, so a
//! service's whole tree is marked. The token is random, made once per
//! instance directory and kept in its `token` file (0600, in a directory
//! only the daemon's user may enter): another user cannot forge the marker
//! to have a process of theirs taken for the instance's, and the same path
//! in another mount namespace (a container) is another instance. A program
//! that rewrites its environment (setproctitle) still holds its output
//! FIFOs (`RUNTIME/N/fifo/NAME-stdout`), which name the service too.
//!
//! What a scan finds carries its owner's uid: recovery takes a process
//! only for a service that would run as that uid, never one caught in a
//! set-user-ID program (real and effective uids differ).
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
    /// Its session: a spawn's leader stays in the daemon's (it calls
    /// setpgid, not setsid), what called setsid leads its own.
    pub sid: i32,
    /// Field 22 of /proc/PID/stat.
    pub start_time: u64,
    /// Its real (and effective) uid.
    pub uid: u32,
    /// The service it belongs to.
    pub name: String,
}

impl Found {
    /// The first process of a spawn: the daemon makes every child the
    /// leader of its own process group.
    pub fn is_leader(&self) -> bool {
        self.pid == self.pgid
    }

    /// Which of several leaders of one service to take as its process:
    /// one that did not call setsid (a spawn's own), then the oldest.
    pub fn rank(&self) -> (bool, u64, i32) {
        (self.sid == self.pid, self.start_time, self.pid)
    }
}

/// The marker of an instance directory: its canonical path (two spellings
/// of one directory give one marker) and the instance's secret token, made
/// on first use. Without a token (it cannot be made), the path alone.
pub fn marker_of(dir: &Path) -> String {
    let path = std::fs::canonicalize(dir)
        .unwrap_or_else(|_| dir.to_path_buf())
        .display()
        .to_string();
    match token(&dir.join("token")) {
        Ok(t) => format!("{path}#{t}"),
        Err(_) => path,
    }
}

/// Reads the token file, or makes it: 32 random hex digits, mode 0600,
/// never through a symlink.
fn token(path: &Path) -> std::io::Result<String> {
    use std::io::{Read, Write};
    use std::os::unix::fs::OpenOptionsExt;
    let open = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path);
    if let Ok(mut f) = open {
        let mut t = String::new();
        f.read_to_string(&mut t)?;
        let t = t.trim();
        if t.len() == 32 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(t.to_string());
        }
        std::fs::remove_file(path)?;
    }
    let mut raw = [0u8; 16];
    // getrandom(2) as a raw system call: the static musl build has no
    // usable libc wrapper for it (the call went to address 0).
    // SAFETY: the kernel fills the buffer it is given, of that length.
    let n = unsafe { libc::syscall(libc::SYS_getrandom, raw.as_mut_ptr(), raw.len(), 0) };
    if n != raw.len() as libc::c_long {
        return Err(std::io::Error::last_os_error());
    }
    let t: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)?;
    f.write_all(t.as_bytes())?;
    Ok(t)
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
            let found = scan_once(&pids, marker, fifos);
            if !found.is_empty() {
                TAKEN_BACK.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            return found;
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
    out.sort_unstable_by_key(|f| (f.start_time, f.pid));
    out
}

/// A process made by fork or clone that has not exec'd since
/// (PF_FORKNOEXEC) and is still an sv image: sv's own executable, or one
/// of the same name (the binary was upgraded after the daemon that made it
/// was killed).
fn unborn(pid: i32) -> bool {
    let Some(st) = Stat::read(pid) else {
        return false;
    };
    if st.flags & PF_FORKNOEXEC == 0 || st.flags & PF_KTHREAD != 0 || st.dead {
        return false;
    }
    use std::os::unix::fs::MetadataExt;
    let same_file = match (
        std::fs::metadata(format!("/proc/{pid}/exe")),
        std::fs::metadata("/proc/self/exe"),
    ) {
        (Ok(theirs), Ok(ours)) => theirs.dev() == ours.dev() && theirs.ino() == ours.ino(),
        _ => false,
    };
    let comm = |p: &str| std::fs::read_to_string(format!("/proc/{p}/comm")).ok();
    same_file || comm(&pid.to_string()).is_some_and(|c| Some(c) == comm("self"))
}

const PF_FORKNOEXEC: u64 = 0x40;
const PF_KTHREAD: u64 = 0x0020_0000;

/// What the census needs of /proc/PID/stat.
struct Stat {
    dead: bool,
    pgid: i32,
    sid: i32,
    flags: u64,
    start_time: u64,
}

impl Stat {
    fn read(pid: i32) -> Option<Stat> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let rest = &stat[stat.rfind(')')? + 1..];
        let f: Vec<&str> = rest.split_whitespace().collect();
        // f[0] is field 3 (state): pgrp is 5, session 6, flags 9, starttime 22.
        Some(Stat {
            dead: matches!(*f.first()?, "Z" | "X"),
            pgid: f.get(2)?.parse().ok()?,
            sid: f.get(3)?.parse().ok()?,
            flags: f.get(6)?.parse().ok()?,
            start_time: f.get(19)?.parse().ok()?,
        })
    }
}

/// The real uid of a process when its real, effective and saved uids are
/// one (not inside a set-user-ID program).
fn plain_uid(pid: i32) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    let ids: Vec<u32> = line[4..]
        .split_whitespace()
        .filter_map(|u| u.parse().ok())
        .collect();
    let real = *ids.first()?;
    (ids.len() >= 3 && ids[..3].iter().all(|&u| u == real)).then_some(real)
}

/// Processes of the instance were found running at startup: taken back,
/// they are not the daemon's descendants, nor what they leave behind.
static TAKEN_BACK: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether [`sweep`] must search /proc at the end of a `close` (reading all
/// of it costs ~1 s on a host of 1,000 processes). Not when the daemon is
/// PID 1 or a child subreaper and took nothing back: every process its
/// services left is then its own child (SPEC §15), so none is left once
/// it has no child but those in `spare` and zombies.
pub fn may_be_left(spare: &std::collections::HashSet<i32>) -> bool {
    let mut reaper: libc::c_int = 0;
    // SAFETY: PR_GET_CHILD_SUBREAPER writes one int to the address given.
    let got = unsafe {
        libc::prctl(
            libc::PR_GET_CHILD_SUBREAPER,
            &mut reaper as *mut libc::c_int,
        )
    };
    let contained = std::process::id() == 1 || (got == 0 && reaper != 0);
    if TAKEN_BACK.load(std::sync::atomic::Ordering::Relaxed) || !contained {
        return true;
    }
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return true;
    };
    tasks.flatten().any(|t| {
        let Ok(list) = std::fs::read_to_string(t.path().join("children")) else {
            return true;
        };
        list.split_whitespace()
            .filter_map(|p| p.parse::<i32>().ok())
            .any(|p| !spare.contains(&p) && !is_zombie(p))
    })
}

/// Ends every process of the instance that is still alive but those in
/// `spare` (adopted with `open-service`: a close leaves them running): the
/// last step of a clean `close`, after every service's stop rules have
/// run. Returns how many were signalled.
pub fn sweep(marker: &str, fifos: &Path, spare: &std::collections::HashSet<i32>) -> usize {
    let found: Vec<Found> = scan_once(&pids(), marker, fifos)
        .into_iter()
        .filter(|f| !spare.contains(&f.pid))
        .collect();
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
    let st = Stat::read(pid)?;
    // Kernel threads have no environment and are never ours.
    if st.dead || st.flags & PF_KTHREAD != 0 {
        return None;
    }
    let name = match service_of(pid, marker) {
        Mark::Ours(name) => Some(name),
        Mark::Other | Mark::Unreadable => None,
    }
    .or_else(|| by_fifo(pid, fifos))?;
    Some(Found {
        pid,
        pgid: st.pgid,
        sid: st.sid,
        start_time: st.start_time,
        uid: plain_uid(pid)?,
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
