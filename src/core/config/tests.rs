use super::*;
use crate::core::spec::OutputSpec;
use std::collections::BTreeMap;
use std::time::Duration;

/// An in-memory machine: files by absolute path, variables, a host name.
#[derive(Default)]
struct Mem {
    files: BTreeMap<PathBuf, String>,
    vars: HashMap<String, String>,
    host: String,
}

impl Mem {
    fn new(files: &[(&str, &str)]) -> Mem {
        Mem {
            files: files
                .iter()
                .map(|(p, t)| (PathBuf::from(p), t.to_string()))
                .collect(),
            vars: HashMap::new(),
            host: "testhost".into(),
        }
    }

    fn var(mut self, k: &str, v: &str) -> Mem {
        self.vars.insert(k.into(), v.into());
        self
    }

    /// Parses the first file (by the order given to `new`, which is also
    /// sorted here, so tests name the main file to sort first).
    fn parse(&mut self, main: &str) -> Result<Config, ConfigError> {
        let text = self.files[Path::new(main)].clone();
        parse(Path::new(main), &text, self)
    }
}

impl Host for Mem {
    fn read(&mut self, path: &Path) -> io::Result<String> {
        self.files
            .get(&normalize(path))
            .cloned()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "No such file or directory"))
    }

    fn glob(&mut self, dir: &Path, pattern: &str) -> Vec<PathBuf> {
        // A file system without symlinks: `..` is lexical.
        let (asked, dir) = (dir, normalize(dir));
        let dir = dir.as_path();
        // Every file and every directory above one.
        let mut all: Vec<&Path> = Vec::new();
        for f in self.files.keys() {
            all.extend(f.ancestors().filter(|a| !a.as_os_str().is_empty()));
        }
        let mut found: Vec<PathBuf> = all
            .into_iter()
            .filter(|p| p.parent() == Some(dir))
            .filter(|p| glob_match(pattern, &p.file_name().unwrap().to_string_lossy()))
            .map(|p| asked.join(p.file_name().unwrap()))
            .collect();
        found.sort();
        found.dedup();
        found
    }

    fn var(&mut self, name: &str) -> Option<String> {
        self.vars.get(name).cloned()
    }

    fn hostname(&mut self) -> String {
        self.host.clone()
    }
}

fn one(text: &str) -> ServiceSpec {
    let c = parse_str(text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.services().count(), 1, "{c:?}");
    let s = c.services().next().unwrap().clone();
    s
}

fn err(text: &str) -> String {
    match parse_str(text) {
        Ok(c) => panic!("parsed, but should not have: {c:?}"),
        Err(e) => e.to_string(),
    }
}

fn names(c: &Config) -> Vec<&str> {
    c.services().map(|s| s.name.as_str()).collect()
}

fn argv(s: &ServiceSpec) -> Vec<&str> {
    s.argv.iter().map(String::as_str).collect()
}

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

// ---- INI syntax ----

#[test]
fn key_value_forms_and_key_case() {
    for line in [
        "command=/bin/x",
        "command = /bin/x",
        "command: /bin/x",
        "command  :/bin/x",
        "COMMAND = /bin/x",
        "Command=/bin/x   ",
    ] {
        let s = one(&format!("[program:a]\n{line}\n"));
        assert_eq!(argv(&s), ["/bin/x"], "{line}");
    }
    // The first = or : splits; the rest belongs to the value.
    let s = one("[program:a]\ncommand=/bin/x --url=http://h:1/\n");
    assert_eq!(argv(&s), ["/bin/x", "--url=http://h:1/"]);
}

