//! The child side of a spawn: what runs between clone(2) and execve(2).
//!
//! The child shares the daemon's memory (CLONE_VM) and runs at the same
//! time as it, on another CPU, until its exec. Whatever it does to that
//! memory, the daemon sees, in the middle of whatever it is doing. These
//! are the rules; the code cites them as `[n]`. Break one and the failure
//! shows up later, somewhere else, in the daemon.
//!
//! 1. **No allocation, no free, no drop of anything that owns memory.**
//!    The allocator's state is the daemon's and may be half updated right
//!    now. Everything the child reads is built before the clone: the
//!    [`ChildCtx`], the command's strings, [`Shared`].
//! 2. **No libc, no std, no locks: raw system calls only**, through
//!    [`sys`], each async-signal-safe. A libc wrapper may take a lock the
//!    daemon holds, writes errno (rule 4), and some (glibc's sigaction)
//!    refuse signals the child must reset. (The memcpy and memset the
//!    compiler may emit are fine: no state, no errno.) No panics either: a
//!    panic allocates and unwinds (so no unwrap, no indexing that can
//!    fail, no arithmetic that can overflow).
//! 3. **Writes go to the child's own stack only.** It reads the
//!    `ChildCtx`, the command's strings and the `'static` `Shared`, which
//!    the daemon neither changes nor frees until the report pipe has ended
//!    (rule 8: the `Pending` holds them).
//! 4. **errno is never touched.** The child runs with the daemon's thread
//!    pointer, so libc's errno would be the daemon's. A raw call returns
//!    `-errno` instead; the child checks it where a failure matters.
//! 5. **The stack is small and fenced**: 64 KiB from mmap with a PROT_NONE
//!    guard page below it (`stack.rs`), so an overrun faults and kills the
//!    child by SIGSEGV instead of writing over the daemon's heap. No large
//!    locals, no recursion. There is no sigaltstack (the kernel drops it
//!    for CLONE_VM without CLONE_VFORK).
//! 6. **Signals: no handler of the daemon ever runs here, and the program
//!    starts as from a shell.** The daemon blocks every signal around the
//!    clone, so the child starts with all blocked. It then sets every
//!    disposition but SIGKILL's and SIGSTOP's to SIG_DFL, whatever the
//!    daemon has set (a caught signal's handler must not run after the
//!    unblock; SIG_IGN survives exec, e.g. the SIGPIPE Rust ignores), and
//!    only then unblocks everything. Nothing rests on what the daemon did
//!    or did not change since it started.
//! 7. **Descriptors: its own table** (no CLONE_FILES), so what it closes
//!    or moves is its business. stdin, stdout and stderr come from
//!    `ctx.stdio`, whose sources are either in place or above 2 (the launch
//!    sees to that), so filling 0, 1, 2 in order overwrites no source; one
//!    in place only loses its close-on-exec flag. All others are closed
//!    but the report pipe, which is close-on-exec, and `ready=fd:N`'s
//!    descriptor, put at N after stdio (N is above 2, never the report's).
//! 8. **One report, then the end.** A failed step writes its errno (4
//!    bytes, native endian) to the report pipe and exits 127; a successful
//!    exec closes the pipe (close-on-exec). Either way the pipe ends only
//!    after the kernel has released the child's hold on the daemon's
//!    memory (exec replaces it before closing; exit drops it before
//!    closing descriptors), so end of file is what tells the daemon it may
//!    free the stack and the context.
//! 9. **Never return.** Every path ends in execve or exit_group: returning
//!    from [`entry`] would run libc's clone epilogue on the daemon's memory.
//! 10. **Order:** process group first (a group signal from the daemon then
//!     reaches it at once), signals, descriptors, limit, umask, cwd, then
//!     groups, gid and uid (gid before uid, which drops the right to change
//!     it), then execve.

use super::Shared;
use std::ffi::c_long;
use std::os::fd::RawFd;

