//! A program: the defaults, every key, errors in values, numprocs and
//! process names.

use super::*;
use crate::core::service::{AutoRestart, RestartRule};
use crate::core::spec::OutputSpec;
use std::time::Duration;

// ---- the smallest program and the defaults ----

#[test]
fn a_program_gets_the_config_defaults() {
    let c = parse_str("[program:web]\ncommand=/bin/sleep 60\n").unwrap();
    assert_eq!(c.path, PathBuf::from("config"));
    assert_eq!(c.programs.len(), 1);
    let p = &c.programs[0];
    assert_eq!((p.name.as_str(), p.line), ("web", 1));
    assert_eq!(p.file, PathBuf::from("config"));
    let s = &p.processes[0];
    assert_eq!(s.name, "web");
    assert_eq!(argv(s), ["/bin/sleep", "60"]);
    assert_eq!(s.program.as_deref(), Some("web"));
    assert_eq!(s.group, None);
    assert!(s.autostart);
    assert_eq!(s.priority, 999);
    assert_eq!(
        s.policy.restart,
        RestartRule::Auto {
            autorestart: AutoRestart::Unexpected,
            startretries: 3
        }
    );
    assert_eq!(s.policy.exitcodes, vec![0]);
    assert_eq!(s.policy.startsecs, Duration::from_secs(1));
    assert!(c.warnings.is_empty());
    assert!(c.groups.is_empty());
}

#[test]
fn both_spellings_of_every_key_reach_the_spec() {
    let sv = one(
        "[program:a]\ncmd=/bin/true\nworkingdir=/tmp\nenv=A=1\nstdout=NONE\nstderr=/dev/stderr\n\
         stdout_maxbytes=1KB\nstdout_backups=2\nstderr_maxbytes=2KB\nstderr_backups=3\n",
    );
    let sd = one(
        "[program:a]\ncommand=/bin/true\ndirectory=/tmp\nenvironment=A=1\nstdout_logfile=NONE\n\
         stderr_logfile=/dev/stderr\nstdout_logfile_maxbytes=1KB\nstdout_logfile_backups=2\n\
         stderr_logfile_maxbytes=2KB\nstderr_logfile_backups=3\n",
    );
    assert_eq!(sv, sd);
    assert_eq!(sv.cwd, Some(PathBuf::from("/tmp")));
    assert_eq!(sv.env, vec![("A".to_string(), "1".to_string())]);
    assert_eq!(sv.stdout, OutputSpec::Discard);
    assert_eq!(sv.stderr, OutputSpec::Daemon(2));
    assert_eq!(sv.maxbytes, [1024, 2048]);
    assert_eq!(sv.backups, [2, 3]);
}

#[test]
fn every_section_5_key_is_applied() {
    let s = one(
        "[program:a]\ncommand=/bin/true\nautostart=false\numask=027\nuser=nobody\n\
         autorestart=always\nexitcodes=0,2\nstartsecs=5\nstartretries=0\nstopsignal=INT\n\
         stopwaitsecs=30\nstopasgroup=false\nkillasgroup=false\nredirect_stderr=true\npriority=-5\n",
    );
    assert!(!s.autostart);
    assert_eq!(s.umask, Some(0o027));
    assert_eq!(s.user.as_deref(), Some("nobody"));
    assert_eq!(
        s.policy.restart,
        RestartRule::Auto {
            autorestart: AutoRestart::Always,
            startretries: 0
        }
    );
    assert_eq!(s.policy.exitcodes, vec![0, 2]);
    assert_eq!(s.policy.startsecs, Duration::from_secs(5));
    assert_eq!(s.policy.stopsignal, libc::SIGINT);
    assert_eq!(s.policy.stopwait, Duration::from_secs(30));
    assert!(!s.policy.group);
    assert!(s.redirect_stderr);
    assert_eq!(s.priority, -5);
}

// ---- program errors ----

#[test]
fn a_program_needs_a_command() {
    assert_eq!(
        err("[supervisord]\n\n[program:web]\npriority=1\n"),
        "config:3: [program:web] has no command (command = /path/to/program args)"
    );
    let e = err("[program:web]\ncommand=\n");
    assert_eq!(e, "config:2: command in [program:web]: command is empty");
}

#[test]
fn bad_values_name_key_program_and_line() {
    let e = err("[program:web]\ncommand=/bin/x\nautostart=maybe\n");
    assert_eq!(
        e,
        "config:3: autostart in [program:web]: 'maybe' is not a boolean (true or false)"
    );
    let e = err("[program:web]\ncommand=/bin/x\n\nstartsecs=soon\n");
    assert!(
        e.starts_with("config:4: startsecs in [program:web]: "),
        "{e}"
    );
    assert!(e.contains("'soon'"), "{e}");
    let e = err("[program:web]\ncommand=/bin/x\numask=999\n");
    assert!(e.starts_with("config:3: umask in [program:web]: "), "{e}");
    let e = err("[program:web]\ncommand=/bin/x\nstopsignal=NOPE\n");
    assert!(
        e.starts_with("config:3: stopsignal in [program:web]: "),
        "{e}"
    );
    let e = err("[program:web]\ncommand=/bin/x 'open\n");
    assert_eq!(
        e,
        "config:2: command in [program:web]: unclosed single quote in command"
    );
}

