//! supervisord's command line, read as Python's `getopt.getopt` reads it
//! for supervisord: short options bundled (`-nc FILE`, `-cFILE`), long ones
//! as `--name=VALUE` or `--name VALUE` and by any unique prefix
//! (`--config`), options ending at `--` or at the first other argument;
//! the same option twice is a conflict. Errors are supervisord's words.

/// One option: its attribute name, short and long spellings, and whether
/// it takes a value.
struct Opt {
    name: &'static str,
    short: Option<char>,
    long: Option<&'static str>,
    value: bool,
}

const fn opt(name: &'static str, short: char, long: &'static str, value: bool) -> Opt {
    Opt {
        name,
        short: Some(short),
        long: Some(long),
        value,
    }
}

/// supervisord 4's options (`ServerOptions`), in its order.
const OPTS: &[Opt] = &[
    opt("help", 'h', "help", false),
    Opt {
        name: "help",
        short: Some('?'),
        long: None,
        value: false,
    },
    opt("configfile", 'c', "configuration", true),
    opt("version", 'v', "version", false),
    opt("nodaemon", 'n', "nodaemon", false),
    opt("user", 'u', "user", true),
    opt("umask", 'm', "umask", true),
    opt("directory", 'd', "directory", true),
    opt("logfile", 'l', "logfile", true),
    opt("logfile_maxbytes", 'y', "logfile_maxbytes", true),
    opt("logfile_backups", 'z', "logfile_backups", true),
    opt("loglevel", 'e', "loglevel", true),
    opt("pidfile", 'j', "pidfile", true),
    opt("identifier", 'i', "identifier", true),
    opt("childlogdir", 'q', "childlogdir", true),
    opt("minfds", 'a', "minfds", true),
    Opt {
        name: "minprocs",
        short: None,
        long: Some("minprocs"),
        value: true,
    },
    opt("nocleanup", 'k', "nocleanup", false),
    opt("strip_ansi", 't', "strip_ansi", false),
    Opt {
        name: "profile_options",
        short: None,
        long: Some("profile_options"),
        value: true,
    },
    opt("silent", 's', "silent", false),
    // Not supervisord's: `sv -i N supervisord` puts it here (applets/mod.rs);
    // the detached daemon is started with --sv-detached (process.rs).
    Opt {
        name: "sv_detached",
        short: None,
        long: Some("sv-detached"),
        value: false,
    },
    Opt {
        name: "sv_instance",
        short: None,
        long: Some("sv-instance"),
        value: true,
    },
];

/// What the command line says: each option as written (`-c`,
/// `--configuration`), its attribute name and its value ("" for a flag),
/// in order.
#[derive(Debug, Default, PartialEq)]
pub struct Parsed {
    pub given: Vec<(String, &'static str, String)>,
}

impl Parsed {
    /// The value of option `name`, if given.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.given
            .iter()
            .find(|(_, n, _)| *n == name)
            .map(|(_, _, v)| v.as_str())
    }
}

