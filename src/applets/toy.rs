//! What the two toys share: their own small exit report (they speak as
//! `parrot_service:` or `test_restart:`, not as `sv`) and argh parsing of
//! `args[1..]` with a clear line for anything that is not UTF-8.

use argh::FromArgs;
use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

/// Why not to run: what to print, where, and the exit code.
#[derive(Debug, PartialEq)]
pub struct Exit {
    pub code: u8,
    pub message: String,
    pub to_stdout: bool,
}

impl Exit {
    pub fn usage(message: String) -> Self {
        Exit {
            code: 2,
            message,
            to_stdout: false,
        }
    }

    pub fn report(self) -> ExitCode {
        let text = self.message.trim_end();
        if self.to_stdout {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{text}");
            let _ = out.flush();
        } else {
            eprintln!("{text}");
        }
        ExitCode::from(self.code)
    }
}

/// The applet's name (`args[0]`, else `default`).
pub fn name(args: &[OsString], default: &str) -> String {
    args.first()
        .map(|a| a.to_string_lossy().into_owned())
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| default.to_string())
}

/// `args[1..]` as strings; a non-UTF-8 one is a usage error.
pub fn strs<'a>(name: &str, args: &'a [OsString]) -> Result<Vec<&'a str>, Exit> {
    args.iter()
        .skip(1)
        .map(|a| {
            a.to_str()
                .ok_or_else(|| Exit::usage(format!("{name}: argument is not valid UTF-8: {a:?}")))
        })
        .collect()
}

/// argh over the arguments: `--help` exits 0 on stdout, errors exit 2.
pub fn parse<T: FromArgs>(name: &str, rest: &[&str]) -> Result<T, Exit> {
    T::from_args(&[name], rest).map_err(|e| Exit {
        code: if e.status.is_ok() { 0 } else { 2 },
        message: e.output,
        to_stdout: e.status.is_ok(),
    })
}
