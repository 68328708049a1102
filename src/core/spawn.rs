//! The only fork and exec in sv (SPEC §6), done as posix_spawn does it:
//! clone(2) with CLONE_VM | CLONE_VFORK, so no page tables are copied.
//!
//! Everything the child needs (argv, env, paths, ids) is built as C strings
//! before the clone, so the child makes only raw system calls: it
//! joins its own process group, resets signal dispositions and the mask the
//! daemon blocked for its signalfd, wires stdin to /dev/null and stdout and
//! stderr to their targets, closes every other descriptor, applies umask,
//! cwd and user, then execs. If any of that fails it stores errno in the
//! memory it shares with the parent and exits 127, so the parent learns the
//! OS reason at once (`spawn error: No such file or directory`) instead of
//! seeing a mysterious quick exit.
//!
//! A restart is on the critical path between a crash and the service being
//! back, so the child's work before exec is kept to a handful of system
//! calls: what never changes (the /dev/null descriptor, which signals need
//! resetting, the descriptor limit to restore, the stack) is prepared once.

use std::cell::RefCell;
use std::ffi::{CString, OsStr};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};

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

/// An environment many commands share (the daemon's own), as C strings
/// built once: each command keeps only what it adds.
#[derive(Debug, Default)]
pub struct Env {
    vars: Vec<CString>,
}

impl Env {
    /// `KEY=VALUE` strings; a variable with a NUL byte (impossible in a
    /// real environment) is left out.
    pub fn new(vars: &[(String, String)]) -> Env {
        Env {
            vars: vars
                .iter()
                .filter_map(|(k, v)| CString::new(format!("{k}={v}")).ok())
                .collect(),
        }
    }

    /// The value of `key`, the last one if it is there twice.
    fn get(&self, key: &str) -> Option<&str> {
        self.vars.iter().rev().find_map(|v| value_of(v, key))
    }
}

/// The value of `var` (`KEY=VALUE`) when its key is `key`.
fn value_of<'a>(var: &'a CString, key: &str) -> Option<&'a str> {
    let value = var
        .as_bytes()
        .strip_prefix(key.as_bytes())?
        .strip_prefix(b"=")?;
    std::str::from_utf8(value).ok()
}