#[test]
fn comments_full_line_and_inline() {
    let s = one(
        "; top comment\n# another\n[program:a] ; header comment\n  ; indented comment\n\
         command=/bin/x a;b c#d ;gone\n# between\npriority=5 # five\nuser=bob;x\n",
    );
    assert_eq!(argv(&s), ["/bin/x", "a;b", "c#d"]);
    assert_eq!(s.priority, 5);
    assert_eq!(s.user.as_deref(), Some("bob;x"));
    // The brief's examples.
    assert_eq!(
        one("[program:a]\ncommand=/bin/x\nuser=b ;c\n")
            .user
            .as_deref(),
        Some("b")
    );
    assert_eq!(
        one("[program:a]\ncommand=/bin/x\nuser=b;c\n")
            .user
            .as_deref(),
        Some("b;c")
    );
    // A quoted " ;" still starts a comment, as in supervisord; the error says so.
    let e = err("[program:a]\ncommand=/bin/sh -c \"sleep 1 ; echo\"\n");
    assert!(
        e.starts_with("config:2: command in [program:a]: unclosed double quote"),
        "{e}"
    );
    assert!(e.contains("starts a comment"), "{e}");
}

#[test]
fn continuation_lines() {
    let c = parse_str(
        "[program:a]\ncommand=/bin/echo\n  one\n\ttwo \"three\n  four\"\n\n   five\nenvironment=A=1,\n  B=\"x, y\"\n\n\n[program:b]\n  command=/bin/b\n  priority=3\n",
    )
    .unwrap();
    let a = &c.programs[0].processes[0];
    assert_eq!(argv(a), ["/bin/echo", "one", "two", "three four", "five"]);
    assert_eq!(
        a.env,
        vec![("A".into(), "1".into()), ("B".into(), "x, y".into())]
    );
    // Indented keys after a header are keys, not continuations.
    let b = &c.programs[1].processes[0];
    assert_eq!(argv(b), ["/bin/b"]);
    assert_eq!(b.priority, 3);
}

#[test]
fn continuation_needs_more_indent_than_its_key() {
    // Same indent as the key line: a new key.
    let s = one("[program:a]\n  command=/bin/x\n  priority=4\n");
    assert_eq!(argv(&s), ["/bin/x"]);
    assert_eq!(s.priority, 4);
    // More indent: the value goes on, so priority is part of the command.
    let s = one("[program:a]\n command=/bin/x\n   priority=4\n");
    assert_eq!(argv(&s), ["/bin/x", "priority=4"]);
    assert_eq!(s.priority, 999);
}

#[test]
fn an_error_in_a_continued_value_names_the_key_line() {
    let e = err("[program:a]\ncommand=/bin/x\nautostart=\n   maybe\n");
    assert!(e.starts_with("config:3: autostart in [program:a]: "), "{e}");
}

#[test]
fn percent_percent_is_a_literal_percent() {
    let s = one("[program:a]\ncommand=/bin/date +%%s 100%%\n");
    assert_eq!(argv(&s), ["/bin/date", "+%s", "100%"]);
    let e = err("[program:a]\ncommand=/bin/date +%s\n");
    assert!(
        e.starts_with("config:2: %s in command of [program:a]: a lone %"),
        "{e}"
    );
    assert!(e.contains("%%"), "{e}");
}

#[test]
fn the_last_duplicate_key_wins() {
    let s = one("[program:a]\ncommand=/bin/one\npriority=1\ncommand=/bin/two\n");
    assert_eq!(argv(&s), ["/bin/two"]);
    // Its line is the one reported.
    let e = err("[program:a]\ncommand=/bin/x\nautostart=true\nautostart=perhaps\n");
    assert!(e.starts_with("config:4: "), "{e}");
}

#[test]
fn booleans_in_any_case() {
    for (v, want) in [
        ("true", true),
        ("True", true),
        ("TRUE", true),
        ("yes", true),
        ("Yes", true),
        ("on", true),
        ("1", true),
        ("false", false),
        ("False", false),
        ("NO", false),
        ("off", false),
        ("0", false),
    ] {
        let s = one(&format!("[program:a]\ncommand=/bin/x\nautostart={v}\n"));
        assert_eq!(s.autostart, want, "{v}");
    }
    let s = one("[program:a]\ncommand=/bin/x\nautorestart=True\n");
    assert!(matches!(
        s.policy.restart,
        RestartRule::Auto {
            autorestart: AutoRestart::Always,
            ..
        }
    ));
}

