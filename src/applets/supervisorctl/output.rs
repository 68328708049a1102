//! supervisorctl's texts, word for word: the usage, each command's help,
//! the status and avail tables, and how an error it did not expect reads
//! (Python's `error: <class ...>, ...` line).

use super::args::py_repr;
use super::transport::Error;
use crate::wire::xmlrpc::Value;

/// `supervisorctl -h` (its module doc), `PROG` standing for the program.
pub const USAGE: &str =
    "supervisorctl -- control applications run by supervisord from the cmd line.

Usage: PROG [options] [action [arguments]]

Options:
-c/--configuration FILENAME -- configuration file path (searches if not given)
-h/--help -- print usage message and exit
-i/--interactive -- start an interactive shell after executing commands
-s/--serverurl URL -- URL on which supervisord server is listening
     (default \"http://localhost:9001\").
-u/--username USERNAME -- username to use for authentication with server
-p/--password PASSWORD -- password to use for authentication with server
-r/--history-file -- keep a readline history (if readline is available)

action [arguments] -- see below

Actions are commands like \"tail\" or \"stop\".  If -i is specified or no action is
specified on the command line, a \"shell\" interpreting actions typed
interactively is started.  Use the action \"help\" to find out about available
actions.

";

/// `help` alone: Python's `cmd` lays the documented commands out in columns.
pub const TOPICS: &str = "
default commands (type help <topic>):
=====================================
add    exit      open  reload  restart   start   tail   
avail  fg        pid   remove  shutdown  status  update 
clear  maintail  quit  reread  signal    stop    version
";

/// `help CMD`: the text, or None for a command without help.
pub fn help(cmd: &str) -> Option<&'static str> {
    Some(match cmd {
        "help" => "help\t\tPrint a list of available actions\nhelp <action>\tPrint help for <action>",
        "tail" => "tail [-f] <name> [stdout|stderr] (default stdout)\nEx:\ntail -f <name>\t\tContinuous tail of named process stdout\n\t\t\tCtrl-C to exit.\ntail -100 <name>\tlast 100 *bytes* of process stdout\ntail <name> stderr\tlast 1600 *bytes* of process stderr",
        "maintail" => "maintail -f \tContinuous tail of supervisor main log file (Ctrl-C to exit)\nmaintail -100\tlast 100 *bytes* of supervisord main log file\nmaintail\tlast 1600 *bytes* of supervisor main log file\n",
        "quit" => "quit\tExit the supervisor shell.",
        "exit" => "exit\tExit the supervisor shell.",
        "status" => "status <name>\t\tGet status for a single process\nstatus <gname>:*\tGet status for all processes in a group\nstatus <name> <name>\tGet status for multiple named processes\nstatus\t\t\tGet all process status info",
        "pid" => "pid\t\t\tGet the PID of supervisord.\npid <name>\t\tGet the PID of a single child process by name.\npid all\t\t\tGet the PID of every child process, one per line.",
        "start" => "start <name>\t\tStart a process\nstart <gname>:*\t\tStart all processes in a group\nstart <name> <name>\tStart multiple processes or groups\nstart all\t\tStart all processes",
        "stop" => "stop <name>\t\tStop a process\nstop <gname>:*\t\tStop all processes in a group\nstop <name> <name>\tStop multiple processes or groups\nstop all\t\tStop all processes",
        "signal" => "signal <signal name> <name>\t\tSignal a process\nsignal <signal name> <gname>:*\t\tSignal all processes in a group\nsignal <signal name> <name> <name>\tSignal multiple processes or groups\nsignal <signal name> all\t\tSignal all processes",
        "restart" => "restart <name>\t\tRestart a process\nrestart <gname>:*\tRestart all processes in a group\nrestart <name> <name>\tRestart multiple processes or groups\nrestart all\t\tRestart all processes\nNote: restart does not reread config files. For that, see reread and update.",
        "shutdown" => "shutdown \tShut the remote supervisord down.",
        "reload" => "reload \t\tRestart the remote supervisord.",
        "avail" => "avail\t\t\tDisplay all configured processes",
        "reread" => "reread \t\t\tReload the daemon's configuration files without add/remove",
        "add" => "add <name> [...]\tActivates any updates in config for process/group",
        "remove" => "remove <name> [...]\tRemoves process/group from active config",
        "update" => "update\t\t\tReload config and add/remove as necessary, and will restart affected programs\nupdate all\t\tReload config and add/remove as necessary, and will restart affected programs\nupdate <gname> [...]\tUpdate specific groups",
        "clear" => "clear <name>\t\tClear a process' log files.\nclear <name> <name>\tClear multiple process' log files\nclear all\t\tClear all process' log files",
        "open" => "open <url>\tConnect to a remote supervisord process.\n\t\t(for UNIX domain socket, use unix:///socket/path)",
        "version" => "version\t\t\tShow the version of the remote supervisord process",
        "fg" => "fg <process>\tConnect to a process in foreground mode\n\t\tCtrl-C to exit",
        _ => return None,
    })
}

/// A member of a struct as text.
pub fn text(v: &Value, key: &str) -> String {
    v.get(key).map(show).unwrap_or_default()
}

