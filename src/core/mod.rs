//! The daemon.
//!
//! One thread runs one poll(2) loop (`event_loop`) over a signalfd, the
//! control socket, client connections, child output pipes and the pidfds of
//! adopted processes. Each service is a pure state machine (`service::step`)
//! whose effects only `supervisor` carries out; `spawn` is the only fork,
//! `control` the only socket I/O, `output` the only log writer. Timers are
//! the poll timeout to the nearest deadline, so an idle daemon never wakes.

pub mod census;
pub mod config;
pub mod control;
pub mod create;
pub mod event_loop;
pub mod log;
pub mod names;
pub mod output;
pub mod paths;
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
