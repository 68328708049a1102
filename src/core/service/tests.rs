//! Unit tests of the pure service state machine (SPEC §4.3, §6, §11).
//!
//! No process is ever started: the tests play the supervisor's part, feed
//! events to [`step`] at times derived from one fixed `Instant` and check
//! the state, the machine's fields and the effects asked for.

use super::*;
use std::time::{Duration, Instant};

use Effect::{Forget, Spawn};

const PID: i32 = 100;

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn millis(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn sig(sig: i32, group: bool) -> Effect {
    Effect::Signal { sig, group }
}

/// A spawn that failed, as the supervisor reports one.
fn spawn_failed() -> Event {
    Event::SpawnFailed("spawn error: No such file or directory".into())
}

// ------------------------------------------------------------ policies

/// Ad hoc defaults (SPEC §11): startsecs 1, TERM, stopwait 10, no restart.
fn never() -> Policy {
    Policy::default()
}

/// Ad hoc `-r N`.
fn budget(n: u32) -> Policy {
    Policy {
        restart: RestartRule::Budget(n),
        ..Policy::default()
    }
}

/// Config program.
fn auto(autorestart: AutoRestart, startretries: u32) -> Policy {
    Policy {
        restart: RestartRule::Auto {
            autorestart,
            startretries,
        },
        ..Policy::default()
    }
}

/// `open-service`: not ours, signalled by pid, never restarted.
fn adopted() -> Policy {
    Policy {
        adopted: true,
        ..Policy::default()
    }
}

/// A handful of different policies for the sweeps.
fn sweep_policies() -> Vec<(&'static str, Policy)> {
    vec![
        ("never", never()),
        ("budget(2)", budget(2)),
        ("budget(0)", budget(0)),
        (
            "auto unexpected 3 exitcodes [0,2]",
            Policy {
                exitcodes: vec![0, 2],
                ..auto(AutoRestart::Unexpected, 3)
            },
        ),
        (
            "auto always forever startsecs 0",
            Policy {
                startsecs: Duration::ZERO,
                ..auto(AutoRestart::Always, 0)
            },
        ),
        (
            "auto never 1, SIGINT to the pid, stopwait 3",
            Policy {
                stopsignal: libc::SIGINT,
                group: false,
                stopwait: secs(3),
                ..auto(AutoRestart::Never, 1)
            },
        ),
        ("adopted", adopted()),
        (
            "adopted budget(1) (re-adopted after a crash)",
            Policy {
                adopted: true,
                ..budget(1)
            },
        ),
    ]
}

// ------------------------------------------------------------ enumerations

/// Every state. The match in `state_index` fails to compile when a state is
/// added, and a test checks `State::ALL` against it.
const ALL_STATES: [State; 9] = State::ALL;

fn state_index(s: State) -> usize {
    match s {
        State::Stopped => 0,
        State::Pending => 1,
        State::Starting => 2,
        State::Running => 3,
        State::Backoff => 4,
        State::Stopping => 5,
        State::Exited => 6,
        State::Fatal => 7,
        State::Suspended => 8,
    }
}

const ALL_WANTS: [Want; 3] = [Want::Up, Want::Down, Want::Gone];

/// Every event variant, with several payloads where the payload matters.
fn all_events(now: Instant) -> Vec<Event> {
    let evs = vec![
        Event::Start,
        Event::StartAt(now + secs(5)),
        Event::StartAt(now),
        Event::Stop,
        Event::Remove,
        Event::Spawned(200),
        spawn_failed(),
        Event::Exited(ExitKind::Code(0)),
        Event::Exited(ExitKind::Code(1)),
        Event::Exited(ExitKind::Code(2)),
        Event::Exited(ExitKind::Signal(libc::SIGKILL)),
        Event::Exited(ExitKind::Signal(libc::SIGSEGV)),
        Event::Exited(ExitKind::Unknown),
        Event::Suspended,
        Event::Continued,
        Event::Suspend,
        Event::Resume,
        Event::Timer,
        Event::GroupGone,
        Event::Adopted {
            pid: 300,
            started_at: now - secs(30),
        },
    ];
    let mut evs = evs;
    // Taken back: every recorded state, its process alive or gone.
    for state in State::ALL {
        for alive_since in [None, Some(now - secs(30)), Some(now)] {
            evs.push(Event::TakenBack(Box::new(record(state, alive_since, now))));
        }
    }
    // Compile-time reminder: a new event variant must be added above.
    for ev in &evs {
        match ev {
            Event::Start
            | Event::StartAt(_)
            | Event::Stop
            | Event::Remove
            | Event::Spawned(_)
            | Event::SpawnFailed(_)
            | Event::Exited(_)
            | Event::Suspended
            | Event::Continued
            | Event::Suspend
            | Event::Resume
            | Event::Timer
            | Event::GroupGone
            | Event::Adopted { .. }
            | Event::TakenBack(_) => {}
        }
    }
    evs
}

/// What a state file records of a service found in `state` with pid 400,
/// its process alive since `alive_since` (or gone), due in 5 s.
fn record(state: State, alive_since: Option<Instant>, now: Instant) -> Record {
    Record {
        state,
        want: Want::Up,
        restarts: 2,
        attempts: 1,
        last_exit: Some(ExitKind::Code(3)),
        reason: Reason::None,
        ever_started: true,
        pid: 400,
        alive_since,
        due: now + secs(5),
    }
}

/// The operator intents a state can really be found with.
fn reachable_wants(s: State) -> &'static [Want] {
    match s {
        // Stopped with Up only between Start and Spawned.
        State::Stopped => &[Want::Down, Want::Up],
        State::Pending | State::Starting | State::Running | State::Backoff | State::Suspended => {
            &[Want::Up]
        }
        State::Stopping => &[Want::Down, Want::Gone],
        State::Exited | State::Fatal => &[Want::Up, Want::Down],
    }
}

