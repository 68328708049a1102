//! `/RPC2`'s config and log methods (readLog, reloadConfig, ...): a stub
//! until they are written; `rpc` reaches here for every name its own
//! table lacks, and lists [`ADMIN_METHODS`] with its own.

use super::Daemon;
use crate::core::rpc::methods::Method;
use crate::wire::xmlrpc::{Fault, Value};
use std::time::Instant;

/// The methods served here: name, signature, help (see `rpc::methods`).
pub(super) const ADMIN_METHODS: &[Method] = &[];

impl Daemon {
    /// Serves `method` if it is one of [`ADMIN_METHODS`]; None otherwise.
    pub(super) fn rpc_admin(
        &mut self,
        method: &str,
        params: &[Value],
        now: Instant,
    ) -> Option<Result<Value, Fault>> {
        let _ = (method, params, now, &self.sup);
        None
    }
}
