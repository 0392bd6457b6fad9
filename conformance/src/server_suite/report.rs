//! [`Report`]: what a run found, as text for people, JUnit XML for CI, or JSON for programs.

use std::fmt::Write as _;
use std::time::Duration;

use chatproto::Dialect;

use super::case::{Case, Outcome};

/// How one case ended.
#[derive(Clone, Debug)]
pub struct CaseResult {
    /// The case's id, `R-6.2/1`.
    pub id: &'static str,
    /// The requirement it checks, `R-6.2`.
    pub requirement: &'static str,
    /// What it checks.
    pub description: &'static str,
    /// Whether it checks a SHOULD.
    pub strict: bool,
    /// How it ended.
    pub outcome: Outcome,
    /// How long it took.
    pub elapsed: Duration,
}

impl CaseResult {
    pub(crate) fn new(case: &Case, outcome: Outcome, elapsed: Duration) -> CaseResult {
        CaseResult {
            id: case.id,
            requirement: case.requirement(),
            description: case.description,
            strict: case.strict,
            outcome,
            elapsed,
        }
    }

    /// The result as lines of text: `PASS  R-6.2/1  description`, then the failure or the reason for
    /// skipping, indented.
    pub fn text(&self) -> String {
        let word = match self.outcome {
            Outcome::Pass => "PASS",
            Outcome::Fail(_) => "FAIL",
            Outcome::Skip(_) => "SKIP",
        };
        let strict = if self.strict { " [SHOULD]" } else { "" };
        let mut out = format!("{word}  {:<9} {}{strict}", self.id, self.description);
        for line in self.outcome.detail().lines() {
            let _ = write!(out, "\n      {line}");
        }
        out
    }
}

/// Everything a run found, in the order of the registry.
#[derive(Clone, Debug)]
pub struct Report {
    /// The server, as `tcp 127.0.0.1:53289`.
    pub target: String,
    /// The dialect of the run.
    pub dialect: Dialect,
    /// Whether the SHOULD cases ran.
    pub strict: bool,
    /// One result per selected case.
    pub results: Vec<CaseResult>,
    /// How long the run took.
    pub elapsed: Duration,
}