/// A machine found in `state` as the supervisor would hold it at `now`: a
/// pid where there is a process, a deadline where one is pending.
fn machine_in(state: State, want: Want, p: &Policy, now: Instant) -> Machine {
    let mut m = Machine::new();
    m.state = state;
    m.want = want;
    if state.has_process() {
        m.pid = Some(PID);
        // RUNNING and SUSPENDED processes have been up past startsecs.
        m.started_at = match state {
            State::Running | State::Suspended => now.checked_sub(p.startsecs + secs(1)),
            _ => Some(now),
        };
        m.ever_started = true;
        // Spawned makes our child the leader of its own group.
        m.pgid = (!p.adopted).then_some(PID);
    }
    m.deadline = match state {
        State::Pending => Some(now + secs(5)),
        State::Backoff => Some(now + secs(1)),
        State::Starting if !p.startsecs.is_zero() => Some(now + p.startsecs),
        State::Stopping => Some(now + p.stopwait),
        _ => None,
    };
    if matches!(state, State::Exited | State::Fatal) {
        m.ever_started = true;
        m.last_exit = Some(ExitKind::Code(1));
    }
    if state == State::Fatal {
        m.reason = Reason::TooQuickly;
    }
    m
}

// ------------------------------------------------------------ driver

/// Plays the supervisor: holds the clock and answers `Spawn` with pids.
struct Sim {
    m: Machine,
    p: Policy,
    now: Instant,
    next_pid: i32,
}

impl Sim {
    fn new(p: Policy) -> Sim {
        Sim {
            m: Machine::new(),
            p,
            now: Instant::now(),
            next_pid: 1000,
        }
    }

    /// One event, answered as the supervisor does when the leader's group
    /// is already empty: an `AwaitGroup` is met with `GroupGone` at once.
    fn ev(&mut self, ev: Event) -> Effects {
        let mut fx = step(&mut self.m, &self.p, ev, self.now);
        if let Some(i) = fx.iter().position(|e| *e == Effect::AwaitGroup) {
            fx.remove(i);
            fx.extend(step(&mut self.m, &self.p, Event::GroupGone, self.now));
        }
        fx
    }

    fn wait(&mut self, d: Duration) {
        self.now += d;
    }

    /// The supervisor's answer to a successful `Spawn`.
    fn spawned(&mut self) -> Effects {
        self.next_pid += 1;
        let pid = self.next_pid;
        self.ev(Event::Spawned(pid))
    }

    /// Time left until the deadline, if any.
    fn deadline_in(&self) -> Option<Duration> {
        self.m.deadline.map(|d| {
            d.checked_duration_since(self.now)
                .expect("deadline in the past")
        })
    }

    /// Start, Spawned, and (if startsecs > 0) wait startsecs and fire the
    /// timer: the service ends RUNNING.
    fn start_running(&mut self) {
        assert_eq!(self.ev(Event::Start), vec![Spawn]);
        assert_eq!(self.spawned(), vec![]);
        if !self.p.startsecs.is_zero() {
            assert_eq!(self.m.state, State::Starting);
            let d = self.p.startsecs;
            self.wait(d);
            assert_eq!(self.ev(Event::Timer), vec![]);
        }
        assert_eq!(self.m.state, State::Running);
        assert_eq!(self.m.pid, Some(self.next_pid));
    }

    /// From BACKOFF: wait the backoff out, the timer asks for a spawn, and
    /// the spawn succeeds.
    fn retry_after_backoff(&mut self) {
        assert_eq!(self.m.state, State::Backoff);
        let d = self.deadline_in().expect("BACKOFF without a deadline");
        self.wait(d);
        assert_eq!(self.ev(Event::Timer), vec![Spawn]);
        assert_eq!(self.m.deadline, None);
        assert_eq!(self.spawned(), vec![]);
        assert_eq!(self.m.state, State::Starting);
    }
}

// ------------------------------------------------------------ names

