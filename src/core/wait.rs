//! Reading a child's wait status (SPEC §6): every status the kernel gives
//! becomes an event. nix's `WaitStatus` holds a signal only as its
//! `Signal` enum, which has no real-time signals: a child killed by
//! SIGRTMIN+3 made nix fail after the status was reaped, so its exit was
//! lost and its service stayed RUNNING for ever. Here the raw status is
//! decoded with the libc macros, so any signal number is kept.

use super::service::{Event, ExitKind};

/// Reaps one child that changed state, without blocking: its pid and what
/// happened, or None when no child has anything to report (or none is left).
pub fn wait_any() -> Option<(i32, Event)> {
    loop {
        let mut status = 0;
        let flags = libc::WNOHANG | libc::WUNTRACED | libc::WCONTINUED;
        // SAFETY: status is a valid int to fill.
        let pid = unsafe { libc::waitpid(-1, &mut status, flags) };
        if pid < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
            continue;
        }
        // 0: children, none changed; -1: ECHILD, no children left.
        if pid <= 0 {
            return None;
        }
        if let Some(ev) = decode(status) {
            return Some((pid, ev));
        }
    }
}

/// The event a wait status stands for; None for none of the four kinds
/// (the kernel makes no other, but a future one is skipped, not misread).
pub fn decode(status: libc::c_int) -> Option<Event> {
    if libc::WIFEXITED(status) {
        Some(Event::Exited(ExitKind::Code(libc::WEXITSTATUS(status))))
    } else if libc::WIFSIGNALED(status) {
        Some(Event::Exited(ExitKind::Signal(libc::WTERMSIG(status))))
    } else if libc::WIFSTOPPED(status) {
        Some(Event::Suspended)
    } else if libc::WIFCONTINUED(status) {
        Some(Event::Continued)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_status_is_decoded() {
        // As the kernel encodes them: exit code in bits 8-15, the killing
        // signal in bits 0-6, 0x7f for stopped, 0xffff for continued.
        assert_eq!(decode(3 << 8), Some(Event::Exited(ExitKind::Code(3))));
        assert_eq!(decode(9), Some(Event::Exited(ExitKind::Signal(9))));
        assert_eq!(decode(37), Some(Event::Exited(ExitKind::Signal(37))));
        assert_eq!(decode(64 | 0x80), Some(Event::Exited(ExitKind::Signal(64))));
        assert_eq!(decode((libc::SIGTSTP << 8) | 0x7f), Some(Event::Suspended));
        assert_eq!(decode((40 << 8) | 0x7f), Some(Event::Suspended));
        assert_eq!(decode(0xffff), Some(Event::Continued));
    }
}
