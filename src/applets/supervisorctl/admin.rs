//! supervisorctl's config and daemon commands (avail, reread, update, add,
//! remove, reload, shutdown, version, open), `help`, and the streaming half
//! of `fg`, as its `DefaultControllerPlugin` words them.

use super::output::{self, text};
use super::transport::Error;
use super::{status as st, Ctl, Done};
use crate::wire::xmlrpc::{codes::fault, Value};
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::waitpid;
use nix::unistd::{fork, ForkResult};
use std::io::Write;

/// A command that takes no arguments was given some.
fn no_args(ctl: &mut Ctl, cmd: &str, arg: &str) -> bool {
    if arg.is_empty() {
        return false;
    }
    ctl.out(&format!("Error: {cmd} accepts no arguments"));
    ctl.exit = st::GENERIC;
    if let Some(h) = output::help(cmd) {
        ctl.out(h);
    }
    true
}

pub fn help(ctl: &mut Ctl, arg: &str) {
    if arg.is_empty() {
        let topics = output::TOPICS.trim_end_matches('\n').to_string();
        ctl.out(&topics);
        ctl.out("");
        return;
    }
    match output::help(arg) {
        Some(h) => ctl.out(h),
        None => ctl.out(&format!("*** No help on {arg}")),
    }
}

pub fn avail(ctl: &mut Ctl, arg: &str) -> Done {
    if no_args(ctl, "avail", arg) {
        return Ok(());
    }
    match ctl.call_list("getAllConfigInfo", &[]) {
        Ok(list) => {
            for c in &list {
                ctl.out(&output::config_info(c));
            }
            Ok(())
        }
        Err(e) => shutting_down(ctl, e, "ERROR: supervisor shutting down"),
    }
}

/// The SHUTDOWN_STATE fault as `msg`, anything else raised; either way the
/// status is GENERIC.
fn shutting_down(ctl: &mut Ctl, e: Error, msg: &str) -> Done {
    ctl.exit = st::GENERIC;
    match e {
        Error::Fault(f) if f.code == fault::SHUTDOWN_STATE => {
            ctl.out(msg);
            Ok(())
        }
        e => Err(e.into()),
    }
}

/// `reloadConfig`'s `[[added, changed, removed]]`.
fn changes(v: &Value) -> [Vec<String>; 3] {
    let lists = v
        .as_array()
        .and_then(|a| a.first())
        .and_then(Value::as_array)
        .unwrap_or_default();
    let names = |i: usize| -> Vec<String> {
        lists
            .get(i)
            .and_then(Value::as_array)
            .unwrap_or_default()
            .iter()
            .filter_map(|n| n.as_str().map(str::to_string))
            .collect()
    };
    [names(0), names(1), names(2)]
}

pub fn reread(ctl: &mut Ctl, arg: &str) -> Done {
    if no_args(ctl, "reread", arg) {
        return Ok(());
    }
    let result = match ctl.call("reloadConfig", &[]) {
        Ok(r) => r,
        Err(Error::Fault(f)) if f.code == fault::CANT_REREAD => {
            ctl.exit = st::GENERIC;
            ctl.out(&format!("ERROR: {}", f.message));
            return Ok(());
        }
        Err(e) => return shutting_down(ctl, e, "ERROR: supervisor shutting down"),
    };
    let [added, changed, dropped] = changes(&result);
    let mut all: Vec<(String, &str)> = Vec::new();
    for (names, what) in [
        (added, "available"),
        (changed, "changed"),
        (dropped, "disappeared"),
    ] {
        for n in names {
            all.retain(|(m, _)| *m != n);
            all.push((n, what));
        }
    }
    if all.is_empty() {
        ctl.out("No config updates to processes");
    }
    // By name, as supervisorctl sorts them.
    let mut sorted: Vec<(String, &str)> = Vec::with_capacity(all.len());
    for item in all {
        let at = sorted.partition_point(|(n, _)| *n < item.0);
        sorted.insert(at, item);
    }
    for (name, what) in sorted {
        ctl.out(&format!("{name}: {what}"));
    }
    Ok(())
}

pub fn add(ctl: &mut Ctl, arg: &str) -> Done {
    for name in arg.split_whitespace() {
        match ctl.call("addProcessGroup", &[name.into()]) {
            Ok(_) => ctl.out(&format!("{name}: added process group")),
            Err(Error::Fault(f)) if f.code == fault::SHUTDOWN_STATE => {
                ctl.out("ERROR: shutting down");
                ctl.exit = st::GENERIC;
            }
            Err(Error::Fault(f)) if f.code == fault::ALREADY_ADDED => {
                ctl.out("ERROR: process group already active")
            }
            Err(Error::Fault(f)) if f.code == fault::BAD_NAME => {
                ctl.out(&format!("ERROR: no such process/group: {name}"));
                ctl.exit = st::GENERIC;
            }
            Err(e) => {
                ctl.exit = st::GENERIC;
                return Err(e.into());
            }
        }
    }
    Ok(())
}

