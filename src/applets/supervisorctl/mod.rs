//! `supervisorctl` (SPEC §13): supervisor's client, with its flags, its
//! commands, their output and its exit codes, speaking XML-RPC to the
//! server URL, so it drives sv's server and a real supervisord alike. The
//! real supervisorctl is the judge (tests/spec_13_supervisorctl.rs).
//!
//! One command from the command line exits with supervisorctl's status
//! (the LSB codes of `LSBInitExitStatuses` / `LSBStatusExitStatuses`);
//! without one (or with `-i`) it is a `supervisor> ` prompt that also reads
//! commands from a pipe, and exits 0, as supervisorctl does.
//!
//! Files: `args` (the flags), `transport` (HTTP over a unix socket or TCP),
//! `commands` (the process commands), `admin` (config, daemon and shell
//! commands), `output` (texts and tables).

mod admin;
mod args;
mod commands;
mod output;
mod transport;

use super::exit::{self, Exit, Stop};
use super::shell::input::{Input, Line};
use super::shell::interrupt;
use crate::core::config;
use crate::wire::xmlrpc::{codes::fault, Value};
use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::os::fd::BorrowedFd;
use std::path::{Path, PathBuf};
use transport::{Error, Server};

/// supervisorctl's exit statuses.
pub mod status {
    pub const GENERIC: u8 = 1;
    pub const INVALID_ARGS: u8 = 2;
    pub const UNIMPLEMENTED_FEATURE: u8 = 3;
    pub const INSUFFICIENT_PRIVILEGES: u8 = 4;
    pub const NOT_INSTALLED: u8 = 5;
    pub const NOT_RUNNING: u8 = 7;
    /// `status`: a process is not running.
    pub const STATUS_NOT_RUNNING: u8 = 3;
    /// `status`: no such name, or the server cannot be asked.
    pub const STATUS_UNKNOWN: u8 = 4;
}

/// The XML-RPC API version supervisorctl expects.
const API_VERSION: &str = "3.0";

/// What ended a command early: an error of the server or the transport,
/// or of the client itself (Python's class and text), which supervisorctl
/// prints as `error: CLASS, TEXT: ...`.
pub enum Raise {
    Rpc(Error),
    Py(&'static str, String),
}

impl From<Error> for Raise {
    fn from(e: Error) -> Raise {
        Raise::Rpc(e)
    }
}

/// A command's outcome.
pub type Done = Result<(), Raise>;

/// The client between commands: the server, the user, the exit status.
pub struct Ctl {
    server: Server,
    username: Option<String>,
    password: Option<String>,
    /// Asks before shutdown and reload, and for a login on 401.
    interactive: bool,
    pub exit: u8,
    input: Input<'static>,
    /// Ctrl-C is caught (for `tail -f` and at a terminal prompt).
    caught: bool,
}

impl Ctl {
    /// One line of output (supervisorctl's `output`).
    fn out(&mut self, s: &str) {
        let mut o = std::io::stdout().lock();
        let _ = o.write_all(s.as_bytes());
        let _ = o.write_all(b"\n");
        let _ = o.flush();
    }

    fn url(&self) -> &str {
        &self.server.url
    }

    /// Calls `supervisor.METHOD`.
    fn call(&self, method: &str, params: &[Value]) -> Result<Value, Error> {
        self.server.call(&format!("supervisor.{method}"), params)
    }

    /// Like [`Ctl::call`] for a method answering an array.
    fn call_list(&self, method: &str, params: &[Value]) -> Result<Vec<Value>, Error> {
        match self.call(method, params)? {
            Value::Array(a) => Ok(a),
            _ => Err(Error::Bad(format!("{method} answered no array"))),
        }
    }

    fn set_server(&mut self, url: &str) {
        self.server = Server::new(url, self.username.as_deref(), self.password.as_deref());
    }

