//! The daemon log's own tests: levels, sinks, floods.

use super::*;

/// A logger with no syslog to be had and nothing written to stderr:
/// what it would write waits in `pending`.
fn unheard() -> Logger {
    let mut logger = Logger::quiet(PathBuf::from("/nonexistent"), String::new());
    logger.failed_at = Some(std::time::Instant::now());
    logger
}

#[test]
fn debug_lines_reach_stderr_and_files_only_when_verbose() {
    let mut logger = unheard();
    logger.debug("status");
    logger.info("start web");
    assert_eq!(String::from_utf8_lossy(&logger.pending), "start web\n");
    logger.pending.clear();
    logger.set_verbose(true);
    logger.debug("status");
    assert_eq!(String::from_utf8_lossy(&logger.pending), "status\n");
    logger.pending.clear();
    logger.detaching();
    logger.notice("web: STARTING -> RUNNING");
    logger.warn("no syslog");
    assert_eq!(String::from_utf8_lossy(&logger.pending), "no syslog\n");
    logger.pending.clear();
}

#[test]
fn each_level_has_its_syslog_priority() {
    let mut logger = Logger::quiet(PathBuf::from("/nonexistent"), String::new());
    logger.stderr_max = None;
    logger.error("a");
    logger.warn("b");
    logger.notice("c");
    logger.info("d");
    logger.debug("e");
    let pris: Vec<&str> = logger
        .pending_syslog
        .iter()
        .map(|l| &l[..l.find('>').unwrap() + 1])
        .collect();
    assert_eq!(pris, ["<27>", "<28>", "<29>", "<30>", "<31>"]);
    logger.pending_syslog.clear();
}

#[test]
fn a_log_file_gets_timestamped_lines_with_their_level() {
    let dir = std::env::temp_dir().join(format!("sv-log-file-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("d.log");
    let mut logger = unheard();
    logger.stderr_max = None;
    logger.add_file(&path).unwrap();
    logger.notice("web: STARTING -> RUNNING");
    logger.debug("request: status");
    logger.flush();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.ends_with("Z NOTICE  web: STARTING -> RUNNING\n"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 1, "{text}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn civil_dates() {
    assert_eq!(civil_from_days(0), (1970, 1, 1));
    assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    assert_eq!(civil_from_days(20_781), (2026, 11, 24));
}

#[test]
fn lines_reach_the_syslog_socket() {
    let dir = std::env::temp_dir().join(format!("sv-log-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("log.sock");
    let _ = std::fs::remove_file(&path);
    let server = UnixDatagram::bind(&path).unwrap();
    let mut logger = Logger::quiet(path.clone(), String::new());
    logger.pid = 7;
    logger.stderr_max = None;
    logger.connect();
    logger.info("hello there");
    logger.flush();
    let mut buf = [0u8; 512];
    let n = server.recv(&mut buf).unwrap();
    let line = std::str::from_utf8(&buf[..n]).unwrap();
    assert!(line.starts_with("<30>"), "{line}");
    assert!(line.ends_with("supervisor[7]: hello there"), "{line}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_flood_of_one_warning_makes_one_line_then_a_count() {
    let mut logger = unheard();
    for i in 0..100 {
        logger.warn_limited("refused", &format!("refused client {i}"));
    }
    logger.warn_limited("other", "another kind");
    let text = String::from_utf8_lossy(&logger.pending).into_owned();
    assert_eq!(text, "refused client 0\nanother kind\n");
    // Once its window is over, the next flush says how many were held.
    logger.limited[0].since -= RATE_WINDOW;
    logger.summarize();
    let text = String::from_utf8_lossy(&logger.pending).into_owned();
    assert!(
        text.ends_with("refused: 99 more in the last 1.0 s\n"),
        "{text}"
    );
    logger.pending.clear();
}

#[test]
fn a_huge_line_is_cut() {
    let mut logger = unheard();
    logger.info(&"x".repeat(1 << 20));
    assert!(logger.pending.len() < LINE_MAX + 64);
    logger.pending.clear();
}
