//! SPEC 5: where the output goes (stdout and stderr destinations), the
//! configparser fine points of the file format, and config errors that
//! name their file and line.
//!
//! Helpers shared with the other spec_5_config_effects_* files (the
//! instance, a daemon on a config, a file the child writes) are in
//! tests/common/config_effects.rs.
mod common;
use common::config_effects::{launch, wait_file, N};
use common::*;
use std::path::Path;

// ------------------------------------------------------- stdout and stderr

/// Writes `out-NAME` to stdout and `err-NAME` to stderr.
fn talker(name: &str, extra: &str) -> String {
    format!(
        "[program:{name}]\ncommand=/bin/sh -c 'echo out-{name}; echo err-{name} >&2; exec sleep 60'\nstartsecs=0\n{extra}\n"
    )
}

#[test]
fn stdout_and_stderr_destinations() {
    let sv = Sv::new(N);
    let w = sv.work.path().to_path_buf();
    let conf = format!(
        "{}{}{}{}{}{}",
        talker(
            "paths",
            &format!("stdout={0}/paths.out\nstderr={0}/paths.err", w.display())
        ),
        talker(
            "aliases",
            &format!(
                "stdout_logfile={0}/aliases.out\nstderr_logfile={0}/aliases.err",
                w.display()
            )
        ),
        talker("auto", ""),
        talker("autoexplicit", "stdout=AUTO\nstderr_logfile=auto"),
        talker("discard", "stdout_logfile=NONE\nstderr=/dev/null"),
        talker(
            "redirect",
            &format!("stdout={}/redirect.out\nredirect_stderr=true", w.display())
        ),
    );
    let sv = launch(sv, &conf, &[]);
    for n in [
        "paths",
        "aliases",
        "auto",
        "autoexplicit",
        "discard",
        "redirect",
    ] {
        sv.wait_state(n, "RUNNING", 10);
    }
    wait_file(&w.join("paths.out"), "out-paths\n");
    wait_file(&w.join("paths.err"), "err-paths\n");
    wait_file(&w.join("aliases.out"), "out-aliases\n");
    wait_file(&w.join("aliases.err"), "err-aliases\n");
    let l = logs(&sv);
    wait_file(&l.join("auto-stdout.log"), "out-auto\n");
    wait_file(&l.join("auto-stderr.log"), "err-auto\n");
    wait_file(&l.join("autoexplicit-stdout.log"), "out-autoexplicit\n");
    wait_file(&l.join("autoexplicit-stderr.log"), "err-autoexplicit\n");
    // redirect_stderr: both in stdout's file, in order.
    wait_file(&w.join("redirect.out"), "out-redirect\nerr-redirect\n");
    assert!(!l.join("redirect-stderr.log").exists());
    assert!(!l.join("paths-stdout.log").exists());
    // Discarded output makes no file.
    assert!(!l.join("discard-stdout.log").exists());
    assert!(!l.join("discard-stderr.log").exists());
    // /dev/null goes straight to the descriptor; NONE discards too.
    let pid = sv.pid("discard").unwrap();
    assert_eq!(
        std::fs::read_link(format!("/proc/{pid}/fd/2")).unwrap(),
        Path::new("/dev/null")
    );
}

// ------------------------------------------------------ the file format

