//! Lifecycles: several steps, the supervisor played by `Sim`.

use super::*;

#[test]
fn start_spawned_starting_then_timer_running() {
    let mut s = Sim::new(never());
    let t = s.now;
    assert_eq!(s.ev(Event::Start), vec![Spawn]);
    assert_eq!(s.m.want, Want::Up);
    assert_eq!(s.m.state, State::Stopped, "nothing runs before Spawned");
    assert_eq!(s.m.pid, None);
    assert!(!s.m.ever_started);

    s.wait(millis(3));
    assert_eq!(s.ev(Event::Spawned(4242)), vec![]);
    assert_eq!(s.m.state, State::Starting);
    assert_eq!(s.m.pid, Some(4242));
    assert_eq!(s.m.started_at, Some(t + millis(3)));
    assert_eq!(s.m.deadline, Some(t + millis(3) + secs(1)));
    assert!(s.m.ever_started);

    s.wait(secs(1));
    assert_eq!(s.ev(Event::Timer), vec![]);
    assert_eq!(s.m.state, State::Running);
    assert_eq!(s.m.deadline, None);
    assert_eq!(s.m.pid, Some(4242));
    assert_eq!(s.m.attempts, 0);
}

#[test]
fn startsecs_zero_is_running_at_once() {
    let mut s = Sim::new(Policy {
        startsecs: Duration::ZERO,
        ..auto(AutoRestart::Unexpected, 3)
    });
    s.m.attempts = 2;
    assert_eq!(s.ev(Event::Start), vec![Spawn]);
    assert_eq!(s.m.attempts, 0, "Start resets attempts");
    s.m.attempts = 2; // as if left over from backoffs
    assert_eq!(s.spawned(), vec![]);
    assert_eq!(s.m.state, State::Running);
    assert_eq!(s.m.deadline, None);
    assert_eq!(s.m.attempts, 0, "reaching RUNNING resets attempts");
}

#[test]
fn start_at_pending_then_timer_spawns() {
    let mut s = Sim::new(never());
    let at = s.now + secs(30);
    assert_eq!(s.ev(Event::StartAt(at)), vec![]);
    assert_eq!(s.m.state, State::Pending);
    assert_eq!(s.m.want, Want::Up);
    assert_eq!(s.m.deadline, Some(at));
    assert_eq!(s.m.pid, None);

    // A second StartAt does not move the time.
    assert_eq!(s.ev(Event::StartAt(at + secs(100))), vec![]);
    assert_eq!(s.m.deadline, Some(at));

    s.wait(secs(30));
    assert_eq!(s.ev(Event::Timer), vec![Spawn]);
    assert_eq!(s.m.deadline, None);
    assert_eq!(s.spawned(), vec![]);
    assert_eq!(s.m.state, State::Starting);
    assert_eq!(s.deadline_in(), Some(secs(1)));
}

#[test]
fn start_on_pending_spawns_now() {
    let mut s = Sim::new(never());
    let at = s.now + secs(30);
    s.ev(Event::StartAt(at));
    assert_eq!(s.ev(Event::Start), vec![Spawn]);
    assert_eq!(s.m.deadline, None, "the later start is dropped");
    assert_eq!(s.spawned(), vec![]);
    assert_eq!(s.m.state, State::Starting);
}

#[test]
fn stop_term_then_kill_then_stopped() {
    let mut s = Sim::new(auto(AutoRestart::Always, 3));
    s.start_running();
    let pid = s.m.pid;

    assert_eq!(s.ev(Event::Stop), vec![sig(libc::SIGTERM, true)]);
    assert_eq!(s.m.state, State::Stopping);
    assert_eq!(s.m.want, Want::Down);
    assert_eq!(s.deadline_in(), Some(secs(10)));
    assert_eq!(s.m.pid, pid, "the pid is kept while it is stopping");

    // Repeated stops neither resend nor extend the deadline.
    s.wait(secs(4));
    assert_eq!(s.ev(Event::Stop), vec![]);
    assert_eq!(s.deadline_in(), Some(secs(6)));

    s.wait(secs(6));
    assert_eq!(s.ev(Event::Timer), vec![sig(libc::SIGKILL, true)]);
    assert_eq!(s.m.state, State::Stopping);
    assert_eq!(s.m.deadline, None, "no further timer after SIGKILL");

    let kind = ExitKind::Signal(libc::SIGKILL);
    assert_eq!(s.ev(Event::Exited(kind)), vec![]);
    assert_eq!(s.m.state, State::Stopped);
    assert_eq!(s.m.pid, None);
    assert_eq!(s.m.last_exit, Some(kind));
    assert_eq!(s.m.deadline, None);
    assert_eq!(s.m.want, Want::Down);
    // Always would restart an unexpected exit; a stopped one is not restarted.
    assert_eq!(s.m.restarts, 0);
}

