//! Restart rules: never, a budget (`-r N`), and autorestart with startretries.

use super::*;

#[test]
fn never_rule_ends_exited_with_last_exit() {
    let kinds = [
        ExitKind::Code(0),
        ExitKind::Code(3),
        ExitKind::Signal(libc::SIGKILL),
        ExitKind::Signal(libc::SIGSEGV),
        ExitKind::Unknown,
    ];
    for kind in kinds {
        // After startsecs.
        let mut s = Sim::new(never());
        s.start_running();
        s.wait(secs(60));
        assert_eq!(s.ev(Event::Exited(kind)), vec![], "{kind:?}");
        assert_eq!(s.m.state, State::Exited);
        assert_eq!(s.m.last_exit, Some(kind));
        assert_eq!(s.m.pid, None);
        assert_eq!(s.m.deadline, None);
        assert_eq!(s.m.reason, Reason::None);

        // Before startsecs: still EXITED, no BACKOFF.
        let mut s = Sim::new(never());
        s.ev(Event::Start);
        s.spawned();
        s.wait(millis(10));
        assert_eq!(s.ev(Event::Exited(kind)), vec![], "{kind:?}");
        assert_eq!(s.m.state, State::Exited);
        assert_eq!(s.m.last_exit, Some(kind));
        assert_eq!(s.m.deadline, None);
    }
    let mut s = Sim::new(never());
    s.start_running();
    s.ev(Event::Exited(ExitKind::Code(3)));
    assert_eq!(s.m.last_exit.unwrap().describe(), "exit 3");
}

#[test]
fn budget_restarts_at_once_after_startsecs_then_restart_limit() {
    let mut s = Sim::new(budget(2));
    s.start_running();
    for n in 1..=2 {
        s.wait(secs(5));
        let kind = ExitKind::Signal(libc::SIGSEGV);
        assert_eq!(s.ev(Event::Exited(kind)), vec![Spawn], "restart {n}");
        assert_eq!(s.m.restarts, n);
        assert_eq!(s.m.attempts, 0);
        assert_eq!(s.m.deadline, None, "no added delay (SPEC §6)");
        assert_eq!(s.m.pid, None);
        assert_eq!(s.m.last_exit, Some(kind));
        assert_eq!(s.spawned(), vec![]);
        assert_eq!(s.m.state, State::Starting);
        s.wait(secs(1));
        s.ev(Event::Timer);
        assert_eq!(s.m.state, State::Running);
    }
    s.wait(secs(5));
    assert_eq!(s.ev(Event::Exited(ExitKind::Code(1))), vec![]);
    assert_eq!(s.m.state, State::Fatal);
    assert_eq!(s.m.reason, Reason::RestartLimit(2));
    assert_eq!(s.m.restarts, 2);
    assert_eq!(s.m.last_exit, Some(ExitKind::Code(1)));
    assert_eq!(s.m.pid, None);
    assert_eq!(s.m.deadline, None);
}

#[test]
fn budget_zero_is_fatal_on_the_first_unexpected_exit() {
    let mut s = Sim::new(budget(0));
    s.start_running();
    assert_eq!(s.ev(Event::Exited(ExitKind::Code(1))), vec![]);
    assert_eq!(s.m.state, State::Fatal);
    assert_eq!(s.m.reason, Reason::RestartLimit(0));
}

#[test]
fn budget_expected_exit_is_exited() {
    // SPEC §11: an exit 0 ends EXITED, with -r or without, before or after
    // startsecs, and spends nothing.
    for early in [false, true] {
        let mut s = Sim::new(budget(2));
        if early {
            s.ev(Event::Start);
            s.spawned();
        } else {
            s.start_running();
        }
        assert_eq!(s.ev(Event::Exited(ExitKind::Code(0))), vec![]);
        assert_eq!(s.m.state, State::Exited, "early={early}");
        assert_eq!(s.m.last_exit, Some(ExitKind::Code(0)));
        assert_eq!(s.m.restarts, 0);
        assert_eq!(s.m.deadline, None);
        assert_eq!(s.m.last_exit.unwrap().describe(), "exit 0");
    }
}

#[test]
fn budget_early_exit_backs_off_one_then_two_seconds() {
    let mut s = Sim::new(budget(5));
    s.ev(Event::Start);
    s.spawned();
    s.wait(millis(200));
    assert_eq!(s.ev(Event::Exited(ExitKind::Code(1))), vec![]);
    assert_eq!(s.m.state, State::Backoff);
    assert_eq!(s.deadline_in(), Some(secs(1)));
    assert_eq!((s.m.attempts, s.m.restarts), (1, 1));

    s.retry_after_backoff();
    s.wait(millis(200));
    assert_eq!(s.ev(Event::Exited(ExitKind::Code(1))), vec![]);
    assert_eq!(s.m.state, State::Backoff);
    assert_eq!(s.deadline_in(), Some(secs(2)));
    assert_eq!((s.m.attempts, s.m.restarts), (2, 2));

    s.retry_after_backoff();
    s.wait(millis(200));
    s.ev(Event::Exited(ExitKind::Code(1)));
    assert_eq!(s.deadline_in(), Some(secs(3)));

    // Once it reaches RUNNING, the backoff starts over at 1 s but the
    // restarts spent stay spent.
    s.retry_after_backoff();
    s.wait(secs(1));
    s.ev(Event::Timer);
    assert_eq!(s.m.state, State::Running);
    assert_eq!((s.m.attempts, s.m.restarts), (0, 3));
    s.ev(Event::Exited(ExitKind::Code(1)));
    assert_eq!(s.m.restarts, 4);
    s.spawned();
    s.ev(Event::Exited(ExitKind::Code(1)));
    assert_eq!(s.m.state, State::Backoff);
    assert_eq!(s.deadline_in(), Some(secs(1)));
    assert_eq!((s.m.attempts, s.m.restarts), (1, 5));
}