#[test]
fn state_names_are_the_spec_names() {
    let table = [
        (State::Stopped, "STOPPED"),
        (State::Pending, "PENDING"),
        (State::Starting, "STARTING"),
        (State::Running, "RUNNING"),
        (State::Backoff, "BACKOFF"),
        (State::Stopping, "STOPPING"),
        (State::Exited, "EXITED"),
        (State::Fatal, "FATAL"),
        (State::Suspended, "SUSPENDED"),
    ];
    assert_eq!(table.len(), ALL_STATES.len());
    for (s, name) in table {
        assert_eq!(s.name(), name);
        assert_eq!(ALL_STATES[state_index(s)], s);
    }
}

#[test]
fn has_process_exactly_in_starting_running_stopping_suspended() {
    for s in ALL_STATES {
        let expected = matches!(
            s,
            State::Starting | State::Running | State::Stopping | State::Suspended
        );
        assert_eq!(s.has_process(), expected, "{}", s.name());
    }
}

#[test]
fn exit_kind_describe() {
    let table = [
        (ExitKind::Code(3), "exit 3"),
        (ExitKind::Code(0), "exit 0"),
        (ExitKind::Code(255), "exit 255"),
        (ExitKind::Signal(libc::SIGKILL), "killed by SIGKILL"),
        (ExitKind::Signal(libc::SIGTERM), "killed by SIGTERM"),
        (ExitKind::Signal(libc::SIGSEGV), "killed by SIGSEGV"),
        (ExitKind::Signal(77), "killed by signal 77"),
        (ExitKind::Unknown, "exit status unknown"),
    ];
    for (kind, text) in table {
        assert_eq!(kind.describe(), text, "{kind:?}");
    }
}

#[test]
fn signal_names() {
    assert_eq!(signal_name(9), "SIGKILL");
    assert_eq!(signal_name(15), "SIGTERM");
    assert_eq!(signal_name(2), "SIGINT");
    assert_eq!(signal_name(0), "signal 0");
    assert_eq!(signal_name(-1), "signal -1");
    assert_eq!(signal_name(77), "signal 77");
}

#[test]
fn defaults_are_the_ad_hoc_defaults() {
    // SPEC §11: ad hoc services take startsecs 1, TERM, stopwaitsecs 10;
    // only exit 0 is expected; without -r an exit is final.
    let p = Policy::default();
    assert_eq!(p.startsecs, secs(1));
    assert_eq!(p.stopsignal, libc::SIGTERM);
    assert_eq!(p.stopwait, secs(10));
    assert!(p.group, "stopasgroup defaults to true (SPEC §5)");
    assert_eq!(p.exitcodes, vec![0]);
    assert_eq!(p.restart, RestartRule::Never);
    assert!(!p.adopted);

    let m = Machine::new();
    assert_eq!(m, Machine::default());
    assert_eq!(m.state, State::Stopped);
    assert_eq!(m.want, Want::Down);
    assert_eq!(m.pid, None);
    assert_eq!(m.started_at, None);
    assert_eq!((m.attempts, m.restarts), (0, 0));
    assert_eq!(m.last_exit, None);
    assert_eq!(m.reason, Reason::None);
    assert_eq!(m.deadline, None);
    assert!(!m.ever_started);
}

// ------------------------------------------------------------ one step each

struct Case {
    name: &'static str,
    from: State,
    want: Want,
    policy: Policy,
    ev: Event,
    to: State,
    want_after: Want,
    fx: Vec<Effect>,
    /// Deadline after the step, relative to NOW.
    deadline: Option<Duration>,
    pid: Option<i32>,
}

