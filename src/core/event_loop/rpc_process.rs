//! `/RPC2`'s process methods: start, stop and signal (one process, a
//! group, all), the process info, and stdin. Names are supervisord's
//! (`group:name`, `name` for a plain program, `group:*`), and so are the
//! answers: True or a fault for one process, an array of {name, group,
//! status, description} for a group or all, with supervisord's fault codes
//! (rpcinterface.py).
//!
//! Acting goes through the control socket's own request (`Request::Act`
//! via `Daemon::handle`), so a start here is logged, saved and waited for
//! exactly as `sv start` is. A call that waits is answered from its
//! request's outcomes (`finish`). With `wait=false`, or inside a
//! multicall, the request is made for connection 0, which no client has
//! (as a reload's quiet restarts are), and the call answers at once from
//! what is known then.

use super::rpc::{arity, fail, flag, text, Answer};
use super::Daemon;
use crate::core::rpc::{command, info, names};
use crate::core::service::{Reason, State};
use crate::core::supervisor::{ConnId, Id, Service};
use crate::wire::xmlrpc::codes::fault;
use crate::wire::xmlrpc::write as xml;
use crate::wire::xmlrpc::{Fault, Value};
use crate::wire::{Action, Request, Response, Text};
use std::time::{Duration, Instant};

/// What a call does to its processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Start,
    Stop,
    Signal(i32),
}

impl Kind {
    fn action(self) -> Action {
        match self {
            Kind::Start => Action::Start,
            Kind::Stop => Action::Stop,
            Kind::Signal(sig) => Action::Signal(sig),
        }
    }
}

/// A process a call acts on.
struct Proc {
    id: Id,
    /// The name its outcome line carries (`Service::shown`).
    shown: String,
    /// supervisord's names for it.
    name: String,
    group: String,
}

impl Proc {
    fn of(svc: &Service) -> Proc {
        Proc {
            id: svc.id,
            shown: svc.shown(),
            name: svc.spec.name.clone(),
            group: names::group_of(svc).to_string(),
        }
    }

    /// Its namespec, as a group method's faults name it.
    fn namespec(&self) -> String {
        names::join(&self.group, &self.name)
    }
}

/// One entry of a group's answer: known, or waiting for its outcome.
enum Slot {
    Done(Value),
    Waiting(Proc),
}

/// A call under way: what it does, and to which processes.
pub(super) struct Pending {
    method: String,
    kind: Kind,
    /// A one-process method (True or a fault), with the name it was given;
    /// None for a group or all (an array of results).
    one: Option<String>,
    slots: Vec<Slot>,
}

impl Pending {
    pub(super) fn method(&self) -> &str {
        &self.method
    }
}

/// What a method acts on: `xProcess`, `xProcessGroup`, `xAllProcesses`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    One,
    Group,
    All,
}

/// What a name given to a method stands for.
enum Target {
    One(Id),
    Group(Vec<Id>),
}

impl Daemon {
    /// Serves the process methods; None for a name that is not one.
    pub(super) fn process_method(
        &mut self,
        method: &str,
        params: &[Value],
        conn: Option<ConnId>,
        now: Instant,
    ) -> Option<Answer> {
        let kind = match method {
            "supervisor.startProcess"
            | "supervisor.startProcessGroup"
            | "supervisor.startAllProcesses" => Kind::Start,
            "supervisor.stopProcess"
            | "supervisor.stopProcessGroup"
            | "supervisor.stopAllProcesses" => Kind::Stop,
            "supervisor.signalProcess"
            | "supervisor.signalProcessGroup"
            | "supervisor.signalAllProcesses" => Kind::Signal(0),
            "supervisor.getProcessInfo" => {
                return Some(Answer::Now(self.process_info(params, now)))
            }
            "supervisor.getAllProcessInfo" => {
                return Some(match arity(params, 0, 0) {
                    Err(f) => Answer::Now(Err(f)),
                    // Asked by itself: the whole document, written in place.
                    Ok(()) if conn.is_some() => Answer::Doc(self.all_process_info(now, true)),
                    Ok(()) => Answer::Now(Ok(Value::Xml(self.all_process_info(now, false)))),
                });
            }
            "supervisor.sendProcessStdin" => return Some(Answer::Now(self.send_stdin(params))),
            _ => return None,
        };
        let scope = if method.ends_with("ProcessGroup") {
            Scope::Group
        } else if method.ends_with("AllProcesses") {
            Scope::All
        } else {
            Scope::One
        };
        Some(
            match self.act_call(method, kind, scope, params, conn, now) {
                Ok(a) => a,
                Err(f) => Answer::Now(Err(f)),
            },
        )
    }

