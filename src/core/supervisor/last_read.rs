//! The config as last read (at start, by `reload`, `update` or
//! `reloadConfig`), kept for `addProcessGroup`, `avail` and
//! `getAllConfigInfo` without a second copy of every spec: a process whose
//! spec equals that of the live service of its name is kept as that
//! service's id (a spec is 472 bytes and its strings; 1000 programs kept
//! twice cost 0.8 MiB).
//!
//! A live service's spec changes only by `apply_config`, which a new
//! [`Supervisor::keep_read`] follows; one that goes away leaves a copy of
//! its spec here ([`LastRead::forget`]).

use super::{Id, Service, Supervisor};
use crate::core::config::Config;
use crate::core::spec::ServiceSpec;
use std::collections::{BTreeMap, HashMap};

/// One process of the config read last.
enum Slot {
    /// Equal to the spec of this service when read.
    Live(Id),
    /// Boxed: a slot is 16 bytes.
    Own(Box<ServiceSpec>),
}

pub struct LastRead {
    /// The config, every program's `processes` empty: they are in `slots`.
    cfg: Config,
    /// Per program, its processes in order.
    slots: Vec<Vec<Slot>>,
    /// The ids of the `Live` slots, sorted.
    live: Vec<Id>,
    /// The specs of `Live` slots whose service has gone since.
    gone: HashMap<Id, ServiceSpec>,
}

impl LastRead {
    /// The spec of a slot; None only if a `Live` service left no copy.
    fn spec<'a>(
        &'a self,
        services: &'a BTreeMap<Id, Box<Service>>,
        slot: &'a Slot,
    ) -> Option<&'a ServiceSpec> {
        match slot {
            Slot::Own(spec) => Some(spec),
            Slot::Live(id) => services
                .get(id)
                .map(|s| &s.spec)
                .or_else(|| self.gone.get(id)),
        }
    }

    /// A service goes away: keeps its spec if a slot refers to it.
    pub(super) fn forget(&mut self, id: Id, spec: &ServiceSpec) {
        if self.live.binary_search(&id).is_ok() {
            self.gone.insert(id, spec.clone());
        }
    }
}

impl Supervisor {
    /// Keeps `cfg` as the config read last, sharing the specs the live
    /// services have.
    pub fn keep_read(&mut self, mut cfg: Config) {
        let mut live = Vec::new();
        let slots = cfg
            .programs
            .iter_mut()
            .map(|p| {
                std::mem::take(&mut p.processes)
                    .into_iter()
                    .map(|spec| match self.by_name.get(&spec.name) {
                        Some(&id) if self.services.get(&id).is_some_and(|s| s.spec == spec) => {
                            live.push(id);
                            Slot::Live(id)
                        }
                        _ => Slot::Own(Box::new(spec)),
                    })
                    .collect()
            })
            .collect();
        live.sort_unstable();
        self.last_read = Some(LastRead {
            cfg,
            slots,
            live,
            gone: HashMap::new(),
        });
    }

    /// Keeps `cfg`, whose processes were taken out to be the services
    /// `ids` (per program, in order), as the config read last.
    pub(super) fn keep_loaded(&mut self, cfg: Config, ids: Vec<Vec<Id>>) {
        let mut live: Vec<Id> = ids.iter().flatten().copied().collect();
        live.sort_unstable();
        let slots = ids
            .into_iter()
            .map(|p| p.into_iter().map(Slot::Live).collect())
            .collect();
        self.last_read = Some(LastRead {
            cfg,
            slots,
            live,
            gone: HashMap::new(),
        });
    }

    /// The processes of the config read last, in its order.
    pub fn last_processes(&self) -> Option<Vec<&ServiceSpec>> {
        let r = self.last_read.as_ref()?;
        let specs = r.slots.iter().flatten();
        Some(specs.filter_map(|s| r.spec(&self.services, s)).collect())
    }

    /// The config read last (supervisord's `process_group_configs`), as a
    /// copy: at start, by `reload` or by `reloadConfig`.
    pub fn last_config(&self) -> Option<Config> {
        let r = self.last_read.as_ref()?;
        let mut cfg = r.cfg.clone();
        for (p, slots) in cfg.programs.iter_mut().zip(&r.slots) {
            let specs = slots.iter().filter_map(|s| r.spec(&self.services, s));
            p.processes = specs.cloned().collect();
        }
        Some(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Memory with many services (bench measurement 4): a slot is 16
    /// bytes, and the checks a spec seldom has are boxed.
    #[test]
    fn slots_and_specs_stay_small() {
        assert_eq!(std::mem::size_of::<Slot>(), 16);
        let spec = std::mem::size_of::<ServiceSpec>();
        // 512 before SPEC §17's boxed `schedule`.
        assert!(spec <= 520, "ServiceSpec is {spec} bytes");
        let svc = std::mem::size_of::<Service>();
        // 1088 before SPEC §15's per-stream line state (held partial line,
        // shared fd) joined each log and §16's exit counts each service;
        // 1168 before §17's schedule in its spec.
        assert!(svc <= 1176, "Service is {svc} bytes");
    }
}
