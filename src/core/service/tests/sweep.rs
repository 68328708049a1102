//! The sweep: every state, want, event and policy; invariants after each step.

use super::*;

fn count(fx: &[Effect], f: impl Fn(&Effect) -> bool) -> usize {
    fx.iter().filter(|e| f(e)).count()
}

/// Every state × every want × every event × several policies and counters:
/// `step` never panics, and what must hold after it holds.
#[test]
fn sweep_never_panics_and_keeps_invariants() {
    let t0 = Instant::now();
    let now = t0 + secs(1000);
    let mut steps = 0usize;
    for state in ALL_STATES {
        for want in ALL_WANTS {
            let reachable = reachable_wants(state).contains(&want);
            for (pname, p) in sweep_policies() {
                for (attempts, restarts) in [(0, 0), (1, 0), (2, 2), (7, 1)] {
                    let mut base = machine_in(state, want, &p, now);
                    base.attempts = attempts;
                    base.restarts = restarts;
                    for (vname, start) in variants(&base, &p, now) {
                        for ev in all_events(now) {
                            let mut m = start.clone();
                            let fx = step(&mut m, &p, ev.clone(), now);
                            steps += 1;
                            let ctx = format!(
                                "{} want={want:?} {pname} a={attempts} r={restarts} \
                                 [{vname}] {ev:?} -> {} {fx:?}",
                                state.name(),
                                m.state.name()
                            );
                            check(&start, &m, &p, ev, &fx, now, reachable, &ctx);
                        }
                    }
                }
            }
        }
    }
    assert!(steps > 5000, "{steps}");
}

/// The ways a machine can be found in `base.state`, all reachable (given
/// the policy): `base` itself plus the variations the state allows.
fn variants(base: &Machine, p: &Policy, now: Instant) -> Vec<(&'static str, Machine)> {
    let with = |f: &dyn Fn(&mut Machine)| {
        let mut m = base.clone();
        f(&mut m);
        m
    };
    let mut v = vec![("as built", base.clone())];
    match base.state {
        State::Stopped | State::Exited | State::Fatal | State::Pending | State::Backoff => {
            // An exit other than from STOPPING leaves the old group behind.
            v.push(("stale pgid", with(&|m| m.pgid = Some(PID))));
        }
        State::Starting | State::Running => {
            v.push(("group gone", with(&|m| m.pgid = None)));
        }
        State::Suspended => {
            v.push(("group gone", with(&|m| m.pgid = None)));
            if !p.startsecs.is_zero() {
                // Suspended while STARTING, startsecs not over yet.
                v.push(("suspended young", with(&|m| m.started_at = Some(now))));
            }
        }
        State::Stopping => {
            v.push(("killed", with(&|m| m.deadline = None)));
            v.push(("group gone", with(&|m| m.pgid = None)));
            if p.group && !p.adopted {
                v.push(("leader gone", with(&|m| m.pid = None)));
                v.push((
                    "leader gone, killed",
                    with(&|m| {
                        m.pid = None;
                        m.deadline = Some(now + secs(1));
                    }),
                ));
                v.push((
                    "leader gone after the kill",
                    with(&|m| {
                        m.pid = None;
                        m.deadline = None;
                    }),
                ));
            }
        }
    }
    v
}

