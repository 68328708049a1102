//! `create-service`: an ad hoc service from a command line (SPEC §4.1, §11).

use super::service::{Event, RestartRule, State};
use super::spec::ServiceSpec;
use super::state_file::Origin;
use super::supervisor::Supervisor;
use crate::wire::{CreateSpec, Response};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Builds the service a `create-service` request describes. The request
/// must name it (create fills the name in first); recovery after a crash
/// rebuilds ad hoc services from their saved requests the same way.
pub fn spec_from(req: &CreateSpec) -> Result<ServiceSpec, String> {
    let argv: Vec<String> = req.argv.iter().map(|a| a.0.clone()).collect();
    if argv.first().is_none_or(|p| p.is_empty()) {
        return Err("create-service needs a program to run".into());
    }
    let name = req.name.as_deref().unwrap_or_default();
    let mut spec = ServiceSpec::new(name, argv);
    if !req.cwd.is_empty() {
        spec.cwd = Some(PathBuf::from(&req.cwd.0));
    }
    if let Some(n) = req.restarts {
        spec.policy.restart = RestartRule::Budget(n);
    }
    for s in req.settings.iter() {
        spec.set(&s.key, &s.value)
            .map_err(|e| format!("--set {}={}: {e}", s.key, s.value))?;
    }
    Ok(spec)
}

/// Registers the service and starts it (now, later, or not at all).
pub fn create(sup: &mut Supervisor, mut req: CreateSpec, now: Instant) -> Response {
    let Some(program) = req
        .argv
        .first()
        .filter(|p| !p.is_empty())
        .map(|p| p.0.clone())
    else {
        return Response::Error("create-service needs a program to run".into());
    };
    let name = match &req.name {
        Some(n) if !valid_name(n) => {
            return Response::Error(
                format!(
                    "service name '{n}' must be non-empty, not 'all' nor a number, \
                     without spaces, ':' or '/'"
                )
                .into(),
            )
        }
        Some(n) if sup.name_taken(n) => {
            return Response::Error(format!("a service named {n} already exists").into())
        }
        Some(n) => n.0.clone(),
        None => {
            let base = Path::new(&program)
                .file_name()
                .map(|b| {
                    b.to_string_lossy()
                        .replace(|c: char| c.is_whitespace() || c == ':', "_")
                })
                .filter(|b| valid_name(b))
                .unwrap_or_else(|| "service".to_string());
            sup.free_name(&base)
        }
    };
    req.name = Some(name.clone().into());
    let spec = match spec_from(&req) {
        Ok(s) => s,
        Err(e) => return Response::Error(e.into()),
    };
    if let Some(secs) = req.delay_secs.filter(|s| *s > super::spec::MAX_SECS) {
        return Response::Error(
            format!("-c {secs}: a start more than a year away is refused").into(),
        );
    }
    let id = sup.add(spec);
    if let Some(svc) = sup.service_mut(id) {
        svc.origin = Origin::AdHoc(req.clone());
    }
    if req.stopped {
        return Response::Ok(format!("{name}: created").into());
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
        Some(info) => Response::Ok(format!("{name}: started, pid {}", info.pid).into()),
        None => Response::Error(format!("{name}: removed while starting").into()),
    }
}

/// A name that can be told apart from the other kinds of TARGET (`all`, a
/// pid, `PROGRAM:*`) and used in a log file name.
pub fn valid_name(n: &str) -> bool {
    !n.is_empty()
        && n != "all"
        && !n.bytes().all(|b| b.is_ascii_digit())
        && !n.contains(|c: char| c.is_whitespace() || c == ':' || c == '/')
}