#[test]
fn budget_early_exits_spend_the_budget_too() {
    // SPEC §11: "each unexpected exit uses one restart (... after the
    // backoff of section 6 if not)", the next one past N is FATAL.
    let mut s = Sim::new(budget(2));
    s.ev(Event::Start);
    s.spawned();
    s.ev(Event::Exited(ExitKind::Code(1)));
    assert_eq!(s.deadline_in(), Some(secs(1)));
    s.retry_after_backoff();
    s.ev(Event::Exited(ExitKind::Code(1)));
    assert_eq!(s.deadline_in(), Some(secs(2)));
    s.retry_after_backoff();
    assert_eq!(s.ev(Event::Exited(ExitKind::Code(1))), vec![]);
    assert_eq!(s.m.state, State::Fatal);
    assert_eq!(s.m.reason, Reason::RestartLimit(2));
    assert_eq!(s.m.deadline, None);
}

#[test]
fn budget_honours_exitcodes() {
    // `create-service --set exitcodes=0,2`.
    let p = Policy {
        exitcodes: vec![0, 2],
        ..budget(1)
    };
    let t0 = Instant::now();
    for (kind, to, fx) in [
        (ExitKind::Code(2), State::Exited, vec![]),
        (ExitKind::Code(0), State::Exited, vec![]),
        (ExitKind::Code(1), State::Running, vec![Spawn]),
        (ExitKind::Signal(2), State::Running, vec![Spawn]),
        (ExitKind::Unknown, State::Running, vec![Spawn]),
    ] {
        let mut m = machine_in(State::Running, Want::Up, &p, t0);
        assert_eq!(step(&mut m, &p, Event::Exited(kind), t0), fx, "{kind:?}");
        assert_eq!(m.state, to, "{kind:?}");
    }
}

#[test]
fn auto_startretries_three_backoff_one_two_then_fatal() {
    let mut s = Sim::new(auto(AutoRestart::Unexpected, 3));
    s.ev(Event::Start);
    s.spawned();
    s.wait(millis(500));
    assert_eq!(s.ev(Event::Exited(ExitKind::Code(1))), vec![]);
    assert_eq!(s.m.state, State::Backoff);
    assert_eq!(s.deadline_in(), Some(secs(1)));
    assert_eq!(s.m.attempts, 1);

    s.retry_after_backoff();
    s.wait(millis(500));
    assert_eq!(s.ev(Event::Exited(ExitKind::Code(1))), vec![]);
    assert_eq!(s.m.state, State::Backoff);
    assert_eq!(s.deadline_in(), Some(secs(2)));
    assert_eq!(s.m.attempts, 2);

    s.retry_after_backoff();
    s.wait(millis(500));
    assert_eq!(s.ev(Event::Exited(ExitKind::Code(1))), vec![]);
    assert_eq!(s.m.state, State::Fatal);
    assert_eq!(s.m.reason, Reason::TooQuickly);
    assert_eq!(s.m.attempts, 3);
    assert_eq!(s.m.deadline, None);
    assert_eq!(s.m.pid, None);
    assert_eq!(s.m.restarts, 0, "early exits are attempts, not restarts");
}

#[test]
fn auto_early_exit_backs_off_whatever_the_code_and_autorestart() {
    // An exit before startsecs is a failed attempt, even exit 0 and even
    // with autorestart=never (supervisord behaves the same).
    for ar in [
        AutoRestart::Always,
        AutoRestart::Never,
        AutoRestart::Unexpected,
    ] {
        for kind in [
            ExitKind::Code(0),
            ExitKind::Code(1),
            ExitKind::Signal(9),
            ExitKind::Unknown,
        ] {
            let mut s = Sim::new(auto(ar, 3));
            s.ev(Event::Start);
            s.spawned();
            assert_eq!(s.ev(Event::Exited(kind)), vec![], "{ar:?} {kind:?}");
            assert_eq!(s.m.state, State::Backoff, "{ar:?} {kind:?}");
            assert_eq!(s.deadline_in(), Some(secs(1)));
        }
    }
}

#[test]
fn auto_startretries_one_is_fatal_on_the_first_early_exit() {
    let mut s = Sim::new(auto(AutoRestart::Always, 1));
    s.ev(Event::Start);
    s.spawned();
    s.ev(Event::Exited(ExitKind::Code(1)));
    assert_eq!(s.m.state, State::Fatal);
    assert_eq!(s.m.reason, Reason::TooQuickly);
}

