//! The event types of supervisord's `EventTypes` (SPEC §14), what a pool
//! subscribes to, and the payloads, formatted as supervisord's events.py
//! formats them.

use std::fmt::Write;

/// A concrete event type: an index into [`NAMES`].
pub type Kind = u8;

/// The concrete types, by [`Kind`]; a pool's subscription is a bit mask
/// over them.
pub const NAMES: [&str; 20] = [
    "PROCESS_STATE_STOPPED",
    "PROCESS_STATE_EXITED",
    "PROCESS_STATE_STARTING",
    "PROCESS_STATE_STOPPING",
    "PROCESS_STATE_BACKOFF",
    "PROCESS_STATE_FATAL",
    "PROCESS_STATE_RUNNING",
    "PROCESS_STATE_UNKNOWN",
    "PROCESS_LOG_STDOUT",
    "PROCESS_LOG_STDERR",
    "PROCESS_GROUP_ADDED",
    "PROCESS_GROUP_REMOVED",
    "SUPERVISOR_STATE_CHANGE_RUNNING",
    "SUPERVISOR_STATE_CHANGE_STOPPING",
    "REMOTE_COMMUNICATION",
    "TICK_5",
    "TICK_60",
    "TICK_3600",
    // Never raised by sv (no capture mode), accepted in `events=`.
    "PROCESS_COMMUNICATION_STDOUT",
    "PROCESS_COMMUNICATION_STDERR",
];

pub const PROCESS_LOG_STDOUT: Kind = 8;
pub const PROCESS_LOG_STDERR: Kind = 9;
pub const GROUP_ADDED: Kind = 10;
pub const GROUP_REMOVED: Kind = 11;
pub const SUPERVISOR_RUNNING: Kind = 12;
pub const SUPERVISOR_STOPPING: Kind = 13;
pub const REMOTE_COMMUNICATION: Kind = 14;
pub const TICK_5: Kind = 15;

/// The abstract types: each stands for every concrete one its name
/// begins (`EVENT`: all of them).
pub const PARENTS: [&str; 7] = [
    "EVENT",
    "PROCESS_STATE",
    "PROCESS_LOG",
    "PROCESS_GROUP",
    "PROCESS_COMMUNICATION",
    "SUPERVISOR_STATE_CHANGE",
    "TICK",
];

/// The bit of one type.
pub fn bit(kind: Kind) -> u32 {
    1 << kind
}

/// The kind of a PROCESS_STATE event by supervisord's state name.
pub fn state_kind(state: &str) -> Kind {
    NAMES[..8]
        .iter()
        .position(|n| n[14..] == *state)
        .unwrap_or(7) as Kind
}

/// The mask of one name of `events=` (any case, as supervisord upper-cases
/// it), None when supervisord knows no such type.
pub fn mask_of(name: &str) -> Option<u32> {
    let name = name.trim().to_ascii_uppercase();
    if name == "EVENT" {
        return Some((1 << NAMES.len()) - 1);
    }
    let mut mask = 0;
    for (i, n) in NAMES.iter().enumerate() {
        let child = n.strip_prefix(name.as_str());
        let is_parent = PARENTS.contains(&name.as_str());
        if child == Some("") || (is_parent && child.is_some_and(|c| c.starts_with('_'))) {
            mask |= bit(i as Kind);
        }
    }
    (mask != 0).then_some(mask)
}

/// What the pools of a config section subscribe to and how much they
/// queue (SPEC §14); carried by each process of the pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolConf {
    pub events: u32,
    pub buffer_size: usize,
}

/// The header line supervisord's `_eventEnvelope` writes before a payload.
pub fn header(
    ident: &str,
    serial: u64,
    pool: &str,
    poolserial: u64,
    kind: Kind,
    len: usize,
) -> String {
    format!(
        "ver:3.0 server:{ident} serial:{serial} pool:{pool} poolserial:{poolserial} eventname:{} len:{len}\n",
        NAMES[kind as usize]
    )
}

/// The length supervisord writes: of the payload as a Python string, in
/// characters (a listener reading with Python reads that many characters).
pub fn py_len(payload: &str) -> usize {
    payload.chars().count()
}

/// Data as supervisord puts it in a payload: as text, or when it is not
/// UTF-8, `Undecodable: ` and Python's repr of the bytes.
pub fn py_text(data: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(data) {
        Ok(s) => s.into(),
        Err(_) => format!("Undecodable: {}", py_repr(data)).into(),
    }
}

