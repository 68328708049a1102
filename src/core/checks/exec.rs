//! `exec:COMMAND`: ready once the command exits 0. The child is spawned
//! through the one spawn path and reaped by the loop like any other; this
//! reads its exit.

use super::Outcome;
use crate::core::service::ExitKind;

pub fn outcome(kind: ExitKind) -> Outcome {
    match kind {
        ExitKind::Code(0) => Ok(()),
        k => Err(format!("the check {}", k.describe())),
    }
}
