//! `health=` (SPEC §12): a liveness check while RUNNING, the polled forms
//! of `ready=`, and its keys `health_interval`, `health_timeout`,
//! `health_retries` and `health_action`. The runtime is
//! `supervisor/health.rs`; this is the policy, read once at load.

use super::Check;
use std::time::Duration;

/// What happens after `health_retries` consecutive failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Action {
    /// Stop by its stop rules, then start again.
    #[default]
    Restart,
    Stop,
    /// Only reported (status, log).
    None,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::Restart => "restart",
            Action::Stop => "stop",
            Action::None => "none",
        }
    }
}

/// The health policy of one program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    pub check: Option<Box<Check>>,
    /// From the end of one check to the start of the next.
    pub interval: Duration,
    /// Time allowed for one check; past it the check failed.
    pub timeout: Duration,
    /// Consecutive failures before the action.
    pub retries: u32,
    pub action: Action,
}

impl Default for Health {
    fn default() -> Self {
        Health {
            check: None,
            interval: Duration::from_secs(10),
            timeout: Duration::from_secs(5),
            retries: 3,
            action: Action::Restart,
        }
    }
}

impl Health {
    /// Sets one `health*` key; the error names the key and the value.
    pub fn set(&mut self, key: &str, v: &str) -> Result<(), String> {
        let v = v.trim();
        match key {
            "health" => {
                if v == "notify" || v.starts_with("fd:") {
                    return Err(format!(
                        "health '{v}': only tcp:, http://, exec: and file: can check a running program"
                    ));
                }
                // Check::parse words its errors for `ready`.
                let check = Check::parse(v).map_err(|e| e.replacen("ready", "health", 1))?;
                self.check = Some(Box::new(check));
            }
            "health_interval" => self.interval = secs_min1(v, key)?,
            "health_timeout" => self.timeout = secs_min1(v, key)?,
            "health_retries" => {
                self.retries = match v.parse::<u32>() {
                    Ok(n) if (1..=1000).contains(&n) => n,
                    _ => return Err(format!("{key} '{v}' must be a number from 1 to 1000")),
                }
            }
            "health_action" => {
                self.action = match v {
                    "restart" => Action::Restart,
                    "stop" => Action::Stop,
                    "none" => Action::None,
                    _ => return Err(format!("{key} '{v}' must be restart, stop or none")),
                }
            }
            _ => return Err(format!("unknown key '{key}'")),
        }
        Ok(())
    }
}

/// Whole seconds, at least 1: 0 would make a check spin.
fn secs_min1(v: &str, key: &str) -> Result<Duration, String> {
    let d = crate::core::spec::parse_secs(v, key)?;
    if d.is_zero() {
        return Err(format!("{key} must be at least 1 second"));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::spec::ServiceSpec;

    #[test]
    fn the_keys_set_the_policy_and_bad_values_say_why() {
        let mut s = ServiceSpec::new("x", vec!["/bin/true".into()]);
        assert_eq!(s.policy.health, Health::default());
        assert_eq!(s.policy.health.interval, Duration::from_secs(10));
        assert_eq!(s.policy.health.timeout, Duration::from_secs(5));
        assert_eq!(s.policy.health.retries, 3);
        assert_eq!(s.policy.health.action, Action::Restart);
        s.set("health", "tcp:127.0.0.1:80").unwrap();
        s.set("health_interval", "2").unwrap();
        s.set("health_timeout", "1").unwrap();
        s.set("health_retries", "5").unwrap();
        s.set("health_action", "none").unwrap();
        let h = &s.policy.health;
        assert_eq!(h.check.as_ref().unwrap().text, "tcp:127.0.0.1:80");
        assert_eq!(h.interval, Duration::from_secs(2));
        assert_eq!(h.timeout, Duration::from_secs(1));
        assert_eq!(h.retries, 5);
        assert_eq!(h.action, Action::None);
        s.set("health_action", "stop").unwrap();
        assert_eq!(s.policy.health.action, Action::Stop);
        for (k, v) in [
            ("health", "notify"),
            ("health", "fd:3"),
            ("health", "bogus"),
            ("health_interval", "0"),
            ("health_timeout", "0"),
            ("health_retries", "0"),
            ("health_retries", "x"),
            ("health_action", "reboot"),
        ] {
            assert!(s.set(k, v).is_err(), "{k}={v}");
        }
        let e = s.set("health", "bogus").unwrap_err().to_string();
        assert!(e.starts_with("health 'bogus'"), "{e}");
    }
}
