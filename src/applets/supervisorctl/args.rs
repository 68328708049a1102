//! supervisorctl's command line, read as supervisor's `ClientOptions` reads
//! it with Python's `getopt`: short options bundled (`-ic FILE`), values
//! attached or apart, long options by any unique prefix (`--conf=FILE`),
//! options only before the action; the same option twice is a conflict.

/// Options and the action's words.
#[derive(Debug, Default, PartialEq)]
pub struct Args {
    pub help: bool,
    pub config: Option<String>,
    pub interactive: bool,
    pub serverurl: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub history: Option<String>,
    /// The action and its arguments.
    pub rest: Vec<String>,
}

/// Long options (`=`: takes a value), as `ClientOptions` adds them.
const LONG: &[(&str, bool)] = &[
    ("help", false),
    ("configuration", true),
    ("interactive", false),
    ("serverurl", true),
    ("username", true),
    ("password", true),
    ("history_file", true),
    ("history-file", true),
];

/// Short options that take a value.
const SHORT_VALUE: &str = "csupr";
const SHORT_FLAG: &str = "hi?";

/// The options of `argv` (without the program name); the error is the
/// text supervisorctl prints after `Error: `.
pub fn parse(argv: &[String]) -> Result<Args, String> {
    let mut opts: Vec<(String, String)> = Vec::new();
    let mut i = 0;
    while i < argv.len() {
        let a = &argv[i];
        if a == "--" {
            i += 1;
            break;
        }
        if let Some(long) = a.strip_prefix("--") {
            let (name, value) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            let matches: Vec<&(&str, bool)> =
                LONG.iter().filter(|(l, _)| l.starts_with(name)).collect();
            let &(full, takes) = match matches.as_slice() {
                [] => return Err(format!("option --{name} not recognized")),
                [one] => *one,
                many => match many.iter().find(|(l, _)| *l == name) {
                    Some(exact) => *exact,
                    None => return Err(format!("option --{name} not a unique prefix")),
                },
            };
            let value = match (takes, value) {
                (true, Some(v)) => v,
                (true, None) => {
                    i += 1;
                    match argv.get(i) {
                        Some(v) => v.clone(),
                        None => return Err(format!("option --{full} requires argument")),
                    }
                }
                (false, Some(_)) => {
                    return Err(format!("option --{full} must not have an argument"))
                }
                (false, None) => String::new(),
            };
            opts.push((format!("--{full}"), value));
            i += 1;
            continue;
        }
        let Some(shorts) = a.strip_prefix('-').filter(|s| !s.is_empty()) else {
            break;
        };
        for (at, c) in shorts.char_indices() {
            if SHORT_VALUE.contains(c) {
                let rest = &shorts[at + c.len_utf8()..];
                let value = if !rest.is_empty() {
                    rest.to_string()
                } else {
                    i += 1;
                    match argv.get(i) {
                        Some(v) => v.clone(),
                        None => return Err(format!("option -{c} requires argument")),
                    }
                };
                opts.push((format!("-{c}"), value));
                break;
            } else if SHORT_FLAG.contains(c) {
                opts.push((format!("-{c}"), String::new()));
            } else {
                return Err(format!("option -{c} not recognized"));
            }
        }
        i += 1;
    }
    let mut args = Args {
        rest: argv[i..].to_vec(),
        ..Args::default()
    };
    for (opt, value) in opts {
        let slot = match opt.as_str() {
            "-h" | "-?" | "--help" => {
                // `ClientOptions` prints the help as soon as it meets it.
                args.help = true;
                return Ok(args);
            }
            "-i" | "--interactive" => {
                if args.interactive {
                    return Err(format!("conflicting command line option '{opt}'"));
                }
                args.interactive = true;
                continue;
            }
            "-c" | "--configuration" => &mut args.config,
            "-s" | "--serverurl" => {
                if !is_url(&value) {
                    return Err(format!(
                        "invalid value for {opt} {}: value {} is not a URL",
                        py_repr(&value),
                        py_repr(&value)
                    ));
                }
                &mut args.serverurl
            }
            "-u" | "--username" => &mut args.username,
            "-p" | "--password" => &mut args.password,
            _ => &mut args.history,
        };
        if slot.is_some() {
            return Err(format!("conflicting command line option '{opt}'"));
        }
        *slot = Some(value);
    }
    Ok(args)
}

/// supervisor's `datatypes.url`: a scheme, and a host or a path after it.
fn is_url(v: &str) -> bool {
    let Some((scheme, rest)) = v.split_once(':') else {
        return false;
    };
    let scheme_ok = scheme
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    scheme_ok && !rest.trim_start_matches("//").is_empty()
}

/// A string as Python's `repr` writes it (for messages that quote one).
pub fn py_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::from(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(v: &[&str]) -> Result<Args, String> {
        parse(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn getopt_forms() {
        let a = p(&[
            "-ic",
            "f.conf",
            "-sunix:///x",
            "--user=u",
            "--password",
            "pw",
            "status",
            "-x",
        ])
        .unwrap();
        assert_eq!(a.config.as_deref(), Some("f.conf"));
        assert!(a.interactive);
        assert_eq!(a.serverurl.as_deref(), Some("unix:///x"));
        assert_eq!(a.username.as_deref(), Some("u"));
        assert_eq!(a.password.as_deref(), Some("pw"));
        assert_eq!(a.rest, ["status", "-x"]);
        assert!(p(&["-x"]).unwrap_err().contains("option -x not recognized"));
        assert!(p(&["-c"])
            .unwrap_err()
            .contains("option -c requires argument"));
        assert_eq!(
            p(&["-c", "a", "--conf=b"]).unwrap_err(),
            "conflicting command line option '--configuration'"
        );
        assert_eq!(
            p(&["-s", "foo"]).unwrap_err(),
            "invalid value for -s 'foo': value 'foo' is not a URL"
        );
        assert!(p(&["--history"])
            .unwrap_err()
            .contains("not a unique prefix"));
        assert!(p(&["-h", "-x"]).is_err());
        assert!(p(&["-c", "a", "-h", "-c", "b"]).unwrap().help);
    }
}
