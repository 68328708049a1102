//! `sv shell`: a prompt `sv:N> ` that takes every command without the `sv`
//! and `-i`, plus `help` and `exit`. It also reads commands from a pipe, one
//! per line, printing no prompt there. Each line runs through the same
//! dispatch as the command line; the last failing line's code is the exit.

use super::cli::{instance, parse};
use super::{find, print_stdout, Exit};
use crate::core::spec::split_words;
use argh::FromArgs;
use std::ffi::OsString;
use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

/// Interactive prompt for every command.
#[derive(FromArgs)]
struct ShellArgs {
    /// instance number, 0 to 99 (default $SV_INSTANCE, else 0)
    #[argh(option, short = 'i')]
    instance: Option<String>,
}

pub fn main(args: Vec<OsString>) -> ExitCode {
    let a: ShellArgs = match parse(&args) {
        Ok(a) => a,
        Err(code) => return code,
    };
    let n = match instance(a.instance.as_deref()) {
        Ok(n) => n,
        Err(e) => return super::usage_error("shell", &e),
    };
    let stdin = std::io::stdin();
    let interactive = stdin.is_terminal();
    let mut last = ExitCode::from(Exit::Ok);
    let mut lines = stdin.lock().lines();
    loop {
        if interactive {
            print!("sv:{n}> ");
            let _ = std::io::stdout().flush();
        }
        let Some(Ok(line)) = lines.next() else { break };
        let words = match split_words(&line) {
            Ok(w) => w,
            Err(e) => {
                eprintln!("sv: {e}");
                last = Exit::Usage.into();
                continue;
            }
        };
        let Some(first) = words.first() else { continue };
        if first.starts_with('#') {
            continue;
        }
        match first.as_str() {
            "exit" => break,
            "help" | "?" => {
                print_stdout("commands: every sv command without 'sv' and '-i', e.g. 'status', 'stop web';\n'help' for this, 'exit' to leave. See 'sv --help' for the list.\n");
                continue;
            }
            "shell" | "daemon" | "init" => {
                eprintln!("sv: '{first}' is not available inside the shell");
                last = Exit::Usage.into();
                continue;
            }
            _ => {}
        }
        let Some(applet) = find(first) else {
            eprintln!("sv: unknown command '{first}' (type 'help')");
            last = Exit::Usage.into();
            continue;
        };
        let mut argv: Vec<OsString> = words.iter().map(OsString::from).collect();
        argv[0] = applet.name.into();
        let named = words.iter().any(|w| w == "-i" || w == "--instance");
        let takes_instance = !matches!(
            applet.name,
            "parrot_service" | "test_restart" | "list-supervisors" | "check"
        );
        if takes_instance && !named {
            // Right after the command: after a `--` it would reach the child.
            argv.insert(1, "-i".into());
            argv.insert(2, n.to_string().into());
        }
        let code = if super::wants_help(&argv[1..]) {
            super::print_usage(applet);
            Exit::Ok.into()
        } else {
            (applet.main)(argv)
        };
        let _ = std::io::stdout().flush();
        if code != ExitCode::from(Exit::Ok) {
            last = code;
        }
        if matches!(applet.name, "close" | "quit" | "shutdown") {
            break;
        }
    }
    last
}
