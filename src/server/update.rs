//! What a PUT does to a stored request: the decision (pure, from the life-cycle table as the
//! behaviour sees it) and its application to the store, atomically unless `no_lock` is active.

use super::App;
use super::behaviour::Behaviour;
use super::model::RequestObject;
use super::store::StoredRequest;
use crate::contract::lifecycle::{RequestState, TargetStatus};
use uuid::Uuid;

/// The result of a PUT on a known request.
#[derive(Debug, Clone, PartialEq)]
pub enum PutOutcome {
    /// The transition happened (or is claimed to have): the object to answer.
    Accepted(Box<RequestObject>),
    /// The life cycle forbids it from `from`.
    Refused { from: RequestState },
}

/// Applies a PUT of `target` to request `id`; `None` if the id is unknown.
pub async fn apply_put(app: &App, id: Uuid, target: TargetStatus) -> Option<PutOutcome> {
    let outcome = put_outcome(app, id, target).await;
    if matches!(outcome, Some(PutOutcome::Refused { .. })) && app.behaviour.deletes_on_refusal() {
        app.store.remove(id);
    }
    outcome
}

async fn put_outcome(app: &App, id: Uuid, target: TargetStatus) -> Option<PutOutcome> {
    let behaviour = app.behaviour;
    let Some(window) = behaviour.race_window() else {
        // Read, check and write under one lock: concurrent PUTs serialize, one wins.
        return app.store.update(id, |slot| {
            let (outcome, write) = decide(behaviour, slot, target);
            if let Some(next) = write {
                *slot = next;
            }
            outcome
        });
    };
    // `no_lock`: decide from a snapshot, let other PUTs run, then write the stale decision.
    let snapshot = app.store.get(id)?;
    let (outcome, write) = decide(behaviour, &snapshot, target);
    tokio::time::sleep(window).await;
    if let Some(next) = write {
        app.store.replace(next);
    }
    Some(outcome)
}

/// The outcome of a PUT of `target` on `current`, and what (if anything) to store.
fn decide(
    behaviour: Behaviour,
    current: &StoredRequest,
    target: TargetStatus,
) -> (PutOutcome, Option<StoredRequest>) {
    if behaviour.repeats_as_noop(current.state, target) {
        return (PutOutcome::Accepted(Box::new(current.object.clone())), None);
    }
    match behaviour.transition(current.state, target) {
        Some(to) => {
            let mut next = moved(behaviour, current, to);
            behaviour.side_effects(&mut next.object);
            let write = behaviour.persists_success().then(|| next.clone());
            (PutOutcome::Accepted(Box::new(next.object)), write)
        }
        None => {
            let after = behaviour.state_after_refusal(current.state, target);
            let write = (after != current.state).then(|| moved(behaviour, current, after));
            let outcome = PutOutcome::Refused {
                from: current.state,
            };
            (outcome, write)
        }
    }
}

/// `current` put in state `to`: its Status code and, on completion, its Completed timestamp.
fn moved(behaviour: Behaviour, current: &StoredRequest, to: RequestState) -> StoredRequest {
    let mut next = current.clone();
    next.state = to;
    next.moved_at = Some(std::time::Instant::now());
    next.object.status = behaviour.status_code(to);
    if to == RequestState::Completed {
        next.object.completed =
            behaviour.completion_stamp(behaviour.completion_instant(next.submitted_at));
    }
    next
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::dialect::Dialect;
    use crate::server::faults::{Fault, named};
    use crate::server::model::NOT_COMPLETED;
    use std::time::Duration;

    fn behaviour(fault: Option<Fault>) -> Behaviour {
        Behaviour::new(Dialect::strict(), fault, Duration::ZERO)
    }

    #[test]
    fn completing_sets_status_and_timestamp() {
        let current = StoredRequest::generated(RequestState::Approved);
        let (outcome, write) = decide(behaviour(None), &current, TargetStatus::Completed);
        let Some(next) = write else {
            panic!("nothing stored")
        };
        assert_eq!(outcome, PutOutcome::Accepted(Box::new(next.object.clone())));
        assert_eq!(next.object.status, 8);
        assert_ne!(next.object.completed, NOT_COMPLETED);
        assert_eq!(next.object.request_type, current.object.request_type);
    }

    #[test]
    fn refusals_store_nothing_unless_faulted() {
        let current = StoredRequest::generated(RequestState::Pending);
        let (outcome, write) = decide(behaviour(None), &current, TargetStatus::Completed);
        assert_eq!(
            outcome,
            PutOutcome::Refused {
                from: RequestState::Pending
            }
        );
        assert_eq!(write, None);
        let faulty = behaviour(Some(named("refusal_changes_state")));
        let (outcome, write) = decide(faulty, &current, TargetStatus::Completed);
        assert_eq!(
            outcome,
            PutOutcome::Refused {
                from: RequestState::Pending
            }
        );
        assert_eq!(write.map(|next| next.state), Some(RequestState::Completed));
    }

    #[test]
    fn not_persisted_answers_without_storing() {
        let current = StoredRequest::generated(RequestState::Executing);
        let faulty = behaviour(Some(named("not_persisted")));
        let (outcome, write) = decide(faulty, &current, TargetStatus::Abandoned);
        assert!(matches!(outcome, PutOutcome::Accepted(object) if object.status == 9));
        assert_eq!(write, None);
    }

    #[test]
    fn an_idempotent_dialect_answers_a_repeated_completion_and_stores_nothing() {
        let current = StoredRequest::generated(RequestState::Completed);
        let Some(aspnet) = Dialect::from_name("aspnet") else {
            panic!("no aspnet dialect")
        };
        let idempotent = Behaviour::new(aspnet, None, Duration::ZERO);
        let (outcome, write) = decide(idempotent, &current, TargetStatus::Completed);
        assert_eq!(
            outcome,
            PutOutcome::Accepted(Box::new(current.object.clone()))
        );
        assert_eq!(write, None);
        let (outcome, write) = decide(idempotent, &current, TargetStatus::Canceled);
        assert_eq!(
            outcome,
            PutOutcome::Refused {
                from: RequestState::Completed
            }
        );
        assert_eq!(write, None);
        let (outcome, _) = decide(behaviour(None), &current, TargetStatus::Completed);
        assert_eq!(
            outcome,
            PutOutcome::Refused {
                from: RequestState::Completed
            }
        );
    }
}
