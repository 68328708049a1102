//! The restart floor: no automatic spawn sooner than 1 s after the last.

use super::*;

/// SPEC §11: after a run shorter than one second the next spawn waits
/// until one second after that run began; a longer run restarts at once.
#[test]
fn restart_floor_table() {
    let zero = |p: Policy| Policy {
        startsecs: Duration::ZERO,
        ..p
    };
    let policies = [
        (
            "auto always, startsecs 0",
            zero(auto(AutoRestart::Always, 0)),
        ),
        (
            "auto unexpected, startsecs 0",
            zero(auto(AutoRestart::Unexpected, 3)),
        ),
        ("budget(5), startsecs 0", zero(budget(5))),
    ];
    // (how long the run lasted, the wait before the next spawn)
    let table = [
        (millis(0), Some(secs(1))),
        (millis(1), Some(millis(999))),
        (millis(300), Some(millis(700))),
        (millis(999), Some(millis(1))),
        (millis(1000), None),
        (millis(1001), None),
        (secs(60), None),
    ];
    for (name, p) in &policies {
        for (ran, wait) in table {
            let ctx = format!("{name}, ran {ran:?}");
            let mut s = Sim::new(p.clone());
            s.start_running();
            s.wait(ran);
            let fx = s.ev(Event::Exited(ExitKind::Code(1)));
            assert_eq!(s.m.restarts, 1, "{ctx}: the restart counts at once");
            match wait {
                None => {
                    assert_eq!(fx, vec![Spawn], "{ctx}: a long run restarts at once");
                    assert_eq!(s.m.deadline, None, "{ctx}");
                }
                Some(w) => {
                    assert_eq!(fx, vec![], "{ctx}: no spawn before the floor");
                    assert_eq!(s.m.state, State::Pending, "{ctx}");
                    assert_eq!(s.deadline_in(), Some(w), "{ctx}");
                    assert_eq!(s.m.want, Want::Up, "{ctx}");
                    s.wait(w);
                    assert_eq!(s.ev(Event::Timer), vec![Spawn], "{ctx}");
                    assert_eq!(s.m.deadline, None, "{ctx}");
                    assert_eq!(s.m.restarts, 1, "{ctx}: counted once");
                }
            }
            assert_eq!(s.spawned(), vec![], "{ctx}");
            assert_eq!(s.m.state, State::Running, "{ctx}");
        }
    }
}

/// A program that keeps exiting at once is spawned once a second, never
/// faster, however many times it exits.
#[test]
fn restart_floor_crash_loop_spawns_once_a_second() {
    let mut s = Sim::new(Policy {
        startsecs: Duration::ZERO,
        ..auto(AutoRestart::Always, 0)
    });
    let t0 = s.now;
    s.start_running();
    let mut spawns = 1;
    while s.now < t0 + secs(10) {
        s.wait(millis(5));
        let fx = s.ev(Event::Exited(ExitKind::Code(0)));
        assert_eq!(fx, vec![]);
        let w = s.deadline_in().expect("floor deadline");
        s.wait(w);
        assert_eq!(s.ev(Event::Timer), vec![Spawn]);
        s.spawned();
        spawns += 1;
    }
    assert_eq!(spawns, 11, "one spawn a second over 10 s");
    assert_eq!(s.m.restarts, 10);
}

/// Stop, remove and start act on a floor wait as on any PENDING: stop
/// cancels it, start spawns at once (the operator asked), remove forgets.
#[test]
fn restart_floor_wait_obeys_commands() {
    let p = Policy {
        startsecs: Duration::ZERO,
        ..auto(AutoRestart::Always, 0)
    };
    for (ev, fx, state) in [
        (Event::Stop, vec![], State::Stopped),
        (Event::Start, vec![Spawn], State::Pending),
        (Event::Remove, vec![Forget], State::Pending),
    ] {
        let mut s = Sim::new(p.clone());
        s.start_running();
        s.wait(millis(10));
        assert_eq!(s.ev(Event::Exited(ExitKind::Code(0))), vec![]);
        assert_eq!(s.ev(ev.clone()), fx, "{ev:?}");
        assert_eq!(s.m.state, state, "{ev:?}");
        if ev != Event::Remove {
            assert!(ev == Event::Start || s.m.deadline.is_none(), "{ev:?}");
        }
    }
}
