//! The child side of a spawn: what runs between clone(2) and execve(2).
//!
//! The child shares the daemon's memory (CLONE_VM) and runs at the same
//! time as it, on a stack of its own, until its exec. So it reads only the
//! [`ChildCtx`] it was lent, writes only its own stack, and makes its
//! system calls with the `syscall` instruction
//! itself: libc would store errors in the daemon's errno, which is the
//! daemon's thread-local variable (the child runs with the daemon's thread
//! pointer), and may take locks the daemon holds.

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
    pub shared: &'static Shared,
}

/// The kernel's `struct sigaction` (x86_64 and aarch64 layout); all zero is
/// SIG_DFL with no flags and an empty mask.
#[repr(C)]
#[derive(Default)]
pub(super) struct KernelSigaction {
    pub handler: usize,
    pub flags: u64,
    pub restorer: usize,
    pub mask: u64,
}

/// The entry point given to clone(2).
pub(super) extern "C" fn entry(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` is the `ChildCtx` the daemon passed to clone(2); it
    // lives until the report pipe closes, which is at our exec or exit.
    unsafe { exec(&*(arg as *const ChildCtx)) }
}

/// Wires the child up and execs. On any failure: errno into the report
/// pipe, then exit 127.
unsafe fn exec(ctx: &ChildCtx) -> ! {
    let fail = |rc: isize| -> ! {
        let bytes = ((-rc) as i32).to_ne_bytes();
        sys(
            libc::SYS_write,
            [ctx.report as usize, bytes.as_ptr() as usize, 4, 0, 0, 0],
        );
        loop {
            sys(libc::SYS_exit_group, [127, 0, 0, 0, 0, 0]);
        }
    };
    sys(libc::SYS_setpgid, [0; 6]);
    // Only what is not SIG_DFL needs resetting: exec resets caught signals
    // itself, but no handler may run here, on the daemon's memory.
    let default = KernelSigaction::default();
    for &sig in &ctx.shared.reset {
        let act = &default as *const KernelSigaction as usize;
        sys(libc::SYS_rt_sigaction, [sig as usize, act, 0, 8, 0, 0]);
    }
    let empty: u64 = 0;
    let mask = &empty as *const u64 as usize;
    sys(
        libc::SYS_rt_sigprocmask,
        [libc::SIG_SETMASK as usize, mask, 0, 8, 0, 0],
    );

    for (target, &fd) in ctx.stdio.iter().enumerate() {
        if fd == target as RawFd {
            // Already in place (the daemon's own stdout): just clear CLOEXEC.
            let flags = sys(
                libc::SYS_fcntl,
                [fd as usize, libc::F_GETFD as usize, 0, 0, 0, 0],
            );
            let flags = (flags as usize) & !(libc::FD_CLOEXEC as usize);
            sys(
                libc::SYS_fcntl,
                [fd as usize, libc::F_SETFD as usize, flags, 0, 0, 0],
            );
        } else {
            let rc = sys(libc::SYS_dup3, [fd as usize, target, 0, 0, 0, 0]);
            if rc < 0 {
                fail(rc);
            }
        }
    }
    // Everything else goes, but the report pipe (close-on-exec).
    close_range(3, ctx.report - 1);
    close_range(ctx.report + 1, RawFd::MAX);

    if let Some(lim) = &ctx.shared.nofile {
        let lim = lim as *const libc::rlimit as usize;
        sys(
            libc::SYS_prlimit64,
            [0, libc::RLIMIT_NOFILE as usize, lim, 0, 0, 0],
        );
    }
    if let Some(mask) = ctx.umask {
        sys(libc::SYS_umask, [mask as usize, 0, 0, 0, 0, 0]);
    }
    if let Some(cwd) = ctx.cwd {
        let rc = sys(libc::SYS_chdir, [cwd as usize, 0, 0, 0, 0, 0]);
        if rc < 0 {
            fail(rc);
        }
    }
    if let Some((uid, gid)) = ctx.ids {
        let groups = [ctx.groups.len(), ctx.groups.as_ptr() as usize, 0, 0, 0, 0];
        for (call, args) in [
            (libc::SYS_setgroups, groups),
            (libc::SYS_setgid, [gid as usize, 0, 0, 0, 0, 0]),
            (libc::SYS_setuid, [uid as usize, 0, 0, 0, 0, 0]),
        ] {
            let rc = sys(call, args);
            if rc < 0 {
                fail(rc);
            }
        }
    }
    let rc = sys(
        libc::SYS_execve,
        [
            ctx.path as usize,
            ctx.argv.as_ptr() as usize,
            ctx.envp.as_ptr() as usize,
            0,
            0,
            0,
        ],
    );
    fail(rc)
}

/// Closes `lo..=hi` (close_range(2), with a bounded loop where the kernel
/// lacks it).
unsafe fn close_range(lo: RawFd, hi: RawFd) {
    if lo > hi {
        return;
    }
    let rc = sys(
        libc::SYS_close_range,
        [lo as usize, hi as u32 as usize, 0, 0, 0, 0],
    );
    if rc < 0 {
        for fd in lo..=hi.min(65_536) {
            sys(libc::SYS_close, [fd as usize, 0, 0, 0, 0, 0]);
        }
    }
}

/// A system call with no libc in between: the result, or `-errno`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn sys(n: c_long, a: [usize; 6]) -> isize {
    let ret: isize;
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
    );
    ret
}

/// A system call with no libc in between: the result, or `-errno`.
#[cfg(target_arch = "aarch64")]
#[inline(always)]
unsafe fn sys(n: c_long, a: [usize; 6]) -> isize {
    let ret: isize;
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
    );
    ret
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
compile_error!("sv's spawn makes raw system calls for x86_64 and aarch64 only");