    /// supervisorctl's `upcheck`: is a supervisord with API 3.0 there? Says
    /// why not and sets the exit status when it is not.
    fn upcheck(&mut self) -> Result<bool, Raise> {
        match self.call("getVersion", &[]) {
            Ok(v) => {
                let api = output::show(&v);
                if api == API_VERSION {
                    return Ok(true);
                }
                self.out(&format!("Sorry, this version of supervisorctl expects to talk to a server with API version {API_VERSION}, but the remote version is {api}."));
                self.exit = status::NOT_INSTALLED;
                Ok(false)
            }
            Err(Error::Fault(f)) if f.code == fault::UNKNOWN_METHOD => {
                self.out("Sorry, supervisord responded but did not recognize the supervisor namespace commands that supervisorctl uses to control it.  Please check that the [rpcinterface:supervisor] section is enabled in the configuration file (see sample.conf).");
                self.exit = status::UNIMPLEMENTED_FEATURE;
                Ok(false)
            }
            Err(Error::Os(e)) if e.raw_os_error() == Some(libc::ECONNREFUSED) => {
                self.out(&format!("{} refused connection", self.url()));
                self.exit = status::INSUFFICIENT_PRIVILEGES;
                Ok(false)
            }
            Err(Error::Os(e)) if e.raw_os_error() == Some(libc::ENOENT) => {
                self.out(&format!("{} no such file", self.url()));
                self.exit = status::NOT_RUNNING;
                Ok(false)
            }
            Err(e @ (Error::Fault(_) | Error::Os(_))) => {
                self.exit = status::GENERIC;
                Err(e.into())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Python's `raw_input(prompt)`: the prompt on stdout, a line from
    /// stdin; end of input is Python's EOFError.
    fn ask(&mut self, prompt: &str) -> Result<String, Raise> {
        let mut o = std::io::stdout().lock();
        let _ = o.write_all(prompt.as_bytes());
        let _ = o.flush();
        drop(o);
        match self.input.next_line() {
            Line::Text(t) => Ok(String::from_utf8_lossy(&t).into_owned()),
            Line::Interrupted => Err(Raise::Py("<class 'KeyboardInterrupt'>", String::new())),
            Line::End => Err(Raise::Py(
                "<class 'EOFError'>",
                "EOF when reading a line".into(),
            )),
            Line::Failed(e) => Err(Raise::Rpc(Error::Os(e))),
        }
    }

    /// Catches Ctrl-C once, so that it ends a `tail -f` (and prints the
    /// newline supervisorctl prints) rather than the process.
    fn catch_interrupts(&mut self) {
        if !self.caught {
            self.caught = interrupt::catch().is_ok();
        }
    }

    /// supervisorctl's `onecmd`: runs one line; true to leave the shell.
    pub fn onecmd(&mut self, line: &str) -> bool {
        let line = line.trim();
        if line.is_empty() {
            return false;
        }
        let line = match line.strip_prefix('?') {
            Some(rest) => format!("help {rest}"),
            None => line.to_string(),
        };
        let end = line
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(line.len());
        let (cmd, arg) = (&line[..end], line[end..].trim());
        let result = match cmd {
            "EOF" | "quit" | "exit" => {
                self.out("");
                return true;
            }
            _ => self.run(cmd, arg, &line),
        };
        match result {
            Ok(()) => {}
            Err(Raise::Rpc(Error::Status(401, _))) => {
                self.out("Server requires authentication");
                if self.interactive {
                    return match self.login() {
                        Ok(()) => self.onecmd(&line),
                        Err(e) => self.raised(e),
                    };
                }
                self.exit = status::GENERIC;
                // supervisorctl then runs the command once more, which
                // fails the same way and is reported as any error.
                if let Err(e) = self.run(cmd, arg, &line) {
                    return self.raised(e);
                }
            }
            Err(e) => return self.raised(e),
        }
        false
    }

    /// One command; an unknown one is supervisorctl's `Unknown syntax`.
    fn run(&mut self, cmd: &str, arg: &str, line: &str) -> Done {
        match cmd {
            "help" => {
                admin::help(self, arg);
                Ok(())
            }
            "status" => commands::status(self, arg),
            "start" => commands::start(self, arg),
            "stop" => commands::stop(self, arg),
            "restart" => commands::restart(self, arg),
            "signal" => commands::signal(self, arg),
            "pid" => commands::pid(self, arg),
            "clear" => commands::clear(self, arg),
            "tail" => commands::tail(self, arg),
            "maintail" => commands::maintail(self, arg),
            "fg" => commands::fg(self, arg),
            "avail" => admin::avail(self, arg),
            "reread" => admin::reread(self, arg),
            "update" => admin::update(self, arg),
            "add" => admin::add(self, arg),
            "remove" => admin::remove(self, arg),
            "reload" => admin::reload(self, arg),
            "shutdown" => admin::shutdown(self, arg),
            "version" => admin::version(self, arg),
            "open" => admin::open(self, arg),
            _ => {
                self.out(&format!("*** Unknown syntax: {line}"));
                self.exit = status::GENERIC;
                Ok(())
            }
        }
    }

    /// An error no command handles: `error: CLASS, TEXT: ...`, status 1.
    /// Ctrl-C (Python's KeyboardInterrupt, which supervisorctl does not
    /// catch there) leaves the shell without a word: true.
    fn raised(&mut self, e: Raise) -> bool {
        if interrupt::take() || matches!(e, Raise::Py("<class 'KeyboardInterrupt'>", _)) {
            return true;
        }
        let (class, text) = match &e {
            Raise::Rpc(e) => output::raised(e, self.url()),
            Raise::Py(class, text) => (class.to_string(), text.clone()),
        };
        self.out(&format!(
            "error: {class}, {text}: file: sv supervisorctl line: 0"
        ));
        self.exit = status::GENERIC;
        false
    }

    /// Asks for a username and a password (unechoed at a terminal), for
    /// the next try of a command the server refused with 401.
    fn login(&mut self) -> Result<(), Raise> {
        let user = self.ask("Username:")?;
        let echo = EchoOff::new();
        let pass = self.ask("Password:");
        drop(echo);
        let pass = pass?;
        self.out("");
        self.username = Some(user);
        self.password = Some(pass);
        let url = self.url().to_string();
        self.set_server(&url);
        Ok(())
    }
}

/// Terminal echo off while a password is typed; back on when dropped.
struct EchoOff(Option<libc::termios>);

impl EchoOff {
    fn new() -> EchoOff {
        // SAFETY: tcgetattr/tcsetattr on fd 0 with a termios we own; on a
        // non-terminal they fail and nothing changes.
        unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            if libc::isatty(0) != 1 || libc::tcgetattr(0, &mut t) != 0 {
                return EchoOff(None);
            }
            let saved = t;
            t.c_lflag &= !libc::ECHO;
            libc::tcsetattr(0, libc::TCSANOW, &t);
            EchoOff(Some(saved))
        }
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        if let Some(t) = &self.0 {
            // SAFETY: restores the settings read in `new`.
            unsafe { libc::tcsetattr(0, libc::TCSANOW, t) };
        }
    }
}

/// The program name supervisorctl's messages show: how it was called.
fn progname() -> String {
    let argv0 = std::env::args().next().unwrap_or_default();
    match Path::new(&argv0).file_name() {
        Some(n) if n == "supervisorctl" => argv0,
        _ => "sv supervisorctl".to_string(),
    }
}

/// supervisord's and supervisorctl's search for a config file when no `-c`
/// is given: beside the program (`../etc/supervisord.conf`,
/// `../supervisord.conf`), then the working directory, then /etc.
fn search_config() -> Option<PathBuf> {
    let argv0 = std::env::args().next().unwrap_or_default();
    let prog = if argv0.contains('/') {
        Some(PathBuf::from(&argv0))
    } else {
        std::env::var_os("PATH").and_then(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join(&argv0))
                .find(|f| f.is_file())
        })
    };
    let here = prog
        .as_deref()
        .and_then(Path::parent)
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_default();
    [
        here.join("etc/supervisord.conf"),
        here.join("supervisord.conf"),
        PathBuf::from("supervisord.conf"),
        PathBuf::from("etc/supervisord.conf"),
        PathBuf::from("/etc/supervisord.conf"),
        PathBuf::from("/etc/supervisor/supervisord.conf"),
    ]
    .into_iter()
    .find(|p| p.exists())
}

/// `os.path.normpath(os.path.abspath(path))`.
fn normalize(path: &str) -> String {
    let p = std::path::absolute(path).unwrap_or_else(|_| PathBuf::from(path));
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            c => out.push(c),
        }
    }
    out.to_string_lossy().into_owned()
}

