//! The table of services: adding one (its name, its log files, its output
//! pipes) and adopting a process sv did not start.

use super::{adopted_spec, Id, OutPipe, Service, Supervisor};
use crate::core::output::LogFile;
use crate::core::service::{Event, Machine};
use crate::core::spec::{OutputSpec, ServiceSpec};
use crate::core::state_file::Origin;
use crate::core::stream::Stream;
use crate::core::sys;
use std::path::PathBuf;
use std::time::Instant;

impl Supervisor {
    // ---------------------------------------------------------------- table

    /// A free name: `base`, else `base-2`, `base-3`, ...
    pub fn free_name(&self, base: &str) -> String {
        crate::core::names::free(base, |n| self.name_taken(n))
    }

    pub fn name_taken(&self, name: &str) -> bool {
        self.by_name.contains_key(name)
    }

    /// Adds a service in STOPPED and returns its id.
    pub fn add(&mut self, spec: ServiceSpec) -> Id {
        let id = self.next_id;
        self.next_id += 1;
        let logs = Stream::BOTH.map(|s| {
            LogFile::new(self.log_path(&spec, s), spec.maxbytes[s], spec.backups[s])
                .shaped(&spec, s)
        });
        self.log.info(&format!("{}: added", spec.name));
        self.by_name.insert(spec.name.clone(), id);
        let origin = Origin::Config(
            spec.program
                .clone()
                .unwrap_or_else(|| spec.name.clone())
                .into(),
        );
        self.services.insert(
            id,
            Box::new(Service {
                id,
                spec,
                machine: Machine::new(),
                pidfd: None,
                logs,
                held: false,
                fifos: [None, None],
                origin,
                start_time: 0,
                cmd: None,
                exits: Default::default(),
            }),
        );
        self.dirty = true;
        self.listener_added(id);
        if !self.schedules.recovering {
            self.sync_schedule(id, None);
        }
        id
    }

    /// Gives each captured stream of a service its FIFO, and the daemon's
    /// end of it to the poll loop, when it gets a process: a service that
    /// is not running costs no descriptor. A FIFO that cannot be made is a
    /// log error (shown in `status`); the stream is then discarded.
    pub fn attach_output(&mut self, id: Id) {
        let dir = self.paths.fifos();
        let Some(svc) = self.services.get_mut(&id) else {
            return;
        };
        for stream in Stream::BOTH {
            let captured = svc.logs[stream].captured()
                && !(stream == Stream::Stderr && svc.spec.redirect_stderr)
                && !svc.spec.policy.adopted;
            if !captured || svc.fifos[stream].is_some() {
                continue;
            }
            let path = dir.join(format!("{}-{stream}", svc.spec.name));
            match crate::core::output::open_fifo(&path) {
                Ok(fd) => {
                    svc.fifos[stream] = Some(path);
                    self.pipes.push(OutPipe {
                        fd,
                        service: id,
                        stream,
                    });
                }
                Err(e) => {
                    let msg = format!("cannot make {}: {e}", path.display());
                    svc.logs[stream].error = Some(msg.clone());
                    let msg = format!("{}: log error: {msg}", svc.spec.name);
                    self.log.error(&msg);
                }
            }
        }
    }

    pub fn log_path(&self, spec: &ServiceSpec, stream: Stream) -> Option<PathBuf> {
        let out = match stream {
            Stream::Stdout => &spec.stdout,
            Stream::Stderr => &spec.stderr,
        };
        match out {
            OutputSpec::Auto => Some(
                // `[supervisord] childlogdir`, else the instance's own.
                (self.supervisord.childlogdir.clone())
                    .unwrap_or_else(|| self.paths.logs())
                    .join(format!("{}-{stream}.log", spec.name)),
            ),
            OutputSpec::File(p) => Some(p.clone()),
            OutputSpec::Discard | OutputSpec::Daemon(_) => None,
        }
    }

    /// Adopts a running process that sv did not start.
    pub fn adopt(
        &mut self,
        pid: i32,
        name: Option<String>,
        now: Instant,
    ) -> Result<String, String> {
        if pid <= 0 {
            return Err(format!("pid {pid} is not a valid process id"));
        }
        if let Some(why) = crate::core::trust::adopt_refusal(pid) {
            return Err(why);
        }
        if let Some(s) = self.by_pid.get(&pid).and_then(|id| self.services.get(id)) {
            return Err(format!("pid {pid} is already supervised as {}", s.shown()));
        }
        let pidfd = sys::pidfd_open(pid).map_err(|e| format!("cannot watch pid {pid}: {e}"))?;
        let base = match name {
            Some(n) => {
                crate::core::names::check(&n).map_err(|why| format!("--name: {why}"))?;
                if self.name_taken(&n) {
                    return Err(format!("a service named {n} already exists"));
                }
                n
            }
            None => sys::comm(pid)
                .map(|c| crate::core::names::from_found(&c).unwrap_or_else(|| "process".into()))
                .map_err(|e| format!("cannot read /proc/{pid}/comm: {e}"))?,
        };
        let name = self.free_name(&base);
        let id = self.add(adopted_spec(&name, pid));
        if let Some(s) = self.services.get_mut(&id) {
            s.pidfd = Some(pidfd);
            s.origin = Origin::Adopted;
            s.start_time = sys::start_time(pid).unwrap_or(0);
            let started_at = sys::age(s.start_time)
                .and_then(|a| now.checked_sub(a))
                .unwrap_or(now);
            self.apply(id, Event::Adopted { pid, started_at }, now);
        }
        self.by_pid.insert(pid, id);
        self.log
            .notice(&format!("{name}: adopted pid {pid}, RUNNING"));
        Ok(name)
    }
}