    /// The start, stop and signal methods.
    fn act_call(
        &mut self,
        method: &str,
        kind: Kind,
        scope: Scope,
        params: &[Value],
        conn: Option<ConnId>,
        now: Instant,
    ) -> Result<Answer, Fault> {
        let signal = matches!(kind, Kind::Signal(_));
        // (name?, wait or signal)
        let named = scope != Scope::All;
        let (min, max) = match (named, signal) {
            (true, true) => (2, 2),
            (true, false) => (1, 2),
            (false, true) => (1, 1),
            (false, false) => (0, 1),
        };
        arity(params, min, max)?;
        let name = if named { Some(text(params, 0)?) } else { None };
        let rest = usize::from(named);
        let (wait, kind, bad_signal) = if signal {
            let given = match &params[rest] {
                Value::Str(s) => s.clone(),
                Value::Int(i) => i.to_string(),
                _ => {
                    return Err(fail(
                        fault::INCORRECT_PARAMETERS,
                        "the signal must be a name or a number",
                    ))
                }
            };
            match crate::core::spec::parse_signal(given.trim()) {
                Ok(sig) => (false, Kind::Signal(sig), None),
                Err(_) => (false, kind, Some(given)),
            }
        } else {
            (flag(params, rest, true)?, kind, None)
        };
        let target = match (scope, name) {
            (Scope::One, Some(n)) => self.target(n)?,
            (_, Some(n)) => Target::Group(self.group(n).ok_or_else(|| fail(fault::BAD_NAME, n))?),
            (_, None) => Target::Group(self.everything()),
        };
        if kind == Kind::Stop {
            let ids = match &target {
                Target::One(id) => std::slice::from_ref(id),
                Target::Group(ids) => ids.as_slice(),
            };
            for &id in ids {
                self.sup.stop_left_behind(id, now);
            }
        }
        let pending = match target {
            Target::One(id) => {
                let asked = name.unwrap_or_default();
                if let Some(sig) = &bad_signal {
                    return Err(fail(fault::BAD_SIGNAL, sig));
                }
                self.one(method, kind, asked, id)?
            }
            Target::Group(ids) => self.many(method, kind, ids, bad_signal.as_deref()),
        };
        Ok(self.launch(pending, wait || signal, conn, now))
    }

    /// A call on one process, once the state allows it (supervisord's
    /// checks: ALREADY_STARTED, NOT_RUNNING).
    fn one(&self, method: &str, kind: Kind, asked: &str, id: Id) -> Result<Pending, Fault> {
        let svc = self
            .sup
            .service(id)
            .ok_or_else(|| fail(fault::BAD_NAME, asked))?;
        let state = rpc_state(&self.sup, id, svc.machine.state);
        match kind {
            Kind::Start if info::is_running(state) => {
                return Err(fail(fault::ALREADY_STARTED, asked))
            }
            Kind::Start => command::check(&svc.spec)?,
            Kind::Stop if !info::is_running(state) => return Err(fail(fault::NOT_RUNNING, asked)),
            Kind::Signal(_) if !info::is_signallable(state) => {
                return Err(fail(fault::NOT_RUNNING, asked))
            }
            _ => {}
        }
        Ok(Pending {
            method: method.to_string(),
            kind,
            one: Some(asked.to_string()),
            slots: vec![Slot::Waiting(Proc::of(svc))],
        })
    }

    /// A call on a group or on all: the processes it applies to (not
    /// running for start, running for stop, signallable for signal), as
    /// supervisord's `make_allfunc` picks them; a bad signal is each one's
    /// BAD_SIGNAL.
    fn many(&self, method: &str, kind: Kind, ids: Vec<Id>, bad_signal: Option<&str>) -> Pending {
        let slots = ids
            .into_iter()
            .filter_map(|id| self.sup.service(id))
            .filter(|s| {
                let state = rpc_state(&self.sup, s.id, s.machine.state);
                match kind {
                    Kind::Start => !info::is_running(state),
                    Kind::Stop => info::is_running(state),
                    Kind::Signal(_) => info::is_signallable(state),
                }
            })
            .map(|s| {
                let p = Proc::of(s);
                let refused = match (kind, bad_signal) {
                    (Kind::Signal(_), Some(sig)) => Some(fail(fault::BAD_SIGNAL, sig)),
                    (Kind::Start, _) => command::check(&s.spec).err(),
                    _ => None,
                };
                match refused {
                    Some(f) => Slot::Done(entry(&p, &f)),
                    None => Slot::Waiting(p),
                }
            })
            .collect();
        Pending {
            method: method.to_string(),
            kind,
            one: None,
            slots,
        }
    }