/// Reads `args` (without the program name); Err is the message supervisord
/// prints after `Error: `.
pub fn parse(args: &[String]) -> Result<Parsed, String> {
    let mut out = Parsed::default();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        i += 1;
        if a == "--" {
            break;
        }
        if let Some(long) = a.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            let o = find_long(name)?;
            let long = o.long.unwrap_or(name);
            let value = match (o.value, inline) {
                (true, Some(v)) => v,
                (true, None) => {
                    let v = args
                        .get(i)
                        .ok_or_else(|| format!("option --{long} requires argument"))?;
                    i += 1;
                    v.clone()
                }
                (false, Some(_)) => {
                    return Err(format!("option --{long} must not have an argument"))
                }
                (false, None) => String::new(),
            };
            out.given.push((format!("--{long}"), o.name, value));
            continue;
        }
        let Some(shorts) = a.strip_prefix('-').filter(|s| !s.is_empty()) else {
            // The first other argument ends the options, as in getopt.
            i -= 1;
            break;
        };
        for (at, c) in shorts.char_indices() {
            let o = OPTS
                .iter()
                .find(|o| o.short == Some(c))
                .ok_or_else(|| format!("option -{c} not recognized"))?;
            if !o.value {
                out.given.push((format!("-{c}"), o.name, String::new()));
                continue;
            }
            let rest = &shorts[at + c.len_utf8()..];
            let value = if rest.is_empty() {
                let v = args
                    .get(i)
                    .ok_or_else(|| format!("option -{c} requires argument"))?;
                i += 1;
                v.clone()
            } else {
                rest.to_string()
            };
            out.given.push((format!("-{c}"), o.name, value));
            break;
        }
    }
    if i < args.len() {
        return Err(format!(
            "positional arguments are not supported: [{}]",
            args[i..]
                .iter()
                .map(|a| format!("'{a}'"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    // help and version act at once; any other option given twice is a
    // conflict.
    for (k, (written, name, _)) in out.given.iter().enumerate() {
        if matches!(*name, "help" | "version") {
            break;
        }
        if out.given[..k].iter().any(|(_, n, _)| n == name) {
            return Err(format!("conflicting command line option '{written}'"));
        }
    }
    Ok(out)
}

/// A long option by its name or a unique prefix of it.
fn find_long(name: &str) -> Result<&'static Opt, String> {
    let longs = OPTS.iter().filter(|o| o.long.is_some());
    if let Some(o) = longs.clone().find(|o| o.long == Some(name)) {
        return Ok(o);
    }
    let mut found = longs.filter(|o| o.long.is_some_and(|l| l.starts_with(name)));
    match (found.next(), found.next()) {
        (Some(o), None) if !name.is_empty() => Ok(o),
        (Some(_), Some(_)) => Err(format!("option --{name} not a unique prefix")),
        _ => Err(format!("option --{name} not recognized")),
    }
}

/// supervisord's help (its module doc), `%s` its program name.
pub const HELP: &str = "supervisord -- run a set of applications as daemons.

Usage: %s [options]

Options:
-c/--configuration FILENAME -- configuration file path (searches if not given)
-n/--nodaemon -- run in the foreground (same as 'nodaemon=true' in config file)
-s/--silent -- no logs to stdout (maps to 'silent=true' in config file)
-h/--help -- print this usage message and exit
-v/--version -- print supervisord version number and exit
-u/--user USER -- run supervisord as this user (or numeric uid)
-m/--umask UMASK -- use this umask for daemon subprocess (default is 022)
-d/--directory DIRECTORY -- directory to chdir to when daemonized
-l/--logfile FILENAME -- use FILENAME as logfile path
-y/--logfile_maxbytes BYTES -- use BYTES to limit the max size of logfile
-z/--logfile_backups NUM -- number of backups to keep when max bytes reached
-e/--loglevel LEVEL -- use LEVEL as log level (debug,info,warn,error,critical)
-j/--pidfile FILENAME -- write a pid file for the daemon process to FILENAME
-i/--identifier STR -- identifier used for this instance of supervisord
-q/--childlogdir DIRECTORY -- the log directory for child process logs
-k/--nocleanup --  prevent the process from performing cleanup (removal of
                   old automatic child log files) at startup.
-a/--minfds NUM -- the minimum number of file descriptors for start success
-t/--strip_ansi -- strip ansi escape codes from process output
--minprocs NUM  -- the minimum number of processes available for start success
--profile_options OPTIONS -- run supervisord under profiler and output
                             results based on OPTIONS, which  is a comma-sep'd
                             list of 'cumulative', 'calls', and/or 'callers',
                             e.g. 'cumulative,callers')

This is sv's supervisord applet: it runs sv instance $SV_INSTANCE (default 0),
so `sv status` and the other sv commands work beside it.
";

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Vec<(String, String)>, String> {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        parse(&args).map(|p| {
            p.given
                .into_iter()
                .map(|(_, n, v)| (n.to_string(), v))
                .collect()
        })
    }

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn shorts_bundle_and_take_values_attached_or_next() {
        assert_eq!(
            p(&["-nc", "f.conf", "-jx.pid", "-e", "debug"]),
            Ok(pairs(&[
                ("nodaemon", ""),
                ("configfile", "f.conf"),
                ("pidfile", "x.pid"),
                ("loglevel", "debug"),
            ]))
        );
        assert_eq!(p(&["-c"]), Err("option -c requires argument".into()));
        assert_eq!(p(&["-x"]), Err("option -x not recognized".into()));
    }

    #[test]
    fn longs_take_equals_or_next_and_unique_prefixes() {
        assert_eq!(
            p(&[
                "--configuration=a",
                "--nodaemon",
                "--minprocs",
                "9",
                "--config",
                "b"
            ])
            .unwrap_err(),
            "conflicting command line option '--configuration'"
        );
        assert_eq!(
            p(&["--conf=a", "--nod", "--minp", "9"]),
            Ok(pairs(&[
                ("configfile", "a"),
                ("nodaemon", ""),
                ("minprocs", "9")
            ]))
        );
        assert_eq!(
            p(&["--log=x"]),
            Err("option --log not a unique prefix".into())
        );
        assert_eq!(
            p(&["--nodaemon=1"]),
            Err("option --nodaemon must not have an argument".into())
        );
        assert_eq!(p(&["--bogus"]), Err("option --bogus not recognized".into()));
        assert_eq!(
            p(&["--pidfile"]),
            Err("option --pidfile requires argument".into())
        );
    }

    #[test]
    fn the_first_other_argument_ends_the_options() {
        assert_eq!(
            p(&["-n", "x", "-c", "y"]),
            Err("positional arguments are not supported: ['x', '-c', 'y']".into())
        );
        assert_eq!(
            p(&["-n", "--", "-c"]),
            Err("positional arguments are not supported: ['-c']".into())
        );
        assert_eq!(p(&["-n", "--"]), Ok(pairs(&[("nodaemon", "")])));
    }

    #[test]
    fn help_acts_before_a_later_conflict() {
        assert_eq!(
            p(&["-h", "-n", "-n"]),
            Ok(pairs(&[("help", ""), ("nodaemon", ""), ("nodaemon", "")]))
        );
        assert_eq!(
            p(&["-n", "-n"]),
            Err("conflicting command line option '-n'".into())
        );
    }
}
