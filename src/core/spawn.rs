//! The only fork and exec in sv (SPEC §6): clone(2) with CLONE_VM, so no
//! page tables are copied, and without CLONE_VFORK, so the daemon does not
//! wait for each child to reach its exec: it can start the next one while
//! this one loads, on another CPU ([`Command::launch`], then
//! [`Pending::try_wait`] when the loop sees the report pipe readable). A
//! child that never reaches its exec (stopped, or hung in a chdir on a
//! dead NFS server) so delays nobody but its service.
//!
//! Everything the child needs (argv, env, paths, ids) is built as C strings
//! before the clone, and the child makes only raw system calls (`child`,
//! which opens with the rules it keeps): it joins its own process group,
//! sets every signal disposition to the default and unblocks every
//! signal, wires stdin to /dev/null and stdout and stderr to their
//! targets, closes every other descriptor, applies umask, cwd and user,
//! then execs. If any of that fails it writes errno to a close-on-exec
//! pipe and exits 127, so the daemon learns the OS reason at once (`spawn
//! error: No such file or directory`) instead of seeing a mysterious quick
//! exit. The pipe closing is also how the daemon knows the child no longer
//! uses its memory.
//!
//! A restart is on the critical path between a crash and the service being
//! back, so the child's work before exec is kept to plain system calls:
//! what never changes (the /dev/null descriptor, the descriptor limit to
//! restore) is prepared once, and stacks are kept for reuse. Resetting all
//! 62 dispositions rather than those that were not default at start costs
//! the child about 8 µs before its exec: the price of not trusting that
//! nothing changed one since.
//!
//! One job a file: the strings are built in `command` ([`Command::new`]),
//! the child's side is `child`, its stack is `stack`, and a launch not yet
//! known to have exec'd is a [`Pending`] (`pending`); this file starts
//! children.

// The child shares the daemon's memory: every unsafe step says why it holds.
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

mod child;
mod command;
mod pending;
mod stack;

pub use command::{resolve, Command, Env};
pub use pending::Pending;

use child::ChildCtx;
use stack::Stack;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Arc;

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

/// How one start of a [`Command`] is wired.
#[derive(Debug)]
pub struct Wiring {
    /// The child's stdin: /dev/null unless given (an event listener's pipe,
    /// SPEC §14).
    pub stdin: Option<RawFd>,
    pub stdout: Target,
    pub stderr: Target,
    pub user: Option<RunAs>,
    /// Descriptors the targets name that must stay open until the child
    /// has them (the daemon's ends of FIFOs opened for it).
    pub keep: Vec<OwnedFd>,
}

/// A started child.
#[derive(Debug)]
pub struct Child {
    pub pid: i32,
    /// Its start time in clock ticks since boot, as field 22 of
    /// `/proc/PID/stat` gives it (see [`boot_ticks`]).
    pub start_time: u64,
}

impl Command {
    /// Starts a child and returns at once, before it has exec'd: the
    /// outcome is [`Pending::try_wait`]'s. The command stays alive (shared)
    /// until then, since the child reads its strings.
    pub fn launch(self: &Arc<Self>, wiring: Wiring) -> io::Result<Pending> {
        self.launch_with(wiring, None)
    }

