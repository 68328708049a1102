//! supervisord's XML-RPC methods for the config and the logs (SPEC §13):
//! `reloadConfig`, `addProcessGroup`, `removeProcessGroup`,
//! `getAllConfigInfo`, the main log (`readLog`, `clearLog`) and the
//! processes' logs (`readProcess*Log`, `tailProcess*Log`,
//! `clear*ProcessLogs`), with supervisord's results and faults
//! (supervisor/rpcinterface.py). The XML-RPC framework (`rpc`) calls
//! [`Daemon::rpc_admin`] for the names of [`ADMIN_METHODS`].
//!
//! Every method answers at once: reads are bounded (`ranges`), and adding
//! or removing a group only changes the table (starting and stopping go
//! on in the loop, as in supervisord).

mod config_info;
#[cfg(test)]
mod golden;
mod ranges;

use super::rpc::{fail, text};
use super::Daemon;
use crate::core::rpc::methods::Method;
use crate::core::rpc::names;
use crate::core::stream::Stream;
use crate::core::supervisor::groups::GroupError;
use crate::core::supervisor::Id;
use crate::core::trust::{open_log, open_log_regular, LogOpen};
use crate::wire::xmlrpc::codes::fault;
use crate::wire::xmlrpc::{Fault, Value};
use ranges::{read_at, read_range, tail_range};
use std::io;
use std::path::{Path, PathBuf};
use std::time::Instant;

const READ_HELP: &str = "Read length bytes from a process's log starting at offset.\n\n\
    @param string name  the process (or group:name)\n\
    @param int offset  where to start; negative: the last -offset bytes (length must be 0)\n\
    @param int length  how many bytes; 0: to the end\n\
    @return string result  the bytes of the log";
const TAIL_HELP: &str = "Read up to length bytes of a process's log from offset; when the log \
    is longer than offset + length, the overflow flag is set and the bytes are the end of the \
    log. The offset returned is the log's size: the next call's offset.\n\n\
    @param string name  the process (or group:name)\n\
    @param int offset  where to start\n\
    @param int length  the most bytes to return\n\
    @return array result  [string bytes, int offset, bool overflow]";
const MAIN_READ_HELP: &str = "Read length bytes from the daemon's log starting at offset.\n\n\
    @param int offset  where to start; negative: the last -offset bytes (length must be 0)\n\
    @param int length  how many bytes; 0: to the end\n\
    @return string result  the bytes of the log";
const CLEAR_HELP: &str = "Clear the stdout and stderr logs of a process and reopen them.\n\n\
    @param string name  the process (or group:name)\n\
    @return boolean result  true";

/// The methods served here: name, signature (the return type, then the
/// parameters), help; `rpc` lists them with its own.
pub(super) const ADMIN_METHODS: &[Method] = &[
    ("supervisor.readLog", "string,int,int", MAIN_READ_HELP),
    ("supervisor.readMainLog", "string,int,int", MAIN_READ_HELP),
    (
        "supervisor.clearLog",
        "boolean",
        "Clear the daemon's log.\n\n@return boolean result  true",
    ),
    (
        "supervisor.reloadConfig",
        "array",
        "Read the config file again, applying nothing: addProcessGroup and \
         removeProcessGroup apply it a group at a time.\n\n\
         @return array result  [[added, changed, removed]]: names of process groups",
    ),
    (
        "supervisor.addProcessGroup",
        "boolean,string",
        "Add a process group of the config read last, and start its autostart processes.\n\n\
         @param string name  the group\n@return boolean result  true",
    ),
    (
        "supervisor.removeProcessGroup",
        "boolean,string",
        "Remove a process group none of whose processes runs.\n\n\
         @param string name  the group\n@return boolean result  true",
    ),
    (
        "supervisor.getAllConfigInfo",
        "array",
        "The settings of every process of the config read last.\n\n\
         @return array result  a struct each",
    ),
    (
        "supervisor.readProcessStdoutLog",
        "string,string,int,int",
        READ_HELP,
    ),
    (
        "supervisor.readProcessLog",
        "string,string,int,int",
        READ_HELP,
    ),
    (
        "supervisor.readProcessStderrLog",
        "string,string,int,int",
        READ_HELP,
    ),
    (
        "supervisor.tailProcessStdoutLog",
        "array,string,int,int",
        TAIL_HELP,
    ),
    (
        "supervisor.tailProcessLog",
        "array,string,int,int",
        TAIL_HELP,
    ),
    (
        "supervisor.tailProcessStderrLog",
        "array,string,int,int",
        TAIL_HELP,
    ),
    ("supervisor.clearProcessLogs", "boolean,string", CLEAR_HELP),
    ("supervisor.clearProcessLog", "boolean,string", CLEAR_HELP),
    (
        "supervisor.clearAllProcessLogs",
        "array",
        "Clear the logs of every process.\n\n\
         @return array result  a {name, group, status, description} struct each",
    ),
];

