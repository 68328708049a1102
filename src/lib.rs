//! sv: a process supervisor in one static binary.
//!
//! Dependencies point down only: `applets` (argv, printing, exit codes) use
//! `core` (the daemon: one poll loop, one state machine, one spawn) which uses
//! `wire` (frames and messages). Nothing below imports anything above.

pub mod applets;
pub mod core;
pub mod wire;

#[cfg(test)]
mod layering;
