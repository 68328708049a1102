//! Who may own what sv uses (SPEC §2, §9): a runtime, instance, log or fifo
//! directory must belong to us or root and be writable by nobody else, the
//! daemon at the other end of the socket must run as us or root, and a log
//! path is opened the way the kernel's protected_symlinks and
//! protected_regular rules would, whatever the machine's sysctls say.
//!
//! Why: a directory another user could write is a directory where that user
//! plants symlinks (at `lock`, `state.tmp`, a log) or moves the socket away
//! and puts their own in its place.

use std::fs::{File, Metadata, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// The effective uid: the one files are created and checked as.
pub fn euid() -> u32 {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() }
}

/// A uid as `uid 65534 (nobody)`, the name when the passwd file has it.
/// A lookup may ask NSS (a socket to sssd, LDAP): for setup and the
/// client, never on the daemon's loop, which says `uid N` alone.
pub fn describe_uid(uid: u32) -> String {
    match nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)) {
        Ok(Some(u)) => format!("uid {uid} ({})", u.name),
        _ => format!("uid {uid}"),
    }
}

/// Whose directories and daemons we trust.
#[derive(Debug, Clone, Copy)]
pub struct Trust {
    pub me: u32,
    /// Root's client may talk to any user's supervisor, as every daemon
    /// accepts root; everyone else trusts only themselves and root.
    pub any_owner: bool,
}

impl Trust {
    /// The daemon: its own uid or root.
    pub fn daemon() -> Trust {
        Trust {
            me: euid(),
            any_owner: false,
        }
    }

    /// A client: its own uid or root; root trusts every owner.
    pub fn client() -> Trust {
        let me = euid();
        Trust {
            me,
            any_owner: me == 0,
        }
    }

    pub fn owner_ok(&self, uid: u32) -> bool {
        self.any_owner || uid == self.me || uid == 0
    }

    fn whom(&self) -> String {
        if self.me == 0 {
            "root".to_string()
        } else {
            format!("you ({}) or root", describe_uid(self.me))
        }
    }

    /// Checks that `dir` is a directory we may use: owned by a trusted uid,
    /// writable by no group or other. A symlink is followed only when a
    /// trusted uid owns it. Returns the directory's metadata.
    pub fn check_dir(&self, dir: &Path) -> io::Result<Metadata> {
        let link = std::fs::symlink_metadata(dir)?;
        if link.file_type().is_symlink() && !self.owner_ok(link.uid()) {
            return Err(refused(format!(
                "refusing {}: it is a symlink owned by {}, not by {}",
                dir.display(),
                describe_uid(link.uid()),
                self.whom()
            )));
        }
        let meta = if link.file_type().is_symlink() {
            std::fs::metadata(dir)?
        } else {
            link
        };
        if !meta.is_dir() {
            return Err(refused(format!(
                "refusing {}: it is not a directory",
                dir.display()
            )));
        }
        if !self.owner_ok(meta.uid()) {
            return Err(refused(format!(
                "refusing {}: it is owned by {}, not by {}; remove it, or set SV_RUNTIME_DIR",
                dir.display(),
                describe_uid(meta.uid()),
                self.whom()
            )));
        }
        let mode = meta.permissions().mode();
        if mode & 0o022 != 0 {
            return Err(refused(format!(
                "refusing {}: it is writable by {} (mode {:04o}); `chmod go-w` it or remove it",
                dir.display(),
                if mode & 0o002 != 0 {
                    "others"
                } else {
                    "its group"
                },
                mode & 0o7777
            )));
        }
        Ok(meta)
    }
}

fn refused(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::PermissionDenied, message)
}

pub use crate::core::sys::peer_cred;

/// What a log is opened for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogOpen {
    /// Written by the daemon: created 0644 when missing, never truncated.
    Write,
    /// Read for `tail`.
    Read,
    /// The daemon's own log (`--log FILE`): appended, created 0600 (its
    /// lines name commands and their arguments).
    Append,
    /// `[supervisord] logfile`: appended, created 0644 under the umask,
    /// as supervisord creates it (log shippers of other users read it).
    AppendShared,
}