    /// Makes the request for what `pending` waits on: answered by its
    /// waiter when `wait` and a connection can wait, else now.
    fn launch(
        &mut self,
        pending: Pending,
        wait: bool,
        conn: Option<ConnId>,
        now: Instant,
    ) -> Answer {
        let targets: Vec<Text> = pending
            .slots
            .iter()
            .filter_map(|s| match s {
                Slot::Waiting(p) => Some(p.name.as_str().into()),
                Slot::Done(_) => None,
            })
            .collect();
        if targets.is_empty() {
            return Answer::Now(Ok(results(pending.slots, |_| Value::Nil)));
        }
        let req = Request::Act(pending.kind.action(), targets.into());
        match conn.filter(|_| wait) {
            Some(conn) => {
                self.sup.answer_first_failure = true;
                let answer = self.handle(conn, req, now);
                self.sup.answer_first_failure = false;
                match answer {
                    None => Answer::Later(pending),
                    Some(resp) => Answer::Now(self.finish(pending, resp)),
                }
            }
            None => {
                if let Some(resp) = self.handle(0, req, now) {
                    return Answer::Now(self.finish(pending, resp));
                }
                let r = self.settled_now(pending);
                Answer::Now(self.durable(r))
            }
        }
    }

    /// The answer of a call that does not wait: what is known now (a
    /// start whose spawn failed at once says so).
    fn settled_now(&self, pending: Pending) -> Result<Value, Fault> {
        let kind = pending.kind;
        let one = pending.one.clone();
        let judge = |p: &Proc| match kind {
            Kind::Start => self.spawn_fault(p.id, &asked_of(&one, p)),
            Kind::Stop | Kind::Signal(_) => None,
        };
        match one {
            Some(_) => match pending.slots.first() {
                Some(Slot::Waiting(p)) => judge(p).map_or(Ok(true.into()), Err),
                _ => Ok(true.into()),
            },
            None => Ok(results(pending.slots, |p| {
                let f = judge(p).unwrap_or_else(success);
                entry(p, &f)
            })),
        }
    }

    /// The answer of a call from its request's answer.
    pub(super) fn finish(&mut self, pending: Pending, resp: Response) -> Result<Value, Fault> {
        let outcomes = match resp {
            Response::Outcomes(o) | Response::OutcomesPart(o) => o,
            Response::Error(e) => return Err(fail(fault::FAILED, &e)),
            _ => return Err(fail(fault::FAILED, "unexpected answer to the request")),
        };
        let kind = pending.kind;
        // By name: `start all` of 10 000 programs has as many outcomes.
        let by_name: std::collections::HashMap<&str, &crate::wire::Outcome> =
            outcomes.iter().map(|o| (o.name.0.as_str(), o)).collect();
        let verdict = |p: &Proc, asked: &str| -> Fault {
            match by_name.get(p.shown.as_str()) {
                Some(o) if o.ok => success(),
                Some(o) => self.failure(kind, p.id, asked, &o.message),
                None => fail(fault::FAILED, &format!("{asked}: no outcome")),
            }
        };
        match &pending.one {
            Some(asked) => match pending.slots.first() {
                Some(Slot::Waiting(p)) => {
                    let f = verdict(p, asked);
                    if f.code == fault::SUCCESS {
                        Ok(true.into())
                    } else {
                        Err(f)
                    }
                }
                _ => Ok(true.into()),
            },
            None => Ok(results(pending.slots, |p| {
                entry(p, &verdict(p, &p.namespec()))
            })),
        }
    }

