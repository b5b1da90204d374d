//! `--format junit`: JUnit XML as Jenkins and GitLab read it: one testsuite per tag group, one
//! testcase per case, a failure per failing case with expected and actual, and the reproduction
//! command in system-out.
//!
//! Written as a stream, one case at a time, so memory does not grow with the run (issue 13): a
//! testsuite's counts come first in the XML, so they are counted from the store's briefs
//! ([`super::CaseStore::briefs`]) in one pass that also notes each suite's case positions (8
//! bytes a case), then each suite's cases are read back by position and written one by one:
//! every case is read once, whatever the number of suites.
//! The layout is quick-junit's, written with the same quick-xml events (a test compares the two
//! byte for byte on text without control characters). Text is not cleaned as quick-junit cleans
//! it, which strips ANSI sequences as a terminal parses them and loses evidence (see [`clean`]):
//! control characters are shown as escapes, as in the other formats.

use super::controls::visible_controls;
use super::{CaseReport, CaseStatus, ReportWriter, RunReport};
use crate::checks::Verdict;
use quick_xml::Writer;
use quick_xml::events::attributes::Attribute;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use std::borrow::Cow;
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
        let suites = suites(report);
        let total =
            suites
                .values()
                .map(|suite| &suite.counts)
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
        for (group, suite) in &suites {
            write_suite(&mut xml, report, group, suite)?;
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

/// One testsuite: its counts, and the positions of its cases in plan order.
#[derive(Debug, Default)]
struct Suite {
    counts: Counts,
    positions: Vec<usize>,
}

/// Every tag group's suite, from the briefs in one pass: nothing is read back from the spool.
/// A group is copied only when its brief made it (an untagged kept case's family name).
fn suites(report: &RunReport) -> BTreeMap<Cow<'_, str>, Suite> {
    let mut suites: BTreeMap<Cow<'_, str>, Suite> = BTreeMap::new();
    for (position, brief) in report.cases.briefs().enumerate() {
        let suite = suites.entry(brief.group).or_default();
        suite.positions.push(position);
        let counts = &mut suite.counts;
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
    suite: &Suite,
) -> io::Result<()> {
    let mut tag = BytesStart::new("testsuite");
    attribute(&mut tag, "name", group);
    // quick-junit's order, which differs from the root's.
    let [tests, skipped, failures, errors] = suite.counts.named();
    count_attributes(&mut tag, [tests, skipped, errors, failures]);
    xml.write_event(Event::Start(tag))?;
    xml.write_event(Event::Start(BytesStart::new("properties")))?;
    for (name, value) in properties(report) {
        let mut property = BytesStart::new("property");
        property.push_attribute(("name", name));
        attribute(&mut property, "value", &value);
        xml.write_event(Event::Empty(property))?;
    }
    xml.write_event(Event::End(BytesEnd::new("properties")))?;
    for case in report.cases.at(suite.positions.iter().copied()) {
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
    attribute(&mut tag, "name", &case.id);
    let classname = format!("cmconform.{}", case.group());
    attribute(&mut tag, "classname", &classname);
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
            attribute(&mut skipped, "message", reason);
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
    attribute(&mut tag, "message", &failure_message(case));
    tag.push_attribute(("type", kind));
    xml.write_event(Event::Start(tag))?;
    xml.write_event(Event::Text(BytesText::new(&findings(case))))?;
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

/// Every finding with its step, expected and actual, a blank line between two; each cleaned
/// on its own ([`clean`]), so that nothing in one can reach into the next.
fn findings(case: &CaseReport) -> String {
    let findings: Vec<String> = case
        .checks
        .iter()
        .filter_map(|result| match &result.verdict {
            Verdict::Fail(finding) => Some(clean(&format!(
                "{} (step {}): {}\nexpected: {}\nactual: {}",
                result.check,
                crate::step_number::shown(result.step),
                finding.message,
                finding.expected,
                finding.actual
            ))),
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

/// Text XML 1.0 can carry, and all of it that XML can: every control character but `\n` and
/// `\t` shown as a `\u{..}` escape ([`visible_controls`], the rule of every format), and the
/// noncharacters U+FFFE and U+FFFF, which XML 1.0 forbids and a server can send, dropped (a
/// parser refuses the whole file over one; no other character a `str` holds is forbidden).
/// quick-junit's cleaning is not used: it strips ANSI sequences the way a terminal parses them,
/// so an `ESC ]` in one finding swallowed every later finding of the case, and it drops tabs.
/// quick-xml escapes what is left (`<`, `>`, `&` and quotes), so `]]>` and markup stay text.
fn clean(text: &str) -> String {
    let mut cleaned = visible_controls(text);
    cleaned.retain(|c| !matches!(c, '\u{fffe}' | '\u{ffff}'));
    cleaned
}

/// Adds `key="value"`, the value cleaned and escaped, and its line breaks and tabs written as
/// character references: a parser normalises raw ones in an attribute to spaces, a reference
/// reads back as written (a multi-line failure message stays multi-line).
fn attribute(tag: &mut BytesStart<'_>, key: &str, value: &str) {
    let escaped = quick_xml::escape::escape(clean(value));
    let kept = match escaped.contains(['\n', '\t']) {
        true => escaped.replace('\n', "&#10;").replace('\t', "&#9;"),
        false => escaped.into_owned(),
    };
    tag.push_attribute(Attribute::from((key.as_bytes(), kept.as_bytes())));
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
    use crate::checks::CheckResult;
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

    /// The scenarios, their hostile text without its control characters: quick-junit strips
    /// those (and what follows an ANSI string sequence), this writer shows them, and that is
    /// the one other intended difference.
    fn scenarios_without_controls() -> Vec<(&'static str, Vec<CaseReport>)> {
        let mut scenarios = fixtures::scenarios();
        scenarios.retain(|(name, _)| *name != "hostile text");
        let markup = without_controls(fixtures::HOSTILE);
        scenarios.push(("hostile text", fixtures::hostile_cases_of(&markup)));
        scenarios
    }

    fn without_controls(text: &str) -> String {
        text.chars().filter(|c| !c.is_control()).collect()
    }

    #[test]
    fn the_streamed_layout_is_quick_junits_byte_for_byte() {
        for spooled in [true, false] {
            for (name, cases) in scenarios_without_controls() {
                let mut report = fixtures::run_report(cases, spooled);
                report.notices = report.notices.iter().map(|n| without_controls(n)).collect();
                // The one intended difference here: quick-junit keeps U+FFFE and U+FFFF.
                let expected = reference(&report).replace(['\u{fffe}', '\u{ffff}'], "");
                assert_eq!(streamed(&report), expected, "{name} (spooled: {spooled})");
            }
        }
    }

    /// A case whose first finding, sent header value and reason hold what quick-junit's cleaning
    /// turned into lost evidence: ANSI string sequences (`ESC ]`, `ESC P`, `ESC X`, `ESC ^`,
    /// `ESC _`, which run to the next BEL, ESC, CAN or SUB, line breaks included), CR and tab.
    fn evidence_case(status: CaseStatus) -> CaseReport {
        let sequences = "osc \u{1b}]o dcs \u{1b}Pd sos \u{1b}Xs pm \u{1b}^p apc \u{1b}_a";
        let mut case = fixtures::case("evidence", &["e"], status);
        case.checks.push(CheckResult {
            check: "no_stack_trace",
            step: 0,
            verdict: Verdict::fail("first\r", "x", format!("x\u{1b}]y {sequences}\nsame")),
        });
        case.checks.push(CheckResult {
            check: "content_type_conformance",
            step: 0,
            verdict: Verdict::fail("second finding", "tab\there", "still here"),
        });
        let mut second = case.exchanges[0].clone();
        second.step = 1;
        second.label = "second step".into();
        case.exchanges.push(second);
        case.exchanges[0]
            .exchange
            .request
            .headers
            .push(("x-sent".into(), "c\td \u{1b}Pdcs".into()));
        case.reason = Some("line one\nline two\tcolumn".into());
        case
    }

    #[test]
    fn control_characters_are_shown_and_nothing_after_them_is_lost() {
        let report = fixtures::run_report(vec![evidence_case(CaseStatus::Failed)], true);
        let xml = streamed(&report);
        let events = parsed(&xml);
        let failure = texts(&events, b"failure").join("\n");
        for kept in [
            "actual: x\\u{001b}]y osc \\u{001b}]o dcs \\u{001b}Pd sos \\u{001b}Xs",
            "pm \\u{001b}^p apc \\u{001b}_a\nsame",
            "first\\u{000d}",
            "content_type_conformance (step 1): second finding",
            "expected: tab\there",
            "actual: still here",
        ] {
            assert!(failure.contains(kept), "{kept:?} lost from {failure:?}");
        }
        // The request's headers are in the reproductions: both steps, the tab kept.
        let system_out = texts(&events, b"system-out").join("\n");
        for kept in [
            "# step 1 request",
            "c\td \\u{001b}Pdcs",
            "# step 2 second step",
        ] {
            assert!(
                system_out.contains(kept),
                "{kept:?} lost from {system_out:?}"
            );
        }
        // A line break and a tab in an attribute read back as written, not as spaces.
        assert!(
            xml.contains("message=\"line one&#10;line two&#9;column\""),
            "{xml}"
        );
        let message = events.iter().find_map(|event| match event {
            Event::Start(tag) if tag.name().as_ref() == b"failure" => tag
                .try_get_attribute("message")
                .ok()
                .flatten()
                .and_then(|a| a.normalized_value(quick_xml::XmlVersion::Explicit1_0).ok())
                .map(|value| value.into_owned()),
            _ => None,
        });
        assert_eq!(message.as_deref(), Some("line one\nline two\tcolumn"));
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
    fn each_case_is_briefed_once_and_read_once_whatever_the_number_of_suites() {
        let groups = ["a", "b", "c", "d", "e"];
        let mut cases = Vec::new();
        for (index, group) in groups.iter().cycle().take(40).enumerate() {
            let status = match index % 4 {
                0 => CaseStatus::Failed,
                _ => CaseStatus::Passed,
            };
            // Untagged kept cases too: their group is the family's name, made per brief.
            let tags: &[&str] = if index % 8 == 0 { &[] } else { &[group] };
            cases.push(fixtures::case(&format!("c{index}"), tags, status));
        }
        let spooled = cases
            .iter()
            .filter(|c| c.status == CaseStatus::Passed)
            .count();
        let report = fixtures::run_report(cases, true);
        super::super::counted::take();
        let xml = streamed(&report);
        assert_eq!(xml.matches("<testsuite ").count(), groups.len() + 1);
        assert_eq!(super::super::counted::take(), (40, spooled));
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
