//! The group outlives its leader: STOPPING until the whole group is gone.

use super::*;

#[test]
fn stopping_waits_for_the_whole_group() {
    let p = Policy::default();
    let now = Instant::now();
    let mut m = Machine::new();
    step(&mut m, &p, Event::Start, now);
    step(&mut m, &p, Event::Spawned(300), now);
    assert_eq!(m.pgid, Some(300));
    step(&mut m, &p, Event::Stop, now);
    // The leader exits on SIGTERM; a grandchild in its group lives on.
    let fx = step(
        &mut m,
        &p,
        Event::Exited(ExitKind::Signal(libc::SIGTERM)),
        now,
    );
    assert_eq!(fx, vec![Effect::AwaitGroup]);
    assert_eq!(m.state, State::Stopping);
    assert_eq!(m.pid, None);
    assert_eq!(m.deadline, Some(now + p.stopwait));
    // stopwaitsecs pass: SIGKILL to the group, and look again in a second.
    let later = now + p.stopwait;
    let fx = step(&mut m, &p, Event::Timer, later);
    assert_eq!(
        fx,
        vec![
            Effect::Signal {
                sig: libc::SIGKILL,
                group: true
            },
            Effect::AwaitGroup
        ]
    );
    assert_eq!(m.deadline, Some(later + Duration::from_secs(1)));
    let fx = step(&mut m, &p, Event::GroupGone, later);
    assert!(fx.is_empty());
    assert_eq!(m.state, State::Stopped);
    assert_eq!((m.pgid, m.deadline), (None, None));
}

#[test]
fn group_gone_before_the_leader_exits_changes_nothing_but_pgid() {
    let p = Policy::default();
    let now = Instant::now();
    let mut m = Machine::new();
    step(&mut m, &p, Event::Start, now);
    step(&mut m, &p, Event::Spawned(301), now);
    step(&mut m, &p, Event::Stop, now);
    step(&mut m, &p, Event::GroupGone, now);
    assert_eq!(m.state, State::Stopping);
    assert_eq!(m.pgid, None);
    // Without a group to wait for, the leader's exit settles it at once.
    let fx = step(&mut m, &p, Event::Exited(ExitKind::Code(0)), now);
    assert!(fx.is_empty());
    assert_eq!(m.state, State::Stopped);
}

#[test]
fn removal_waits_for_the_group_then_forgets() {
    let p = Policy::default();
    let now = Instant::now();
    let mut m = Machine::new();
    step(&mut m, &p, Event::Start, now);
    step(&mut m, &p, Event::Spawned(302), now);
    step(&mut m, &p, Event::Remove, now);
    let fx = step(&mut m, &p, Event::Exited(ExitKind::Code(0)), now);
    assert_eq!(fx, vec![Effect::AwaitGroup]);
    let fx = step(&mut m, &p, Event::GroupGone, now);
    assert_eq!(fx, vec![Effect::Forget]);
}

#[test]
fn suspended_during_startsecs_exit_is_early_after_it_is_late() {
    // Killed while still suspended: before startsecs it is a failed
    // attempt, after startsecs an unexpected exit restarted at once.
    let p = auto(AutoRestart::Unexpected, 3);
    let t0 = Instant::now();
    for (age, early) in [(millis(300), true), (secs(5), false)] {
        let mut m = Machine::new();
        step(&mut m, &p, Event::Start, t0);
        step(&mut m, &p, Event::Spawned(500), t0);
        step(&mut m, &p, Event::Suspended, t0 + millis(100));
        assert_eq!(m.state, State::Suspended);
        assert_eq!(m.deadline, None, "no startsecs timer while suspended");
        let fx = step(
            &mut m,
            &p,
            Event::Exited(ExitKind::Signal(libc::SIGKILL)),
            t0 + age,
        );
        if early {
            assert_eq!(fx, vec![], "{age:?}");
            assert_eq!(m.state, State::Backoff, "{age:?}");
            assert_eq!(m.attempts, 1);
            assert_eq!(m.deadline, Some(t0 + age + secs(1)));
        } else {
            assert_eq!(fx, vec![Spawn], "{age:?}");
            assert_eq!(m.attempts, 0);
            assert_eq!(m.restarts, 1);
        }
    }
}

#[test]
fn continued_during_startsecs_keeps_the_original_deadline() {
    let p = Policy {
        startsecs: secs(3),
        ..auto(AutoRestart::Unexpected, 3)
    };
    let t0 = Instant::now();
    let mut m = Machine::new();
    step(&mut m, &p, Event::Start, t0);
    step(&mut m, &p, Event::Spawned(501), t0);
    step(&mut m, &p, Event::Suspended, t0 + secs(1));
    step(&mut m, &p, Event::Continued, t0 + secs(2));
    assert_eq!(m.state, State::Starting);
    assert_eq!(
        m.deadline,
        Some(t0 + secs(3)),
        "startsecs counts from the spawn"
    );
    step(&mut m, &p, Event::Timer, t0 + secs(3));
    assert_eq!(m.state, State::Running);
}

