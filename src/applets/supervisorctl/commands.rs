//! The process commands of supervisorctl (status, start, stop, restart,
//! signal, pid, clear, tail, maintail, fg), line for line as its
//! `DefaultControllerPlugin` words them and sets the exit status.

use super::output::{self, namespec, num, split_namespec, text};
use super::transport::Error;
use super::{status as st, Ctl, Done, Raise};
use crate::wire::xmlrpc::{codes::fault, Value};

/// STOPPED, EXITED, FATAL, UNKNOWN.
const STOPPED_STATES: &[i64] = &[0, 100, 200, 1000];
const RUNNING: i64 = 20;

/// supervisorctl's `set_exitstatus_from_xmlrpc_fault`.
fn exit_from_fault(ctl: &mut Ctl, code: i64, ignored: Option<i64>) {
    if Some(code) == ignored || code == fault::SUCCESS {
    } else if [
        fault::SPAWN_ERROR,
        fault::ABNORMAL_TERMINATION,
        fault::NOT_RUNNING,
    ]
    .contains(&code)
    {
        ctl.exit = st::NOT_RUNNING;
    } else {
        ctl.exit = st::GENERIC;
    }
}

fn unknown_code(code: i64, name: &str) -> Raise {
    Raise::Py(
        "<class 'ValueError'>",
        format!("Unknown result code {code} for {name}"),
    )
}

/// A result struct (`status`, `group`, `name`, `description`) of a group
/// or all-processes call, or one made from a fault.
struct Outcome {
    code: i64,
    name: String,
    description: String,
}

impl Outcome {
    fn of(v: &Value) -> Outcome {
        Outcome {
            code: num(v, "status"),
            name: namespec(&text(v, "group"), &text(v, "name")),
            description: text(v, "description"),
        }
    }

    /// The fault a call on `spec` raised, named as supervisorctl names it.
    fn of_fault(spec: &str, code: i64, message: &str) -> Outcome {
        let (group, process) = split_namespec(spec);
        Outcome {
            code,
            name: namespec(group, process.unwrap_or("None")),
            description: message.to_string(),
        }
    }
}

fn start_line(r: &Outcome) -> Result<String, Raise> {
    let why = match r.code {
        fault::BAD_NAME => "no such process",
        fault::NO_FILE => "no such file",
        fault::NOT_EXECUTABLE => "file is not executable",
        fault::ALREADY_STARTED => "already started",
        fault::SPAWN_ERROR => "spawn error",
        fault::ABNORMAL_TERMINATION => "abnormal termination",
        fault::SUCCESS => return Ok(format!("{}: started", r.name)),
        c => return Err(unknown_code(c, &r.name)),
    };
    Ok(format!("{}: ERROR ({why})", r.name))
}

fn signal_line(r: &Outcome, success: &str) -> Result<String, Raise> {
    let why = match r.code {
        fault::BAD_NAME => "no such process",
        fault::BAD_SIGNAL => "bad signal name",
        fault::NOT_RUNNING => "not running",
        fault::SUCCESS => return Ok(format!("{}: {success}", r.name)),
        fault::FAILED => return Ok(r.description.clone()),
        c => return Err(unknown_code(c, &r.name)),
    };
    Ok(format!("{}: ERROR ({why})", r.name))
}

fn clear_line(r: &Outcome) -> Result<String, Raise> {
    match r.code {
        fault::BAD_NAME => Ok(format!("{}: ERROR (no such process)", r.name)),
        fault::FAILED => Ok(format!("{}: ERROR (failed)", r.name)),
        fault::SUCCESS => Ok(format!("{}: cleared", r.name)),
        c => Err(unknown_code(c, &r.name)),
    }
}

/// Prints each result of a group or all-processes call.
fn results(
    ctl: &mut Ctl,
    list: Vec<Value>,
    line: fn(&Outcome) -> Result<String, Raise>,
    ignored: Option<i64>,
) -> Done {
    for v in &list {
        let r = Outcome::of(v);
        let l = line(&r)?;
        ctl.out(&l);
        exit_from_fault(ctl, r.code, ignored);
    }
    Ok(())
}

/// A usage error of a command: the message, the status, the help.
fn wrong(ctl: &mut Ctl, msg: &str, exit: u8, help: &str) -> Done {
    ctl.out(msg);
    ctl.exit = exit;
    if let Some(h) = output::help(help) {
        ctl.out(h);
    }
    Ok(())
}

