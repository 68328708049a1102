//! `sv tail [-f] [-n LINES] SERVICE [stdout|stderr]`: the end of a service's
//! captured output; with `-f` the daemon keeps sending what the service
//! writes (across rotations, since it forwards from the pipe) until the
//! user interrupts, or the service is removed (a line on stderr says so,
//! exit 0: the follow ended as it should, nothing failed).

use super::cli::{fail, instance, parse};
use super::{client, usage_error, Exit};
use crate::wire::{frame, Request, Response, TailSpec, Text};
use argh::FromArgs;
use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

/// The end of a service's captured output.
#[derive(FromArgs)]
struct TailArgs {
    /// keep printing what the service writes
    #[argh(switch, short = 'f')]
    follow: bool,
    /// how many lines to show first (default 10)
    #[argh(option, short = 'n', default = "10")]
    lines: u32,
    /// instance number, 0 to 99 (default $SV_INSTANCE, else 0)
    #[argh(option, short = 'i')]
    instance: Option<String>,
    /// the service
    #[argh(positional)]
    target: String,
    /// stdout (default) or stderr
    #[argh(positional)]
    stream: Option<String>,
}

pub fn main(args: Vec<OsString>) -> ExitCode {
    let a: TailArgs = match parse(&args) {
        Ok(a) => a,
        Err(code) => return code,
    };
    let n = match instance(a.instance.as_deref()) {
        Ok(n) => n,
        Err(e) => return usage_error("tail", &e),
    };
    let stream = match a.stream.as_deref() {
        None | Some("stdout") => 0,
        Some("stderr") => 1,
        Some(other) => return usage_error("tail", &format!("'{other}' is not stdout or stderr")),
    };
    let req = Request::Tail(TailSpec {
        target: Text(a.target),
        stream,
        lines: a.lines,
        follow: a.follow,
    });
    let mut conn = match client::connect(n) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let first = match client::ask(&mut conn, n, &req) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let mut out = std::io::stdout().lock();
    let mut resp = first;
    loop {
        match resp {
            // The daemon ended the follow (its service was removed): the
            // stream simply ends, as a follow the user stops does.
            Response::Ok(text) if a.follow => {
                eprintln!("sv tail: {text}");
                return Exit::Ok.into();
            }
            Response::Bytes(b) => {
                // A closed stdout (`| head`) ends the tail quietly.
                if out.write_all(&b).and_then(|()| out.flush()).is_err() {
                    return Exit::Ok.into();
                }
            }
            other => return super::cli::print_response("tail", other, false),
        }
        if !a.follow {
            return Exit::Ok.into();
        }
        resp = match frame::read_msg::<Response>(&mut conn) {
            Ok(Some(r)) => r,
            // Ctrl-C in `sv shell` ends the follow and returns to the prompt.
            Ok(None) | Err(_) if super::shell::interrupt::interrupted() => return Exit::Ok.into(),
            Ok(None) => return Exit::Ok.into(),
            Err(e) => {
                eprintln!("sv tail: lost supervisor {n}: {e}");
                return Exit::Unreachable.into();
            }
        };
    }
}
