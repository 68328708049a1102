//! configparser's syntax: comments, continuations, sections, syntax errors;
//! and no input that panics.

use super::*;
use crate::core::service::{AutoRestart, RestartRule};

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
