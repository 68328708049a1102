//! SPEC 4.2 `reload` (and SIGHUP): programs added, changed and removed, a
//! broken config that changes nothing, a stopped program that stays
//! stopped; run against a real daemon per test.
//!
//! Helpers shared with the other spec_4_2_programs_* files (the instance,
//! a daemon on a config, the status rows) are in tests/common/programs.rs.
mod common;
use common::programs::{names, sleeper, start};
use common::*;

// ------------------------------------------------------------- reload (4.2)

fn env_prog(name: &str, val: &str) -> String {
    format!(
        "[program:{name}]\ncommand=/bin/sh -c 'echo $FOO > {name}.env; exec sleep 60'\nenvironment=FOO={val}\nstartsecs=0\n"
    )
}

#[test]
fn reload_adds_changes_and_removes() {
    let sv = start(&format!(
        "{}{}{}",
        sleeper("keep", ""),
        env_prog("chg", "one"),
        sleeper("gone", "")
    ));
    for n in ["keep", "chg", "gone"] {
        sv.wait_state(n, "RUNNING", 10);
    }
    let keep = sv.pid("keep").unwrap();
    let chg = sv.pid("chg").unwrap();
    let gone = sv.pid("gone").unwrap();
    let envf = sv.work.path().join("chg.env");
    assert!(wait_until(5, || std::fs::read_to_string(&envf)
        .unwrap_or_default()
        == "one\n"));

    sv.write_conf(&format!(
        "{}{}{}{}",
        sleeper("keep", ""),
        env_prog("chg", "two"),
        sleeper("new", ""),
        sleeper("newoff", "autostart=false")
    ));
    let r = sv.sv(&["reload"]);
    let out = r.ok();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.first(), Some(&"Reloading configuration..."), "{out}");
    assert_eq!(
        lines.last(),
        Some(&"Configuration loaded successfully"),
        "{out}"
    );
    let mut middle: Vec<&str> = lines[1..lines.len() - 1].to_vec();
    middle.sort();
    assert_eq!(
        middle,
        [
            "chg: changed",
            "gone: removed",
            "new: added",
            "newoff: added"
        ],
        "{out}"
    );

    // Unchanged: same pid.
    assert_eq!(sv.pid("keep"), Some(keep));
    assert!(alive(keep));
    // Changed: a new process with the new settings.
    sv.wait_state("chg", "RUNNING", 10);
    let chg2 = sv.pid("chg").unwrap();
    assert_ne!(chg2, chg);
    assert!(wait_until(5, || !alive(chg)));
    assert!(wait_until(5, || std::fs::read_to_string(&envf)
        .unwrap_or_default()
        == "two\n"));
    let environ = std::fs::read(format!("/proc/{chg2}/environ")).unwrap_or_default();
    assert!(
        environ.split(|b| *b == 0).any(|v| v == b"FOO=two"),
        "new env not in /proc/{chg2}/environ"
    );
    // Removed: stopped and gone from status.
    assert!(wait_until(5, || !alive(gone)));
    assert!(sv.state("gone").is_none());
    // Added: started when autostart, else STOPPED.
    sv.wait_state("new", "RUNNING", 10);
    assert_eq!(sv.state("newoff").unwrap().0, "STOPPED");
    let mut n = names(&sv);
    n.sort();
    assert_eq!(n, ["chg", "keep", "new", "newoff"]);

    // A reload with nothing changed says so and touches nothing.
    let new = sv.pid("new").unwrap();
    let r = sv.sv(&["reload"]);
    assert_eq!(
        r.ok(),
        "Reloading configuration...\nConfiguration loaded successfully\n"
    );
    assert_eq!(sv.pid("keep"), Some(keep));
    assert_eq!(sv.pid("chg"), Some(chg2));
    assert_eq!(sv.pid("new"), Some(new));
}

#[test]
fn reload_of_a_broken_config_changes_nothing() {
    let sv = start(&format!("{}{}", sleeper("a", ""), sleeper("b", "")));
    sv.wait_state("a", "RUNNING", 10);
    sv.wait_state("b", "RUNNING", 10);
    let a = sv.pid("a").unwrap();
    let b = sv.pid("b").unwrap();
    let path = sv.write_conf(&format!(
        "{}[program:c]\ncommand=/bin/sleep 60\nstartsecs=zero\n",
        sleeper("a", "")
    ));
    let r = sv.sv(&["reload"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains(&format!("error: {}:7: ", path.display())),
        "{r:?}"
    );
    assert!(
        !r.stdout.contains("Configuration loaded successfully"),
        "{r:?}"
    );
    assert_eq!(names(&sv), ["a", "b"]);
    assert_eq!(sv.pid("a"), Some(a));
    assert_eq!(sv.pid("b"), Some(b));
    assert!(alive(a) && alive(b));

    // SIGHUP with the same broken file changes nothing either.
    kill(daemon_pid(&sv), libc::SIGHUP);
    let log = sv.work.path().join("daemon.err");
    assert!(
        wait_until(10, || {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            text.find("SIGHUP")
                .is_some_and(|at| text[at..].contains("reload: error"))
        }),
        "no failed SIGHUP reload in the daemon's log"
    );
    assert_eq!(sv.pid("a"), Some(a));
    assert_eq!(sv.pid("b"), Some(b));
    assert_eq!(names(&sv), ["a", "b"]);
}

#[test]
fn stopped_program_stays_stopped_across_reload() {
    let sv = start(&format!(
        "{}{}",
        sleeper("held", "autostart=true"),
        sleeper("other", "")
    ));
    sv.wait_state("held", "RUNNING", 10);
    sv.wait_state("other", "RUNNING", 10);
    assert_eq!(sv.sv(&["stop", "held"]).ok(), "held: stopped\n");
    // `other` changes each time: once it runs again, anything the reload
    // would start has been started.
    let reload_with = |held: &str, other: &str, want: &str| {
        let before = sv.pid("other").unwrap();
        sv.write_conf(&format!(
            "{}{}",
            sleeper("held", held),
            sleeper("other", other)
        ));
        let r = sv.sv(&["reload"]);
        let out = r.ok();
        assert!(out.contains(want), "{out}");
        assert!(out.contains("other: changed"), "{out}");
        assert!(wait_until(10, || sv
            .pid("other")
            .is_some_and(|p| p != before)));
        sv.wait_state("other", "RUNNING", 10);
    };
    reload_with("autostart=true", "environment=X=1", "other: changed");
    assert_eq!(sv.state("held").unwrap().0, "STOPPED");
    // Even when its own settings change.
    reload_with(
        "autostart=true\nenvironment=Y=2",
        "environment=X=2",
        "held: changed",
    );
    assert_eq!(sv.state("held").unwrap().0, "STOPPED");
    assert!(sv.pid("held").is_none());
    // Until a command starts it.
    assert_eq!(sv.sv(&["start", "held"]).ok(), "held: started\n");
}

#[test]
fn sighup_reloads_the_config() {
    let sv = start(&sleeper("a", ""));
    sv.wait_state("a", "RUNNING", 10);
    let a = sv.pid("a").unwrap();
    sv.write_conf(&format!("{}{}", sleeper("a", ""), sleeper("b", "")));
    kill(daemon_pid(&sv), libc::SIGHUP);
    sv.wait_state("b", "RUNNING", 10);
    assert_eq!(sv.pid("a"), Some(a));
    sv.write_conf(&sleeper("b", ""));
    kill(daemon_pid(&sv), libc::SIGHUP);
    assert!(wait_until(10, || sv.state("a").is_none()));
    assert!(wait_until(5, || !alive(a)));
    assert_eq!(names(&sv), ["b"]);
}