/// Every SPEC §4.3 transition the machine implements, one step at a time,
/// from a machine built by `machine_in` at NOW.
#[test]
fn transitions_table() {
    let t0 = Instant::now();
    let now = t0 + secs(100);
    let term_g = sig(libc::SIGTERM, true);
    let kill_g = sig(libc::SIGKILL, true);
    let cont_g = sig(libc::SIGCONT, true);
    let z = Duration::ZERO;
    let zero_startsecs = Policy {
        startsecs: z,
        ..never()
    };
    let custom_stop = Policy {
        stopsignal: libc::SIGHUP,
        stopwait: secs(3),
        group: false,
        ..never()
    };
    let cases = vec![
        // ---- start
        Case {
            name: "STOPPED -Start-> Spawn",
            from: State::Stopped,
            want: Want::Down,
            policy: never(),
            ev: Event::Start,
            to: State::Stopped,
            want_after: Want::Up,
            fx: vec![Spawn],
            deadline: None,
            pid: None,
        },
        Case {
            name: "EXITED -Start-> Spawn",
            from: State::Exited,
            want: Want::Up,
            policy: never(),
            ev: Event::Start,
            to: State::Exited,
            want_after: Want::Up,
            fx: vec![Spawn],
            deadline: None,
            pid: None,
        },
        Case {
            name: "FATAL -Start-> Spawn",
            from: State::Fatal,
            want: Want::Down,
            policy: auto(AutoRestart::Unexpected, 3),
            ev: Event::Start,
            to: State::Fatal,
            want_after: Want::Up,
            fx: vec![Spawn],
            deadline: None,
            pid: None,
        },
        Case {
            name: "PENDING -Start-> Spawn now, deadline cleared",
            from: State::Pending,
            want: Want::Up,
            policy: never(),
            ev: Event::Start,
            to: State::Pending,
            want_after: Want::Up,
            fx: vec![Spawn],
            deadline: None,
            pid: None,
        },
        Case {
            name: "BACKOFF -Start-> Spawn now, deadline cleared",
            from: State::Backoff,
            want: Want::Up,
            policy: budget(3),
            ev: Event::Start,
            to: State::Backoff,
            want_after: Want::Up,
            fx: vec![Spawn],
            deadline: None,
            pid: None,
        },
        Case {
            name: "Spawned -> STARTING until now+startsecs",
            from: State::Stopped,
            want: Want::Up,
            policy: Policy {
                startsecs: secs(7),
                ..never()
            },
            ev: Event::Spawned(42),
            to: State::Starting,
            want_after: Want::Up,
            fx: vec![],
            deadline: Some(secs(7)),
            pid: Some(42),
        },
        Case {
            name: "Spawned with startsecs 0 -> RUNNING at once",
            from: State::Stopped,
            want: Want::Up,
            policy: zero_startsecs.clone(),
            ev: Event::Spawned(42),
            to: State::Running,
            want_after: Want::Up,
            fx: vec![],
            deadline: None,
            pid: Some(42),
        },
        Case {
            name: "STARTING -Timer-> RUNNING",
            from: State::Starting,
            want: Want::Up,
            policy: never(),
            ev: Event::Timer,
            to: State::Running,
            want_after: Want::Up,
            fx: vec![],
            deadline: None,
            pid: Some(PID),
        },
        Case {
            name: "SpawnFailed -> FATAL",
            from: State::Stopped,
            want: Want::Up,
            policy: budget(5),
            ev: spawn_failed(),
            to: State::Fatal,
            want_after: Want::Up,
            fx: vec![],
            deadline: None,
            pid: None,
        },
        Case {
            name: "SpawnFailed from a BACKOFF retry -> FATAL",
            from: State::Backoff,
            want: Want::Up,
            policy: auto(AutoRestart::Always, 0),
            ev: spawn_failed(),
            to: State::Fatal,
            want_after: Want::Up,
            fx: vec![],
            deadline: None,
            pid: None,
        },
        // ---- start later
        Case {
            name: "STOPPED -StartAt-> PENDING with that deadline",
            from: State::Stopped,
            want: Want::Down,
            policy: never(),
            ev: Event::StartAt(now + secs(30)),
            to: State::Pending,
            want_after: Want::Up,
            fx: vec![],
            deadline: Some(secs(30)),
            pid: None,
        },
        Case {
            name: "EXITED -StartAt-> PENDING",
            from: State::Exited,
            want: Want::Up,
            policy: never(),
            ev: Event::StartAt(now + secs(2)),
            to: State::Pending,
            want_after: Want::Up,
            fx: vec![],
            deadline: Some(secs(2)),
            pid: None,
        },
        Case {
            name: "PENDING -Timer-> Spawn",
            from: State::Pending,
            want: Want::Up,
            policy: never(),
            ev: Event::Timer,
            to: State::Pending,
            want_after: Want::Up,
            fx: vec![Spawn],
            deadline: None,
            pid: None,
        },
        Case {
            name: "BACKOFF -Timer-> Spawn",
            from: State::Backoff,
            want: Want::Up,
            policy: auto(AutoRestart::Unexpected, 3),
            ev: Event::Timer,
            to: State::Backoff,
            want_after: Want::Up,
            fx: vec![Spawn],
            deadline: None,
            pid: None,
        },
        // ---- stop
        Case {
            name: "STARTING -Stop-> STOPPING, TERM to group",
            from: State::Starting,
            want: Want::Up,
            policy: never(),
            ev: Event::Stop,
            to: State::Stopping,
            want_after: Want::Down,
            fx: vec![term_g],
            deadline: Some(secs(10)),
            pid: Some(PID),
        },
        Case {
            name: "RUNNING -Stop-> STOPPING, TERM to group",
            from: State::Running,
            want: Want::Up,
            policy: auto(AutoRestart::Always, 3),
            ev: Event::Stop,
            to: State::Stopping,
            want_after: Want::Down,
            fx: vec![term_g],
            deadline: Some(secs(10)),
            pid: Some(PID),
        },
        Case {
            name: "RUNNING -Stop-> stopsignal, stopwait and group of the policy",
            from: State::Running,
            want: Want::Up,
            policy: custom_stop.clone(),
            ev: Event::Stop,
            to: State::Stopping,
            want_after: Want::Down,
            fx: vec![sig(libc::SIGHUP, false)],
            deadline: Some(secs(3)),
            pid: Some(PID),
        },
        Case {
            name: "RUNNING adopted -Stop-> signal the pid, not a group",
            from: State::Running,
            want: Want::Up,
            policy: adopted(),
            ev: Event::Stop,
            to: State::Stopping,
            want_after: Want::Down,
            fx: vec![sig(libc::SIGTERM, false)],
            deadline: Some(secs(10)),
            pid: Some(PID),
        },
        Case {
            name: "SUSPENDED -Stop-> stopsignal then SIGCONT",
            from: State::Suspended,
            want: Want::Up,
            policy: never(),
            ev: Event::Stop,
            to: State::Stopping,
            want_after: Want::Down,
            fx: vec![term_g, cont_g],
            deadline: Some(secs(10)),
            pid: Some(PID),
        },
        Case {
            name: "SUSPENDED -Stop-> SIGCONT to the pid when not grouped",
            from: State::Suspended,
            want: Want::Up,
            policy: custom_stop.clone(),
            ev: Event::Stop,
            to: State::Stopping,
            want_after: Want::Down,
            fx: vec![sig(libc::SIGHUP, false), sig(libc::SIGCONT, false)],
            deadline: Some(secs(3)),
            pid: Some(PID),
        },
        Case {
            name: "STOPPING -Timer-> SIGKILL to group, stays STOPPING",
            from: State::Stopping,
            want: Want::Down,
            policy: never(),
            ev: Event::Timer,
            to: State::Stopping,
            want_after: Want::Down,
            fx: vec![kill_g],
            deadline: None,
            pid: Some(PID),
        },
        Case {
            name: "STOPPING -Timer-> SIGKILL to the pid when not grouped",
            from: State::Stopping,
            want: Want::Down,
            policy: custom_stop.clone(),
            ev: Event::Timer,
            to: State::Stopping,
            want_after: Want::Down,
            fx: vec![sig(libc::SIGKILL, false)],
            deadline: None,
            pid: Some(PID),
        },
        Case {
            name: "STOPPING adopted -Timer-> SIGKILL to the pid",
            from: State::Stopping,
            want: Want::Down,
            policy: adopted(),
            ev: Event::Timer,
            to: State::Stopping,
            want_after: Want::Down,
            fx: vec![sig(libc::SIGKILL, false)],
            deadline: None,
            pid: Some(PID),
        },
        Case {
            name: "STOPPING (not grouped) -Exited-> STOPPED",
            from: State::Stopping,
            want: Want::Down,
            policy: Policy {
                group: false,
                ..auto(AutoRestart::Always, 3)
            },
            ev: Event::Exited(ExitKind::Signal(libc::SIGTERM)),
            to: State::Stopped,
            want_after: Want::Down,
            fx: vec![],
            deadline: None,
            pid: None,
        },
        Case {
            name: "STOPPING -Exited-> leader gone, AwaitGroup, deadline kept",
            from: State::Stopping,
            want: Want::Down,
            policy: auto(AutoRestart::Always, 3),
            ev: Event::Exited(ExitKind::Signal(libc::SIGTERM)),
            to: State::Stopping,
            want_after: Want::Down,
            fx: vec![Effect::AwaitGroup],
            deadline: Some(secs(10)),
            pid: None,
        },
        Case {
            name: "STOPPING adopted -Exited-> STOPPED (no group to wait for)",
            from: State::Stopping,
            want: Want::Down,
            policy: adopted(),
            ev: Event::Exited(ExitKind::Unknown),
            to: State::Stopped,
            want_after: Want::Down,
            fx: vec![],
            deadline: None,
            pid: None,
        },
        Case {
            name: "STOPPING -Stop-> nothing more, deadline kept",
            from: State::Stopping,
            want: Want::Down,
            policy: never(),
            ev: Event::Stop,
            to: State::Stopping,
            want_after: Want::Down,
            fx: vec![],
            deadline: Some(secs(10)),
            pid: Some(PID),
        },
        Case {
            name: "PENDING -Stop-> STOPPED, deadline cleared",
            from: State::Pending,
            want: Want::Up,
            policy: never(),
            ev: Event::Stop,
            to: State::Stopped,
            want_after: Want::Down,
            fx: vec![],
            deadline: None,
            pid: None,
        },
        Case {
            name: "BACKOFF -Stop-> STOPPED, deadline cleared",
            from: State::Backoff,
            want: Want::Up,
            policy: auto(AutoRestart::Unexpected, 3),
            ev: Event::Stop,
            to: State::Stopped,
            want_after: Want::Down,
            fx: vec![],
            deadline: None,
            pid: None,
        },
        Case {
            name: "EXITED -Stop-> only the intent changes",
            from: State::Exited,
            want: Want::Up,
            policy: never(),
            ev: Event::Stop,
            to: State::Exited,
            want_after: Want::Down,
            fx: vec![],
            deadline: None,
            pid: None,
        },
        Case {
            name: "FATAL -Stop-> only the intent changes",
            from: State::Fatal,
            want: Want::Up,
            policy: never(),
            ev: Event::Stop,
            to: State::Fatal,
            want_after: Want::Down,
            fx: vec![],
            deadline: None,
            pid: None,
        },
        // ---- suspend / continue
        Case {
            name: "RUNNING -Suspended-> SUSPENDED",
            from: State::Running,
            want: Want::Up,
            policy: never(),
            ev: Event::Suspended,
            to: State::Suspended,
            want_after: Want::Up,
            fx: vec![],
            deadline: None,
            pid: Some(PID),
        },
        Case {
            name: "STARTING -Suspended-> SUSPENDED, startsecs timer dropped",
            from: State::Starting,
            want: Want::Up,
            policy: never(),
            ev: Event::Suspended,
            to: State::Suspended,
            want_after: Want::Up,
            fx: vec![],
            deadline: None,
            pid: Some(PID),
        },
        Case {
            name: "SUSPENDED -Continued-> RUNNING",
            from: State::Suspended,
            want: Want::Up,
            policy: never(),
            ev: Event::Continued,
            to: State::Running,
            want_after: Want::Up,
            fx: vec![],
            deadline: None,
            pid: Some(PID),
        },
        Case {
            name: "STOPPING -Suspended-> still STOPPING, SIGKILL deadline kept",
            from: State::Stopping,
            want: Want::Down,
            policy: never(),
            ev: Event::Suspended,
            to: State::Stopping,
            want_after: Want::Down,
            fx: vec![],
            deadline: Some(secs(10)),
            pid: Some(PID),
        },
        // ---- remove
        Case {
            name: "STOPPED -Remove-> Forget at once",
            from: State::Stopped,
            want: Want::Down,
            policy: never(),
            ev: Event::Remove,
            to: State::Stopped,
            want_after: Want::Gone,
            fx: vec![Forget],
            deadline: None,
            pid: None,
        },
        Case {
            name: "EXITED -Remove-> Forget at once",
            from: State::Exited,
            want: Want::Up,
            policy: never(),
            ev: Event::Remove,
            to: State::Exited,
            want_after: Want::Gone,
            fx: vec![Forget],
            deadline: None,
            pid: None,
        },
        Case {
            name: "FATAL -Remove-> Forget at once",
            from: State::Fatal,
            want: Want::Up,
            policy: never(),
            ev: Event::Remove,
            to: State::Fatal,
            want_after: Want::Gone,
            fx: vec![Forget],
            deadline: None,
            pid: None,
        },
        Case {
            name: "PENDING -Remove-> Forget at once, deadline cleared",
            from: State::Pending,
            want: Want::Up,
            policy: never(),
            ev: Event::Remove,
            to: State::Pending,
            want_after: Want::Gone,
            fx: vec![Forget],
            deadline: None,
            pid: None,
        },
        Case {
            name: "BACKOFF -Remove-> Forget at once, deadline cleared",
            from: State::Backoff,
            want: Want::Up,
            policy: budget(2),
            ev: Event::Remove,
            to: State::Backoff,
            want_after: Want::Gone,
            fx: vec![Forget],
            deadline: None,
            pid: None,
        },
        Case {
            name: "RUNNING -Remove-> stop first",
            from: State::Running,
            want: Want::Up,
            policy: never(),
            ev: Event::Remove,
            to: State::Stopping,
            want_after: Want::Gone,
            fx: vec![term_g],
            deadline: Some(secs(10)),
            pid: Some(PID),
        },
        Case {
            name: "SUSPENDED -Remove-> stop first, with SIGCONT",
            from: State::Suspended,
            want: Want::Up,
            policy: never(),
            ev: Event::Remove,
            to: State::Stopping,
            want_after: Want::Gone,
            fx: vec![term_g, cont_g],
            deadline: Some(secs(10)),
            pid: Some(PID),
        },
        Case {
            name: "STOPPING -Remove-> forget once it exits",
            from: State::Stopping,
            want: Want::Down,
            policy: never(),
            ev: Event::Remove,
            to: State::Stopping,
            want_after: Want::Gone,
            fx: vec![],
            deadline: Some(secs(10)),
            pid: Some(PID),
        },
        Case {
            name: "STOPPING (Gone, not grouped) -Exited-> STOPPED and Forget",
            from: State::Stopping,
            want: Want::Gone,
            policy: custom_stop.clone(),
            ev: Event::Exited(ExitKind::Code(0)),
            to: State::Stopped,
            want_after: Want::Gone,
            fx: vec![Forget],
            deadline: None,
            pid: None,
        },
        Case {
            name: "RUNNING adopted -Remove-> Forget at once, no signal",
            from: State::Running,
            want: Want::Up,
            policy: adopted(),
            ev: Event::Remove,
            to: State::Running,
            want_after: Want::Gone,
            fx: vec![Forget],
            deadline: None,
            pid: Some(PID),
        },
        Case {
            name: "SUSPENDED adopted -Remove-> Forget at once, no signal",
            from: State::Suspended,
            want: Want::Up,
            policy: adopted(),
            ev: Event::Remove,
            to: State::Suspended,
            want_after: Want::Gone,
            fx: vec![Forget],
            deadline: None,
            pid: Some(PID),
        },
        // ---- exits without restart
        Case {
            name: "RUNNING -Exited-> EXITED (Never)",
            from: State::Running,
            want: Want::Up,
            policy: never(),
            ev: Event::Exited(ExitKind::Code(3)),
            to: State::Exited,
            want_after: Want::Up,
            fx: vec![],
            deadline: None,
            pid: None,
        },
        Case {
            name: "STARTING -Exited-> EXITED (Never), no backoff",
            from: State::Starting,
            want: Want::Up,
            policy: never(),
            ev: Event::Exited(ExitKind::Signal(libc::SIGSEGV)),
            to: State::Exited,
            want_after: Want::Up,
            fx: vec![],
            deadline: None,
            pid: None,
        },
        Case {
            name: "SUSPENDED -Exited-> EXITED (Never)",
            from: State::Suspended,
            want: Want::Up,
            policy: never(),
            ev: Event::Exited(ExitKind::Signal(libc::SIGKILL)),
            to: State::Exited,
            want_after: Want::Up,
            fx: vec![],
            deadline: None,
            pid: None,
        },
        Case {
            name: "RUNNING adopted -Exited-> EXITED (exit status unknown)",
            from: State::Running,
            want: Want::Up,
            policy: adopted(),
            ev: Event::Exited(ExitKind::Unknown),
            to: State::Exited,
            want_after: Want::Up,
            fx: vec![],
            deadline: None,
            pid: None,
        },
    ];

    for c in cases {
        let mut m = machine_in(c.from, c.want, &c.policy, now);
        let fx = step(&mut m, &c.policy, c.ev.clone(), now);
        assert_eq!(fx, c.fx, "{}: effects", c.name);
        assert_eq!(m.state, c.to, "{}: state", c.name);
        assert_eq!(m.want, c.want_after, "{}: want", c.name);
        assert_eq!(m.pid, c.pid, "{}: pid", c.name);
        assert_eq!(
            m.deadline,
            c.deadline.map(|d| now + d),
            "{}: deadline",
            c.name
        );
        if let Event::Exited(kind) = c.ev {
            assert_eq!(m.last_exit, Some(kind), "{}: last_exit", c.name);
        }
    }
}

