//! The only fork and exec in sv (SPEC §6), done as posix_spawn does it:
//! clone(2) with CLONE_VM | CLONE_VFORK, so no page tables are copied.
//!
//! Everything the child needs (argv, env, paths, ids) is built as C strings
//! before the clone, so the child makes only raw system calls: it
//! joins its own process group, resets signal dispositions and the mask the
//! daemon blocked for its signalfd, wires stdin to /dev/null and stdout and
//! stderr to their targets, closes every other descriptor, applies umask,
//! cwd and user, then execs. If any of that fails it writes errno to a
//! close-on-exec pipe and exits 127, so the parent learns the OS reason at
//! once (`spawn error: No such file or directory`) instead of seeing a
//! mysterious quick exit.

use std::ffi::{CString, OsStr};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// The descriptor limit the daemon was given, before it raised its own
/// (see [`raise_nofile`]); children get this one back.
static CHILD_NOFILE: std::sync::OnceLock<libc::rlimit> = std::sync::OnceLock::new();

/// Raises the daemon's soft RLIMIT_NOFILE to its hard limit, since every
/// running service holds two FIFO ends, and remembers the old one for the
/// children: a program that uses select(2) must not get more than 1024.
pub fn raise_nofile() -> io::Result<()> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: lim is a valid rlimit to fill.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } < 0 {
        return Err(io::Error::last_os_error());
    }
    let _ = CHILD_NOFILE.set(lim);
    let raised = libc::rlimit {
        rlim_cur: lim.rlim_max,
        rlim_max: lim.rlim_max,
    };
    // SAFETY: as above.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Where one of the child's output streams goes.
#[derive(Debug)]
pub enum Target {
    /// A fresh pipe; the daemon reads the other end.
    Pipe,
    /// An existing descriptor, e.g. the daemon's own stdout (containers).
    Fd(RawFd),
    /// `/dev/null`.
    Null,
    /// stderr only: wherever stdout goes (redirect_stderr).
    SameAsStdout,
}

/// A user to run as: uid, primary gid and supplementary groups.
#[derive(Debug, Clone)]
pub struct RunAs {
    pub name: String,
    pub home: String,
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
}

/// A process to start, with its strings already built.
#[derive(Debug)]
pub struct Command {
    path: CString,
    argv: Vec<CString>,
    env: Vec<CString>,
    cwd: Option<CString>,
    pub umask: Option<u32>,
    pub user: Option<RunAs>,
    pub stdout: Target,
    pub stderr: Target,
}

/// A started child and the read ends of its output pipes.
#[derive(Debug)]
pub struct Child {
    pub pid: i32,
    pub stdout: Option<OwnedFd>,
    pub stderr: Option<OwnedFd>,
}

fn cstring(bytes: &[u8], what: &str) -> io::Result<CString> {
    CString::new(bytes).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{what} contains a NUL byte"),
        )
    })
}