#[test]
fn crlf_cr_and_bom() {
    let text = "\u{feff}[program:a]\r\ncommand=/bin/x\r\n  y\r\npriority=2\r\n[program:b]\rcommand=/bin/b\r";
    let c = parse_str(text).unwrap();
    let a = &c.programs[0].processes[0];
    assert_eq!(argv(a), ["/bin/x", "y"]);
    assert_eq!(a.priority, 2);
    assert_eq!(c.programs[1].line, 5);
    assert_eq!(argv(&c.programs[1].processes[0]), ["/bin/b"]);
    // Errors and warnings count lines the same way.
    let e = err("\u{feff}[program:a]\r\ncommand=/bin/x\r\nautostart=maybe\r\n");
    assert!(e.starts_with("config:3: autostart in [program:a]"), "{e}");
    let c = parse_str("\u{feff}[program:a]\r\ncommand=/bin/x\r\nbogus=1\r\n").unwrap();
    assert_eq!(c.warnings, ["config:3: unknown key 'bogus' in [program:a]"]);
}

#[test]
fn default_section_applies_to_programs() {
    let c = parse_str(
        "[DEFAULT]\nautostart=false\npriority=7\n[program:a]\ncommand=/bin/a\npriority=1\n\
         [program:b]\ncommand=/bin/b\n",
    )
    .unwrap();
    let (a, b) = (&c.programs[0].processes[0], &c.programs[1].processes[0]);
    assert!(!a.autostart && !b.autostart);
    assert_eq!((a.priority, b.priority), (1, 7));
    // An unknown key there is a warning, once for all the programs.
    let c =
        parse_str("[DEFAULT]\nbogus=1\n[program:a]\ncommand=/bin/a\n[program:b]\ncommand=/bin/b\n")
            .unwrap();
    assert_eq!(c.warnings, ["config:2: unknown key 'bogus' in [DEFAULT]"]);
    let e = err("[DEFAULT]\nautostart=maybe\n[program:a]\ncommand=/bin/a\n");
    assert!(
        e.starts_with("config:2: autostart in [DEFAULT] (for [program:a]): "),
        "{e}"
    );
}

// ---- syntax errors ----

#[test]
fn syntax_errors_name_the_line() {
    for (text, want) in [
        (
            "command=/bin/x\n",
            "config:1: 'command=/bin/x' comes before any [section] header",
        ),
        (
            "[program:a]\ncommand=/bin/x\njunk\n",
            "config:3: expected 'key = value' or a [section] header, got 'junk'",
        ),
        (
            "[program:a]\ncommand=/bin/x\n=1\n",
            "config:3: no key before the '=' in '=1'",
        ),
        (
            "[program:a\ncommand=/bin/x\n",
            "config:1: section header '[program:a' has no closing ]",
        ),
        (
            "[program:a] x\ncommand=/bin/x\n",
            "config:1: text after the section header: '[program:a] x'",
        ),
        ("[ ]\n", "config:1: empty section name []"),
    ] {
        assert_eq!(err(text), want, "{text:?}");
    }
}