// ------------------------------------------------------------ lifecycles

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

// ------------------------------------------------------------ restart rules

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

// ------------------------------------------------------------ operator start

#[test]
fn start_resets_attempts_restarts_and_reason() {
    // FATAL by TooQuickly.
    let mut s = Sim::new(auto(AutoRestart::Unexpected, 1));
    s.ev(Event::Start);
    s.spawned();
    s.ev(Event::Exited(ExitKind::Code(1)));
    assert_eq!(s.m.state, State::Fatal);
    assert_eq!(s.ev(Event::Start), vec![Spawn]);
    assert_eq!(s.m.attempts, 0);
    assert_eq!(s.m.reason, Reason::None);
    assert_eq!(s.m.want, Want::Up);
    s.spawned();
    s.ev(Event::Exited(ExitKind::Code(1)));
    assert_eq!(s.m.state, State::Fatal, "a fresh allowance of one attempt");

    // FATAL by RestartLimit.
    let mut s = Sim::new(budget(1));
    s.start_running();
    s.ev(Event::Exited(ExitKind::Code(1)));
    s.spawned();
    s.wait(secs(1));
    s.ev(Event::Timer);
    s.ev(Event::Exited(ExitKind::Code(1)));
    assert_eq!(s.m.reason, Reason::RestartLimit(1));
    assert_eq!(s.ev(Event::Start), vec![Spawn]);
    assert_eq!((s.m.attempts, s.m.restarts), (0, 0));
    assert_eq!(s.m.reason, Reason::None);
    s.spawned();
    s.wait(secs(1));
    s.ev(Event::Timer);
    assert_eq!(s.ev(Event::Exited(ExitKind::Code(1))), vec![Spawn]);

    // From BACKOFF: the retry happens now and the count starts over.
    let mut s = Sim::new(auto(AutoRestart::Unexpected, 3));
    s.ev(Event::Start);
    s.spawned();
    s.ev(Event::Exited(ExitKind::Code(1)));
    s.retry_after_backoff();
    s.ev(Event::Exited(ExitKind::Code(1)));
    assert_eq!((s.m.state, s.m.attempts), (State::Backoff, 2));
    assert_eq!(s.ev(Event::Start), vec![Spawn]);
    assert_eq!(s.m.attempts, 0);
    assert_eq!(s.m.deadline, None);
    s.spawned();
    s.ev(Event::Exited(ExitKind::Code(1)));
    assert_eq!(
        (s.m.state, s.deadline_in()),
        (State::Backoff, Some(secs(1)))
    );
}

