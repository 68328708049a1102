//! The pipes of event listener processes (SPEC §14): polled like any
//! other source, read and written by the bus without blocking; what the
//! bus has to send goes out at the end of each pass.

use super::poll_set::PollSet;
use super::{Daemon, Token};
use crate::core::supervisor::Id;

impl Daemon {
    /// Each listener's stdout, and its stdin while an envelope waits.
    pub(super) fn listener_polls(&self, set: &mut PollSet) {
        for (fd, events, service, write) in self.sup.events.fds() {
            set.add(fd, events, Token::EventListener { service, write });
        }
    }

    /// A listener's pipe is ready.
    pub(super) fn on_listener(&mut self, service: Id, write: bool) {
        if write {
            self.sup.events.writable(service);
        } else {
            self.sup.events.readable(service);
        }
    }
}
