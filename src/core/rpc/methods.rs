//! The table of `/RPC2` methods: each method's name, its signature as
//! `system.methodSignature` gives it (the return type, then the parameter
//! types, comma-separated: `boolean,string,boolean`) and its help text.
//! The table is what `system.listMethods`, `methodHelp` and
//! `methodSignature` read; calls are dispatched by a fixed `match` on the
//! name, never by looking a name up among attributes (CVE-2017-11610).
//! `event_loop/rpc_admin.rs` keeps its methods in a table of the same form.

use crate::wire::xmlrpc::Value;

/// One method: name, signature, help.
pub type Method = (&'static str, &'static str, &'static str);

/// The methods of `event_loop/rpc.rs`: `system.*` and the process methods.
pub const METHODS: &[Method] = &[
    ("system.listMethods", "array", "The names of every method.\n\n@return array result  method names"),
    ("system.methodHelp", "string,string", "A method's help text.\n\n@param string name  the method\n@return string result  its help"),
    ("system.methodSignature", "array,string", "A method's signature: the return type, then the type of each parameter.\n\n@param string name  the method\n@return array result  [rtype, ptype, ...]"),
    ("system.multicall", "array,array", "Several calls in one request: an array of {methodName, params} structs; the answer holds [result] or {faultCode, faultString} for each. Calls that would wait for processes answer as with wait=false.\n\n@param array calls  the calls\n@return array result  their results"),
    ("supervisor.getAPIVersion", "string", "The version of the XML-RPC API (3.0, supervisord's).\n\n@return string version"),
    ("supervisor.getVersion", "string", "The version of the XML-RPC API (an older name of getAPIVersion).\n\n@return string version"),
    ("supervisor.getSupervisorVersion", "string", "The version of sv serving this interface.\n\n@return string version"),
    ("supervisor.getIdentification", "string", "The identifier of this supervisor ([supervisord] identifier).\n\n@return string identifier"),
    ("supervisor.getState", "struct", "The daemon's state.\n\n@return struct state  {statecode, statename}"),
    ("supervisor.getPID", "int", "The daemon's process id.\n\n@return int pid"),
    ("supervisor.shutdown", "boolean", "Stops every process by its stop rules, then the daemon.\n\n@return boolean result  true"),
    ("supervisor.restart", "boolean", "Re-reads the config file as `sv reload` does: unchanged programs keep running, changed ones restart.\n\n@return boolean result  true"),
    ("supervisor.startProcess", "boolean,string,boolean", "Starts a process (name, group:name, or group:* for a group).\n\n@param string name  the process\n@param boolean wait  answer once it is RUNNING or has failed\n@return boolean result  true"),
    ("supervisor.startProcessGroup", "array,string,boolean", "Starts every process of a group that is not running.\n\n@param string name  the group\n@param boolean wait  answer once each is RUNNING or has failed\n@return array result  a {name, group, status, description} struct each"),
    ("supervisor.startAllProcesses", "array,boolean", "Starts every process that is not running.\n\n@param boolean wait  answer once each is RUNNING or has failed\n@return array result  a {name, group, status, description} struct each"),
    ("supervisor.stopProcess", "boolean,string,boolean", "Stops a process (name, group:name, or group:* for a group).\n\n@param string name  the process\n@param boolean wait  answer once it has stopped\n@return boolean result  true"),
    ("supervisor.stopProcessGroup", "array,string,boolean", "Stops every running process of a group.\n\n@param string name  the group\n@param boolean wait  answer once each has stopped\n@return array result  a {name, group, status, description} struct each"),
    ("supervisor.stopAllProcesses", "array,boolean", "Stops every running process.\n\n@param boolean wait  answer once each has stopped\n@return array result  a {name, group, status, description} struct each"),
    ("supervisor.signalProcess", "boolean,string,string", "Sends a signal to a process.\n\n@param string name  the process (or group:* for a group)\n@param string signal  a name (HUP, SIGHUP) or a number\n@return boolean result  true"),
    ("supervisor.signalProcessGroup", "array,string,string", "Sends a signal to every process of a group that can take one.\n\n@param string name  the group\n@param string signal  a name (HUP, SIGHUP) or a number\n@return array result  a {name, group, status, description} struct each"),
    ("supervisor.signalAllProcesses", "array,string", "Sends a signal to every process that can take one.\n\n@param string signal  a name (HUP, SIGHUP) or a number\n@return array result  a {name, group, status, description} struct each"),
    ("supervisor.getProcessInfo", "struct,string", "A process's state, pid, times, logs and description.\n\n@param string name  the process (or group:name)\n@return struct result  the process info"),
    ("supervisor.getAllProcessInfo", "array", "The info of every process, by group and name.\n\n@return array result  a process info struct each"),
    ("supervisor.sendProcessStdin", "boolean,string,string", "Refused: sv gives its children /dev/null as stdin.\n\n@param string name  the process\n@param string chars  what to send\n@return boolean result  never: a fault says why"),
    ("supervisor.sendRemoteCommEvent", "boolean,string,string", "Raises a REMOTE_COMMUNICATION event for the event listeners.\n\n@param string type  the event's type\n@param string data  its body\n@return boolean result  true"),
];

/// Every method of `tables`, sorted (`system.listMethods`).
pub fn names(tables: &[&[Method]]) -> Vec<Value> {
    let mut all: Vec<&str> = tables.iter().flat_map(|t| t.iter().map(|m| m.0)).collect();
    all.sort_unstable();
    all.dedup();
    all.into_iter().map(Value::from).collect()
}

/// The entry of `name` in `tables`.
pub fn find(tables: &[&[Method]], name: &str) -> Option<Method> {
    tables
        .iter()
        .flat_map(|t| t.iter())
        .find(|m| m.0 == name)
        .copied()
}

/// A signature as `system.methodSignature` answers it: `[rtype, ptypes...]`.
pub fn signature(sig: &str) -> Value {
    Value::Array(sig.split(',').map(|t| Value::from(t.trim())).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_signature_is_a_list_of_xmlrpc_types() {
        let types = ["array", "boolean", "int", "string", "struct"];
        for (name, sig, help) in METHODS {
            assert!(!help.is_empty(), "{name}");
            for t in sig.split(',') {
                assert!(types.contains(&t), "{name}: {t}");
            }
        }
    }

    #[test]
    fn names_are_sorted_and_found_in_any_table() {
        const MORE: &[Method] = &[("supervisor.readLog", "string,int,int", "read")];
        let all = names(&[METHODS, MORE]);
        let strs: Vec<&str> = all.iter().filter_map(Value::as_str).collect();
        let mut sorted = strs.clone();
        sorted.sort_unstable();
        assert_eq!(strs, sorted);
        assert!(strs.contains(&"supervisor.readLog"));
        assert_eq!(
            find(&[METHODS, MORE], "supervisor.readLog").map(|m| m.1),
            Some("string,int,int")
        );
        assert_eq!(
            find(&[METHODS], "supervisor.supervisord.options.execve"),
            None
        );
        assert_eq!(
            signature("boolean,string,boolean"),
            Value::Array(vec!["boolean".into(), "string".into(), "boolean".into()])
        );
    }
}
