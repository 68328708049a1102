//! Scheduled services (SPEC §17): one-shot runs, PENDING between them.

use super::*;

/// Armed: PENDING with no deadline of its own; a due time (`Start`)
/// spawns, the run is RUNNING at once (no startsecs) and its exit,
/// expected or not, leads back to PENDING with the exit kept: never a
/// restart, whatever autorestart says.
#[test]
fn a_run_is_one_shot_and_waits_pending_after() {
    for exit in [ExitKind::Code(0), ExitKind::Code(3), ExitKind::Signal(9)] {
        let mut s = Sim::new(scheduled());
        assert_eq!(s.ev(Event::Scheduled), vec![]);
        assert_eq!((s.m.state, s.m.deadline), (State::Pending, None));
        assert_eq!(s.ev(Event::Start), vec![Spawn]);
        assert_eq!(s.spawned(), vec![]);
        assert_eq!((s.m.state, s.m.deadline), (State::Running, None));
        s.wait(millis(10));
        assert_eq!(s.ev(Event::Exited(exit)), vec![], "{exit:?}");
        assert_eq!(s.m.state, State::Pending);
        assert_eq!(s.m.deadline, None);
        assert_eq!(s.m.last_exit, Some(exit));
        assert_eq!(s.m.restarts, 0);
        // The next due time runs it again.
        assert_eq!(s.ev(Event::Start), vec![Spawn]);
    }
}

/// `stop` ends the run; the schedule goes on (PENDING). `Remove` forgets.
#[test]
fn stop_ends_the_run_not_the_schedule() {
    let mut s = Sim::new(scheduled());
    s.ev(Event::Scheduled);
    s.ev(Event::Start);
    s.spawned();
    let fx = s.ev(Event::Stop);
    assert_eq!(fx, vec![sig(libc::SIGTERM, true)]);
    assert_eq!(s.m.state, State::Stopping);
    s.ev(Event::Exited(ExitKind::Signal(libc::SIGTERM)));
    assert_eq!((s.m.state, s.m.want), (State::Pending, Want::Up));
    s.ev(Event::Start);
    s.spawned();
    assert_eq!(s.ev(Event::Remove), vec![sig(libc::SIGTERM, true)]);
    assert_eq!(s.ev(Event::Exited(ExitKind::Code(0))), vec![Forget]);
}

/// A run taken back after a crash ends into PENDING; a PENDING one taken
/// back gets no deadline (missed runs are not made up: the schedule
/// computes the next from now).
#[test]
fn taken_back_it_waits_for_its_schedule() {
    let now = Instant::now();
    let p = scheduled();
    let mut m = Machine::new();
    step(
        &mut m,
        &p,
        Event::TakenBack(Box::new(record(State::Pending, None, now))),
        now,
    );
    assert_eq!((m.state, m.deadline), (State::Pending, None));
    let mut m = Machine::new();
    let alive = record(State::Running, Some(now - secs(3)), now);
    step(&mut m, &p, Event::TakenBack(Box::new(alive)), now);
    assert_eq!(m.state, State::Running);
    step(&mut m, &p, Event::Exited(ExitKind::Unknown), now);
    assert_eq!((m.state, m.deadline), (State::Pending, None));
}
