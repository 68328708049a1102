//! `/RPC2`: supervisord's XML-RPC interface (SPEC §13) on the HTTP
//! server's connections.
//!
//! A call is parsed by the one codec (`wire::xmlrpc`), logged like a
//! control request, and dispatched by a fixed `match` on its name: no
//! name is ever looked up among attributes (CVE-2017-11610), so
//! `supervisor.supervisord.options.execve` is an unknown method like any
//! other. What a method does to services goes through the control
//! socket's own path (`Daemon::handle`), so logging, the state file and
//! waiting are the same whichever client asked: a method that waits
//! (`startProcess` and the like) answers once the waiter of its request
//! does, through [`Daemon::rpc_answer`]. The process methods are in
//! `rpc_process`; the config and log methods in `rpc_admin`, reached for
//! every name this table lacks.

mod multicall;

use super::rpc_admin::ADMIN_METHODS;
use super::rpc_process::Pending;
use super::Daemon;
use crate::core::control;
use crate::core::log::Level;
use crate::core::rpc::methods::{self, METHODS};
use crate::core::supervisor::ConnId;
use crate::wire::xmlrpc::codes::{daemon_state, fault, fault_text};
use crate::wire::xmlrpc::{self, Fault, Value};
use crate::wire::Response;
use std::collections::HashMap;
use std::time::Instant;

/// The API version supervisord's clients check (`getAPIVersion`).
pub(super) const API_VERSION: &str = "3.0";

/// The fault of a body that is not XML-RPC at all (the de facto code of
/// XML-RPC servers for a document that does not parse).
const NOT_XMLRPC: i64 = -32700;

/// The most of a call that the log shows.
const DESCRIBE_MAX: usize = 512;

/// Calls in one `system.multicall`, at most (supervisord has no cap; one
/// request must not hold the loop without end).
pub(super) const MULTICALL_MAX: usize = 1000;

/// The XML of one answer, at most: getAllProcessInfo of 10,000 programs
/// (12 MB) fits.
pub(super) const ANSWER_MAX: usize = 16 << 20;

/// A multicall makes no more calls once its values reach this much (room
/// under [`ANSWER_MAX`] for the XML around them).
const MULTICALL_VALUES: usize = 12 << 20;

/// A buffer kept for the next answer holds at most this much: a 12 MB
/// answer is let go, the usual ones (getAllProcessInfo of a few hundred
/// programs) are kept.
const KEEP_MAX: usize = 1 << 20;

/// Calls waiting for their services to settle, and multicalls that go on
/// in a later pass, by connection; and the buffers of the last answer,
/// kept for the next one (`take_text`, `take_doc`, `recycle`).
#[derive(Default)]
pub(super) struct Calls {
    waiting: HashMap<ConnId, Pending>,
    /// Few at once: a list, not another map type in the binary.
    multi: Vec<(ConnId, multicall::Multi)>,
    text: String,
    doc: Vec<u8>,
}

impl Calls {
    /// Forgets the call a connection that closed waited on: the method's name.
    pub(super) fn forget(&mut self, conn: ConnId) -> Option<String> {
        if let Some(i) = self.multi.iter().position(|(c, _)| *c == conn) {
            self.multi.swap_remove(i);
            return Some("system.multicall".to_string());
        }
        self.waiting.remove(&conn).map(|p| p.method().to_string())
    }

    /// An empty string for a value written as XML, with the room of the
    /// last one.
    pub(super) fn take_text(&mut self) -> String {
        std::mem::take(&mut self.text)
    }

    /// An empty buffer for an answer's document.
    pub(super) fn take_doc(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.doc)
    }

    /// Keeps a sent answer's buffer for the next one.
    pub(super) fn recycle(&mut self, mut doc: Vec<u8>) {
        if doc.capacity() <= KEEP_MAX && doc.capacity() > self.doc.capacity() {
            doc.clear();
            self.doc = doc;
        }
    }

    /// Keeps a written value's string for the next one.
    fn recycle_text(&mut self, mut text: String) {
        if text.capacity() <= KEEP_MAX && text.capacity() > self.text.capacity() {
            text.clear();
            self.text = text;
        }
    }
}

/// What a method answers: now, or once the waiter of its request does.
pub(super) enum Answer {
    Now(Result<Value, Fault>),
    Later(Pending),
    /// A multicall out of its slice of loop time: it goes on at the end
    /// of the pass and answers then (`multicall`).
    Paused,
    /// The answer's whole document, written in place (getAllProcessInfo).
    Doc(String),
}

