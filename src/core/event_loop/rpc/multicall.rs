//! `system.multicall`, in slices of loop time: up to [`MULTICALL_MAX`]
//! calls of slow methods (reloadConfig, restarts) would hold the loop for
//! seconds. A multicall makes its calls in order until [`SLICE`] of loop
//! time is spent, then goes on at the end of the next pass (the loop does
//! not sleep meanwhile, `Http::resume_at`), so other clients, signals and
//! exits are served in between. Each call still runs whole and in order,
//! and the answer is the same as in one go: what it costs is only that
//! another client's call may come between two of its calls, as with
//! supervisord's own deferred calls. Its answer leaves once every call is
//! made and the state file has their changes.

use super::{arity, changes, fail, Answer, DESCRIBE_MAX, MULTICALL_MAX, MULTICALL_VALUES};
use crate::core::control;
use crate::core::event_loop::Daemon;
use crate::core::supervisor::ConnId;
use crate::wire::xmlrpc::codes::fault;
use crate::wire::xmlrpc::{Fault, Value};
use std::time::{Duration, Instant};

/// Loop time a multicall's calls take at most in one pass (all paused
/// multicalls together, when they go on).
pub(in crate::core::event_loop) const SLICE: Duration = Duration::from_millis(50);

/// A multicall that ran out of its slice: the calls not made yet and the
/// results so far.
pub(in crate::core::event_loop) struct Multi {
    calls: Vec<Value>,
    next: usize,
    results: Vec<Value>,
    size: usize,
}

impl Daemon {
    /// `system.multicall`: each call in order, its value or its fault.
    /// As supervisord, a value is given as it is (not in a one-element
    /// array) and a fault as a {faultCode, faultString} struct. At most
    /// [`MULTICALL_MAX`] calls; once the values reach [`MULTICALL_VALUES`],
    /// the calls left are not made and each is a fault that says so.
    /// Past [`SLICE`], the rest waits for the next pass (`rpc_resume`).
    pub(in crate::core::event_loop) fn multicall(
        &mut self,
        params: &[Value],
        conn: ConnId,
        now: Instant,
    ) -> Answer {
        if let Err(f) = arity(params, 1, 1) {
            return Answer::Now(Err(f));
        }
        let Some(calls) = params[0].as_array() else {
            let f = fail(fault::INCORRECT_PARAMETERS, "calls must be an array");
            return Answer::Now(Err(f));
        };
        if calls.len() > MULTICALL_MAX {
            let why = format!(
                "{} calls in one system.multicall; at most {MULTICALL_MAX}",
                calls.len()
            );
            return Answer::Now(Err(fail(fault::INCORRECT_PARAMETERS, &why)));
        }
        let changing: Vec<&str> = (calls.iter())
            .filter_map(|c| c.get("methodName").and_then(Value::as_str))
            .filter(|m| changes(m))
            .collect();
        if !changing.is_empty() {
            // One line for the request, however many calls it makes.
            let what = format!(
                "request: xml-rpc system.multicall of {} calls: {}",
                calls.len(),
                changing.join(", ")
            );
            self.sup.log.info(&control::clip(&what, DESCRIBE_MAX));
        }
        let mut m = Multi {
            calls: Vec::new(),
            next: 0,
            results: Vec::with_capacity(calls.len()),
            size: 0,
        };
        let until = Instant::now() + SLICE;
        self.multi_step(&mut m, calls, until, now);
        if m.next == calls.len() {
            return Answer::Now(Ok(Value::Array(m.results)));
        }
        // Out of time: the calls left are kept (copied once, here only).
        m.calls = calls[m.next..].to_vec();
        m.next = 0;
        self.pause_multi(conn, m);
        Answer::Paused
    }

