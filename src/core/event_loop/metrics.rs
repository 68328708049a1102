//! `GET /metrics` (SPEC §16): the services and the daemon in the
//! Prometheus text format 0.0.4, CPU and memory of each process group read
//! from /proc at scrape time (`core::metrics`).
//!
//! Reading /proc costs microseconds a process (10 to 25 on a loaded
//! 2-CPU machine with 10 000 of them), and a scan (`metrics::proc`: down
//! the daemon's process tree, or a walk of all of /proc) of a big host
//! takes longer than a scrape should. So a scan goes [`SLICE`] processes a
//! pass (the loop does not sleep while a scrape waits, and serves
//! everything else between slices), and a scrape waits for it at most
//! [`BUDGET`]: it answers when the scan ends, or past its budget with the
//! last whole scan. Where the scan fits in the budget (some 1 000
//! processes here), every scrape reads /proc afresh. Where the last whole
//! scan took longer, a scrape does not wait at all: it answers with the
//! last whole scan at once, and the scan it started goes on a slice a loop
//! pass until it ends (then the loop sleeps again), so the next scrape
//! finds figures as old as the time between scrapes. The first scrape
//! waits for a whole scan.

use super::Daemon;
use crate::core::http::Phase;
use crate::core::metrics::{self, proc, DaemonRow, Row};
use crate::core::service::State;
use crate::core::supervisor::ConnId;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant, SystemTime};

/// What a scrape answers with.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// /proc entries read a pass: a few ms.
const SLICE: usize = 256;

/// How long a scrape waits for the scan when a whole one is known.
const BUDGET: Duration = Duration::from_millis(25);

/// Scrapes waiting for the scan of /proc, and the scans.
#[derive(Default)]
pub(super) struct Scrapes {
    /// Clients waiting, oldest first, and when each asked.
    waiting: Vec<(ConnId, Instant)>,
    /// The scan under way.
    scan: Option<proc::Scan>,
    /// What the last whole scan found, by process group.
    last: Option<HashMap<i32, proc::Usage>>,
    /// When the scan under way began; how long the last whole one took.
    began: Option<Instant>,
    took: Duration,
    /// Leaders' stat files, open between scans.
    kept: proc::Kept,
}

impl Scrapes {
    /// The poll timeout while a scrape waits or its scan goes on: none.
    /// No client and no scan, no wake-up.
    pub(super) fn timeout(&self) -> Option<Duration> {
        (!self.waiting.is_empty() || self.scan.is_some()).then_some(Duration::ZERO)
    }
}

impl Daemon {
    /// Starts a scrape: a slice of the scan now, the rest in the next
    /// passes.
    pub(super) fn metrics(&mut self, id: ConnId) {
        let Some(c) = self.http.conns.get_mut(&id) else {
            return;
        };
        c.phase = Phase::Waiting;
        let sc = &mut self.scrapes;
        sc.waiting.push((id, Instant::now()));
        if sc.scan.is_none() {
            // The groups as they are now: a service that gets a new
            // process meanwhile shows no usage until the next scan.
            let groups: HashSet<i32> = (self.sup.services())
                .filter_map(|s| s.machine.pgid)
                .collect();
            sc.scan = Some(proc::Scan::new(groups, std::mem::take(&mut sc.kept)));
            sc.began = Some(Instant::now());
        }
        self.metrics_step();
    }

    /// A slice of the scan; the answers it or the budget allows.
    pub(super) fn metrics_step(&mut self) {
        let conns = &self.http.conns;
        let sc = &mut self.scrapes;
        // A client gone meanwhile is forgotten.
        sc.waiting.retain(|(id, _)| conns.contains_key(id));
        let mut ended = false;
        if let Some(scan) = &mut sc.scan {
            if scan.step(SLICE) {
                if let Some(w) = sc.scan.take() {
                    sc.kept = w.kept;
                    sc.last = Some(w.found);
                }
                sc.took = sc.began.take().map_or(Duration::ZERO, |t| t.elapsed());
                ended = true;
            }
        }
        let Some(&(_, oldest)) = sc.waiting.first() else {
            return;
        };
        if !answer_now(ended, oldest.elapsed(), sc.took, sc.last.is_some()) {
            return;
        }
        let body = self.metrics_body();
        let mut waiting = std::mem::take(&mut self.scrapes.waiting);
        // The last one takes the body itself, the others a copy.
        let last = waiting.pop();
        for (id, _) in waiting {
            if let Some(c) = self.http.conns.get_mut(&id) {
                c.answer(CONTENT_TYPE, &body);
                // A request it sent meanwhile is served at the end of the pass.
                self.http.resume.push(id);
            }
        }
        if let Some((id, _)) = last {
            if let Some(c) = self.http.conns.get_mut(&id) {
                c.answer_owned(CONTENT_TYPE, body);
                self.http.resume.push(id);
            }
        }
    }

    /// The text of a scrape, with the last whole scan's usage.
    fn metrics_body(&self) -> Vec<u8> {
        let found = self.scrapes.last.as_ref();
        let now = Instant::now();
        let wall_ms = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        // An Instant as ms since the epoch.
        let epoch_ms = |t: Instant| {
            wall_ms.saturating_sub(now.saturating_duration_since(t).as_millis() as u64)
        };
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
                    ready: m.state == State::Running,
                    healthy: self.sup.healthy(s.id),
                    restarts: self.sup.restarts_shown(s),
                    exits: s.exits,
                    started_ms: m.started_at.filter(|_| m.pid.is_some()).map(epoch_ms),
                    usage: m.pgid.and_then(|g| found?.get(&g).copied()),
                }
            })
            .collect();
        let daemon = DaemonRow {
            instance: self.sup.paths.instance,
            started_ms: epoch_ms(self.sup.started),
            cpu_ticks: proc::own_ticks(),
        };
        let mut body = Vec::with_capacity(rows.len() * 2048 + 4096);
        huge_pages(&mut body);
        metrics::render(&rows, &daemon, proc::Units::of_host(), &mut body);
        body
    }
}

/// Whether the scrapes waiting are answered now: the scan `ended`, or,
/// with a whole scan known, the oldest `waited` its budget or the last
/// scan `took` longer than that (waiting would not make it fresh).
fn answer_now(ended: bool, waited: Duration, took: Duration, known: bool) -> bool {
    ended || (known && (waited >= BUDGET || took > BUDGET))
}

/// Asks for huge pages under a big body (15 MB for 10 000 services): a
/// fresh buffer each scrape is otherwise some 3 600 page faults and as many
/// pages to unmap. Only advice: where the kernel says no, nothing changes.
fn huge_pages(buf: &mut Vec<u8>) {
    const HUGE: usize = 2 << 20;
    let at = buf.as_mut_ptr() as usize;
    let start = at.next_multiple_of(HUGE);
    let end = (at + buf.capacity()) / HUGE * HUGE;
    if end > start {
        // SAFETY: advice on whole pages inside the buffer's own allocation.
        unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scrape_waits_only_for_a_scan_that_fits_the_budget() {
        let ms = Duration::from_millis;
        // The first scrape waits for a whole scan, however long.
        assert!(!answer_now(false, ms(500), ms(0), false));
        assert!(answer_now(true, ms(500), ms(0), false));
        // A scan that fits: waited for, up to the budget.
        assert!(!answer_now(false, ms(1), ms(10), true));
        assert!(answer_now(false, BUDGET, ms(10), true));
        // One that does not: the last whole scan at once.
        assert!(answer_now(false, ms(0), ms(200), true));
    }
}
