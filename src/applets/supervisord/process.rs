//! What supervisord does to its own process before it supervises:
//! dropping privileges, raising limits, detaching, the pidfile. Messages
//! are supervisord's, so scripts that grep for them keep working.

use super::exit_of;
use crate::applets::exit::{self, Stop};
use crate::core::log::Logger;
use crate::core::trust::{self, LogOpen};
use std::ffi::{OsStr, OsString};
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// supervisord's `drop_privileges`: become `user` (a name or a uid) with
/// its groups; nothing to do when we are that user already; only root
/// may switch.
pub fn drop_privileges(user: &str) -> Result<(), String> {
    use nix::unistd::{Uid, User};
    let found = match user.parse::<u32>() {
        Ok(uid) => User::from_uid(Uid::from_raw(uid))
            .ok()
            .flatten()
            .ok_or_else(|| format!("Invalid user id {user}"))?,
        Err(_) => User::from_name(user)
            .ok()
            .flatten()
            .ok_or_else(|| format!("Invalid user name {user}"))?,
    };
    let me = Uid::current();
    if me == found.uid {
        return Ok(());
    }
    if !me.is_root() {
        return Err("Can't drop privilege as nonroot user".into());
    }
    let name = std::ffi::CString::new(found.name.as_bytes())
        .map_err(|_| format!("Invalid user name {user}"))?;
    let mut groups = nix::unistd::getgrouplist(&name, found.gid)
        .map_err(|_| "Could not set groups of effective user".to_string())?;
    // The primary group first, as supervisord puts it.
    groups.retain(|g| *g != found.gid);
    groups.insert(0, found.gid);
    nix::unistd::setgroups(&groups).map_err(|_| "Could not set groups of effective user")?;
    nix::unistd::setgid(found.gid).map_err(|_| "Could not set group id of effective user")?;
    nix::unistd::setuid(found.uid).map_err(|_| "Could not set user id of effective user")?;
    Ok(())
}

/// supervisord's `set_rlimits_or_exit`: soft RLIMIT_NOFILE and
/// RLIMIT_NPROC raised to `minfds` and `minprocs` where lower (the hard
/// limit too where root may); Ok lists what was raised, Err is the
/// refusal, in supervisord's words.
pub fn raise_limits(minfds: u64, minprocs: u64) -> Result<Vec<String>, String> {
    let limits = [
        (
            libc::RLIMIT_NOFILE,
            "RLIMIT_NOFILE",
            minfds,
            "The minimum number of file descriptors required to run this process is \
             {min} as per the \"minfds\" command-line argument or config file setting. \
             The current environment will only allow you to open {hard} file descriptors.  \
             Either raise the number of usable file descriptors in your environment (see \
             README.rst) or lower the minfds setting in the config file to allow the \
             process to start.",
        ),
        (
            libc::RLIMIT_NPROC,
            "RLIMIT_NPROC",
            minprocs,
            "The minimum number of available processes required to run this program is \
             {min} as per the \"minprocs\" command-line argument or config file setting. \
             The current environment will only allow you to open {hard} processes.  \
             Either raise the number of usable processes in your environment (see \
             README.rst) or lower the minprocs setting in the config file to allow the \
             program to start.",
        ),
    ];
    let mut raised = Vec::new();
    for (res, name, min, msg) in limits {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: lim is a valid rlimit to fill.
        if unsafe { libc::getrlimit(res, &mut lim) } < 0 {
            continue;
        }
        let inf = libc::RLIM_INFINITY;
        if lim.rlim_cur >= min || lim.rlim_cur == inf {
            continue;
        }
        let hard = if lim.rlim_max < min && lim.rlim_max != inf {
            min
        } else {
            lim.rlim_max
        };
        let new = libc::rlimit {
            rlim_cur: min,
            rlim_max: hard,
        };
        // SAFETY: as above.
        if unsafe { libc::setrlimit(res, &new) } < 0 {
            return Err(msg
                .replace("{min}", &min.to_string())
                .replace("{hard}", &hard.to_string()));
        }
        raised.push(format!("Increased {name} limit to {min}"));
    }
    Ok(raised)
}

