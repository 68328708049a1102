//! `sv wait TARGET... [--for running|stopped|completed] [--timeout SECS]`
//! (SPEC §12), for scripts and container entrypoints: exit 0 once every
//! target meets the condition; 1 as soon as one cannot (the daemon names
//! it) or when the timeout passes (we name what was still awaited); 3 when
//! the instance cannot be reached. The daemon answers when it is decided;
//! the timeout is ours, so a wait that ends here costs the daemon nothing.

use super::cli::{instance, parse};
use super::client;
use super::exit::{self, Stop};
use super::timeout;
use crate::wire::{List, Request, Response, ServiceInfo, Text, WaitFor, WaitSpec};
use argh::FromArgs;
use std::ffi::OsString;
use std::time::{Duration, Instant};

/// Wait until services reach a state.
#[derive(FromArgs)]
struct WaitArgs {
    /// running (default), stopped or completed (exited with an expected code)
    #[argh(option, long = "for")]
    until: Option<String>,
    /// give up after SECS seconds (exit 1); default: wait as long as it takes
    #[argh(option)]
    timeout: Option<String>,
    /// instance number, 0 to 99 (default $SV_INSTANCE, else 0)
    #[argh(option, short = 'i')]
    instance: Option<String>,
    /// services: names, pids, PROGRAM:* or all
    #[argh(positional)]
    targets: Vec<String>,
}

pub fn main(args: Vec<OsString>) -> exit::Result {
    let a: WaitArgs = parse(&args)?;
    let usage = |why: &str| Stop::usage("wait", why);
    let n = instance(a.instance.as_deref()).map_err(|e| usage(&e))?;
    let until = match a.until.as_deref() {
        None | Some("running") => WaitFor::Running,
        Some("stopped") => WaitFor::Stopped,
        Some("completed") => WaitFor::Completed,
        Some(other) => {
            return Err(usage(&format!(
                "--for '{other}' must be running, stopped or completed"
            )))
        }
    };
    let limit = a
        .timeout
        .as_deref()
        .map(parse_secs)
        .transpose()
        .map_err(|e| usage(&e))?;
    if a.targets.is_empty() {
        return Err(usage(
            "name at least one TARGET (a name, a pid, PROGRAM:* or all)",
        ));
    }
    let deadline = limit.map(|d| Instant::now() + d);
    let targets: List<Text> = a.targets.iter().map(|t| Text::from(t.as_str())).collect();
    let req = Request::Wait(WaitSpec {
        targets: targets.clone(),
        until,
    });
    let mut conn = client::connect(n)?;
    match timeout::ask_until(&mut conn, n, &req, deadline)? {
        Some(Response::Ok(_)) => Ok(()),
        Some(Response::Error(why)) => Err(Stop::failed(format!("sv wait: {why}"))),
        Some(other) => Err(Stop::failed(format!(
            "sv wait: unexpected answer from supervisor {n}: {other:?}"
        ))),
        None => {
            // Hanging up ends the daemon's side of the wait.
            drop(conn);
            let secs = a.timeout.as_deref().unwrap_or_default().trim();
            Err(Stop::failed(format!(
                "sv wait: timed out after {secs} s waiting for {}",
                awaited(n, &a.targets, targets, until)
            )))
        }
    }
}

/// `--timeout`: seconds, fractions allowed.
fn parse_secs(v: &str) -> Result<Duration, String> {
    match v.trim().parse::<f64>() {
        Ok(s) if s.is_finite() && (0.0..1e9).contains(&s) => Ok(Duration::from_secs_f64(s)),
        _ => Err(format!("--timeout '{v}' is not a number of seconds")),
    }
}

/// What was still awaited at the timeout: `web (STARTING), db (BACKOFF)`,
/// from a status asked now; the targets as named if that fails.
fn awaited(n: u8, named: &[String], targets: List<Text>, until: WaitFor) -> String {
    let rows = match client::call(n, &Request::Status(targets)) {
        Ok(Response::Status(rows)) => rows.0,
        _ => return named.join(", "),
    };
    let open: Vec<String> = rows
        .iter()
        .filter(|r| !meets(r, until))
        .map(|r| format!("{} ({})", r.name, r.state))
        .collect();
    if open.is_empty() {
        // Met just now, after the deadline: say what was asked about.
        return rows
            .iter()
            .map(|r| format!("{} ({})", r.name, r.state))
            .collect::<Vec<_>>()
            .join(", ");
    }
    open.join(", ")
}

/// Whether a row meets the condition, as far as the client can tell (an
/// EXITED one that did not complete was answered by the daemon already).
fn meets(row: &ServiceInfo, until: WaitFor) -> bool {
    let state = row.state.0.as_str();
    match until {
        WaitFor::Running => state == "RUNNING",
        WaitFor::Stopped => matches!(state, "STOPPED" | "EXITED" | "FATAL"),
        WaitFor::Completed => state == "EXITED",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_parse() {
        assert_eq!(parse_secs("5"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_secs(" 0.5 "), Ok(Duration::from_millis(500)));
        assert_eq!(parse_secs("0"), Ok(Duration::ZERO));
        for bad in ["-1", "soon", "inf", "NaN", "1e10", ""] {
            assert!(parse_secs(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rows_meet_conditions() {
        let row = |state: &str| ServiceInfo {
            name: "web".into(),
            state: state.into(),
            ..Default::default()
        };
        assert!(meets(&row("RUNNING"), WaitFor::Running));
        assert!(!meets(&row("STARTING"), WaitFor::Running));
        assert!(meets(&row("FATAL"), WaitFor::Stopped));
        assert!(!meets(&row("STOPPING"), WaitFor::Stopped));
        assert!(meets(&row("EXITED"), WaitFor::Completed));
        assert!(!meets(&row("RUNNING"), WaitFor::Completed));
    }
}