#[test]
fn start_with_a_process_does_nothing() {
    let t0 = Instant::now();
    for state in [
        State::Starting,
        State::Running,
        State::Stopping,
        State::Suspended,
    ] {
        for (name, p) in sweep_policies() {
            for want in ALL_WANTS {
                let mut m = machine_in(state, want, &p, t0);
                m.attempts = 2;
                m.restarts = 1;
                let before = m.clone();
                for ev in [Event::Start, Event::StartAt(t0 + secs(3))] {
                    let fx = step(&mut m, &p, ev.clone(), t0 + secs(1));
                    assert_eq!(fx, vec![], "{} {name} {ev:?}", state.name());
                    assert_eq!(m, before, "{} {name} {ev:?}", state.name());
                }
            }
        }
    }
}

#[test]
fn stopping_is_not_cancelled_by_start() {
    // A Start while STOPPING is ignored: the stop goes on to STOPPED.
    let mut s = Sim::new(auto(AutoRestart::Always, 3));
    s.start_running();
    s.ev(Event::Stop);
    assert_eq!(s.ev(Event::Start), vec![]);
    assert_eq!(s.m.want, Want::Down);
    assert_eq!(s.ev(Event::Exited(ExitKind::Code(0))), vec![]);
    assert_eq!(s.m.state, State::Stopped);
}

