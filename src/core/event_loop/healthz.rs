//! `GET /healthz` (SPEC §16): 200 `ok` when every service that should run
//! is RUNNING (ready, and healthy where a check is set), else 503 with one
//! line per service that is not (see `Supervisor::not_running`). For
//! liveness and readiness probes: nothing to parse, the reasons readable.

use super::Daemon;
use crate::core::http::{HttpConn, Phase};
use crate::core::supervisor::ConnId;
use crate::wire::http as wire_http;
use std::time::Instant;

impl Daemon {
    /// `head`: a HEAD request, answered with the same head and no body.
    pub(super) fn healthz(&mut self, id: ConnId, head: bool) {
        let lines = self.sup.not_running(Instant::now());
        let Some(c) = self.http.conns.get_mut(&id) else {
            return;
        };
        if lines.is_empty() {
            return answer(c, 200, b"ok\n", head);
        }
        let mut body = lines.join("\n");
        body.push('\n');
        answer(c, 503, body.as_bytes(), head);
    }
}

/// A plain-text answer with `status` that keeps the connection as the
/// request asked (an error answer would close it; a probe may keep it).
fn answer(c: &mut HttpConn, status: u16, body: &[u8], head: bool) {
    let close = !c.keep_alive;
    let ctype = [("Content-Type", "text/plain; charset=utf-8")];
    c.send(&wire_http::response_head(status, &ctype, body.len(), close));
    if !head {
        c.send(body);
    }
    c.phase = Phase::Reading;
    c.closing |= close;
}