/// Opens a log path so that no other user can point the daemon's writes
/// (or `tail`'s reads) at a file of their choosing:
///
/// - a symlink in the last component is followed only when it belongs to
///   us or to root. That is stricter than the kernel's protected_symlinks
///   (which also follows links outside sticky world-writable directories,
///   and links of the directory's owner): a root daemon following a link
///   that `nobody` owns, in `nobody`'s own directory, would write as root
///   wherever `nobody` likes. Root's `/var/log/x.log -> ...` still works;
///   a link to a user's file is refused and names the real path to use;
/// - as protected_regular does, a file in a sticky world-writable
///   directory that belongs neither to us nor to the directory's owner is
///   refused.
///
/// - the same rule holds for every symlink on the way to the file's
///   directory: the directory is reached one component at a time on
///   descriptors ([`open_dir_trusted`]), so a link another user planted
///   (or swaps in) above the file is refused rather than followed.
///
/// Non-blocking, so a FIFO with no reader cannot hang the daemon in open(2).
pub fn open_log(path: &Path, how: LogOpen) -> io::Result<File> {
    let shown = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let Some(name) = path.file_name() else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a file path",
        ));
    };
    let dir = open_dir_trusted(shown)?;
    // The directory as reached, by its descriptor: what follows cannot be
    // sent elsewhere by a link swapped in above it meanwhile.
    let via = Path::new("/proc/self/fd")
        .join(dir.as_raw_fd().to_string())
        .join(name);
    open_in_dir(&via, shown, how)
}

/// [`open_log`] for reading, of a regular file only: a FIFO (opened
/// non-blocking, so open(2) never waits for a writer) or a device is
/// refused, since reading it could block or never end.
pub fn open_log_regular(path: &Path) -> io::Result<File> {
    let f = open_log(path, LogOpen::Read)?;
    if !f.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    Ok(f)
}

