//! Helpers of the spec_4_services_* files: create-service without waiting,
//! a status row, the pid in a `started, pid P` line, and waits for a pid.
use super::*;

/// The pid in a `NAME: started, pid P` / `NAME: adopted, pid P` line.
#[track_caller]
pub fn pid_in(line: &str) -> i32 {
    let at = line.rfind("pid ").expect("a pid in the line") + 4;
    line[at..]
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("no pid in {line:?}"))
}

/// `status NAME` as one line with single spaces (`NAME STATE detail`).
pub fn row(sv: &Sv, name: &str) -> String {
    let r = sv.sv(&["status", name]);
    r.stdout
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// `sv create-service -i N --no-wait ARGS...`: `-i` first, since
/// everything after `--` goes to the child; `--no-wait`, since these tests
/// are not about waiting for RUNNING (tests/spec_4_2_order.rs is):
/// `NAME: starting, pid P` unless startsecs=0 made it RUNNING at once.
pub fn create(sv: &Sv, args: &[&str]) -> Run {
    let n = sv.instance.to_string();
    let mut all = vec!["create-service", "-i", &n, "--no-wait"];
    all.extend_from_slice(args);
    sv.run(&all)
}

/// Whether `detail` is exactly `pid P, uptime H:MM:SS`.
pub fn is_running_detail(detail: &str, pid: i32) -> bool {
    let Some(rest) = detail.strip_prefix(&format!("pid {pid}, uptime ")) else {
        return false;
    };
    let parts: Vec<&str> = rest.split(':').collect();
    parts.len() == 3
        && !parts[0].is_empty()
        && parts[0].chars().all(|c| c.is_ascii_digit())
        && parts[1..]
            .iter()
            .all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_digit()))
}

/// Waits for a pid to be gone (or a zombie).
#[track_caller]
pub fn wait_gone(pid: i32) {
    assert!(wait_until(10, || !alive(pid)), "pid {pid} still alive");
}
