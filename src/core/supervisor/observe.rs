//! What `/metrics` and `/healthz` (SPEC §16) ask of the table beyond the
//! machines: health check failures, restarts as `status` counts them, and
//! which services should be running and are not.

use super::{Id, Service, Supervisor};
use crate::core::service::{ExitKind, State, Want};
use std::time::Instant;

impl Supervisor {
    /// RUNNING and its health check, if any, not failing.
    pub fn healthy(&self, id: Id) -> bool {
        let running = self
            .services
            .get(&id)
            .is_some_and(|s| s.machine.state == State::Running);
        running && self.health_detail(id).is_none()
    }

    /// Restarts as `status` shows them (health actions included).
    pub fn restarts_shown(&self, s: &Service) -> u32 {
        s.machine.restarts + self.health_restarts(s.id)
    }

    /// `/healthz`: one line per service that should be running and is not
    /// (`NAME STATE detail`); empty when all are. A service should run when
    /// the operator or autostart wants it up and no command holds it down,
    /// unless it is a one-shot that ended with an expected exit code.
    pub fn not_running(&self, now: Instant) -> Vec<String> {
        let mut lines = Vec::new();
        for s in self.services.values() {
            let m = &s.machine;
            let done = m.state == State::Exited
                && matches!(m.last_exit, Some(ExitKind::Code(c))
                    if s.spec.policy.exitcodes.contains(&c));
            if m.want != Want::Up || s.held || done || self.healthy(s.id) {
                continue;
            }
            let detail = self.info(s.id, now).map(|i| i.detail.0);
            let mut line = s.shown();
            line.push(' ');
            line.push_str(m.state.name());
            if let Some(d) = detail.filter(|d| !d.is_empty()) {
                line.push_str(": ");
                // One line per service, whatever a status text holds.
                line.push_str(&d.replace(['\n', '\r'], " "));
            }
            lines.push(line);
        }
        lines
    }
}