/// What the child needs, owned by the daemon's [`super::Pending`] until
/// the child has exec'd or exited.
pub(super) struct ChildCtx {
    pub path: *const libc::c_char,
    pub argv: Vec<*const libc::c_char>,
    pub envp: Vec<*const libc::c_char>,
    pub cwd: Option<*const libc::c_char>,
    pub umask: Option<u32>,
    /// Groups, gid and uid to take on (a root daemon and `user=` only).
    pub groups: Vec<libc::gid_t>,
    pub ids: Option<(u32, u32)>,
    /// What becomes the child's stdin, stdout and stderr.
    pub stdio: [RawFd; 3],
    /// The write end of the report pipe: closed by exec, or carrying errno.
    pub report: RawFd,
    /// A descriptor of the daemon's to give as the child's `n` (above 2,
    /// not `report`): `ready=fd:N`.
    pub extra: Option<(RawFd, RawFd)>,
    pub shared: &'static Shared,
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

/// The highest signal number (the kernel's `_NSIG` is 64 on x86_64 and
/// aarch64); the sigset the kernel takes is 8 bytes.
const NSIG: usize = 64;
const SIGSET_SIZE: usize = 8;

/// The entry point given to clone(2).
pub(super) extern "C" fn entry(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` is the `ChildCtx` the daemon passed to clone(2) with
    // CLONE_VM and a stack of ours; it lives until the report pipe ends,
    // which is at our exec or exit [8]; we only read it [3].
    unsafe { exec(&*(arg as *const ChildCtx)) }
}

/// Wires the child up and execs. On any failure: errno into the report
/// pipe, then exit 127 [8]. Never returns [9].
///
/// # Safety
/// Only in the child of the launch's clone(2), with `ctx` and everything
/// it points at alive and unchanged until the report pipe ends.
unsafe fn exec(ctx: &ChildCtx) -> ! {
    // SAFETY: we are that child, and `ctx` lives as required (the caller
    // vouches for both); each step below says why its calls hold.
    unsafe {
        let rc = match wire_up(ctx) {
            Ok(()) => execve(ctx),
            Err(rc) => rc,
        };
        fail(ctx.report, rc)
    }
}

/// Every step before the exec, in the order of rule 10; the first that
/// fails gives its `-errno` and no later step runs. The steps are
/// `#[inline(always)]`, so the child stays the one function `exec` (its
/// machine code is what it was as one body), with nothing pulled in and
/// no frames added on its small stack [2], [5].
///
/// # Safety
/// As for [`exec`].
#[inline(always)]
unsafe fn wire_up(ctx: &ChildCtx) -> Result<(), isize> {
    // SAFETY: each step is for the child only (ours), and reads only
    // `ctx`, its strings and `Shared`, alive until the pipe ends [3].
    unsafe {
        join_own_group();
        reset_signals();
        wire_stdio(&ctx.stdio)?;
        wire_extra(ctx.extra)?;
        close_all_but(ctx.report, ctx.extra.map_or(ctx.report, |(_, n)| n));
        restore_nofile(ctx.shared);
        set_umask(ctx.umask);
        change_dir(ctx.cwd)?;
        take_identity(ctx)
    }
}

/// Writes the errno of `rc` to the report pipe and exits 127 [8], [9].
///
/// # Safety
/// Only in the child: it ends the process.
#[inline(always)]
unsafe fn fail(report: RawFd, rc: isize) -> ! {
    let bytes = ((-rc) as i32).to_ne_bytes();
    // SAFETY: a write from our own stack [3] to the report pipe, then
    // exit_group, looped in case it could return [9].
    unsafe {
        sys(
            libc::SYS_write,
            [report as usize, bytes.as_ptr() as usize, 4, 0, 0, 0],
        );
        loop {
            sys(libc::SYS_exit_group, [127, 0, 0, 0, 0, 0]);
        }
    }
}

/// `rc` as a result: a negative one is `-errno` [4].
#[inline(always)]
fn check(rc: isize) -> Result<(), isize> {
    if rc < 0 {
        Err(rc)
    } else {
        Ok(())
    }
}

/// Its own process group, first, so that a group signal from the daemon
/// reaches it at once [10].
///
/// # Safety
/// Only in the child: in the daemon it would move the daemon.
#[inline(always)]
unsafe fn join_own_group() {
    // SAFETY: setpgid(0, 0) takes no pointer [10].
    unsafe { sys(libc::SYS_setpgid, [0; 6]) };
}

/// Every disposition to SIG_DFL, then every signal unblocked [6].
///
/// # Safety
/// Only in the child, where every signal is still blocked.
#[inline(always)]
unsafe fn reset_signals() {
    // Every signal is blocked (the daemon blocked them all around the
    // clone), so no handler runs while the dispositions change [6].
    let default = KernelSigaction::default();
    let act = &default as *const KernelSigaction as usize;
    for sig in 1..=NSIG {
        if sig == libc::SIGKILL as usize || sig == libc::SIGSTOP as usize {
            continue;
        }
        // SAFETY: `act` points at a sigaction on our stack [3]; the old
        // one is not asked for. An error (none is possible for these
        // numbers) leaves that signal as it was.
        unsafe { sys(libc::SYS_rt_sigaction, [sig, act, 0, SIGSET_SIZE, 0, 0]) };
    }
    let empty: u64 = 0;
    let mask = &empty as *const u64 as usize;
    // SAFETY: `mask` points at an empty sigset on our stack [3]; every
    // disposition is SIG_DFL now, so unblocking runs no handler [6].
    unsafe {
        sys(
            libc::SYS_rt_sigprocmask,
            [libc::SIG_SETMASK as usize, mask, 0, SIGSET_SIZE, 0, 0],
        )
    };
}

/// Fills 0, 1 and 2 from `stdio`, in that order [7].
///
/// # Safety
/// Only in the child (its own descriptor table), with the sources either
/// in place or above 2, as the launch leaves them [7].
#[inline(always)]
unsafe fn wire_stdio(stdio: &[RawFd; 3]) -> Result<(), isize> {
    for (target, &fd) in stdio.iter().enumerate() {
        if fd == target as RawFd {
            // Already in place (the daemon's own stdout): just clear
            // CLOEXEC [7].
            // SAFETY: fcntl on a descriptor of our own table [7]; no pointers.
            unsafe {
                let flags = sys(
                    libc::SYS_fcntl,
                    [fd as usize, libc::F_GETFD as usize, 0, 0, 0, 0],
                );
                let flags = (flags as usize) & !(libc::FD_CLOEXEC as usize);
                sys(
                    libc::SYS_fcntl,
                    [fd as usize, libc::F_SETFD as usize, flags, 0, 0, 0],
                );
            }
        } else {
            // SAFETY: dup3 within our own table [7]; no pointers.
            check(unsafe { sys(libc::SYS_dup3, [fd as usize, target, 0, 0, 0, 0]) })?;
        }
    }
    Ok(())
}

/// The extra descriptor (`ready=fd:N`): `src` becomes `n`, without
/// close-on-exec, after stdio (which `n`, above 2, cannot overwrite) [7].
///
/// # Safety
/// Only in the child (its own descriptor table), with `n` above 2 and not
/// the report pipe, as the launch leaves them.
#[inline(always)]
unsafe fn wire_extra(extra: Option<(RawFd, RawFd)>) -> Result<(), isize> {
    let Some((src, n)) = extra else {
        return Ok(());
    };
    if src == n {
        // Already in place: just clear CLOEXEC [7].
        // SAFETY: fcntl on a descriptor of our own table [7]; no pointers.
        unsafe {
            sys(
                libc::SYS_fcntl,
                [n as usize, libc::F_SETFD as usize, 0, 0, 0, 0],
            )
        };
        return Ok(());
    }
    // SAFETY: dup3 within our own table [7]; no pointers.
    check(unsafe { sys(libc::SYS_dup3, [src as usize, n as usize, 0, 0, 0, 0]) })
}

/// Closes every descriptor above 2 but the report pipe, which is
/// close-on-exec, and `keep` (the report pipe again, or `ready=fd:N`'s) [7].
///
/// # Safety
/// Only in the child (its own descriptor table), with `report` and `keep`
/// above 2 and below `RawFd::MAX`.
#[inline(always)]
unsafe fn close_all_but(report: RawFd, keep: RawFd) {
    // Both are above 2 (the launch moved the report pipe there; N is
    // checked at load) and far below RawFd::MAX, so neither `lo - 1` nor
    // `hi + 1` can overflow.
    let (lo, hi) = if keep < report {
        (keep, report)
    } else {
        (report, keep)
    };
    // SAFETY: closing descriptors of our own table [7].
    unsafe {
        close_range(3, lo - 1);
        close_range(lo + 1, hi - 1);
        close_range(hi + 1, RawFd::MAX);
    }
}

/// Gives back the descriptor limit the daemon was started with, if it
/// raised its own.
///
/// # Safety
/// Only in the child: in the daemon it would lower the daemon's.
#[inline(always)]
unsafe fn restore_nofile(shared: &Shared) {
    if let Some(lim) = &shared.nofile {
        let lim = lim as *const libc::rlimit as usize;
        // SAFETY: `lim` points into the 'static Shared, only read [3].
        unsafe {
            sys(
                libc::SYS_prlimit64,
                [0, libc::RLIMIT_NOFILE as usize, lim, 0, 0, 0],
            )
        };
    }
}

/// The command's umask, if it has one.
///
/// # Safety
/// Only in the child: in the daemon it would change the daemon's.
#[inline(always)]
unsafe fn set_umask(umask: Option<u32>) {
    if let Some(mask) = umask {
        // SAFETY: umask takes no pointer.
        unsafe { sys(libc::SYS_umask, [mask as usize, 0, 0, 0, 0, 0]) };
    }
}

/// The command's working directory, if it has one.
///
/// # Safety
/// Only in the child, with `cwd` alive until the report pipe ends [3].
#[inline(always)]
unsafe fn change_dir(cwd: Option<*const libc::c_char>) -> Result<(), isize> {
    let Some(cwd) = cwd else { return Ok(()) };
    // SAFETY: `cwd` is a NUL-terminated string of the command, alive
    // until the report pipe ends [3].
    check(unsafe { sys(libc::SYS_chdir, [cwd as usize, 0, 0, 0, 0, 0]) })
}

/// Groups, gid, then uid, when the context says to change them [10].
///
/// # Safety
/// Only in the child: in the daemon it would change the daemon's.
#[inline(always)]
unsafe fn take_identity(ctx: &ChildCtx) -> Result<(), isize> {
    let Some((uid, gid)) = ctx.ids else {
        return Ok(());
    };
    let groups = [ctx.groups.len(), ctx.groups.as_ptr() as usize, 0, 0, 0, 0];
    for (call, args) in [
        (libc::SYS_setgroups, groups),
        (libc::SYS_setgid, [gid as usize, 0, 0, 0, 0, 0]),
        (libc::SYS_setuid, [uid as usize, 0, 0, 0, 0, 0]),
    ] {
        // SAFETY: setgroups reads `len` gids from the context's vector
        // [3]; setgid and setuid take no pointer. In this order [10].
        check(unsafe { sys(call, args) })?;
    }
    Ok(())
}

/// execve(2); it returns only on failure, with `-errno` [4].
///
/// # Safety
/// Only in the child, the last step [10]: on success the program replaces
/// it.
#[inline(always)]
unsafe fn execve(ctx: &ChildCtx) -> isize {
    // SAFETY: path, argv and envp are NUL-terminated strings and
    // null-terminated pointer arrays of the context and the command,
    // alive until the report pipe ends [3], [8].
    unsafe {
        sys(
            libc::SYS_execve,
            [
                ctx.path as usize,
                ctx.argv.as_ptr() as usize,
                ctx.envp.as_ptr() as usize,
                0,
                0,
                0,
            ],
        )
    }
}

/// Closes `lo..=hi` (close_range(2), with a bounded loop where the kernel
/// lacks it).
///
/// # Safety
/// Only in the child: it closes descriptors the daemon's own table has too.
unsafe fn close_range(lo: RawFd, hi: RawFd) {
    if lo > hi {
        return;
    }
    // SAFETY: close_range takes no pointer [2].
    let rc = unsafe {
        sys(
            libc::SYS_close_range,
            [lo as usize, hi as u32 as usize, 0, 0, 0, 0],
        )
    };
    if rc < 0 {
        for fd in lo..=hi.min(65_536) {
            // SAFETY: close takes no pointer [2].
            unsafe { sys(libc::SYS_close, [fd as usize, 0, 0, 0, 0, 0]) };
        }
    }
}

/// A system call with no libc in between: the result, or `-errno` [2], [4].
///
/// # Safety
/// The arguments must be what call `n` expects: every pointer valid for
/// what the call reads or writes through it.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn sys(n: c_long, a: [usize; 6]) -> isize {
    let ret: isize;
    // SAFETY: the x86_64 Linux system call convention: number in rax,
    // arguments in rdi, rsi, rdx, r10, r8, r9; the kernel clobbers rcx
    // and r11 and touches no stack of ours. The caller vouches for the
    // arguments.
    unsafe {
        std::arch::asm!(
            "syscall",
            inlateout("rax") n as isize => ret,
            in("rdi") a[0],
            in("rsi") a[1],
            in("rdx") a[2],
            in("r10") a[3],
            in("r8") a[4],
            in("r9") a[5],
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        )
    };
    ret
}

/// A system call with no libc in between: the result, or `-errno` [2], [4].
///
/// # Safety
/// The arguments must be what call `n` expects: every pointer valid for
/// what the call reads or writes through it.
#[cfg(target_arch = "aarch64")]
#[inline(always)]
unsafe fn sys(n: c_long, a: [usize; 6]) -> isize {
    let ret: isize;
    // SAFETY: the aarch64 Linux system call convention: number in x8,
    // arguments in x0..x5, result in x0; no stack of ours is touched. The
    // caller vouches for the arguments.
    unsafe {
        std::arch::asm!(
            "svc 0",
            in("x8") n,
            inlateout("x0") a[0] as isize => ret,
            in("x1") a[1],
            in("x2") a[2],
            in("x3") a[3],
            in("x4") a[4],
            in("x5") a[5],
            options(nostack),
        )
    };
    ret
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
compile_error!("sv's spawn makes raw system calls for x86_64 and aarch64 only");