impl Daemon {
    /// Answers one of [`ADMIN_METHODS`]; None for any
    /// other `method` (the full name, `supervisor.readLog`).
    pub(super) fn rpc_admin(
        &mut self,
        method: &str,
        params: &[Value],
        now: Instant,
    ) -> Option<Result<Value, Fault>> {
        let arity = ADMIN_METHODS
            .iter()
            .find(|(m, _, _)| *m == method)?
            .1
            .split(',')
            .count()
            - 1;
        if params.len() != arity {
            // supervisord's words for a call of the wrong arity: none.
            return Some(Err(fail(fault::INCORRECT_PARAMETERS, "")));
        }
        let name = method.strip_prefix("supervisor.").unwrap_or(method);
        Some(match name {
            "readLog" | "readMainLog" => self.read_main_log(params),
            "clearLog" => self.clear_main_log(),
            "reloadConfig" => self.reload_config(),
            "addProcessGroup" => self.add_group(params, now),
            "removeProcessGroup" => self.remove_group(params, now),
            "getAllConfigInfo" => Ok(config_info::all(&self.sup)),
            "readProcessStdoutLog" | "readProcessLog" => self.read_log(params, Stream::Stdout),
            "readProcessStderrLog" => self.read_log(params, Stream::Stderr),
            "tailProcessStdoutLog" | "tailProcessLog" => self.tail_log(params, Stream::Stdout),
            "tailProcessStderrLog" => self.tail_log(params, Stream::Stderr),
            "clearProcessLogs" | "clearProcessLog" => self.clear_process_logs(params),
            "clearAllProcessLogs" => Ok(self.clear_all_logs()),
            _ => return None,
        })
    }

    // ------------------------------------------------------------ config

    /// `reloadConfig`: `[[added, changed, removed]]`, applying nothing.
    fn reload_config(&mut self) -> Result<Value, Fault> {
        let diff = self
            .sup
            .reread()
            .map_err(|why| fail(fault::CANT_REREAD, &why))?;
        let names = |v: Vec<String>| Value::Array(v.into_iter().map(Value::Str).collect());
        self.sup.log.info(&format!(
            "reloadConfig: added [{}], changed [{}], removed [{}]",
            diff.added.join(", "),
            diff.changed.join(", "),
            diff.removed.join(", ")
        ));
        Ok(Value::Array(vec![Value::Array(vec![
            names(diff.added),
            names(diff.changed),
            names(diff.removed),
        ])]))
    }

    fn add_group(&mut self, params: &[Value], now: Instant) -> Result<Value, Fault> {
        let name = text(params, 0)?;
        self.sup
            .add_group(name, now)
            .map_err(|e| group_fault(e, name))?;
        self.saved(name, "added", now)
    }

    fn remove_group(&mut self, params: &[Value], now: Instant) -> Result<Value, Fault> {
        let name = text(params, 0)?;
        self.sup
            .remove_group(name, now)
            .map_err(|e| group_fault(e, name))?;
        self.saved(name, "removed", now)
    }

    /// What is answered is on disk first (SPEC §8), as for a control
    /// request (`Supervisor::durable`): a change the state file cannot
    /// keep is answered as failed.
    fn saved(&mut self, name: &str, done: &str, now: Instant) -> Result<Value, Fault> {
        match self.sup.persist(now) {
            Ok(()) => Ok(Value::Bool(true)),
            Err(why) => Err(fail(
                fault::FAILED,
                &format!(
                    "{name} {done}; but the state cannot be saved ({why}): \
                     the daemon would lose this change if it died"
                ),
            )),
        }
    }

    // ---------------------------------------------------------- main log

    /// `readLog`: the daemon's own log file.
    fn read_main_log(&mut self, params: &[Value]) -> Result<Value, Fault> {
        let (offset, length) = (int(params, 0)?, int(params, 1)?);
        // What this pass logged is in the file first, as supervisord's
        // log is written at once.
        self.sup.log.flush();
        let path = self.sup.log.file_path().map(Path::to_path_buf);
        read_file(path.as_deref(), offset, length)
    }

