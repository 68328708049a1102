//! The client commands that act on services or the daemon: parse, send one
//! request, print the answer as text or JSON, and map it to an exit code.

use super::client;
use super::exit::{self, Exit, Stop};
use super::print_stdout;
use crate::core::clock::clock;
use crate::core::paths;
use crate::core::spec::parse_signal;
use crate::wire::{Action, AdoptSpec, List, Request, Response, ServiceInfo, Text};
use argh::FromArgs;
use nanoserde::SerJson;
use std::ffi::OsString;

/// Act on services of a supervisor instance.
#[derive(FromArgs)]
struct TargetArgs {
    /// instance number, 0 to 99 (default $SV_INSTANCE, else 0)
    #[argh(option, short = 'i')]
    instance: Option<String>,
    /// print one JSON document instead of the table
    #[argh(switch)]
    json: bool,
    /// adopted service's name (open-service)
    #[argh(option)]
    name: Option<String>,
    /// services: names, pids, PROGRAM:* or all
    #[argh(positional)]
    targets: Vec<String>,
}

/// Parses `args` (`args[0]` is the command) with argh; `--help` stops it
/// too, with the text to show.
pub fn parse<T: FromArgs>(args: &[OsString]) -> Result<T, Stop> {
    let name = args[0].to_string_lossy().into_owned();
    let mut strs = Vec::new();
    for a in &args[1..] {
        match a.to_str() {
            Some(s) => strs.push(s),
            None => return Err(Stop::usage(&name, &format!("argument {a:?} is not UTF-8"))),
        }
    }
    T::from_args(&[&name], &strs).map_err(|e| match e.status {
        Ok(()) => Stop::help(e.output),
        Err(()) => Stop::usage(&name, e.output.trim()),
    })
}

/// `-i N`, else `$SV_INSTANCE`, else 0.
pub fn instance(arg: Option<&str>) -> Result<u8, String> {
    match arg {
        Some(s) => paths::parse_instance(s),
        None => paths::default_instance(),
    }
}

pub fn main(args: Vec<OsString>) -> exit::Result {
    let cmd = args[0].to_string_lossy().into_owned();
    let usage = |why: &str| Err(Stop::usage(&cmd, why));
    let a: TargetArgs = parse(&args)?;
    let n = instance(a.instance.as_deref()).map_err(|e| Stop::usage(&cmd, &e))?;
    let json_ok = matches!(
        cmd.as_str(),
        "status" | "list-supervisor" | "service-status"
    );
    if a.json && !json_ok {
        return usage("--json applies to status, list-supervisor and service-status");
    }
    if a.name.is_some() && cmd != "open-service" {
        return usage("--name applies to open-service and create-service");
    }
    let targets =
        |t: &[String]| -> List<Text> { t.iter().map(|s| Text::from(s.as_str())).collect() };
    let need_targets = !matches!(
        cmd.as_str(),
        "status"
            | "list-supervisor"
            | "close"
            | "quit"
            | "shutdown"
            | "reload"
            | "reread"
            | "update"
            | "avail"
    );
    if need_targets && a.targets.is_empty() {
        return usage("name at least one TARGET (a name, a pid, PROGRAM:* or all)");
    }
    let act = |action| Request::Act(action, targets(&a.targets));
    let req = match cmd.as_str() {
        "close" | "quit" | "shutdown" | "list-supervisor" | "reload" | "reread" | "avail"
            if !a.targets.is_empty() =>
        {
            return usage("takes no TARGET")
        }
        "close" | "quit" | "shutdown" => return close(n),
        "status" | "service-status" => Request::Status(targets(&a.targets)),
        "list-supervisor" => Request::Status(List::default()),
        "reload" => Request::Reload,
        "reread" => Request::Reread,
        "update" => Request::Update(targets(&a.targets)),
        "avail" => Request::Avail,
        "start" => act(Action::Start),
        "stop" | "close-service" => act(Action::Stop),
        "restart" => act(Action::Restart),
        "suspend-service" => act(Action::Suspend),
        "resume-service" => act(Action::Resume),
        "remove-service" | "supervisor-freelist" => act(Action::Remove),
        "supervisor-cancel" => act(Action::Cancel),
        "signal" => {
            let sig = parse_signal(&a.targets[0]).map_err(|e| Stop::usage(&cmd, &e))?;
            if a.targets.len() < 2 {
                return usage("name at least one TARGET after the signal");
            }
            Request::Act(Action::Signal(sig), targets(&a.targets[1..]))
        }
        "open-service" => {
            if a.targets.len() != 1 {
                return usage("give exactly one PID");
            }
            let pid = match a.targets[0].parse::<i32>() {
                Ok(p) if p > 0 => p,
                _ => return usage(&format!("'{}' is not a process id", a.targets[0])),
            };
            Request::Adopt(AdoptSpec {
                pid,
                name: a.name.map(Text::from),
            })
        }
        other => return Err(Stop::usage(other, "is not a command of this applet")),
    };
    match client::call(n, &req)? {
        // One bad name among several: the others are still shown.
        Response::Error(_) if matches!(req, Request::Status(_)) && a.targets.len() > 1 => {
            status_each(n, &cmd, &a.targets, a.json)
        }
        resp => print_response(&cmd, resp, a.json),
    }
}