pub fn status(ctl: &mut Ctl, arg: &str) -> Done {
    if !ctl.upcheck()? {
        ctl.exit = st::STATUS_UNKNOWN;
        return Ok(());
    }
    let all = ctl.call_list("getAllProcessInfo", &[])?;
    let names: Vec<&str> = arg.split_whitespace().collect();
    let matching: Vec<&Value> = if names.is_empty() || names.contains(&"all") {
        all.iter().collect()
    } else {
        let mut m = Vec::new();
        for name in names {
            let (group, process) = split_namespec(name);
            let before = m.len();
            m.extend(all.iter().filter(|i| {
                text(i, "group") == group && process.is_none_or(|p| text(i, "name") == p)
            }));
            if m.len() == before {
                match process {
                    None => ctl.out(&format!("{group}: ERROR (no such group)")),
                    Some(_) => ctl.out(&format!("{name}: ERROR (no such process)")),
                }
                ctl.exit = st::STATUS_UNKNOWN;
            }
        }
        m
    };
    let table = output::statuses(&matching);
    if !table.is_empty() {
        ctl.out(table.trim_end_matches('\n'));
    }
    if matching
        .iter()
        .any(|i| STOPPED_STATES.contains(&num(i, "state")))
    {
        ctl.exit = st::STATUS_NOT_RUNNING;
    }
    Ok(())
}

/// What start, stop and signal differ in: the verb of their methods
/// (`startProcess`, `startProcessGroup`, `startAllProcesses`), the word of
/// success, how a result reads, the fault that is no failure, and the
/// status of an unknown group.
struct Act {
    verb: &'static str,
    done: &'static str,
    line: fn(&Outcome, &str) -> Result<String, Raise>,
    ignored: Option<i64>,
    no_group: u8,
}

const START: Act = Act {
    verb: "start",
    done: "started",
    line: |r, _| start_line(r),
    ignored: Some(fault::ALREADY_STARTED),
    no_group: st::INVALID_ARGS,
};

const STOP: Act = Act {
    verb: "stop",
    done: "stopped",
    line: signal_line,
    ignored: Some(fault::NOT_RUNNING),
    no_group: st::GENERIC,
};

const SIGNAL: Act = Act {
    verb: "signal",
    done: "signalled",
    line: signal_line,
    ignored: None,
    no_group: st::GENERIC,
};

/// One of start, stop, signal on `names` (`all`, `GROUP:*`, `NAME`), with
/// `extra` (the signal) after the name in each call.
fn act(ctl: &mut Ctl, a: &Act, names: &[&str], extra: Option<&str>) -> Done {
    let with = |first: Option<&str>| -> Vec<Value> {
        first.into_iter().chain(extra).map(Value::from).collect()
    };
    let print = |ctl: &mut Ctl, r: &Outcome| -> Done {
        let l = (a.line)(r, a.done)?;
        ctl.out(&l);
        exit_from_fault(ctl, r.code, a.ignored);
        Ok(())
    };
    if names.contains(&"all") {
        for v in ctl.call_list(&format!("{}AllProcesses", a.verb), &with(None))? {
            print(ctl, &Outcome::of(&v))?;
        }
        return Ok(());
    }
    for &name in names {
        match split_namespec(name) {
            (group, None) => {
                match ctl.call_list(&format!("{}ProcessGroup", a.verb), &with(Some(group))) {
                    Ok(list) => {
                        for v in &list {
                            print(ctl, &Outcome::of(v))?;
                        }
                    }
                    Err(Error::Fault(f)) if f.code == fault::BAD_NAME => {
                        ctl.out(&format!("{group}: ERROR (no such group)"));
                        ctl.exit = a.no_group;
                    }
                    Err(e) => {
                        ctl.exit = st::GENERIC;
                        return Err(e.into());
                    }
                }
            }
            (group, Some(process)) => match ctl
                .call(&format!("{}Process", a.verb), &with(Some(name)))
            {
                Ok(_) => ctl.out(&format!("{}: {}", namespec(group, process), a.done)),
                Err(Error::Fault(f)) => print(ctl, &Outcome::of_fault(name, f.code, &f.message))?,
                Err(e) => return Err(e.into()),
            },
        }
    }
    Ok(())
}

pub fn start(ctl: &mut Ctl, arg: &str) -> Done {
    if !ctl.upcheck()? {
        return Ok(());
    }
    let names: Vec<&str> = arg.split_whitespace().collect();
    if names.is_empty() {
        return wrong(
            ctl,
            "Error: start requires a process name",
            st::INVALID_ARGS,
            "start",
        );
    }
    act(ctl, &START, &names, None)
}

pub fn stop(ctl: &mut Ctl, arg: &str) -> Done {
    if !ctl.upcheck()? {
        return Ok(());
    }
    let names: Vec<&str> = arg.split_whitespace().collect();
    if names.is_empty() {
        return wrong(
            ctl,
            "Error: stop requires a process name",
            st::GENERIC,
            "stop",
        );
    }
    act(ctl, &STOP, &names, None)
}

