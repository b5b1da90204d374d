//! `--format junit`: JUnit XML as Jenkins and GitLab read it: one testsuite per tag group, one
//! testcase per case, a failure per failing case with expected and actual, and the reproduction
//! command in system-out.
//!
//! Written as a stream, one case at a time, so memory does not grow with the run (issue 13): a
//! testsuite's counts come first in the XML, so they are counted from the store's briefs
//! ([`super::CaseStore::briefs`]), then each suite's cases are read back and written one by one.
//! The layout is quick-junit's, written with the same quick-xml events (a test compares the two
//! byte for byte), and text is cleaned as quick-junit cleans it ([`clean`]).

use super::{CaseReport, CaseStatus, ReportWriter, RunReport};
use crate::checks::Verdict;
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::time::Duration;

pub struct JunitWriter;

type Xml<'a> = Writer<&'a mut dyn Write>;

impl ReportWriter for JunitWriter {
    fn name(&self) -> &'static str {
        "junit"
    }

    fn write(&self, report: &RunReport, out: &mut dyn Write) -> io::Result<()> {
        let suites = suite_counts(report);
        let total = suites
            .values()
            .fold(Counts::default(), |sum, suite| Counts {
                tests: sum.tests + suite.tests,
                skipped: sum.skipped + suite.skipped,
                failures: sum.failures + suite.failures,
                errors: sum.errors + suite.errors,
            });
        let mut xml: Xml<'_> = Writer::new_with_indent(&mut *out, b' ', 4);
        xml.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
        let mut root = BytesStart::new("testsuites");
        root.push_attribute(("name", "cmconform"));
        count_attributes(&mut root, total.named());
        root.push_attribute(("time", seconds(report.duration_ms).as_str()));
        xml.write_event(Event::Start(root))?;
        // Suites in name order, as quick-junit's report built from a sorted map had them.
        for (group, counts) in &suites {
            write_suite(&mut xml, report, group, counts)?;
        }
        xml.write_event(Event::End(BytesEnd::new("testsuites")))?;
        xml.write_indent()?;
        writeln!(out)
    }
}

/// The outcomes of one testsuite's cases.
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    tests: usize,
    skipped: usize,
    failures: usize,
    errors: usize,
}