/// A fault as supervisord words it: `NAME: detail`.
pub(super) fn fail(code: i64, detail: &str) -> Fault {
    Fault {
        code,
        message: fault_text(code, detail),
    }
}

impl Daemon {
    /// Serves one `/RPC2` body: Some(the answer's XML) now, or None when
    /// it goes out later through `http_reply` (see [`rpc_answer`]).
    ///
    /// [`rpc_answer`]: Daemon::rpc_answer
    pub(super) fn rpc(&mut self, conn: ConnId, body: &[u8], now: Instant) -> Option<Vec<u8>> {
        let call = match xmlrpc::parse_call(body) {
            Ok(c) => c,
            Err(e) => {
                let msg = format!("XML-RPC request refused: {e}");
                self.sup.log.warn_limited("bad xml-rpc", &msg);
                return Some(xmlrpc::fault(NOT_XMLRPC, &e.to_string()));
            }
        };
        match self.call(&call.method, &call.params, Some(conn), now) {
            Answer::Now(r) => Some(self.encode(&call.method, r)),
            Answer::Later(p) => {
                self.rpc_calls.waiting.insert(conn, p);
                // Its answer waits for the state file, as a control
                // request's does (`Daemon::reply`).
                self.changing.insert(conn);
                None
            }
            Answer::Paused => None,
            Answer::Doc(xml) => Some(self.sent(&call.method, xml.into_bytes())),
        }
    }

    /// The XML answer of the call `conn` waits on, from the answer of its
    /// request (called when that request's waiter answers).
    pub(super) fn rpc_answer(&mut self, conn: ConnId, resp: Response) -> Vec<u8> {
        let Some(pending) = self.rpc_calls.waiting.remove(&conn) else {
            let f = fail(fault::FAILED, "no call was waiting on this connection");
            return xmlrpc::fault(f.code, &f.message);
        };
        let method = pending.method().to_string();
        let r = self.finish(pending, resp);
        self.encode(&method, r)
    }

    /// The answer's document, logged; one past [`ANSWER_MAX`] is a fault
    /// that names the limit.
    pub(super) fn encode(&mut self, method: &str, r: Result<Value, Fault>) -> Vec<u8> {
        match r {
            Ok(v) => {
                let xml = xmlrpc::write::response_in(self.rpc_calls.take_doc(), &v);
                if let Value::Xml(text) = v {
                    self.rpc_calls.recycle_text(text);
                }
                self.sent(method, xml)
            }
            Err(f) => {
                let what = format!("answer: {method}: fault {}", f.message);
                let what = control::clip(&what, DESCRIBE_MAX);
                self.sup.log.info(&what);
                xmlrpc::fault(f.code, &f.message)
            }
        }
    }

    /// A whole answer's document, logged; one past [`ANSWER_MAX`] is a
    /// fault that names the limit.
    fn sent(&mut self, method: &str, xml: Vec<u8>) -> Vec<u8> {
        if xml.len() > ANSWER_MAX {
            return self.encode(method, Err(too_big(xml.len())));
        }
        let level = if changes(method) {
            Level::Info
        } else {
            Level::Debug
        };
        self.sup.log.log(level, &format!("answer: {method}: ok"));
        xml
    }

