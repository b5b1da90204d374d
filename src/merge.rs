//! `cmconform merge`: joins the JSON reports of the shards of one partitioned run
//! (`--partition 1/n` ... `n/n`) into the report the whole run would have written: every case
//! exactly once, in plan order, with the totals recomputed. Reports that do not fit together
//! (another contract digest, cmconform version or seed, a shard missing or given twice, a case
//! in two shards) are refused, naming the files.

use crate::report::{CaseReport, RunReport, Summary};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("{path}: cannot read")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a cmconform JSON report: {pointer}: {message}")]
    Json {
        path: PathBuf,
        pointer: String,
        message: String,
    },
    #[error("no report to merge")]
    Empty,
    #[error("{path}: not the report of a shard (run it with --partition k/n)")]
    NotAShard { path: PathBuf },
    #[error("{first} and {second} differ in {what}: {first_value} vs {second_value}")]
    Mismatch {
        what: &'static str,
        first: PathBuf,
        first_value: String,
        second: PathBuf,
        second_value: String,
    },
    #[error("shard {index}/{total} is given twice: {first} and {second}")]
    DuplicateShard {
        index: u64,
        total: u64,
        first: PathBuf,
        second: PathBuf,
    },
    #[error("missing shard(s) {missing} of {total}")]
    MissingShards { missing: String, total: u64 },
    #[error("case '{case}' is in {first} and in {second}")]
    Overlap {
        case: String,
        first: PathBuf,
        second: PathBuf,
    },
    #[error("{path}: case '{case}' is not in the plan the shards were cut from")]
    Unplanned { path: PathBuf, case: String },
    #[error("case '{case}' of the plan is in no report")]
    MissingCase { case: String },
}

/// One shard's report and the file it came from.
pub struct ShardFile {
    pub path: PathBuf,
    pub report: RunReport,
}

/// Reads a JSON report written by `cmconform run --format json` (or `--report json=PATH`).
pub fn read_report(path: &Path) -> Result<ShardFile, MergeError> {
    let text = std::fs::read_to_string(path).map_err(|source| MergeError::Io {
        path: path.into(),
        source,
    })?;
    let mut deserializer = serde_json::Deserializer::from_str(&text);
    let report: RunReport =
        serde_path_to_error::deserialize(&mut deserializer).map_err(|error| MergeError::Json {
            path: path.into(),
            pointer: error.path().to_string(),
            message: error.inner().to_string(),
        })?;
    Ok(ShardFile {
        path: path.into(),
        report,
    })
}

/// The whole run's report from the reports of all its shards.
pub fn merge(shards: Vec<ShardFile>) -> Result<RunReport, MergeError> {
    let first = shards.first().ok_or(MergeError::Empty)?;
    for shard in &shards {
        agree(first, shard)?;
    }
    let plan = complete_shards(&shards)?;
    let cases = cases_in_plan_order(&shards, &plan)?;
    let reports: Vec<&RunReport> = shards.iter().map(|shard| &shard.report).collect();
    let base = &first.report;
    Ok(RunReport {
        report_version: base.report_version,
        tool_version: base.tool_version.clone(),
        contract_digest: base.contract_digest.clone(),
        contract_source: base.contract_source.clone(),
        target: distinct(reports.iter().map(|r| r.target.clone())).join(" + "),
        embedded: base.embedded,
        // RFC 3339 UTC strings of one format sort chronologically.
        started_at: reports
            .iter()
            .map(|r| r.started_at.clone())
            .min()
            .unwrap_or_default(),
        // Shards run side by side: the whole run took as long as the slowest one.
        duration_ms: reports.iter().map(|r| r.duration_ms).fold(0.0, f64::max),
        seed: base.seed,
        profile: base.profile,
        // Skips pass the merged run only when every shard allowed them (a gate errs strict).
        allow_skips: reports.iter().all(|r| r.allow_skips),
        shard: None,
        notices: distinct(reports.iter().flat_map(|r| r.notices.iter().cloned())),
        fault: base.fault.clone(),
        summary: Summary::of(&cases),
        cases: cases.into(),
    })
}