    /// [`Command::launch`], and with `extra = Some((fd, n))` the daemon's
    /// `fd` becomes the child's descriptor `n` (above 2): s6's
    /// notification fd (`ready=fd:N`). `fd` must stay open until the child
    /// has exec'd: put it in `wiring.keep`.
    pub fn launch_with(
        self: &Arc<Self>,
        wiring: Wiring,
        extra: Option<(RawFd, RawFd)>,
    ) -> io::Result<Pending> {
        let shared = shared()?;
        let (stdio, mut moved) = stdio_sources(&wiring, shared.devnull.as_raw_fd())?;
        // The child fills 0, 1 and 2 before it copies `fd` to `n`: a
        // source below 3 is copied above 2 first, as stdio's are.
        let extra = match extra {
            Some((fd, n)) if fd < 3 => {
                let copy = dup_above_stdio(fd)?;
                let fd = copy.as_raw_fd();
                moved.push(copy);
                Some((fd, n))
            }
            e => e,
        };
        let (report_r, report_w) = report_pipe()?;
        // The child keeps both the report pipe and `n`: they must differ.
        let report_w = match extra {
            Some((_, n)) if n == report_w.as_raw_fd() => dup_above(report_w.as_raw_fd(), n)?,
            _ => report_w,
        };
        // Only root changes identity; a daemon that is not root may only
        // name its own user (checked before), which needs no change.
        // SAFETY: geteuid cannot fail.
        let root = unsafe { libc::geteuid() } == 0;
        let stack = Stack::take()?;
        let ctx = Box::into_raw(Box::new(ChildCtx {
            path: self.at(self.path),
            argv: self
                .argv
                .iter()
                .map(|&at| self.at(at))
                .chain(std::iter::once(std::ptr::null()))
                .collect(),
            envp: self
                .environment()
                .chain(std::iter::once(std::ptr::null()))
                .collect(),
            cwd: self.cwd.map(|at| self.at(at)),
            umask: self.umask,
            groups: wiring
                .user
                .as_ref()
                .map(|u| u.groups.clone())
                .unwrap_or_default(),
            ids: wiring
                .user
                .as_ref()
                .filter(|_| root)
                .map(|u| (u.uid, u.gid)),
            stdio,
            report: report_w.as_raw_fd(),
            extra,
            shared,
        }));
        // SAFETY: `ctx`, the strings of `self` it points at and `stack`
        // go into the Pending below, which keeps them alive and untouched
        // until the report pipe has ended (child.rs, rules 3, 8); on a
        // failed clone there is no child and they go at once.
        let cloned = unsafe { clone_child(&stack, ctx, shared.tick_ns) };
        // Our copy of the write end goes at once, or the pipe never ends.
        drop(report_w);
        let (pid, start_time) = match cloned {
            Ok(child) => child,
            Err(e) => {
                stack.give_back();
                // SAFETY: from Box::into_raw above; no child was made.
                drop(unsafe { Box::from_raw(ctx) });
                return Err(e);
            }
        };
        Ok(Pending {
            pid,
            report: report_r,
            buf: [0; 8],
            got: 0,
            ctx,
            stack: Some(stack),
            _cmd: Arc::clone(self),
            start_time,
            // Our copies of the child's ends: the child has its own.
            _hold: (wiring.keep, moved),
        })
    }
}

/// What becomes the child's stdin (/dev/null unless given), stdout and stderr, and the
/// copies made for that, to hold until the child has its own.
fn stdio_sources(wiring: &Wiring, devnull: RawFd) -> io::Result<([RawFd; 3], Vec<OwnedFd>)> {
    let out_fd = raw_target(&wiring.stdout, devnull);
    let err_fd = match &wiring.stderr {
        Target::SameAsStdout => out_fd,
        t => raw_target(t, devnull),
    };
    // The child fills 0, 1 and 2 in that order: a source below 3 that
    // is not already in its place could be overwritten before it is
    // copied (stdout to a file, stderr to the daemon's stdout), so
    // those are copied above 2 first.
    let mut stdio = [wiring.stdin.unwrap_or(devnull), out_fd, err_fd];
    let mut moved = Vec::new();
    for (target, fd) in stdio.iter_mut().enumerate() {
        if *fd < 3 && *fd != target as RawFd {
            let copy = dup_above_stdio(*fd)?;
            *fd = copy.as_raw_fd();
            moved.push(copy);
        }
    }
    Ok((stdio, moved))
}

/// The report pipe, read end then write end.
fn report_pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let (report_r, report_w) = super::sys::pipe()?;
    // Polled by the loop with everything else (see Pending::try_wait).
    super::sys::set_nonblocking(&report_r)?;
    // Above the stdio numbers the child is about to fill.
    Ok((report_r, above_stdio(report_w)?))
}

/// clone(2) with CLONE_VM onto `stack`, running `child::entry` with
/// `ctx`: the child's pid and start time (see [`boot_ticks`]).
///
/// # Safety
/// `ctx`, everything it points at and `stack` must stay alive and
/// untouched until the report pipe has ended (child.rs, rules 3, 8).
unsafe fn clone_child(
    stack: &Stack,
    ctx: *mut ChildCtx,
    tick_ns: u64,
) -> io::Result<(i32, Option<u64>)> {
    // The child starts with every signal blocked, so no handler of
    // ours runs in it before it has reset them all (child.rs, rule 6).
    let unblock = block_all();
    let before = boot_ns();
    // SAFETY: the child runs `child::entry` on its own guarded stack
    // (the top of a mapping, page-aligned) and reads only `ctx` and
    // what it points at, alive and untouched until the report pipe has
    // ended (the caller vouches for that; child.rs, rules 3, 8).
    // errno is read before any other call can change it.
    let (pid, clone_error) = unsafe {
        let pid = libc::clone(
            child::entry,
            stack.top(),
            libc::CLONE_VM | libc::SIGCHLD,
            ctx.cast::<libc::c_void>(),
        );
        (pid, (pid < 0).then(io::Error::last_os_error))
    };
    let after = boot_ns();
    if let Some(mask) = unblock {
        restore_mask(mask);
    }
    match clone_error {
        Some(e) => Err(e),
        None => Ok((pid, boot_ticks(before, after, tick_ns))),
    }
}

