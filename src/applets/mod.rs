//! The applet table and dispatch (SPEC §1), busybox-style: the basename of
//! `argv[0]` picks an applet (`parrot_service -> sv`), else the first argument
//! does (`sv status`). Every applet is `fn(Vec<OsString>) -> exit::Result`
//! with its own name as `args[0]`; what it returns goes up to the one
//! exit-code map, [`exit::status`], here in [`run`].

pub mod check;
pub mod cli;
pub mod client;
pub mod create;
pub mod daemon;
pub mod exit;
pub mod parrot;
pub mod shell;
pub mod supervisorctl;
pub mod supervisord;
pub mod tail;
pub mod test_restart;
pub mod timeout;
pub mod toy;
pub mod wait;

use exit::Stop;
use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

pub struct Applet {
    pub name: &'static str,
    /// One line for `sv --help`.
    pub summary: &'static str,
    /// Usage, for `sv NAME --help`.
    pub usage: &'static str,
    pub main: fn(Vec<OsString>) -> exit::Result,
}

/// Every applet, sorted by name (a test checks).
pub static APPLETS: &[Applet] = &[
    Applet {
        name: "avail",
        summary: "every process of the config file read last, in use or available",
        usage: "sv avail [-i N]\n\nAs supervisorctl prints it: NAME, in use or avail, auto or manual,\n\
                GROUP_PRIORITY:PRIORITY.",
        main: cli::main,
    },
    Applet {
        name: "check",
        summary: "read a config file as the daemon would and report, starting nothing",
        usage: "sv check -c FILE [--strict]\n\n  --strict   exit 1 if there is any warning (for CI)",
        main: check::main,
    },
    Applet {
        name: "close",
        summary: "stop every service, then the daemon (aliases: quit, shutdown)",
        usage: "sv close [-i N]",
        main: cli::main,
    },
    Applet {
        name: "close-service",
        summary: "stop a service (stop signal, SIGKILL after the wait); it is not restarted",
        usage: "sv close-service TARGET... [-i N]",
        main: cli::main,
    },
    Applet {
        name: "create-service",
        summary: "register a program as a service and start it",
        usage: "sv create-service PATH [ARGS...] [-c SECS] [--cron EXPR] [-r N] [--create-stopped]\n                  [--no-wait] [--name NAME] [--set KEY=VALUE]... [-i N] [-- ARGS...]\n\nReturns once the service is RUNNING (past startsecs): `NAME: started, pid P`;\nif it fails to start, `NAME: ERROR (reason)` and exit 1.\n\n  -c SECS            start SECS seconds from now (PENDING until then)\n  --cron EXPR        run at the times of a cron expression or `@every 5m` (SPEC §17)\n  -r N               restart up to N times after unexpected exits, then FATAL\n  --create-stopped   register only (STOPPED)\n  --no-wait          return at once, while it is STARTING: `NAME: starting, pid P`\n  --name NAME        the service's name (default: basename of PATH)\n  --set KEY=VALUE    any config key of one process (startsecs, stopsignal, ...)\n  --                 everything after goes to the program unchanged",
        main: create::main,
    },
    Applet {
        name: "daemon",
        summary: "run supervisor instance N in the foreground",
        usage: "sv daemon [N | -i N] [-c FILE] [--log FILE] [-v]",
        main: daemon::main,
    },
    Applet {
        name: "init",
        summary: "start supervisor instance N detached; returns once it accepts commands",
        usage: "sv init [-i N] [-c FILE] [--log FILE] [-v]",
        main: daemon::init_main,
    },
    Applet {
        name: "list-supervisor",
        summary: "every service of the instance",
        usage: "sv list-supervisor [--json] [-i N]",
        main: cli::main,
    },
    Applet {
        name: "list-supervisors",
        summary: "every live supervisor instance of this user",
        usage: "sv list-supervisors [--json]",
        main: daemon::list_main,
    },
    Applet {
        name: "open-service",
        summary: "adopt a running process sv did not start (watched by pidfd)",
        usage: "sv open-service PID [--name NAME] [-i N]",
        main: cli::main,
    },
    Applet {
        name: "parrot_service",
        summary: "toy: append a timestamped line to a file every few seconds",
        usage: "parrot_service [--file PATH] [--interval SECS] [--message TEXT]",
        main: parrot::main,
    },
    Applet {
        name: "quit",
        summary: "same as close",
        usage: "sv quit [-i N]",
        main: cli::main,
    },
    Applet {
        name: "reload",
        summary: "re-read the config file: unchanged programs keep running, changed ones restart",
        usage: "sv reload [-i N]",
        main: cli::main,
    },
    Applet {
        name: "remove-service",
        summary: "forget a service; one sv started is stopped first, an adopted one is left running",
        usage: "sv remove-service TARGET... [-i N]",
        main: cli::main,
    },
    Applet {
        name: "reread",
        summary: "read the config file and say which groups it adds, changes or removes",
        usage: "sv reread [-i N]\n\nApplies nothing (see update). Prints `GROUP: available`, `changed` or\n\
                `disappeared`, or `No config updates to processes`, as supervisorctl does.",
        main: cli::main,
    },
    Applet {
        name: "restart",
        summary: "stop then start services",
        usage: "sv restart TARGET... [-i N]",
        main: cli::main,
    },
    Applet {
        name: "resume-service",
        summary: "SIGCONT a suspended service: SUSPENDED -> RUNNING",
        usage: "sv resume-service TARGET... [-i N]",
        main: cli::main,
    },
    Applet {
        name: "service-status",
        summary: "one service's state, pid, uptime, restarts and last exit",
        usage: "sv service-status TARGET... [--json] [-i N]",
        main: cli::main,
    },
    Applet {
        name: "shell",
        summary: "interactive prompt for every command (also reads commands from a pipe)",
        usage: "sv shell [-i N]",
        main: shell::main,
    },
    Applet {
        name: "shutdown",
        summary: "same as close",
        usage: "sv shutdown [-i N]",
        main: cli::main,
    },
    Applet {
        name: "signal",
        summary: "send any signal to services' processes",
        usage: "sv signal SIGNAL TARGET... [-i N]",
        main: cli::main,
    },
    Applet {
        name: "start",
        summary: "start services; returns when each is RUNNING or has failed",
        usage: "sv start TARGET... [-i N]",
        main: cli::main,
    },
    Applet {
        name: "status",
        summary: "state of every (or the named) service",
        usage: "sv status [TARGET...] [--json] [-i N]",
        main: cli::main,
    },
    Applet {
        name: "stop",
        summary: "stop services gracefully; returns when each is STOPPED",
        usage: "sv stop TARGET... [-i N]",
        main: cli::main,
    },
    Applet {
        name: "supervisor-cancel",
        summary: "cancel a PENDING start and remove the service",
        usage: "sv supervisor-cancel TARGET... [-i N]",
        main: cli::main,
    },
    Applet {
        name: "supervisor-freelist",
        summary: "remove several services",
        usage: "sv supervisor-freelist TARGET... [-i N]",
        main: cli::main,
    },
    Applet {
        name: "supervisorctl",
        summary: "supervisord's client: drives sv's XML-RPC server or a real supervisord",
        usage: "supervisorctl [-c FILE] [-s URL] [-u USER] [-p PASSWORD] [-i] [ACTION [ARGS...]]",
        main: supervisorctl::main,
    },
    Applet {
        name: "supervisord",
        summary: "supervisord's command line: find the config, detach, run the daemon (SPEC §13)",
        usage: "supervisord [-c FILE] [-n] [options]   (supervisord -h lists them)",
        main: supervisord::main,
    },
    Applet {
        name: "suspend-service",
        summary: "SIGSTOP a service: RUNNING -> SUSPENDED",
        usage: "sv suspend-service TARGET... [-i N]",
        main: cli::main,
    },
    Applet {
        name: "tail",
        summary: "one service's last log lines (10 unless -n); -f follows",
        usage: "sv tail [-f|--follow] [-n|--lines LINES] SERVICE [stdout|stderr] [-i N]",
        main: tail::main,
    },
    Applet {
        name: "test_restart",
        summary: "toy: run for SECS seconds, then die by SIGSEGV",
        usage: "test_restart SECS",
        main: test_restart::main,
    },
    Applet {
        name: "update",
        summary: "apply the config file to every group, or to the named ones, as reload does",
        usage: "sv update [GROUP...] [-i N]\n\nReads the config file and applies it as `reload` does (unchanged programs\n\
                keep running, changed ones restart, removed ones stop and go, added ones\n\
                start), to the named groups only when some are named (`all`: every one).",
        main: cli::main,
    },
    Applet {
        name: "wait",
        summary: "wait until services are running, stopped or completed; exit 1 if one cannot be",
        usage: "sv wait TARGET... [--for running|stopped|completed] [--timeout SECS] [-i N]\n\nExit 0 once every TARGET has reached the condition; 1 as soon as one cannot\n(FATAL, or EXITED or STOPPED where running was awaited) or when SECS have passed,\nnaming which; 3 when the instance cannot be reached.\n\n  --for running     RUNNING, that is past startsecs (the default)\n  --for stopped     no process: STOPPED, EXITED or FATAL\n  --for completed   EXITED with an expected code (one-shot jobs)\n  --timeout SECS    give up after SECS seconds (default: no limit)",
        main: wait::main,
    },
];