pub fn signal(ctl: &mut Ctl, arg: &str) -> Done {
    if !ctl.upcheck()? {
        return Ok(());
    }
    let words: Vec<&str> = arg.split_whitespace().collect();
    if words.len() < 2 {
        ctl.out("Error: signal requires a signal name and a process name");
        if let Some(h) = output::help("signal") {
            ctl.out(h);
        }
        ctl.exit = st::GENERIC;
        return Ok(());
    }
    act(ctl, &SIGNAL, &words[1..], Some(words[0]))
}

pub fn restart(ctl: &mut Ctl, arg: &str) -> Done {
    if !ctl.upcheck()? {
        return Ok(());
    }
    if arg.split_whitespace().next().is_none() {
        return wrong(
            ctl,
            "Error: restart requires a process name",
            st::GENERIC,
            "restart",
        );
    }
    stop(ctl, arg)?;
    start(ctl, arg)
}

pub fn pid(ctl: &mut Ctl, arg: &str) -> Done {
    if !ctl.upcheck()? {
        return Ok(());
    }
    let names: Vec<&str> = arg.split_whitespace().collect();
    if names.is_empty() {
        let pid = ctl.call("getPID", &[])?;
        let line = output::show(&pid);
        ctl.out(&line);
    } else if names.contains(&"all") {
        for info in ctl.call_list("getAllProcessInfo", &[])? {
            ctl.out(&num(&info, "pid").to_string());
        }
    } else {
        for name in names {
            match ctl.call("getProcessInfo", &[name.into()]) {
                Ok(info) => {
                    let pid = num(&info, "pid");
                    ctl.out(&pid.to_string());
                    if pid == 0 {
                        ctl.exit = st::NOT_RUNNING;
                    }
                }
                Err(e) => {
                    ctl.exit = st::GENERIC;
                    match e {
                        Error::Fault(f) if f.code == fault::BAD_NAME => {
                            ctl.out(&format!("No such process {name}"))
                        }
                        e => return Err(e.into()),
                    }
                }
            }
        }
    }
    Ok(())
}