/// The leader's group, one step at a time (`machine_in` gives a process of
/// ours a group led by it, as `Spawned` does).
#[test]
fn group_transitions_table() {
    type Setup = fn(&mut Machine);
    let t0 = Instant::now();
    let now = t0 + secs(100);
    let as_built: Setup = |_| {};
    let leader_gone: Setup = |m| m.pid = None;
    let group_gone: Setup = |m| m.pgid = None;
    let kill_g = sig(libc::SIGKILL, true);
    // (name, state, want, setup, event, state after, effects, deadline
    // after relative to now, pid after, pgid after)
    #[allow(clippy::type_complexity)]
    let table: Vec<(
        &str,
        State,
        Want,
        Setup,
        Event,
        State,
        Vec<Effect>,
        Option<Duration>,
        Option<i32>,
        Option<i32>,
    )> = vec![
        (
            "leader exits, group lingers",
            State::Stopping,
            Want::Down,
            as_built,
            Event::Exited(ExitKind::Code(0)),
            State::Stopping,
            vec![Effect::AwaitGroup],
            Some(secs(10)),
            None,
            Some(PID),
        ),
        (
            "group gone after the leader: STOPPED",
            State::Stopping,
            Want::Down,
            leader_gone,
            Event::GroupGone,
            State::Stopped,
            vec![],
            None,
            None,
            None,
        ),
        (
            "group gone after the leader, removed: Forget",
            State::Stopping,
            Want::Gone,
            leader_gone,
            Event::GroupGone,
            State::Stopped,
            vec![Forget],
            None,
            None,
            None,
        ),
        (
            "stopwait over with only the group left: SIGKILL, look again in 1 s",
            State::Stopping,
            Want::Down,
            leader_gone,
            Event::Timer,
            State::Stopping,
            vec![kill_g, Effect::AwaitGroup],
            Some(secs(1)),
            None,
            Some(PID),
        ),
        (
            "group gone while the leader lives: only pgid",
            State::Stopping,
            Want::Down,
            as_built,
            Event::GroupGone,
            State::Stopping,
            vec![],
            Some(secs(10)),
            Some(PID),
            None,
        ),
        (
            "leader exits with no group left: STOPPED at once",
            State::Stopping,
            Want::Down,
            group_gone,
            Event::Exited(ExitKind::Code(0)),
            State::Stopped,
            vec![],
            None,
            None,
            None,
        ),
        (
            "removed, leader exits with no group left: Forget at once",
            State::Stopping,
            Want::Gone,
            group_gone,
            Event::Exited(ExitKind::Code(0)),
            State::Stopped,
            vec![Forget],
            None,
            None,
            None,
        ),
        (
            "Stop while only the group is left: nothing more",
            State::Stopping,
            Want::Down,
            leader_gone,
            Event::Stop,
            State::Stopping,
            vec![],
            Some(secs(10)),
            None,
            Some(PID),
        ),
        (
            "Start while only the group is left: ignored",
            State::Stopping,
            Want::Down,
            leader_gone,
            Event::Start,
            State::Stopping,
            vec![],
            Some(secs(10)),
            None,
            Some(PID),
        ),
        (
            "GroupGone while RUNNING: only pgid",
            State::Running,
            Want::Up,
            as_built,
            Event::GroupGone,
            State::Running,
            vec![],
            None,
            Some(PID),
            None,
        ),
        (
            "GroupGone while STOPPED: only pgid",
            State::Stopped,
            Want::Down,
            |m| m.pgid = Some(PID),
            Event::GroupGone,
            State::Stopped,
            vec![],
            None,
            None,
            None,
        ),
    ];
    let p = never();
    for (name, from, want, setup, ev, to, fx, deadline, pid, pgid) in table {
        let mut m = machine_in(from, want, &p, now);
        setup(&mut m);
        let got = step(&mut m, &p, ev, now);
        assert_eq!(got, fx, "{name}: effects");
        assert_eq!(m.state, to, "{name}: state");
        assert_eq!(m.deadline, deadline.map(|d| now + d), "{name}: deadline");
        assert_eq!(m.pid, pid, "{name}: pid");
        assert_eq!(m.pgid, pgid, "{name}: pgid");
    }
}

#[test]
fn not_grouped_or_adopted_stop_does_not_wait_for_a_group() {
    for p in [
        Policy {
            group: false,
            ..never()
        },
        adopted(),
    ] {
        let t0 = Instant::now();
        let mut m = Machine::new();
        step(&mut m, &p, Event::Start, t0);
        step(&mut m, &p, Event::Spawned(600), t0);
        assert_eq!(m.pgid.is_some(), !p.adopted, "adopted: not our group");
        step(&mut m, &p, Event::Stop, t0);
        let fx = step(&mut m, &p, Event::Exited(ExitKind::Code(0)), t0);
        assert_eq!(fx, vec![], "group={} adopted={}", p.group, p.adopted);
        assert_eq!(m.state, State::Stopped);
    }
}

#[test]
fn stopping_with_only_the_group_left_always_has_a_deadline() {
    let p = Policy::default();
    let t0 = Instant::now();
    let mut m = Machine::new();
    step(&mut m, &p, Event::Start, t0);
    step(&mut m, &p, Event::Spawned(700), t0);
    step(&mut m, &p, Event::Stop, t0);
    let t1 = t0 + p.stopwait;
    // The leader ignores SIGTERM: SIGKILL to the group at the deadline.
    assert_eq!(
        step(&mut m, &p, Event::Timer, t1),
        vec![sig(libc::SIGKILL, true)]
    );
    assert_eq!(m.deadline, None);
    // The leader dies; a group member is still there (not yet gone).
    let fx = step(
        &mut m,
        &p,
        Event::Exited(ExitKind::Signal(libc::SIGKILL)),
        t1 + millis(5),
    );
    assert_eq!(fx, vec![Effect::AwaitGroup]);
    assert_eq!(m.state, State::Stopping);
    assert_eq!(m.pid, None);
    assert!(
        m.deadline.is_some(),
        "STOPPING with only the group left and no timer to look at it again"
    );
}