/// `status bad good`: asks for each target alone, reports those that fail
/// (stderr) and shows the rows of the others, in the order named; exit 1
/// if any failed.
fn status_each(n: u8, cmd: &str, targets: &[String], json: bool) -> exit::Result {
    let mut rows: Vec<ServiceInfo> = Vec::new();
    let mut code = Exit::Ok;
    for t in targets {
        match client::call(n, &Request::Status(vec![Text::from(t.as_str())].into()))? {
            Response::Status(got) => {
                for r in got.0 {
                    if !rows.iter().any(|seen| seen.name == r.name) {
                        rows.push(r);
                    }
                }
            }
            Response::Error(text) => {
                eprintln!("sv: {text}");
                code = Exit::Failed;
            }
            other => {
                eprintln!("sv: unexpected answer to {cmd} {t}: {other:?}");
                code = Exit::Failed;
            }
        }
    }
    // A table of rows only; it cannot fail.
    let _ = print_response(cmd, Response::Status(rows.into()), json);
    exit::result(code)
}

/// Prints a response the way `cmd` shows it: a refusal, or a failed
/// target among several, ends the command as failed.
pub fn print_response(cmd: &str, resp: Response, json: bool) -> exit::Result {
    match resp {
        Response::Ok(text) => {
            if !text.is_empty() {
                print_stdout(&format!("{text}\n"));
            }
            Ok(())
        }
        Response::Error(text) => {
            if json {
                // Nothing matched: still one JSON array on stdout.
                print_stdout("[]\n");
            }
            Err(Stop::failed(format!("sv: {text}")))
        }
        Response::Outcomes(list) | Response::OutcomesPart(list) => {
            let mut code = Exit::Ok;
            for o in list.iter() {
                if o.ok {
                    print_stdout(&format!("{}: {}\n", o.name, o.message));
                } else {
                    eprintln!("{}: {}", o.name, o.message);
                    code = Exit::Failed;
                }
            }
            exit::result(code)
        }
        Response::Status(rows) | Response::StatusPart(rows) => {
            if json {
                print_stdout(&format!("{}\n", json_rows(&rows)));
            } else if cmd == "service-status" {
                print_stdout(&service_status(&rows));
            } else {
                print_stdout(&status_table(&rows));
            }
            Ok(())
        }
        Response::Info(info) => {
            print_stdout(&format!("{}\n", info.serialize_json()));
            Ok(())
        }
        Response::Bytes(b) => {
            let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), &b);
            Ok(())
        }
    }
}

/// One service in `--json`: what is absent is `null` (no pid, no last
/// exit, no uptime without a process) rather than 0 or "".
#[derive(SerJson)]
#[nserde(serialize_none_as_null)]
struct JsonService<'a> {
    name: &'a str,
    state: &'a str,
    pid: Option<i32>,
    uptime_secs: Option<u64>,
    restarts: u32,
    last_exit: Option<&'a str>,
    detail: &'a str,
    command: &'a str,
    adopted: bool,
}

/// Every listing in `--json` is one shape: an array of services, whatever
/// their number. Converted here, not on the wire, which stays as it is.
pub fn json_rows(rows: &[ServiceInfo]) -> String {
    let list: Vec<JsonService> = rows
        .iter()
        .map(|r| JsonService {
            name: &r.name,
            state: &r.state,
            pid: (r.pid > 0).then_some(r.pid),
            uptime_secs: (r.pid > 0).then_some(r.uptime_secs),
            restarts: r.restarts,
            last_exit: (!r.last_exit.is_empty()).then_some(&*r.last_exit),
            detail: &r.detail,
            command: &r.command,
            adopted: r.adopted,
        })
        .collect();
    list.serialize_json()
}

/// `NAME  STATE  detail` rows in aligned columns, no header (SPEC §11).
pub fn status_table(rows: &[ServiceInfo]) -> String {
    // Characters, as `{:<width$}` pads by characters.
    let width = rows
        .iter()
        .map(|r| r.name.chars().count())
        .max()
        .unwrap_or(0)
        .max(4);
    let mut out = String::new();
    for r in rows {
        let line = format!("{:<width$}  {:<9}  {}", r.name, r.state, r.detail);
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// One block per service: every fact on its own line.
fn service_status(rows: &[ServiceInfo]) -> String {
    let mut out = String::new();
    for (i, r) in rows.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let pid = if r.pid > 0 {
            r.pid.to_string()
        } else {
            "-".into()
        };
        let uptime = if r.pid > 0 {
            clock(r.uptime_secs)
        } else {
            "-".into()
        };
        let last = if r.last_exit.is_empty() {
            "-"
        } else {
            &r.last_exit
        };
        out.push_str(&format!(
            "name:      {}\nstate:     {}\npid:       {pid}\nuptime:    {uptime}\nrestarts:  {}\nlast exit: {last}\ndetail:    {}\ncommand:   {}{}\n",
            r.name,
            r.state,
            r.restarts,
            r.detail,
            r.command,
            if r.adopted { "\nadopted:   yes" } else { "" },
        ));
    }
    out
}

/// `close`: ask the daemon to stop everything and exit, then wait until it
/// has let go of the instance lock.
fn close(n: u8) -> exit::Result {
    let mut stream = client::connect(n)?;
    let resp = client::ask(&mut stream, n, &Request::Shutdown)?;
    if !matches!(resp, Response::Ok(_)) {
        return print_response("close", resp, false);
    }
    wait_unlocked(n);
    print_response("close", resp, false)
}

/// Waits for the daemon to release the instance lock, which happens when
/// it exits. A bounded loop, not a fixed sleep.
fn wait_unlocked(n: u8) {
    let path = paths::InstancePaths::new(n).lock();
    let Ok(f) = std::fs::File::open(&path) else {
        return;
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::time::Instant::now() < deadline {
        if matches!(crate::core::sys::try_lock(&f), Ok(true) | Err(_)) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}
