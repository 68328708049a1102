//! The status page of the HTTP servers (SPEC §16): `GET /` (one
//! self-contained document, `page/render.rs`, with its style and script
//! beside it), `GET /status.json` (what the script polls while the page is
//! open) and `POST /action` (start, stop, restart one service or all).
//!
//! An action needs the page's token, random per daemon start: another
//! site can make a browser POST but cannot read the page, so it cannot
//! send the token. A request with a foreign `Origin` is refused as
//! `/RPC2` refuses it. The servers' basic auth was checked before.
//! Acting goes through the control socket's own request, as `/RPC2` does,
//! and the answer does not wait: a 303 back to the page.

mod render;

use super::Daemon;
use crate::core::http::{HttpConn, Phase};
use crate::core::service::State;
use crate::core::supervisor::{ConnId, Service};
use crate::wire::http::{self as wire_http, Request};
use crate::wire::{Action, Response};
use render::Row;
use std::sync::OnceLock;
use std::time::Instant;

/// The page's token: 16 random bytes in hex, made at first use; empty
/// when the system gives no randomness (then no action is let in).
fn token() -> &'static str {
    static TOKEN: OnceLock<String> = OnceLock::new();
    TOKEN.get_or_init(|| {
        let mut buf = [0u8; 16];
        // The system call itself: the static musl build's `getrandom`
        // symbol is a null weak one.
        // SAFETY: writes at most buf.len() bytes into buf.
        let n = unsafe { libc::syscall(libc::SYS_getrandom, buf.as_mut_ptr(), buf.len(), 0) };
        let ok = n == buf.len() as libc::c_long
            || std::fs::File::open("/dev/urandom")
                .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut buf))
                .is_ok();
        if ok {
            render::hex(&buf)
        } else {
            String::new()
        }
    })
}

/// Health as the page shows it, where checks are configured: a RUNNING
/// service with a health check is healthy until `status` says it is
/// failing (`healthy`, the supervisor's own flag as `/metrics` has it, not
/// the detail text a notify `STATUS=` could fake); with a ready check,
/// RUNNING means it said it was ready.
fn health(s: &Service, state: &str, healthy: bool) -> &'static str {
    let p = &s.spec.policy;
    let running = state == State::Running.name();
    if p.health.check.is_some() && running {
        if !healthy {
            return "unhealthy";
        }
        return "healthy";
    }
    match (&p.ready, running) {
        (Some(_), true) => "ready",
        (Some(_), false) if state == State::Starting.name() => "not ready",
        _ => "",
    }
}

/// An answer with its own headers; the page is never cached or framed
/// (a framed page could be clicked by another site).
/// `head`: a HEAD request, answered with the same head and no body.
fn send(
    c: &mut HttpConn,
    status: u16,
    ctype: &str,
    location: Option<&str>,
    body: &[u8],
    head: bool,
) {
    let mut headers = vec![
        ("Content-Type", ctype),
        ("Cache-Control", "no-store"),
        ("X-Frame-Options", "DENY"),
        ("Content-Security-Policy", "frame-ancestors 'none'"),
        ("X-Content-Type-Options", "nosniff"),
    ];
    if let Some(l) = location {
        headers.push(("Location", l));
    }
    let close = !c.keep_alive;
    c.send(&wire_http::response_head(
        status,
        &headers,
        body.len(),
        close,
    ));
    if !head {
        c.send(body);
    }
    c.phase = Phase::Reading;
    if close {
        c.closing = true;
    }
}

impl Daemon {
    /// Every service, in `status`'s order, with its health.
    fn page_rows(&self, now: Instant) -> Vec<Row> {
        (self.sup.services())
            .filter_map(|s| {
                let info = self.sup.info(s.id, now)?;
                let health = health(s, &info.state, self.sup.healthy(s.id));
                Some(Row { info, health })
            })
            .collect()
    }

    /// `GET /` (the page, built in one pass) and `GET /status.json` (the
    /// services as `sv status --json` has them, with their health).
    pub(super) fn page(&mut self, id: ConnId, req: &Request, json: bool, now: Instant) {
        let head = req.method == "HEAD";
        let body = (req.method == "GET" || head).then(|| {
            let rows = self.page_rows(now);
            if json {
                return render::json(&rows);
            }
            let title = format!("sv {} · instance {}", host(), self.sup.paths.instance);
            render::page(&title, &rows, token())
        });
        let Some(c) = self.http.conns.get_mut(&id) else {
            return;
        };
        let ctype = if json {
            "application/json"
        } else {
            "text/html; charset=utf-8"
        };
        match body {
            Some(b) => send(c, 200, ctype, None, b.as_bytes(), head),
            None => super::http::refuse_method(
                c,
                "GET, HEAD",
                "the status page and /status.json take GET or HEAD",
            ),
        }
    }

    /// `POST /action`: `token`, and `ACTION=NAME` (the page's buttons) or
    /// `action=ACTION&name=NAME`; NAME may be `all`. Answers 303 to the
    /// page, or an error that names what is wrong.
    pub(super) fn page_action(&mut self, id: ConnId, req: &Request, foreign: bool, now: Instant) {
        let Some(peer) = self.http.conns.get(&id).map(|c| c.peer.clone()) else {
            return;
        };
        let resp = match checked(req, foreign) {
            Ok((action, form)) => {
                let msg = format!(
                    "http: {peer}: {} {} from the status page",
                    form.action, form.name
                );
                self.sup.log.info(&msg);
                // Connection 0 has no client: the request does not wait.
                let act = crate::wire::Request::Act(action, vec![form.name.into()].into());
                match (self.handle(0, act, now), self.sup.persist(now)) {
                    (Some(Response::Error(e)), _) => Err((404, e.to_string())),
                    (_, Err(why)) => {
                        Err((500, format!("done, but the state cannot be saved ({why})")))
                    }
                    _ => Ok(()),
                }
            }
            Err((403, why)) => {
                let msg = format!("http: refused an action from {peer}: {why}");
                self.sup.log.warn_limited("http page token", &msg);
                Err((403, why))
            }
            Err(e) => Err(e),
        };
        let Some(c) = self.http.conns.get_mut(&id) else {
            return;
        };
        match resp {
            Ok(()) => send(c, 303, "text/plain", Some("./"), b"", false),
            Err((405, why)) => super::http::refuse_method(c, "POST", &why),
            Err((status, why)) => c.send_error(status, &why),
        }
    }
}

/// What an action request asks, once its method, origin, form and token
/// are right; else the status and why.
fn checked(req: &Request, foreign: bool) -> Result<(Action, render::Form), (u16, String)> {
    let fail = |status: u16, why: &str| Err((status, why.to_string()));
    if req.method != "POST" {
        return fail(405, "/action takes POST");
    }
    if foreign {
        return fail(403, "requests from other web pages are refused");
    }
    let Some(form) = render::form(&req.body) else {
        return fail(400, "the form is not url-encoded UTF-8");
    };
    let token = token();
    if token.is_empty() || !render::same(form.token.as_bytes(), token.as_bytes()) {
        return fail(403, "wrong or no token: reload the status page");
    }
    let action = match &*form.action {
        "start" => Action::Start,
        "stop" => Action::Stop,
        "restart" => Action::Restart,
        a => {
            return fail(
                400,
                &format!("no such action: {a:?} (start, stop or restart)"),
            )
        }
    };
    if form.name.is_empty() {
        return fail(400, "no service named (a name or all)");
    }
    Ok((action, form))
}

/// The machine's name, for the title and the `Host` check; empty when it
/// cannot be read.
pub(super) fn host() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes into buf.
    if unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } != 0 {
        return String::new();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}