#[test]
fn stopping_timer_without_deadline_kills_again() {
    // The machine does not look at its own deadline: a Timer in STOPPING
    // always asks for SIGKILL. The supervisor only fires Timer when a
    // deadline is due, so this is harmless; pinned here so a change shows.
    let t0 = Instant::now();
    let p = never();
    let mut m = machine_in(State::Stopping, Want::Down, &p, t0);
    m.deadline = None;
    assert_eq!(
        step(&mut m, &p, Event::Timer, t0),
        vec![sig(libc::SIGKILL, true)]
    );
}

#[test]
fn stop_while_starting_exit_is_not_a_failed_attempt() {
    let mut s = Sim::new(auto(AutoRestart::Unexpected, 3));
    s.ev(Event::Start);
    s.spawned();
    assert_eq!(s.ev(Event::Stop), vec![sig(libc::SIGTERM, true)]);
    s.wait(millis(100));
    assert_eq!(s.ev(Event::Exited(ExitKind::Code(143))), vec![]);
    assert_eq!(s.m.state, State::Stopped);
    assert_eq!((s.m.attempts, s.m.restarts), (0, 0));
    assert_eq!(s.m.reason, Reason::None);
}

#[test]
fn stop_while_suspended_sends_sigcont_after_stopsignal() {
    let mut s = Sim::new(never());
    s.start_running();
    assert_eq!(s.ev(Event::Suspended), vec![]);
    assert_eq!(s.m.state, State::Suspended);
    assert_eq!(
        s.ev(Event::Stop),
        vec![sig(libc::SIGTERM, true), sig(libc::SIGCONT, true)]
    );
    assert_eq!(s.m.state, State::Stopping);
    // The continue it causes is seen, and changes nothing.
    assert_eq!(s.ev(Event::Continued), vec![]);
    assert_eq!(s.m.state, State::Stopping);
    assert_eq!(s.deadline_in(), Some(secs(10)));
    assert_eq!(s.ev(Event::Exited(ExitKind::Code(0))), vec![]);
    assert_eq!(s.m.state, State::Stopped);
}

#[test]
fn suspended_and_continued() {
    let mut s = Sim::new(auto(AutoRestart::Always, 3));
    s.start_running();
    let pid = s.m.pid;
    assert_eq!(s.ev(Event::Suspended), vec![]);
    assert_eq!(s.m.state, State::Suspended);
    assert_eq!(s.m.pid, pid);
    // Seen twice (WUNTRACED and the command's own report): no change.
    assert_eq!(s.ev(Event::Suspended), vec![]);
    assert_eq!(s.m.state, State::Suspended);
    // A stale timer while suspended does nothing.
    assert_eq!(s.ev(Event::Timer), vec![]);
    assert_eq!(s.m.state, State::Suspended);
    assert_eq!(s.ev(Event::Continued), vec![]);
    assert_eq!(s.m.state, State::Running);
    assert_eq!(s.m.pid, pid);
    assert_eq!(s.ev(Event::Continued), vec![]);
    assert_eq!(s.m.state, State::Running);
}

#[test]
fn killed_while_suspended_is_handled_like_any_exit() {
    let mut s = Sim::new(auto(AutoRestart::Unexpected, 3));
    s.start_running();
    s.ev(Event::Suspended);
    let fx = s.ev(Event::Exited(ExitKind::Signal(libc::SIGKILL)));
    assert_eq!(fx, vec![Spawn]);
    assert_eq!(s.m.pid, None);
    assert_eq!(s.m.restarts, 1);
    assert_eq!(s.spawned(), vec![]);
    assert_eq!(s.m.state, State::Starting);
}

