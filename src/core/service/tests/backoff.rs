//! `backoff` and `backoff_max` (SPEC §12): how long BACKOFF lasts before
//! each retry, and that retrying for ever stays at the cap.

use super::*;

/// Config program, exponential backoff capped at `max` seconds.
fn exponential(startretries: u32, max: u64) -> Policy {
    Policy {
        backoff: Backoff::Exponential,
        backoff_max: secs(max),
        ..auto(AutoRestart::Unexpected, startretries)
    }
}

/// One failed attempt: spawned, exits at once; returns the BACKOFF delay.
fn fail_early(s: &mut Sim) -> Duration {
    s.wait(millis(10));
    assert_eq!(s.ev(Event::Exited(ExitKind::Code(1))), vec![]);
    assert_eq!(s.m.state, State::Backoff);
    let d = s.deadline_in().expect("BACKOFF without a deadline");
    s.retry_after_backoff();
    d
}

#[test]
fn delays_linear_and_exponential_with_their_cap() {
    let linear = auto(AutoRestart::Unexpected, 0);
    let got: Vec<u64> = (1..=5).map(|n| linear.backoff_delay(n).as_secs()).collect();
    assert_eq!(got, [1, 2, 3, 4, 5], "linear: N s, as before");
    assert_eq!(linear.backoff_delay(500), secs(60), "default cap 60 s");
    assert_eq!(linear.backoff_delay(0), secs(1), "never under 1 s");

    let exp = exponential(0, 60);
    let got: Vec<u64> = (1..=8).map(|n| exp.backoff_delay(n).as_secs()).collect();
    assert_eq!(got, [1, 2, 4, 8, 16, 32, 60, 60]);
    for n in [64, 65, 1000, u32::MAX] {
        assert_eq!(
            exp.backoff_delay(n),
            secs(60),
            "attempt {n} must not overflow"
        );
    }
    assert_eq!(exponential(0, 2).backoff_delay(3), secs(2));
}

#[test]
fn exponential_forever_keeps_retrying_at_the_cap() {
    let mut s = Sim::new(exponential(0, 2));
    s.ev(Event::Start);
    s.spawned();
    let delays: Vec<u64> = (0..50).map(|_| fail_early(&mut s).as_secs()).collect();
    assert_eq!(delays[0], 1);
    assert!(delays[1..].iter().all(|d| *d == 2), "{delays:?}");
    assert_eq!(s.m.state, State::Starting, "startretries=0 never gives up");
    assert_eq!(s.m.attempts, 50);
}

#[test]
fn exponential_with_startretries_gives_up_as_linear_does() {
    let mut s = Sim::new(exponential(4, 60));
    s.ev(Event::Start);
    s.spawned();
    let delays: Vec<u64> = (0..3).map(|_| fail_early(&mut s).as_secs()).collect();
    assert_eq!(delays, [1, 2, 4]);
    s.wait(millis(10));
    s.ev(Event::Exited(ExitKind::Code(1)));
    assert_eq!(s.m.state, State::Fatal);
    assert_eq!(s.m.reason, Reason::TooQuickly);
}

#[test]
fn budget_backs_off_by_the_policy_too() {
    let mut s = Sim::new(Policy {
        backoff: Backoff::Exponential,
        ..budget(5)
    });
    s.ev(Event::Start);
    s.spawned();
    let delays: Vec<u64> = (0..4).map(|_| fail_early(&mut s).as_secs()).collect();
    assert_eq!(delays, [1, 2, 4, 8]);
}

#[test]
fn a_run_past_startsecs_resets_the_backoff() {
    let mut s = Sim::new(exponential(0, 60));
    s.ev(Event::Start);
    s.spawned();
    for _ in 0..3 {
        fail_early(&mut s);
    }
    s.wait(secs(5));
    s.ev(Event::Timer);
    assert_eq!(s.m.state, State::Running);
    assert_eq!(s.m.attempts, 0);
    s.wait(secs(5));
    assert_eq!(s.ev(Event::Exited(ExitKind::Code(1))), vec![Spawn]);
    s.spawned();
    assert_eq!(fail_early(&mut s), secs(1), "the count starts over");
}

#[test]
fn keys_parse_and_refuse() {
    use crate::core::spec::ServiceSpec;
    let mut spec = ServiceSpec::new("x", vec!["/bin/true".into()]);
    assert_eq!(spec.policy.backoff, Backoff::Linear);
    assert_eq!(spec.policy.backoff_max, secs(60));
    spec.set("backoff", "Exponential").unwrap();
    spec.set("backoff_max", " 2 ").unwrap();
    assert_eq!(spec.policy.backoff, Backoff::Exponential);
    assert_eq!(spec.policy.backoff_max, secs(2));
    let bad = |k: &str, v: &str| {
        let mut spec = ServiceSpec::new("x", vec!["/bin/true".into()]);
        spec.set(k, v).unwrap_err().to_string()
    };
    assert!(bad("backoff", "fibonacci").contains("linear or exponential"));
    assert!(bad("backoff_max", "0").contains("at least 1"));
    assert!(bad("backoff_max", "-1").contains("not a valid number"));
    assert!(bad("backoff_max", "99999999999").contains("more than a year"));
}