/// A process to start, with its strings already built.
#[derive(Debug)]
pub struct Command {
    path: CString,
    argv: Vec<CString>,
    /// The shared environment; the entries at `hidden` are overridden.
    base: std::sync::Arc<Env>,
    hidden: Vec<usize>,
    /// What this command adds to (or overrides in) `base`, each key once.
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
    /// Its start time in clock ticks since boot, as field 22 of
    /// `/proc/PID/stat` gives it (see [`boot_ticks`]).
    pub start_time: u64,
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
    /// the PATH of the environment) and builds the C strings. The child's
    /// environment is `base` with `extra` added, a later value of a key
    /// replacing an earlier one (so every libc's getenv sees the same). A
    /// program that cannot be found fails here, before any fork.
    pub fn new(
        argv: &[String],
        base: &std::sync::Arc<Env>,
        extra: &[(String, String)],
        cwd: Option<&Path>,
    ) -> io::Result<Command> {
        let program = argv
            .first()
            .filter(|p| !p.is_empty())
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "empty command line"))?;
        let path_var = extra
            .iter()
            .rev()
            .find(|(k, _)| k == "PATH")
            .map(|(_, v)| v.as_str())
            .or_else(|| base.get("PATH"))
            .unwrap_or("/usr/local/bin:/usr/bin:/bin");
        let path = resolve(program, path_var, cwd)?;
        let mut env: Vec<CString> = Vec::with_capacity(extra.len());
        for (i, (k, v)) in extra.iter().enumerate() {
            if extra[i + 1..].iter().any(|(later, _)| later == k) {
                continue;
            }
            env.push(cstring(
                format!("{k}={v}").as_bytes(),
                "an environment variable",
            )?);
        }
        let hidden = base
            .vars
            .iter()
            .enumerate()
            .filter(|(_, var)| extra.iter().any(|(k, _)| value_of(var, k).is_some()))
            .map(|(i, _)| i)
            .collect();
        Ok(Command {
            path: cstring(path.as_os_str().as_bytes(), "program path")?,
            argv: argv
                .iter()
                .map(|a| cstring(a.as_bytes(), "an argument"))
                .collect::<io::Result<_>>()?,
            base: std::sync::Arc::clone(base),
            hidden,
            env,
            cwd: cwd
                .map(|c| cstring(c.as_os_str().as_bytes(), "working directory"))
                .transpose()?,
            umask: None,
            user: None,
            stdout: Target::Pipe,
            stderr: Target::Pipe,
        })
    }

    /// The child's environment: the shared one less what is overridden,
    /// then this command's own.
    fn environment(&self) -> impl Iterator<Item = &CString> {
        self.base
            .vars
            .iter()
            .enumerate()
            .filter(|(i, _)| !self.hidden.contains(i))
            .map(|(_, v)| v)
            .chain(&self.env)
    }

    /// Forks and execs. Returns once the child has exec'd (or failed to).
    pub fn spawn(&self) -> io::Result<Child> {
        let shared = shared()?;
        let devnull = shared.devnull.as_raw_fd();
        let (out_r, out_w) = stream(&self.stdout)?;
        let (err_r, err_w) = match self.stderr {
            Target::SameAsStdout => (None, out_w.as_ref().map(|f| f.try_clone()).transpose()?),
            ref t => stream(t)?,
        };
        let out_fd = out_w
            .as_ref()
            .map_or_else(|| raw_target(&self.stdout, devnull), |f| f.as_raw_fd());
        let err_fd = match self.stderr {
            Target::SameAsStdout => out_fd,
            ref t => err_w
                .as_ref()
                .map_or_else(|| raw_target(t, devnull), |f| f.as_raw_fd()),
        };

        let argv: Vec<*const libc::c_char> = self
            .argv
            .iter()
            .map(|a| a.as_ptr())
            .chain(std::iter::once(std::ptr::null()))
            .collect();
        let envp: Vec<*const libc::c_char> = self
            .environment()
            .map(|a| a.as_ptr())
            .chain(std::iter::once(std::ptr::null()))
            .collect();
        let groups: &[libc::gid_t] = self.user.as_ref().map_or(&[], |u| &u.groups);

        let ctx = ChildCtx {
            cmd: self,
            argv: &argv,
            envp: &envp,
            groups,
            stdio: [devnull, out_fd, err_fd],
            shared,
            errno: AtomicI32::new(0),
        };
        // clone(2) with CLONE_VM | CLONE_VFORK, as posix_spawn does: the
        // child borrows our memory instead of copying our page tables (the
        // cost of fork grows with the daemon), and we sleep until it has
        // exec'd or died. The child runs on its own stack, touches nothing
        // of ours but what `ctx` lends it (and its errno slot), and makes
        // raw system calls only.
        let (pid, before, after) = STACK.with(|stack| {
            let mut stack = stack.borrow_mut();
            let before = boot_ns();
            // SAFETY: the stack top is within `stack`, 16-byte aligned, and
            // nothing else uses the stack meanwhile (we are suspended);
            // `ctx` outlives the call, since CLONE_VFORK returns only after
            // exec or exit.
            let pid = unsafe {
                let top = stack.as_mut_ptr().add(stack.len()) as usize & !15;
                libc::clone(
                    child_entry,
                    top as *mut libc::c_void,
                    libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
                    &ctx as *const ChildCtx as *mut libc::c_void,
                )
            };
            (pid, before, boot_ns())
        });
        if pid < 0 {
            return Err(io::Error::last_os_error());
        }
        drop(out_w);
        drop(err_w);
        match ctx.errno.load(Ordering::SeqCst) {
            0 => Ok(Child {
                pid,
                stdout: out_r,
                stderr: err_r,
                start_time: boot_ticks(before, after, shared.tick_ns)
                    .map_or_else(|| super::sys::start_time(pid), Ok)?,
            }),
            errno => {
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

/// What every child needs that does not change while the daemon runs.
struct Shared {
    /// Open read-write, close-on-exec; dup'd onto stdin of every child.
    devnull: OwnedFd,
    /// The signals whose disposition is not SIG_DFL here (ignored, or
    /// caught by the Rust runtime): the child resets exactly these. The
    /// daemon never changes a disposition after it has started.
    reset: Vec<libc::c_int>,
    /// The descriptor limit to give back, when the daemon raised its own.
    nofile: Option<libc::rlimit>,
    /// Nanoseconds per clock tick of /proc (USER_HZ).
    tick_ns: u64,
}

static SHARED: std::sync::OnceLock<Shared> = std::sync::OnceLock::new();

/// Prepares what every spawn shares. The daemon calls it during setup, so
/// the descriptor it keeps is there from the start; otherwise the first
/// spawn does.
pub fn prepare() -> io::Result<()> {
    shared().map(drop)
}

fn shared() -> io::Result<&'static Shared> {
    if let Some(s) = SHARED.get() {
        return Ok(s);
    }
    let devnull: OwnedFd = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")?
        .into();
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let nofile = CHILD_NOFILE.get().copied().filter(|old| {
        let mut now = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: now is a valid rlimit to fill.
        let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut now) };
        rc < 0 || now.rlim_cur != old.rlim_cur || now.rlim_max != old.rlim_max
    });
    Ok(SHARED.get_or_init(|| Shared {
        devnull,
        reset: (1..=64).filter(|&sig| !is_default(sig)).collect(),
        nofile,
        tick_ns: if hz > 0 { 1_000_000_000 / hz as u64 } else { 0 },
    }))
}