/// What must be equal in every shard for the merge to mean anything.
fn agree(first: &ShardFile, other: &ShardFile) -> Result<(), MergeError> {
    let shard_of = |file: &ShardFile| {
        file.report
            .shard
            .as_ref()
            .ok_or_else(|| MergeError::NotAShard {
                path: file.path.clone(),
            })
            .map(|shard| (shard.total, shard.plan.clone()))
    };
    let (total, plan) = shard_of(other)?;
    let (first_total, first_plan) = shard_of(first)?;
    let fields: [(&'static str, String, String); 7] = [
        (
            "report version",
            first.report.report_version.to_string(),
            other.report.report_version.to_string(),
        ),
        (
            "cmconform version",
            first.report.tool_version.clone(),
            other.report.tool_version.clone(),
        ),
        (
            "contract digest",
            first.report.contract_digest.clone(),
            other.report.contract_digest.clone(),
        ),
        (
            "seed",
            format!("{:?}", first.report.seed),
            format!("{:?}", other.report.seed),
        ),
        (
            "profile",
            first.report.profile.to_string(),
            other.report.profile.to_string(),
        ),
        (
            "number of shards",
            first_total.to_string(),
            total.to_string(),
        ),
        (
            "planned cases (--filter, --tag, --generate, ... must be the same)",
            format!("{} cases", first_plan.len()),
            format!("{} cases", plan.len()),
        ),
    ];
    for (what, first_value, second_value) in fields {
        let plan_differs = what.starts_with("planned") && first_plan != plan;
        if first_value != second_value || plan_differs {
            return Err(MergeError::Mismatch {
                what,
                first: first.path.clone(),
                first_value,
                second: other.path.clone(),
                second_value,
            });
        }
    }
    Ok(())
}

/// Every shard 1..=n exactly once; returns the common plan.
fn complete_shards(shards: &[ShardFile]) -> Result<Vec<String>, MergeError> {
    let mut seen: BTreeMap<u64, &PathBuf> = BTreeMap::new();
    let mut total = 0;
    let mut plan = Vec::new();
    for file in shards {
        let Some(shard) = &file.report.shard else {
            return Err(MergeError::NotAShard {
                path: file.path.clone(),
            });
        };
        (total, plan) = (shard.total, shard.plan.clone());
        if let Some(first) = seen.insert(shard.index, &file.path) {
            return Err(MergeError::DuplicateShard {
                index: shard.index,
                total: shard.total,
                first: first.clone(),
                second: file.path.clone(),
            });
        }
    }
    let missing: Vec<String> = (1..=total)
        .filter(|index| !seen.contains_key(index))
        .map(|index| format!("{index}/{total}"))
        .collect();
    if !missing.is_empty() {
        return Err(MergeError::MissingShards {
            missing: missing.join(", "),
            total,
        });
    }
    Ok(plan)
}

/// Every case of every shard, once, in the order of the plan.
fn cases_in_plan_order(
    shards: &[ShardFile],
    plan: &[String],
) -> Result<Vec<CaseReport>, MergeError> {
    let order: HashMap<&str, usize> = plan
        .iter()
        .enumerate()
        .map(|(index, id)| (id.as_str(), index))
        .collect();
    let mut slots: Vec<Option<(&PathBuf, &CaseReport)>> = vec![None; plan.len()];
    for file in shards {
        // A report read back from JSON keeps every case in memory (nothing is spooled).
        for case in file.report.cases.kept() {
            let index = *order
                .get(case.id.as_str())
                .ok_or_else(|| MergeError::Unplanned {
                    path: file.path.clone(),
                    case: case.id.clone(),
                })?;
            if let Some((first, _)) = slots[index] {
                return Err(MergeError::Overlap {
                    case: case.id.clone(),
                    first: first.clone(),
                    second: file.path.clone(),
                });
            }
            slots[index] = Some((&file.path, case));
        }
    }
    slots
        .into_iter()
        .zip(plan)
        .map(|(slot, id)| {
            slot.map(|(_, case)| case.clone())
                .ok_or_else(|| MergeError::MissingCase { case: id.clone() })
        })
        .collect()
}

/// The values in first-seen order, each once.
fn distinct(values: impl Iterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for value in values {
        if !out.contains(&value) {
            out.push(value);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const PLAN: [&str; 4] = ["a", "b", "c", "d"];

    fn case(id: &str) -> serde_json::Value {
        json!({"id": id, "title": id, "section": "1", "tags": [], "family": "fixture",
               "given": null, "status": "passed", "reason": null, "duration_ms": 1.0,
               "kinds": ["documented"], "open": [],
               "checks": [{"check": "status_value", "step": 1, "outcome": "pass"}],
               "exchanges": []})
    }

    /// Shard `index`/`total` holding `ids`; `tweak` edits the JSON before it is read.
    fn shard(index: u64, total: u64, ids: &[&str], tweak: fn(&mut serde_json::Value)) -> ShardFile {
        let mut value = json!({
            "report_version": 2, "tool_version": "0.1.0", "contract_digest": "sha256:00",
            "target": "http://t", "embedded": false, "started_at": format!("2026-01-0{index}T00:00:00Z"),
            "duration_ms": index as f64, "seed": 7, "profile": "documented", "allow_skips": false,
            "shard": {"index": index, "total": total, "plan": PLAN},
            "notices": [], "summary": {"total": 0, "passed": 0, "failed": 0, "skipped": 0,
            "errored": 0, "warnings": 0},
            "cases": ids.iter().map(|id| case(id)).collect::<Vec<_>>(),
        });
        tweak(&mut value);
        let report = serde_json::from_value(value).unwrap_or_else(|error| panic!("{error}"));
        ShardFile {
            path: format!("s{index}.json").into(),
            report,
        }
    }

    fn keep(_: &mut serde_json::Value) {}

    #[test]
    fn shards_join_in_plan_order() {
        let merged = merge(vec![
            shard(2, 2, &["b", "d"], keep),
            shard(1, 2, &["c", "a"], keep),
        ]);
        let merged = merged.unwrap_or_else(|error| panic!("{error}"));
        let ids: Vec<&str> = merged.cases.kept().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, PLAN);
        assert_eq!((merged.summary.total, merged.summary.passed), (4, 4));
        assert_eq!(merged.started_at, "2026-01-01T00:00:00Z");
        assert_eq!(
            (merged.duration_ms, merged.seed, merged.shard),
            (2.0, Some(7), None)
        );
    }

    #[test]
    fn shards_that_do_not_fit_together_are_refused() {
        let table: [(Vec<ShardFile>, &str); 9] = [
            (vec![], "no report"),
            (
                vec![shard(1, 2, &["a", "b", "c", "d"], keep)],
                "missing shard(s) 2/2",
            ),
            (
                vec![
                    shard(1, 2, &["a", "b"], keep),
                    shard(1, 2, &["c", "d"], keep),
                ],
                "shard 1/2 is given twice: s1.json and s1.json",
            ),
            (
                vec![
                    shard(1, 2, &["a", "b", "c"], keep),
                    shard(2, 2, &["c", "d"], keep),
                ],
                "case 'c' is in s1.json and in s2.json",
            ),
            (
                vec![shard(1, 2, &["a"], keep), shard(2, 2, &["c", "d"], keep)],
                "case 'b' of the plan is in no report",
            ),
            (
                vec![
                    shard(1, 2, &["a", "b"], keep),
                    shard(2, 2, &["c", "d"], |v| {
                        v["contract_digest"] = "sha256:01".into()
                    }),
                ],
                "differ in contract digest: sha256:00 vs sha256:01",
            ),
            (
                vec![
                    shard(1, 2, &["a", "b"], keep),
                    shard(2, 2, &["c", "d"], |v| v["seed"] = 8.into()),
                ],
                "differ in seed: Some(7) vs Some(8)",
            ),
            (
                vec![
                    shard(1, 2, &["a", "b"], keep),
                    shard(2, 2, &["c", "d"], |v| v["profile"] = "strict".into()),
                ],
                "differ in profile: documented vs strict",
            ),
            (
                vec![shard(1, 1, &["a", "b", "c", "d"], |v| {
                    v["shard"] = json!(null)
                })],
                "s1.json: not the report of a shard",
            ),
        ];
        for (shards, expected) in table {
            let error = merge(shards)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(error.contains(expected), "{error:?} lacks {expected:?}");
        }
    }
}
