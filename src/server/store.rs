//! The thread-safe request store: every CM request the server knows, by GUID, together with its
//! life-cycle state. A PUT's read-check-write runs under one lock acquisition ([`Store::update`]);
//! only the `no_lock` fault splits it ([`Store::get`], then [`Store::replace`] later).
//!
//! Staged requests are bounded: past the cap, the least recently used one (staged, read or
//! written longest ago) is evicted, so a long-lived `serve` keeps a fixed footprint across runs.
//! The documented example is pinned: it is never evicted nor torn down.

use super::model::RequestObject;
use crate::contract::lifecycle::RequestState;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// How many staged requests a server keeps by default (`--max-requests`).
pub const DEFAULT_MAX_REQUESTS: usize = 100_000;

/// One request as stored: its life-cycle state, the object GET and PUT answer, and its
/// submission instant (kept parsed so completion can never predate it).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRequest {
    pub state: RequestState,
    pub object: RequestObject,
    pub submitted_at: DateTime<Utc>,
    /// When a PUT last moved it: a PUT refused moments later lost a race to that one.
    pub moved_at: Option<Instant>,
}

impl StoredRequest {
    /// A fresh, realistic request in `state` (what a provider-state setup stages).
    pub fn generated(state: RequestState) -> StoredRequest {
        let (object, submitted_at) = crate::server::model::generated_request(state);
        StoredRequest {
            state,
            object,
            submitted_at,
            moved_at: None,
        }
    }

    pub fn id(&self) -> Uuid {
        self.object.uuid
    }

    /// Whether a PUT moved it less than `window` ago.
    pub fn moved_within(&self, window: Duration) -> bool {
        self.moved_at.is_some_and(|at| at.elapsed() < window)
    }
}

/// What a teardown found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    Removed,
    /// Never staged, or already evicted or torn down.
    Unknown,
    /// The documented example, which stays.
    Pinned,
}

/// The map and the recency order of its unpinned entries (tick of last use -> id).
#[derive(Debug, Default)]
struct Entries {
    requests: HashMap<Uuid, Slot>,
    recency: BTreeMap<u64, Uuid>,
    clock: u64,
}

#[derive(Debug)]
struct Slot {
    request: StoredRequest,
    /// The tick of its last use; `None` for a pinned request.
    used: Option<u64>,
}

impl Entries {
    /// Marks `id` as just used (a no-op for pinned or unknown ids).
    fn touch(&mut self, id: Uuid) {
        let Some(slot) = self.requests.get_mut(&id) else {
            return;
        };
        let Some(old) = slot.used else { return };
        self.clock += 1;
        slot.used = Some(self.clock);
        self.recency.remove(&old);
        self.recency.insert(self.clock, id);
    }

    fn forget(&mut self, id: Uuid) -> Option<Slot> {
        let slot = self.requests.remove(&id)?;
        if let Some(used) = slot.used {
            self.recency.remove(&used);
        }
        Some(slot)
    }

    fn evict_beyond(&mut self, cap: usize) {
        while self.recency.len() > cap {
            let Some((_, id)) = self.recency.pop_first() else {
                return;
            };
            self.requests.remove(&id);
        }
    }
}

#[derive(Debug)]
pub struct Store {
    entries: Mutex<Entries>,
    /// The most unpinned requests kept (at least 1).
    cap: usize,
}

impl Default for Store {
    fn default() -> Store {
        Store::with_cap(DEFAULT_MAX_REQUESTS)
    }
}