/// Whether `sig` has the default disposition here (rt_sigaction(2)
/// directly: libc's wrappers refuse the signals they keep, 32 and 33).
fn is_default(sig: libc::c_int) -> bool {
    if sig == libc::SIGKILL || sig == libc::SIGSTOP {
        return true;
    }
    let mut old = KernelSigaction::default();
    // SAFETY: querying only; `old` is a valid kernel sigaction to fill.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_rt_sigaction,
            sig,
            std::ptr::null::<KernelSigaction>(),
            &mut old as *mut KernelSigaction,
            8usize,
        )
    };
    rc == 0 && old.handler == libc::SIG_DFL
}

thread_local! {
    /// Stack for the cloned child until it execs, reused: only one child
    /// of a thread runs on it at a time, while that thread is suspended.
    static STACK: RefCell<Vec<u8>> = RefCell::new(vec![0u8; CHILD_STACK]);
}

/// CLOCK_BOOTTIME in nanoseconds: the clock the kernel stamps a new
/// process with (`start_boottime`).
fn boot_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid timespec to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// A child's /proc start time without reading /proc: the kernel stamps it
/// with CLOCK_BOOTTIME during clone(2) and shows it in whole clock ticks,
/// so when the clock read just before and just after clone falls in the
/// same tick, that tick is it. None when they straddle a tick boundary.
pub fn boot_ticks(before_ns: u64, after_ns: u64, tick_ns: u64) -> Option<u64> {
    if tick_ns == 0 {
        return None;
    }
    let (a, b) = (before_ns / tick_ns, after_ns / tick_ns);
    (a == b).then_some(a)
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

fn raw_target(t: &Target, devnull: RawFd) -> RawFd {
    match t {
        Target::Fd(fd) => *fd,
        Target::Pipe | Target::Null | Target::SameAsStdout => devnull,
    }
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
    shared: &'a Shared,
    /// Set by the child when it fails before exec; read by the parent once
    /// clone(2) returns (the memory is shared).
    errno: AtomicI32,
}

extern "C" fn child_entry(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` is the `ChildCtx` that `spawn` passed to clone(2); it
    // lives until this child has exec'd or exited (CLONE_VFORK).
    unsafe { child_exec(&*(arg as *const ChildCtx)) }
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
unsafe fn child_exec(ctx: &ChildCtx) -> ! {
    let fail = || -> ! {
        ctx.errno.store(*libc::__errno_location(), Ordering::SeqCst);
        libc::_exit(127)
    };
    let cmd = ctx.cmd;
    libc::setpgid(0, 0);
    // Only what is not SIG_DFL needs resetting: exec resets caught signals
    // itself, but a handler must not run here, on the parent's memory.
    // Raw rt_sigaction(2): libc's wrappers refuse 32 and 33, which a parent
    // may still have left ignored.
    let default = KernelSigaction::default();
    for &sig in &ctx.shared.reset {
        libc::syscall(
            libc::SYS_rt_sigaction,
            sig,
            &default as *const KernelSigaction,
            std::ptr::null_mut::<KernelSigaction>(),
            8usize,
        );
    }
    let empty: u64 = 0;
    libc::syscall(
        libc::SYS_rt_sigprocmask,
        libc::SIG_SETMASK,
        &empty as *const u64,
        std::ptr::null_mut::<u64>(),
        8usize,
    );

    for (target, &fd) in ctx.stdio.iter().enumerate() {
        if fd == target as RawFd {
            // Already in place (the daemon's own stdout): just clear CLOEXEC.
            let flags = libc::fcntl(fd, libc::F_GETFD);
            libc::fcntl(fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC);
        } else if libc::dup2(fd, target as RawFd) < 0 {
            fail();
        }
    }
    close_from(3);

    if let Some(lim) = &ctx.shared.nofile {
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
            fail();
        }
    }
    // Only root changes identity; a daemon that is not root may only name
    // its own user (checked before the fork), which needs no change.
    if let Some(user) = cmd.user.as_ref().filter(|_| libc::geteuid() == 0) {
        // Raw calls: libc's setuid family may try to reach every thread of
        // the process, and this child shares the parent's memory.
        if libc::syscall(libc::SYS_setgroups, ctx.groups.len(), ctx.groups.as_ptr()) < 0
            || libc::syscall(libc::SYS_setgid, user.gid) < 0
            || libc::syscall(libc::SYS_setuid, user.uid) < 0
        {
            fail();
        }
    }
    libc::execve(cmd.path.as_ptr(), ctx.argv.as_ptr(), ctx.envp.as_ptr());
    fail()
}

/// Closes every descriptor from `lo` up (close_range(2), with a bounded
/// loop where the kernel lacks it).
unsafe fn close_from(lo: RawFd) {
    if libc::syscall(libc::SYS_close_range, lo as u32, u32::MAX, 0) < 0 {
        for fd in lo..=65_536 {
            libc::close(fd);
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

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_later_value_of_a_variable_replaces_the_earlier() {
        let base = std::sync::Arc::new(Env::new(&pairs(&[
            ("HOME", "/root"),
            ("PATH", "/bin"),
            ("HOMEDIR", "x"),
        ])));
        let extra = pairs(&[("HOME", "/srv"), ("C", "3"), ("C", "4")]);
        let cmd = Command::new(&["/bin/true".to_string()], &base, &extra, None).unwrap();
        let env: Vec<&str> = cmd.environment().map(|c| c.to_str().unwrap()).collect();
        assert_eq!(env, ["PATH=/bin", "HOMEDIR=x", "HOME=/srv", "C=4"]);
    }

    #[test]
    fn the_start_time_matches_proc() {
        let base = std::sync::Arc::new(Env::default());
        let argv = ["/bin/sleep".to_string(), "30".to_string()];
        let mut cmd = Command::new(&argv, &base, &[], None).unwrap();
        cmd.stdout = Target::Null;
        cmd.stderr = Target::Null;
        for _ in 0..20 {
            let child = cmd.spawn().unwrap();
            let proc = crate::core::sys::start_time(child.pid).unwrap();
            // SAFETY: killing and reaping the child we just started.
            unsafe {
                libc::kill(child.pid, libc::SIGKILL);
                libc::waitpid(child.pid, std::ptr::null_mut(), 0);
            }
            assert_eq!(child.start_time, proc);
        }
    }

    #[test]
    fn boot_ticks_only_answers_within_one_tick() {
        assert_eq!(boot_ticks(10_000_001, 19_999_999, 10_000_000), Some(1));
        assert_eq!(boot_ticks(19_999_999, 20_000_001, 10_000_000), None);
        assert_eq!(boot_ticks(5, 6, 0), None);
    }

    #[test]
    fn exec_failure_reports_errno() {
        let cmd = Command::new(
            &["/nonexistent/prog".to_string()],
            &std::sync::Arc::new(Env::default()),
            &[],
            None,
        )
        .unwrap();
        let err = cmd.spawn().unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
    }
}
