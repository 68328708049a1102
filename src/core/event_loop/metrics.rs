//! `GET /metrics` (SPEC §16): the services and the daemon in the
//! Prometheus text format 0.0.4, CPU and memory of each process group read
//! from /proc at scrape time (`core::metrics`). The answer goes into the
//! connection's output as every other answer does.

use super::Daemon;
use crate::core::metrics::{self, proc, DaemonRow, Row};
use crate::core::supervisor::ConnId;
use std::collections::HashSet;
use std::time::{Instant, SystemTime};

/// What a scrape answers with.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

impl Daemon {
    pub(super) fn metrics(&mut self, id: ConnId) {
        let now = Instant::now();
        let wall_ms = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        // An Instant as ms since the epoch.
        let epoch_ms = |t: Instant| {
            wall_ms.saturating_sub(now.saturating_duration_since(t).as_millis() as u64)
        };
        let groups: HashSet<i32> = (self.sup.services())
            .filter_map(|s| s.machine.pgid)
            .collect();
        let mut scan = proc::Scan::new(groups);
        while !scan.step(usize::MAX) {}
        let rows: Vec<Row> = (self.sup.services())
            .map(|s| {
                let m = &s.machine;
                let spec = &s.spec;
                let group = spec.group.as_deref().or(spec.program.as_deref());
                Row {
                    name: &spec.name,
                    group: group.unwrap_or(&spec.name),
                    state: m.state,
                    up: m.pid.is_some(),
                    ready: m.state == crate::core::service::State::Running,
                    healthy: self.sup.healthy(s.id),
                    restarts: self.sup.restarts_shown(s),
                    exits: s.exits,
                    started_ms: m.started_at.filter(|_| m.pid.is_some()).map(epoch_ms),
                    usage: m.pgid.and_then(|g| scan.found.get(&g).copied()),
                }
            })
            .collect();
        let daemon = DaemonRow {
            instance: self.sup.paths.instance,
            started_ms: epoch_ms(self.sup.started),
            cpu_ticks: proc::own_ticks(),
        };
        let mut body = Vec::with_capacity(rows.len() * 2048 + 4096);
        metrics::render(&rows, &daemon, proc::Units::of_host(), &mut body);
        if let Some(c) = self.http.conns.get_mut(&id) {
            c.answer(CONTENT_TYPE, &body);
        }
    }
}