pub fn find(name: &str) -> Option<&'static Applet> {
    APPLETS
        .binary_search_by(|a| a.name.cmp(name))
        .ok()
        .map(|i| &APPLETS[i])
}

const TARGETS_HELP: &str = "TARGET is a service name, GROUP:NAME (as status shows it), a pid, GROUP:*\nor GROUP: (every member of a group, every copy of a program) or all.\n-i N picks the instance (default $SV_INSTANCE, else 0), before or after the command.";

fn print_overview() {
    let mut out = String::from(
        "sv: a process supervisor\n\nusage: sv COMMAND [ARGS...]   (or: sv with no command for the shell)\n\ncommands:\n",
    );
    for a in APPLETS {
        out.push_str(&format!("  {:<21} {}\n", a.name, a.summary));
    }
    out.push_str("\nsv COMMAND --help explains one command. Exit status: 0 done, 1 refused or\nfailed, 2 usage error, 3 the instance is not running or cannot be reached.\n");
    print_stdout(&out);
}

/// Writes to stdout; a closed pipe (`sv --help | head`) is not an error.
pub fn print_stdout(s: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(s.as_bytes());
    let _ = out.flush();
}

/// Prints one applet's usage.
pub fn print_usage(a: &Applet) {
    let mut s = format!("usage: {}\n\n{}.\n", a.usage, a.summary);
    if a.usage.contains("TARGET") {
        s.push('\n');
        s.push_str(TARGETS_HELP);
        s.push('\n');
    }
    print_stdout(&s);
}

