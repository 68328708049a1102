//! `depends_on` (SPEC §12): what a service waits for before it is spawned,
//! parsed once into [`Dep`]s by [`ServiceSpec::set`](super::ServiceSpec::set).

use std::fmt;

/// What a dependency must have reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// RUNNING (ready, where `ready=` is set). The default.
    Running,
    /// Spawned: it has a process, or it ran.
    Started,
    /// Exited with an expected code: a one-shot job such as a migration.
    Completed,
}

impl Condition {
    pub fn name(self) -> &'static str {
        match self {
            Condition::Running => "running",
            Condition::Started => "started",
            Condition::Completed => "completed",
        }
    }
}

/// One entry of `depends_on`: a program or process (`db`, `GROUP:NAME`)
/// or a whole group (`g:*`), and its condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dep {
    /// As written, without the condition: `db`, `backend:db`, `g:*`.
    pub target: String,
    pub condition: Condition,
}

impl fmt::Display for Dep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.target)
    }
}

/// `db, migrate:completed, cache:started, g:*`. A last `:part` that is a
/// condition is one; otherwise the entry is a target as a whole.
pub fn parse(v: &str) -> Result<Vec<Dep>, String> {
    let mut deps: Vec<Dep> = Vec::new();
    for item in v.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let (target, condition) = match item.rsplit_once(':') {
            Some((t, "running")) => (t, Condition::Running),
            Some((t, "started")) => (t, Condition::Started),
            Some((t, "completed")) => (t, Condition::Completed),
            _ => (item, Condition::Running),
        };
        check_target(target).map_err(|why| format!("depends_on '{item}': {why}"))?;
        if deps.iter().any(|d| d.target == target) {
            return Err(format!("depends_on names {target} twice"));
        }
        deps.push(Dep {
            target: target.to_string(),
            condition,
        });
    }
    Ok(deps)
}

/// A name, `GROUP:NAME` or `GROUP:*`; never a pid or `all`.
fn check_target(t: &str) -> Result<(), String> {
    let parts: Vec<&str> = t.split(':').collect();
    let bad =
        |p: &str| p.is_empty() || p.chars().any(|c| c.is_whitespace()) || p.parse::<u64>().is_ok();
    match parts.as_slice() {
        [name] if *name == "all" => Err("`all` is not a dependency".into()),
        [name] if !bad(name) => Ok(()),
        [group, name] if !bad(group) && (*name == "*" || !bad(name)) => Ok(()),
        _ => Err(
            "a dependency is a program, GROUP:NAME or GROUP:*, with an optional \
                  :running, :started or :completed"
                .into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_targets_and_conditions() {
        let d = parse("db, migrate:completed, cache:started, g:*, b:w:running").unwrap();
        let got: Vec<(&str, Condition)> =
            d.iter().map(|d| (d.target.as_str(), d.condition)).collect();
        assert_eq!(
            got,
            [
                ("db", Condition::Running),
                ("migrate", Condition::Completed),
                ("cache", Condition::Started),
                ("g:*", Condition::Running),
                ("b:w", Condition::Running),
            ]
        );
        assert!(parse("").unwrap().is_empty());
    }

    #[test]
    fn refuses_what_is_not_a_dependency() {
        for bad in ["all", "12", "db, db", "a:b:c", ":x", "a b"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