    /// Calls one method. `conn` is None inside a multicall, where nothing
    /// waits: methods that would answer as with `wait=false`.
    pub(super) fn call(
        &mut self,
        method: &str,
        params: &[Value],
        conn: Option<ConnId>,
        now: Instant,
    ) -> Answer {
        // A multicall's calls are one line of its own (see `multicall`).
        let level = if changes(method) && conn.is_some() {
            Level::Info
        } else {
            Level::Debug
        };
        let what = format!("request: xml-rpc {method}({})", show(params));
        let what = control::clip(&what, DESCRIBE_MAX);
        self.sup.log.log(level, &what);
        // supervisord refuses its own methods once it is shutting down.
        let ns_supervisor = method.starts_with("supervisor.");
        if ns_supervisor && method != "supervisor.sendRemoteCommEvent" && self.sup.closing() {
            return Answer::Now(Err(fail(fault::SHUTDOWN_STATE, "")));
        }
        let r = match method {
            "system.listMethods" => arity(params, 0, 0)
                .map(|()| Value::Array(methods::names(&[METHODS, ADMIN_METHODS]))),
            "system.methodHelp" => described(params).map(|m| Value::from(m.2)),
            "system.methodSignature" => described(params).map(|m| methods::signature(m.1)),
            "system.multicall" if conn.is_none() => Err(fail(
                fault::INCORRECT_PARAMETERS,
                "Recursive system.multicall forbidden",
            )),
            "system.multicall" => return self.multicall(params, conn.unwrap_or(0), now),
            "supervisor.getAPIVersion" | "supervisor.getVersion" => {
                arity(params, 0, 0).map(|()| API_VERSION.into())
            }
            "supervisor.getSupervisorVersion" => {
                arity(params, 0, 0).map(|()| env!("CARGO_PKG_VERSION").into())
            }
            "supervisor.getIdentification" => {
                arity(params, 0, 0).map(|()| self.identification().into())
            }
            "supervisor.getState" => arity(params, 0, 0).map(|()| {
                let (code, name) = daemon_state::RUNNING;
                Value::object([("statecode", code.into()), ("statename", name.into())])
            }),
            "supervisor.getPID" => {
                arity(params, 0, 0).map(|()| Value::from(std::process::id() as i64))
            }
            "supervisor.shutdown" => self.rpc_shutdown(params, now),
            "supervisor.restart" => self.rpc_restart(params, now),
            "supervisor.sendRemoteCommEvent" => self.remote_comm_event(params),
            _ => return self.process_call(method, params, conn, now),
        };
        Answer::Now(r)
    }

    /// The process methods (`rpc_process`), then the config and log
    /// methods (`rpc_admin`); UNKNOWN_METHOD for anything else.
    fn process_call(
        &mut self,
        method: &str,
        params: &[Value],
        conn: Option<ConnId>,
        now: Instant,
    ) -> Answer {
        if let Some(a) = self.process_method(method, params, conn, now) {
            return a;
        }
        match self.rpc_admin(method, params, now) {
            Some(r) => Answer::Now(r),
            None => Answer::Now(Err(fail(fault::UNKNOWN_METHOD, ""))),
        }
    }

    /// `getIdentification`: `[supervisord] identifier`, else supervisord's
    /// default.
    fn identification(&self) -> String {
        self.sup.supervisord.identifier().to_string()
    }

    /// `shutdown`: True now, then every service stops by its rules and
    /// the daemon exits, as `sv close`.
    fn rpc_shutdown(&mut self, params: &[Value], now: Instant) -> Result<Value, Fault> {
        arity(params, 0, 0)?;
        self.sup
            .log
            .info("shutting down (supervisor.shutdown): stopping every service");
        self.sup.begin_shutdown(None, now);
        Ok(true.into())
    }

    /// `restart`, with sv's meaning: the config is read again as `sv
    /// reload` reads it, so unchanged programs keep running. A config
    /// with an error changes nothing and is a CANT_REREAD fault.
    fn rpc_restart(&mut self, params: &[Value], now: Instant) -> Result<Value, Fault> {
        arity(params, 0, 0)?;
        match self.reload(now) {
            Response::Ok(_) => self.durable(Ok(true.into())),
            Response::Error(e) => Err(fail(fault::CANT_REREAD, &e)),
            _ => Err(fail(fault::FAILED, "unexpected answer to reload")),
        }
    }

    /// `sendRemoteCommEvent`: a REMOTE_COMMUNICATION event for the pools
    /// that subscribe (SPEC §14).
    fn remote_comm_event(&mut self, params: &[Value]) -> Result<Value, Fault> {
        arity(params, 2, 2)?;
        let kind = text(params, 0)?;
        let data = text(params, 1)?;
        let msg = format!("remote communication event of type {kind} raised");
        self.sup.log.info(&control::clip(&msg, DESCRIBE_MAX));
        self.sup.remote_event(kind, data);
        Ok(true.into())
    }

    /// An answer that changed services, once the state file has the
    /// change; a failure to save says so, as the control socket does.
    pub(super) fn durable(&mut self, r: Result<Value, Fault>) -> Result<Value, Fault> {
        match self.sup.persist(Instant::now()) {
            Err(why) if r.is_ok() => Err(fail(
                fault::FAILED,
                &format!(
                    "done, but the state cannot be saved ({why}): the daemon would lose this change if it died"
                ),
            )),
            _ => r,
        }
    }
}

