//! Whether the daemon is closing, and whom it answers when it has.

use super::ConnId;

/// Set by `close` or a signal (SIGTERM, SIGINT, SIGQUIT); never unset:
/// the loop ends once every service is down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shutdown {
    Running,
    /// Every service is being stopped. `by` is the connection whose
    /// `close` is answered at the end; None when a signal asked.
    Requested {
        by: Option<ConnId>,
    },
}

impl Shutdown {
    pub fn requested(self) -> bool {
        self != Shutdown::Running
    }
}