#[test]
fn duplicate_sections_are_errors() {
    let e = err("[program:a]\ncommand=/bin/a\n\n[program:a]\ncommand=/bin/b\n");
    assert_eq!(
        e,
        "config:4: duplicate section [program:a]; the first one is at config:1"
    );
    let e = err("[program:a]\ncommand=/bin/a\n[program: a ]\ncommand=/bin/b\n");
    assert!(e.starts_with("config:3: duplicate [program:a]"), "{e}");
    let e = err("[supervisord]\n[supervisord]\n");
    assert!(
        e.starts_with("config:2: duplicate section [supervisord]"),
        "{e}"
    );
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
    let argvs: Vec<_> = c.services().map(argv).collect();
    assert_eq!(argvs, [["/bin/w", "0"], ["/bin/w", "1"]]);
    assert!(c.services().all(|s| s.program.as_deref() == Some("x")));

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

// ---- groups ----

#[test]
fn groups_set_the_group_of_their_programs() {
    let c = parse_str(
        "[program:web]\ncommand=/bin/web\nnumprocs=2\n[program:db]\ncommand=/bin/db\n\
         [program:other]\ncommand=/bin/o\n[group:site]\nprograms = web , db,\npriority=10\n",
    )
    .unwrap();
    assert_eq!(
        c.groups,
        vec![(
            "site".to_string(),
            vec!["web".to_string(), "db".to_string()]
        )]
    );
    let groups: Vec<_> = c.services().map(|s| s.group.as_deref()).collect();
    assert_eq!(groups, [Some("site"), Some("site"), Some("site"), None]);
    assert_eq!(
        c.warnings,
        ["config:10: priority in [group:site] is not used by sv; ignored (each program's own priority applies)"]
    );
}

#[test]
fn group_errors() {
    let e = err("[program:a]\ncommand=/bin/a\n[group:g]\nprograms=a,b\n");
    assert_eq!(
        e,
        "config:4: [group:g] lists 'b', but there is no [program:b]"
    );
    let e = err("[program:a]\ncommand=/bin/a\n[group:g]\nprograms=a\n[group:h]\nprograms=a\n");
    assert!(
        e.starts_with("config:6: [group:h] lists 'a', which is in [group:g] already"),
        "{e}"
    );
    let e = err("[program:a]\ncommand=/bin/a\n[group:g]\nprogram=a\n");
    assert_eq!(
        e,
        "config:3: [group:g] has no programs = line (programs = a,b); \
         'program' (line 4) is not a key: did you mean programs?"
    );
    let e = err("[program:a]\ncommand=/bin/a\n[group:g]\n");
    assert_eq!(
        e,
        "config:3: [group:g] has no programs = line (programs = a,b)"
    );
    let e = err("[program:a]\ncommand=/bin/a\n[group:g]\nprograms= ,\n");
    assert_eq!(e, "config:4: programs in [group:g] lists no program");
    let e = err("[program:a]\ncommand=/bin/a\n[group:g]\nprograms=a\npriority=high\n");
    assert_eq!(
        e,
        "config:5: priority in [group:g]: 'high' is not a whole number"
    );
    let e =
        err("[program:a]\ncommand=/bin/a\n[program:b]\ncommand=/bin/b\n[group:a]\nprograms=b\n");
    assert!(
        e.starts_with("config:5: [group:a] has the name of [program:a]"),
        "{e}"
    );
    // A group may share its name with a member.
    parse_str("[program:a]\ncommand=/bin/a\n[group:a]\nprograms=a\n").unwrap();
}

// ---- supervisord's own sections and keys ----

#[test]
fn supervisord_sections_and_keys_are_warnings() {
    let c = parse_str(
        "[unix_http_server]\nfile=/tmp/s.sock\n[supervisord]\nnodaemon=true\nenvironment=A=1\n\
         [supervisorctl]\nserverurl=unix:///tmp/s.sock\n[inet_http_server]\nport=9001\n\
         [rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\
         [eventlistener:mem]\ncommand=memmon\n[fcgi-program:f]\ncommand=/bin/f\n[ctlplugin:p]\nx=y\n\
         [program:a]\ncommand=/bin/a\nnumprocs=2\nstdout_events_enabled=true\nstderr_syslog=true\n",
    )
    .unwrap();
    assert_eq!(
        c.warnings,
        [
            "config:1: [unix_http_server] is not used by sv; ignored",
            "config:3: [supervisord] is not used by sv; ignored",
            "config:5: environment in [supervisord] is not given to the programs; set env in each [program:x]",
            "config:6: [supervisorctl] is not used by sv; ignored",
            "config:8: [inet_http_server] is not used by sv; ignored",
            "config:10: [rpcinterface:supervisor] is not used by sv; ignored",
            "config:12: [eventlistener:mem] is not used by sv; ignored (its processes are not started)",
            "config:14: [fcgi-program:f] is not used by sv; ignored (its processes are not started)",
            "config:16: [ctlplugin:p] is not used by sv; ignored",
            "config:21: stdout_events_enabled in [program:a] is not used by sv; ignored",
            "config:22: stderr_syslog in [program:a] is not used by sv; ignored",
        ]
    );
    assert_eq!(names(&c), ["a_00", "a_01"]);
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

// ---- includes ----

fn site() -> Mem {
    Mem::new(&[
        (
            "/etc/sv/a-main.conf",
            "[include]\nfiles = conf.d/*.conf extra.conf nothing/*.conf\n\n[program:main]\ncommand=/bin/main\n",
        ),
        (
            "/etc/sv/conf.d/20-web.conf",
            "[program:web]\ncommand=%(here)s/web\n",
        ),
        (
            "/etc/sv/conf.d/10-db.conf",
            "; db\n[program:db]\ncommand=/bin/db\n[group:data]\nprograms=db,main\n",
        ),
        ("/etc/sv/conf.d/notes.txt", "not a config"),
        ("/etc/sv/conf.d/.hidden.conf", "[program:hidden]\ncommand=/bin/h\n"),
        ("/etc/sv/extra.conf", "[include]\nfiles=../sv/a-main.conf more/?.conf\n"),
        ("/etc/sv/more/x.conf", "[program:x]\ncommand=/bin/x\n"),
    ])
}

#[test]
fn includes_follow_globs_in_order() {
    let c = site().parse("/etc/sv/a-main.conf").unwrap();
    let progs: Vec<_> = c
        .programs
        .iter()
        .map(|p| (p.name.as_str(), p.file.to_str().unwrap(), p.line))
        .collect();
    assert_eq!(
        progs,
        [
            ("main", "/etc/sv/a-main.conf", 4),
            ("db", "/etc/sv/conf.d/10-db.conf", 2),
            ("web", "/etc/sv/conf.d/20-web.conf", 1),
            ("x", "/etc/sv/more/x.conf", 1),
        ]
    );
    // %(here)s is the directory of the file holding the section.
    assert_eq!(argv(&c.programs[2].processes[0]), ["/etc/sv/conf.d/web"]);
    // Groups in an included file may name programs of the main file.
    assert_eq!(c.programs[0].processes[0].group.as_deref(), Some("data"));
    assert_eq!(
        c.warnings,
        ["/etc/sv/a-main.conf:2: no file matches the include '/etc/sv/nothing/*.conf'"]
    );
}

#[test]
fn errors_in_included_files_name_that_file() {
    let mut m = site();
    m.files.insert(
        "/etc/sv/more/x.conf".into(),
        "[program:x]\ncommand=/bin/x\n\nautostart=sometimes\n".into(),
    );
    let e = m.parse("/etc/sv/a-main.conf").unwrap_err();
    assert_eq!(e.file, PathBuf::from("/etc/sv/more/x.conf"));
    assert_eq!(e.line, 4);
    assert!(e.message.starts_with("autostart in [program:x]: "), "{e}");

    let mut m = site();
    m.files.insert(
        "/etc/sv/more/y.conf".into(),
        "[program:web]\ncommand=/bin/y\n".into(),
    );
    let e = m.parse("/etc/sv/a-main.conf").unwrap_err().to_string();
    assert_eq!(
        e,
        "/etc/sv/more/y.conf:1: duplicate section [program:web]; the first one is at /etc/sv/conf.d/20-web.conf:1"
    );
}

#[test]
fn an_unreadable_include_is_an_error_at_the_files_line() {
    struct Broken(Mem);
    impl Host for Broken {
        fn read(&mut self, _: &Path) -> io::Result<String> {
            Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "Permission denied",
            ))
        }
        fn glob(&mut self, dir: &Path, pattern: &str) -> Vec<PathBuf> {
            self.0.glob(dir, pattern)
        }
        fn var(&mut self, name: &str) -> Option<String> {
            Host::var(&mut self.0, name)
        }
        fn hostname(&mut self) -> String {
            self.0.hostname()
        }
    }
    let mut b = Broken(site());
    let text = "\n[include]\nfiles=extra.conf\n";
    let e = parse(Path::new("/etc/sv/a-main.conf"), text, &mut b).unwrap_err();
    assert_eq!(
        e.to_string(),
        "/etc/sv/a-main.conf:3: cannot read the included file /etc/sv/extra.conf: Permission denied"
    );
}