/// Python's `repr(bytes)`.
pub fn py_repr(data: &[u8]) -> String {
    let quote = if data.contains(&b'\'') && !data.contains(&b'"') {
        b'"'
    } else {
        b'\''
    };
    let mut s = String::with_capacity(data.len() + 3);
    s.push('b');
    s.push(quote as char);
    for &b in data {
        match b {
            b'\\' => s.push_str("\\\\"),
            b'\t' => s.push_str("\\t"),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            _ if b == quote => {
                s.push('\\');
                s.push(b as char);
            }
            0x20..=0x7e => s.push(b as char),
            _ => {
                let _ = write!(s, "\\x{b:02x}");
            }
        }
    }
    s.push(quote as char);
    s
}

/// A PROCESS_STATE payload: `processname:x groupname:g from_state:S`, then
/// the extra values of the state's event class (no line end).
pub fn state_payload(name: &str, group: &str, from: &str, kind: Kind, extra: StateExtra) -> String {
    let mut s = format!("processname:{name} groupname:{group} from_state:{from}");
    match NAMES[kind as usize] {
        "PROCESS_STATE_STARTING" | "PROCESS_STATE_BACKOFF" => {
            let _ = write!(s, " tries:{}", extra.tries);
        }
        "PROCESS_STATE_EXITED" => {
            let _ = write!(s, " expected:{} pid:{}", extra.expected as u8, extra.pid);
        }
        "PROCESS_STATE_RUNNING" | "PROCESS_STATE_STOPPING" | "PROCESS_STATE_STOPPED" => {
            let _ = write!(s, " pid:{}", extra.pid);
        }
        _ => {}
    }
    s
}

/// The values some PROCESS_STATE events add.
#[derive(Debug, Clone, Copy, Default)]
pub struct StateExtra {
    pub tries: u32,
    pub expected: bool,
    /// 0 when there is no process, as supervisord's.
    pub pid: i32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_subscribe_to_their_children_only() {
        let m = |n| mask_of(n).unwrap();
        assert_eq!(m("EVENT").count_ones() as usize, NAMES.len());
        assert_eq!(m("PROCESS_STATE").count_ones(), 8);
        assert_eq!(m("process_state_exited"), bit(1));
        assert_eq!(m("TICK"), bit(15) | bit(16) | bit(17));
        assert_eq!(m("TICK_60"), bit(16));
        assert_eq!(m("PROCESS_LOG"), bit(8) | bit(9));
        assert_eq!(m("SUPERVISOR_STATE_CHANGE").count_ones(), 2);
        assert_eq!(mask_of("PROCESS"), None);
        assert_eq!(mask_of("TICK_6"), None);
        assert_eq!(mask_of("PROCESS_STATE_EXIT"), None);
        assert_eq!(mask_of("NOPE"), None);
    }

    #[test]
    fn state_kinds_by_supervisord_name() {
        assert_eq!(
            NAMES[state_kind("RUNNING") as usize],
            "PROCESS_STATE_RUNNING"
        );
        assert_eq!(NAMES[state_kind("FATAL") as usize], "PROCESS_STATE_FATAL");
        assert_eq!(NAMES[state_kind("?") as usize], "PROCESS_STATE_UNKNOWN");
    }

    #[test]
    fn headers_and_payloads_are_supervisords() {
        assert_eq!(
            header("supervisor", 3, "crash", 1, 6, 61),
            "ver:3.0 server:supervisor serial:3 pool:crash poolserial:1 \
             eventname:PROCESS_STATE_RUNNING len:61\n"
        );
        let x = StateExtra {
            tries: 2,
            expected: false,
            pid: 42,
        };
        assert_eq!(
            state_payload("a", "g", "STOPPED", state_kind("STARTING"), x),
            "processname:a groupname:g from_state:STOPPED tries:2"
        );
        assert_eq!(
            state_payload("a", "a", "RUNNING", state_kind("EXITED"), x),
            "processname:a groupname:a from_state:RUNNING expected:0 pid:42"
        );
        assert_eq!(
            state_payload("a", "a", "STOPPING", state_kind("STOPPED"), x),
            "processname:a groupname:a from_state:STOPPING pid:42"
        );
        assert_eq!(
            state_payload("a", "a", "BACKOFF", state_kind("FATAL"), x),
            "processname:a groupname:a from_state:BACKOFF"
        );
    }

    #[test]
    fn undecodable_data_is_pythons_repr() {
        assert_eq!(py_text(b"h\xc3\xa9\n"), "h\u{e9}\n");
        assert_eq!(py_len("h\u{e9}\n"), 3);
        assert_eq!(py_text(b"a\xff'\n"), "Undecodable: b\"a\\xff'\\n\"");
        assert_eq!(py_repr(b"'\"\\\t\x00"), "b'\\'\"\\\\\\t\\x00'");
    }
}
