//! `[include]` globs: order, errors in included files, patterns, paths.

use super::*;

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
