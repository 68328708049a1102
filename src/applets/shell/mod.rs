//! `sv shell`: a prompt `sv:N> ` that takes every command without the `sv`
//! and `-i`, plus `help` and `exit`. It also reads commands from a pipe, one
//! per line, printing no prompt there. Each line runs through the same
//! dispatch as the command line; the last failing line's code is the exit.
//!
//! `quit` and `exit` leave the shell, as in supervisorctl; `close` and
//! `shutdown` stop the daemon and then leave. At a terminal Ctrl-C ends a
//! `tail -f` or clears the line, and Ctrl-D leaves.

mod help;
pub mod input;
pub mod interrupt;

use super::cli::{instance, parse};
use super::exit::{self, Exit, Stop};
use crate::core::spec::split_words;
use crate::core::suggest::hint;
use argh::FromArgs;
use help::Word;
use input::{Input, Line};
use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::os::fd::AsFd;

/// Interactive prompt for every command.
#[derive(FromArgs)]
struct ShellArgs {
    /// instance number, 0 to 99 (default $SV_INSTANCE, else 0)
    #[argh(option, short = 'i')]
    instance: Option<String>,
}

/// After a line: go on, or leave the shell.
enum Next {
    Stay,
    Leave,
}

pub fn main(args: Vec<OsString>) -> exit::Result {
    let a: ShellArgs = parse(&args)?;
    let n = instance(a.instance.as_deref()).map_err(|e| Stop::usage("shell", &e))?;
    let stdin = std::io::stdin();
    let interactive = stdin.is_terminal();
    // From a pipe Ctrl-C ends the shell, as it ends any filter.
    let wake = match interactive.then(interrupt::catch) {
        Some(Ok(wake)) => Some(wake),
        Some(Err(e)) => {
            eprintln!("sv shell: cannot catch Ctrl-C (SIGINT): {e}");
            None
        }
        None => None,
    };
    let mut input = Input::new(stdin.as_fd(), wake);
    let mut last = Exit::Ok;
    let mut number = 0u64;
    loop {
        if interactive {
            print!("sv:{n}> ");
            let _ = std::io::stdout().flush();
        }
        let bytes = match input.next_line() {
            Line::Text(b) => b,
            // The handler ended the line with ^C on it: a new prompt.
            Line::Interrupted => continue,
            Line::End => {
                if interactive {
                    println!();
                }
                break;
            }
            Line::Failed(e) => {
                eprintln!("sv: cannot read commands from stdin: {e}");
                last = Exit::Failed;
                break;
            }
        };
        number += 1;
        let Ok(line) = String::from_utf8(bytes) else {
            eprintln!("sv: line {number} is not UTF-8");
            last = Exit::Usage;
            continue;
        };
        input.forget_interrupts();
        let (next, result) = run_line(&line, n);
        // Each line's failure is told at once; the last one is the exit.
        let happened = exit::report(result);
        let _ = std::io::stdout().flush();
        // A Ctrl-C that ended the command is done with.
        input.forget_interrupts();
        if happened != Exit::Ok {
            last = happened;
        }
        if let Next::Leave = next {
            break;
        }
    }
    exit::result(last)
}

/// Runs one line; a line that runs nothing is `Ok`.
fn run_line(line: &str, n: u8) -> (Next, exit::Result) {
    let usage = |msg: String| (Next::Stay, Err(Stop::bad(format!("sv: {msg}"))));
    let mut words = match split_words(line) {
        Ok(w) => w,
        Err(e) => return usage(e.to_string()),
    };
    // `sv status` as on the command line.
    if words.first().is_some_and(|w| w == "sv") {
        words.remove(0);
    }
    let Some(first) = words.first().cloned() else {
        return (Next::Stay, Ok(()));
    };
    if first.starts_with('#') {
        return (Next::Stay, Ok(()));
    }
    let wants_help = || {
        let rest: Vec<OsString> = words[1..].iter().map(OsString::from).collect();
        super::wants_help(&rest)
    };
    let applet = match help::word(&first) {
        Word::Own(own) if wants_help() => {
            help::explain(own);
            return (Next::Stay, Ok(()));
        }
        Word::Own("help") => return (Next::Stay, explain(words.get(1).map(String::as_str))),
        Word::Own(_) => return (Next::Leave, Ok(())),
        Word::Applet(a) => a,
        Word::Refused => return usage(format!("'{first}' is not available inside the shell")),
        Word::Unknown => {
            let hint = hint(&first, help::names());
            return usage(match hint.is_empty() {
                true => format!("unknown command '{first}' (type 'help' for the list)"),
                false => format!("unknown command '{first}'{hint}"),
            });
        }
    };
    let leave = match applet.name {
        "close" | "shutdown" => Next::Leave,
        _ => Next::Stay,
    };
    if wants_help() {
        help::explain(applet.name);
        return (Next::Stay, Ok(()));
    }
    let mut argv: Vec<OsString> = words.iter().map(OsString::from).collect();
    argv[0] = applet.name.into();
    // Only before `--`: after it a `-i` is the child's (`grep -- -i x`).
    let named = words
        .iter()
        .take_while(|w| *w != "--")
        .any(|w| w == "-i" || w == "--instance");
    let takes_instance = !matches!(applet.name, "list-supervisors" | "check");
    if takes_instance && !named {
        // Right after the command: after a `--` it would reach the child.
        argv.insert(1, "-i".into());
        argv.insert(2, n.to_string().into());
    }
    (leave, (applet.main)(argv))
}

/// `help` or `help CMD`.
fn explain(cmd: Option<&str>) -> exit::Result {
    let Some(cmd) = cmd else {
        help::list();
        return Ok(());
    };
    if help::explain(cmd) {
        return Ok(());
    }
    let why = match help::word(cmd) {
        Word::Refused => " (it is not available inside the shell)".to_string(),
        _ => hint(cmd, help::names()),
    };
    Err(Stop::bad(format!("sv: help: no command '{cmd}'{why}")))
}
