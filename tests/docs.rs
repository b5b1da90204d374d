//! README.md is generated where it lists what the code defines: the check registry, the run
//! flags and the reference server's dialects.

mod common;

fn readme_block(marker: &str) -> String {
    let readme = std::fs::read_to_string(common::repo_root().join("README.md")).unwrap_or_default();
    readme
        .split(&format!("<!-- {marker}:begin -->\n"))
        .nth(1)
        .and_then(|rest| rest.split(&format!("<!-- {marker}:end -->")).next())
        .unwrap_or_default()
        .to_string()
}

#[test]
fn readme_lists_every_check_of_the_registry() {
    assert_eq!(
        readme_block("checks"),
        cmconform::cli::checks_table(),
        "README.md's check list is stale: paste the output of `cargo run -- checks` between the checks markers"
    );
}

#[test]
fn readme_lists_every_dialect_of_the_reference_server() {
    assert_eq!(
        readme_block("dialects"),
        cmconform::cli::dialects_table(),
        "README.md's dialect list is stale: regenerate it (cargo test --test docs -- --ignored regenerate_readme)"
    );
}

#[test]
fn readme_holds_the_two_commands() {
    let readme = std::fs::read_to_string(common::repo_root().join("README.md")).unwrap_or_default();
    let ci = std::fs::read_to_string(common::repo_root().join(".ci/run")).unwrap_or_default();
    assert!(readme.contains("cargo run --release -- run"));
    assert!(readme.contains("cargo test --locked") && ci.contains("\ncargo test --locked"));
}

/// The crate docs are the map of the tree: every top-level module is named there, so a new
/// module cannot land without its place in the data flow.
#[test]
fn crate_docs_name_every_module() {
    let lib = std::fs::read_to_string(common::repo_root().join("src/lib.rs")).unwrap_or_default();
    let docs: String = lib
        .lines()
        .filter_map(|line| line.strip_prefix("//!"))
        .collect::<Vec<_>>()
        .join(" ");
    let modules: Vec<&str> = lib
        .lines()
        .filter_map(|line| line.strip_prefix("pub mod "))
        .map(|name| name.trim_end_matches(';'))
        .collect();
    assert!(modules.len() > 10, "no modules read from src/lib.rs");
    let unnamed: Vec<&&str> = modules
        .iter()
        .filter(|name| !docs.contains(&format!("`{name}`")))
        .collect();
    assert!(
        unnamed.is_empty(),
        "src/lib.rs's docs do not name {unnamed:?}"
    );
}

#[test]
fn readme_lists_every_flag_of_run() {
    assert_eq!(
        readme_block("run-flags"),
        cmconform::cli::config::flags_table("run"),
        "README.md's run flags are stale: regenerate the run-flags block from `cmconform::cli::config::flags_table(\"run\")` (cargo test --test docs -- --ignored regenerate_readme)"
    );
}

/// Rewrites the generated README blocks (run with `--ignored` after changing flags or checks).
#[test]
#[ignore]
fn regenerate_readme() {
    let path = common::repo_root().join("README.md");
    let mut readme = std::fs::read_to_string(&path).unwrap_or_default();
    for (marker, block) in [
        ("checks", cmconform::cli::checks_table()),
        ("run-flags", cmconform::cli::config::flags_table("run")),
        ("dialects", cmconform::cli::dialects_table()),
    ] {
        let begin = format!("<!-- {marker}:begin -->\n");
        let end = format!("<!-- {marker}:end -->");
        if let (Some(start), Some(stop)) = (readme.find(&begin), readme.find(&end)) {
            readme = format!("{}{begin}{block}{}", &readme[..start], &readme[stop..]);
        }
    }
    assert!(std::fs::write(&path, readme).is_ok());
}