/// True when args hold `--help` or `-h` before any `--`.
pub fn wants_help(args: &[OsString]) -> bool {
    args.iter()
        .take_while(|a| *a != "--")
        .any(|a| a == "--help" || a == "-h")
}

/// Entry point: runs the applet, tells what is left to tell, and maps
/// what happened to the exit status, in one place.
pub fn run(args: Vec<OsString>) -> ExitCode {
    exit::status(exit::report(start(args)))
}

/// Dispatches on argv[0], then on argv[1].
fn start(args: Vec<OsString>) -> exit::Result {
    let argv0 = args
        .first()
        .map(|a| {
            std::path::Path::new(a)
                .file_name()
                .unwrap_or(a)
                .to_string_lossy()
                .trim_start_matches('-')
                .to_string()
        })
        .unwrap_or_default();
    if let Some(applet) = find(&argv0).filter(|a| a.name != "sv") {
        let mut args = args;
        args[0] = applet.name.into();
        return dispatch(applet, args);
    }
    let (instance, args) = leading_instance(args);
    let Some(first) = args.get(1).map(|a| a.to_string_lossy().into_owned()) else {
        // `sv -i N` with no command opens the shell on N.
        let mut shell = vec![OsString::from("shell")];
        shell.extend(instance);
        return shell::main(shell);
    };
    match first.as_str() {
        "--help" | "-h" | "help" => {
            print_overview();
            Ok(())
        }
        "--version" | "-V" | "version" => {
            print_stdout(&format!("sv {}\n", env!("CARGO_PKG_VERSION")));
            Ok(())
        }
        name => match find(name) {
            Some(applet) if OWN_FLAGS.contains(&applet.name) => {
                // Its own flags, `-i` among them; for supervisord, which
                // runs an instance, a leading `sv -i N` still picks it.
                let mut argv: Vec<OsString> = args.into_iter().skip(1).collect();
                let n = instance.chunks(2).filter_map(|c| c.get(1)).next_back();
                if let (Some(n), "supervisord") = (n, applet.name) {
                    argv.splice(1..1, [OsString::from("--sv-instance"), n.clone()]);
                }
                (applet.main)(argv)
            }
            Some(applet) => {
                // `-i N` moves to just after the command, where every
                // applet takes it and before any `--` of create-service.
                let mut rest = args.into_iter().skip(1);
                let mut argv: Vec<OsString> = rest.next().into_iter().collect();
                argv.extend(instance);
                argv.extend(rest);
                match one_instance(applet, argv) {
                    Ok(argv) => dispatch(applet, argv),
                    Err(why) => Err(Stop::usage(applet.name, &why)),
                }
            }
            None => Err(Stop::bad(format!(
                "sv: unknown command '{name}' (see: sv --help)"
            ))),
        },
    }
}