#[test]
fn include_patterns_expand_and_may_be_absolute() {
    let mut m = Mem::new(&[
        (
            "/a/main.conf",
            "[include]\nfiles=%(ENV_CONF)s/*.conf %(here)s/local.conf\n",
        ),
        ("/b/one.conf", "[program:one]\ncommand=/bin/one\n"),
        ("/a/local.conf", "[program:local]\ncommand=/bin/local\n"),
    ])
    .var("CONF", "/b");
    let c = m.parse("/a/main.conf").unwrap();
    let progs: Vec<_> = c.programs.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(progs, ["one", "local"]);
    // Wildcards in a directory part too.
    let mut m = Mem::new(&[
        ("/a/main.conf", "[include]\nfiles=*/[!x]*.conf\n"),
        ("/a/p/one.conf", "[program:one]\ncommand=/bin/one\n"),
        ("/a/q/two.conf", "[program:two]\ncommand=/bin/two\n"),
        ("/a/q/xtra.conf", "[program:xtra]\ncommand=/bin/x\n"),
    ]);
    let c = m.parse("/a/main.conf").unwrap();
    let progs: Vec<_> = c.programs.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(progs, ["one", "two"]);
}

#[test]
fn parse_str_resolves_includes_to_nothing() {
    let c = parse_str("[include]\nfiles=conf.d/*.conf\n[program:a]\ncommand=/bin/a\n").unwrap();
    assert_eq!(c.programs.len(), 1);
    assert_eq!(
        c.warnings,
        ["config:2: no file matches the include 'conf.d/*.conf'"]
    );
}

