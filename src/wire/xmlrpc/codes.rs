//! supervisord's numbers, as its clients know them (supervisor/xmlrpc.py
//! `Faults`, supervisor/states.py): fault codes, process states and the
//! daemon's states. Shared by the daemon's `/RPC2` and `supervisorctl`.

/// Fault codes (`faultCode`); the text is `NAME: detail` or `NAME`.
pub mod fault {
    pub const UNKNOWN_METHOD: i64 = 1;
    pub const INCORRECT_PARAMETERS: i64 = 2;
    pub const BAD_ARGUMENTS: i64 = 3;
    pub const SIGNATURE_UNSUPPORTED: i64 = 4;
    pub const SHUTDOWN_STATE: i64 = 6;
    pub const BAD_NAME: i64 = 10;
    pub const BAD_SIGNAL: i64 = 11;
    pub const NO_FILE: i64 = 20;
    pub const NOT_EXECUTABLE: i64 = 21;
    pub const FAILED: i64 = 30;
    pub const ABNORMAL_TERMINATION: i64 = 40;
    pub const SPAWN_ERROR: i64 = 50;
    pub const ALREADY_STARTED: i64 = 60;
    pub const NOT_RUNNING: i64 = 70;
    pub const SUCCESS: i64 = 80;
    pub const ALREADY_ADDED: i64 = 90;
    pub const STILL_RUNNING: i64 = 91;
    pub const CANT_REREAD: i64 = 92;
}

/// A fault code's name, as supervisord's `getFaultDescription`.
pub fn fault_name(code: i64) -> &'static str {
    use fault::*;
    match code {
        UNKNOWN_METHOD => "UNKNOWN_METHOD",
        INCORRECT_PARAMETERS => "INCORRECT_PARAMETERS",
        BAD_ARGUMENTS => "BAD_ARGUMENTS",
        SIGNATURE_UNSUPPORTED => "SIGNATURE_UNSUPPORTED",
        SHUTDOWN_STATE => "SHUTDOWN_STATE",
        BAD_NAME => "BAD_NAME",
        BAD_SIGNAL => "BAD_SIGNAL",
        NO_FILE => "NO_FILE",
        NOT_EXECUTABLE => "NOT_EXECUTABLE",
        FAILED => "FAILED",
        ABNORMAL_TERMINATION => "ABNORMAL_TERMINATION",
        SPAWN_ERROR => "SPAWN_ERROR",
        ALREADY_STARTED => "ALREADY_STARTED",
        NOT_RUNNING => "NOT_RUNNING",
        SUCCESS => "SUCCESS",
        ALREADY_ADDED => "ALREADY_ADDED",
        STILL_RUNNING => "STILL_RUNNING",
        CANT_REREAD => "CANT_REREAD",
        _ => "UNKNOWN",
    }
}

/// A fault as supervisord words it: `NAME: detail`, or `NAME` alone.
pub fn fault_text(code: i64, detail: &str) -> String {
    if detail.is_empty() {
        fault_name(code).to_string()
    } else {
        format!("{}: {detail}", fault_name(code))
    }
}

/// Process states (`state` / `statename` of `getProcessInfo`).
pub const PROCESS_STATES: &[(i64, &str)] = &[
    (0, "STOPPED"),
    (10, "STARTING"),
    (20, "RUNNING"),
    (30, "BACKOFF"),
    (40, "STOPPING"),
    (100, "EXITED"),
    (200, "FATAL"),
    (1000, "UNKNOWN"),
];

/// A process state's code from its name; UNKNOWN's for a name not there.
pub fn process_state_code(name: &str) -> i64 {
    PROCESS_STATES
        .iter()
        .find(|(_, n)| *n == name)
        .map_or(1000, |(c, _)| *c)
}

/// The daemon's states (`getState`): code and name.
pub mod daemon_state {
    pub const FATAL: (i64, &str) = (2, "FATAL");
    pub const RUNNING: (i64, &str) = (1, "RUNNING");
    pub const RESTARTING: (i64, &str) = (0, "RESTARTING");
    pub const SHUTDOWN: (i64, &str) = (-1, "SHUTDOWN");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_codes_agree() {
        assert_eq!(fault_text(fault::BAD_NAME, "web"), "BAD_NAME: web");
        assert_eq!(fault_text(fault::NOT_RUNNING, ""), "NOT_RUNNING");
        assert_eq!(fault_name(12345), "UNKNOWN");
        assert_eq!(process_state_code("FATAL"), 200);
        assert_eq!(process_state_code("PENDING"), 1000);
    }
}