/// Blocks every signal the kernel lets a process block (rt_sigprocmask(2)
/// directly: libc's wrappers leave out the ones they keep, 32 and 33) and
/// returns the mask to put back. None if it failed (it cannot with valid
/// pointers): then nothing was blocked, and the child still resets every
/// disposition before it unblocks.
fn block_all() -> Option<u64> {
    let all: u64 = !0;
    let mut old: u64 = 0;
    // SAFETY: both point at 8-byte sigsets on our stack.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK,
            &all as *const u64,
            &mut old as *mut u64,
            8usize,
        )
    };
    (rc == 0).then_some(old)
}

/// Puts back the mask [`block_all`] returned.
fn restore_mask(old: u64) {
    // SAFETY: points at an 8-byte sigset on our stack; the old mask is
    // not asked for.
    unsafe {
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK,
            &old as *const u64,
            std::ptr::null_mut::<u64>(),
            8usize,
        )
    };
}

/// A close-on-exec copy of `fd` numbered 3 or above.
fn dup_above_stdio(fd: RawFd) -> io::Result<OwnedFd> {
    dup_above(fd, 2)
}

/// A close-on-exec copy of `fd` numbered above `n`.
fn dup_above(fd: RawFd, n: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: duplicating a descriptor that is open (a stdio target, or
    // the report pipe).
    let copy = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, n + 1) };
    if copy < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `copy` is a new descriptor and ours.
    Ok(unsafe { OwnedFd::from_raw_fd(copy) })
}

/// Moves a descriptor to 3 or above (close-on-exec), if it is not already.
fn above_stdio(fd: OwnedFd) -> io::Result<OwnedFd> {
    if fd.as_raw_fd() > 2 {
        return Ok(fd);
    }
    dup_above_stdio(fd.as_raw_fd())
}

/// What every child needs that does not change while the daemon runs.
struct Shared {
    /// Open read-write, close-on-exec; dup'd onto stdin of every child.
    devnull: OwnedFd,
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
        nofile,
        tick_ns: if hz > 0 { 1_000_000_000 / hz as u64 } else { 0 },
    }))
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

fn raw_target(t: &Target, devnull: RawFd) -> RawFd {
    match t {
        Target::Fd(fd) => *fd,
        Target::Null | Target::SameAsStdout => devnull,
    }
}

#[cfg(test)]
mod extra_tests;

#[cfg(test)]
mod tests {
    use super::*;

    /// Output to /dev/null, no user change.
    fn quiet() -> Wiring {
        Wiring {
            stdin: None,
            stdout: Target::Null,
            stderr: Target::Null,
            user: None,
            keep: Vec::new(),
        }
    }