#[test]
fn unknown_sections_are_errors() {
    // A misspelt command is a warning, and the missing command an error
    // that names it (warnings are not printed with an error).
    let text = "[program:web]\n".to_string() + &"\n".repeat(10) + "comand=/bin/x\n";
    assert_eq!(
        err(&text),
        "config:1: [program:web] has no command (command = /path/to/program args); \
         'comand' (line 12) is not a key: did you mean command?"
    );
    assert_eq!(
        err("[program:web]\ncommand=/bin/x\n[programs:x]\n"),
        "config:3: unknown section [programs:x]; sv reads [program:NAME], [group:NAME] and [include]"
    );
    assert!(
        err("[Program:x]\ncommand=/bin/x\n").starts_with("config:1: unknown section [Program:x]")
    );
    let c = parse_str("[include]\nfiles=x\nmore=y\n").unwrap();
    assert!(
        c.warnings
            .contains(&"config:3: unknown key 'more' in [include]".to_string()),
        "{:?}",
        c.warnings
    );
    assert_eq!(
        err("[include]\n"),
        "config:1: [include] has no files = line (space-separated globs)"
    );
}

#[test]
fn bad_names() {
    assert!(
        err("[program:a b]\ncommand=/bin/x\n").starts_with("config:1: bad name in [program:a b]")
    );
    assert!(err("[program:a/b]\ncommand=/bin/x\n").contains("'/'"));
    assert!(err("[program:]\ncommand=/bin/x\n").contains("the name is empty"));
    let e = err("[program:a]\ncommand=/bin/x\nprocess_name=x:%(process_num)d\n");
    assert!(
        e.starts_with("config:3: process name 'x:0' of [program:a]: "),
        "{e}"
    );
}

#[test]
fn both_spellings_in_one_section_is_an_error() {
    let e = err("[program:a]\ncmd=/bin/a\ncommand=/bin/b\n");
    assert_eq!(
        e,
        "config:3: [program:a] sets both cmd and command, two spellings of one key; keep one"
    );
}

// ---- numprocs and names ----

#[test]
fn numprocs_names_copies_by_process_num() {
    let c = parse_str("[program:x]\ncommand=/bin/w %(process_num)d\nnumprocs=2\n").unwrap();
    assert_eq!(names(&c), ["x_00", "x_01"]);
    let argvs: Vec<_> = processes(&c).map(argv).collect();
    assert_eq!(argvs, [["/bin/w", "0"], ["/bin/w", "1"]]);
    assert!(processes(&c).all(|s| s.program.as_deref() == Some("x")));

    let c = parse_str(
        "[program:w]\ncommand=/bin/w\nnumprocs=3\nnumprocs_start=8\n\
         process_name=%(program_name)s-%(process_num)s-of-%(numprocs)d\n",
    )
    .unwrap();
    assert_eq!(names(&c), ["w-8-of-3", "w-9-of-3", "w-10-of-3"]);

    // numprocs=1 keeps the plain name.
    assert_eq!(one("[program:x]\ncommand=/bin/x\nnumprocs=1\n").name, "x");
}

#[test]
fn numprocs_errors() {
    assert_eq!(
        err("[program:x]\ncommand=/bin/x\nnumprocs=0\n"),
        "config:3: numprocs in [program:x] is 0; it must be from 1 to 1000"
    );
    assert_eq!(
        err("[program:x]\ncommand=/bin/x\nnumprocs=two\n"),
        "config:3: numprocs in [program:x]: 'two' is not a whole number"
    );
    assert!(err("[program:x]\ncommand=/bin/x\nnumprocs=-1\n").contains("not a whole number"));
    assert!(err("[program:x]\ncommand=/bin/x\nnumprocs=1001\n").contains("from 1 to 1000"));
    let e = err("[program:x]\ncommand=/bin/x\nnumprocs=%(process_num)d\n");
    assert!(
        e.starts_with("config:3: %(process_num)d in numprocs of [program:x]: unknown name"),
        "{e}"
    );
    // Copies must get distinct names.
    let e = err("[program:x]\ncommand=/bin/x\nnumprocs=2\nprocess_name=%(program_name)s\n");
    assert!(e.starts_with("config:4: process_name '%(program_name)s' gives more than one copy of [program:x] the name 'x'"), "{e}");
}

#[test]
fn process_names_are_unique_across_programs() {
    let e = err("[program:a]\ncommand=/bin/a\nnumprocs=2\n[program:a_01]\ncommand=/bin/b\n");
    assert_eq!(
        e,
        "config:4: process name 'a_01' of [program:a_01] is already used by [program:a] at config:1"
    );
}

#[test]
fn too_many_processes_is_an_error() {
    let mut text = String::new();
    for i in 0..11 {
        text += &format!("[program:p{i}]\ncommand=/bin/x\nnumprocs=1000\n");
    }
    assert!(err(&text).contains("past 10000 processes"));
}

#[test]
fn stopasgroup_and_killasgroup_that_differ_signal_the_group() {
    let c =
        parse_str("[program:a]\ncommand=/bin/a\nstopasgroup=false\nkillasgroup=true\n").unwrap();
    assert!(c.programs[0].processes[0].policy.group);
    assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
    assert!(c.warnings[0].contains("stopasgroup and killasgroup differ"));
    let s = one("[program:a]\ncommand=/bin/a\nkillasgroup=false\n");
    assert!(!s.policy.group);
}