    /// `clearLog`: removes the daemon's log file and begins a new one.
    fn clear_main_log(&mut self) -> Result<Value, Fault> {
        let Some(path) = self.sup.log.file_path().map(Path::to_path_buf) else {
            return Err(fail(fault::NO_FILE, ""));
        };
        if !path.exists() {
            return Err(fail(fault::NO_FILE, ""));
        }
        self.sup.log.flush();
        if let Err(e) = std::fs::remove_file(&path) {
            self.sup
                .log
                .error(&format!("clearLog: cannot remove {}: {e}", path.display()));
            return Err(fail(fault::FAILED, ""));
        }
        self.sup.log.reopen();
        self.sup.log.info("reopening log file");
        Ok(Value::Bool(true))
    }

    // ----------------------------------------------------- process logs

    /// The one process `name` (`GROUP:NAME`, or `NAME` where the group
    /// has the same name) stands for, by supervisord's rules: a bare
    /// member of another group, or a pid, is BAD_NAME.
    fn one_process(&self, name: &str) -> Result<Id, Fault> {
        let (group, one) = names::split(name);
        one.and_then(|one| self.process(group, one))
            .ok_or_else(|| fail(fault::BAD_NAME, name))
    }

    /// Where a process's `stream` is logged, if anywhere.
    fn log_file(&self, id: Id, stream: Stream) -> Option<PathBuf> {
        let s = self.sup.services().find(|s| s.id == id)?;
        let captured =
            !(s.spec.policy.adopted || stream == Stream::Stderr && s.spec.redirect_stderr);
        s.logs[stream].path.clone().filter(|_| captured)
    }

    /// `readProcessStdoutLog` / `readProcessStderrLog`.
    fn read_log(&mut self, params: &[Value], stream: Stream) -> Result<Value, Fault> {
        let id = self.one_process(text(params, 0)?)?;
        let (offset, length) = (int(params, 1)?, int(params, 2)?);
        let path = self.log_file(id, stream);
        match read_file(path.as_deref(), offset, length) {
            // Configured but not written yet: an empty log, as
            // supervisord's (which creates the file at spawn).
            Err(f) if f.code == fault::NO_FILE && path.is_some() => read_range(0, offset, length)
                .map(|_| Value::Str(String::new()))
                .map_err(|_| fail(fault::BAD_ARGUMENTS, "")),
            other => other,
        }
    }

    /// `tailProcessStdoutLog` / `tailProcessStderrLog`:
    /// `[bytes, offset, overflow]`.
    fn tail_log(&mut self, params: &[Value], stream: Stream) -> Result<Value, Fault> {
        let id = self.one_process(text(params, 0)?)?;
        let (offset, length) = (int(params, 1)?, int(params, 2)?);
        let answer = |data: String, offset: i64, overflow: bool| {
            Value::Array(vec![
                Value::Str(data),
                Value::Int(offset),
                Value::Bool(overflow),
            ])
        };
        let Some(path) = self.log_file(id, stream) else {
            return Ok(answer(String::new(), 0, false));
        };
        let file = match open_log_regular(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(answer(String::new(), 0, false))
            }
            Err(_) => return Ok(answer(String::new(), offset, false)),
        };
        let read = file.metadata().and_then(|m| {
            let (start, count, size, overflow) = tail_range(m.len(), offset, length);
            Ok((read_at(&file, start, count)?, size, overflow))
        });
        Ok(match read {
            Ok((data, size, overflow)) => {
                answer(data, i64::try_from(size).unwrap_or(i64::MAX), overflow)
            }
            Err(_) => answer(String::new(), offset, false),
        })
    }

    /// `clearProcessLogs(name)`.
    fn clear_process_logs(&mut self, params: &[Value]) -> Result<Value, Fault> {
        let id = self.one_process(text(params, 0)?)?;
        self.clear_logs(id)?;
        Ok(Value::Bool(true))
    }

    /// Removes a process's log files (not their backups) and begins new,
    /// empty ones, as supervisord's `removelogs`.
    fn clear_logs(&mut self, id: Id) -> Result<(), Fault> {
        let shown = self
            .sup
            .services()
            .find(|s| s.id == id)
            .map(|s| s.shown())
            .unwrap_or_default();
        for stream in Stream::BOTH {
            let Some(path) = self.log_file(id, stream) else {
                continue;
            };
            // A FIFO or a device is not a log to empty: it stays.
            let special = std::fs::symlink_metadata(&path)
                .is_ok_and(|m| !m.is_file() && !m.file_type().is_symlink());
            if special {
                continue;
            }
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => {
                    self.sup
                        .log
                        .error(&format!("{shown}: cannot clear {}: {e}", path.display()));
                    return Err(fail(fault::FAILED, &shown));
                }
            }
            if let Some(s) = self.sup.service_mut(id) {
                s.logs[stream].reopen();
            }
            // Empty, as a reopened log: a read finds it there.
            if let Err(e) = open_log(&path, LogOpen::Write) {
                self.sup.log.warn(&format!(
                    "{shown}: cannot create {} again: {e}",
                    path.display()
                ));
            }
        }
        self.sup.log.info(&format!("{shown}: logs cleared"));
        Ok(())
    }

    /// `clearAllProcessLogs`: one result struct per process, in priority
    /// order as supervisord lists them.
    fn clear_all_logs(&mut self) -> Value {
        // Keyed as `rpc_process` orders processes.
        let mut keyed: Vec<(i32, &str, &str, Id)> = self
            .sup
            .services()
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
        let all: Vec<(String, String, Id)> = keyed
            .into_iter()
            .map(|(_, g, n, id)| (n.to_string(), g.to_string(), id))
            .collect();
        let results = all
            .into_iter()
            .map(|(name, group, id)| {
                let (status, description) = match self.clear_logs(id) {
                    Ok(()) => (fault::SUCCESS, "OK".to_string()),
                    Err(f) => (f.code, f.message),
                };
                Value::object([
                    ("name", Value::Str(name)),
                    ("group", Value::Str(group)),
                    ("status", Value::Int(status)),
                    ("description", Value::Str(description)),
                ])
            })
            .collect();
        Value::Array(results)
    }
}

