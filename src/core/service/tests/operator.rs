//! Operator start, and stale events that must change nothing.

use super::*;

#[test]
fn start_resets_attempts_restarts_and_reason() {
    // FATAL by TooQuickly.
    let mut s = Sim::new(auto(AutoRestart::Unexpected, 1));
    s.ev(Event::Start);
    s.spawned();
    s.ev(Event::Exited(ExitKind::Code(1)));
    assert_eq!(s.m.state, State::Fatal);
    assert_eq!(s.ev(Event::Start), vec![Spawn]);
    assert_eq!(s.m.attempts, 0);
    assert_eq!(s.m.reason, Reason::None);
    assert_eq!(s.m.want, Want::Up);
    s.spawned();
    s.ev(Event::Exited(ExitKind::Code(1)));
    assert_eq!(s.m.state, State::Fatal, "a fresh allowance of one attempt");

    // FATAL by RestartLimit.
    let mut s = Sim::new(budget(1));
    s.start_running();
    s.ev(Event::Exited(ExitKind::Code(1)));
    s.spawned();
    s.wait(secs(1));
    s.ev(Event::Timer);
    s.ev(Event::Exited(ExitKind::Code(1)));
    assert_eq!(s.m.reason, Reason::RestartLimit(1));
    assert_eq!(s.ev(Event::Start), vec![Spawn]);
    assert_eq!((s.m.attempts, s.m.restarts), (0, 0));
    assert_eq!(s.m.reason, Reason::None);
    s.spawned();
    s.wait(secs(1));
    s.ev(Event::Timer);
    assert_eq!(s.ev(Event::Exited(ExitKind::Code(1))), vec![Spawn]);

    // From BACKOFF: the retry happens now and the count starts over.
    let mut s = Sim::new(auto(AutoRestart::Unexpected, 3));
    s.ev(Event::Start);
    s.spawned();
    s.ev(Event::Exited(ExitKind::Code(1)));
    s.retry_after_backoff();
    s.ev(Event::Exited(ExitKind::Code(1)));
    assert_eq!((s.m.state, s.m.attempts), (State::Backoff, 2));
    assert_eq!(s.ev(Event::Start), vec![Spawn]);
    assert_eq!(s.m.attempts, 0);
    assert_eq!(s.m.deadline, None);
    s.spawned();
    s.ev(Event::Exited(ExitKind::Code(1)));
    assert_eq!(
        (s.m.state, s.deadline_in()),
        (State::Backoff, Some(secs(1)))
    );
}

#[test]
fn start_with_a_process_does_nothing() {
    let t0 = Instant::now();
    for state in [
        State::Starting,
        State::Running,
        State::Stopping,
        State::Suspended,
    ] {
        for (name, p) in sweep_policies() {
            for want in ALL_WANTS {
                let mut m = machine_in(state, want, &p, t0);
                m.attempts = 2;
                m.restarts = 1;
                let before = m.clone();
                for ev in [Event::Start, Event::StartAt(t0 + secs(3))] {
                    let fx = step(&mut m, &p, ev.clone(), t0 + secs(1));
                    assert_eq!(fx, vec![], "{} {name} {ev:?}", state.name());
                    assert_eq!(m, before, "{} {name} {ev:?}", state.name());
                }
            }
        }
    }
}

#[test]
fn stopping_is_not_cancelled_by_start() {
    // A Start while STOPPING is ignored: the stop goes on to STOPPED.
    let mut s = Sim::new(auto(AutoRestart::Always, 3));
    s.start_running();
    s.ev(Event::Stop);
    assert_eq!(s.ev(Event::Start), vec![]);
    assert_eq!(s.m.want, Want::Down);
    assert_eq!(s.ev(Event::Exited(ExitKind::Code(0))), vec![]);
    assert_eq!(s.m.state, State::Stopped);
}

#[test]
fn stale_events_without_a_process_do_nothing() {
    let t0 = Instant::now();
    let now = t0 + secs(50);
    for state in [
        State::Stopped,
        State::Pending,
        State::Backoff,
        State::Exited,
        State::Fatal,
    ] {
        for (name, p) in sweep_policies() {
            for &want in reachable_wants(state) {
                let evs = [
                    Event::Exited(ExitKind::Code(0)),
                    Event::Exited(ExitKind::Code(1)),
                    Event::Exited(ExitKind::Signal(9)),
                    Event::Exited(ExitKind::Unknown),
                    Event::Suspended,
                    Event::Continued,
                ];
                for ev in evs {
                    let mut m = machine_in(state, want, &p, t0);
                    let before = m.clone();
                    let fx = step(&mut m, &p, ev.clone(), now);
                    assert_eq!(fx, vec![], "{} {name} {ev:?}", state.name());
                    assert_eq!(m, before, "{} {name} {ev:?}", state.name());
                }
            }
        }
    }
    // Timer where nothing is due: no effect, and no deadline left behind.
    for state in [State::Stopped, State::Exited, State::Fatal] {
        let p = auto(AutoRestart::Always, 3);
        let mut m = machine_in(state, Want::Up, &p, t0);
        let before = m.clone();
        assert_eq!(step(&mut m, &p, Event::Timer, now), vec![]);
        assert_eq!(m, before, "{}", state.name());
        m.deadline = Some(t0); // left over
        assert_eq!(step(&mut m, &p, Event::Timer, now), vec![]);
        assert_eq!(m.deadline, None);
        assert_eq!(m.state, state);
    }
}

#[test]
fn stale_timer_with_a_process_does_nothing() {
    let t0 = Instant::now();
    for state in [State::Running, State::Suspended] {
        let p = budget(2);
        let mut m = machine_in(state, Want::Up, &p, t0);
        let before = m.clone();
        assert_eq!(step(&mut m, &p, Event::Timer, t0 + secs(9)), vec![]);
        assert_eq!(m, before, "{}", state.name());
    }
}

#[test]
fn stale_continued_and_suspended_do_nothing_elsewhere() {
    let t0 = Instant::now();
    for state in ALL_STATES {
        for (name, p) in sweep_policies() {
            for &want in reachable_wants(state) {
                if state != State::Suspended {
                    let mut m = machine_in(state, want, &p, t0);
                    let before = m.clone();
                    assert_eq!(step(&mut m, &p, Event::Continued, t0), vec![]);
                    assert_eq!(m, before, "Continued in {} {name}", state.name());
                }
                if !matches!(state, State::Starting | State::Running) {
                    let mut m = machine_in(state, want, &p, t0);
                    let before = m.clone();
                    assert_eq!(step(&mut m, &p, Event::Suspended, t0), vec![]);
                    assert_eq!(m, before, "Suspended in {} {name}", state.name());
                }
            }
        }
    }
}