#[test]
fn glob_matching() {
    for (p, n, want) in [
        ("*.conf", "a.conf", true),
        ("*.conf", "a.conf.bak", false),
        ("*.conf", ".a.conf", false),
        (".*.conf", ".a.conf", true),
        ("*", "anything", true),
        ("a*b*c", "axxbyyc", true),
        ("a*b*c", "axxbyy", false),
        ("?.conf", "a.conf", true),
        ("?.conf", "ab.conf", false),
        ("[ab].conf", "b.conf", true),
        ("[ab].conf", "c.conf", false),
        ("[a-c]x", "bx", true),
        ("[!a-c]x", "bx", false),
        ("[!a-c]x", "dx", true),
        ("[]]", "]", true),
        ("[!]]", "a", true),
        ("[ab", "[ab", true),
        ("[ab", "a", false),
        ("x[", "x[", true),
        ("*[0-9][0-9]-*.conf", "web10-x.conf", true),
        ("", "", true),
        ("", "a", false),
        ("**", "a", true),
    ] {
        assert_eq!(glob_match(p, n), want, "{p} vs {n}");
    }
}

#[test]
fn normalizing_paths() {
    assert_eq!(normalize(Path::new("/a/./b/../c")), PathBuf::from("/a/c"));
    assert_eq!(normalize(Path::new("/../a")), PathBuf::from("/a"));
    assert_eq!(normalize(Path::new("../a/..")), PathBuf::from(".."));
    assert_eq!(normalize(Path::new("./x")), PathBuf::from("x"));
}

