//! Adopting and taking back, and spawn failures: what `step` writes besides
//! the state (counters, intent, reason, times), which the table does not
//! show.

use super::*;

#[test]
fn adopted_runs_from_its_real_start_and_is_never_our_group() {
    let t0 = Instant::now();
    let now = t0 + secs(100);
    let mut m = Machine::new();
    let fx = step(
        &mut m,
        &adopted(),
        Event::Adopted {
            pid: 300,
            started_at: t0,
        },
        now,
    );
    assert_eq!(fx, vec![]);
    let expect = Machine {
        state: State::Running,
        want: Want::Up,
        pid: Some(300),
        started_at: Some(t0),
        ever_started: true,
        ..Machine::new()
    };
    assert_eq!(m, expect);
    // Its stop goes to the pid; its exit is final.
    let p = adopted();
    assert_eq!(
        step(&mut m, &p, Event::Stop, now),
        vec![sig(libc::SIGTERM, false)]
    );
    step(&mut m, &p, Event::Exited(ExitKind::Unknown), now);
    assert_eq!(m.state, State::Stopped);
}

#[test]
fn taken_back_keeps_counters_intent_and_the_last_exit() {
    let t0 = Instant::now();
    let now = t0 + secs(100);
    for alive_since in [None, Some(t0)] {
        for state in State::ALL {
            let r = Record {
                reason: Reason::RestartLimit(4),
                ..record(state, alive_since, now)
            };
            let mut m = Machine::new();
            let fx = step(&mut m, &never(), Event::TakenBack(Box::new(r)), now);
            let ctx = format!("{} {alive_since:?}", state.name());
            assert_eq!(fx, vec![], "{ctx}");
            assert_eq!((m.restarts, m.attempts), (2, 1), "{ctx}");
            assert_eq!(m.want, Want::Up, "{ctx}");
            assert_eq!(m.last_exit, Some(ExitKind::Code(3)), "{ctx}");
            assert_eq!(m.reason, Reason::RestartLimit(4), "{ctx}");
            if alive_since.is_some() {
                // Uptime counts from the process's real start.
                assert_eq!(m.started_at, Some(t0), "{ctx}");
                assert_eq!(m.pgid, Some(400), "{ctx}: our child leads its group");
            } else if state.has_process() {
                assert_eq!(m.started_at, Some(now), "{ctx}");
                assert_eq!(m.pgid, None, "{ctx}: its group is not waited for");
            }
        }
    }
}

#[test]
fn taken_back_adopted_alive_has_no_group() {
    let now = Instant::now();
    let mut m = Machine::new();
    let r = record(State::Running, Some(now), now);
    step(&mut m, &adopted(), Event::TakenBack(Box::new(r)), now);
    assert_eq!((m.pid, m.pgid), (Some(400), None));
}

#[test]
fn taken_back_without_a_process_keeps_whether_it_ever_started() {
    let now = Instant::now();
    for ever_started in [false, true] {
        let mut m = Machine::new();
        let r = Record {
            ever_started,
            ..record(State::Stopped, None, now)
        };
        step(&mut m, &never(), Event::TakenBack(Box::new(r)), now);
        assert_eq!(m.ever_started, ever_started);
        assert_eq!(m.pid, None);
    }
}

/// A process that died while no daemon watched it: its exit, fed in next,
/// is handled by the restart rules as if just seen (SPEC §8).
#[test]
fn taken_back_dead_then_its_exit_follows_the_rules() {
    let now = Instant::now();
    let p = auto(AutoRestart::Unexpected, 3);
    // RUNNING past startsecs: a late unexpected exit restarts at once.
    let mut m = Machine::new();
    step(
        &mut m,
        &p,
        Event::TakenBack(Box::new(record(State::Running, None, now))),
        now,
    );
    let fx = step(&mut m, &p, Event::Exited(ExitKind::Unknown), now + secs(2));
    assert_eq!(fx, vec![Spawn]);
    assert_eq!(m.last_exit, Some(ExitKind::Unknown));
    // STARTING: an early exit, one more failed attempt.
    let mut m = Machine::new();
    step(
        &mut m,
        &p,
        Event::TakenBack(Box::new(record(State::Starting, None, now))),
        now,
    );
    step(&mut m, &p, Event::Exited(ExitKind::Unknown), now);
    assert_eq!(m.state, State::Backoff);
    assert_eq!(m.attempts, 2);
    // STOPPING, being removed: settled and forgotten.
    let mut m = Machine::new();
    let r = Record {
        want: Want::Gone,
        ..record(State::Stopping, None, now)
    };
    step(&mut m, &p, Event::TakenBack(Box::new(r)), now);
    let fx = step(&mut m, &p, Event::Exited(ExitKind::Unknown), now);
    assert_eq!(fx, vec![Forget]);
    assert_eq!(m.state, State::Stopped);
}

#[test]
fn spawn_failed_keeps_its_reason_whatever_the_state() {
    let now = Instant::now();
    for state in State::ALL {
        let mut m = machine_in(state, Want::Up, &never(), now);
        let ev = Event::SpawnFailed("spawn error: Permission denied".into());
        assert_eq!(step(&mut m, &never(), ev, now), vec![], "{}", state.name());
        assert_eq!(m.state, State::Fatal);
        assert_eq!(
            m.reason,
            Reason::SpawnError("spawn error: Permission denied".into())
        );
        assert_eq!((m.pid, m.deadline), (None, None));
    }
}