#[test]
fn spawn_failed_is_fatal_at_once() {
    // SPEC §6: a program that cannot be executed fails at once, never a
    // silent loop, whatever the restart rule. The reason text is set by the
    // supervisor (the event has no payload); the machine leaves it alone.
    for (name, p) in sweep_policies() {
        let mut s = Sim::new(p);
        assert_eq!(s.ev(Event::Start), vec![Spawn], "{name}");
        s.m.reason = Reason::SpawnError("spawn error: No such file or directory".into());
        assert_eq!(s.ev(spawn_failed()), vec![], "{name}");
        assert_eq!(s.m.state, State::Fatal, "{name}");
        assert_eq!(s.m.pid, None, "{name}");
        assert_eq!(s.m.deadline, None, "{name}");
        assert_eq!(
            s.m.reason,
            Reason::SpawnError("spawn error: No such file or directory".into()),
            "{name}"
        );
        assert!(!s.m.ever_started, "{name}");
    }
}

#[test]
fn spawn_failed_on_a_restart_is_fatal() {
    let mut s = Sim::new(budget(5));
    s.start_running();
    assert_eq!(s.ev(Event::Exited(ExitKind::Code(1))), vec![Spawn]);
    assert_eq!(s.ev(spawn_failed()), vec![]);
    assert_eq!(s.m.state, State::Fatal);
    assert_eq!(s.m.pid, None);
}

#[test]
fn remove_without_process_forgets_at_once() {
    let t0 = Instant::now();
    for state in [
        State::Stopped,
        State::Pending,
        State::Backoff,
        State::Exited,
        State::Fatal,
    ] {
        for (name, p) in sweep_policies() {
            for &want in reachable_wants(state) {
                let mut m = machine_in(state, want, &p, t0);
                let fx = step(&mut m, &p, Event::Remove, t0);
                assert_eq!(fx, vec![Forget], "{} {name}", state.name());
                assert_eq!(m.want, Want::Gone);
                assert_eq!(m.deadline, None);
            }
        }
    }
}

#[test]
fn remove_with_process_forgets_after_exit() {
    for from in [State::Starting, State::Running, State::Suspended] {
        let mut s = Sim::new(budget(3));
        s.start_running();
        match from {
            State::Starting => {
                // Back into STARTING through a restart.
                assert_eq!(s.ev(Event::Exited(ExitKind::Code(1))), vec![Spawn]);
                s.spawned();
            }
            State::Suspended => {
                s.ev(Event::Suspended);
            }
            _ => {}
        }
        assert_eq!(s.m.state, from);
        let fx = s.ev(Event::Remove);
        assert_eq!(fx[0], sig(libc::SIGTERM, true), "{}", from.name());
        assert!(!fx.contains(&Forget), "{}", from.name());
        assert_eq!(s.m.state, State::Stopping);
        assert_eq!(s.m.want, Want::Gone);
        // Remove again while stopping: still waits.
        assert_eq!(s.ev(Event::Remove), vec![]);
        // Even past the SIGKILL.
        s.wait(secs(10));
        assert_eq!(s.ev(Event::Timer), vec![sig(libc::SIGKILL, true)]);
        let fx = s.ev(Event::Exited(ExitKind::Signal(libc::SIGKILL)));
        assert_eq!(fx, vec![Forget], "{}", from.name());
        assert_eq!(s.m.state, State::Stopped);
        assert_eq!(s.m.pid, None);
    }
}

#[test]
fn stop_then_remove_while_stopping_forgets_after_exit() {
    let mut s = Sim::new(never());
    s.start_running();
    s.ev(Event::Stop);
    assert_eq!(s.m.want, Want::Down);
    assert_eq!(s.ev(Event::Remove), vec![]);
    assert_eq!(s.m.want, Want::Gone);
    assert_eq!(s.ev(Event::Exited(ExitKind::Code(0))), vec![Forget]);
}