pub fn remove(ctl: &mut Ctl, arg: &str) -> Done {
    for name in arg.split_whitespace() {
        match ctl.call("removeProcessGroup", &[name.into()]) {
            Ok(_) => ctl.out(&format!("{name}: removed process group")),
            Err(e) => {
                ctl.exit = st::GENERIC;
                match e {
                    Error::Fault(f) if f.code == fault::STILL_RUNNING => {
                        ctl.out(&format!("ERROR: process/group still running: {name}"))
                    }
                    Error::Fault(f) if f.code == fault::BAD_NAME => {
                        ctl.out(&format!("ERROR: no such process/group: {name}"))
                    }
                    e => return Err(e.into()),
                }
            }
        }
    }
    Ok(())
}

pub fn update(ctl: &mut Ctl, arg: &str) -> Done {
    let result = match ctl.call("reloadConfig", &[]) {
        Ok(r) => r,
        Err(e) => return shutting_down(ctl, e, "ERROR: already shutting down"),
    };
    let [added, changed, removed] = changes(&result);
    let mut wanted: Vec<&str> = Vec::new();
    for g in arg.split_whitespace() {
        if !wanted.contains(&g) {
            wanted.push(g);
        }
    }
    // `all` is the same as no names.
    if wanted.contains(&"all") {
        wanted.clear();
    }
    if !wanted.is_empty() {
        let mut groups: Vec<String> = ctl
            .call_list("getAllProcessInfo", &[])?
            .iter()
            .map(|i| text(i, "group"))
            .collect();
        groups.extend(added.iter().cloned());
        for g in &wanted {
            if !groups.iter().any(|k| k == g) {
                ctl.out(&format!("ERROR: no such group: {g}"));
                ctl.exit = st::GENERIC;
            }
        }
    }
    let picked = |g: &String| wanted.is_empty() || wanted.contains(&g.as_str());
    for g in removed.iter().filter(|g| picked(g)) {
        let results = ctl.call_list("stopProcessGroup", &[g.as_str().into()])?;
        ctl.out(&format!("{g}: stopped"));
        if results
            .iter()
            .any(|r| output::num(r, "status") == fault::FAILED)
        {
            ctl.out(&format!("{g}: has problems; not removing"));
            ctl.exit = st::GENERIC;
            continue;
        }
        ctl.call("removeProcessGroup", &[g.as_str().into()])?;
        ctl.out(&format!("{g}: removed process group"));
    }
    for g in changed.iter().filter(|g| picked(g)) {
        ctl.call_list("stopProcessGroup", &[g.as_str().into()])?;
        ctl.out(&format!("{g}: stopped"));
        ctl.call("removeProcessGroup", &[g.as_str().into()])?;
        ctl.call("addProcessGroup", &[g.as_str().into()])?;
        ctl.out(&format!("{g}: updated process group"));
    }
    for g in added.iter().filter(|g| picked(g)) {
        ctl.call("addProcessGroup", &[g.as_str().into()])?;
        ctl.out(&format!("{g}: added process group"));
    }
    Ok(())
}

/// In the shell, asks `question`; true for an answer starting with y.
fn really(ctl: &mut Ctl, question: &str) -> Result<bool, super::Raise> {
    if !ctl.interactive {
        return Ok(true);
    }
    Ok(ctl.ask(question)?.to_ascii_lowercase().starts_with('y'))
}