/// What the config file's `[supervisorctl]` says.
#[derive(Default)]
struct FromConfig {
    serverurl: Option<String>,
    username: Option<String>,
    password: Option<String>,
    prompt: Option<String>,
}

/// Reads `[supervisorctl]` of `file`; the error is supervisorctl's
/// usage message.
fn read_config(file: &Path) -> Result<FromConfig, String> {
    if !file.exists() {
        return Err(format!("could not find config file {}", file.display()));
    }
    let text = std::fs::read_to_string(file)
        .map_err(|_| format!("could not read config file {}", file.display()))?;
    let path = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
    let keys = config::read_section(&path, &text, "supervisorctl", &mut config::System)
        .map_err(|e| e.to_string())?
        .ok_or(".ini file does not include supervisorctl section")?;
    let get = |k: &str| {
        keys.iter()
            .rev()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    let mut serverurl = get("serverurl");
    if let Some(path) = serverurl.as_deref().and_then(|u| u.strip_prefix("unix://")) {
        serverurl = Some(format!("unix://{}", normalize(path)));
    }
    Ok(FromConfig {
        serverurl,
        username: get("username"),
        password: get("password"),
        prompt: get("prompt"),
    })
}

pub fn main(argv: Vec<OsString>) -> exit::Result {
    let prog = progname();
    let usage = |msg: &str| Stop::bad(format!("Error: {msg}\nFor help, use {prog} -h"));
    let words: Vec<String> = argv
        .iter()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let a = args::parse(&words).map_err(|m| usage(&m))?;
    if a.help {
        return Err(Stop::help(output::USAGE.replace("PROG", &prog)));
    }
    let file = a.config.as_ref().map(PathBuf::from).or_else(search_config);
    let conf = match &file {
        Some(f) => read_config(f).map_err(|m| usage(&m))?,
        None => FromConfig::default(),
    };
    let url = a
        .serverurl
        .or(conf.serverurl)
        .unwrap_or_else(|| "http://localhost:9001".to_string());
    let username = a.username.or(conf.username);
    let password = a.password.or(conf.password);
    let prompt = format!("{}> ", conf.prompt.unwrap_or_else(|| "supervisor".into()));
    // SAFETY: fd 0 stays open for the life of the process.
    let stdin = unsafe { BorrowedFd::borrow_raw(0) };
    let tty = std::io::stdin().is_terminal();
    let interactive = a.interactive || a.rest.is_empty();
    let mut ctl = Ctl {
        server: Server::new(&url, username.as_deref(), password.as_deref()),
        username,
        password,
        interactive,
        exit: 0,
        input: Input::new(stdin, None),
        caught: false,
    };
    if !a.rest.is_empty() {
        ctl.onecmd(&a.rest.join(" "));
        return match ctl.exit {
            0 => Ok(()),
            n => Err(Stop::told(Exit::Code(n))),
        };
    }
    if tty {
        // At a terminal Ctrl-C leaves the prompt (after ending a tail -f).
        if let Ok(wake) = interrupt::catch() {
            ctl.caught = true;
            ctl.input = Input::new(stdin, Some(wake));
        }
    }
    let mut first = Some("status".to_string());
    loop {
        let line = match first.take() {
            Some(l) => l,
            None => match ctl.ask(&prompt) {
                Ok(l) => l,
                Err(Raise::Py("<class 'EOFError'>", _)) => "EOF".to_string(),
                // Ctrl-C: the handler has ended the line; supervisorctl leaves.
                Err(_) => break,
            },
        };
        interrupt::take();
        // A Ctrl-C that ended a waiting call leaves, as in supervisorctl.
        if ctl.onecmd(&line) || interrupt::take() {
            break;
        }
    }
    // supervisorctl's shell always exits 0.
    Ok(())
}