#[test]
fn auto_startretries_zero_never_gives_up() {
    let mut s = Sim::new(auto(AutoRestart::Unexpected, 0));
    s.ev(Event::Start);
    s.spawned();
    for n in 1..=50u64 {
        s.wait(millis(100));
        assert_eq!(s.ev(Event::Exited(ExitKind::Code(1))), vec![], "exit {n}");
        assert_eq!(s.m.state, State::Backoff, "exit {n}");
        assert_eq!(s.deadline_in(), Some(secs(n)), "one more second each");
        assert_eq!(s.m.attempts as u64, n);
        assert_eq!(s.m.reason, Reason::None);
        s.retry_after_backoff();
    }
    // It finally stays up: the count starts over.
    s.wait(secs(1));
    s.ev(Event::Timer);
    assert_eq!(s.m.state, State::Running);
    assert_eq!(s.m.attempts, 0);
}

#[test]
fn auto_attempts_start_over_after_reaching_running() {
    let mut s = Sim::new(auto(AutoRestart::Always, 3));
    s.ev(Event::Start);
    s.spawned();
    s.ev(Event::Exited(ExitKind::Code(1)));
    s.retry_after_backoff();
    s.ev(Event::Exited(ExitKind::Code(1)));
    assert_eq!(s.m.attempts, 2);
    s.retry_after_backoff();
    s.wait(secs(1));
    s.ev(Event::Timer);
    assert_eq!(s.m.attempts, 0);
    // A later crash restarts at once, then two early failures are allowed
    // again before the third is FATAL.
    assert_eq!(s.ev(Event::Exited(ExitKind::Code(1))), vec![Spawn]);
    s.spawned();
    s.ev(Event::Exited(ExitKind::Code(1)));
    assert_eq!(
        (s.m.state, s.deadline_in()),
        (State::Backoff, Some(secs(1)))
    );
    s.retry_after_backoff();
    s.ev(Event::Exited(ExitKind::Code(1)));
    assert_eq!(
        (s.m.state, s.deadline_in()),
        (State::Backoff, Some(secs(2)))
    );
    s.retry_after_backoff();
    s.ev(Event::Exited(ExitKind::Code(1)));
    assert_eq!(s.m.state, State::Fatal);
}

#[test]
fn auto_autorestart_after_startsecs_table() {
    use AutoRestart::{Always, Never, Unexpected};
    // exitcodes = [0, 2]; (rule, exit, restarted?)
    let table = [
        (Always, ExitKind::Code(0), true),
        (Always, ExitKind::Code(1), true),
        (Always, ExitKind::Code(2), true),
        (Always, ExitKind::Signal(libc::SIGKILL), true),
        (Always, ExitKind::Unknown, true),
        (Never, ExitKind::Code(0), false),
        (Never, ExitKind::Code(1), false),
        (Never, ExitKind::Code(2), false),
        (Never, ExitKind::Signal(libc::SIGKILL), false),
        (Never, ExitKind::Unknown, false),
        (Unexpected, ExitKind::Code(0), false),
        (Unexpected, ExitKind::Code(1), true),
        (Unexpected, ExitKind::Code(2), false),
        (Unexpected, ExitKind::Code(3), true),
        (Unexpected, ExitKind::Signal(libc::SIGKILL), true),
        (Unexpected, ExitKind::Signal(0), true),
        (Unexpected, ExitKind::Unknown, true),
    ];
    for (ar, kind, restarted) in table {
        let mut s = Sim::new(Policy {
            exitcodes: vec![0, 2],
            ..auto(ar, 3)
        });
        s.start_running();
        s.wait(secs(30));
        let fx = s.ev(Event::Exited(kind));
        assert_eq!(s.m.last_exit, Some(kind));
        assert_eq!(s.m.pid, None);
        assert_eq!(s.m.deadline, None, "{ar:?} {kind:?}: no delay");
        if restarted {
            assert_eq!(fx, vec![Spawn], "{ar:?} {kind:?}");
            assert_eq!(s.m.restarts, 1, "{ar:?} {kind:?}");
            assert_eq!(s.spawned(), vec![]);
            assert_eq!(s.m.state, State::Starting, "{ar:?} {kind:?}");
        } else {
            assert_eq!(fx, vec![], "{ar:?} {kind:?}");
            assert_eq!(s.m.state, State::Exited, "{ar:?} {kind:?}");
            assert_eq!(s.m.restarts, 0);
        }
    }
}

#[test]
fn auto_always_restarts_without_limit() {
    let mut s = Sim::new(auto(AutoRestart::Always, 3));
    s.start_running();
    for n in 1..=100 {
        s.wait(secs(2));
        assert_eq!(s.ev(Event::Exited(ExitKind::Code(0))), vec![Spawn]);
        assert_eq!(s.m.restarts, n);
        s.spawned();
        s.wait(secs(1));
        s.ev(Event::Timer);
        assert_eq!(s.m.state, State::Running);
    }
}
