//! How long BACKOFF lasts before retry N (SPEC §6, §12): `linear` (N s, as
//! supervisord) or `exponential` (2^(N-1) s), each delay capped by
//! `backoff_max`, so `startretries=0` retries for ever at a bounded pace.

use super::Policy;
use std::time::Duration;

/// The `backoff` key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backoff {
    /// N s before retry N.
    #[default]
    Linear,
    /// 2^(N-1) s before retry N.
    Exponential,
}

/// `backoff_max` when the config says nothing.
pub const DEFAULT_BACKOFF_MAX: Duration = Duration::from_secs(60);

impl Backoff {
    pub fn parse(v: &str) -> Result<Backoff, String> {
        match v.to_ascii_lowercase().as_str() {
            "linear" => Ok(Backoff::Linear),
            "exponential" => Ok(Backoff::Exponential),
            _ => Err(format!("backoff '{v}' must be linear or exponential")),
        }
    }
}

/// `backoff_max`: whole seconds, at least 1, since a delay of 0 would
/// respawn a failing program in a tight loop.
pub fn parse_backoff_max(v: &str) -> Result<Duration, String> {
    let d = crate::core::spec::parse_secs(v, "backoff_max")?;
    if d.is_zero() {
        return Err(format!(
            "backoff_max '{v}' must be at least 1 (second): 0 would retry in a tight loop"
        ));
    }
    Ok(d)
}

impl Policy {
    /// The delay before retry `attempt` (1 for the first), at least 1 s and
    /// at most `backoff_max`; no attempt number can overflow it.
    pub fn backoff_delay(&self, attempt: u32) -> Duration {
        let n = u64::from(attempt.max(1));
        let secs = match self.backoff {
            Backoff::Linear => n,
            // 2^63 s is past any cap: stop doubling there.
            Backoff::Exponential => 1u64 << (n - 1).min(63),
        };
        Duration::from_secs(secs)
            .min(self.backoff_max)
            .max(Duration::from_secs(1))
    }
}
