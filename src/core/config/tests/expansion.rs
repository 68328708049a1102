//! `%(name)s` expansions and their errors.

use super::*;
use crate::core::spec::OutputSpec;

// ---- expansions ----

#[test]
fn expansions_in_every_value() {
    let mut m = Mem::new(&[(
        "/etc/sv/main.conf",
        "[group:g]\nprograms=w\n\n[program:w]\n\
         command=%(here)s/bin/w --name %(program_name)s --group %(group_name)s --host %(host_node_name)s --home %(ENV_HOME)s\n\
         numprocs=2\nprocess_name=%(group_name)s-%(process_num)03d\n\
         directory=%(ENV_HOME)s/%(process_num)d\nstdout=%(here)s/%(program_name)s.%(process_num)d.log\n\
         priority=%(numprocs)d0\n\
         [program:solo]\ncommand=/bin/solo %(group_name)s\n",
    )])
    .var("HOME", "/home/u");
    let c = m.parse("/etc/sv/main.conf").unwrap();
    assert_eq!(names(&c), ["g-000", "g-001", "solo"]);
    let w1 = &c.programs[0].processes[1];
    assert_eq!(
        argv(w1),
        [
            "/etc/sv/bin/w",
            "--name",
            "w",
            "--group",
            "g",
            "--host",
            "testhost",
            "--home",
            "/home/u"
        ]
    );
    assert_eq!(w1.cwd, Some(PathBuf::from("/home/u/1")));
    assert_eq!(w1.stdout, OutputSpec::File("/etc/sv/w.1.log".into()));
    assert_eq!(w1.priority, 20);
    assert_eq!(w1.group.as_deref(), Some("g"));
    // Outside a group, group_name is the program's name.
    assert_eq!(argv(&c.programs[1].processes[0]), ["/bin/solo", "solo"]);
    assert_eq!(c.programs[1].processes[0].group, None);
}

#[test]
fn printf_widths_and_flags() {
    for (fmt, want) in [
        ("%(process_num)d", "7"),
        ("%(process_num)02d", "07"),
        ("%(process_num)3d|", "  7|"),
        ("%(process_num)-3d|", "7  |"),
        ("%(process_num)+d", "+7"),
        ("%(process_num)+04d", "+007"),
        ("%(process_num).3d", "007"),
        ("%(process_num)s", "7"),
        ("%(process_num)ld", "7"),
        ("%(process_num)i", "7"),
        ("%(program_name)5s|", "    p|"),
        ("%(program_name)-3s|", "p  |"),
        ("%(ENV_LONG).3s", "abc"),
    ] {
        let text = format!("[program:p]\ncommand=/bin/x\nnumprocs_start=7\ndirectory=<{fmt}>\n");
        let mut m = Mem::new(&[("/c", &text)]).var("LONG", "abcdef");
        let c = m.parse("/c").unwrap_or_else(|e| panic!("{fmt}: {e}"));
        let cwd = c.programs[0].processes[0].cwd.clone().unwrap();
        assert_eq!(cwd, PathBuf::from(format!("<{want}>")), "{fmt}");
    }
}

#[test]
fn expansion_errors() {
    for (value, want) in [
        ("%(nope)s", "%(nope)s in command of [program:a]: unknown name; usable here: program_name, group_name, process_num, numprocs, here, host_node_name, ENV_NAME"),
        ("%(ENV_NOPE_X)s", "%(ENV_NOPE_X)s in command of [program:a]: environment variable NOPE_X is not set"),
        ("%(program_name)d", "%(program_name)d in command of [program:a]: d needs a number, but this name is text; use s"),
        ("%(program_name)", "%(program_name) in command of [program:a]: the expansion has no type"),
        ("%(program_name)q", "%(program_name) in command of [program:a]: unsupported conversion"),
        ("%(program_name", "%(program_name in command of [program:a]: the expansion has no closing )"),
        ("%(process_num)999d", "%(process_num) in command of [program:a]: widths above 100"),
        ("50%", "% in command of [program:a]: a lone %"),
    ] {
        let e = err(&format!("[program:a]\ncommand=/bin/x {value}\n"));
        assert!(e.starts_with(&format!("config:2: {want}")), "{value}: {e}");
    }
}

#[test]
fn program_environment_feeds_env_expansions() {
    let s = one(
        "[program:a]\ncommand=/bin/x --port %(ENV_PORT)s\nenvironment=PORT=80%(process_num)02d,HOME=/h\n\
         directory=%(ENV_HOME)s\n",
    );
    assert_eq!(argv(&s), ["/bin/x", "--port", "8000"]);
    assert_eq!(s.cwd, Some(PathBuf::from("/h")));
    // The host environment is used when the program does not set one.
    let mut m =
        Mem::new(&[("/c", "[program:a]\ncommand=/bin/x %(ENV_HOME)s\n")]).var("HOME", "/root");
    assert_eq!(
        argv(&m.parse("/c").unwrap().programs[0].processes[0]),
        ["/bin/x", "/root"]
    );
    // parse_str has no environment at all.
    assert!(err("[program:a]\ncommand=/bin/x %(ENV_HOME)s\n").contains("HOME is not set"));
}

/// Each reason an expansion fails, whole (the table above checks starts).
#[test]
fn every_expansion_error_reads_in_full() {
    use super::super::expand::Why;
    for (why, want) in [
        (
            Why::LonePercent,
            "a lone % starts an expansion like %(program_name)s; write %% for a literal %",
        ),
        (Why::Unclosed, "the expansion has no closing )"),
        (Why::TooWide, "widths above 100 are not supported"),
        (
            Why::NoType,
            "the expansion has no type; end it with s or d, as in %(program_name)s",
        ),
        (
            Why::BadType,
            "unsupported conversion; use s or d, as in %(process_num)02d",
        ),
        (
            Why::TextAsNumber,
            "d needs a number, but this name is text; use s",
        ),
        (
            Why::UnknownName("here".into()),
            "unknown name; usable here: here",
        ),
        (Why::Unset("X".into()), "environment variable X is not set"),
    ] {
        assert_eq!(why.to_string(), want);
    }
}