pub fn clear(ctl: &mut Ctl, arg: &str) -> Done {
    if !ctl.upcheck()? {
        return Ok(());
    }
    let names: Vec<&str> = arg.split_whitespace().collect();
    if names.is_empty() {
        return wrong(
            ctl,
            "Error: clear requires a process name",
            st::GENERIC,
            "clear",
        );
    }
    if names.contains(&"all") {
        let list = ctl.call_list("clearAllProcessLogs", &[])?;
        return results(ctl, list, clear_line, None);
    }
    for name in names {
        let (group, process) = split_namespec(name);
        match ctl.call("clearProcessLogs", &[name.into()]) {
            Ok(_) => ctl.out(&format!(
                "{}: cleared",
                namespec(group, process.unwrap_or("None"))
            )),
            Err(Error::Fault(f)) => {
                let r = Outcome::of_fault(name, f.code, &f.message);
                let l = clear_line(&r)?;
                ctl.out(&l);
                exit_from_fault(ctl, r.code, None);
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Python's `int()` of a `-BYTES` modifier.
fn py_int(s: &str) -> Option<i64> {
    s.trim().replace('_', "").parse().ok()
}

/// Streams `path` to stdout until the server ends it or Ctrl-C.
fn tailf(ctl: &mut Ctl, path: &str) -> Done {
    ctl.out("==> Press Ctrl-C to exit <==");
    ctl.catch_interrupts();
    let url = format!("{}{path}", ctl.url());
    let result = ctl.server.stream(
        path,
        &mut super::admin::write_out,
        &mut super::interrupt::watch,
    );
    if super::interrupt::take() {
        // The handler has printed the newline supervisorctl prints.
        return Ok(());
    }
    match result {
        Ok(()) => {}
        // Our stdout was closed (`| head`): done, as ripgrep treats it.
        Err(Error::Os(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        Err(Error::Status(code, _)) => eprintln!("{url} Cannot read, status code {code}"),
        Err(Error::Os(e)) => {
            let (class, text) = output::os_error(&e);
            eprintln!("{url} Cannot connect, error: {class} ({text})");
        }
        Err(e) => {
            let (class, text) = output::raised(&e, ctl.url());
            eprintln!("{url} Cannot connect, error: {class} ({text})");
        }
    }
    Ok(())
}

pub fn tail(ctl: &mut Ctl, arg: &str) -> Done {
    if !ctl.upcheck()? {
        return Ok(());
    }
    let mut args: Vec<&str> = arg.split_whitespace().collect();
    if args.is_empty() {
        return wrong(ctl, "Error: too few arguments", st::GENERIC, "tail");
    }
    if args.len() > 3 {
        return wrong(ctl, "Error: too many arguments", st::GENERIC, "tail");
    }
    let modifier = if args[0].starts_with('-') {
        Some(args.remove(0))
    } else {
        None
    };
    let (name, channel) = match args.as_slice() {
        [one] => (*one, "stdout".to_string()),
        [first, .., last] => {
            let channel = last.to_ascii_lowercase();
            if channel != "stdout" && channel != "stderr" {
                ctl.out(&format!(
                    "Error: bad channel {}",
                    super::args::py_repr(&channel)
                ));
                ctl.exit = st::GENERIC;
                return Ok(());
            }
            (*first, channel)
        }
        [] => {
            ctl.out("Error: tail requires process name");
            ctl.exit = st::GENERIC;
            return Ok(());
        }
    };
    let mut bytes = 1600;
    if let Some(m) = modifier {
        let what = &m[1..];
        if what == "f" {
            return tailf(ctl, &format!("/logtail/{name}/{channel}"));
        }
        match py_int(what) {
            Some(n) => bytes = n,
            None => {
                ctl.out(&format!("Error: bad argument {m}"));
                ctl.exit = st::GENERIC;
                return Ok(());
            }
        }
    }
    let method = match channel.as_str() {
        "stdout" => "readProcessStdoutLog",
        _ => "readProcessStderrLog",
    };
    let params = [name.into(), Value::Int(-bytes), Value::Int(0)];
    print_log(ctl, name, method, &params)
}

pub fn maintail(ctl: &mut Ctl, arg: &str) -> Done {
    if !ctl.upcheck()? {
        return Ok(());
    }
    let args: Vec<&str> = arg.split_whitespace().collect();
    let bytes = match args.as_slice() {
        [] => 1600,
        [one] => {
            let parsed = one.strip_prefix('-').map(|what| (what, py_int(what)));
            match parsed {
                Some(("f", _)) => return tailf(ctl, "/mainlogtail"),
                Some((_, Some(n))) => n,
                _ => {
                    ctl.out(&format!("Error: bad argument {one}"));
                    ctl.exit = st::GENERIC;
                    return Ok(());
                }
            }
        }
        _ => return wrong(ctl, "Error: too many arguments", st::GENERIC, "maintail"),
    };
    print_log(
        ctl,
        "supervisord",
        "readLog",
        &[Value::Int(-bytes), Value::Int(0)],
    )
}

/// Prints what a log-reading call answers, or `WHO: ERROR (why)` for the
/// faults supervisorctl words (`tail`, `maintail`); any other fault is an
/// error of the call.
fn print_log(ctl: &mut Ctl, who: &str, method: &str, params: &[Value]) -> Done {
    match ctl.call(method, params) {
        Ok(v) => {
            let log = v.as_str().unwrap_or_default().to_string();
            ctl.out(&log);
        }
        Err(Error::Fault(f)) => {
            ctl.exit = st::GENERIC;
            let why = match f.code {
                fault::NO_FILE => "no log file",
                fault::FAILED => "unknown error reading log",
                // Only a process's log has a name to get wrong.
                fault::BAD_NAME if method != "readLog" => "no such process name",
                _ => return Err(Error::Fault(f).into()),
            };
            ctl.out(&format!("{who}: ERROR ({why})"));
        }
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

pub fn fg(ctl: &mut Ctl, arg: &str) -> Done {
    if !ctl.upcheck()? {
        return Ok(());
    }
    let names: Vec<&str> = arg.split_whitespace().collect();
    let name = match names.as_slice() {
        [] => return wrong(ctl, "ERROR: no process name supplied", st::GENERIC, "fg"),
        [one] => *one,
        _ => {
            ctl.out("ERROR: too many process names supplied");
            ctl.exit = st::GENERIC;
            return Ok(());
        }
    };
    let info = match ctl.call("getProcessInfo", &[name.into()]) {
        Ok(info) => info,
        Err(Error::Fault(f)) => {
            if f.code == fault::BAD_NAME {
                ctl.out("ERROR: bad process name supplied");
                ctl.exit = st::GENERIC;
            } else {
                ctl.out(&format!("ERROR: {}", output::fault_str(f.code, &f.message)));
            }
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    if num(&info, "state") != RUNNING {
        ctl.out("ERROR: process not running");
        ctl.exit = st::GENERIC;
        return Ok(());
    }
    super::admin::foreground(ctl, name)
}