impl Command {
    /// Resolves `argv[0]` (a path, relative to `cwd`, or a name looked up in
    /// the PATH of `env`) and builds the C strings. A program that cannot be
    /// found fails here, before any fork.
    pub fn new(
        argv: &[String],
        env: &[(String, String)],
        cwd: Option<&Path>,
    ) -> io::Result<Command> {
        let program = argv
            .first()
            .filter(|p| !p.is_empty())
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "empty command line"))?;
        let path_var = env
            .iter()
            .rev()
            .find(|(k, _)| k == "PATH")
            .map(|(_, v)| v.as_str())
            .unwrap_or("/usr/local/bin:/usr/bin:/bin");
        let path = resolve(program, path_var, cwd)?;
        Ok(Command {
            path: cstring(path.as_os_str().as_bytes(), "program path")?,
            argv: argv
                .iter()
                .map(|a| cstring(a.as_bytes(), "an argument"))
                .collect::<io::Result<_>>()?,
            env: env
                .iter()
                .map(|(k, v)| cstring(format!("{k}={v}").as_bytes(), "an environment variable"))
                .collect::<io::Result<_>>()?,
            cwd: cwd
                .map(|c| cstring(c.as_os_str().as_bytes(), "working directory"))
                .transpose()?,
            umask: None,
            user: None,
            stdout: Target::Pipe,
            stderr: Target::Pipe,
        })
    }

    /// Forks and execs. Returns once the child has exec'd (or failed to).
    pub fn spawn(&self) -> io::Result<Child> {
        let devnull = open_devnull()?;
        let (out_r, out_w) = stream(&self.stdout)?;
        let (err_r, err_w) = match self.stderr {
            Target::SameAsStdout => (None, out_w.as_ref().map(|f| f.try_clone()).transpose()?),
            ref t => stream(t)?,
        };
        let out_fd = out_w
            .as_ref()
            .map_or_else(|| raw_target(&self.stdout, &devnull), |f| f.as_raw_fd());
        let err_fd = match self.stderr {
            Target::SameAsStdout => out_fd,
            ref t => err_w
                .as_ref()
                .map_or_else(|| raw_target(t, &devnull), |f| f.as_raw_fd()),
        };
        let (report_r, report_w) = super::sys::pipe()?;

        let argv: Vec<*const libc::c_char> = self
            .argv
            .iter()
            .map(|a| a.as_ptr())
            .chain(std::iter::once(std::ptr::null()))
            .collect();
        let envp: Vec<*const libc::c_char> = self
            .env
            .iter()
            .map(|a| a.as_ptr())
            .chain(std::iter::once(std::ptr::null()))
            .collect();
        let groups: Vec<libc::gid_t> = self
            .user
            .as_ref()
            .map(|u| u.groups.clone())
            .unwrap_or_default();

        let ctx = ChildCtx {
            cmd: self,
            argv: &argv,
            envp: &envp,
            groups: &groups,
            stdio: [devnull.as_raw_fd(), out_fd, err_fd],
            report: report_w.as_raw_fd(),
        };
        // clone(2) with CLONE_VM | CLONE_VFORK, as posix_spawn does: the
        // child borrows our memory instead of copying our page tables (the
        // cost of fork grows with the daemon), and we sleep until it has
        // exec'd or died. The child runs on its own stack, touches nothing
        // of ours but what `ctx` lends it read-only, and makes raw system
        // calls only.
        let mut stack = vec![0u8; CHILD_STACK];
        // SAFETY: the stack top is within `stack`, 16-byte aligned; `ctx`
        // outlives the call, since CLONE_VFORK returns only after exec/exit.
        let pid = unsafe {
            let top = stack.as_mut_ptr().add(CHILD_STACK) as usize & !15;
            libc::clone(
                child_entry,
                top as *mut libc::c_void,
                libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
                &ctx as *const ChildCtx as *mut libc::c_void,
            )
        };
        drop(stack);
        if pid < 0 {
            return Err(io::Error::last_os_error());
        }
        drop(report_w);
        drop(out_w);
        drop(err_w);
        match read_errno(&report_r) {
            None => Ok(Child {
                pid,
                stdout: out_r,
                stderr: err_r,
            }),
            Some(errno) => {
                // The child exits 127 at once; reap it here so the SIGCHLD
                // handler never sees a pid it does not know.
                let mut status = 0;
                // SAFETY: waiting for our own child.
                unsafe { libc::waitpid(pid, &mut status, 0) };
                Err(io::Error::from_raw_os_error(errno))
            }
        }
    }
}

/// A pipe for a `Pipe` target: (read end for the daemon, write end for the child).
fn stream(target: &Target) -> io::Result<(Option<OwnedFd>, Option<OwnedFd>)> {
    match target {
        Target::Pipe => {
            let (r, w) = super::sys::pipe()?;
            super::sys::set_nonblocking(&r)?;
            Ok((Some(r), Some(w)))
        }
        Target::Fd(_) | Target::Null | Target::SameAsStdout => Ok((None, None)),
    }
}