#[test]
fn stale_events_without_a_process_do_nothing() {
    let t0 = Instant::now();
    let now = t0 + secs(50);
    for state in [
        State::Stopped,
        State::Pending,
        State::Backoff,
        State::Exited,
        State::Fatal,
    ] {
        for (name, p) in sweep_policies() {
            for &want in reachable_wants(state) {
                let evs = [
                    Event::Exited(ExitKind::Code(0)),
                    Event::Exited(ExitKind::Code(1)),
                    Event::Exited(ExitKind::Signal(9)),
                    Event::Exited(ExitKind::Unknown),
                    Event::Suspended,
                    Event::Continued,
                ];
                for ev in evs {
                    let mut m = machine_in(state, want, &p, t0);
                    let before = m.clone();
                    let fx = step(&mut m, &p, ev.clone(), now);
                    assert_eq!(fx, vec![], "{} {name} {ev:?}", state.name());
                    assert_eq!(m, before, "{} {name} {ev:?}", state.name());
                }
            }
        }
    }
    // Timer where nothing is due: no effect, and no deadline left behind.
    for state in [State::Stopped, State::Exited, State::Fatal] {
        let p = auto(AutoRestart::Always, 3);
        let mut m = machine_in(state, Want::Up, &p, t0);
        let before = m.clone();
        assert_eq!(step(&mut m, &p, Event::Timer, now), vec![]);
        assert_eq!(m, before, "{}", state.name());
        m.deadline = Some(t0); // left over
        assert_eq!(step(&mut m, &p, Event::Timer, now), vec![]);
        assert_eq!(m.deadline, None);
        assert_eq!(m.state, state);
    }
}

