//! The one exit-code map (SPEC §1), as ripgrep's `main` has one. An applet
//! returns [`Result`]: `Ok(())` when it is done, else a [`Stop`] that says
//! what happened ([`Exit`]: refused or failed, a usage error, the instance
//! unreachable) and what is left to tell the user. [`report`] tells it and
//! [`status`] alone turns what happened into the process's exit status;
//! no applet makes an `ExitCode` of its own.

use std::process::ExitCode;

/// What happened, as the exit status tells it (SPEC §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Done.
    Ok,
    /// The daemon refused or the operation failed.
    Failed,
    /// Usage error.
    Usage,
    /// The instance is not running or cannot be reached.
    Unreachable,
    /// The status of a program sv stands in for, as that program sets it
    /// (supervisorctl's LSB codes).
    Code(u8),
}

/// What an applet still has to say as it stops.
#[derive(Debug, PartialEq, Eq)]
pub enum Say {
    /// Everything is said already (one line per failed target, say).
    Nothing,
    /// One line for stderr, without its newline.
    Line(String),
    /// Text for stdout as it stands (`--help`).
    Out(String),
}

/// Why an applet stops before it is done, or with nothing but help to show.
#[derive(Debug, PartialEq, Eq)]
pub struct Stop {
    pub exit: Exit,
    pub say: Say,
}

/// What every applet returns.
pub type Result = std::result::Result<(), Stop>;

impl Stop {
    /// A wrong `sv APPLET` command line: `sv APPLET: WHY (see: sv APPLET
    /// --help)`.
    #[cold]
    #[inline(never)]
    pub fn usage(applet: &str, why: &str) -> Stop {
        Stop::bad(format!("sv {applet}: {why} (see: sv {applet} --help)"))
    }

    /// A wrong command line or input, in a line of its own (a toy speaks
    /// as itself, the shell as `sv`).
    #[cold]
    #[inline(never)]
    pub fn bad(line: impl Into<String>) -> Stop {
        Stop::said(Exit::Usage, line)
    }

    /// Refused or failed: the line that says why.
    #[cold]
    #[inline(never)]
    pub fn failed(line: impl Into<String>) -> Stop {
        Stop::said(Exit::Failed, line)
    }

    /// The instance is not running or cannot be reached: the line that
    /// says so.
    #[cold]
    #[inline(never)]
    pub fn unreachable(line: impl Into<String>) -> Stop {
        Stop::said(Exit::Unreachable, line)
    }

    /// `--help` asked for this text, on stdout; nothing failed.
    #[cold]
    #[inline(never)]
    pub fn help(text: impl Into<String>) -> Stop {
        Stop {
            exit: Exit::Ok,
            say: Say::Out(text.into()),
        }
    }

    /// What happened, already told to the user as it happened.
    pub fn told(exit: Exit) -> Stop {
        Stop {
            exit,
            say: Say::Nothing,
        }
    }

    #[cold]
    #[inline(never)]
    fn said(exit: Exit, line: impl Into<String>) -> Stop {
        Stop {
            exit,
            say: Say::Line(line.into()),
        }
    }

    /// What is left to say, wherever it goes.
    #[cfg(test)]
    pub fn text(&self) -> &str {
        match &self.say {
            Say::Nothing => "",
            Say::Line(s) | Say::Out(s) => s,
        }
    }
}

/// `Ok` for [`Exit::Ok`], else what was told: for a run of several
/// steps (the shell's lines) whose worst outcome is the exit.
pub fn result(exit: Exit) -> Result {
    match exit {
        Exit::Ok => Ok(()),
        _ => Err(Stop::told(exit)),
    }
}

/// Tells the user what is left to say; returns what happened.
pub fn report(result: Result) -> Exit {
    let Err(stop) = result else {
        return Exit::Ok;
    };
    match stop.say {
        Say::Nothing => {}
        Say::Line(line) => eprintln!("{line}"),
        Say::Out(text) => super::print_stdout(&text),
    }
    stop.exit
}

/// The one map from what happened to the exit status (SPEC §1).
pub fn status(exit: Exit) -> ExitCode {
    ExitCode::from(match exit {
        Exit::Ok => 0,
        Exit::Failed => 1,
        Exit::Usage => 2,
        Exit::Unreachable => 3,
        Exit::Code(n) => n,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_lines_point_at_help() {
        let s = Stop::usage("tail", "'x' is not stdout or stderr");
        assert_eq!(s.exit, Exit::Usage);
        assert_eq!(
            s.say,
            Say::Line("sv tail: 'x' is not stdout or stderr (see: sv tail --help)".into())
        );
    }

    #[test]
    fn told_results_keep_their_exit() {
        assert_eq!(report(result(Exit::Ok)), Exit::Ok);
        for exit in [Exit::Failed, Exit::Usage, Exit::Unreachable] {
            assert_eq!(report(result(exit)), exit);
        }
    }
}
