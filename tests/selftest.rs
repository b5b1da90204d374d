//! The harness proves its detection power: every fault of the catalogue is caught by the check
//! meant for it, the conformant server raises no failure, and the README's matrix is current.

mod common;

use cmconform::selftest::{render_table, selftest};
use cmconform::server::Fault;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_is_caught_by_its_intended_check() {
    let matrix = match selftest(&common::options(), Fault::ALL, 4).await {
        Ok(matrix) => matrix,
        Err(error) => panic!("selftest could not run: {error}"),
    };
    let table = render_table(&matrix, true);
    assert!(
        Fault::ALL.len() >= 20,
        "the catalogue has {} faults",
        Fault::ALL.len()
    );
    assert_eq!(matrix.false_positives, 0, "{table}");
    for row in &matrix.rows {
        assert!(row.passed, "{:?}: {:?}\n{table}", row.fault, row.problem);
        if let Some(intended) = row.intended_check {
            assert!(row.caught_by.contains(&intended), "{table}");
            assert!(
                cmconform::checks::find(intended).is_some(),
                "unknown check {intended}"
            );
        }
    }
    assert_eq!(matrix.caught, Fault::ALL.len());
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
