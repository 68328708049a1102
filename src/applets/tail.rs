//! `sv tail [-f] [-n LINES] SERVICE [stdout|stderr]`: the end of a service's
//! captured output; with `-f` the daemon keeps sending what the service
//! writes (across rotations, since it forwards from the pipe) until the
//! user interrupts, or the service is removed (a line on stderr says so,
//! exit 0: the follow ended as it should, nothing failed).

use super::cli::{instance, parse};
use super::client;
use super::exit::{self, Stop};
use crate::wire::{frame, Request, Response, TailSpec, Text};
use argh::FromArgs;
use std::ffi::OsString;
use std::io::Write;

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

pub fn main(args: Vec<OsString>) -> exit::Result {
    let a: TailArgs = parse(&args)?;
    let n = instance(a.instance.as_deref()).map_err(|e| Stop::usage("tail", &e))?;
    let stream = match a.stream.as_deref() {
        None | Some("stdout") => 0,
        Some("stderr") => 1,
        Some(other) => {
            return Err(Stop::usage(
                "tail",
                &format!("'{other}' is not stdout or stderr"),
            ))
        }
    };
    let req = Request::Tail(TailSpec {
        target: Text(a.target),
        stream,
        lines: a.lines,
        follow: a.follow,
    });
    let mut conn = client::connect(n)?;
    let first = client::ask(&mut conn, n, &req)?;
    let mut out = std::io::stdout().lock();
    let mut resp = first;
    loop {
        match resp {
            // The daemon ended the follow (its service was removed): the
            // stream simply ends, as a follow the user stops does.
            Response::Ok(text) if a.follow => {
                eprintln!("sv tail: {text}");
                return Ok(());
            }
            Response::Bytes(b) => {
                // A closed stdout (`| head`) ends the tail quietly.
                if out.write_all(&b).and_then(|()| out.flush()).is_err() {
                    return Ok(());
                }
            }
            other => return super::cli::print_response("tail", other, false),
        }
        if !a.follow {
            return Ok(());
        }
        resp = match frame::read_msg::<Response>(&mut conn) {
            Ok(Some(r)) => r,
            // Ctrl-C in `sv shell` ends the follow and returns to the prompt.
            Ok(None) | Err(_) if super::shell::interrupt::interrupted() => return Ok(()),
            Ok(None) => return Ok(()),
            Err(e) => {
                return Err(Stop::unreachable(format!(
                    "sv tail: lost supervisor {n}: {e}"
                )))
            }
        };
    }
}