/// Takes every `-i N` / `--instance N` that stands before the command off
/// `args` (argv[0] stays), so `sv -i 4 status` is `sv status -i 4` (SPEC
/// §11). A last `-i` with no value is taken too: with no command left,
/// `sv -i` hands it to the shell, which reports it.
fn leading_instance(mut args: Vec<OsString>) -> (Vec<OsString>, Vec<OsString>) {
    let mut taken = Vec::new();
    while args.len() > 2 && (args[1] == "-i" || args[1] == "--instance") {
        taken.extend(args.drain(1..3));
    }
    if args.len() == 2 && (args[1] == "-i" || args[1] == "--instance") {
        taken.extend(args.drain(1..2));
    }
    (taken, args)
}

/// Applets that stand in for another program and read its flags as it
/// does (`supervisord -i` is its identifier, `supervisorctl -i` its
/// interactive mode, `-h` their help): no `-i` gathering, no `--help` of
/// ours.
const OWN_FLAGS: &[&str] = &["supervisorctl", "supervisord"];

/// Applets that serve no instance: a `-i` on their line is dropped.
const NO_INSTANCE: &[&str] = &[
    "check",
    "list-supervisors",
    "parrot_service",
    "test_restart",
];

/// Gathers every `-i N` / `--instance N` / `--instance=N` before any `--`
/// into one `-i N` right after the command, so it may stand anywhere
/// (SPEC §11) and stand twice if both say the same; two different
/// instances are a usage error. A `-i` with no value is left for the
/// applet to report.
fn one_instance(applet: &Applet, argv: Vec<OsString>) -> Result<Vec<OsString>, String> {
    let mut out: Vec<OsString> = Vec::with_capacity(argv.len());
    let mut seen: Option<OsString> = None;
    let mut args = argv.into_iter();
    out.extend(args.next());
    while let Some(a) = args.next() {
        if a == "--" {
            out.push(a);
            out.extend(args.by_ref());
            break;
        }
        let value = if a == "-i" || a == "--instance" {
            match args.next() {
                Some(v) => v,
                None => {
                    out.push(a);
                    break;
                }
            }
        } else if let Some(v) = a.to_str().and_then(|s| s.strip_prefix("--instance=")) {
            v.into()
        } else {
            out.push(a);
            continue;
        };
        match &seen {
            Some(first) if *first != value => {
                return Err(format!(
                    "two instances given: -i {} and -i {}",
                    first.to_string_lossy(),
                    value.to_string_lossy()
                ))
            }
            _ => seen = Some(value),
        }
    }
    if let Some(n) = seen.filter(|_| !NO_INSTANCE.contains(&applet.name)) {
        out.splice(1..1, [OsString::from("-i"), n]);
    }
    Ok(out)
}

