//! What the shell takes: the applet table (SPEC §1) minus what cannot run
//! inside it, plus its own words; `help` lists them and `help CMD` explains
//! one, from the same one-line summaries as `sv --help`.

use super::super::{find, print_stdout, print_usage, Applet, APPLETS};

/// Applets the shell refuses: another daemon or shell inside this one, and
/// the toys, which would take over (or, test_restart, crash) the shell's own
/// process since applets run in it.
pub const NOT_IN_SHELL: &[&str] = &[
    "daemon",
    "init",
    "parrot_service",
    "shell",
    "supervisorctl",
    "test_restart",
];

/// The shell's own words: in supervisorctl and every REPL `quit` leaves, so
/// here it is not the command line's alias of `close`.
const OWN: &[(&str, &str, &str)] = &[
    (
        "exit",
        "exit",
        "leave the shell; the daemon and its services keep running (close stops them)",
    ),
    (
        "help",
        "help [COMMAND]",
        "list the commands, or explain one",
    ),
    (
        "quit",
        "quit",
        "leave the shell, as exit does; the daemon and its services keep running",
    ),
];

/// `close` inside the shell: also leaves it, and `quit` is not its alias.
const CLOSE: &str = "stop every service, then the daemon, and leave the shell (alias: shutdown)";

/// What a word at the start of a line means in the shell.
pub enum Word {
    /// exit, quit, help: handled by the shell.
    Own(&'static str),
    Applet(&'static Applet),
    /// An applet that cannot run here.
    Refused,
    Unknown,
}

pub fn word(w: &str) -> Word {
    let w = if w == "?" { "help" } else { w };
    if let Some((name, _, _)) = OWN.iter().find(|(name, _, _)| *name == w) {
        return Word::Own(name);
    }
    match find(w) {
        Some(_) if NOT_IN_SHELL.contains(&w) => Word::Refused,
        Some(a) => Word::Applet(a),
        None => Word::Unknown,
    }
}

/// Every word the shell takes, for `did you mean ...?`.
pub fn names() -> impl Iterator<Item = &'static str> {
    rows().into_iter().map(|(name, _)| name)
}

/// (name, summary) of every command the shell takes, sorted.
fn rows() -> Vec<(&'static str, &'static str)> {
    let mut rows: Vec<(&str, &str)> = APPLETS
        .iter()
        .filter(|a| !NOT_IN_SHELL.contains(&a.name))
        .filter(|a| OWN.iter().all(|(name, _, _)| *name != a.name))
        .map(|a| (a.name, if a.name == "close" { CLOSE } else { a.summary }))
        .collect();
    rows.extend(OWN.iter().map(|&(name, _, summary)| (name, summary)));
    rows.sort_unstable();
    rows
}

/// `help`: every command with its one-line summary.
pub fn list() {
    let mut out = String::from("commands (as on the command line, without 'sv' and '-i'):\n");
    for (name, summary) in rows() {
        out.push_str(&format!("  {name:<21} {summary}\n"));
    }
    out.push_str(
        "\n'help COMMAND' explains one. Ctrl-C ends a 'tail -f' or a wait, or clears the line;\nCtrl-D leaves.\n",
    );
    print_stdout(&out);
}

/// `help CMD`, or `CMD --help`: its usage and summary. False when the shell
/// does not take CMD; the caller says so.
pub fn explain(w: &str) -> bool {
    match word(w) {
        Word::Own(name) => {
            let (_, usage, summary) = OWN
                .iter()
                .find(|(n, _, _)| *n == name)
                .copied()
                .unwrap_or_default();
            print_stdout(&format!("usage: {usage}\n\n{summary}.\n"));
        }
        Word::Applet(a) if matches!(a.name, "close" | "shutdown") => {
            print_stdout(&format!("usage: {}\n\n{CLOSE}.\n", a.name));
        }
        Word::Applet(a) => print_usage(a),
        Word::Refused | Word::Unknown => return false,
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shell_takes_quit_as_its_own_and_refuses_daemons_and_toys() {
        let names: Vec<&str> = names().collect();
        for w in [
            "close", "shutdown", "status", "tail", "check", "exit", "quit", "help",
        ] {
            assert!(names.contains(&w), "{w} missing from {names:?}");
        }
        for w in NOT_IN_SHELL {
            assert!(!names.contains(w), "{w} listed");
            assert!(matches!(word(w), Word::Refused));
        }
        assert_eq!(names.iter().filter(|n| **n == "quit").count(), 1);
        assert!(matches!(word("quit"), Word::Own("quit")));
        assert!(matches!(word("?"), Word::Own("help")));
        assert!(matches!(word("stauts"), Word::Unknown));
    }
}
