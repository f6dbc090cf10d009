//! Running probes through the matcher and counting what it found, missed and found wrongly.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use slrt_intake::domain::matching::{Identity, PersonIndex};

use super::{Probe, ProbeKind};

/// How the detector did on one kind of probe.
#[derive(Debug, Clone, Default)]
pub struct KindTally {
    pub probes: usize,
    /// Probes whose original was among the matches.
    pub found: usize,
    /// Probes whose original was found with the kind [`ProbeKind::expected`] says.
    pub as_expected: usize,
    /// Matches with somebody other than the original.
    pub false_matches: usize,
}

impl KindTally {
    pub fn recall(&self) -> f64 {
        ratio(self.found, self.probes)
    }
}

/// A probe the detector got wrong, for reading.
#[derive(Debug, Clone)]
pub struct Mistake {
    pub kind: ProbeKind,
    /// `missed`, `false match`, or the kind the original was found as when another was
    /// expected.
    pub what: &'static str,
    pub applicant: String,
    pub other: String,
    pub score: Option<f64>,
}

/// The detector's precision and recall on a set of probes.
#[derive(Debug, Clone, Default)]
pub struct Evaluation {
    pub by_kind: BTreeMap<ProbeKind, KindTally>,
    pub elapsed: Duration,
    /// Known people compared, over all probes: what blocking left of probes × people.
    pub compared: usize,
    pub mistakes: Vec<Mistake>,
}

fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 { 1.0 } else { part as f64 / whole as f64 }
}

fn describe(identity: &Identity) -> String {
    format!(
        "{} | {} | {} {} | {}",
        identity.full_name,
        identity.nik.masked(),
        identity.birth_date,
        identity.sex,
        identity.region
    )
}

impl Evaluation {
    /// Matches with the right person among all matches shown.
    pub fn precision(&self) -> f64 {
        let right: usize = self.by_kind.values().map(|tally| tally.found).sum();
        let wrong: usize = self.by_kind.values().map(|tally| tally.false_matches).sum();
        ratio(right, right + wrong)
    }

    /// Duplicates whose original was found, among all injected duplicates.
    pub fn recall(&self) -> f64 {
        let duplicates = self.by_kind.iter().filter(|(kind, _)| **kind != ProbeKind::Clean);
        let (found, probes) = duplicates.fold((0, 0), |(found, probes), (_, tally)| {
            (found + tally.found, probes + tally.probes)
        });
        ratio(found, probes)
    }

    pub fn recall_of(&self, kind: ProbeKind) -> f64 {
        self.by_kind.get(&kind).map_or(1.0, KindTally::recall)
    }

    pub fn false_matches(&self) -> usize {
        self.by_kind.values().map(|tally| tally.false_matches).sum()
    }

    /// A table for people: per kind the probes, found, recall, found as the expected kind and
    /// the false matches; then precision, recall and time.
    pub fn report(&self) -> String {
        let mut text = String::new();
        let _ = writeln!(
            text,
            "{:<16} {:>7} {:>7} {:>7} {:>12} {:>13}",
            "kind", "probes", "found", "recall", "as expected", "false matches"
        );
        for (kind, tally) in &self.by_kind {
            let _ = writeln!(
                text,
                "{:<16} {:>7} {:>7} {:>7} {:>12} {:>13}",
                kind.code(),
                tally.probes,
                tally.found,
                if *kind == ProbeKind::Clean {
                    "-".to_string()
                } else {
                    format!("{:.4}", tally.recall())
                },
                if *kind == ProbeKind::Clean {
                    "-".to_string()
                } else {
                    tally.as_expected.to_string()
                },
                tally.false_matches
            );
        }
        let probes: usize = self.by_kind.values().map(|tally| tally.probes).sum();
        let _ = writeln!(
            text,
            "precision {:.4}, recall {:.4}, false matches {}; {} probes matched in {:.2} s ({:.0} µs each, \
             {:.0} known people compared each)",
            self.precision(),
            self.recall(),
            self.false_matches(),
            probes,
            self.elapsed.as_secs_f64(),
            self.elapsed.as_secs_f64() * 1e6 / probes.max(1) as f64,
            self.compared as f64 / probes.max(1) as f64
        );
        text
    }
}

/// Runs every probe through the index's candidates and tallies the answers. Keeps up to
/// `keep_mistakes` misses and false matches for reading.
pub fn evaluate(index: &PersonIndex, probes: &[Probe], keep_mistakes: usize) -> Evaluation {
    let mut evaluation = Evaluation::default();
    let started = Instant::now();
    let answers: Vec<_> = probes
        .iter()
        .map(|probe| index.candidates(&probe.identity, probe.household_id))
        .collect();
    evaluation.elapsed = started.elapsed();
    evaluation.compared = probes.iter().map(|probe| index.compared_for(&probe.identity)).sum();
    for (probe, matches) in probes.iter().zip(answers) {
        let tally = evaluation.by_kind.entry(probe.kind).or_default();
        tally.probes += 1;
        let found = matches.iter().find(|found| Some(found.person_id) == probe.original);
        if let Some(found) = found {
            tally.found += 1;
            if Some(found.kind) == probe.kind.expected() {
                tally.as_expected += 1;
            } else if evaluation.mistakes.len() < keep_mistakes {
                evaluation.mistakes.push(Mistake {
                    kind: probe.kind,
                    what: found.kind.code(),
                    applicant: describe(&probe.identity),
                    other: index
                        .get(found.person_id)
                        .map(|person| describe(&person.identity))
                        .unwrap_or_default(),
                    score: Some(found.score),
                });
            }
        } else if probe.original.is_some() && evaluation.mistakes.len() < keep_mistakes {
            let original = probe.original.and_then(|id| index.get(id));
            evaluation.mistakes.push(Mistake {
                kind: probe.kind,
                what: "missed",
                applicant: describe(&probe.identity),
                other: original.map(|person| describe(&person.identity)).unwrap_or_default(),
                score: None,
            });
        }
        for wrong in matches.iter().filter(|found| Some(found.person_id) != probe.original) {
            tally.false_matches += 1;
            if evaluation.mistakes.len() < keep_mistakes {
                evaluation.mistakes.push(Mistake {
                    kind: probe.kind,
                    what: "false match",
                    applicant: describe(&probe.identity),
                    other: index
                        .get(wrong.person_id)
                        .map(|person| format!("{} [{}]", describe(&person.identity), wrong.kind.code()))
                        .unwrap_or_default(),
                    score: Some(wrong.score),
                });
            }
        }
    }
    evaluation
}
