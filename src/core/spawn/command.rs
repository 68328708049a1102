//! The command a service runs, built once: its program path, arguments,
//! environment and working directory as C strings in one allocation,
//! resolved and checked before any fork.
//!
//! The child may not allocate (it shares the daemon's memory until its
//! exec), so all it reads is built here ahead of time, and
//! [`Command::launch`] only points at it. A program that cannot be found or
//! a string with a NUL byte fails here, as an error the service can show,
//! never in the child. Apart from the launch, so that the string building
//! can be read and tested without starting a process.

use std::ffi::{CString, OsStr};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// An environment many commands share (the daemon's own), as C strings
/// built once: each command keeps only what it adds.
#[derive(Debug, Default)]
pub struct Env {
    vars: Vec<CString>,
}

impl Env {
    /// `KEY=VALUE` strings; a variable with a NUL byte (impossible in a
    /// real environment) is left out.
    pub fn new(vars: &[(String, String)]) -> Env {
        Env {
            vars: vars
                .iter()
                .filter_map(|(k, v)| CString::new(format!("{k}={v}")).ok())
                .collect(),
        }
    }

    /// The value of `key`, the last one if it is there twice.
    fn get(&self, key: &str) -> Option<&str> {
        self.vars.iter().rev().find_map(|v| value_of(v, key))
    }
}

/// The value of `var` (`KEY=VALUE`) when its key is `key`.
fn value_of<'a>(var: &'a CString, key: &str) -> Option<&'a str> {
    let value = var
        .as_bytes()
        .strip_prefix(key.as_bytes())?
        .strip_prefix(b"=")?;
    std::str::from_utf8(value).ok()
}

/// A process to start, with its strings already built.
#[derive(Debug)]
pub struct Command {
    /// Every string of the command, NUL-terminated, back to back: one
    /// allocation instead of one per string (a daemon keeps one Command
    /// per service).
    strings: Box<[u8]>,
    /// Where the program path, each argument, each variable this command
    /// adds (or overrides in `base`, each key once) and the working
    /// directory start in `strings`.
    pub(super) path: u32,
    pub(super) argv: Box<[u32]>,
    env: Box<[u32]>,
    pub(super) cwd: Option<u32>,
    /// The shared environment; the entries at `hidden` are overridden.
    base: Arc<Env>,
    hidden: Box<[usize]>,
    pub umask: Option<u32>,
}

impl Command {
    /// Resolves `argv[0]` (a path, relative to `cwd`, or a name looked up in
    /// the PATH of the environment) and builds the C strings. The child's
    /// environment is `base` with `extra` added, a later value of a key
    /// replacing an earlier one (so every libc's getenv sees the same). A
    /// program that cannot be found fails here, before any fork.
    pub fn new(
        argv: &[String],
        base: &Arc<Env>,
        extra: &[(String, String)],
        cwd: Option<&Path>,
    ) -> io::Result<Command> {
        let program = argv
            .first()
            .filter(|p| !p.is_empty())
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "empty command line"))?;
        let path_var = extra
            .iter()
            .rev()
            .find(|(k, _)| k == "PATH")
            .map(|(_, v)| v.as_str())
            .or_else(|| base.get("PATH"))
            .unwrap_or("/usr/local/bin:/usr/bin:/bin");
        let path = resolve(program, path_var, cwd)?;
        let mut strings = Vec::new();
        let mut put = |bytes: &[u8], what: &str| -> io::Result<u32> {
            if bytes.contains(&0) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{what} contains a NUL byte"),
                ));
            }
            let at = u32::try_from(strings.len()).map_err(|_| {
                io::Error::new(io::ErrorKind::InvalidInput, "command line too long")
            })?;
            strings.extend_from_slice(bytes);
            strings.push(0);
            Ok(at)
        };
        let path = put(path.as_os_str().as_bytes(), "program path")?;
        let argv = argv
            .iter()
            .map(|a| put(a.as_bytes(), "an argument"))
            .collect::<io::Result<_>>()?;
        let mut env = Vec::with_capacity(extra.len());
        for (i, (k, v)) in extra.iter().enumerate() {
            if extra[i + 1..].iter().any(|(later, _)| later == k) {
                continue;
            }
            env.push(put(
                format!("{k}={v}").as_bytes(),
                "an environment variable",
            )?);
        }
        let cwd = cwd
            .map(|c| put(c.as_os_str().as_bytes(), "working directory"))
            .transpose()?;
        let hidden = base
            .vars
            .iter()
            .enumerate()
            .filter(|(_, var)| extra.iter().any(|(k, _)| value_of(var, k).is_some()))
            .map(|(i, _)| i)
            .collect();
        Ok(Command {
            strings: strings.into_boxed_slice(),
            path,
            argv,
            env: env.into_boxed_slice(),
            cwd,
            base: Arc::clone(base),
            hidden,
            umask: None,
        })
    }

    /// The string that starts at `at` in `strings`.
    pub(super) fn at(&self, at: u32) -> *const libc::c_char {
        self.strings[at as usize..].as_ptr().cast()
    }

    /// The child's environment: the shared one less what is overridden,
    /// then this command's own.
    pub(super) fn environment(&self) -> impl Iterator<Item = *const libc::c_char> + '_ {
        self.base
            .vars
            .iter()
            .enumerate()
            .filter(|(i, _)| !self.hidden.contains(i))
            .map(|(_, v)| v.as_ptr())
            .chain(self.env.iter().map(|&at| self.at(at)))
    }
}

/// Finds the program: a path with a `/` is taken as is (relative to `cwd`),
/// a bare name is searched in `path_var`.
pub fn resolve(program: &str, path_var: &str, cwd: Option<&Path>) -> io::Result<PathBuf> {
    if program.contains('/') {
        let p = Path::new(program);
        let full = match cwd {
            Some(dir) if p.is_relative() => dir.join(p),
            _ => p.to_path_buf(),
        };
        return Ok(full);
    }
    for dir in path_var.split(':').filter(|d| !d.is_empty()) {
        let candidate = Path::new(dir).join(OsStr::new(program));
        if is_executable(&candidate) {
            return Ok(candidate);
        }
    }
    Err(io::Error::from_raw_os_error(libc::ENOENT))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_names_are_searched_in_path() {
        let p = resolve("sh", "/nonexistent:/bin:/usr/bin", None).unwrap();
        assert!(p.ends_with("sh"));
        let e = resolve("no-such-program-sv", "/bin:/usr/bin", None).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ENOENT));
    }

    #[test]
    fn relative_paths_resolve_against_cwd() {
        let p = resolve("./run.sh", "/bin", Some(Path::new("/srv/app"))).unwrap();
        assert_eq!(p, PathBuf::from("/srv/app/./run.sh"));
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_later_value_of_a_variable_replaces_the_earlier() {
        let base = std::sync::Arc::new(Env::new(&pairs(&[
            ("HOME", "/root"),
            ("PATH", "/bin"),
            ("HOMEDIR", "x"),
        ])));
        let extra = pairs(&[("HOME", "/srv"), ("C", "3"), ("C", "4")]);
        let cmd = Command::new(&["/bin/true".to_string()], &base, &extra, None).unwrap();
        let env: Vec<&str> = cmd
            .environment()
            // SAFETY: each pointer is a NUL-terminated string of `cmd` or `base`.
            .map(|p| unsafe { std::ffi::CStr::from_ptr(p) }.to_str().unwrap())
            .collect();
        assert_eq!(env, ["PATH=/bin", "HOMEDIR=x", "HOME=/srv", "C=4"]);
    }
}
