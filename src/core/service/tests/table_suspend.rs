//! Rows of the table: suspended and continued, as waitpid sees them.

use super::table::Case;
use super::*;

pub(super) fn cases() -> Vec<Case> {
    vec![
        // ---- suspend / continue
        Case {
            name: "RUNNING -Suspended-> SUSPENDED",
            from: State::Running,
            want: Want::Up,
            policy: never(),
            ev: Event::Suspended,
            to: State::Suspended,
            want_after: Want::Up,
            fx: vec![],
            deadline: None,
            pid: Some(PID),
        },
        Case {
            name: "STARTING -Suspended-> SUSPENDED, startsecs timer dropped",
            from: State::Starting,
            want: Want::Up,
            policy: never(),
            ev: Event::Suspended,
            to: State::Suspended,
            want_after: Want::Up,
            fx: vec![],
            deadline: None,
            pid: Some(PID),
        },
        Case {
            name: "SUSPENDED -Continued-> RUNNING",
            from: State::Suspended,
            want: Want::Up,
            policy: never(),
            ev: Event::Continued,
            to: State::Running,
            want_after: Want::Up,
            fx: vec![],
            deadline: None,
            pid: Some(PID),
        },
        Case {
            name: "STOPPING -Suspended-> still STOPPING, SIGKILL deadline kept",
            from: State::Stopping,
            want: Want::Down,
            policy: never(),
            ev: Event::Suspended,
            to: State::Stopping,
            want_after: Want::Down,
            fx: vec![],
            deadline: Some(secs(10)),
            pid: Some(PID),
        },
    ]
}