impl Counts {
    /// The counts with their attribute names.
    fn named(&self) -> [(&'static str, usize); 4] {
        [
            ("tests", self.tests),
            ("skipped", self.skipped),
            ("failures", self.failures),
            ("errors", self.errors),
        ]
    }
}

fn count_attributes(tag: &mut BytesStart<'_>, counts: [(&str, usize); 4]) {
    for (name, count) in counts {
        tag.push_attribute((name, count.to_string().as_str()));
    }
}

/// Every tag group's counts, from the briefs: nothing is read back from the spool.
fn suite_counts(report: &RunReport) -> BTreeMap<String, Counts> {
    let mut suites: BTreeMap<String, Counts> = BTreeMap::new();
    for brief in report.cases.briefs() {
        let counts = suites.entry(brief.group.into_owned()).or_default();
        counts.tests += 1;
        match brief.status {
            CaseStatus::Passed => {}
            CaseStatus::Skipped => counts.skipped += 1,
            CaseStatus::Failed => counts.failures += 1,
            CaseStatus::Errored => counts.errors += 1,
        }
    }
    suites
}

/// A suite carrying what every reader must see: the cmconform version and contract digest, the
/// generator seed and the run's notices (e.g. TLS verification off), as properties and in
/// system-err, where CI UIs show them; then its cases, read back one at a time.
fn write_suite(
    xml: &mut Xml<'_>,
    report: &RunReport,
    group: &str,
    counts: &Counts,
) -> io::Result<()> {
    let mut tag = BytesStart::new("testsuite");
    tag.push_attribute(("name", clean(group).as_str()));
    // quick-junit's order, which differs from the root's.
    let [tests, skipped, failures, errors] = counts.named();
    count_attributes(&mut tag, [tests, skipped, errors, failures]);
    xml.write_event(Event::Start(tag))?;
    xml.write_event(Event::Start(BytesStart::new("properties")))?;
    for (name, value) in properties(report) {
        let mut property = BytesStart::new("property");
        property.push_attribute(("name", name));
        property.push_attribute(("value", clean(&value).as_str()));
        xml.write_event(Event::Empty(property))?;
    }
    xml.write_event(Event::End(BytesEnd::new("properties")))?;
    for case in report.cases.select(|brief| brief.group == group) {
        write_case(xml, &*case?)?;
    }
    if !report.notices.is_empty() {
        let warnings = format!("WARNING: {}", report.notices.join("\nWARNING: "));
        text_element(xml, "system-err", &warnings)?;
    }
    xml.write_event(Event::End(BytesEnd::new("testsuite")))
}

fn properties(report: &RunReport) -> Vec<(&'static str, String)> {
    let mut properties = vec![
        ("cmconform_version", report.tool_version.clone()),
        ("contract_digest", report.contract_digest.clone()),
        ("contract_source", report.contract_source.clone()),
    ];
    if let Some(seed) = report.seed {
        properties.push(("seed", seed.to_string()));
    }
    properties.push(("profile", report.profile.to_string()));
    for notice in &report.notices {
        properties.push(("notice", notice.clone()));
    }
    properties
}

fn write_case(xml: &mut Xml<'_>, case: &CaseReport) -> io::Result<()> {
    let mut tag = BytesStart::new("testcase");
    tag.push_attribute(("name", clean(&case.id).as_str()));
    let classname = format!("cmconform.{}", case.group());
    tag.push_attribute(("classname", clean(&classname).as_str()));
    tag.push_attribute(("assertions", case.checks.len().to_string().as_str()));
    tag.push_attribute(("time", seconds(case.duration_ms).as_str()));
    let system_out = system_out(case);
    if case.status == CaseStatus::Passed && system_out.is_none() {
        return xml.write_event(Event::Empty(tag));
    }
    xml.write_event(Event::Start(tag))?;
    match case.status {
        CaseStatus::Passed => {}
        CaseStatus::Skipped => {
            let mut skipped = BytesStart::new("skipped");
            let reason = case.reason.as_deref().unwrap_or_default();
            skipped.push_attribute(("message", clean(reason).as_str()));
            xml.write_event(Event::Empty(skipped))?;
        }
        CaseStatus::Failed | CaseStatus::Errored => write_failure(xml, case)?,
    }
    if let Some(text) = system_out {
        text_element(xml, "system-out", &text)?;
    }
    xml.write_event(Event::End(BytesEnd::new("testcase")))
}

/// The case's title and the curl command of every exchange (the open-input path first): what a
/// reader replays. `None` when the case sent nothing.
fn system_out(case: &CaseReport) -> Option<String> {
    if case.exchanges.is_empty() {
        return None;
    }
    let reproduce: Vec<String> = case
        .exchanges
        .iter()
        .map(|e| {
            format!(
                "# step {} {}\n{}",
                crate::step_number::shown(e.step),
                e.label,
                e.exchange.request.to_curl()
            )
        })
        .collect();
    let open = case
        .open_text()
        .map(|paths| format!("open input (CONTRACT.md section 7): {paths}\n"))
        .unwrap_or_default();
    Some(format!("{open}{}\n{}", case.title, reproduce.join("\n")))
}

/// `<failure>` (or `<error>` for a case the harness could not carry out): the failed checks as
/// the message, each finding with expected and actual as the text.
fn write_failure(xml: &mut Xml<'_>, case: &CaseReport) -> io::Result<()> {
    let (element, kind) = failure_kind(case.status);
    let mut tag = BytesStart::new(element);
    tag.push_attribute(("message", clean(&failure_message(case)).as_str()));
    tag.push_attribute(("type", kind));
    xml.write_event(Event::Start(tag))?;
    xml.write_event(Event::Text(BytesText::new(&clean(&findings(case)))))?;
    xml.write_event(Event::End(BytesEnd::new(element)))
}

/// The element and `type` of a case that did not pass: an errored case is the harness's
/// error, a failed one a conformance failure.
fn failure_kind(status: CaseStatus) -> (&'static str, &'static str) {
    match status {
        CaseStatus::Errored => ("error", "error"),
        _ => ("failure", "conformance"),
    }
}

/// Why the case did not pass: its reason, else the names of its failed checks.
fn failure_message(case: &CaseReport) -> String {
    case.reason.clone().unwrap_or_else(|| {
        let checks: Vec<&str> = case.failures().map(|result| result.check).collect();
        format!("failed checks: {}", checks.join(", "))
    })
}

/// Every finding with its step, expected and actual, a blank line between two.
fn findings(case: &CaseReport) -> String {
    let findings: Vec<String> = case
        .checks
        .iter()
        .filter_map(|result| match &result.verdict {
            Verdict::Fail(finding) => Some(format!(
                "{} (step {}): {}\nexpected: {}\nactual: {}",
                result.check,
                crate::step_number::shown(result.step),
                finding.message,
                finding.expected,
                finding.actual
            )),
            _ => None,
        })
        .collect();
    findings.join("\n\n")
}

/// `<name>text</name>`, the text cleaned and escaped.
fn text_element(xml: &mut Xml<'_>, name: &str, text: &str) -> io::Result<()> {
    xml.write_event(Event::Start(BytesStart::new(name)))?;
    xml.write_event(Event::Text(BytesText::new(&clean(text))))?;
    xml.write_event(Event::End(BytesEnd::new(name)))
}

/// Text XML 1.0 can carry, cleaned as quick-junit cleans it (ANSI escapes and the C0 controls
/// other than tab and line breaks removed), and without the noncharacters U+FFFE and U+FFFF,
/// which XML 1.0 forbids too and a server can send: a parser refuses the whole file over one.
/// quick-xml escapes what is left (`<`, `>`, `&` and quotes), so `]]>` and markup stay text.
fn clean(text: &str) -> String {
    let mut cleaned = quick_junit::XmlString::new(text).into_string();
    cleaned.retain(|c| !matches!(c, '\u{fffe}' | '\u{ffff}'));
    cleaned
}

/// Seconds with three decimals, rounded as quick-junit rounds them (through a `Duration`);
/// a duration no `Duration` holds (a hand-edited merged report) is printed as it is.
fn seconds(ms: f64) -> String {
    let secs = (ms / 1000.0).max(0.0);
    let secs = Duration::try_from_secs_f64(secs).map_or(secs, |duration| duration.as_secs_f64());
    format!("{secs:.3}")
}

#[cfg(test)]
mod tests {
    use super::super::fixtures;
    use super::*;
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