#[allow(clippy::too_many_arguments)]
fn check(
    before: &Machine,
    m: &Machine,
    p: &Policy,
    ev: Event,
    fx: &[Effect],
    now: Instant,
    reachable: bool,
    ctx: &str,
) {
    let spawns = count(fx, |e| *e == Spawn);
    let forgets = count(fx, |e| *e == Forget);
    let signals: Vec<(i32, bool)> = fx
        .iter()
        .filter_map(|e| match e {
            Effect::Signal { sig, group } => Some((*sig, *group)),
            _ => None,
        })
        .collect();

    // ---- effects are well formed
    assert!(spawns <= 1, "{ctx}: more than one Spawn");
    assert!(forgets <= 1, "{ctx}: more than one Forget");
    assert!(spawns + forgets <= 1, "{ctx}: Spawn and Forget together");
    assert!(
        signals.is_empty() || (spawns == 0 && forgets == 0),
        "{ctx}: signals mixed with Spawn/Forget"
    );
    assert!(signals.len() <= 2, "{ctx}");
    let awaits = count(fx, |e| *e == Effect::AwaitGroup);
    assert!(awaits <= 1, "{ctx}: more than one AwaitGroup");
    if awaits == 1 {
        assert_eq!(
            m.state,
            State::Stopping,
            "{ctx}: AwaitGroup outside STOPPING"
        );
        assert_eq!(m.pid, None, "{ctx}: AwaitGroup with the leader alive");
        assert!(m.pgid.is_some(), "{ctx}: AwaitGroup with no group");
        assert!(p.group && !p.adopted, "{ctx}: AwaitGroup when not grouped");
        assert_eq!(spawns + forgets, 0, "{ctx}");
    }

    // ---- pid and process
    if m.state.has_process() && m.pid.is_none() {
        // Either a restart is on its way, or the leader of a stopping
        // service is gone and its group is being waited for.
        let awaiting = m.state == State::Stopping && m.pgid.is_some() && p.group;
        assert!(
            spawns == 1 || awaiting,
            "{ctx}: a process state with no pid, no Spawn and no group to wait for"
        );
    }
    if !m.state.has_process() {
        assert_eq!(m.pid, None, "{ctx}: a pid kept in a state with no process");
    }
    if spawns == 1 {
        assert_eq!(m.pid, None, "{ctx}: Spawn while a process is known");
        assert_ne!(m.state, State::Stopping, "{ctx}");
    }
    if !matches!(
        ev,
        Event::Spawned(_)
            | Event::SpawnFailed(_)
            | Event::Exited(_)
            | Event::Adopted { .. }
            | Event::TakenBack(_)
    ) {
        assert_eq!(
            m.pid, before.pid,
            "{ctx}: pid changed by an unrelated event"
        );
    }
    if let Event::Spawned(pid) = ev {
        assert_eq!(m.pid, Some(pid), "{ctx}");
        assert_eq!(m.started_at, Some(now), "{ctx}");
        assert!(m.ever_started, "{ctx}");
        assert!(fx.is_empty(), "{ctx}");
        let pgid = if p.adopted { None } else { Some(pid) };
        assert_eq!(m.pgid, pgid, "{ctx}: our child leads its own group");
    }
    if ev == Event::GroupGone {
        assert_eq!(m.pgid, None, "{ctx}");
        if before.state == State::Stopping && before.pid.is_none() {
            let settled = if p.scheduled && m.want != Want::Gone {
                State::Pending
            } else {
                State::Stopped
            };
            assert_eq!(m.state, settled, "{ctx}: the group was all that was left");
            assert_eq!(m.deadline, None, "{ctx}");
            let expect: &[Effect] = if m.want == Want::Gone { &[Forget] } else { &[] };
            assert_eq!(fx, expect, "{ctx}");
        } else {
            let mut expect = before.clone();
            expect.pgid = None;
            assert_eq!(*m, expect, "{ctx}: GroupGone changed more than pgid");
            assert!(fx.is_empty(), "{ctx}");
        }
    }

    // ---- signals
    let group = p.group && !p.adopted;
    let command = matches!(ev, Event::Suspend | Event::Resume);
    for &(sig, g) in &signals {
        assert_eq!(g, group, "{ctx}: group flag");
        assert!(
            sig == p.stopsignal
                || sig == libc::SIGCONT
                || sig == libc::SIGKILL
                || sig == libc::SIGSTOP && ev == Event::Suspend,
            "{ctx}: unexpected signal {sig}"
        );
    }
    // A missed ready_timeout stops the process still STARTING: its exit is
    // a failed start, not a stop (SPEC §12).
    if !signals.is_empty() && !command && !m.unready {
        assert_eq!(m.state, State::Stopping, "{ctx}: signal outside STOPPING");
        if m.pid.is_none() {
            // Only the leader's group is left: it can only be killed.
            assert!(m.pgid.is_some() && group, "{ctx}: signal with no target");
            assert_eq!(signals, vec![(libc::SIGKILL, true)], "{ctx}");
        }
    }
    if signals.contains(&(libc::SIGCONT, group)) && p.stopsignal != libc::SIGCONT {
        assert_eq!(before.state, State::Suspended, "{ctx}: SIGCONT");
        if !command {
            assert_eq!(signals[0], (p.stopsignal, group), "{ctx}: stopsignal first");
        }
    }
    match ev {
        Event::Suspend if matches!(before.state, State::Starting | State::Running) => {
            assert_eq!(fx, [sig(libc::SIGSTOP, group)], "{ctx}");
            assert_eq!(m.state, State::Suspended, "{ctx}");
            assert_eq!(m.deadline, None, "{ctx}");
        }
        Event::Resume if before.state == State::Suspended => {
            assert_eq!(fx, [sig(libc::SIGCONT, group)], "{ctx}");
        }
        // Only a fresh (STOPPED) machine takes a process it did not spawn.
        Event::Suspend | Event::Resume | Event::Adopted { .. } | Event::TakenBack(_)
            if before.state != State::Stopped || command =>
        {
            assert_eq!(m, before, "{ctx}: changed by a command that does not apply");
            assert!(fx.is_empty(), "{ctx}");
        }
        Event::Adopted { pid, started_at } => {
            assert_eq!(m.state, State::Running, "{ctx}");
            assert_eq!((m.pid, m.pgid), (Some(pid), None), "{ctx}");
            assert_eq!(m.started_at, Some(started_at), "{ctx}");
            assert!(fx.is_empty(), "{ctx}");
        }
        Event::TakenBack(_) => assert!(fx.is_empty(), "{ctx}"),
        _ => {}
    }
    let taken_back = matches!(ev, Event::TakenBack(_)) && before.state == State::Stopped;

    // ---- forget
    if forgets == 1 {
        assert_eq!(m.want, Want::Gone, "{ctx}: Forget without Gone");
        assert!(
            !m.state.has_process() || p.adopted,
            "{ctx}: forgot a process of ours"
        );
    }
    if ev == Event::Remove {
        assert_eq!(m.want, Want::Gone, "{ctx}");
        if !before.state.has_process() {
            assert_eq!(fx, [Forget], "{ctx}: Remove with no process");
        }
    }

    // ---- deadlines
    match m.state {
        State::Pending | State::Backoff => assert!(
            // Held by its dependencies: the supervisor releases it; a
            // scheduled one waits for the supervisor's schedule.
            m.deadline.is_some() || spawns == 1 || forgets == 1 || ev == Event::Hold || p.scheduled,
            "{ctx}: PENDING/BACKOFF without a deadline, a Spawn or a Forget"
        ),
        State::Stopped | State::Exited | State::Fatal => {
            assert_eq!(m.deadline, None, "{ctx}: deadline when idle")
        }
        State::Running | State::Suspended => {
            assert_eq!(m.deadline, None, "{ctx}: deadline with nothing due")
        }
        // Taken back STARTING: startsecs from now (even when it is 0) if
        // its process lives, else none: its exit comes next.
        State::Starting if taken_back => {
            let alive = matches!(&ev, Event::TakenBack(r) if r.alive_since.is_some());
            let due = alive.then_some(now + p.start_window());
            assert_eq!(m.deadline, due, "{ctx}")
        }
        State::Starting => assert_eq!(
            m.deadline.is_some(),
            !p.start_window().is_zero(),
            "{ctx}: STARTING deadline iff startsecs > 0"
        ),
        // Taken back STOPPING with its process gone: its exit comes next.
        State::Stopping if taken_back => {
            assert_eq!(m.deadline, None, "{ctx}");
            assert_eq!(m.pgid, None, "{ctx}");
        }
        State::Stopping => {
            if before.state != State::Stopping {
                assert_eq!(m.deadline, Some(now + p.stopwait), "{ctx}");
                assert_eq!(signals.first(), Some(&(p.stopsignal, group)), "{ctx}");
            } else if ev == Event::Timer && before.pid.is_some() {
                assert_eq!(m.deadline, None, "{ctx}: deadline after SIGKILL");
                assert_eq!(fx, [sig(libc::SIGKILL, group)], "{ctx}");
            } else if ev == Event::Timer {
                // Only the group is left: kill it and look again in 1 s.
                assert_eq!(m.deadline, Some(now + secs(1)), "{ctx}: group re-check");
                assert_eq!(fx, [sig(libc::SIGKILL, true), Effect::AwaitGroup], "{ctx}");
            } else if fx.contains(&Effect::AwaitGroup) && before.deadline.is_none() {
                // The leader left after SIGKILL: the group is looked at again.
                assert_eq!(m.deadline, Some(now + secs(1)), "{ctx}: group re-check");
                assert!(signals.is_empty(), "{ctx}");
            } else {
                assert_eq!(
                    m.deadline, before.deadline,
                    "{ctx}: STOPPING deadline moved"
                );
                assert!(signals.is_empty(), "{ctx}");
            }
        }
    }
    if let (State::Pending | State::Backoff, Event::TakenBack(r), true) = (m.state, &ev, taken_back)
    {
        // A scheduled one: its schedule says when, from now (SPEC §17).
        let due = (!p.scheduled).then_some(r.due);
        assert_eq!(m.deadline, due, "{ctx}: due as recorded");
    } else if m.state == State::Backoff && before.state != State::Backoff {
        let secs_ = u64::from(m.attempts.max(1));
        assert_eq!(m.deadline, Some(now + secs(secs_)), "{ctx}: backoff length");
    }

    // ---- exits
    if let Event::Exited(kind) = ev {
        if before.state.has_process() {
            assert_eq!(m.last_exit, Some(kind), "{ctx}: last_exit");
            assert_eq!(m.pid, None, "{ctx}");
        } else {
            assert_eq!(m, before, "{ctx}: stale exit changed the machine");
            assert!(fx.is_empty(), "{ctx}");
        }
        if m.state == State::Fatal && before.state != State::Fatal {
            assert!(
                matches!(m.reason, Reason::TooQuickly | Reason::RestartLimit(_)),
                "{ctx}: FATAL without a reason"
            );
        }
        if p.restart == RestartRule::Never {
            assert_eq!(spawns, 0, "{ctx}: Never restarted");
        }
        if before.state == State::Stopping {
            assert_eq!(spawns, 0, "{ctx}: a stopped process was restarted");
            if p.group && before.pgid.is_some() {
                assert_eq!(m.state, State::Stopping, "{ctx}: group not waited for");
                assert_eq!(fx, [Effect::AwaitGroup], "{ctx}");
                // The stop deadline stands; past SIGKILL, a 1 s re-check.
                let expect = before.deadline.or(Some(now + secs(1)));
                assert_eq!(m.deadline, expect, "{ctx}");
            } else {
                // A scheduled one waits for its next run (SPEC §17).
                let settled = if p.scheduled && m.want != Want::Gone {
                    State::Pending
                } else {
                    State::Stopped
                };
                assert_eq!(m.state, settled, "{ctx}");
                assert_eq!(m.deadline, None, "{ctx}");
                assert_eq!(m.pgid, None, "{ctx}");
                let expect: &[Effect] = if m.want == Want::Gone { &[Forget] } else { &[] };
                assert_eq!(fx, expect, "{ctx}");
            }
        }
        // SPEC §6: an exit before startsecs (also one suspended during
        // startsecs) is a failed attempt; after it, a restart at once.
        let early = before.state == State::Starting
            || before.state == State::Suspended
                && before
                    .started_at
                    .is_some_and(|t| now < t + p.start_window());
        let auto = matches!(p.restart, RestartRule::Auto { .. });
        let with_process = matches!(
            before.state,
            State::Starting | State::Running | State::Suspended
        );
        if p.scheduled && with_process && before.want != Want::Gone {
            // SPEC §17: one-shot, never restarted, PENDING until the next.
            assert_eq!((m.state, spawns), (State::Pending, 0), "{ctx}");
        } else if auto && before.want == Want::Up && with_process {
            if early {
                assert!(
                    matches!(m.state, State::Backoff | State::Fatal),
                    "{ctx}: an early exit neither backed off nor gave up"
                );
                assert_eq!(m.attempts, before.attempts + 1, "{ctx}");
            } else {
                assert_ne!(m.state, State::Backoff, "{ctx}: a late exit backed off");
                assert_eq!(m.attempts, before.attempts, "{ctx}");
            }
        }
    }
    if before.state == State::Suspended && ev == Event::Continued {
        match before
            .started_at
            .map(|t| t + p.start_window())
            .filter(|d| *d > now)
        {
            Some(due) => {
                assert_eq!(m.state, State::Starting, "{ctx}: startsecs not over");
                assert_eq!(m.deadline, Some(due), "{ctx}: startsecs from the spawn");
                assert_eq!(m.attempts, before.attempts, "{ctx}");
            }
            None => {
                assert_eq!(m.state, State::Running, "{ctx}");
                assert_eq!(m.attempts, 0, "{ctx}: RUNNING resets attempts");
            }
        }
    }
    if let Event::SpawnFailed(why) = &ev {
        assert_eq!(m.state, State::Fatal, "{ctx}");
        assert_eq!(m.pid, None, "{ctx}");
        assert_eq!(m.reason, Reason::SpawnError(why.clone()), "{ctx}");
    }

    // ---- intent
    if reachable && spawns == 1 {
        assert_eq!(m.want, Want::Up, "{ctx}: Spawn when not wanted up");
    }
    match ev {
        Event::Stop => {
            if before.state == State::Stopping {
                assert_eq!(m.want, before.want, "{ctx}: Stop while STOPPING");
            } else {
                assert_eq!(m.want, Want::Down, "{ctx}");
            }
            assert_eq!(spawns, 0, "{ctx}");
        }
        Event::Start if !before.state.has_process() => {
            assert_eq!(fx, [Spawn], "{ctx}");
            assert_eq!(m.want, Want::Up, "{ctx}");
            assert_eq!((m.attempts, m.restarts), (0, 0), "{ctx}");
            assert_eq!(m.reason, Reason::None, "{ctx}");
            assert_eq!(m.deadline, None, "{ctx}");
        }
        Event::Start | Event::StartAt(_) if before.state.has_process() => {
            assert_eq!(m, before, "{ctx}: start with a process changed something");
            assert!(fx.is_empty(), "{ctx}");
        }
        _ => {}
    }
}