    /// Waits for a launch's outcome as the loop does: poll the report
    /// pipe, then try_wait.
    fn settled(mut pending: Pending) -> io::Result<Child> {
        loop {
            if let Some(done) = pending.try_wait() {
                return done;
            }
            let mut pfd = libc::pollfd {
                fd: pending.report_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd; EINTR or a timeout just loops.
            unsafe { libc::poll(&mut pfd, 1, 1000) };
        }
    }

    #[test]
    fn the_start_time_matches_proc() {
        let base = std::sync::Arc::new(Env::default());
        let argv = ["/bin/sleep".to_string(), "30".to_string()];
        let cmd = Arc::new(Command::new(&argv, &base, &[], None).unwrap());
        for _ in 0..20 {
            let child = settled(cmd.launch(quiet()).unwrap()).unwrap();
            let proc = crate::core::sys::start_time(child.pid).unwrap();
            // SAFETY: killing and reaping the child we just started.
            unsafe {
                libc::kill(child.pid, libc::SIGKILL);
                libc::waitpid(child.pid, std::ptr::null_mut(), 0);
            }
            assert_eq!(child.start_time, proc);
        }
    }

    /// Many children in flight at once, then each waited for: every one
    /// exec'd its own command line (its /proc cmdline says so), and a
    /// Pending dropped without a wait still settles its child first.
    #[test]
    fn launches_in_flight_together_each_exec_their_own_command() {
        let base = Arc::new(Env::default());
        let cmds: Vec<Arc<Command>> = (0..12)
            .map(|i| {
                let argv = ["/bin/sleep".to_string(), format!("{}", 30 + i)];
                Arc::new(Command::new(&argv, &base, &[], None).unwrap())
            })
            .collect();
        let pending: Vec<Pending> = cmds.iter().map(|c| c.launch(quiet()).unwrap()).collect();
        let dropped = cmds[0].launch(quiet()).unwrap();
        let dropped_pid = dropped.pid();
        drop(dropped);
        let mut pids = vec![dropped_pid];
        for (i, p) in pending.into_iter().enumerate() {
            let child = settled(p).unwrap();
            // The new image may still be finishing its exec (its argv is
            // set up after the report pipe closes): give it a moment.
            let want = format!("/bin/sleep\0{}\0", 30 + i).into_bytes();
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
            let mut cmdline = Vec::new();
            while std::time::Instant::now() < deadline {
                cmdline = std::fs::read(format!("/proc/{}/cmdline", child.pid)).unwrap();
                if cmdline == want {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            assert_eq!(cmdline, want);
            pids.push(child.pid);
        }
        for pid in pids {
            // SAFETY: killing and reaping the children we started.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, std::ptr::null_mut(), 0);
            }
        }
    }

    #[test]
    fn a_failed_exec_in_flight_reports_its_own_errno() {
        let base = Arc::new(Env::default());
        let good = Arc::new(Command::new(&["/bin/true".to_string()], &base, &[], None).unwrap());
        let bad = Arc::new(
            Command::new(&["/nonexistent/sv-prog".to_string()], &base, &[], None).unwrap(),
        );
        let a = good.launch(quiet()).unwrap();
        let b = bad.launch(quiet()).unwrap();
        let c = good.launch(quiet()).unwrap();
        let (a, b, c) = (settled(a), settled(b), settled(c));
        assert_eq!(b.unwrap_err().raw_os_error(), Some(libc::ENOENT));
        for child in [a.unwrap(), c.unwrap()] {
            // SAFETY: reaping the children we started.
            unsafe { libc::waitpid(child.pid, std::ptr::null_mut(), 0) };
        }
    }

    /// A disposition changed after the spawn state was prepared is still
    /// reset in the child, and the child's mask is empty although the
    /// launch blocks everything around the clone (child.rs, rule 6).
    #[test]
    fn a_disposition_changed_after_start_is_reset_in_the_child() {
        prepare().unwrap();
        // A real-time signal nothing else in the tests uses.
        let sig = libc::SIGRTMIN() + 16;
        // SAFETY: ignoring a signal nobody sends, put back below.
        unsafe { libc::signal(sig, libc::SIG_IGN) };
        let out = std::env::temp_dir().join(format!("sv-spawn-sigs-{}", std::process::id()));
        let file = std::fs::File::create(&out).unwrap();
        let argv = ["/bin/cat".to_string(), "/proc/self/status".to_string()];
        let cmd = Arc::new(Command::new(&argv, &Arc::new(Env::default()), &[], None).unwrap());
        let wiring = Wiring {
            stdin: None,
            stdout: Target::Fd(file.as_raw_fd()),
            ..quiet()
        };
        let child = cmd.launch(wiring).and_then(settled);
        // SAFETY: as above.
        unsafe { libc::signal(sig, libc::SIG_DFL) };
        let child = child.unwrap();
        // SAFETY: reaping the child we started.
        unsafe { libc::waitpid(child.pid, std::ptr::null_mut(), 0) };
        let status = std::fs::read_to_string(&out).unwrap();
        let _ = std::fs::remove_file(&out);
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .map(str::trim)
                .unwrap_or_else(|| panic!("no {name} in {status}"))
                .to_string()
        };
        // Nothing ignored: neither the signal above nor Rust's SIGPIPE.
        assert_eq!(field("SigIgn:"), "0000000000000000");
        assert_eq!(field("SigBlk:"), "0000000000000000");
    }

    #[test]
    fn boot_ticks_only_answers_within_one_tick() {
        assert_eq!(boot_ticks(10_000_001, 19_999_999, 10_000_000), Some(1));
        assert_eq!(boot_ticks(19_999_999, 20_000_001, 10_000_000), None);
        assert_eq!(boot_ticks(5, 6, 0), None);
    }

    #[test]
    fn exec_failure_reports_errno() {
        let cmd = Arc::new(
            Command::new(
                &["/nonexistent/prog".to_string()],
                &Arc::new(Env::default()),
                &[],
                None,
            )
            .unwrap(),
        );
        let err = settled(cmd.launch(quiet()).unwrap()).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
    }
}