#[test]
fn configparser_fine_points() {
    let sv = Sv::new(N);
    let w = sv.work.path().to_path_buf();
    std::fs::create_dir(w.join("conf.d")).unwrap();
    std::fs::write(
        w.join("conf.d/inc.conf"),
        "[program:included]\ncommand=/bin/sh -c 'echo \"%(here)s\" > included.here; exec sleep 60'\nstartsecs=0\n",
    )
    .unwrap();
    std::fs::write(
        w.join("conf.d/skip.txt"),
        "[program:notme]\ncommand=/bin/true\n",
    )
    .unwrap();
    let conf = [
        "; a comment",
        "# another comment",
        "[program:fine]",
        "command = /bin/sh -c 'echo \"$A|$B|$C|$D|$E|$F\" > fine.env; exec sleep 60' ; a comment",
        "startsecs = 0",
        "autostart = Yes",
        "environment = A=100%%,",
        "  B=\"x, y\",",
        "\tC=%(ENV_SVTEST_VAR)s,D=%(program_name)s;kept,",
        "  E=%(host_node_name)s,F=%(here)s",
        "stopsignal = KILL",
        "stopsignal = USR1",
        "[program:g1]",
        "command=/bin/sh -c 'echo %(group_name)s > g1.grp; exec sleep 60'",
        "startsecs=0",
        "[program:g2]",
        "command=/bin/sleep 60",
        "startsecs=0",
        "autostart=off",
        "[group:grp]",
        "programs=g1,g2",
        "[include]",
        "files = conf.d/*.conf",
    ]
    .join("\r\n")
        + "\r\n";
    let path = sv.write_conf(&conf);
    let r = sv.run(&["check".as_ref(), "-c".as_ref(), path.as_os_str()]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.starts_with(&format!(
            "error: {}:7: %(ENV_SVTEST_VAR)s in environment of [program:fine]: ",
            path.display()
        )),
        "{r:?}"
    );
    let out = sv
        .command()
        .args(["check".as_ref(), "-c".as_ref(), path.as_os_str()])
        .env("SVTEST_VAR", "from-env")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let out = String::from_utf8_lossy(&out.stdout).into_owned();
    let listed: Vec<&str> = out
        .lines()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(listed, ["fine", "grp:g1", "grp:g2", "included"], "{out}");

    let sv = launch(sv, &conf, &[("SVTEST_VAR", "from-env")]);
    for n in ["fine", "grp:g1", "included"] {
        sv.wait_state(n, "RUNNING", 10);
    }
    assert_eq!(sv.state("grp:g2").unwrap().0, "STOPPED");
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    wait_file(
        &w.join("fine.env"),
        &format!(
            "100%|x, y|from-env|fine;kept|{}|{}\n",
            host.trim(),
            w.display()
        ),
    );
    wait_file(&w.join("g1.grp"), "grp\n");
    wait_file(
        &w.join("included.here"),
        &format!("{}\n", w.join("conf.d").display()),
    );
    // The last stopsignal wins.
    let r = sv.sv(&["stop", "fine"]);
    r.ok();
    assert_eq!(sv.state("fine").unwrap().1, "Stopped (killed by SIGUSR1)");
    // grp:* targets the group's members; like `all`, it passes over g2,
    // never started (supervisorctl does too).
    let r = sv.sv(&["stop", "grp:*"]);
    assert_eq!(r.ok(), "grp:g1: stopped\n");
    assert_eq!(r.stderr, "");
    let r = sv.sv(&["start", "grp:*"]);
    assert_eq!(r.ok(), "grp:g1: started\ngrp:g2: started\n");
}

#[test]
fn config_errors_name_file_and_line() {
    let sv = Sv::new(N);
    let cases: &[(&str, usize)] = &[
        ("[program:a]\ncommand=/bin/true\nautostart=maybe\n", 3),
        ("[program:a]\ncommand=/bin/true\numask=089\n", 3),
        ("[program:a]\ncommand=/bin/true\nstopsignal=NOPE\n", 3),
        ("[program:a]\ncommand=/bin/true\nautorestart=sometimes\n", 3),
        ("[program:a]\ncommand=/bin/true\nstdout_maxbytes=lots\n", 3),
        (
            "[program:a]\ncommand=/bin/true\n[program:a]\ncommand=/bin/true\n",
            3,
        ),
        (
            "[program:a]\ncommand=/bin/true\n[group:g]\nprograms=a,zzz\n",
            4,
        ),
        ("[nonsense]\nx=1\n", 1),
        ("[program:a]\ncommand='unclosed\n", 2),
    ];
    for (conf, line) in cases {
        let path = sv.write_conf(conf);
        let r = sv.run(&["check".as_ref(), "-c".as_ref(), path.as_os_str()]);
        assert_eq!(r.code, 1, "{conf:?} accepted: {r:?}");
        assert!(
            r.stderr
                .starts_with(&format!("error: {}:{line}: ", path.display())),
            "{conf:?}: {r:?}"
        );
    }
}

#[test]
fn environment_entry_without_equals_is_an_error() {
    let sv = Sv::new(N);
    let path = sv.write_conf("[program:a]\ncommand=/bin/true\nenvironment=A=1,NOEQUALS\n");
    let r = sv.run(&["check".as_ref(), "-c".as_ref(), path.as_os_str()]);
    assert_eq!(r.code, 1, "accepted: {r:?}");
    assert!(
        r.stderr
            .starts_with(&format!("error: {}:3: ", path.display())),
        "{r:?}"
    );
}
