//! The daemon.
//!
//! One thread runs one poll(2) loop (`event_loop`) over a signalfd, the
//! control socket, client connections, child output pipes and the pidfds of
//! adopted processes. Each service is a pure state machine (`service::step`)
//! whose effects only `supervisor` carries out; `spawn` is the only fork,
//! `control` the only socket I/O, `output` the only log writer. Timers are
//! the poll timeout to the nearest deadline, so an idle daemon never wakes.
//!
//! # Where things are
//!
//! - the loop: `event_loop.rs` (`Daemon::run`); what it dispatches to is
//!   beside it in `event_loop/` (setup, signals, pipes, requests);
//! - the state machine: `service.rs` (`step`, the one table of states and
//!   events);
//! - the executor of its effects: `supervisor` (`Supervisor::apply`);
//! - the fork: `spawn/child.rs` (what runs between clone and exec, on the
//!   guarded stack of `spawn/stack.rs`);
//! - the persister: `supervisor/persist.rs` (the state file's format is
//!   `state_file.rs`; taking back from it: `supervisor/recover.rs`);
//! - the wire: `crate::wire` (`wire/mod.rs` messages, `wire/frame.rs`
//!   framing), read and written only by `control.rs`;
//! - the exit-code map: `crate::applets::exit`, outside the daemon: `core`
//!   reports, the applets decide the exit code;
//! - child output to log files: `output.rs`; the daemon's own log: `log.rs`.
//! - readiness and health checks (SPEC §12): the probes in `checks/`, run
//!   by `supervisor/ready.rs`, `supervisor/health.rs` and (sd_notify, fd:N)
//!   `supervisor/notify.rs`; dependencies in `supervisor/deps.rs`.
//! - the HTTP server of `[unix_http_server]`/`[inet_http_server]` (SPEC
//!   §13): listeners and connections in `http/`, its routes (`/RPC2`,
//!   `/logtail`, `/mainlogtail`) in `event_loop/http.rs`; the request
//!   parser is `crate::wire::http`.
//! - supervisord's XML-RPC interface (SPEC §13): the dispatch in
//!   `event_loop/rpc.rs` (a fixed table), the process methods in
//!   `event_loop/rpc_process.rs` (through the control requests), the config
//!   and log methods in `event_loop/rpc_admin.rs`; the pure pieces (names,
//!   the process info, the method table) in `rpc/`.
//! - config groups one at a time (XML-RPC `reloadConfig`,
//!   `addProcessGroup`, `removeProcessGroup`): `supervisor/groups.rs`,
//!   beside `reload` in `supervisor/reload.rs`; `sv reread`, `update`,
//!   `avail` in `supervisor/update.rs`.
//! - event listeners (SPEC §14): the bus, the protocol and the payloads in
//!   `events/`; what raises events and wires listeners' pipes in
//!   `supervisor/listeners.rs`; their pipes polled in `event_loop/listeners.rs`.
//! - containers (SPEC §15): `shutdown_on` and the daemon's exit status in
//!   `supervisor/exit_policy.rs`; `log_prefix`, `log_timestamps` and whole
//!   lines on a shared stdout in `output/{shape,shared,feed}.rs`, the read
//!   path in `supervisor/output.rs`.
//! - the status page (SPEC §16): `GET /`, `/status.json`, `POST /action` in
//!   `event_loop/page.rs`, its HTML, CSS and script in `event_loop/page/`.
//! - schedules (SPEC §17): the expressions and next due times in
//!   `schedule/` (pure); due times as loop deadlines, runs and skips in
//!   `supervisor/schedule.rs`; one-shot runs in `service::step`
//!   (`Policy::scheduled`).
//!
//! # Words
//!
//! - *adopted*: a process sv did not start (`open-service`), watched through
//!   a pidfd; not our child, so its exit status is unknown, and `close`
//!   leaves it running.
//! - *take back*: after the daemon was killed, rebuild every service from
//!   the state file (or the census) and adopt back its processes still alive.
//! - *held*: stopped by a command; a reload does not start it until a
//!   command does (`Service::held`).
//! - *want*: what the operator asked for (up, down, gone), kept apart from
//!   the *state*, what the process is doing.
//! - *lingering*: stopping, its leader gone but its process group maybe not;
//!   it settles when the group is empty (`Event::GroupGone`).
//! - *leftovers*: processes a service left behind (children of an exited
//!   leader, daemons that forked away), reparented to sv, the subreaper.
//! - *census*: finding the instance's processes by the marker in their
//!   environment, when the state file cannot tell.
//! - *floor*: `service::RESTART_FLOOR`, the least time from one spawn to the
//!   next automatic one.
//! - *waiter*: a request (`start`, `stop`, `restart`) whose answer waits
//!   until its services have *settled*: reached the outcome asked for, or
//!   one that will not change by itself.
//! - *plan*: stops made one priority level at a time.
//! - *batch*: events whose spawns are launched together when it ends.
//! - *origin*: how a service came to be (config, `create-service`, adopted),
//!   so a new daemon can rebuild it.
//! - *pass*: one round of the loop: rebuild the poll set, poll, dispatch,
//!   then timers and answers.
//! - *waiting* (on dependencies): PENDING with no deadline, a spawn held
//!   back by `depends_on` until a state change meets it (`supervisor/deps.rs`).
//! - *follower*: a `tail -f` client; a *paused* pipe is a busy one left out
//!   of poll for a moment.

pub mod census;
pub mod checks;
pub mod clock;
pub mod config;
pub mod control;
pub mod create;
pub mod event_loop;
pub mod events;
pub mod http;
pub mod log;
pub mod metrics;
pub mod names;
pub mod output;
pub mod paths;
pub mod rpc;
pub mod schedule;
pub mod service;
pub mod spawn;
pub mod spec;
pub mod state_file;
pub mod stream;
pub mod suggest;
pub mod supervisor;
pub mod sys;
pub mod trust;
pub mod users;
pub mod wait;

pub use event_loop::{Daemon, Options, SetupError};
