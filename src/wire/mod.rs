//! The messages that cross the control socket (SPEC §9).
//!
//! Every enum here is encoded by nanoserde as its variant's u16 position, so
//! variants are only ever appended, never reordered or removed: an old client
//! talking to a new daemon must keep meaning the same thing. Strings and lists
//! go through [`Text`] and [`List`], whose decoders check a length against the
//! bytes actually present before allocating (nanoserde's own `String` decoder
//! can panic on an overflowing length and its `Vec` decoder trusts the length
//! for `with_capacity`).

pub mod frame;
pub mod http;
mod safe;
pub mod xmlrpc;

pub use frame::{decode, encode, FrameError, MAX_FRAME, PROTOCOL_VERSION};
pub use safe::{List, Text};

use nanoserde::{DeBin, SerBin, SerJson};

/// What a client asks of the daemon. Append-only.
#[derive(SerBin, DeBin, Debug, Clone, PartialEq)]
pub enum Request {
    /// Liveness check; answered with `Response::Ok`.
    Ping,
    /// The daemon's own facts, for `list-supervisors`.
    Info,
    /// Stop every service by its stop rules, answer, then exit.
    Shutdown,
    /// `create-service`.
    Create(CreateSpec),
    /// `open-service`: adopt a process sv did not start.
    Adopt(AdoptSpec),
    /// An action on targets (names, pids, `PROGRAM:*`, `all`).
    Act(Action, List<Text>),
    /// State of the named services, or of every service when the list is empty.
    Status(List<Text>),
    /// The end of a service's captured output, and with `follow` what comes next.
    Tail(TailSpec),
    /// Re-read the config file.
    Reload,
    /// `create-service` answered once the service is RUNNING (past
    /// startsecs) or has failed, as `start` is; `Create` answers at once
    /// (`--no-wait`, and clients older than this variant).
    CreateWait(CreateSpec),
    /// `sv wait`: answered once every target meets the condition (`Ok`),
    /// or one cannot (`Error` naming it); the client keeps the timeout.
    Wait(WaitSpec),
    /// `sv reread`: read the config file, apply nothing, say what changed
    /// by group (supervisorctl's `reread`).
    Reread,
    /// `sv update [GROUP...]`: read the config file and apply it as
    /// `Reload` does, to the named groups only when some are named.
    Update(List<Text>),
    /// `sv avail`: the processes of the config read last, in use or not.
    Avail,
}

/// What `sv wait` waits for (SPEC §12).
#[derive(SerBin, DeBin, Debug, Clone, PartialEq, Default)]
pub struct WaitSpec {
    pub targets: List<Text>,
    pub until: WaitFor,
}

/// The condition of `sv wait --for`. Append-only.
#[derive(SerBin, DeBin, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WaitFor {
    /// RUNNING.
    #[default]
    Running,
    /// No process: STOPPED, EXITED or FATAL.
    Stopped,
    /// EXITED with an expected code (a one-shot job).
    Completed,
}

#[derive(SerBin, DeBin, Debug, Clone, PartialEq, Default)]
pub struct TailSpec {
    pub target: Text,
    /// 0 stdout, 1 stderr.
    pub stream: u8,
    pub lines: u32,
    pub follow: bool,
}

/// The verbs that act on targets. Append-only.
#[derive(SerBin, DeBin, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Start,
    Stop,
    Restart,
    Suspend,
    Resume,
    Remove,
    Cancel,
    Signal(i32),
}

/// Everything `create-service` says about a new service.
#[derive(SerBin, DeBin, Debug, Clone, PartialEq, Default)]
pub struct CreateSpec {
    /// argv[0] is the program (a path, or a name looked up in PATH).
    pub argv: List<Text>,
    pub name: Option<Text>,
    /// The client's working directory: the child runs there and relative
    /// program paths resolve against it.
    pub cwd: Text,
    /// `-c SECS`: start this many seconds from now (PENDING).
    pub delay_secs: Option<u64>,
    /// `-r N`: restarts allowed after unexpected exits.
    pub restarts: Option<u32>,
    /// `--create-stopped`.
    pub stopped: bool,
    /// `--set KEY=VALUE`, in order.
    pub settings: List<Setting>,
}

#[derive(SerBin, DeBin, Debug, Clone, PartialEq, Default)]
pub struct Setting {
    pub key: Text,
    pub value: Text,
}

#[derive(SerBin, DeBin, Debug, Clone, PartialEq, Default)]
pub struct AdoptSpec {
    pub pid: i32,
    pub name: Option<Text>,
}

/// The daemon's answer. Append-only.
#[derive(SerBin, DeBin, Debug, Clone, PartialEq)]
pub enum Response {
    /// Done; the text is printed as is (may be empty).
    Ok(Text),
    /// Refused or failed; the text names what went wrong.
    Error(Text),
    /// One line per target: `NAME: message`. Exit 1 if any is not ok.
    Outcomes(List<Outcome>),
    /// Service rows for `status`, `list-supervisor`, `service-status`.
    Status(List<ServiceInfo>),
    /// The daemon's facts, for `list-supervisors`.
    Info(DaemonInfo),
    /// Raw output bytes (`tail`); a followed tail sends many.
    Bytes(List<u8>),
    /// The first rows of a `Status` too large for one frame; more follow,
    /// and the final `Status` ends the answer.
    StatusPart(List<ServiceInfo>),
    /// The first outcomes of an `Outcomes` too large for one frame; more
    /// follow, and the final `Outcomes` ends the answer.
    OutcomesPart(List<Outcome>),
}

#[derive(SerBin, DeBin, SerJson, Debug, Clone, PartialEq, Default)]
pub struct Outcome {
    pub name: Text,
    pub ok: bool,
    pub message: Text,
}

/// One service as `status` shows it. `detail` is the ready-made third column.
#[derive(SerBin, DeBin, SerJson, Debug, Clone, PartialEq, Default)]
pub struct ServiceInfo {
    pub name: Text,
    pub state: Text,
    /// 0 when there is no process.
    pub pid: i32,
    pub uptime_secs: u64,
    pub restarts: u32,
    /// `exit 3`, `killed by SIGSEGV`, `exit status unknown`, or empty.
    pub last_exit: Text,
    pub detail: Text,
    pub command: Text,
    pub adopted: bool,
}

#[derive(SerBin, DeBin, SerJson, Debug, Clone, PartialEq, Default)]
pub struct DaemonInfo {
    pub instance: u8,
    pub pid: i32,
    pub uptime_secs: u64,
    pub services: u32,
    /// Config file path, or empty.
    pub config: Text,
}

#[cfg(test)]
mod tests;
