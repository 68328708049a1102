//! supervisord's look at a program before it starts it (`get_execv_args`):
//! a command that is not there, or cannot be executed, is a fault
//! (NO_FILE, NOT_EXECUTABLE) and the process is not started at all, so it
//! stays STOPPED as under supervisord. Found as the spawn finds it
//! (`spawn::resolve`: a path relative to the program's directory, or a
//! bare name in its PATH). A spawn that failed all the same is told apart
//! by [`spawn_fault`] into the same codes.

use crate::core::spawn::resolve;
use crate::core::spec::ServiceSpec;
use crate::wire::xmlrpc::codes::{fault, fault_text};
use crate::wire::xmlrpc::Fault;
use std::os::unix::fs::PermissionsExt;

/// The daemon's default PATH where neither the program nor the daemon has one.
const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// Ok when `spec`'s program can be run, else supervisord's fault.
pub fn check(spec: &ServiceSpec) -> Result<(), Fault> {
    if spec.policy.adopted {
        return Ok(());
    }
    let Some(program) = spec.argv.first() else {
        return Err(no_file(""));
    };
    let daemon_path = std::env::var("PATH").ok();
    let path_var = spec
        .env
        .iter()
        .rev()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.as_str())
        .or(daemon_path.as_deref())
        .unwrap_or(DEFAULT_PATH);
    let found = resolve(program, path_var, spec.cwd.as_deref()).map_err(|_| no_file(program))?;
    let meta = std::fs::metadata(&found).map_err(|_| no_file(program))?;
    if meta.is_dir() {
        return Err(not_executable(&format!(
            "command at '{}' is a directory",
            found.display()
        )));
    }
    if meta.permissions().mode() & 0o111 == 0 {
        return Err(not_executable(&format!(
            "command at '{}' is not executable",
            found.display()
        )));
    }
    Ok(())
}

fn no_file(program: &str) -> Fault {
    fault_of(fault::NO_FILE, &format!("can't find command '{program}'"))
}

fn not_executable(why: &str) -> Fault {
    fault_of(fault::NOT_EXECUTABLE, why)
}

/// A spawn error's fault: what supervisord finds before spawning (no such
/// file, not executable) has its own code.
pub fn spawn_fault(why: &str, asked: &str) -> Fault {
    let missing = ["No such file or directory", "Not a directory"];
    let refused = ["Permission denied", "Exec format error", "Is a directory"];
    if missing.iter().any(|m| why.contains(m)) {
        fault_of(fault::NO_FILE, &format!("{asked}: {why}"))
    } else if refused.iter().any(|m| why.contains(m)) {
        fault_of(fault::NOT_EXECUTABLE, &format!("{asked}: {why}"))
    } else {
        fault_of(fault::SPAWN_ERROR, asked)
    }
}

fn fault_of(code: i64, detail: &str) -> Fault {
    Fault {
        code,
        message: fault_text(code, detail),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(argv0: &str) -> ServiceSpec {
        ServiceSpec::new("x", vec![argv0.to_string()])
    }

    #[test]
    fn missing_and_unrunnable_commands_are_faults() {
        assert_eq!(check(&spec("/bin/sh")), Ok(()));
        assert_eq!(check(&spec("sh")), Ok(()));
        let f = check(&spec("/nonexistent/program")).unwrap_err();
        assert_eq!(f.code, fault::NO_FILE);
        assert_eq!(
            f.message,
            "NO_FILE: can't find command '/nonexistent/program'"
        );
        assert_eq!(
            check(&spec("no-such-program-sv")).unwrap_err().code,
            fault::NO_FILE
        );
        let f = check(&spec("/tmp")).unwrap_err();
        assert_eq!(f.code, fault::NOT_EXECUTABLE);
        assert!(f.message.contains("is a directory"), "{}", f.message);
        let f = check(&spec("/etc/passwd")).unwrap_err();
        assert_eq!(f.code, fault::NOT_EXECUTABLE);
        assert!(f.message.contains("is not executable"), "{}", f.message);
    }

    #[test]
    fn spawn_errors_have_supervisords_codes() {
        let f = spawn_fault("spawn error: No such file or directory", "web");
        assert_eq!(f.code, fault::NO_FILE);
        assert_eq!(
            f.message,
            "NO_FILE: web: spawn error: No such file or directory"
        );
        assert_eq!(
            spawn_fault("spawn error: Permission denied", "web").code,
            fault::NOT_EXECUTABLE
        );
        let f = spawn_fault("spawn error: the child did not reach exec", "g:w");
        assert_eq!(
            (f.code, f.message.as_str()),
            (fault::SPAWN_ERROR, "SPAWN_ERROR: g:w")
        );
    }
}
