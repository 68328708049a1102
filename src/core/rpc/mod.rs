//! supervisord's XML-RPC interface (SPEC §13): the pure pieces that the
//! daemon's `/RPC2` methods (`event_loop/rpc.rs`, `event_loop/rpc_admin.rs`)
//! share: supervisord's names (`group:name`, `group:*`), the process info
//! struct and its description, the mapping of sv's states to supervisord's,
//! and the table of methods with their signatures and help.
//!
//! Nothing here touches the loop: each function maps facts to values, so
//! the formats are unit-tested against what supervisord's rpcinterface.py
//! writes.

pub mod command;
pub mod info;
pub mod methods;
pub mod names;