    /// The writer this module replaced, built on quick-junit's in-memory `Report` (the whole
    /// run in memory): the reference the streamed layout must match byte for byte.
    fn reference(report: &RunReport) -> String {
        let mut junit = Report::new("cmconform");
        junit.set_time(Duration::from_secs_f64(
            (report.duration_ms / 1000.0).max(0.0),
        ));
        let mut suites: BTreeMap<String, TestSuite> = BTreeMap::new();
        for case in report.cases.full() {
            let case = case.unwrap_or_else(|error| panic!("{error}"));
            let group = case.group().into_owned();
            suites
                .entry(group.clone())
                .or_insert_with(|| {
                    let mut suite = TestSuite::new(group);
                    for (name, value) in properties(report) {
                        suite.add_property(quick_junit::Property::new(name, value));
                    }
                    if !report.notices.is_empty() {
                        let notices = report.notices.join("\nWARNING: ");
                        suite.set_system_err(format!("WARNING: {notices}"));
                    }
                    suite
                })
                .add_test_case(reference_case(&case));
        }
        junit.add_test_suites(suites.into_values());
        let mut out = junit
            .to_string()
            .unwrap_or_else(|error| panic!("quick-junit: {error}"));
        out.push('\n');
        out
    }

    fn reference_case(case: &CaseReport) -> TestCase {
        let status = match case.status {
            CaseStatus::Passed => TestCaseStatus::success(),
            CaseStatus::Skipped => {
                let mut status = TestCaseStatus::skipped();
                status.set_message(case.reason.clone().unwrap_or_default());
                status
            }
            CaseStatus::Failed | CaseStatus::Errored => {
                let kind = match case.status {
                    CaseStatus::Errored => NonSuccessKind::Error,
                    _ => NonSuccessKind::Failure,
                };
                let mut status = TestCaseStatus::non_success(kind);
                status.set_type(failure_kind(case.status).1);
                status.set_message(failure_message(case));
                status.set_description(findings(case));
                status
            }
        };
        let mut test_case = TestCase::new(case.id.clone(), status);
        test_case.set_classname(format!("cmconform.{}", case.group()));
        test_case.set_time(Duration::from_secs_f64(
            (case.duration_ms / 1000.0).max(0.0),
        ));
        test_case.set_assertions(case.checks.len());
        if let Some(text) = system_out(case) {
            test_case.set_system_out(text);
        }
        test_case
    }