/// A value as Python's `str` shows it: strings as they are, numbers in
/// decimal, booleans as True and False.
pub fn show(v: &Value) -> String {
    match v {
        Value::Str(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        Value::Bool(b) => if *b { "True" } else { "False" }.to_string(),
        Value::Double(d) => d.to_string(),
        _ => String::new(),
    }
}

/// A member of a struct as a number (0 when missing).
pub fn num(v: &Value, key: &str) -> i64 {
    v.get(key).and_then(Value::as_int).unwrap_or(0)
}

/// supervisor's `make_namespec`: `GROUP:NAME`, or `NAME` when they agree.
pub fn namespec(group: &str, name: &str) -> String {
    if group == name {
        name.to_string()
    } else {
        format!("{group}:{name}")
    }
}

/// supervisor's `split_namespec`: `(group, Some(name))`, or `(group, None)`
/// for `GROUP:` and `GROUP:*`.
pub fn split_namespec(spec: &str) -> (&str, Option<&str>) {
    match spec.split_once(':') {
        Some((g, "" | "*")) => (g, None),
        Some((g, p)) => (g, Some(p)),
        None => (spec, Some(spec)),
    }
}

/// The status table: names padded to the longest (at least 30) plus 3,
/// the state in 10, then the description.
pub fn statuses(infos: &[&Value]) -> String {
    let names: Vec<String> = infos
        .iter()
        .map(|i| namespec(&text(i, "group"), &text(i, "name")))
        .collect();
    let width = names
        .iter()
        .map(|n| n.chars().count())
        .max()
        .unwrap_or(0)
        .max(30)
        + 3;
    let mut out = String::new();
    for (info, name) in infos.iter().zip(&names) {
        out.push_str(&format!(
            "{name:<width$}{:<10}{}\n",
            text(info, "statename"),
            text(info, "description")
        ));
    }
    out
}

/// One line of `avail`.
pub fn config_info(c: &Value) -> String {
    let flag = |k: &str| c.get(k).and_then(Value::as_bool).unwrap_or(false);
    format!(
        "{:<32} {:<9} {:<9} {}:{}",
        namespec(&text(c, "group"), &text(c, "name")),
        if flag("inuse") { "in use" } else { "avail" },
        if flag("autostart") { "auto" } else { "manual" },
        text(c, "group_prio"),
        text(c, "process_prio")
    )
}

/// Python's class for an OS error number, as `str(type(e))` shows it.
fn os_class(errno: i32) -> &'static str {
    match errno {
        libc::ECONNREFUSED => "ConnectionRefusedError",
        libc::ECONNRESET => "ConnectionResetError",
        libc::ECONNABORTED => "ConnectionAbortedError",
        libc::EPIPE => "BrokenPipeError",
        libc::ENOENT => "FileNotFoundError",
        libc::EACCES | libc::EPERM => "PermissionError",
        libc::ETIMEDOUT | libc::EAGAIN => "TimeoutError",
        _ => "OSError",
    }
}

/// `<class 'X'>` and the text of an OS error, as Python shows them.
pub fn os_error(e: &std::io::Error) -> (String, String) {
    match e.raw_os_error() {
        Some(n) => (
            format!("<class '{}'>", os_class(n)),
            format!("[Errno {n}] {}", nix::errno::Errno::from_raw(n).desc()),
        ),
        None => ("<class 'OSError'>".to_string(), e.to_string()),
    }
}

/// `str(fault)` in Python: `<Fault 10: 'BAD_NAME: x'>`.
pub fn fault_str(code: i64, message: &str) -> String {
    format!("<Fault {code}: {}>", py_repr(message))
}

/// The class and text of an error no command handles, for the line
/// `error: CLASS, TEXT: file: ... line: ...` that supervisorctl prints.
pub fn raised(e: &Error, url: &str) -> (String, String) {
    match e {
        Error::Os(e) => os_error(e),
        Error::Status(code, reason) => (
            "<class 'xmlrpc.client.ProtocolError'>".into(),
            format!("<ProtocolError for 127.0.0.1/RPC2: {code} {reason}>"),
        ),
        Error::Fault(f) => (
            "<class 'xmlrpc.client.Fault'>".into(),
            fault_str(f.code, &f.message),
        ),
        Error::Protocol(_) => (
            "<class 'ValueError'>".into(),
            format!("Unknown protocol for serverurl {url}"),
        ),
        Error::Bad(why) => ("<class 'ValueError'>".into(), why.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespecs_as_supervisor() {
        assert_eq!(namespec("a", "a"), "a");
        assert_eq!(namespec("g", "a"), "g:a");
        assert_eq!(split_namespec("g:*"), ("g", None));
        assert_eq!(split_namespec("g:"), ("g", None));
        assert_eq!(split_namespec("g:a"), ("g", Some("a")));
        assert_eq!(split_namespec("a"), ("a", Some("a")));
    }

    #[test]
    fn status_columns_pad_to_the_longest_name() {
        let info = |g: &str, n: &str| {
            Value::object([
                ("group", Value::from(g)),
                ("name", Value::from(n)),
                ("statename", Value::from("RUNNING")),
                ("description", Value::from("pid 1, uptime 0:00:01")),
            ])
        };
        let a = info("a", "a");
        assert_eq!(
            statuses(&[&a]),
            format!("a{}RUNNING   pid 1, uptime 0:00:01\n", " ".repeat(32))
        );
        let long = info("g", &"x".repeat(40));
        let out = statuses(&[&a, &long]);
        assert!(
            out.starts_with(&format!("a{}RUNNING", " ".repeat(44))),
            "{out}"
        );
    }
}
