//! The stack a child runs on until its exec: mmap'd, with a PROT_NONE guard
//! page at its low end (a stack grows down), so a child that overruns it
//! faults and dies by SIGSEGV instead of writing over the daemon's heap,
//! which it shares (child.rs, rule 5). Stacks are kept for the next launch:
//! the two system calls that make one are paid once, not per spawn.

use std::cell::RefCell;
use std::io;
use std::ptr::NonNull;

/// Usable bytes above the guard (the child needs a few hundred).
const USABLE: usize = 64 * 1024;

/// Stacks kept for reuse, at most: a burst of launches in flight together
/// must not keep its stacks for ever.
const KEPT: usize = 64;

thread_local! {
    /// Stacks of children that have exec'd or died, for the next ones.
    static KEPT_STACKS: RefCell<Vec<Stack>> = const { RefCell::new(Vec::new()) };
}

/// One child stack: `len` bytes at `base`, the lowest page of them
/// PROT_NONE. Unmapped on drop.
#[derive(Debug)]
pub(super) struct Stack {
    base: NonNull<u8>,
    len: usize,
}

impl Stack {
    /// A kept stack, or a new one.
    pub(super) fn take() -> io::Result<Stack> {
        match KEPT_STACKS.with(|s| s.borrow_mut().pop()) {
            Some(stack) => Ok(stack),
            None => Stack::new(),
        }
    }

    /// Keeps a stack the child no longer uses (the report pipe has
    /// ended) for the next launch, or unmaps it when enough are kept.
    pub(super) fn give_back(self) {
        KEPT_STACKS.with(|s| {
            let mut s = s.borrow_mut();
            if s.len() < KEPT {
                s.push(self);
            }
        });
    }

    /// mmap(2) a fresh stack, then mprotect(2) its lowest page PROT_NONE.
    /// <https://man7.org/linux/man-pages/man2/mmap.2.html>
    fn new() -> io::Result<Stack> {
        let page = page_size();
        let len = USABLE.div_ceil(page) * page + page;
        // SAFETY: a new private anonymous mapping; it overlaps nothing.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let Some(base) = NonNull::new(base.cast::<u8>()) else {
            // Address 0 is never given to a process that did not ask for
            // it; were it, the stack must not be used.
            return Err(io::Error::from_raw_os_error(libc::ENOMEM));
        };
        // Owned from here: an error below unmaps it.
        let stack = Stack { base, len };
        // SAFETY: the lowest page of the mapping just made, ours alone.
        if unsafe { libc::mprotect(base.as_ptr().cast(), page, libc::PROT_NONE) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(stack)
    }

    /// The initial stack pointer for clone(2): the high end, 16-byte
    /// aligned as both ABIs want (it is page-aligned).
    pub(super) fn top(&self) -> *mut libc::c_void {
        // SAFETY: one past the end of the mapping, which is `len` long.
        unsafe { self.base.as_ptr().add(self.len) }.cast()
    }
}

/// The guard's size: one page.
fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
        n if n > 0 => n as usize,
        _ => 4096,
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        // SAFETY: the whole mapping made in `new`, which nothing uses any
        // more: a Stack is dropped only once its child is done with it.
        unsafe { libc::munmap(self.base.as_ptr().cast(), self.len) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The permissions /proc/self/maps shows for the mapping that holds
    /// `addr`, with its range. A neighbour with the same permissions may
    /// have been merged with ours, so only containment is certain.
    fn mapping_at(addr: usize) -> Option<(String, usize, usize)> {
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        maps.lines().find_map(|line| {
            let mut fields = line.split_whitespace();
            let (lo, hi) = fields.next()?.split_once('-')?;
            let lo = usize::from_str_radix(lo, 16).ok()?;
            let hi = usize::from_str_radix(hi, 16).ok()?;
            let perms = fields.next()?.to_string();
            (lo <= addr && addr < hi).then_some((perms, lo, hi))
        })
    }

    #[test]
    fn the_low_page_is_a_guard_and_the_rest_is_writable() {
        let stack = Stack::new().unwrap();
        let base = stack.base.as_ptr() as usize;
        let (perms, _, hi) = mapping_at(base).expect("the guard is mapped");
        assert!(perms.starts_with("---"), "guard is {perms}");
        assert_eq!(hi, base + page_size(), "the guard is one page");
        let (perms, lo, hi) = mapping_at(base + page_size()).expect("the stack is mapped");
        assert!(perms.starts_with("rw-"), "stack is {perms}");
        assert_eq!(lo, base + page_size());
        assert!(hi >= stack.top() as usize);
        assert!(stack.len - page_size() >= USABLE);
        assert_eq!(stack.top() as usize % 16, 0);
    }

    /// A kept stack comes back with its guard: reuse does not lose it.
    #[test]
    fn a_kept_stack_keeps_its_guard() {
        let stack = Stack::take().unwrap();
        let base = stack.base.as_ptr() as usize;
        stack.give_back();
        let again = Stack::take().unwrap();
        assert_eq!(again.base.as_ptr() as usize, base);
        let (perms, _, _) = mapping_at(base).unwrap();
        assert!(perms.starts_with("---"), "guard is {perms}");
    }

    /// Writing just below the usable part kills the writer with SIGSEGV
    /// (in a forked process: the test harness must live on).
    #[test]
    fn an_overrun_faults() {
        let stack = Stack::new().unwrap();
        let below = stack.base.as_ptr().wrapping_add(page_size() - 1);
        // SAFETY: fork(2); the child makes only async-signal-safe calls
        // (setrlimit, prctl, a store, _exit), as a forked copy of a
        // threaded process must.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork: {}", io::Error::last_os_error());
        if pid == 0 {
            let no_core = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            // SAFETY: no core for the fault on purpose (not dumpable: no
            // core even where core_pattern pipes to a helper, which ignores
            // RLIMIT_CORE); then a store into the guard page, which must
            // fault; _exit if it did not.
            unsafe {
                libc::setrlimit(libc::RLIMIT_CORE, &no_core);
                libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
                std::ptr::write_volatile(below, 1);
                libc::_exit(0);
            }
        }
        let mut status = 0;
        // SAFETY: reaping the child forked above.
        let rc = unsafe { libc::waitpid(pid, &mut status, 0) };
        assert_eq!(rc, pid);
        assert!(
            libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGSEGV,
            "status {status:#x}: the store into the guard page did not fault"
        );
    }
}
