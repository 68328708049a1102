//! Suspended during startsecs, and the suspend and resume commands.

use super::*;

#[test]
fn reaching_running_via_continued_resets_attempts() {
    let mut s = Sim::new(auto(AutoRestart::Unexpected, 3));
    s.ev(Event::Start);
    s.spawned();
    s.ev(Event::Exited(ExitKind::Code(1)));
    s.retry_after_backoff();
    s.ev(Event::Exited(ExitKind::Code(1)));
    s.retry_after_backoff();
    assert_eq!(s.m.attempts, 2);
    // Third try: someone SIGSTOPs it during startsecs and continues it well
    // after startsecs; it then runs for an hour.
    s.wait(millis(100));
    s.ev(Event::Suspended);
    s.wait(secs(5));
    s.ev(Event::Continued);
    if s.m.state == State::Starting {
        // A fix may finish startsecs through the timer.
        s.ev(Event::Timer);
    }
    assert_eq!(s.m.state, State::Running);
    s.wait(secs(3600));
    // It crashes and is restarted at once...
    assert_eq!(s.ev(Event::Exited(ExitKind::Code(1))), vec![Spawn]);
    s.spawned();
    // ... and its first early failure since the successful run must start
    // the backoff over at 1 s (SPEC §6), not be the third strike.
    s.ev(Event::Exited(ExitKind::Code(1)));
    assert_eq!(
        s.m.state,
        State::Backoff,
        "FATAL after one failure in a row"
    );
    assert_eq!(s.deadline_in(), Some(secs(1)));
}

#[test]
fn exit_before_startsecs_after_suspend_and_continue_is_early() {
    let mut s = Sim::new(auto(AutoRestart::Unexpected, 3));
    s.ev(Event::Start);
    s.spawned();
    s.wait(millis(100));
    s.ev(Event::Suspended);
    s.wait(millis(100));
    s.ev(Event::Continued);
    s.wait(millis(100));
    // 0.3 s after the spawn, startsecs is 1 s: SPEC §6 "Exit before
    // startsecs: BACKOFF".
    let fx = s.ev(Event::Exited(ExitKind::Code(1)));
    assert_eq!(fx, vec![], "restarted at once instead of backing off");
    assert_eq!(s.m.state, State::Backoff);
    assert_eq!(s.m.attempts, 1);
}

/// The commands do what a SIGSTOP or SIGCONT seen by waitpid does, and send
/// the signal themselves; the one waitpid then reports changes nothing.
#[test]
fn suspend_and_resume_commands_during_startsecs() {
    let mut s = Sim::new(never());
    s.ev(Event::Start);
    s.spawned();
    s.wait(millis(300));
    assert_eq!(s.ev(Event::Suspend), vec![sig(libc::SIGSTOP, true)]);
    assert_eq!((s.m.state, s.m.deadline), (State::Suspended, None));
    assert_eq!(s.ev(Event::Suspended), vec![]);
    assert_eq!(s.m.state, State::Suspended);
    s.wait(millis(300));
    assert_eq!(s.ev(Event::Resume), vec![sig(libc::SIGCONT, true)]);
    // Back to STARTING, due when startsecs ends from the spawn.
    assert_eq!(s.m.state, State::Starting);
    assert_eq!(s.deadline_in(), Some(millis(400)));
    assert_eq!(s.ev(Event::Continued), vec![]);
    assert_eq!(s.deadline_in(), Some(millis(400)));
}
