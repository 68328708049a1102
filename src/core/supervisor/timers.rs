//! The services' deadlines in time order, so that finding the next one
//! (every loop pass, for poll's timeout) and the due ones costs the same
//! with ten services or ten thousand.
//!
//! The machines own their deadlines (`Machine::deadline`); this index
//! follows them: the supervisor calls [`Timers::sync`] after every change
//! to a machine (`apply_one`, recovery) and [`Timers::remove`] when a
//! service is forgotten.

use super::Id;
use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

#[derive(Default)]
pub(super) struct Timers {
    order: BTreeSet<(Instant, Id)>,
    at: HashMap<Id, Instant>,
}

impl Timers {
    /// Records that `id`'s deadline is now `deadline`.
    pub(super) fn sync(&mut self, id: Id, deadline: Option<Instant>) {
        if self.at.get(&id).copied() == deadline {
            return;
        }
        self.remove(id);
        if let Some(d) = deadline {
            self.order.insert((d, id));
            self.at.insert(id, d);
        }
    }

    pub(super) fn remove(&mut self, id: Id) {
        if let Some(d) = self.at.remove(&id) {
            self.order.remove(&(d, id));
        }
    }

    /// The earliest deadline.
    pub(super) fn first(&self) -> Option<Instant> {
        self.order.first().map(|(d, _)| *d)
    }

    /// Up to `limit` services whose deadline has passed, earliest first.
    pub(super) fn due(&self, now: Instant, limit: usize) -> Vec<Id> {
        self.order
            .iter()
            .take_while(|(d, _)| *d <= now)
            .take(limit)
            .map(|(_, id)| *id)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn due_ones_come_earliest_first_and_follow_changes() {
        let t0 = Instant::now();
        let at = |ms| Some(t0 + Duration::from_millis(ms));
        let mut t = Timers::default();
        t.sync(1, at(30));
        t.sync(2, at(10));
        t.sync(3, at(20));
        t.sync(4, None);
        assert_eq!(t.first(), at(10));
        assert_eq!(t.due(t0 + Duration::from_millis(25), 10), vec![2, 3]);
        assert_eq!(t.due(t0 + Duration::from_millis(25), 1), vec![2]);
        t.sync(2, at(40));
        t.sync(3, None);
        t.remove(1);
        assert_eq!(t.first(), at(40));
        assert!(t.due(t0 + Duration::from_millis(35), 10).is_empty());
        t.sync(2, None);
        assert_eq!(t.first(), None);
    }
}
