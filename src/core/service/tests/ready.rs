//! `ready=` (SPEC §12): STARTING lasts until `Ready`, not startsecs, and a
//! missed ready_timeout is a failed start.

use super::*;

#[test]
fn starting_waits_for_ready_not_startsecs() {
    let now = Instant::now();
    let p = Policy {
        startsecs: Duration::ZERO,
        ..ready_policy()
    };
    let mut m = Machine::new();
    assert_eq!(step(&mut m, &p, Event::Start, now), vec![Effect::Spawn]);
    step(&mut m, &p, Event::Spawned(PID), now);
    // startsecs 0 would make it RUNNING at once: with ready= it is not.
    assert_eq!(m.state, State::Starting);
    assert_eq!(m.deadline, Some(now + secs(5)));
    assert_eq!(step(&mut m, &p, Event::Ready, now + secs(1)), vec![]);
    assert_eq!(m.state, State::Running);
    assert_eq!(m.deadline, None);
    // Ready again (a late try) changes nothing.
    step(&mut m, &p, Event::Ready, now + secs(2));
    assert_eq!(m.state, State::Running);
}

#[test]
fn a_missed_ready_timeout_is_a_failed_start_then_fatal() {
    let now = Instant::now();
    let p = ready_policy();
    let mut m = Machine::new();
    step(&mut m, &p, Event::Start, now);
    let mut t = now;
    for attempt in 1..=2 {
        step(&mut m, &p, Event::Spawned(PID), t);
        t += secs(5);
        // Stop signal to the group, SIGKILL after stopwait if need be.
        assert_eq!(
            step(&mut m, &p, Event::Timer, t),
            vec![sig(libc::SIGTERM, true)]
        );
        assert_eq!(m.state, State::Starting);
        assert!(m.unready);
        // A Ready that comes too late does not make it RUNNING.
        step(&mut m, &p, Event::Ready, t);
        assert_eq!(m.state, State::Starting);
        t += p.stopwait;
        assert_eq!(
            step(&mut m, &p, Event::Timer, t),
            vec![sig(libc::SIGKILL, true)]
        );
        step(
            &mut m,
            &p,
            Event::Exited(ExitKind::Signal(libc::SIGKILL)),
            t,
        );
        assert_eq!(m.attempts, attempt);
        if attempt == 1 {
            assert_eq!(m.state, State::Backoff);
            t = m.deadline.unwrap();
            assert_eq!(step(&mut m, &p, Event::Timer, t), vec![Effect::Spawn]);
        }
    }
    assert_eq!(m.state, State::Fatal);
    assert_eq!(m.reason, Reason::NotReady("not ready within 5 s".into()));
}

#[test]
fn ready_means_nothing_outside_starting() {
    let now = Instant::now();
    let p = ready_policy();
    for state in State::ALL {
        if state == State::Starting {
            continue;
        }
        for &want in reachable_wants(state) {
            let mut m = machine_in(state, want, &p, now);
            let before = m.clone();
            assert_eq!(step(&mut m, &p, Event::Ready, now), vec![], "{state:?}");
            assert_eq!(m, before, "{state:?}");
        }
    }
}