#[test]
fn errors_display_as_file_line_message() {
    let e = ConfigError {
        file: "/etc/x.conf".into(),
        line: 3,
        message: "bad".into(),
    };
    assert_eq!(e.to_string(), "/etc/x.conf:3: bad");
    let e = ConfigError { line: 0, ..e };
    assert_eq!(e.to_string(), "/etc/x.conf: bad");
}

// ---- on disk ----

fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name)
}

#[test]
fn loads_the_docker_config() {
    let path = testdata("configs/supervisord-docker.conf");
    let c = load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.path, path);
    assert_eq!(
        names(&c),
        [
            "nginx",
            "php-fpm",
            "queue-worker_00",
            "queue-worker_01",
            "queue-worker_02",
            "queue-worker_03",
            "cron"
        ]
    );
    let nginx = &c.programs[0].processes[0];
    assert_eq!(argv(nginx), ["/usr/sbin/nginx", "-g", "daemon off;"]);
    assert_eq!(nginx.stdout, OutputSpec::Daemon(1));
    assert_eq!(nginx.stderr, OutputSpec::Daemon(2));
    assert_eq!(nginx.maxbytes, [0, 0]);
    let w = &c.programs[2].processes[3];
    assert_eq!(w.user.as_deref(), Some("www-data"));
    assert_eq!(w.policy.stopwait, Duration::from_secs(3600));
    assert!(matches!(
        w.policy.restart,
        RestartRule::Auto {
            autorestart: AutoRestart::Always,
            startretries: 3
        }
    ));
    // From docker.d/cron.conf, included by a glob.
    assert!(c.programs[3].file.ends_with("configs/docker.d/cron.conf"));
    let warned: Vec<_> = c
        .warnings
        .iter()
        .map(|w| w.rsplit(": ").next().unwrap_or(""))
        .collect();
    assert!(
        c.warnings
            .iter()
            .any(|w| w.contains("[supervisord] is not used by sv; ignored")),
        "{warned:?}"
    );
    assert!(c.warnings.iter().any(|w| w.contains("[unix_http_server]")));
    assert!(c
        .warnings
        .iter()
        .any(|w| w.contains("[rpcinterface:supervisor]")));
    assert!(c.warnings.iter().any(|w| w.contains("[supervisorctl]")));
    assert!(c
        .warnings
        .iter()
        .any(|w| w.contains("stdout_events_enabled in [program:queue-worker] is not used by sv")));
    assert!(c
        .warnings
        .iter()
        .all(|w| w.starts_with(path.to_str().unwrap())));
}

#[test]
fn loads_the_ecommerce_config() {
    let path = testdata("configs/ecommerce.conf");
    let c = load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert_eq!(names(&c), ["ecommerce_api_00", "ecommerce_api_01"]);
    let s = &c.programs[0].processes[1];
    assert_eq!(argv(s), ["/bin/sleep", "3600"]);
    assert!(!s.autostart);
    assert_eq!(s.cwd, Some(PathBuf::from("/tmp")));
    assert_eq!(
        s.env,
        vec![
            ("APP_ENV".to_string(), "production".to_string()),
            ("GREETING".to_string(), "hello, world".to_string()),
            ("PORT".to_string(), "8001".to_string()),
        ]
    );
    assert_eq!(s.umask, Some(0o022));
    assert_eq!(s.user.as_deref(), Some("nobody"));
    assert_eq!(
        s.policy.restart,
        RestartRule::Auto {
            autorestart: AutoRestart::Unexpected,
            startretries: 5
        }
    );
    assert_eq!(s.policy.exitcodes, vec![0, 2]);
    assert_eq!(s.policy.startsecs, Duration::from_secs(2));
    assert_eq!(s.policy.stopsignal, libc::SIGQUIT);
    assert_eq!(s.policy.stopwait, Duration::from_secs(20));
    assert!(s.policy.group);
    assert_eq!(
        s.stdout,
        OutputSpec::File("/tmp/ecommerce_api_01.out.log".into())
    );
    assert_eq!(
        s.stderr,
        OutputSpec::File("/tmp/ecommerce_api_01.err.log".into())
    );
    assert_eq!(s.maxbytes, [10 << 20, 1 << 20]);
    assert_eq!(s.backups, [5, 2]);
    assert!(!s.redirect_stderr);
    assert_eq!(s.priority, 100);
}

