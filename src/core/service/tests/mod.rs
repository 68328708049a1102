//! Unit tests of the pure service state machine (SPEC §4.3, §6, §11).
//!
//! No process is ever started: the tests play the supervisor's part, feed
//! events to [`step`] at times derived from one fixed `Instant` and check
//! the state, the machine's fields and the effects asked for.

use super::*;
use std::time::{Duration, Instant};

use Effect::{Forget, Spawn};

mod backoff;
mod group;
mod lifecycles;
mod names;
mod operator;
mod ready;
mod restart_floor;
mod restart_rules;
mod scheduled;
mod suspend;
mod sweep;
mod table;
mod table_exits;
mod table_found;
mod table_start_stop;
mod table_suspend;
mod taken_back;

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

/// A config program with `ready=tcp:...`, ready_timeout 5 s.
fn ready_policy() -> Policy {
    Policy {
        ready: Some(Box::new(
            crate::core::checks::Check::parse("tcp:127.0.0.1:9").unwrap(),
        )),
        ready_timeout: secs(5),
        ..auto(AutoRestart::Unexpected, 2)
    }
}

/// A config program with `schedule=` (SPEC §17) and autorestart=true.
fn scheduled() -> Policy {
    Policy {
        scheduled: true,
        ..auto(AutoRestart::Always, 3)
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
        ("auto unexpected 2 with ready=", ready_policy()),
        ("scheduled, autorestart always", scheduled()),
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
        Event::Ready,
        Event::GroupGone,
        Event::Hold,
        Event::Scheduled,
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
            | Event::Ready
            | Event::GroupGone
            | Event::Hold
            | Event::Scheduled
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
        State::Starting if !p.start_window().is_zero() => Some(now + p.start_window()),
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