    fn streamed(report: &RunReport) -> String {
        fixtures::written(&JunitWriter, report)
    }

    #[test]
    fn the_streamed_layout_is_quick_junits_byte_for_byte() {
        for spooled in [true, false] {
            for (name, cases) in fixtures::scenarios() {
                let report = fixtures::run_report(cases, spooled);
                // The one intended difference: quick-junit keeps U+FFFE and U+FFFF.
                let expected = reference(&report).replace(['\u{fffe}', '\u{ffff}'], "");
                assert_eq!(streamed(&report), expected, "{name} (spooled: {spooled})");
            }
        }
    }

    /// Every event of the document, as a strict reader sees it; panics on malformed XML.
    fn parsed(xml: &str) -> Vec<quick_xml::events::Event<'static>> {
        let mut reader = quick_xml::Reader::from_str(xml);
        reader.config_mut().check_end_names = true;
        let mut events = Vec::new();
        loop {
            match reader.read_event() {
                Ok(Event::Eof) => return events,
                Ok(event) => events.push(event.into_owned()),
                Err(error) => panic!(
                    "malformed XML at {}: {error}\n{xml}",
                    reader.error_position()
                ),
            }
        }
    }

    /// The unescaped text of every `name` element (the reader reports each entity reference as
    /// an event of its own: they are put back and the whole text unescaped).
    fn texts(events: &[Event<'static>], name: &[u8]) -> Vec<String> {
        let mut inside = None;
        let mut found = Vec::new();
        for event in events {
            match (event, &mut inside) {
                (Event::Start(start), None) if start.name().as_ref() == name => {
                    inside = Some(String::new())
                }
                (Event::End(end), Some(raw)) if end.name().as_ref() == name => {
                    let text = quick_xml::escape::unescape(raw)
                        .unwrap_or_else(|error| panic!("{error}: {raw}"))
                        .into_owned();
                    found.push(text);
                    inside = None;
                }
                (Event::Text(text), Some(raw)) => {
                    raw.push_str(&text.decode().unwrap_or_else(|error| panic!("{error}")))
                }
                (Event::GeneralRef(entity), Some(raw)) => {
                    let entity = entity.decode().unwrap_or_else(|error| panic!("{error}"));
                    raw.push_str(&format!("&{entity};"));
                }
                _ => {}
            }
        }
        found
    }

    #[test]
    fn hostile_text_stays_text_and_xml_1_0_can_carry_it() {
        let report = fixtures::run_report(fixtures::hostile_cases(), true);
        let xml = streamed(&report);
        let forbidden = xml.chars().find(|&c| {
            (c.is_control() && !matches!(c, '\t' | '\n' | '\r') && c < '\u{7f}')
                || matches!(c, '\u{fffe}' | '\u{ffff}')
        });
        assert_eq!(forbidden, None, "a character XML 1.0 forbids");
        assert!(!xml.contains("<script>"), "markup leaked: {xml}");
        assert!(!xml.contains("]]>"), "a CDATA end leaked: {xml}");
        let events = parsed(&xml);
        let failure = texts(&events, b"failure").join("\n");
        // The finding reads back as the server sent it, minus only what XML cannot carry.
        for kept in ["</script>", "]]>", "\"x\"", "'q'", "& ", "red", "é"] {
            assert!(failure.contains(kept), "{kept:?} lost from {failure:?}");
        }
        assert!(!failure.contains('\u{0}') && !failure.contains('\u{1b}'));
        let system_out = texts(&events, b"system-out").join("\n");
        assert!(system_out.contains("</script>"), "{system_out}");
        let system_err = texts(&events, b"system-err").join("\n");
        assert!(
            system_err.contains("WARNING: notice </script>"),
            "{system_err}"
        );
        // The attributes too: the id and the failure message are escaped, and read back.
        let attribute = |element: &[u8], key: &[u8]| -> Vec<String> {
            events
                .iter()
                .filter_map(|event| match event {
                    Event::Start(tag) | Event::Empty(tag) if tag.name().as_ref() == element => {
                        tag.try_get_attribute(key).ok().flatten().and_then(|a| {
                            a.normalized_value(quick_xml::XmlVersion::Explicit1_0)
                                .ok()
                                .map(|v| v.into_owned())
                        })
                    }
                    _ => None,
                })
                .collect()
        };
        assert!(
            attribute(b"testcase", b"name")
                .iter()
                .any(|id| id.contains("\"</script>"))
        );
        assert!(
            attribute(b"error", b"message")
                .iter()
                .any(|m| m.contains("]]>"))
        );
    }

    #[test]
    fn counts_come_first_and_each_case_once_under_its_group() {
        let table = [
            (
                "empty",
                Vec::new(),
                "tests=\"0\" skipped=\"0\" failures=\"0\" errors=\"0\"",
                0,
            ),
            (
                "one failed",
                vec![fixtures::case("a", &["auth"], CaseStatus::Failed)],
                "tests=\"1\" skipped=\"0\" failures=\"1\" errors=\"0\"",
                1,
            ),
            (
                "mixed",
                fixtures::scenarios()
                    .into_iter()
                    .find(|(name, _)| *name == "every status, three groups")
                    .map(|(_, cases)| cases)
                    .unwrap_or_default(),
                "tests=\"6\" skipped=\"1\" failures=\"2\" errors=\"1\"",
                3,
            ),
        ];
        for (name, cases, totals, suites) in table {
            let ids: Vec<String> = cases.iter().map(|case| case.id.clone()).collect();
            let xml = streamed(&fixtures::run_report(cases, true));
            let events = parsed(&xml);
            assert!(
                xml.contains(&format!("<testsuites name=\"cmconform\" {totals}")),
                "{name}: {xml}"
            );
            let count = |element: &[u8]| {
                events
                    .iter()
                    .filter(|event| matches!(event, Event::Start(tag) | Event::Empty(tag) if tag.name().as_ref() == element))
                    .count()
            };
            assert_eq!(count(b"testsuite"), suites, "{name}");
            assert_eq!(count(b"testcase"), ids.len(), "{name}");
            for id in ids {
                assert_eq!(
                    xml.matches(&format!("<testcase name=\"{id}\"")).count(),
                    1,
                    "{name}: {id}"
                );
            }
        }
    }
}
