//! Requests: serving what clients send over the control socket.
//!
//! A connection's requests are served in order until one must wait for
//! services to settle (a waiter answers it later). Every answer is made
//! durable first (the state file, SPEC §8) and logged before it is sent,
//! so a client that reads the log after its answer finds every line that
//! led to it. Apart from the loop, so that the loop's file shows only how
//! sources are polled and dispatched.

use super::pipes::{Follower, PipeKey};
use super::Daemon;
use crate::core::control;
use crate::core::create;
use crate::core::log::Level;
use crate::core::output;
use crate::core::stream::Stream;
use crate::core::supervisor::ConnId;
use crate::wire::{DaemonInfo, Request, Response, TailSpec};
use std::time::Instant;

/// The most `tail` sends at once, well under the frame limit.
const TAIL_LIMIT: usize = 512 * 1024;
/// The most of a request or an answer that the log shows.
const DESCRIBE_MAX: usize = 512;

impl Daemon {
    // ============================================================ requests

    /// Serves the whole requests a connection has sent, until one must wait.
    pub(super) fn serve(&mut self, id: ConnId, now: Instant) {
        self.log_refusal(id);
        while let Some(req) = self.conns.get_mut(&id).and_then(|c| c.next_request()) {
            let what = describe(&req);
            let what = control::clip(&what, DESCRIBE_MAX);
            // A monitor polling `status` must not flood the journal.
            let level = if read_only(&req) {
                Level::Debug
            } else {
                Level::Info
            };
            self.sup.log.log(level, &format!("request: {what}"));
            if changes_state(&req) {
                self.changing.insert(id);
            }
            match self.handle(id, req, now) {
                Some(resp) => self.reply_at(id, resp, level),
                None => {
                    if let Some(c) = self.conns.get_mut(&id) {
                        c.busy = true;
                    }
                }
            }
        }
        self.log_refusal(id);
    }

    /// Logs why a connection's frame was refused; a flood of them makes
    /// one line a second.
    fn log_refusal(&mut self, id: ConnId) {
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        if let Some(why) = c.refused.take() {
            let msg = format!("bad request from pid {}: {why}", c.pid);
            self.sup.log.warn_limited("bad request", &msg);
        }
    }

    /// `tail`: the last lines now; with `follow`, every new chunk after.
    fn tail(&mut self, conn: ConnId, t: TailSpec) -> Option<Response> {
        let id = match self.sup.resolve(&t.target) {
            Ok(ids) if ids.len() == 1 => ids[0],
            Ok(_) => {
                return Some(Response::Error(
                    format!("tail takes one service, and {} names several", t.target).into(),
                ))
            }
            Err(e) => return Some(Response::Error(e.into())),
        };
        let stream = Stream::from_wire(t.stream);
        // A missing service is an answer, never a connection left waiting.
        let Some(svc) = self.sup.services().find(|s| s.id == id) else {
            return Some(Response::Error(
                format!("no such service: {}", t.target).into(),
            ));
        };
        if stream == Stream::Stderr && svc.spec.redirect_stderr {
            return Some(Response::Error(
                format!(
                    "{}: stderr is redirected to stdout; tail its stdout",
                    svc.name()
                )
                .into(),
            ));
        }
        let Some(path) = svc.logs[stream].path.clone() else {
            return Some(Response::Error(
                format!("{}: {stream} is not captured to a log file", svc.name()).into(),
            ));
        };
        let data = match output::tail(&path, t.lines as usize, TAIL_LIMIT) {
            // No file: nothing written yet, or it could not be opened.
            Ok(d) if d.is_empty() && !path.exists() => match unopened(&path, &svc.logs[stream]) {
                Some(why) => {
                    return Some(Response::Error(
                        format!("{}: cannot open its {stream} log: {why}", svc.name()).into(),
                    ))
                }
                None => d,
            },
            Ok(d) => d,
            Err(e) => {
                return Some(Response::Error(
                    format!("cannot read {}: {e}", path.display()).into(),
                ))
            }
        };
        if !t.follow {
            return Some(Response::Bytes(data.into()));
        }
        if let Some(c) = self.conns.get_mut(&conn) {
            c.send(&Response::Bytes(data.into()));
        }
        self.followers.push(Follower {
            conn,
            pipe: PipeKey {
                service: id,
                stream,
            },
            name: svc.name().to_string(),
        });
        None
    }

    /// Serves one request: Some(answer) now, or None when a waiter answers later.
    pub(super) fn handle(&mut self, conn: ConnId, req: Request, now: Instant) -> Option<Response> {
        match req {
            Request::Ping => Some(Response::Ok("pong".into())),
            Request::Info => Some(Response::Info(DaemonInfo {
                instance: self.sup.paths.instance,
                pid: std::process::id() as i32,
                uptime_secs: now.saturating_duration_since(self.sup.started).as_secs(),
                services: self.sup.len() as u32,
                config: self
                    .sup
                    .config
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
                    .into(),
            })),
            Request::Shutdown => {
                self.sup.begin_shutdown(Some(conn), now);
                None
            }
            Request::Create(spec) => Some(create::create_durably(&mut self.sup, spec, now)),
            Request::CreateWait(spec) => create::create_waiting(&mut self.sup, conn, spec, now),
            Request::Adopt(a) => Some(match self.sup.adopt(a.pid, a.name.map(|n| n.0), now) {
                Ok(name) => Response::Ok(format!("{name}: adopted, pid {}", a.pid).into()),
                Err(e) => Response::Error(e.into()),
            }),
            Request::Act(action, targets) => self.sup.act(conn, action, &targets, now),
            Request::Status(targets) => Some(self.sup.status(&targets, now)),
            Request::Tail(t) => self.tail(conn, t),
            Request::Reload => Some(self.reload(now)),
            Request::Wait(w) => self.sup.wait_for(conn, w, now),
            Request::Reread => Some(self.sup.reread_answer()),
            Request::Update(groups) => Some(self.sup.update(&groups, now)),
            Request::Avail => Some(self.sup.avail()),
        }
    }