#[test]
fn stale_timer_with_a_process_does_nothing() {
    let t0 = Instant::now();
    for state in [State::Running, State::Suspended] {
        let p = budget(2);
        let mut m = machine_in(state, Want::Up, &p, t0);
        let before = m.clone();
        assert_eq!(step(&mut m, &p, Event::Timer, t0 + secs(9)), vec![]);
        assert_eq!(m, before, "{}", state.name());
    }
}

#[test]
fn stale_continued_and_suspended_do_nothing_elsewhere() {
    let t0 = Instant::now();
    for state in ALL_STATES {
        for (name, p) in sweep_policies() {
            for &want in reachable_wants(state) {
                if state != State::Suspended {
                    let mut m = machine_in(state, want, &p, t0);
                    let before = m.clone();
                    assert_eq!(step(&mut m, &p, Event::Continued, t0), vec![]);
                    assert_eq!(m, before, "Continued in {} {name}", state.name());
                }
                if !matches!(state, State::Starting | State::Running) {
                    let mut m = machine_in(state, want, &p, t0);
                    let before = m.clone();
                    assert_eq!(step(&mut m, &p, Event::Suspended, t0), vec![]);
                    assert_eq!(m, before, "Suspended in {} {name}", state.name());
                }
            }
        }
    }
}

// ------------------------------------------------------------ sweep

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
            assert_eq!(
                m.state,
                State::Stopped,
                "{ctx}: the group was all that was left"
            );
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
    if !signals.is_empty() && !command {
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
            m.deadline.is_some() || spawns == 1 || forgets == 1,
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
            let due = alive.then_some(now + p.startsecs);
            assert_eq!(m.deadline, due, "{ctx}")
        }
        State::Starting => assert_eq!(
            m.deadline.is_some(),
            !p.startsecs.is_zero(),
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
        assert_eq!(m.deadline, Some(r.due), "{ctx}: due as recorded");
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
                assert_eq!(m.state, State::Stopped, "{ctx}");
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
                && before.started_at.is_some_and(|t| now < t + p.startsecs);
        let auto = matches!(p.restart, RestartRule::Auto { .. });
        let with_process = matches!(
            before.state,
            State::Starting | State::Running | State::Suspended
        );
        if auto && before.want == Want::Up && with_process {
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
            .map(|t| t + p.startsecs)
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

// ------------------------------------------------- suspend during startsecs

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

// ------------------------------------------------- the group outlives its leader

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

// ------------------------------------------------------- restart floor

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
