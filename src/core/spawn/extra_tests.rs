//! `Command::launch_with`'s extra descriptor (`ready=fd:N`): the child has
//! exactly 0, 1, 2 and N, whatever numbers the pipe and the report pipe got.

use super::*;
use std::io::Read;

/// Runs `sh -c 'echo ok >&N; exec sleep 30'` with a pipe's write end as
/// its N (None: N is the write end's own number); once "ok" has come,
/// the descriptors the sleeping child holds.
fn fds_of_child(n: Option<RawFd>) -> (Vec<RawFd>, RawFd) {
    let (read, write) = crate::core::sys::pipe().unwrap();
    let n = n.unwrap_or(write.as_raw_fd());
    let script = format!("echo ok >&{n}; exec sleep 30");
    let argv = ["/bin/sh".to_string(), "-c".to_string(), script];
    let base = Arc::new(Env::default());
    let cmd = Arc::new(Command::new(&argv, &base, &[], None).unwrap());
    let wiring = Wiring {
        stdin: None,
        stdout: Target::Null,
        stderr: Target::Null,
        user: None,
        keep: Vec::new(),
    };
    let extra = Some((write.as_raw_fd(), n));
    let mut pending = cmd.launch_with(wiring, extra).unwrap();
    drop(write);
    let mut got = [0u8; 3];
    let r = std::fs::File::from(read).read_exact(&mut got);
    assert!(r.is_ok(), "N={n}: {r:?} {:?}", pending.try_wait());
    assert_eq!(&got, b"ok\n", "N={n}");
    let child = loop {
        if let Some(done) = pending.try_wait() {
            break done.unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    let mut fds = Vec::new();
    // `sleep` opens nothing of its own that it keeps: wait for the exec.
    for _ in 0..200 {
        let comm = crate::core::sys::comm(child.pid).unwrap_or_default();
        if comm == "sleep" {
            fds = std::fs::read_dir(format!("/proc/{}/fd", child.pid))
                .unwrap()
                .flatten()
                .filter_map(|e| e.file_name().to_str()?.parse().ok())
                .collect();
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    fds.sort();
    // SAFETY: killing and reaping the child we started.
    unsafe {
        libc::kill(child.pid, libc::SIGKILL);
        libc::waitpid(child.pid, std::ptr::null_mut(), 0);
    }
    (fds, n)
}

#[test]
fn the_child_has_n_and_nothing_else() {
    // 3 to 9: a shell keeps 10 and up for itself (POSIX promises 0-9).
    // Among them, by chance, the numbers the pipe and the report pipe got.
    let mut cases: Vec<Option<RawFd>> = (3..=9).map(Some).collect();
    if crate::core::sys::pipe().unwrap().1.as_raw_fd() < 10 {
        cases.push(None);
    }
    for n in cases {
        let (fds, n) = fds_of_child(n);
        assert_eq!(fds, vec![0, 1, 2, n], "N={n}");
    }
}
