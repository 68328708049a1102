//! The config read last shares its specs with the live services (memory:
//! `supervisor/last_read.rs`); what `avail`, `addProcessGroup` and
//! `getAllConfigInfo` see of it must not change: a removed group is still
//! available with its settings and comes back as it was; an update keeps
//! the new settings. Judged with sv's own supervisorctl applet, so no venv
//! is needed.

mod common;

use common::*;
use std::process::{Command, Stdio};

const HEAD: &str = "[unix_http_server]\nfile=%(here)s/http.sock\n\n\
    [supervisorctl]\nserverurl=unix://%(here)s/http.sock\n\n";

const PROGRAMS: &str = "[program:web]\ncommand=/bin/sleep 1000\nstartsecs=0\n\
    priority=5\nnumprocs=2\nprocess_name=%(program_name)s_%(process_num)d\n\n\
    [program:a]\ncommand=/bin/sleep 1001\nstartsecs=0\nautostart=false\n\n\
    [program:b]\ncommand=/bin/sleep 1002\nstartsecs=0\npriority=7\n\n\
    [group:g]\nprograms=a,b\n";

/// sv's `supervisorctl -c work/sv.conf ARGS...`.
fn ctl(sv: &Sv, args: &[&str]) -> Run {
    let bin = applet_link(sv.work.path(), "supervisorctl");
    let out = Command::new(bin)
        .arg("-c")
        .arg(sv.work.path().join("sv.conf"))
        .args(args)
        .current_dir(sv.work.path())
        .stdin(Stdio::null())
        .output()
        .expect("run supervisorctl");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn avail(sv: &Sv) -> Vec<String> {
    let r = sv.sv(&["avail"]);
    r.ok().lines().map(str::to_string).collect()
}

#[test]
fn a_removed_group_stays_available_and_comes_back_as_it_was() {
    let mut sv = Sv::new(0);
    let cmd = sv.config_daemon(&format!("{HEAD}{PROGRAMS}"));
    sv.launch(cmd);
    let sock = sv.work.path().join("http.sock");
    assert!(wait_until(10, || sock.exists()), "no http socket");
    sv.wait_state("g:b", "RUNNING", 10);
    let before = avail(&sv);
    assert_eq!(
        before,
        [
            "g:a                              in use    manual    999:999",
            "g:b                              in use    auto      999:7",
            "web:web_0                        in use    auto      5:5",
            "web:web_1                        in use    auto      5:5",
        ]
    );

    let r = ctl(&sv, &["stop", "g:*"]);
    assert_eq!(r.code, 0, "{r:?}");
    sv.wait_state("g:b", "STOPPED", 10);
    let r = ctl(&sv, &["remove", "g"]);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (0, "g: removed process group\n")
    );
    assert_eq!(sv.state("g:b"), None);
    let mut gone = before.clone();
    for l in &mut gone[..2] {
        *l = l.replace("in use", "avail ");
    }
    assert_eq!(avail(&sv), gone);

    let r = ctl(&sv, &["add", "g"]);
    assert_eq!((r.code, r.stdout.as_str()), (0, "g: added process group\n"));
    sv.wait_state("g:b", "RUNNING", 10);
    assert_eq!(sv.state("g:a").map(|s| s.0), Some("STOPPED".to_string()));
    assert_eq!(avail(&sv), before);

    // An update shares the new settings; a second reread finds nothing.
    sv.write_conf(&format!(
        "{HEAD}{}",
        PROGRAMS.replace("priority=5", "priority=6")
    ));
    let r = sv.sv(&["update"]);
    assert!(r.ok().contains("web: changed"), "{r:?}");
    let after = avail(&sv);
    assert_eq!(
        after[2],
        "web:web_0                        in use    auto      6:6"
    );
    assert_eq!(after[..2], before[..2]);
    let r = sv.sv(&["reread"]);
    assert_eq!(r.ok(), "No config updates to processes\n");
    sv.close();
}