    /// Makes the calls of `m` from `calls[m.next..]` until `until`; at
    /// least one, so that each pass moves it on.
    fn multi_step(&mut self, m: &mut Multi, calls: &[Value], until: Instant, now: Instant) {
        while let Some(c) = calls.get(m.next) {
            let r = match (c.get("methodName").and_then(Value::as_str), c.get("params")) {
                _ if m.size > MULTICALL_VALUES => Err(fail(
                    fault::FAILED,
                    &format!(
                        "not called: this multicall's answer passed {} MiB; \
                         ask for the rest in another request",
                        MULTICALL_VALUES >> 20
                    ),
                )),
                (None, _) => Err(fail(fault::INCORRECT_PARAMETERS, "No methodName")),
                (Some(name), None) => self.call_now(name, &[], now),
                (Some(name), Some(Value::Array(p))) => self.call_now(name, p, now),
                (Some(_), Some(_)) => {
                    Err(fail(fault::INCORRECT_PARAMETERS, "params must be an array"))
                }
            };
            let v = match r {
                Ok(v) => v,
                Err(f) => Value::object([
                    ("faultCode", f.code.into()),
                    ("faultString", f.message.into()),
                ]),
            };
            m.size += weight(&v);
            m.results.push(v);
            m.next += 1;
            if Instant::now() >= until {
                return;
            }
        }
    }

    /// One call of a multicall, answered now.
    fn call_now(&mut self, method: &str, params: &[Value], now: Instant) -> Result<Value, Fault> {
        match self.call(method, params, None, now) {
            Answer::Now(r) => r,
            // Nothing waits without a connection (see `rpc_process`).
            Answer::Later(_) | Answer::Paused | Answer::Doc(_) => Err(fail(
                fault::FAILED,
                "this call cannot wait inside a multicall",
            )),
        }
    }

    fn pause_multi(&mut self, conn: ConnId, m: Multi) {
        let what = format!(
            "xml-rpc system.multicall: {} calls made, {} left for the next pass",
            m.results.len(),
            m.calls.len() - m.next
        );
        self.sup.log.debug(&what);
        self.rpc_calls.multi.push((conn, m));
        self.http.resume_at = Some(Instant::now());
    }

    /// Goes on with the paused multicalls for one [`SLICE`] between them
    /// (at the end of a pass); a finished one is answered once the state
    /// file has its changes.
    pub(in crate::core::event_loop) fn rpc_resume(&mut self) {
        self.http.resume_at = None;
        if self.rpc_calls.multi.is_empty() {
            return;
        }
        let until = Instant::now() + SLICE;
        for (conn, mut m) in std::mem::take(&mut self.rpc_calls.multi) {
            // A client gone meanwhile: no more of its calls (a dead one's
            // multicall is forgotten, and logged, with the connection at
            // the end of this pass).
            match self.http.conns.get(&conn) {
                None => continue,
                Some(c) if c.dead => {
                    self.rpc_calls.multi.push((conn, m));
                    continue;
                }
                Some(_) => {}
            }
            if Instant::now() >= until {
                self.rpc_calls.multi.push((conn, m));
                self.http.resume_at = Some(Instant::now());
                continue;
            }
            let calls = std::mem::take(&mut m.calls);
            self.multi_step(&mut m, &calls, until, Instant::now());
            if m.next < calls.len() {
                m.calls = calls;
                self.rpc_calls.multi.push((conn, m));
                self.http.resume_at = Some(Instant::now());
                continue;
            }
            let _ = self.sup.persist(Instant::now());
            let xml = self.encode("system.multicall", Ok(Value::Array(m.results)));
            self.http_reply(conn, xml);
        }
    }
}

/// About the size of `v` as XML: its text plus each value's tags.
fn weight(v: &Value) -> usize {
    40 + match v {
        Value::Str(s) | Value::DateTime(s) | Value::Base64(s) | Value::Xml(s) => s.len(),
        Value::Array(a) => a.iter().map(weight).sum(),
        Value::Struct(m) => m.iter().map(|(k, v)| 30 + k.len() + weight(v)).sum(),
        _ => 20,
    }
}