    /// The fault of an outcome that is not ok (`ERROR (why)`), in
    /// supervisord's codes, which supervisorctl maps to its messages.
    fn failure(&self, kind: Kind, id: Id, asked: &str, message: &str) -> Fault {
        let why = message
            .strip_prefix("ERROR (")
            .and_then(|m| m.strip_suffix(')'))
            .unwrap_or(message);
        match kind {
            Kind::Start if why == "already started" => fail(fault::ALREADY_STARTED, asked),
            Kind::Start => self.spawn_fault(id, asked).unwrap_or_else(|| {
                let fatal = self
                    .sup
                    .service(id)
                    .is_some_and(|s| s.machine.state == State::Fatal);
                if why.starts_with("adopted") {
                    fail(fault::SPAWN_ERROR, &format!("{asked} ({why})"))
                } else if fatal {
                    // Gave up after exiting too quickly: supervisord's
                    // spawnerr is set then, and it answers SPAWN_ERROR.
                    fail(fault::SPAWN_ERROR, asked)
                } else {
                    fail(fault::ABNORMAL_TERMINATION, asked)
                }
            }),
            Kind::Stop | Kind::Signal(_) if why == "not running" => fail(fault::NOT_RUNNING, asked),
            Kind::Stop | Kind::Signal(_) => fail(fault::FAILED, &format!("{asked}: {why}")),
        }
    }

    /// The fault of a process whose spawn failed: NO_FILE or
    /// NOT_EXECUTABLE as supervisord checks before spawning, else
    /// SPAWN_ERROR; None when its spawn did not fail.
    fn spawn_fault(&self, id: Id, asked: &str) -> Option<Fault> {
        let svc = self.sup.service(id)?;
        match (&svc.machine.state, &svc.machine.reason) {
            (State::Fatal, Reason::SpawnError(e)) => Some(command::spawn_fault(e, asked)),
            _ => None,
        }
    }

    // ------------------------------------------------------------ names

    /// A namespec: one process, or a group's (`group:*`); BAD_NAME for
    /// one that names nothing.
    fn target(&self, namespec: &str) -> Result<Target, Fault> {
        let (group, name) = names::split(namespec);
        match name {
            Some(name) => self
                .process(group, name)
                .map(Target::One)
                .ok_or_else(|| fail(fault::BAD_NAME, namespec)),
            None => self
                .group(group)
                .map(Target::Group)
                .ok_or_else(|| fail(fault::BAD_NAME, namespec)),
        }
    }

    /// The process `name` of `group` (names are unique in sv).
    pub(super) fn process(&self, group: &str, name: &str) -> Option<Id> {
        let id = self.sup.id_by_name(name)?;
        let svc = self.sup.service(id)?;
        names::is(svc, group, name).then_some(id)
    }

    /// The members of a group by priority, then name; None if it has none.
    fn group(&self, group: &str) -> Option<Vec<Id>> {
        let ids = self.ordered(|s| names::group_of(s) == group);
        (!ids.is_empty()).then_some(ids)
    }

    /// Every process, by priority, then group and name (as supervisord
    /// orders them for the `All` methods).
    fn everything(&self) -> Vec<Id> {
        self.ordered(|_| true)
    }

    fn ordered(&self, pick: impl Fn(&Service) -> bool) -> Vec<Id> {
        let mut keyed: Vec<(i32, &str, &str, Id)> = self
            .sup
            .services()
            .filter(|s| pick(s))
            .map(|s| {
                (
                    s.spec.rank(),
                    names::group_of(s),
                    s.spec.name.as_str(),
                    s.id,
                )
            })
            .collect();
        keyed.sort_unstable();
        keyed.into_iter().map(|k| k.3).collect()
    }

    // ------------------------------------------------------------- info

    /// `getProcessInfo(name)`.
    fn process_info(&self, params: &[Value], now: Instant) -> Result<Value, Fault> {
        arity(params, 1, 1)?;
        let name = text(params, 0)?;
        match self.target(name)? {
            Target::One(id) => self
                .sup
                .service(id)
                .map(|svc| info::value(&self.facts(svc, now, info::wall_now())))
                .ok_or_else(|| fail(fault::BAD_NAME, name)),
            Target::Group(_) => Err(fail(fault::BAD_NAME, name)),
        }
    }

