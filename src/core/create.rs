//! `create-service`: an ad hoc service from a command line (SPEC §4.1, §11).

use super::names;
use super::service::{Event, State};
use super::spec::spec_from;
use super::state_file::Origin;
use super::supervisor::{ConnId, Supervisor};
use crate::wire::{CreateSpec, Response};
use std::path::Path;
use std::time::{Duration, Instant};

/// [`create`], answered as done only once the new service is in the state
/// file: if it cannot be written, the service is removed again (its
/// process stopped) and the answer says why, so no answer promises a
/// service that a crash of the daemon would lose.
pub fn create_durably(sup: &mut Supervisor, req: CreateSpec, now: Instant) -> Response {
    durably(sup, req, now).0
}

/// [`create_durably`], and the id of the service when it was kept.
fn durably(sup: &mut Supervisor, req: CreateSpec, now: Instant) -> (Response, Option<u64>) {
    let (resp, id) = create(sup, req, now);
    let (Some(id), Response::Ok(_)) = (id, &resp) else {
        return (resp, None);
    };
    match sup.persist(now) {
        Ok(()) => (resp, Some(id)),
        Err(why) => {
            let name = sup.service_mut(id).map(|s| s.spec.name.clone());
            sup.apply(id, Event::Remove, now);
            let resp = Response::Error(
                format!(
                    "{}: not created: the state cannot be saved ({why}), and a service \
                     the daemon would forget if it died is not kept",
                    name.unwrap_or_default()
                )
                .into(),
            );
            (resp, None)
        }
    }
}

/// `create-service` that answers once the service is RUNNING (past
/// startsecs) or has failed, as `start` does: None when a waiter answers
/// `conn` later. A delayed or stopped one is answered at once.
pub fn create_waiting(
    sup: &mut Supervisor,
    conn: ConnId,
    req: CreateSpec,
    now: Instant,
) -> Option<Response> {
    let at_once = req.stopped || req.delay_secs.is_some_and(|s| s > 0);
    match durably(sup, req, now) {
        // A scheduled one runs at its times (SPEC §17): answered at once.
        (Response::Ok(_), Some(id)) if !at_once && !sup.scheduled(id) => {
            sup.wait_started(conn, id);
            None
        }
        (resp, _) => Some(resp),
    }
}

/// Registers the service and starts it (now, later, or not at all); the
/// id of the service when one was made.
pub fn create(sup: &mut Supervisor, req: CreateSpec, now: Instant) -> (Response, Option<u64>) {
    if sup.closing() {
        return (Response::Error(sup.closing_error().into()), None);
    }
    match register(sup, req) {
        Ok((id, name, req)) => (start(sup, id, &name, &req, now), Some(id)),
        Err(e) => (Response::Error(e.into()), None),
    }
}

/// Checks the request and adds the service, STOPPED.
fn register(
    sup: &mut Supervisor,
    mut req: CreateSpec,
) -> Result<(u64, String, CreateSpec), String> {
    let Some(program) = req
        .argv
        .first()
        .filter(|p| !p.is_empty())
        .map(|p| p.0.clone())
    else {
        return Err("create-service needs a program to run".into());
    };
    let name = match &req.name {
        Some(n) => {
            names::check(n).map_err(|why| format!("--name: {why}"))?;
            if sup.name_taken(n) {
                return Err(format!("a service named {n} already exists"));
            }
            n.0.clone()
        }
        None => {
            let base = Path::new(&program)
                .file_name()
                .and_then(|b| names::from_found(&b.to_string_lossy()))
                .unwrap_or_else(|| "service".to_string());
            sup.free_name(&base)
        }
    };
    req.name = Some(name.clone().into());
    let spec = spec_from(&req)?;
    sup.check_deps(&spec)?;
    if let Some(secs) = req.delay_secs.filter(|s| *s > super::spec::MAX_SECS) {
        return Err(format!(
            "-c {secs}: a start more than a year away is refused"
        ));
    }
    let id = sup.add(spec);
    if let Some(svc) = sup.service_mut(id) {
        svc.origin = Origin::AdHoc(req.clone());
    }
    Ok((id, name, req))
}

/// Starts a service just registered: now, later, or not at all.
fn start(sup: &mut Supervisor, id: u64, name: &str, req: &CreateSpec, now: Instant) -> Response {
    if req.stopped {
        return Response::Ok(format!("{name}: created").into());
    }
    if sup.scheduled(id) {
        // Armed when added: PENDING until its first due time.
        let detail = sup.info(id, now).map(|i| i.detail.0).unwrap_or_default();
        return Response::Ok(format!("{name}: pending, {detail}").into());
    }
    if let Some(secs) = req.delay_secs.filter(|s| *s > 0) {
        sup.apply(id, Event::StartAt(now + Duration::from_secs(secs)), now);
        return Response::Ok(format!("{name}: pending, starts in {secs} s").into());
    }
    sup.apply(id, Event::Start, now);
    match sup.info(id, now) {
        Some(info) if info.state.0 == State::Fatal.name() => {
            Response::Error(format!("{name}: {}", info.detail).into())
        }
        // Up for startsecs=0; else `create-service --no-wait` (or a
        // client that does not wait) learns it is on its way.
        Some(info) if info.state.0 == State::Running.name() => {
            Response::Ok(format!("{name}: started, pid {}", info.pid).into())
        }
        // Held by `depends_on`: says what for.
        Some(info) if info.state.0 == State::Pending.name() => {
            Response::Ok(format!("{name}: pending, {}", info.detail).into())
        }
        Some(info) => Response::Ok(format!("{name}: starting, pid {}", info.pid).into()),
        None => Response::Error(format!("{name}: removed while starting").into()),
    }
}
