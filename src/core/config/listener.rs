//! What `[eventlistener:x]` adds to a program's keys (SPEC §14), read as
//! supervisord reads it: `events` (required, names of `EventTypes`),
//! `buffer_size` (default 10, at least 1), `result_handler` (only the
//! default), no `redirect_stderr`, its group's priority -1 unless set
//! (started first, stopped last; the process's own stays 999, as
//! supervisord's `avail` shows `-1:999`). Its stdout is the protocol
//! channel, never a log.

use super::build::Loader;
use super::lex::Section;
use super::{ConfigError, Program};
use crate::core::events::{types, PoolConf};
use crate::core::spec::OutputSpec;

/// The keys only a listener has.
pub(super) const KEYS: [&str; 3] = ["events", "buffer_size", "result_handler"];

const DEFAULT_HANDLER: &str = "supervisor.dispatchers:default_handler";

impl Loader<'_> {
    /// Makes the processes of `p`, read from section `s`, a pool's.
    pub(super) fn listener(&mut self, s: &Section, p: &mut Program) -> Result<(), ConfigError> {
        let label = format!("[eventlistener:{}]", p.name);
        let mut conf = PoolConf {
            events: 0,
            buffer_size: 10,
        };
        let mut events_seen = false;
        let mut priority = false;
        for e in &s.entries {
            let v = e.value.trim();
            match e.key.as_str() {
                "events" => {
                    events_seen = true;
                    conf.events = 0;
                    // `events=TICK_5,` names an empty type: supervisord
                    // refuses it ("Unknown event type  in [...] events").
                    for name in v.split(',').map(str::trim).filter(|_| !v.is_empty()) {
                        conf.events |= types::mask_of(name).ok_or_else(|| {
                            let hint = if name.is_empty() {
                                " (an empty name: a comma too many?)".to_string()
                            } else {
                                crate::core::suggest::hint(
                                    &name.to_ascii_uppercase(),
                                    types::NAMES.iter().chain(&types::PARENTS).copied(),
                                )
                            };
                            let msg = format!("unknown event type {name} in {label} events{hint}");
                            self.err(e.file, e.line, msg)
                        })?;
                    }
                }
                "buffer_size" => {
                    conf.buffer_size = match v.parse::<usize>() {
                        Ok(n) if (1..=100_000).contains(&n) => n,
                        _ => {
                            let msg = format!(
                                "buffer_size in {label}: '{v}' is not a whole number from 1 to 100000"
                            );
                            return Err(self.err(e.file, e.line, msg));
                        }
                    }
                }
                "result_handler" if v != DEFAULT_HANDLER => {
                    let msg = format!(
                        "result_handler in {label}: only {DEFAULT_HANDLER} is supported, not {v}"
                    );
                    return Err(self.err(e.file, e.line, msg));
                }
                "redirect_stderr"
                    if matches!(v.to_ascii_lowercase().as_str(), "true" | "yes" | "on" | "1") =>
                {
                    let msg = format!(
                        "{label} sets redirect_stderr=true, which is not allowed: \
                         it would interfere with the eventlistener protocol"
                    );
                    return Err(self.err(e.file, e.line, msg));
                }
                "priority" => priority = true,
                _ => {}
            }
        }
        if conf.events == 0 && !self.incomplete {
            let msg = if events_seen {
                format!("{label} subscribes to no events (events = PROCESS_STATE)")
            } else {
                format!("{label} requires an events line (events = PROCESS_STATE)")
            };
            return Err(self.err(s.file, s.line, msg));
        }
        for spec in p.processes.iter_mut() {
            spec.stdout = OutputSpec::Discard;
            if !priority && spec.group_priority.is_none() {
                spec.group_priority = Some(-1);
            }
            spec.listener = Some(Box::new(conf.clone()));
        }
        Ok(())
    }
}
