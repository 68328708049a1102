//! `H:MM:SS`, the one way sv shows a length of time: the daemon puts it in
//! a RUNNING service's status detail (`pid P, uptime 0:01:05`, which goes
//! over the wire as text) and the applets in `service-status` and
//! `list-supervisors`. A leaf that imports nothing, so the daemon and the
//! applets can share it while `core` never imports `applets`.

/// `H:MM:SS`; hours are not wrapped into days (`100:00:00`).
pub fn clock(secs: u64) -> String {
    format!("{}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

#[cfg(test)]
mod tests {
    use super::clock;

    #[test]
    fn hours_minutes_seconds() {
        assert_eq!(clock(0), "0:00:00");
        assert_eq!(clock(65), "0:01:05");
        assert_eq!(clock(3600 * 100 + 59), "100:00:59");
    }
}
