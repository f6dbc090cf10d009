//! The routing table: which OPD serves a need, kept as data (`data/routing.toml`).
//!
//! A rule matches on a need category, a programme code, or both, optionally narrowed to a
//! Kemendagri region prefix. When several rules match, the most specific wins:
//! programme + region, then programme, then category + region, then category. Within a tier
//! a longer region prefix (`33.75.01`) beats a shorter one (`33.75`), and a rule that also
//! names the category beats one that does not. Two rules with the same match are refused
//! when the table is parsed, so the winner is never a matter of file order.
//!
//! A rule names its agency and, in order, the alternates that take the need when the
//! agencies before them decline it; and the SLA tier of the service (how long resolving
//! it may take).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::opd::OpdCode;
use super::sla::SlaTier;
use slrt_vocabulary::NeedCategory;

/// Where a need goes: the agency and the service of that agency that takes it on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub opd_code: OpdCode,
    pub opd_name: String,
    pub service: String,
    pub sla_tier: SlaTier,
}

/// A validated routing table. Build it with [`RoutingTable::parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutingTable {
    version: String,
    /// Every agency of the table, also those no rule routes to yet: each may connect.
    opds: BTreeMap<OpdCode, String>,
    rules: Vec<Rule>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    category: Option<NeedCategory>,
    programme: Option<String>,
    region: Option<RegionPrefix>,
    route: Route,
    /// Who takes the need, in order, when the agencies before decline it.
    alternates: Vec<Route>,
}