impl Report {
    /// Cases that passed.
    pub fn passed(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Pass))
    }

    /// Cases that failed.
    pub fn failed(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Fail(_)))
    }

    /// Cases that did not run.
    pub fn skipped(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Skip(_)))
    }

    fn count(&self, which: impl Fn(&Outcome) -> bool) -> usize {
        self.results.iter().filter(|r| which(&r.outcome)).count()
    }

    /// The ids of the cases that failed.
    pub fn failures(&self) -> Vec<&'static str> {
        self.results
            .iter()
            .filter(|r| matches!(r.outcome, Outcome::Fail(_)))
            .map(|r| r.id)
            .collect()
    }

    /// The outcome of one case, if it was selected.
    pub fn outcome(&self, id: &str) -> Option<&Outcome> {
        self.results.iter().find(|r| r.id == id).map(|r| &r.outcome)
    }

    /// `N passed, N failed, N skipped`.
    pub fn summary(&self) -> String {
        format!(
            "{} passed, {} failed, {} skipped",
            self.passed(),
            self.failed(),
            self.skipped()
        )
    }

    /// The whole report as text: a header, one entry per case, and the summary as the last line.
    pub fn text(&self) -> String {
        let mut out = self.header();
        out.push('\n');
        for result in &self.results {
            out.push_str(&result.text());
            out.push('\n');
        }
        out.push_str(&self.summary());
        out
    }

    /// `chatproto-conformance: tcp 127.0.0.1:53289, dialect 5, strict`.
    pub fn header(&self) -> String {
        format!(
            "chatproto-conformance: {}, dialect {}{}",
            self.target,
            self.dialect.version(),
            if self.strict { ", strict" } else { "" }
        )
    }

    /// JUnit XML, as CI systems read it: one test case per case, skipped and failed ones marked.
    pub fn junit(&self) -> String {
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let name = format!(
            "chatproto-conformance {} v{}",
            self.target,
            self.dialect.version()
        );
        let _ = writeln!(
            out,
            "<testsuites name=\"{}\" tests=\"{}\" failures=\"{}\" skipped=\"{}\" time=\"{:.3}\">",
            xml(&name),
            self.results.len(),
            self.failed(),
            self.skipped(),
            self.elapsed.as_secs_f64()
        );
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" skipped=\"{}\" time=\"{:.3}\">",
            xml(&name),
            self.results.len(),
            self.failed(),
            self.skipped(),
            self.elapsed.as_secs_f64()
        );
        for result in &self.results {
            let _ = write!(
                out,
                "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\"",
                xml(result.requirement),
                xml(&format!("{} {}", result.id, result.description)),
                result.elapsed.as_secs_f64()
            );
            match &result.outcome {
                Outcome::Pass => out.push_str("/>\n"),
                Outcome::Fail(why) => {
                    let first = why.lines().next().unwrap_or_default();
                    let _ = write!(
                        out,
                        ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>\n",
                        xml(first),
                        xml(why)
                    );
                }
                Outcome::Skip(why) => {
                    let _ = write!(
                        out,
                        ">\n      <skipped message=\"{}\"/>\n    </testcase>\n",
                        xml(why)
                    );
                }
            }
        }
        out.push_str("  </testsuite>\n</testsuites>\n");
        out
    }

    /// One JSON document: the run, then an object per case.
    pub fn json(&self) -> String {
        let mut out = String::from("{\n");
        let _ = writeln!(out, "  \"target\": {},", json(&self.target));
        let _ = writeln!(out, "  \"dialect\": {},", self.dialect.version());
        let _ = writeln!(out, "  \"strict\": {},", self.strict);
        let _ = writeln!(out, "  \"passed\": {},", self.passed());
        let _ = writeln!(out, "  \"failed\": {},", self.failed());
        let _ = writeln!(out, "  \"skipped\": {},", self.skipped());
        let _ = writeln!(out, "  \"seconds\": {:.3},", self.elapsed.as_secs_f64());
        out.push_str("  \"cases\": [");
        for (i, result) in self.results.iter().enumerate() {
            out.push_str(if i == 0 { "\n" } else { ",\n" });
            let _ = write!(
                out,
                "    {{\"id\": {}, \"requirement\": {}, \"description\": {}, \"strict\": {}, \
                 \"outcome\": {}, \"detail\": {}, \"seconds\": {:.3}}}",
                json(result.id),
                json(result.requirement),
                json(result.description),
                result.strict,
                json(result.outcome.word()),
                json(result.outcome.detail()),
                result.elapsed.as_secs_f64()
            );
        }
        out.push_str("\n  ]\n}\n");
        out
    }
}

/// Text escaped for XML attributes and content. Characters XML 1.0 cannot hold at all become U+FFFD.
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\t' => out.push_str("&#9;"),
            c if (c as u32) < 0x20 => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// A JSON string literal (RFC 8259 §7).
fn json(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Report {
        let result = |id, outcome| CaseResult {
            id,
            requirement: "R-1.1",
            description: "a \"quoted\" <thing> & more",
            strict: false,
            outcome,
            elapsed: Duration::from_millis(5),
        };
        Report {
            target: "tcp 127.0.0.1:1".to_owned(),
            dialect: Dialect::V5,
            strict: true,
            results: vec![
                result("R-1.1/1", Outcome::Pass),
                result(
                    "R-1.1/2",
                    Outcome::Fail("expected A,\ngot \u{1}B".to_owned()),
                ),
                result("R-1.1/3", Outcome::Skip("no".to_owned())),
            ],
            elapsed: Duration::from_secs(1),
        }
    }

    #[test]
    fn text_ends_with_the_summary() {
        let text = report().text();
        assert_eq!(text.lines().last(), Some("1 passed, 1 failed, 1 skipped"));
        assert!(text.contains("FAIL  R-1.1/2"), "{text}");
    }

    #[test]
    fn junit_escapes_and_counts() {
        let xml = report().junit();
        assert!(
            xml.contains("tests=\"3\" failures=\"1\" skipped=\"1\""),
            "{xml}"
        );
        assert!(
            xml.contains("&quot;quoted&quot; &lt;thing&gt; &amp; more"),
            "{xml}"
        );
        assert!(!xml.contains('\u{1}'), "{xml}");
    }

    #[test]
    fn json_escapes_control_characters() {
        let json = report().json();
        assert!(
            json.contains(r#""detail": "expected A,\ngot \u0001B""#),
            "{json}"
        );
        assert!(json.contains(r#""outcome": "skip""#), "{json}");
    }
}
