//! Helpers of the spec_9_flood_* files: a client connection with generous
//! timeouts, and the daemon's descriptor count (settled, and back to a
//! baseline).
use super::*;
use std::os::unix::net::UnixStream;

pub fn connect(sv: &Sv) -> UnixStream {
    let s = UnixStream::connect(sock_path(sv)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(15))).unwrap();
    s
}

/// How many descriptors the process has open.
pub fn fd_count(pid: i32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("read /proc/PID/fd")
        .count()
}

/// The daemon's descriptor count once it has stopped moving (the `sv
/// status` clients of the warm-up closed, and so on).
pub fn settled_fd_count(pid: i32) -> usize {
    let mut last = fd_count(pid);
    let mut same = 0;
    let deadline = Instant::now() + Duration::from_secs(10);
    while same < 5 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        let now = fd_count(pid);
        if now == last {
            same += 1;
        } else {
            same = 0;
            last = now;
        }
    }
    last
}

/// Waits until the daemon holds at most `baseline` descriptors.
#[track_caller]
pub fn assert_fds_return_to(pid: i32, baseline: usize, what: &str) {
    let mut now = fd_count(pid);
    let ok = wait_until(20, || {
        now = fd_count(pid);
        now <= baseline
    });
    assert!(
        ok,
        "{what}: the daemon holds {now} descriptors, {baseline} before: {:?}",
        fd_links(pid)
    );
}

/// What the descriptors point at, for failure messages.
pub fn fd_links(pid: i32) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| {
            d.flatten()
                .filter_map(|e| std::fs::read_link(e.path()).ok())
                .map(|p| p.display().to_string())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}