    /// `getAllProcessInfo()`: every process, by group then name, each
    /// struct written straight into one buffer (kept from the last call):
    /// the answer's whole document when `doc`, else the value alone.
    fn all_process_info(&mut self, now: Instant, doc: bool) -> String {
        let wall = info::wall_now();
        // The key type of `ordered`, with no priority: its sort's code,
        // not another copy in the binary.
        let mut all: Vec<(i32, &str, &str, Id)> = (self.sup.services())
            .map(|s| (0, names::group_of(s), s.spec.name.as_str(), s.id))
            .collect();
        all.sort_unstable();
        let mut out = match doc {
            // An empty buffer is valid UTF-8.
            true => String::from_utf8(self.rpc_calls.take_doc()).unwrap_or_default(),
            false => self.rpc_calls.take_text(),
        };
        out.reserve(all.len() * 1300 + 160);
        if doc {
            xml::response_open(&mut out);
        }
        xml::lit(&mut out, b"<value><array><data>\n");
        for svc in all.into_iter().filter_map(|k| self.sup.service(k.3)) {
            info::write(&mut out, &self.facts(svc, now, wall));
        }
        xml::lit(&mut out, b"</data></array></value>\n");
        if doc {
            xml::response_close(&mut out);
        }
        out
    }

    fn facts<'a>(&self, svc: &'a Service, now: Instant, wall: Duration) -> info::Facts<'a> {
        // sv's own detail says why it waits (`starts in 3 s`).
        let pending = if svc.machine.state == State::Pending {
            self.sup
                .info(svc.id, now)
                .map(|i| i.detail.0)
                .unwrap_or_default()
        } else {
            String::new()
        };
        info::Facts::of(svc, now, wall, pending)
    }

    /// `sendProcessStdin(name, chars)`: sv's children read /dev/null
    /// (SPEC §6), so there is nothing to write to: NOT_RUNNING without a
    /// process, as supervisord; NO_FILE with one, as supervisord says of a
    /// stdin that is closed.
    fn send_stdin(&self, params: &[Value]) -> Result<Value, Fault> {
        arity(params, 2, 2)?;
        let name = text(params, 0)?;
        if !matches!(params[1], Value::Str(_) | Value::Base64(_)) {
            return Err(fail(fault::INCORRECT_PARAMETERS, "chars must be a string"));
        }
        let Target::One(id) = self.target(name)? else {
            return Err(fail(fault::BAD_NAME, name));
        };
        let running = self
            .sup
            .service(id)
            .is_some_and(|s| s.machine.pid.is_some() && s.machine.state != State::Stopping);
        if !running {
            return Err(fail(fault::NOT_RUNNING, name));
        }
        Err(fail(
            fault::NO_FILE,
            &format!(
                "{name}: sv gives its processes /dev/null as stdin, so nothing can be sent to it"
            ),
        ))
    }
}

/// The name a one-process call was given, else the process's namespec.
fn asked_of(one: &Option<String>, p: &Proc) -> String {
    one.clone().unwrap_or_else(|| p.namespec())
}

/// The `SUCCESS` of a group method's entry.
fn success() -> Fault {
    Fault {
        code: fault::SUCCESS,
        message: "OK".into(),
    }
}

/// A group method's entry for `p`.
fn entry(p: &Proc, f: &Fault) -> Value {
    info::result(&p.name, &p.group, f.code, &f.message)
}

/// The entries of a group method, the waiting ones decided by `decide`.
fn results(slots: Vec<Slot>, decide: impl Fn(&Proc) -> Value) -> Value {
    Value::Array(
        slots
            .iter()
            .map(|s| match s {
                Slot::Done(v) => v.clone(),
                Slot::Waiting(p) => decide(p),
            })
            .collect(),
    )
}

/// A scheduled service between runs (SPEC §17) is not running for
/// `startProcess` (it runs now) nor for `stopProcess` (NOT_RUNNING).
fn rpc_state(sup: &crate::core::supervisor::Supervisor, id: Id, state: State) -> State {
    if sup.between_runs(id) {
        State::Stopped
    } else {
        state
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_entries_keep_their_order_and_decide_the_waiting() {
        let p = |n: &str| Proc {
            id: 1,
            shown: n.into(),
            name: n.into(),
            group: "g".into(),
        };
        let bad = entry(&p("a"), &fail(fault::BAD_SIGNAL, "FOO"));
        let slots = vec![Slot::Done(bad.clone()), Slot::Waiting(p("b"))];
        let v = results(slots, |p| entry(p, &success()));
        let Value::Array(items) = v else { panic!() };
        assert_eq!(items[0], bad);
        assert_eq!(items[1].get("name"), Some(&Value::from("b")));
        assert_eq!(items[1].get("group"), Some(&Value::from("g")));
        assert_eq!(items[1].get("status"), Some(&Value::Int(80)));
        assert_eq!(items[1].get("description"), Some(&Value::from("OK")));
        assert_eq!(p("b").namespec(), "g:b");
    }
}
