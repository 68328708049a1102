//! Rows of the table: processes sv did not spawn, adopted (`open-service`)
//! or taken back after a crash of the daemon (SPEC §8).

use super::table::Case;
use super::*;

pub(super) fn cases(now: Instant) -> Vec<Case> {
    vec![
        // ---- a process sv did not spawn
        Case {
            name: "STOPPED -Adopted-> RUNNING with its pid",
            from: State::Stopped,
            want: Want::Down,
            policy: adopted(),
            ev: Event::Adopted {
                pid: 300,
                started_at: now,
            },
            to: State::Running,
            want_after: Want::Up,
            fx: vec![],
            deadline: None,
            pid: Some(300),
        },
        Case {
            name: "RUNNING -Adopted-> nothing: only a fresh machine takes one",
            from: State::Running,
            want: Want::Up,
            policy: adopted(),
            ev: Event::Adopted {
                pid: 300,
                started_at: now,
            },
            to: State::Running,
            want_after: Want::Up,
            fx: vec![],
            deadline: None,
            pid: Some(PID),
        },
        // ---- taken back after a crash, the process alive
        Case {
            name: "STOPPED -TakenBack RUNNING alive-> RUNNING, same pid",
            from: State::Stopped,
            want: Want::Down,
            policy: never(),
            ev: Event::TakenBack(Box::new(Record {
                ..record(State::Running, Some(now - secs(30)), now)
            })),
            to: State::Running,
            want_after: Want::Up,
            fx: vec![],
            deadline: None,
            pid: Some(400),
        },
        Case {
            name: "STOPPED -TakenBack STARTING alive-> STARTING, startsecs from now",
            from: State::Stopped,
            want: Want::Down,
            policy: never(),
            ev: Event::TakenBack(Box::new(Record {
                ..record(State::Starting, Some(now - secs(30)), now)
            })),
            to: State::Starting,
            want_after: Want::Up,
            fx: vec![],
            deadline: Some(secs(1)),
            pid: Some(400),
        },
        Case {
            name: "STOPPED -TakenBack SUSPENDED alive-> SUSPENDED",
            from: State::Stopped,
            want: Want::Down,
            policy: never(),
            ev: Event::TakenBack(Box::new(Record {
                ..record(State::Suspended, Some(now - secs(30)), now)
            })),
            to: State::Suspended,
            want_after: Want::Up,
            fx: vec![],
            deadline: None,
            pid: Some(400),
        },
        Case {
            name: "STOPPED -TakenBack STOPPING alive-> RUNNING: the caller goes on with the stop",
            from: State::Stopped,
            want: Want::Down,
            policy: never(),
            ev: Event::TakenBack(Box::new(Record {
                want: Want::Down,
                ..record(State::Stopping, Some(now - secs(30)), now)
            })),
            to: State::Running,
            want_after: Want::Down,
            fx: vec![],
            deadline: None,
            pid: Some(400),
        },
        Case {
            name: "STOPPED -TakenBack EXITED alive-> RUNNING: found running",
            from: State::Stopped,
            want: Want::Down,
            policy: never(),
            ev: Event::TakenBack(Box::new(Record {
                ..record(State::Exited, Some(now - secs(30)), now)
            })),
            to: State::Running,
            want_after: Want::Up,
            fx: vec![],
            deadline: None,
            pid: Some(400),
        },
        // ---- taken back, the process gone: its pid back, its exit next
        Case {
            name: "STOPPED -TakenBack RUNNING gone-> RUNNING with the dead pid",
            from: State::Stopped,
            want: Want::Down,
            policy: never(),
            ev: Event::TakenBack(Box::new(Record {
                ..record(State::Running, None, now)
            })),
            to: State::Running,
            want_after: Want::Up,
            fx: vec![],
            deadline: None,
            pid: Some(400),
        },
        Case {
            name: "STOPPED -TakenBack STARTING gone-> STARTING, no timer",
            from: State::Stopped,
            want: Want::Down,
            policy: never(),
            ev: Event::TakenBack(Box::new(Record {
                ..record(State::Starting, None, now)
            })),
            to: State::Starting,
            want_after: Want::Up,
            fx: vec![],
            deadline: None,
            pid: Some(400),
        },
        Case {
            name: "STOPPED -TakenBack SUSPENDED gone-> RUNNING",
            from: State::Stopped,
            want: Want::Down,
            policy: never(),
            ev: Event::TakenBack(Box::new(Record {
                ..record(State::Suspended, None, now)
            })),
            to: State::Running,
            want_after: Want::Up,
            fx: vec![],
            deadline: None,
            pid: Some(400),
        },
        Case {
            name: "STOPPED -TakenBack STOPPING gone-> STOPPING, no timer",
            from: State::Stopped,
            want: Want::Down,
            policy: never(),
            ev: Event::TakenBack(Box::new(Record {
                want: Want::Gone,
                ..record(State::Stopping, None, now)
            })),
            to: State::Stopping,
            want_after: Want::Gone,
            fx: vec![],
            deadline: None,
            pid: Some(400),
        },
        Case {
            name: "STOPPED -TakenBack RUNNING gone, pid 0-> pid 1, never 0",
            from: State::Stopped,
            want: Want::Down,
            policy: never(),
            ev: Event::TakenBack(Box::new(Record {
                pid: 0,
                ..record(State::Running, None, now)
            })),
            to: State::Running,
            want_after: Want::Up,
            fx: vec![],
            deadline: None,
            pid: Some(1),
        },
        // ---- taken back without a process
        Case {
            name: "STOPPED -TakenBack PENDING-> PENDING, due as recorded",
            from: State::Stopped,
            want: Want::Down,
            policy: never(),
            ev: Event::TakenBack(Box::new(Record {
                ..record(State::Pending, None, now)
            })),
            to: State::Pending,
            want_after: Want::Up,
            fx: vec![],
            deadline: Some(secs(5)),
            pid: None,
        },
        Case {
            name: "STOPPED -TakenBack BACKOFF-> BACKOFF, due as recorded",
            from: State::Stopped,
            want: Want::Down,
            policy: never(),
            ev: Event::TakenBack(Box::new(Record {
                ..record(State::Backoff, None, now)
            })),
            to: State::Backoff,
            want_after: Want::Up,
            fx: vec![],
            deadline: Some(secs(5)),
            pid: None,
        },
        Case {
            name: "STOPPED -TakenBack EXITED-> EXITED",
            from: State::Stopped,
            want: Want::Down,
            policy: never(),
            ev: Event::TakenBack(Box::new(Record {
                ..record(State::Exited, None, now)
            })),
            to: State::Exited,
            want_after: Want::Up,
            fx: vec![],
            deadline: None,
            pid: None,
        },
        Case {
            name: "STOPPED -TakenBack FATAL-> FATAL",
            from: State::Stopped,
            want: Want::Down,
            policy: never(),
            ev: Event::TakenBack(Box::new(Record {
                ..record(State::Fatal, None, now)
            })),
            to: State::Fatal,
            want_after: Want::Up,
            fx: vec![],
            deadline: None,
            pid: None,
        },
        Case {
            name: "STOPPED -TakenBack STOPPED-> STOPPED, wanted down",
            from: State::Stopped,
            want: Want::Down,
            policy: never(),
            ev: Event::TakenBack(Box::new(Record {
                want: Want::Down,
                ..record(State::Stopped, None, now)
            })),
            to: State::Stopped,
            want_after: Want::Down,
            fx: vec![],
            deadline: None,
            pid: None,
        },
        Case {
            name: "RUNNING -TakenBack-> nothing: only a fresh machine takes one",
            from: State::Running,
            want: Want::Up,
            policy: never(),
            ev: Event::TakenBack(Box::new(Record {
                ..record(State::Fatal, None, now)
            })),
            to: State::Running,
            want_after: Want::Up,
            fx: vec![],
            deadline: None,
            pid: Some(PID),
        },
    ]
}