fn raw_target(t: &Target, devnull: &OwnedFd) -> RawFd {
    match t {
        Target::Fd(fd) => *fd,
        Target::Pipe | Target::Null | Target::SameAsStdout => devnull.as_raw_fd(),
    }
}

fn open_devnull() -> io::Result<OwnedFd> {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")?;
    Ok(f.into())
}

/// Reads the child's errno report: None when the pipe closed empty (exec
/// succeeded and close-on-exec shut it).
fn read_errno(fd: &OwnedFd) -> Option<i32> {
    let mut buf = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        // SAFETY: reading into a local buffer.
        let n = unsafe { libc::read(fd.as_raw_fd(), buf[got..].as_mut_ptr().cast(), 4 - got) };
        if n < 0 {
            if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return None;
        }
        if n == 0 {
            break;
        }
        got += n as usize;
    }
    (got == 4).then(|| i32::from_ne_bytes(buf))
}

/// Stack for the cloned child until it execs.
const CHILD_STACK: usize = 128 * 1024;

/// What the cloned child needs, lent by the parent (which is suspended
/// while the child uses it).
struct ChildCtx<'a> {
    cmd: &'a Command,
    argv: &'a [*const libc::c_char],
    envp: &'a [*const libc::c_char],
    groups: &'a [libc::gid_t],
    stdio: [RawFd; 3],
    report: RawFd,
}

