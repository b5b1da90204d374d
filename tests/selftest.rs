//! The harness proves its detection power: in every dialect of the reference server, every fault
//! of the catalogue that applies there is caught by the check meant for it, the conformant server
//! raises no failure, and the README's matrix is current.

mod common;

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
        let clean = matrix.row(dialect.name, None);
        assert!(
            clean.is_some_and(|row| row.passed && row.caught_by.is_empty()),
            "{dialect}\n{table}"
        );
        for fault in Fault::ALL {
            let row = matrix.row(dialect.name, Some(fault.name()));
            assert_eq!(
                row.is_some(),
                fault.applies_in(dialect),
                "{dialect} {fault}\n{table}"
            );
            let Some(row) = row else { continue };
            runs += 1;
            assert!(row.passed, "{dialect} {fault}: {:?}\n{table}", row.problem);
            assert!(row.caught_by.contains(&fault.intended_check()), "{table}");
        }
    }
    assert!(runs > Fault::ALL.len() * 2, "{runs} fault runs");
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
    for fault in Fault::ALL {
        assert!(fault.applies_in(Dialect::strict()), "{fault}");
        assert_eq!(
            fault.applies_in(nocontent),
            fault.applies() == Applies::Everywhere,
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
