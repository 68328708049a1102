//! What the two toys share: argh parsing of `args[1..]` with a clear line
//! for anything that is not UTF-8. They speak as `parrot_service:` or
//! `test_restart:`, not as `sv`, so their lines are said as they stand;
//! the exit status comes from the same map as every applet's.

use super::exit::Stop;
use argh::FromArgs;
use std::ffi::OsString;

/// The applet's name (`args[0]`, else `default`).
pub fn name(args: &[OsString], default: &str) -> String {
    args.first()
        .map(|a| a.to_string_lossy().into_owned())
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| default.to_string())
}

/// A usage error in the toy's own words, one line.
pub fn usage(message: &str) -> Stop {
    Stop::bad(message.trim_end())
}

/// `args[1..]` as strings; a non-UTF-8 one is a usage error.
pub fn strs<'a>(name: &str, args: &'a [OsString]) -> Result<Vec<&'a str>, Stop> {
    args.iter()
        .skip(1)
        .map(|a| {
            a.to_str()
                .ok_or_else(|| usage(&format!("{name}: argument is not valid UTF-8: {a:?}")))
        })
        .collect()
}

/// argh over the arguments: `--help` is text for stdout, errors are usage
/// errors.
pub fn parse<T: FromArgs>(name: &str, rest: &[&str]) -> Result<T, Stop> {
    T::from_args(&[name], rest).map_err(|e| match e.status {
        Ok(()) => Stop::help(format!("{}\n", e.output.trim_end())),
        Err(()) => usage(&e.output),
    })
}
