//! Each case family beyond the fixtures fires against a reference-server fault made for it:
//! generated inputs against a server that accepts invalid values, the life-cycle table and the
//! sequences against one that reopens final states, the race against one without locking.

mod common;

use cmconform::report::{CaseStatus, RunReport};
use cmconform::server::Fault;
use common::{options, run_report};

async fn run_family(filter: &str, fault: &str, generate: usize) -> RunReport {
    let mut options = options();
    options.embedded_fault = Fault::from_name(fault);
    assert!(options.embedded_fault.is_some(), "unknown fault {fault}");
    options.selection.filters = vec![filter.into()];
    options.families.generate = generate;
    options.families.seed = 7;
    run_report(&options).await
}

/// The failing cases and the checks that failed in them.
fn failed(report: &RunReport) -> Vec<(String, Vec<&'static str>)> {
    report
        .cases
        .kept()
        .filter(|case| case.status == CaseStatus::Failed)
        .map(|case| (case.id.clone(), case.failures().map(|r| r.check).collect()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_inputs_catch_a_server_that_accepts_invalid_values() {
    let report = run_family("gen-*", "invalid_status_accepted", 64).await;
    let failed = failed(&report);
    // Another letter case is open (section 7): accepted, it must act as the canonical value.
    assert!(
        failed
            .iter()
            .any(|(id, checks)| id.contains("status-case")
                && checks.contains(&"open_input_equivalence")),
        "{failed:?}"
    );
    assert!(
        failed
            .iter()
            .any(|(id, checks)| id.contains("status-unknown")
                && checks.contains(&"status_code_conformance")),
        "{failed:?}"
    );
    assert_eq!(report.exit_code(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_table_catches_a_reopened_final_state() {
    let report = run_family("lifecycle-*", "final_state_reopened", 0).await;
    assert_eq!(report.summary.total, 21);
    let failed = failed(&report);
    for (id, checks) in &failed {
        let from_final = ["completed", "canceled", "denied", "failed"]
            .iter()
            .any(|s| id.starts_with(&format!("lifecycle-{s}-")));
        assert!(
            from_final,
            "{id} failed but starts in a non-final state: {checks:?}"
        );
        // A repeat (Completed on Completed) may succeed if it changes nothing (section 7), so
        // reopening shows there as a repeat that changed the request.
        assert!(
            checks.contains(&"status_code_conformance")
                || checks.contains(&"open_input_equivalence"),
            "{id}: {checks:?}"
        );
    }
    // Canceled on Canceled and Abandoned on Failed change nothing there: idempotent, not failed.
    assert_eq!(failed.len(), 10, "{failed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequences_catch_a_reopened_final_state_at_the_second_step() {
    let report = run_family("sequence-*", "final_state_reopened", 0).await;
    let second_step_failures = report
        .cases
        .kept()
        .flat_map(|case| case.failures())
        .filter(|result| result.step >= 1 && result.check == "status_code_conformance")
        .count();
    assert!(second_step_failures > 0, "{:?}", failed(&report));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn race_catches_a_server_without_per_request_locking() {
    let report = run_family("race-*", "no_lock", 0).await;
    assert_eq!(
        failed(&report),
        vec![(
            "race-conflicting-puts".to_string(),
            vec!["concurrent_single_winner"]
        )]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_seed_plans_the_same_cases() {
    let ids = |seed| {
        let mut options = options();
        options.families.generate = 50;
        options.families.seed = seed;
        cmconform::run::planned_cases(&load(), &options)
            .into_iter()
            .map(|case| {
                (
                    case.id.clone(),
                    case.steps.first().and_then(|s| s.request.body.clone()),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(7), ids(7));
    assert_ne!(ids(7), ids(8));
}

fn load() -> cmconform::contract::Contract {
    match cmconform::contract::Contract::load(&common::repo_root()) {
        Ok(contract) => contract,
        Err(error) => panic!("{error}"),
    }
}

/// Generated inputs never fail a faithful deployment: every dialect of the reference server
/// passes 200 generated cases for each of issue 9's acceptance seeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_inputs_pass_every_dialect_and_seed() {
    for dialect in ["strict", "aspnet", "nocontent"] {
        for seed in [1, 2, 3, 7, 99] {
            generated_pass(dialect, seed).await;
        }
    }
}

async fn generated_pass(dialect: &str, seed: u64) {
    let mut options = options();
    let Some(found) = cmconform::server::Dialect::from_name(dialect) else {
        panic!("no dialect {dialect}");
    };
    options.embedded_dialect = found;
    options.selection.tags = vec!["generated".into()];
    options.families.generate = 200;
    options.families.seed = seed;
    let report = run_report(&options).await;
    assert!(report.summary.total >= 200, "{dialect} seed {seed}");
    assert_eq!(
        failed(&report),
        Vec::<(String, Vec<&str>)>::new(),
        "{dialect} seed {seed}"
    );
    assert_eq!(report.exit_code(), 0, "{dialect} seed {seed}");
}