#[test]
fn loads_the_demo_config() {
    let c = load(&testdata("demo.conf")).unwrap_or_else(|e| panic!("{e}"));
    assert!(c.services().count() >= 1);
}

#[test]
fn load_reports_a_missing_file() {
    let e = load(Path::new("/nonexistent/sv.conf")).unwrap_err();
    assert_eq!(e.line, 0);
    assert!(
        e.to_string()
            .starts_with("/nonexistent/sv.conf: cannot read the config file: "),
        "{e}"
    );
}

#[test]
fn load_follows_includes_on_disk_and_dedups() {
    let dir = std::env::temp_dir().join(format!("sv-config-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("conf.d")).unwrap();
    std::fs::write(
        dir.join("main.conf"),
        "[include]\nfiles=conf.d/*.conf *.conf\n[program:main]\ncommand=/bin/main\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("conf.d/b.conf"),
        "[program:b]\ncommand=%(here)s/b\n",
    )
    .unwrap();
    std::fs::write(dir.join("conf.d/a.conf"), "[program:a]\ncommand=/bin/a\n").unwrap();
    std::fs::write(
        dir.join("conf.d/bad.conf"),
        b"[program:c]\ncommand=/bin/\xff\n",
    )
    .unwrap();
    let e = load(&dir.join("main.conf")).unwrap_err().to_string();
    assert!(
        e.contains("conf.d/bad.conf: line 2 is not UTF-8 text"),
        "{e}"
    );
    std::fs::remove_file(dir.join("conf.d/bad.conf")).unwrap();
    // main.conf matches *.conf itself: it is not read twice.
    let c = load(&dir.join("main.conf")).unwrap_or_else(|e| panic!("{e}"));
    let progs: Vec<_> = c.programs.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(progs, ["main", "a", "b"]);
    assert_eq!(
        argv(&c.programs[2].processes[0]),
        [dir.join("conf.d/b").to_str().unwrap()]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn system_hostname_is_not_empty() {
    assert!(!System.hostname().is_empty());
}

// ---- robustness ----

#[test]
fn garbage_never_panics() {
    let pieces = [
        "[",
        "]",
        "program:",
        "group:",
        "include",
        "DEFAULT",
        "a",
        "x",
        "=",
        ":",
        ";",
        "#",
        " ",
        "\t",
        "\n",
        "\r",
        "\r\n",
        "%",
        "%(",
        ")",
        "s",
        "d",
        "02",
        "process_num",
        "program_name",
        "ENV_",
        "command",
        "numprocs",
        "1",
        "0",
        "999999999999",
        "programs",
        "files",
        "*",
        "?",
        "[!",
        "\"",
        "'",
        "\\",
        "é",
        "\u{feff}",
        "process_name",
        "here",
        ",",
        "environment",
    ];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..3000 {
        let len = next() % 60;
        let text: String = (0..len)
            .map(|_| pieces[(next() % pieces.len() as u64) as usize])
            .collect();
        let _ = parse_str(&text);
        let with_header = format!("[program:p]\ncommand=/bin/x\n{text}");
        let _ = parse_str(&with_header);
    }
}