/// The fault of an answer past [`ANSWER_MAX`].
fn too_big(size: usize) -> Fault {
    let why = format!(
        "the answer would be {size} bytes, past {} MiB; ask for less in one request",
        ANSWER_MAX >> 20
    );
    fail(fault::FAILED, &why)
}

/// Whether a method may change services: logged at info, as control
/// requests that do; the rest at debug, so a monitor does not flood the log.
fn changes(method: &str) -> bool {
    let read = [
        "system.",
        "supervisor.get",
        "supervisor.read",
        "supervisor.tail",
    ];
    !read.iter().any(|p| method.starts_with(p))
}

/// The entry of the method named by a `methodHelp`/`methodSignature`
/// call; SIGNATURE_UNSUPPORTED for an unknown one, as supervisord.
fn described(params: &[Value]) -> Result<methods::Method, Fault> {
    arity(params, 1, 1)?;
    let name = text(params, 0)?;
    methods::find(&[METHODS, ADMIN_METHODS], name)
        .ok_or_else(|| fail(fault::SIGNATURE_UNSUPPORTED, ""))
}

/// INCORRECT_PARAMETERS unless `min..=max` parameters were given: with
/// no detail, as supervisord answers when Python refuses the arguments
/// (the log has the call).
pub(super) fn arity(params: &[Value], min: usize, max: usize) -> Result<(), Fault> {
    if (min..=max).contains(&params.len()) {
        return Ok(());
    }
    Err(fail(fault::INCORRECT_PARAMETERS, ""))
}

/// Parameter `i`, a string.
pub(super) fn text(params: &[Value], i: usize) -> Result<&str, Fault> {
    params.get(i).and_then(Value::as_str).ok_or_else(|| {
        fail(
            fault::INCORRECT_PARAMETERS,
            &format!("parameter {} must be a string", i + 1),
        )
    })
}

/// Parameter `i`, a boolean (an int 0/1 too), `default` when absent.
pub(super) fn flag(params: &[Value], i: usize, default: bool) -> Result<bool, Fault> {
    match params.get(i) {
        None => Ok(default),
        Some(v) => v.as_bool().ok_or_else(|| {
            fail(
                fault::INCORRECT_PARAMETERS,
                &format!("parameter {} must be a boolean", i + 1),
            )
        }),
    }
}

/// Parameters, for the log: `'web', true`.
fn show(params: &[Value]) -> String {
    params
        .iter()
        .map(|p| match p {
            Value::Str(s) => format!("{:?}", control::clip(s, 64)),
            Value::Int(i) => i.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Array(a) => format!("[{} items]", a.len()),
            Value::Struct(_) => "{...}".to_string(),
            _ => "...".to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reading_methods_are_told_apart() {
        assert!(!changes("supervisor.getAllProcessInfo"));
        assert!(!changes("system.multicall"));
        assert!(!changes("supervisor.tailProcessStdoutLog"));
        assert!(changes("supervisor.startProcess"));
        assert!(changes("supervisor.shutdown"));
    }

    #[test]
    fn parameters_are_checked() {
        assert_eq!(arity(&[], 0, 0), Ok(()));
        let f = arity(&[Value::Int(1)], 0, 0).unwrap_err();
        assert_eq!(f.code, fault::INCORRECT_PARAMETERS);
        assert_eq!(f.message, "INCORRECT_PARAMETERS");
        assert_eq!(text(&["web".into()], 0), Ok("web"));
        assert!(text(&[Value::Int(1)], 0).is_err());
        assert_eq!(flag(&[], 1, true), Ok(true));
        assert_eq!(flag(&["x".into(), Value::Bool(false)], 1, true), Ok(false));
        assert_eq!(flag(&["x".into(), Value::Int(0)], 1, true), Ok(false));
        assert!(flag(&["x".into(), "no".into()], 1, true).is_err());
    }

    #[test]
    fn unknown_methods_have_no_help() {
        let f = described(&["supervisor.supervisord.options.execve".into()]).unwrap_err();
        assert_eq!(f.code, fault::SIGNATURE_UNSUPPORTED);
        assert_eq!(
            described(&["supervisor.startProcess".into()]).map(|m| m.1),
            Ok("boolean,string,boolean")
        );
    }
}