/// Detaches as supervisord does, but by running ourselves again (a child
/// that did not exec would look, to every sv daemon's census, like one
/// not yet born): the same command line with `--sv-detached`, in a new
/// session, stdin and stdout on /dev/null. Its stderr comes through a
/// pipe until the daemon detaches it, and is relayed; a byte on a second
/// pipe, at the child's descriptor 3, says the daemon is up. Returns what
/// the caller exits with: 0 once the daemon is up, else the daemon's own
/// status, with its words.
pub fn daemonize(argv0: &OsStr, args: &[OsString]) -> exit::Result {
    let failed =
        |e: &dyn std::fmt::Display| Stop::failed(format!("supervisord: cannot detach: {e}"));
    let exe = std::env::current_exe().map_err(|e| failed(&e))?;
    let (ready_r, ready_w) = crate::core::sys::pipe().map_err(|e| failed(&e))?;
    let mut ready_r = std::fs::File::from(ready_r);
    let ready_raw = ready_w.as_raw_fd();
    let mut cmd = Command::new(exe);
    cmd.arg0(argv0);
    // Run as `sv`: the applet's name comes first.
    let named = Path::new(argv0)
        .file_name()
        .is_some_and(|n| n == "supervisord");
    if !named {
        cmd.arg("supervisord");
    }
    cmd.arg("--sv-detached")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            libc::setsid();
            let done = if ready_raw == READY_FD {
                libc::fcntl(READY_FD, libc::F_SETFD, 0)
            } else {
                libc::dup2(ready_raw, READY_FD)
            };
            if done < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().map_err(|e| failed(&e))?;
    drop(ready_w);
    let mut said = String::new();
    if let Some(mut err) = child.stderr.take() {
        let _ = err.read_to_string(&mut said);
    }
    let mut byte = [0u8; 1];
    let up = matches!(ready_r.read(&mut byte), Ok(1));
    eprint!("{said}");
    if up {
        return Ok(());
    }
    let code = child.wait().ok().and_then(|s| s.code());
    Err(Stop::told(exit_of(code)))
}

/// Where the detached daemon finds its end of the ready pipe.
const READY_FD: RawFd = 3;

/// In the detached daemon, first of all: its end of the ready pipe, kept
/// from the programs it starts, and nothing else of its caller's open (a
/// pipe of its caller's must not live on in a daemon that outlives it).
pub fn detached_start() -> OwnedFd {
    // SAFETY: descriptor 3 was put there for us by `daemonize`; nothing
    // of ours is open above it yet.
    unsafe {
        libc::fcntl(READY_FD, libc::F_SETFD, libc::FD_CLOEXEC);
        crate::core::sys::close_from(READY_FD + 1);
        OwnedFd::from_raw_fd(READY_FD)
    }
}

/// The daemon is up: one byte to the parent, which then exits 0.
pub fn tell_ready(fd: OwnedFd) {
    let mut f = std::fs::File::from(fd);
    let _ = f.write_all(b"1");
}

/// The pidfile, removed when dropped (the daemon has stopped).
pub struct PidFile(PathBuf);

impl PidFile {
    /// Writes our pid to `path`, over a stale one, never through a link
    /// another user planted; a failure is logged as supervisord logs it
    /// and the daemon goes on.
    pub fn write(path: PathBuf, log: &mut Logger) -> Option<PidFile> {
        let written = trust::open_log(&path, LogOpen::Write).and_then(|mut f| {
            f.set_len(0)?;
            f.write_all(format!("{}\n", std::process::id()).as_bytes())
        });
        match written {
            Ok(()) => Some(PidFile(path)),
            Err(e) => {
                log.error(&format!("could not write pidfile {}: {e}", path.display()));
                None
            }
        }
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