    /// `reload` and SIGHUP: re-read the config file and apply the difference.
    pub(super) fn reload(&mut self, now: Instant) -> Response {
        let resp = self.sup.reload(now);
        match &resp {
            Response::Ok(t) | Response::Error(t) => {
                for line in t.lines() {
                    self.sup.log.notice(&format!("reload: {line}"));
                }
            }
            _ => {}
        }
        resp
    }

    pub(super) fn reply(&mut self, id: ConnId, resp: Response) {
        self.reply_at(id, resp, Level::Info)
    }

    /// Answers at once; the answer is logged at the request's `level`.
    fn reply_at(&mut self, id: ConnId, resp: Response, level: Level) {
        // What is answered is on disk first: a SIGKILL right after the
        // answer loses nothing (SPEC §8); a change that cannot be is
        // answered as failed.
        let changed = self.changing.remove(&id);
        let resp = self.sup.durable(changed, resp, Instant::now());
        if self.http.conns.contains_key(&id) {
            // A deferred XML-RPC call (see `rpc`): logged once, as the
            // call's own answer, not also as the request it made.
            let xml = self.rpc_answer(id, resp);
            self.sup.log.flush();
            self.http_reply(id, xml);
            return;
        }
        let what = describe_response(&resp);
        let what = control::clip(&what, DESCRIBE_MAX);
        self.sup.log.log(level, &format!("answer: {what}"));
        // And logged: a client that reads the log after its answer finds
        // every line that led to it.
        self.sup.log.flush();
        if let Some(c) = self.conns.get_mut(&id) {
            c.busy = false;
            c.send(&resp);
        }
    }

    pub(super) fn answer_waiters(&mut self, now: Instant) {
        for (conn, resp) in self.sup.settle_waiters(now) {
            self.reply(conn, resp);
            // It may have sent more requests (or hung up) meanwhile.
            self.serve(conn, now);
        }
    }
}

/// Whether a request only reads: logged at debug, with its answer.
fn read_only(req: &Request) -> bool {
    match req {
        Request::Ping | Request::Info | Request::Status(_) | Request::Tail(_) | Request::Avail => {
            true
        }
        Request::Reread | Request::Update(_) => false,
        Request::Shutdown
        | Request::Create(_)
        | Request::CreateWait(_)
        | Request::Adopt(_)
        | Request::Act(..)
        | Request::Reload
        | Request::Wait(_) => false,
    }
}

/// Whether a request changes what the state file records. Creating
/// answers for itself (`create::create_durably`).
fn changes_state(req: &Request) -> bool {
    match req {
        Request::Adopt(_) | Request::Act(..) | Request::Reload | Request::Update(_) => true,
        Request::Reread | Request::Avail => false,
        Request::Ping
        | Request::Info
        | Request::Shutdown
        | Request::Create(_)
        | Request::CreateWait(_)
        | Request::Status(_)
        | Request::Tail(_)
        | Request::Wait(_) => false,
    }
}

/// A request, for the log.
fn describe(req: &Request) -> String {
    match req {
        Request::Ping => "ping".into(),
        Request::Info => "info".into(),
        Request::Shutdown => "close".into(),
        Request::Create(c) | Request::CreateWait(c) => format!(
            "create-service {}",
            c.argv
                .iter()
                .map(|a| a.0.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        ),
        Request::Adopt(a) => format!("open-service {}", a.pid),
        Request::Act(action, t) => format!(
            "{action:?} {}",
            t.iter().map(|a| a.0.as_str()).collect::<Vec<_>>().join(" ")
        )
        .to_lowercase(),
        Request::Status(t) => std::iter::once("status")
            .chain(t.iter().map(|a| a.0.as_str()))
            .collect::<Vec<_>>()
            .join(" "),
        Request::Tail(t) => format!(
            "tail{} -n {} {} {}",
            if t.follow { " -f" } else { "" },
            t.lines,
            t.target,
            Stream::from_wire(t.stream)
        ),
        Request::Reload => "reload".into(),
        Request::Reread => "reread".into(),
        Request::Avail => "avail".into(),
        Request::Update(g) => std::iter::once("update")
            .chain(g.iter().map(|a| a.0.as_str()))
            .collect::<Vec<_>>()
            .join(" "),
        Request::Wait(w) => format!(
            "wait --for {} {}",
            format!("{:?}", w.until).to_lowercase(),
            w.targets
                .iter()
                .map(|a| a.0.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        ),
    }
}

fn describe_response(resp: &Response) -> String {
    match resp {
        Response::Ok(t) => format!("ok {t}"),
        Response::Error(t) => format!("error {t}"),
        Response::Outcomes(o) | Response::OutcomesPart(o) => o
            .iter()
            .map(|o| format!("{}: {}", o.name, o.message))
            .collect::<Vec<_>>()
            .join("; "),
        Response::Status(s) | Response::StatusPart(s) => format!("{} services", s.len()),
        Response::Info(_) => "info".into(),
        Response::Bytes(b) => format!("{} bytes", b.len()),
    }
}

/// Why a log that does not exist could not be opened: the error its
/// writer met, or a missing directory; None when nothing was written yet.
fn unopened(path: &std::path::Path, log: &output::LogFile) -> Option<String> {
    if let Some(e) = &log.error {
        return Some(e.clone());
    }
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty())?;
    (!dir.is_dir()).then(|| format!("{}: no such directory", dir.display()))
}