/// Why a routing table was refused. Rule indexes count from 0 in file order, as in
/// `rules[2]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoutingTableError {
    /// Not TOML, or not the table's shape (unknown or missing keys); the message carries the
    /// line and column.
    #[error("routing table is not valid: {0}")]
    Syntax(String),
    #[error("version: must not be empty")]
    MissingVersion,
    #[error("routing table has no rules")]
    NoRules,
    #[error("opds.{code}: {problem}")]
    Opd { code: String, problem: String },
    #[error("rules[{index}].{field}: {problem}")]
    RuleField {
        index: usize,
        field: &'static str,
        problem: String,
    },
    #[error("rules[{index}]: {problem}")]
    Rule { index: usize, problem: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTable {
    version: String,
    #[serde(default)]
    opds: BTreeMap<String, RawOpd>,
    #[serde(default)]
    rules: Vec<RawRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOpd {
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    category: Option<String>,
    programme: Option<String>,
    region: Option<String>,
    opd: String,
    service: String,
    sla: String,
    #[serde(default)]
    alternates: Vec<RawAlternate>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAlternate {
    opd: String,
    service: String,
}

impl RoutingTable {
    /// Parses and validates a routing table. The first problem found is reported, naming
    /// the OPD or the rule (index and field) it is in.
    pub fn parse(text: &str) -> Result<Self, RoutingTableError> {
        let raw: RawTable = toml::from_str(text).map_err(|e| RoutingTableError::Syntax(e.to_string()))?;

        let version = raw.version.trim();
        if version.is_empty() {
            return Err(RoutingTableError::MissingVersion);
        }

        let mut opds = BTreeMap::new();
        for (code, opd) in raw.opds {
            let parsed = OpdCode::parse(&code).map_err(|e| RoutingTableError::Opd {
                code: code.clone(),
                problem: e.to_string(),
            })?;
            let name = opd.name.trim();
            if name.is_empty() {
                return Err(RoutingTableError::Opd {
                    code,
                    problem: "name must not be empty".to_owned(),
                });
            }
            opds.insert(parsed, name.to_owned());
        }

        if raw.rules.is_empty() {
            return Err(RoutingTableError::NoRules);
        }
        let mut rules: Vec<Rule> = Vec::with_capacity(raw.rules.len());
        for (index, raw_rule) in raw.rules.into_iter().enumerate() {
            let rule = Rule::validate(index, raw_rule, &opds)?;
            if let Some(earlier) = rules.iter().position(|r| r.same_match(&rule)) {
                return Err(RoutingTableError::Rule {
                    index,
                    problem: format!("matches exactly what rules[{earlier}] matches; keep one of them"),
                });
            }
            rules.push(rule);
        }

        Ok(Self {
            version: version.to_owned(),
            opds,
            rules,
        })
    }

    /// The table's own version, so a referral can be traced to the rules that routed it.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The name of the agency `code`, or `None` when the table does not list it.
    pub fn opd_name(&self, code: &OpdCode) -> Option<&str> {
        self.opds.get(code).map(String::as_str)
    }

    /// Every agency the table lists, in code order.
    pub fn opds(&self) -> impl Iterator<Item = (&OpdCode, &str)> {
        self.opds.iter().map(|(code, name)| (code, name.as_str()))
    }

    /// The most specific route for a need, or `None` when no rule matches: a normal outcome
    /// that supervisors must see (`ReferralUnrouted`), not a failure.
    ///
    /// `region_code` is the client's Kemendagri village code (e.g. `33.75.01.1002`); a
    /// malformed or empty one simply matches no regional rule.
    pub fn route(&self, category: NeedCategory, programme_code: Option<&str>, region_code: &str) -> Option<Route> {
        self.rule(category, programme_code, region_code)
            .map(|rule| rule.route.clone())
    }

    /// The winning rule's agency followed by its alternates: who takes the need, in order,
    /// as agencies decline it. Empty when no rule matches.
    pub fn chain(&self, category: NeedCategory, programme_code: Option<&str>, region_code: &str) -> Vec<Route> {
        self.rule(category, programme_code, region_code)
            .map(|rule| {
                std::iter::once(rule.route.clone())
                    .chain(rule.alternates.iter().cloned())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn rule(&self, category: NeedCategory, programme_code: Option<&str>, region_code: &str) -> Option<&Rule> {
        self.rules
            .iter()
            .filter(|rule| rule.matches(category, programme_code, region_code))
            .max_by_key(|rule| rule.specificity())
    }
}

impl Rule {
    fn validate(index: usize, raw: RawRule, opds: &BTreeMap<OpdCode, String>) -> Result<Self, RoutingTableError> {
        let field_error = |field: &'static str, problem: String| RoutingTableError::RuleField { index, field, problem };

        let category = raw
            .category
            .as_deref()
            .map(NeedCategory::parse)
            .transpose()
            .map_err(|e| field_error("category", e.to_string()))?;

        let programme = raw
            .programme
            .map(|code| {
                if is_programme_code(&code) {
                    Ok(code)
                } else {
                    Err(field_error(
                        "programme",
                        format!(
                            "\"{code}\" is not a programme code: use upper-case letters, \
                             digits and '-', e.g. PBI-JK"
                        ),
                    ))
                }
            })
            .transpose()?;

        if category.is_none() && programme.is_none() {
            return Err(RoutingTableError::Rule {
                index,
                problem: "needs a category, a programme, or both".to_owned(),
            });
        }

        let region = raw
            .region
            .map(|prefix| {
                RegionPrefix::parse(&prefix).ok_or_else(|| {
                    field_error(
                        "region",
                        format!(
                            "\"{prefix}\" is not a Kemendagri region prefix such as \"33\", \
                             \"33.75\", \"33.75.01\" or \"33.75.01.1002\""
                        ),
                    )
                })
            })
            .transpose()?;

        let opd_code = OpdCode::parse(&raw.opd).map_err(|e| field_error("opd", e.to_string()))?;
        let Some(opd_name) = opds.get(&opd_code) else {
            return Err(field_error("opd", format!("\"{opd_code}\" is not listed under [opds]")));
        };

        let service = raw.service.trim();
        if service.is_empty() {
            return Err(field_error("service", "must not be empty".to_owned()));
        }
        let sla_tier = SlaTier::parse(raw.sla.trim()).map_err(|e| field_error("sla", e.to_string()))?;

        let mut alternates: Vec<Route> = Vec::with_capacity(raw.alternates.len());
        for (position, alternate) in raw.alternates.into_iter().enumerate() {
            let problem = |problem: String| RoutingTableError::Rule {
                index,
                problem: format!("alternates[{position}]: {problem}"),
            };
            let code = OpdCode::parse(&alternate.opd).map_err(|e| problem(format!("opd: {e}")))?;
            let Some(name) = opds.get(&code) else {
                return Err(problem(format!("opd: \"{code}\" is not listed under [opds]")));
            };
            if code == opd_code || alternates.iter().any(|route| route.opd_code == code) {
                return Err(problem(format!("opd: {code} is already in this rule's chain")));
            }
            let alternate_service = alternate.service.trim();
            if alternate_service.is_empty() {
                return Err(problem("service: must not be empty".to_owned()));
            }
            alternates.push(Route {
                opd_code: code,
                opd_name: name.clone(),
                service: alternate_service.to_owned(),
                sla_tier,
            });
        }

        Ok(Self {
            category,
            programme,
            region,
            route: Route {
                opd_code,
                opd_name: opd_name.clone(),
                service: service.to_owned(),
                sla_tier,
            },
            alternates,
        })
    }

    fn matches(&self, category: NeedCategory, programme_code: Option<&str>, region_code: &str) -> bool {
        self.category.is_none_or(|c| c == category)
            && self.programme.as_deref().is_none_or(|p| programme_code == Some(p))
            && self.region.as_ref().is_none_or(|r| r.contains(region_code))
    }

    /// Ordered so that a larger key is more specific; the field order is the precedence.
    fn specificity(&self) -> (bool, usize, bool) {
        (
            self.programme.is_some(),
            self.region.as_ref().map_or(0, RegionPrefix::depth),
            self.category.is_some(),
        )
    }

    fn same_match(&self, other: &Self) -> bool {
        self.category == other.category && self.programme == other.programme && self.region == other.region
    }
}

fn is_programme_code(code: &str) -> bool {
    !code.is_empty()
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
}

/// A Kemendagri region code or a leading part of one: `PP`, `PP.KK`, `PP.KK.CC` or
/// `PP.KK.CC.DDDD`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RegionPrefix(String);

impl RegionPrefix {
    const SEGMENT_WIDTHS: [usize; 4] = [2, 2, 2, 4];

    fn parse(prefix: &str) -> Option<Self> {
        let segments: Vec<&str> = prefix.split('.').collect();
        let well_formed = segments.len() <= Self::SEGMENT_WIDTHS.len()
            && segments
                .iter()
                .zip(Self::SEGMENT_WIDTHS)
                .all(|(segment, width)| segment.len() == width && segment.bytes().all(|b| b.is_ascii_digit()));
        well_formed.then(|| Self(prefix.to_owned()))
    }

    fn depth(&self) -> usize {
        self.0.split('.').count()
    }

    /// Matches whole segments only, so that `33.7` could never claim `33.75`.
    fn contains(&self, region_code: &str) -> bool {
        region_code
            .strip_prefix(self.0.as_str())
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
    }
}

#[cfg(test)]
mod tests;