/// Opens a directory (O_PATH) one component at a time, following a
/// symlink on the way only when it belongs to us or to root.
pub fn open_dir_trusted(dir: &Path) -> io::Result<std::os::fd::OwnedFd> {
    use std::os::fd::{FromRawFd, OwnedFd};
    use std::os::unix::ffi::OsStrExt;
    let open_at = |at: libc::c_int, name: &[u8], flags: libc::c_int| -> io::Result<OwnedFd> {
        let c = std::ffi::CString::new(name)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL in a path"))?;
        // SAFETY: openat with a valid C string; the descriptor is ours.
        let fd = unsafe { libc::openat(at, c.as_ptr(), flags | libc::O_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: just opened, owned by nobody else.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    };
    let me = euid();
    let dir_flags = libc::O_PATH | libc::O_DIRECTORY;
    let root = || open_at(libc::AT_FDCWD, b"/", dir_flags);
    let mut cur = if dir.is_absolute() {
        root()?
    } else {
        open_at(libc::AT_FDCWD, b".", dir_flags)?
    };
    let mut todo: std::collections::VecDeque<Vec<u8>> = dir
        .as_os_str()
        .as_bytes()
        .split(|b| *b == b'/')
        .filter(|c| !c.is_empty())
        .map(<[u8]>::to_vec)
        .collect();
    let mut links = 0;
    while let Some(c) = todo.pop_front() {
        if c == b"." {
            continue;
        }
        let fd = open_at(cur.as_raw_fd(), &c, libc::O_PATH | libc::O_NOFOLLOW)?;
        // SAFETY: an all-zero stat is a valid value to fill.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: fstat on a descriptor we hold.
        if unsafe { libc::fstat(fd.as_raw_fd(), &mut st) } < 0 {
            return Err(io::Error::last_os_error());
        }
        match st.st_mode & libc::S_IFMT {
            libc::S_IFDIR => cur = fd,
            libc::S_IFLNK => {
                let shown = String::from_utf8_lossy(&c).into_owned();
                if st.st_uid != me && st.st_uid != 0 {
                    return Err(refused(format!(
                        "refusing to follow the symlink {shown} of uid {} on the way to {}: \
                         only links of root or the daemon's user are followed",
                        st.st_uid,
                        dir.display()
                    )));
                }
                links += 1;
                if links > 40 {
                    return Err(io::Error::from_raw_os_error(libc::ELOOP));
                }
                let mut buf = vec![0u8; libc::PATH_MAX as usize];
                // SAFETY: readlinkat of the link itself (empty path) into buf.
                let n = unsafe {
                    libc::readlinkat(
                        fd.as_raw_fd(),
                        c"".as_ptr(),
                        buf.as_mut_ptr().cast(),
                        buf.len(),
                    )
                };
                if n < 0 {
                    return Err(io::Error::last_os_error());
                }
                let target = &buf[..n as usize];
                if target.starts_with(b"/") {
                    cur = root()?;
                }
                for part in target.split(|b| *b == b'/').rev().filter(|p| !p.is_empty()) {
                    todo.push_front(part.to_vec());
                }
            }
            _ => return Err(io::Error::from_raw_os_error(libc::ENOTDIR)),
        }
    }
    Ok(cur)
}

/// [`open_log`] once the directory is reached: `path` names the file
/// through the directory's descriptor, `shown` is the directory as the
/// config gave it, for messages.
fn open_in_dir(path: &Path, shown: &Path, how: LogOpen) -> io::Result<File> {
    let options = |follow: bool| {
        let mut o = OpenOptions::new();
        match how {
            LogOpen::Write => o.write(true).create(true).truncate(false).mode(0o644),
            LogOpen::Read => o.read(true),
            LogOpen::Append => o.append(true).create(true).mode(0o600),
            LogOpen::AppendShared => o.append(true).create(true).mode(0o644),
        };
        let nofollow = if follow { 0 } else { libc::O_NOFOLLOW };
        o.custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC | nofollow);
        o
    };
    let dir = path.parent().unwrap_or(shown);
    match options(false).open(path) {
        Ok(f) => {
            let dir_meta = std::fs::metadata(dir)?;
            let file_meta = f.metadata()?;
            let me = euid();
            if shared_sticky(&dir_meta)
                && file_meta.uid() != me
                && file_meta.uid() != dir_meta.uid()
            {
                // The caller names the path.
                return Err(refused(format!(
                    "refusing a file of uid {} in the sticky world-writable directory {}",
                    file_meta.uid(),
                    shown.display()
                )));
            }
            Ok(f)
        }
        // The last component is a symlink: O_NOFOLLOW says ELOOP, or
        // EACCES with O_CREAT when the link is another user's in a sticky
        // directory.
        Err(e) if matches!(e.raw_os_error(), Some(libc::ELOOP | libc::EACCES)) => {
            let link = std::fs::symlink_metadata(path)?;
            if !link.file_type().is_symlink() {
                return Err(e);
            }
            let me = euid();
            if link.uid() != me && link.uid() != 0 {
                let target = std::fs::read_link(path)
                    .map(|t| format!(" (to {})", t.display()))
                    .unwrap_or_default();
                let whose = if me == 0 {
                    "root".to_string()
                } else {
                    format!("uid {me} or root")
                };
                return Err(refused(format!(
                    "refusing to follow this symlink{target} of uid {}: only links of {whose} are followed",
                    link.uid(),
                )));
            }
            // A link of ours or root's can be swapped only by us, root, or
            // (outside a sticky directory) whoever may write the directory,
            // who could as well have written the log path itself.
            options(true).open(path)
        }
        Err(e) => Err(e),
    }
}

/// Sticky and writable by others: `/tmp`, a shared spool.
fn shared_sticky(dir: &Metadata) -> bool {
    let mode = dir.permissions().mode();
    mode & 0o1000 != 0 && mode & 0o002 != 0
}

/// The parent process of `pid`, from field 4 of `/proc/PID/stat`.
pub fn parent_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// The state letter of `pid` (field 3 of `/proc/PID/stat`): `T` when
/// stopped by a signal, `t` when stopped by a tracer.
pub fn proc_state(pid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().next()?.chars().next()
}

/// Why sv must not adopt `pid`, if it must not: init, the daemon itself
/// or one of its ancestors. Adopting them would let a `stop` or `close`
/// signal init or the daemon's own parents (a shell, systemd, a container
/// runtime), and a daemon waiting for its own exit never sees it.
pub fn adopt_refusal(pid: i32) -> Option<String> {
    if pid == 1 {
        return Some("pid 1 is init: sv never adopts it".to_string());
    }
    let me = std::process::id() as i32;
    if pid == me {
        return Some(format!("pid {pid} is this supervisor itself"));
    }
    let mut at = me;
    // Bounded: a pid chain cannot be longer than the pid space, but a
    // racing /proc should not keep us here.
    for _ in 0..4096 {
        match parent_of(at) {
            Some(p) if p == pid => {
                return Some(format!(
                    "pid {pid} is an ancestor of this supervisor (pid {me}): adopting it would \
                     let stop and close signal the supervisor's own parents"
                ))
            }
            Some(p) if p > 1 => at = p,
            _ => break,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_daemon_itself_and_its_parents_are_refused() {
        assert!(adopt_refusal(1).is_some());
        assert!(adopt_refusal(std::process::id() as i32).is_some());
        let parent = parent_of(std::process::id() as i32).unwrap();
        if parent > 1 {
            assert!(adopt_refusal(parent).unwrap().contains("ancestor"));
        }
    }

    fn tmp(tag: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("sv-trust-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn directories_others_may_write_are_refused() {
        let d = tmp("dirs");
        let t = Trust::daemon();
        for (mode, ok) in [(0o700, true), (0o755, true), (0o770, false), (0o703, false)] {
            std::fs::set_permissions(&d, std::fs::Permissions::from_mode(mode)).unwrap();
            let r = t.check_dir(&d);
            assert_eq!(r.is_ok(), ok, "{mode:o}: {r:?}");
        }
        let file = d.join("f");
        std::fs::write(&file, "").unwrap();
        assert!(t
            .check_dir(&file)
            .unwrap_err()
            .to_string()
            .contains("not a directory"));
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn proc_fields_are_read_after_the_comm() {
        let me = std::process::id() as i32;
        assert!(proc_state(me).is_some());
        assert!(parent_of(me).is_some());
    }
}
