//! The `depends_on` graph of a config, checked once it is built (SPEC §12):
//! every name must stand for a program, a process or a group of the
//! config, and no program may wait for itself, directly or through others.
//! Either is an error naming the file and line of the `depends_on` key; a
//! cycle is spelled out (`web -> db -> web`).

use super::{ConfigError, Program};
use crate::core::spec::ServiceSpec;
use crate::core::suggest;

/// Checks every program's `depends_on` against the others.
pub(super) fn check(programs: &[Program]) -> Result<(), ConfigError> {
    // For each program, the programs it waits for (indices), in order.
    let mut edges: Vec<Vec<usize>> = Vec::with_capacity(programs.len());
    for p in programs {
        let mut to = Vec::new();
        for dep in deps_of(p) {
            let found = targets(programs, &dep.target);
            if found.is_empty() {
                let names = programs.iter().flat_map(|p| {
                    std::iter::once(p.name.as_str())
                        .chain(p.processes.iter().map(|s| s.name.as_str()))
                });
                return Err(error(
                    p,
                    format!(
                        "no program, process or group named '{}'{}",
                        dep.target,
                        suggest::hint(&dep.target, names)
                    ),
                ));
            }
            for j in found {
                if !to.contains(&j) {
                    to.push(j);
                }
            }
        }
        edges.push(to);
    }
    match find_cycle(&edges) {
        Some(cycle) => {
            let path: Vec<&str> = cycle.iter().map(|&i| programs[i].name.as_str()).collect();
            Err(error(
                &programs[cycle[0]],
                format!("dependency cycle {}", path.join(" -> ")),
            ))
        }
        None => Ok(()),
    }
}

/// The `depends_on` of a program: the same for each of its processes.
fn deps_of(p: &Program) -> &[crate::core::spec::Dep] {
    p.processes
        .first()
        .map(|s| s.depends_on.as_slice())
        .unwrap_or_default()
}

/// `depends_on in [program:x]: why`, at the line of its key.
fn error(p: &Program, why: String) -> ConfigError {
    let (file, line) = p
        .keys
        .iter()
        .rev()
        .find(|(k, _, _)| k == "depends_on")
        .map_or((p.file.clone(), p.line), |(_, f, l)| (f.clone(), *l));
    ConfigError {
        file,
        line,
        message: format!("depends_on in [program:{}]: {why}", p.name),
    }
}

/// The programs a dependency names: `x` (a program, else a process),
/// `g:*` (a group or a program) or `g:n` (a process of one).
fn targets(programs: &[Program], target: &str) -> Vec<usize> {
    let in_group =
        |s: &ServiceSpec, g: &str| s.program.as_deref() == Some(g) || s.group.as_deref() == Some(g);
    let matching = |f: &dyn Fn(&ServiceSpec) -> bool| -> Vec<usize> {
        (0..programs.len())
            .filter(|&i| programs[i].processes.iter().any(f))
            .collect()
    };
    match target.split_once(':') {
        Some((g, "*")) => matching(&|s| in_group(s, g)),
        Some((g, n)) => matching(&|s| in_group(s, g) && s.name == n),
        None => match programs.iter().position(|p| p.name == target) {
            Some(i) => vec![i],
            None => matching(&|s| s.name == target),
        },
    }
}

/// A cycle in the graph, as the nodes along it with the first repeated at
/// the end; iterative depth-first search in node order (deep chains never
/// overflow the stack).
fn find_cycle(edges: &[Vec<usize>]) -> Option<Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    let mut mark = vec![Mark::New; edges.len()];
    for root in 0..edges.len() {
        if mark[root] != Mark::New {
            continue;
        }
        // (node, next edge to follow)
        let mut path: Vec<(usize, usize)> = vec![(root, 0)];
        mark[root] = Mark::OnPath;
        while let Some(&mut (node, ref mut next)) = path.last_mut() {
            match edges[node].get(*next) {
                Some(&to) => {
                    *next += 1;
                    match mark[to] {
                        Mark::New => {
                            mark[to] = Mark::OnPath;
                            path.push((to, 0));
                        }
                        Mark::OnPath => {
                            let from = path.iter().position(|&(n, _)| n == to).unwrap_or(0);
                            let mut cycle: Vec<usize> =
                                path[from..].iter().map(|&(n, _)| n).collect();
                            cycle.push(to);
                            return Some(cycle);
                        }
                        Mark::Done => {}
                    }
                }
                None => {
                    mark[node] = Mark::Done;
                    path.pop();
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use crate::core::config::parse_str;

    fn err(text: &str) -> String {
        parse_str(text).unwrap_err().to_string()
    }

    #[test]
    fn a_cycle_is_spelled_out_at_the_line_of_its_key() {
        let e = err("[program:web]\ncmd=/bin/true\ndepends_on=db\n\
                     [program:db]\ncmd=/bin/true\ndepends_on = web\n");
        assert_eq!(
            e,
            "config:3: depends_on in [program:web]: dependency cycle web -> db -> web"
        );
        let e = err("[program:a]\ncmd=/bin/true\ndepends_on=a:started\n");
        assert!(e.contains("config:3:") && e.contains("cycle a -> a"), "{e}");
    }

    #[test]
    fn an_unknown_name_is_refused_with_a_hint() {
        let e = err("[program:web]\ncmd=/bin/true\ndepends_on=dbb\n[program:db]\ncmd=/bin/true\n");
        assert_eq!(
            e,
            "config:3: depends_on in [program:web]: no program, process or group \
             named 'dbb'; did you mean db?"
        );
    }

    #[test]
    fn programs_processes_and_groups_are_known() {
        let text = "[program:web]\ncmd=/bin/true\n\
                    depends_on=db, w:w_01:completed, g:*, g:c:started\n\
                    [program:db]\ncmd=/bin/true\n\
                    [program:w]\ncmd=/bin/true\nnumprocs=2\n\
                    [program:c]\ncmd=/bin/true\n[group:g]\nprograms=c\n";
        let c = parse_str(text).unwrap();
        assert_eq!(c.programs[0].processes[0].depends_on.len(), 4);
        // A chain with a diamond is no cycle.
        parse_str(
            "[program:a]\ncmd=/bin/true\ndepends_on=b,c\n[program:b]\ncmd=/bin/true\n\
             depends_on=c\n[program:c]\ncmd=/bin/true\n",
        )
        .unwrap();
    }
}