impl Store {
    pub fn with_cap(cap: usize) -> Store {
        Store {
            entries: Mutex::default(),
            cap: cap.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Entries> {
        // A panic while holding the lock cannot leave a half-written entry (entries are replaced
        // whole), so a poisoned map is still consistent.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stores a request as the most recently used, evicting the least recently used past the cap.
    pub fn insert(&self, request: StoredRequest) {
        let mut entries = self.lock();
        let id = request.id();
        let pinned = entries
            .requests
            .get(&id)
            .is_some_and(|slot| slot.used.is_none());
        if pinned {
            if let Some(slot) = entries.requests.get_mut(&id) {
                slot.request = request;
            }
            return;
        }
        entries.forget(id);
        entries.clock += 1;
        let used = entries.clock;
        entries.recency.insert(used, id);
        let slot = Slot {
            request,
            used: Some(used),
        };
        entries.requests.insert(id, slot);
        entries.evict_beyond(self.cap);
    }

    /// Stores a request that is never evicted nor torn down (the documented example).
    pub fn insert_pinned(&self, request: StoredRequest) {
        let mut entries = self.lock();
        entries.forget(request.id());
        let slot = Slot {
            request,
            used: None,
        };
        entries.requests.insert(slot.request.id(), slot);
    }

    pub fn get(&self, id: Uuid) -> Option<StoredRequest> {
        let mut entries = self.lock();
        entries.touch(id);
        entries.requests.get(&id).map(|slot| slot.request.clone())
    }

    /// Overwrites a request (the second half of the racy `no_lock` PUT).
    pub fn replace(&self, request: StoredRequest) {
        self.insert(request);
    }

    /// Forgets a request (the `refusal_deletes_request` fault, and a provider-state teardown).
    pub fn remove(&self, id: Uuid) -> Removal {
        let mut entries = self.lock();
        match entries.requests.get(&id).map(|slot| slot.used) {
            None => Removal::Unknown,
            Some(None) => Removal::Pinned,
            Some(Some(_)) => {
                entries.forget(id);
                Removal::Removed
            }
        }
    }

    /// Runs `change` on the stored request under one lock acquisition, so no other PUT can
    /// interleave between reading the state and writing the new one. `None`: unknown id.
    pub fn update<R>(&self, id: Uuid, change: impl FnOnce(&mut StoredRequest) -> R) -> Option<R> {
        let mut entries = self.lock();
        entries.touch(id);
        entries
            .requests
            .get_mut(&id)
            .map(|slot| change(&mut slot.request))
    }

    /// How many requests are stored, pinned ones included.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.lock().requests.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_changes_only_known_ids() {
        let store = Store::default();
        let request = StoredRequest::generated(RequestState::Approved);
        let id = request.id();
        store.insert(request);
        assert_eq!(store.update(Uuid::new_v4(), |_| ()), None);
        let old = store.update(id, |slot| {
            std::mem::replace(&mut slot.state, RequestState::Failed)
        });
        assert_eq!(old, Some(RequestState::Approved));
        assert_eq!(store.get(id).map(|r| r.state), Some(RequestState::Failed));
    }

    fn staged(store: &Store) -> Uuid {
        let request = StoredRequest::generated(RequestState::Approved);
        let id = request.id();
        store.insert(request);
        id
    }

    #[test]
    fn the_least_recently_used_request_is_evicted_past_the_cap() {
        let store = Store::with_cap(2);
        let pinned = StoredRequest::generated(RequestState::Approved);
        let pinned_id = pinned.id();
        store.insert_pinned(pinned);
        let first = staged(&store);
        let second = staged(&store);
        // Reading the first makes the second the least recently used.
        assert!(store.get(first).is_some());
        let third = staged(&store);
        assert_eq!(store.len(), 3);
        assert!(store.get(second).is_none(), "the least recently used stays");
        for kept in [pinned_id, first, third] {
            assert!(store.get(kept).is_some());
        }
        // An update is a use too.
        assert!(store.update(first, |_| ()).is_some());
        staged(&store);
        assert!(store.get(third).is_none());
        assert!(store.get(first).is_some());
    }

    #[test]
    fn teardown_removes_staged_requests_only() {
        let store = Store::with_cap(10);
        let pinned = StoredRequest::generated(RequestState::Approved);
        let pinned_id = pinned.id();
        store.insert_pinned(pinned);
        let id = staged(&store);
        assert_eq!(store.remove(id), Removal::Removed);
        assert_eq!(store.remove(id), Removal::Unknown);
        assert_eq!(store.remove(pinned_id), Removal::Pinned);
        assert!(store.get(pinned_id).is_some());
        // Re-inserting a pinned request (a PUT's write) keeps it pinned.
        if let Some(request) = store.get(pinned_id) {
            store.replace(request);
        }
        assert_eq!(store.remove(pinned_id), Removal::Pinned);
    }
}