#[test]
fn remove_adopted_forgets_at_once_without_signalling() {
    for from in [State::Running, State::Suspended, State::Starting] {
        let t0 = Instant::now();
        let p = adopted();
        let mut m = machine_in(from, Want::Up, &p, t0);
        let fx = step(&mut m, &p, Event::Remove, t0);
        assert_eq!(fx, vec![Forget], "{}", from.name());
        assert!(
            !fx.iter().any(|e| matches!(e, Effect::Signal { .. })),
            "an adopted process is left running"
        );
        assert_eq!(m.want, Want::Gone);
    }
}

#[test]
fn adopted_exit_stays_exited_until_removed() {
    // SPEC §11: an adopted process that exits stays listed as EXITED
    // (exit status unknown) until removed; it is never restarted (§6).
    let t0 = Instant::now();
    let p = adopted();
    let mut m = machine_in(State::Running, Want::Up, &p, t0);
    assert_eq!(
        step(&mut m, &p, Event::Exited(ExitKind::Unknown), t0),
        vec![]
    );
    assert_eq!(m.state, State::Exited);
    assert_eq!(
        m.last_exit.map(ExitKind::describe).as_deref(),
        Some("exit status unknown")
    );
    assert_eq!(m.pid, None);
    assert_eq!(step(&mut m, &p, Event::Timer, t0 + secs(5)), vec![]);
    assert_eq!(m.state, State::Exited);
    assert_eq!(step(&mut m, &p, Event::Remove, t0 + secs(6)), vec![Forget]);
}

#[test]
fn adopted_stop_signals_the_pid_and_kills_the_pid() {
    let t0 = Instant::now();
    let p = adopted();
    let mut m = machine_in(State::Running, Want::Up, &p, t0);
    assert_eq!(
        step(&mut m, &p, Event::Stop, t0),
        vec![sig(libc::SIGTERM, false)]
    );
    assert_eq!(
        step(&mut m, &p, Event::Timer, t0 + secs(10)),
        vec![sig(libc::SIGKILL, false)]
    );
    assert_eq!(
        step(&mut m, &p, Event::Exited(ExitKind::Unknown), t0 + secs(11)),
        vec![]
    );
    assert_eq!(m.state, State::Stopped);
}

#[test]
fn readopted_unknown_exit_counts_as_unexpected() {
    // SPEC §11: a re-adopted process whose exit status cannot be known
    // counts as an unexpected exit for its restart rules.
    let t0 = Instant::now();
    let rules = [
        (budget(2), true),
        (auto(AutoRestart::Unexpected, 3), true),
        (auto(AutoRestart::Always, 3), true),
        (auto(AutoRestart::Never, 3), false),
    ];
    for (p, restarts) in rules {
        let mut m = machine_in(State::Running, Want::Up, &p, t0);
        let fx = step(&mut m, &p, Event::Exited(ExitKind::Unknown), t0);
        if restarts {
            assert_eq!(fx, vec![Spawn], "{:?}", p.restart);
            assert_eq!(m.restarts, 1);
        } else {
            assert_eq!(fx, vec![], "{:?}", p.restart);
            assert_eq!(m.state, State::Exited);
        }
    }
}

#[test]
fn the_end_of_a_process_is_timed_for_the_xmlrpc_stop_field() {
    let mut s = Sim::new(never());
    s.ev(Event::Start);
    s.spawned();
    assert_eq!(s.m.stopped_at, None, "nothing has ended yet");
    s.wait(secs(5));
    let died = s.now;
    s.ev(Event::Exited(ExitKind::Code(3)));
    assert_eq!(s.m.stopped_at, Some(died));
    // A stop ends a process too.
    s.ev(Event::Start);
    s.spawned();
    s.wait(secs(2));
    s.ev(Event::Stop);
    s.wait(secs(1));
    let stopped = s.now;
    s.ev(Event::Exited(ExitKind::Signal(libc::SIGTERM)));
    assert_eq!(s.m.stopped_at, Some(stopped));
    assert_eq!(s.m.started_at.map(|t| t < stopped), Some(true));
}
