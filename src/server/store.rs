//! The thread-safe request store: every CM request the server knows, by GUID, together with its
//! life-cycle state. A PUT's read-check-write runs under one lock acquisition ([`Store::update`]);
//! only the `no_lock` fault splits it ([`Store::get`], then [`Store::replace`] later).

use super::model::RequestObject;
use crate::contract::lifecycle::RequestState;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use uuid::Uuid;

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

#[derive(Debug, Default)]
pub struct Store {
    requests: Mutex<HashMap<Uuid, StoredRequest>>,
}

impl Store {
    fn lock(&self) -> MutexGuard<'_, HashMap<Uuid, StoredRequest>> {
        // A panic while holding the lock cannot leave a half-written entry (entries are replaced
        // whole), so a poisoned map is still consistent.
        self.requests.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn insert(&self, request: StoredRequest) {
        self.lock().insert(request.id(), request);
    }

    pub fn get(&self, id: Uuid) -> Option<StoredRequest> {
        self.lock().get(&id).cloned()
    }

    /// Overwrites a request (the second half of the racy `no_lock` PUT).
    pub fn replace(&self, request: StoredRequest) {
        self.insert(request);
    }

    /// Forgets a request (the `refusal_deletes_request` fault).
    pub fn remove(&self, id: Uuid) {
        self.lock().remove(&id);
    }

    /// Runs `change` on the stored request under one lock acquisition, so no other PUT can
    /// interleave between reading the state and writing the new one. `None`: unknown id.
    pub fn update<R>(&self, id: Uuid, change: impl FnOnce(&mut StoredRequest) -> R) -> Option<R> {
        self.lock().get_mut(&id).map(change)
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
}