pub fn shutdown(ctl: &mut Ctl, arg: &str) -> Done {
    if no_args(ctl, "shutdown", arg) {
        return Ok(());
    }
    if !really(ctl, "Really shut the remote supervisord process down y/N? ")? {
        return Ok(());
    }
    match ctl.call("shutdown", &[]) {
        Ok(_) => ctl.out("Shut down"),
        Err(Error::Fault(f)) if f.code == fault::SHUTDOWN_STATE => {
            ctl.out("ERROR: already shutting down")
        }
        Err(Error::Os(e)) if e.raw_os_error() == Some(libc::ECONNREFUSED) => {
            ctl.exit = st::GENERIC;
            let url = ctl.url().to_string();
            ctl.out(&format!(
                "ERROR: {url} refused connection (already shut down?)"
            ));
        }
        Err(Error::Os(e)) if e.raw_os_error() == Some(libc::ENOENT) => {
            ctl.exit = st::GENERIC;
            let url = ctl.url().to_string();
            ctl.out(&format!("ERROR: {url} no such file (already shut down?)"));
        }
        Err(e @ (Error::Fault(_) | Error::Os(_))) => {
            ctl.exit = st::GENERIC;
            return Err(e.into());
        }
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

pub fn reload(ctl: &mut Ctl, arg: &str) -> Done {
    if no_args(ctl, "reload", arg) {
        return Ok(());
    }
    if !really(ctl, "Really restart the remote supervisord process y/N? ")? {
        return Ok(());
    }
    match ctl.call("restart", &[]) {
        Ok(_) => {
            ctl.out("Restarted supervisord");
            Ok(())
        }
        Err(e @ Error::Fault(_)) => shutting_down(ctl, e, "ERROR: already shutting down"),
        Err(e) => Err(e.into()),
    }
}

pub fn version(ctl: &mut Ctl, arg: &str) -> Done {
    if no_args(ctl, "version", arg) {
        return Ok(());
    }
    if !ctl.upcheck()? {
        return Ok(());
    }
    let v = ctl.call("getSupervisorVersion", &[])?;
    let line = output::show(&v);
    ctl.out(&line);
    Ok(())
}

pub fn open(ctl: &mut Ctl, arg: &str) -> Done {
    let url = arg.trim();
    let scheme = url.split_once(':').map(|(s, _)| s.to_ascii_lowercase());
    if !matches!(scheme.as_deref(), Some("unix" | "http")) {
        ctl.out("ERROR: url must be http:// or unix://");
        ctl.exit = st::GENERIC;
        return Ok(());
    }
    ctl.set_server(url);
    let before = ctl.exit;
    let result = super::commands::status(ctl, "");
    ctl.exit = before;
    result
}

/// `fg`'s streaming: the process's stdout and stderr copied to ours by two
/// forked children (a thread would cost the static binary more) while our
/// stdin goes to the process (`sendProcessStdin`), until end of input,
/// Ctrl-C, or the process ends; then the children are killed by their pids.
pub fn foreground(ctl: &mut Ctl, name: &str) -> Done {
    ctl.out("==> Press Ctrl-C to exit <==");
    ctl.catch_interrupts();
    let mut children = Vec::new();
    for channel in ["stdout", "stderr"] {
        let path = format!("/logtail/{name}/{channel}");
        // SAFETY: the client has one thread; the child only copies the
        // stream to stdout and leaves by _exit.
        match unsafe { fork() } {
            Ok(ForkResult::Child) => {
                // SAFETY: back to the default disposition in the child: a
                // Ctrl-C ends it, and only the parent prints its newline.
                unsafe { libc::signal(libc::SIGINT, libc::SIG_DFL) };
                let _ = ctl.server.stream(&path, &mut write_out, &mut |_| {});
                // SAFETY: _exit(2), nothing of the parent's to run or flush.
                unsafe { libc::_exit(0) };
            }
            Ok(ForkResult::Parent { child }) => children.push(child),
            Err(e) => eprintln!("supervisorctl: cannot fork to follow {path}: {e}"),
        }
    }
    let result = feed_stdin(ctl, name);
    for child in children {
        let _ = kill(child, Signal::SIGKILL);
        let _ = waitpid(child, None);
    }
    super::interrupt::take();
    result
}

/// A piece of a stream, to stdout at once, as it came (bytes, not text).
pub fn write_out(bytes: &[u8]) -> std::io::Result<()> {
    let mut o = std::io::stdout().lock();
    o.write_all(bytes)?;
    o.flush()
}

fn feed_stdin(ctl: &mut Ctl, name: &str) -> Done {
    loop {
        let line = match ctl.ask("") {
            Ok(l) => l + "\n",
            Err(_) => {
                ctl.out("Exiting foreground");
                return Ok(());
            }
        };
        match ctl.call("sendProcessStdin", &[name.into(), line.into()]) {
            Ok(_) => {}
            Err(Error::Fault(f)) => {
                if f.code == fault::NOT_RUNNING {
                    ctl.out("Process got killed");
                } else {
                    ctl.out(&format!("ERROR: {}", output::fault_str(f.code, &f.message)));
                }
                ctl.out("Exiting foreground");
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        }
        let info = ctl.call("getProcessInfo", &[name.into()])?;
        if output::num(&info, "state") != 20 {
            ctl.out("Process got killed");
            ctl.out("Exiting foreground");
            return Ok(());
        }
    }
}
