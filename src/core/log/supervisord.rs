//! The daemon's log lines as supervisord writes them (its loggers.py),
//! when the daemon runs as the `supervisord` applet: `asctime LEVEL msg`.

use super::{civil_from_days, Level};

impl Level {
    /// supervisord's name of the level.
    pub(super) fn supervisord_name(self) -> &'static str {
        match self {
            Level::Err => "ERRO",
            Level::Warning => "WARN",
            Level::Notice | Level::Info => "INFO",
            Level::Debug => "DEBG",
        }
    }
}

/// supervisord's `asctime`, `YYYY-MM-DD HH:MM:SS,mmm` (in UTC: sv reads
/// no time zone; supervisord writes local time, the same in containers).
pub(super) fn supervisord_timestamp() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs();
    let (year, month, day) = civil_from_days((secs / 86_400) as i64);
    let t = secs % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02},{:03}",
        t / 3600,
        t / 60 % 60,
        t % 60,
        now.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::super::Logger;
    use std::os::unix::fs::PermissionsExt;
    use std::path::PathBuf;

    #[test]
    fn the_supervisord_logfile_has_its_format_and_mode() {
        let dir = std::env::temp_dir().join(format!("sv-sdlog-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("supervisord.log");
        let mut log = Logger::quiet(PathBuf::from("/nonexistent"), String::new());
        log.failed_at = Some(std::time::Instant::now());
        log.stderr_max = None;
        log.speak_supervisord();
        log.add_rotated_file(&path, 0, 0).unwrap();
        log.notice("spawned: 'x' with pid 1");
        log.warn("w");
        log.flush();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert_eq!(&lines[0][23..], " INFO spawned: 'x' with pid 1");
        assert_eq!(&lines[1][23..], " WARN w");
        let stamp = &lines[0].as_bytes()[..23];
        assert_eq!(
            (stamp[4], stamp[10], stamp[19]),
            (b'-', b' ', b','),
            "{text}"
        );
        // 0644 under the umask (read from /proc: umask(2) would change it).
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let umask = status
            .lines()
            .find_map(|l| l.strip_prefix("Umask:"))
            .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
            .unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644 & !umask, "{mode:o}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