fn group_fault(e: GroupError, name: &str) -> Fault {
    match e {
        GroupError::BadName => fail(fault::BAD_NAME, name),
        GroupError::AlreadyAdded(why) => fail(fault::ALREADY_ADDED, &why),
        GroupError::StillRunning => fail(fault::STILL_RUNNING, name),
    }
}

/// The int parameter at `i`. As supervisord's `int()`, a string of digits
/// or a boolean will do; anything else is INCORRECT_PARAMETERS, as for
/// rpc's methods (supervisord answers a 500 there).
fn int(params: &[Value], i: usize) -> Result<i64, Fault> {
    let n = match params.get(i) {
        Some(Value::Int(n)) => Some(*n),
        Some(Value::Bool(b)) => Some(i64::from(*b)),
        Some(Value::Str(s)) => s.trim().parse().ok(),
        _ => None,
    };
    n.ok_or_else(|| {
        fail(
            fault::INCORRECT_PARAMETERS,
            &format!("parameter {} must be an int", i + 1),
        )
    })
}

/// supervisord's `readFile` on `path` through XML-RPC: NO_FILE when there
/// is none (the detail is the path, or `None`), BAD_ARGUMENTS, FAILED.
fn read_file(path: Option<&Path>, offset: i64, length: i64) -> Result<Value, Fault> {
    let no_file = || {
        let shown = path.map_or("None".to_string(), |p| p.display().to_string());
        fail(fault::NO_FILE, &shown)
    };
    let Some(p) = path else {
        return Err(no_file());
    };
    // Regular files only: a FIFO or a device could block the loop.
    let file = match open_log_regular(p) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(no_file()),
        Err(e) => return Err(fail(fault::FAILED, &format!("{}: {e}", p.display()))),
    };
    let size = file.metadata().map_err(|_| fail(fault::FAILED, ""))?.len();
    let (start, count) =
        read_range(size, offset, length).map_err(|_| fail(fault::BAD_ARGUMENTS, ""))?;
    read_at(&file, start, count)
        .map(Value::Str)
        .map_err(|_| fail(fault::FAILED, ""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::rpc::methods::METHODS;

    #[test]
    fn the_table_is_well_formed_and_apart_from_rpcs() {
        let types = ["array", "boolean", "int", "string", "struct"];
        for (name, sig, help) in ADMIN_METHODS {
            assert!(
                name.starts_with("supervisor.") && !help.is_empty(),
                "{name}"
            );
            assert!(sig.split(',').all(|t| types.contains(&t)), "{name}: {sig}");
            assert!(!METHODS.iter().any(|m| m.0 == *name), "{name} twice");
        }
    }

    #[test]
    fn int_parameters_as_supervisords_int() {
        let p = [
            Value::Int(-5),
            Value::Str(" 12 ".into()),
            Value::Bool(true),
            Value::Str("x".into()),
            Value::Array(vec![]),
        ];
        assert_eq!(int(&p, 0), Ok(-5));
        assert_eq!(int(&p, 1), Ok(12));
        assert_eq!(int(&p, 2), Ok(1));
        for i in [3, 4, 5] {
            assert_eq!(
                int(&p, i).map_err(|f| f.code),
                Err(fault::INCORRECT_PARAMETERS)
            );
        }
    }
}
