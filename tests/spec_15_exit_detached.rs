//! SPEC §15: a detached `supervisord` (no `-n`) ends with the status its
//! exit policy sets too. The detached daemon is no child of the test, so
//! this file's process makes itself a child subreaper to wait for it: one
//! test alone in its own binary, so no other test's orphans come here.

mod common;

use common::containers::{self as c, Pid1};
use common::{applet_link, wait_until, Sv};

#[test]
fn detached_supervisord_exits_with_the_programs_code() {
    // SAFETY: plain prctl on this process.
    let rc = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    assert_eq!(rc, 0, "cannot become a child subreaper");
    let sv = Sv::new(70);
    let work = sv.work.path().to_path_buf();
    let bin = work.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let link = applet_link(&bin, "supervisord");
    let go = work.join("GO");
    let conf = work.join("supervisord.conf");
    std::fs::write(
        &conf,
        format!(
            "[supervisord]\nlogfile={0}/supervisord.log\npidfile={0}/supervisord.pid\n\
             shutdown_on=exit\n\
             [program:job]\ncommand=/bin/sh -c \"while [ ! -e {1} ]; do sleep 0.05; done; exit 11\"\n\
             startsecs=0\nautorestart=false\n",
            work.display(),
            go.display()
        ),
    )
    .unwrap();
    let mut cmd = c::daemon_command(&sv, Pid1::No, &link, &["-c", conf.to_str().unwrap()]);
    let st = cmd.status().expect("run supervisord");
    // The parent exits 0 once the daemon is up.
    assert_eq!(st.code(), Some(0), "{}", c::daemon_log(&sv));
    let pidfile = work.join("supervisord.pid");
    let mut pid = 0;
    assert!(wait_until(10, || {
        pid = std::fs::read_to_string(&pidfile)
            .ok()
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or(0);
        pid > 0
    }));
    sv.wait_state("job", "RUNNING", 10);
    std::fs::write(&go, "").unwrap();
    // Reparented to this process: its own exit status is seen here.
    let mut status = 0;
    let mut reaped = 0;
    let done = wait_until(30, || {
        // SAFETY: waitpid on the daemon's recorded pid, without blocking.
        reaped = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        reaped == pid
    });
    assert!(
        done,
        "the detached daemon (pid {pid}) did not exit: {reaped}"
    );
    assert!(libc::WIFEXITED(status), "status {status:#x}");
    let log = std::fs::read_to_string(work.join("supervisord.log")).unwrap_or_default();
    assert_eq!(libc::WEXITSTATUS(status), 11, "{log}");
    assert!(
        log.contains("job: EXITED (exit 11) with shutdown_on = exit"),
        "{log}"
    );
}
