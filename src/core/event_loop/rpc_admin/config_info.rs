//! `getAllConfigInfo`: one struct per process of the config read last,
//! with the keys supervisord 4 returns (supervisor/rpcinterface.py), in
//! name order. Keys sv has no use for get supervisord's values for them
//! (no capture mode, no events, no syslog); a missing value is `none`.

use crate::core::service::RestartRule;
use crate::core::spec::{join_words, ServiceSpec};
use crate::core::stream::Stream;
use crate::core::supervisor::groups::{group_of, group_priority, processes_by_name};
use crate::core::supervisor::Supervisor;
use crate::wire::xmlrpc::Value;
use std::collections::HashSet;

pub fn all(sup: &Supervisor) -> Value {
    let Some(cfg) = sup.last_config() else {
        return Value::Array(Vec::new());
    };
    let in_use: HashSet<&str> = sup.services().filter_map(|s| group_of(&s.spec)).collect();
    let mut rows = Vec::new();
    for spec in processes_by_name(&cfg) {
        let group = group_of(spec).unwrap_or(&spec.name);
        rows.push(one(sup, spec, group, in_use.contains(group)));
    }
    Value::Array(rows)
}

/// An int as XML-RPC carries it: 32 bits.
fn int(n: impl TryInto<i32>) -> Value {
    Value::Int(i64::from(n.try_into().unwrap_or(i32::MAX)))
}

fn one(sup: &Supervisor, spec: &ServiceSpec, group: &str, inuse: bool) -> Value {
    let p = &spec.policy;
    let none = || Value::Str("none".into());
    let startretries = match p.restart {
        RestartRule::Auto { startretries, .. } => startretries,
        RestartRule::Never | RestartRule::Budget(_) => 0,
    };
    let group_prio = group_priority(spec);
    let uid = spec.user.as_deref().and_then(|u| match u.parse::<u32>() {
        Ok(n) => Some(n),
        Err(_) => nix::unistd::User::from_name(u)
            .ok()
            .flatten()
            .map(|u| u.uid.as_raw()),
    });
    let mut v: Vec<(String, Value)> = [
        ("autostart", Value::Bool(spec.autostart)),
        (
            "directory",
            spec.cwd
                .as_ref()
                .map_or_else(none, |d| Value::Str(d.display().to_string())),
        ),
        ("uid", uid.map_or_else(none, int)),
        ("command", Value::Str(join_words(&spec.argv))),
        (
            "exitcodes",
            Value::Array(p.exitcodes.iter().map(|c| int(*c)).collect()),
        ),
        ("group", Value::Str(group.to_string())),
        ("group_prio", int(group_prio)),
        ("inuse", Value::Bool(inuse)),
        ("killasgroup", Value::Bool(p.group)),
        ("name", Value::Str(spec.name.clone())),
        ("process_prio", int(spec.priority)),
        ("redirect_stderr", Value::Bool(spec.redirect_stderr)),
        ("startretries", int(startretries)),
        ("startsecs", int(p.startsecs.as_secs())),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    for stream in Stream::BOTH {
        let logfile = sup
            .log_path(spec, stream)
            .map_or_else(none, |f| Value::Str(f.display().to_string()));
        v.extend(
            [
                ("capture_maxbytes", int(0)),
                ("events_enabled", Value::Bool(spec.events_enabled[stream])),
                ("logfile", logfile),
                ("logfile_backups", int(spec.backups[stream])),
                ("logfile_maxbytes", int(spec.maxbytes[stream])),
                ("syslog", Value::Bool(false)),
            ]
            .map(|(k, v)| (format!("{stream}_{k}"), v)),
        );
    }
    // No `serverurl=` of its own: supervisord's None.
    for (k, val) in [
        ("stopsignal", int(p.stopsignal)),
        ("stopwaitsecs", int(p.stopwait.as_secs())),
        ("serverurl", none()),
    ] {
        v.push((k.to_string(), val));
    }
    Value::Struct(v.into_iter().map(|(k, val)| (k.into(), val)).collect())
}
