//! Names, descriptions and defaults.

use super::*;

#[test]
fn state_names_are_the_spec_names() {
    let table = [
        (State::Stopped, "STOPPED"),
        (State::Pending, "PENDING"),
        (State::Starting, "STARTING"),
        (State::Running, "RUNNING"),
        (State::Backoff, "BACKOFF"),
        (State::Stopping, "STOPPING"),
        (State::Exited, "EXITED"),
        (State::Fatal, "FATAL"),
        (State::Suspended, "SUSPENDED"),
    ];
    assert_eq!(table.len(), ALL_STATES.len());
    for (s, name) in table {
        assert_eq!(s.name(), name);
        assert_eq!(ALL_STATES[state_index(s)], s);
    }
}

#[test]
fn has_process_exactly_in_starting_running_stopping_suspended() {
    for s in ALL_STATES {
        let expected = matches!(
            s,
            State::Starting | State::Running | State::Stopping | State::Suspended
        );
        assert_eq!(s.has_process(), expected, "{}", s.name());
    }
}

#[test]
fn exit_kind_describe() {
    let table = [
        (ExitKind::Code(3), "exit 3"),
        (ExitKind::Code(0), "exit 0"),
        (ExitKind::Code(255), "exit 255"),
        (ExitKind::Signal(libc::SIGKILL), "killed by SIGKILL"),
        (ExitKind::Signal(libc::SIGTERM), "killed by SIGTERM"),
        (ExitKind::Signal(libc::SIGSEGV), "killed by SIGSEGV"),
        (ExitKind::Signal(77), "killed by signal 77"),
        (ExitKind::Unknown, "exit status unknown"),
    ];
    for (kind, text) in table {
        assert_eq!(kind.describe(), text, "{kind:?}");
    }
}

#[test]
fn signal_names() {
    assert_eq!(signal_name(9), "SIGKILL");
    assert_eq!(signal_name(15), "SIGTERM");
    assert_eq!(signal_name(2), "SIGINT");
    assert_eq!(signal_name(0), "signal 0");
    assert_eq!(signal_name(-1), "signal -1");
    assert_eq!(signal_name(77), "signal 77");
}

#[test]
fn defaults_are_the_ad_hoc_defaults() {
    // SPEC §11: ad hoc services take startsecs 1, TERM, stopwaitsecs 10;
    // only exit 0 is expected; without -r an exit is final.
    let p = Policy::default();
    assert_eq!(p.startsecs, secs(1));
    assert_eq!(p.stopsignal, libc::SIGTERM);
    assert_eq!(p.stopwait, secs(10));
    assert!(p.group, "stopasgroup defaults to true (SPEC §5)");
    assert_eq!(p.exitcodes, vec![0]);
    assert_eq!(p.restart, RestartRule::Never);
    assert!(!p.adopted);

    let m = Machine::new();
    assert_eq!(m, Machine::default());
    assert_eq!(m.state, State::Stopped);
    assert_eq!(m.want, Want::Down);
    assert_eq!(m.pid, None);
    assert_eq!(m.started_at, None);
    assert_eq!((m.attempts, m.restarts), (0, 0));
    assert_eq!(m.last_exit, None);
    assert_eq!(m.reason, Reason::None);
    assert_eq!(m.deadline, None);
    assert!(!m.ever_started);
}
