//! The harness proves its detection power: in every dialect of the reference server, every fault
//! of the catalogue that applies there is caught by the check meant for it, the conformant server
//! raises no failure, and the README's matrix is current.

mod common;

use cmconform::contract::profile::Profile;
use cmconform::selftest::{render_table, selftest};
use cmconform::server::faults::Applies;
use cmconform::server::{Dialect, Fault};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_is_caught_in_every_dialect_where_it_applies() {
    let dialects: Vec<&'static Dialect> = Dialect::ALL.iter().collect();
    let matrix = match selftest(&common::options(), &dialects, Fault::ALL, 4).await {
        Ok(matrix) => matrix,
        Err(error) => panic!("selftest could not run: {error}"),
    };
    let table = render_table(&matrix, true);
    assert!(
        Fault::ALL.len() >= 20,
        "the catalogue has {} faults",
        Fault::ALL.len()
    );
    let mut runs = 0;
    for dialect in Dialect::ALL {
        for profile in [Profile::Documented, Profile::Strict] {
            let clean = matrix.row(dialect.name, None, profile);
            assert_eq!(
                clean.is_some(),
                dialect.meets(profile),
                "{dialect} {profile}"
            );
            assert!(
                clean.is_none_or(|row| row.passed && row.caught_by.is_empty()),
                "{dialect} {profile}\n{table}"
            );
        }
        for fault in Fault::ALL {
            let row = matrix.row(dialect.name, Some(fault.name()), fault.profile());
            // A load-only fault is judged by `load` (tests/load.rs), never by a suite run.
            assert_eq!(
                row.is_some(),
                fault.applies_in(dialect) && !fault.judged_by_load(),
                "{dialect} {fault}\n{table}"
            );
            let Some(row) = row else { continue };
            runs += 1;
            assert!(row.passed, "{dialect} {fault}: {:?}\n{table}", row.problem);
            assert!(
                fault.run_error().is_some() || row.caught_by.contains(&fault.intended_check()),
                "{table}"
            );
        }
    }
    assert!(runs > Fault::ALL.len() * 2, "{runs} fault runs");
    assert!(
        table.contains("| stall_1_in_50 | 2 | load --max-p99 | judged by load |"),
        "{table}"
    );
    assert_eq!(matrix.faults, runs);
    assert_eq!(matrix.caught, runs);
    assert_eq!(matrix.false_positives, 0, "{table}");
    assert_eq!(matrix.exit_code(), 0);

    let readme = std::fs::read_to_string(common::repo_root().join("README.md")).unwrap_or_default();
    let block = readme
        .split("<!-- selftest:begin -->\n")
        .nth(1)
        .and_then(|rest| rest.split("<!-- selftest:end -->").next())
        .unwrap_or_default();
    let current = render_table(&matrix, false);
    assert_eq!(
        block, current,
        "README.md's self-test matrix is stale; regenerate it with `cargo run --release -- selftest --readme`"
    );
}

/// Faults about the body of a successful PUT cannot be shown by a dialect that answers 204:
/// the matrix leaves them out there, and says so.
#[test]
fn faults_declare_the_dialects_where_they_apply() {
    let Some(nocontent) = Dialect::from_name("nocontent") else {
        panic!("no nocontent dialect")
    };
    let Some(aspnet) = Dialect::from_name("aspnet") else {
        panic!("no aspnet dialect")
    };
    assert!(!aspnet.meets(Profile::Strict) && aspnet.meets(Profile::Documented));
    for fault in Fault::ALL {
        assert!(fault.applies_in(Dialect::strict()), "{fault}");
        assert_eq!(
            fault.applies_in(nocontent),
            fault.applies() == Applies::Everywhere,
            "{fault}"
        );
        // A strict-profile fault is not judged where the conformant server fails that profile.
        assert_eq!(
            fault.applies_in(aspnet),
            fault.profile() == Profile::Documented,
            "{fault}"
        );
    }
    for name in ["truncated_json", "text_content_type", "uuid_mismatch"] {
        assert!(
            Fault::from_name(name).is_some_and(|fault| !fault.applies_in(nocontent)),
            "{name}"
        );
    }
    for name in ["success_201", "not_persisted", "slow_answer"] {
        assert!(
            Fault::from_name(name).is_some_and(|fault| fault.applies_in(nocontent)),
            "{name}"
        );
    }
}

/// Every check in the registry is the intended catcher of at least one fault: no check exists
/// that has never been seen to fire.
#[test]
fn every_check_has_a_fault_that_proves_it_fires() {
    for check in cmconform::checks::REGISTRY {
        assert!(
            Fault::ALL
                .iter()
                .any(|fault| fault.intended_check() == check.name),
            "no fault proves that {} can fire",
            check.name
        );
    }
}

/// The strict profile fails the ASP.NET dialect exactly where the documents leave it a choice
/// the strict profile does not: the open inputs it accepted (section 7) and IIS's HTML 401 page
/// (section 6). Everything else it does is judged as under the documented profile: passing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_strict_profile_fails_aspnet_only_on_what_it_accepted_of_the_open_inputs() {
    use cmconform::checks::open_input_equivalence::OpenPath;
    use cmconform::report::CaseStatus;
    let Some(aspnet) = Dialect::from_name("aspnet") else {
        panic!("no aspnet dialect")
    };
    let mut options = common::options();
    options.embedded_dialect = aspnet;
    options.profile = Profile::Strict;
    let report = common::run_report(&options).await;
    let mut accepted_open = 0;
    for case in report.cases.full() {
        let case = case.unwrap_or_else(|error| panic!("reading the spooled cases back: {error}"));
        let failed: Vec<&str> = case.failures().map(|result| result.check).collect();
        let took_open_input = case.open.iter().any(|open| open.path != OpenPath::Refused);
        if took_open_input {
            accepted_open += 1;
            assert_eq!(case.status, CaseStatus::Failed, "{}", case.id);
            assert!(
                failed.contains(&"open_input_equivalence"),
                "{}: {failed:?}",
                case.id
            );
        } else if case.id == "auth-missing-credentials" {
            assert_eq!(failed, ["content_type_conformance"], "{}", case.id);
        } else {
            assert_eq!(case.status, CaseStatus::Passed, "{}: {failed:?}", case.id);
        }
    }
    assert!(
        accepted_open >= 6,
        "only {accepted_open} open inputs accepted"
    );
    assert_eq!(report.exit_code(), 1);
}