fn dispatch(applet: &Applet, args: Vec<OsString>) -> exit::Result {
    // parrot_service parses its own --help.
    if applet.name != "parrot_service"
        && !OWN_FLAGS.contains(&applet.name)
        && wants_help(&args[1..])
    {
        print_usage(applet);
        return Ok(());
    }
    (applet.main)(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instances_anywhere_become_one() {
        let os = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
        let status = find("status").unwrap();
        assert_eq!(
            one_instance(status, os(&["status", "web", "-i", "4", "--instance=4"])),
            Ok(os(&["status", "-i", "4", "web"]))
        );
        assert!(one_instance(status, os(&["status", "-i", "4", "-i", "5"]))
            .unwrap_err()
            .contains("-i 4 and -i 5"));
        let create = find("create-service").unwrap();
        assert_eq!(
            one_instance(
                create,
                os(&["create-service", "/bin/x", "-i", "3", "--", "-i", "9"])
            ),
            Ok(os(&[
                "create-service",
                "-i",
                "3",
                "/bin/x",
                "--",
                "-i",
                "9"
            ]))
        );
        let check = find("check").unwrap();
        assert_eq!(
            one_instance(check, os(&["check", "-i", "4", "-c", "f"])),
            Ok(os(&["check", "-c", "f"]))
        );
    }

    #[test]
    fn applets_are_sorted_and_unique() {
        for pair in APPLETS.windows(2) {
            assert!(
                pair[0].name < pair[1].name,
                "{} >= {}",
                pair[0].name,
                pair[1].name
            );
        }
    }

    #[test]
    fn every_applet_is_found_by_name() {
        for a in APPLETS {
            assert_eq!(find(a.name).map(|f| f.name), Some(a.name));
        }
        assert!(find("no-such-thing").is_none());
    }

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn leading_instances_are_taken_off() {
        let (i, rest) = leading_instance(os(&["sv", "-i", "4", "status", "-i", "5"]));
        assert_eq!(i, os(&["-i", "4"]));
        assert_eq!(rest, os(&["sv", "status", "-i", "5"]));
        let (i, rest) = leading_instance(os(&["sv", "--instance", "4", "-i", "5", "daemon"]));
        assert_eq!(i, os(&["--instance", "4", "-i", "5"]));
        assert_eq!(rest, os(&["sv", "daemon"]));
        let (i, rest) = leading_instance(os(&["sv", "-i", "4"]));
        assert_eq!((i, rest), (os(&["-i", "4"]), os(&["sv"])));
        let (i, rest) = leading_instance(os(&["sv", "-i"]));
        assert_eq!((i, rest), (os(&["-i"]), os(&["sv"])));
        let (i, rest) = leading_instance(os(&["sv", "status", "-i", "4"]));
        assert_eq!((i, rest), (os(&[]), os(&["sv", "status", "-i", "4"])));
    }

    #[test]
    fn help_stops_at_double_dash() {
        let args: Vec<OsString> = ["/bin/echo", "--", "--help"]
            .iter()
            .map(OsString::from)
            .collect();
        assert!(!wants_help(&args));
        let args: Vec<OsString> = ["x", "--help"].iter().map(OsString::from).collect();
        assert!(wants_help(&args));
    }
}