extern "C" fn child_entry(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` is the `ChildCtx` that `spawn` passed to clone(2); it
    // lives until this child has exec'd or exited (CLONE_VFORK).
    unsafe {
        let ctx = &*(arg as *const ChildCtx);
        child_exec(
            ctx.cmd, ctx.argv, ctx.envp, ctx.groups, ctx.stdio, ctx.report,
        )
    }
}

/// The kernel's `struct sigaction` (x86_64 and aarch64 layout); all zero is
/// SIG_DFL with no flags and an empty mask.
#[repr(C)]
#[derive(Default)]
struct KernelSigaction {
    handler: usize,
    flags: u64,
    restorer: usize,
    mask: u64,
}

/// Runs in the cloned child (sharing the parent's memory until exec).
/// Async-signal-safe calls only, and nothing that allocates or locks.
unsafe fn child_exec(
    cmd: &Command,
    argv: &[*const libc::c_char],
    envp: &[*const libc::c_char],
    groups: &[libc::gid_t],
    stdio: [RawFd; 3],
    report: RawFd,
) -> ! {
    let fail = |report: RawFd| -> ! {
        let errno = *libc::__errno_location();
        let bytes = errno.to_ne_bytes();
        libc::write(report, bytes.as_ptr().cast(), 4);
        libc::_exit(127)
    };
    libc::setpgid(0, 0);
    // rt_sigaction(2) directly: libc's wrappers refuse the signals they keep
    // for themselves (32, 33), which a parent may still have left ignored.
    let default = KernelSigaction::default();
    for sig in 1..=64 {
        if sig != libc::SIGKILL && sig != libc::SIGSTOP {
            libc::syscall(
                libc::SYS_rt_sigaction,
                sig,
                &default as *const KernelSigaction,
                std::ptr::null_mut::<KernelSigaction>(),
                8usize,
            );
        }
    }
    let empty: u64 = 0;
    libc::syscall(
        libc::SYS_rt_sigprocmask,
        libc::SIG_SETMASK,
        &empty as *const u64,
        std::ptr::null_mut::<u64>(),
        8usize,
    );

    // Move the report pipe above the stdio numbers we are about to fill.
    let report = if report <= 2 {
        let moved = libc::fcntl(report, libc::F_DUPFD_CLOEXEC, 3);
        if moved < 0 {
            libc::_exit(127);
        }
        moved
    } else {
        report
    };
    for (target, &fd) in stdio.iter().enumerate() {
        if fd == target as RawFd {
            // Already in place (the daemon's own stdout): just clear CLOEXEC.
            let flags = libc::fcntl(fd, libc::F_GETFD);
            libc::fcntl(fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC);
        } else if libc::dup2(fd, target as RawFd) < 0 {
            fail(report);
        }
    }
    close_others(report);

    if let Some(lim) = CHILD_NOFILE.get() {
        // Raw prlimit64: musl's setrlimit synchronises with every thread it
        // knows, and in this child those are the parent's.
        libc::syscall(
            libc::SYS_prlimit64,
            0,
            libc::RLIMIT_NOFILE,
            lim as *const libc::rlimit,
            std::ptr::null_mut::<libc::rlimit>(),
        );
    }
    if let Some(mask) = cmd.umask {
        libc::umask(mask as libc::mode_t);
    }
    if let Some(cwd) = &cmd.cwd {
        if libc::chdir(cwd.as_ptr()) < 0 {
            fail(report);
        }
    }
    // Only root changes identity; a daemon that is not root may only name
    // its own user (checked before the fork), which needs no change.
    if let Some(user) = cmd.user.as_ref().filter(|_| libc::geteuid() == 0) {
        // Raw calls: libc's setuid family may try to reach every thread of
        // the process, and this child shares the parent's memory.
        if libc::syscall(libc::SYS_setgroups, groups.len(), groups.as_ptr()) < 0
            || libc::syscall(libc::SYS_setgid, user.gid) < 0
            || libc::syscall(libc::SYS_setuid, user.uid) < 0
        {
            fail(report);
        }
    }
    libc::execve(cmd.path.as_ptr(), argv.as_ptr(), envp.as_ptr());
    fail(report)
}

/// Closes every descriptor above 2 but `keep` (close_range(2), with a
/// bounded loop where the kernel lacks it).
unsafe fn close_others(keep: RawFd) {
    let ranges = [(3, keep - 1), (keep + 1, RawFd::MAX)];
    for (lo, hi) in ranges {
        if lo > hi {
            continue;
        }
        if libc::syscall(libc::SYS_close_range, lo as u32, hi as u32, 0) < 0 {
            let top = hi.min(65_536);
            for fd in lo..=top {
                libc::close(fd);
            }
        }
    }
}

/// Finds the program: a path with a `/` is taken as is (relative to `cwd`),
/// a bare name is searched in `path_var`.
pub fn resolve(program: &str, path_var: &str, cwd: Option<&Path>) -> io::Result<PathBuf> {
    if program.contains('/') {
        let p = Path::new(program);
        let full = match cwd {
            Some(dir) if p.is_relative() => dir.join(p),
            _ => p.to_path_buf(),
        };
        return Ok(full);
    }
    for dir in path_var.split(':').filter(|d| !d.is_empty()) {
        let candidate = Path::new(dir).join(OsStr::new(program));
        if is_executable(&candidate) {
            return Ok(candidate);
        }
    }
    Err(io::Error::from_raw_os_error(libc::ENOENT))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_names_are_searched_in_path() {
        let p = resolve("sh", "/nonexistent:/bin:/usr/bin", None).unwrap();
        assert!(p.ends_with("sh"));
        let e = resolve("no-such-program-sv", "/bin:/usr/bin", None).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ENOENT));
    }

    #[test]
    fn relative_paths_resolve_against_cwd() {
        let p = resolve("./run.sh", "/bin", Some(Path::new("/srv/app"))).unwrap();
        assert_eq!(p, PathBuf::from("/srv/app/./run.sh"));
    }

    #[test]
    fn exec_failure_reports_errno() {
        let cmd = Command::new(&["/nonexistent/prog".to_string()], &[], None).unwrap();
        let err = cmd.spawn().unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
    }
}
