//! The whole ledger against the rules: which current enrolments break the overlap matrix,
//! the one-recipient-per-KK rule, the one-enrolment-per-programme rule, the death record or
//! the desil cut-off. Decisions refuse such grants at the desk; this finds what got in by
//! other doors (an agency's report of an enrolment granted elsewhere, a registry file, a
//! death or a desil change recorded after the grant), so that the back office can strike it
//! off or hold it.
//!
//! Pure: the app layer reads every current enrolment and the registry facts they refer to.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Months, NaiveDate};

use super::catalogue::{Catalogue, ProgrammeCode};
use super::decision::Reason;
use super::ledger::{Beneficiary, EnrolmentStatus};
use super::registry::{Desil, HouseholdId, PersonId};

/// One current (active or held) enrolment, as the reports see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holding {
    /// The ledger's enrolment id, as text.
    pub enrolment_id: String,
    pub programme: ProgrammeCode,
    pub beneficiary: Beneficiary,
    pub status: EnrolmentStatus,
    /// registry, decision, external or graduation.
    pub source: String,
    pub started_on: NaiveDate,
}

/// What the registry says about one person, for the rules that read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonRecord {
    pub person_id: PersonId,
    pub household_id: HouseholdId,
    pub kk_number: String,
    pub deceased: bool,
    pub desil: Desil,
}

/// One breach found in the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Stable rule id: `overlap.<a>.<b>`, `<code>.one_per_kk`, `<code>.duplicate`,
    /// `<code>.deceased`, `<code>.desil`.
    pub rule: String,
    /// The household concerned, when the registry knows the beneficiaries.
    pub household_id: Option<HouseholdId>,
    /// The enrolments involved, in ledger order.
    pub enrolments: Vec<Holding>,
    pub why: String,
}

/// The registry facts the rules read, by person and by household.
pub struct Registry<'a> {
    people: BTreeMap<&'a PersonId, &'a PersonRecord>,
    households: BTreeMap<&'a HouseholdId, Vec<&'a PersonRecord>>,
}

impl<'a> Registry<'a> {
    pub fn new(people: &'a [PersonRecord]) -> Self {
        let mut households: BTreeMap<&HouseholdId, Vec<&PersonRecord>> = BTreeMap::new();
        for person in people {
            households.entry(&person.household_id).or_default().push(person);
        }
        Self {
            people: people.iter().map(|p| (&p.person_id, p)).collect(),
            households,
        }
    }

    /// The household a beneficiary belongs to: itself, or the person's.
    fn household_of(&self, beneficiary: &Beneficiary) -> Option<HouseholdId> {
        match beneficiary {
            Beneficiary::Household(id) => self.households.contains_key(id).then(|| id.clone()),
            Beneficiary::Person(id) => self.people.get(id).map(|p| p.household_id.clone()),
        }
    }

    /// The family card a beneficiary is filed under (a household's: its head's, or any
    /// member's, as the card is a household column).
    fn kk_of(&self, beneficiary: &Beneficiary) -> Option<&'a str> {
        match beneficiary {
            Beneficiary::Household(id) => self
                .households
                .get(id)
                .and_then(|members| members.first())
                .map(|p| p.kk_number.as_str()),
            Beneficiary::Person(id) => self.people.get(id).map(|p| p.kk_number.as_str()),
        }
    }

    fn desil_of(&self, beneficiary: &Beneficiary) -> Option<Desil> {
        match beneficiary {
            Beneficiary::Household(id) => self
                .households
                .get(id)
                .and_then(|members| members.first())
                .map(|p| p.desil),
            Beneficiary::Person(id) => self.people.get(id).map(|p| p.desil),
        }
    }

    /// Whether the beneficiary is dead: a deceased person, or a household whose members the
    /// registry all records as deceased.
    fn dead(&self, beneficiary: &Beneficiary) -> bool {
        match beneficiary {
            Beneficiary::Household(id) => self
                .households
                .get(id)
                .is_some_and(|members| members.iter().all(|p| p.deceased)),
            Beneficiary::Person(id) => self.people.get(id).is_some_and(|p| p.deceased),
        }
    }
}

/// Whether two enrolments bear on the same family for the overlap matrix: the same
/// beneficiary, or a household and one of its members. Two members' personal programmes
/// (one's health insurance, another's meals) are each their own.
fn related(registry: &Registry<'_>, a: &Beneficiary, b: &Beneficiary) -> bool {
    match (a, b) {
        _ if a == b => true,
        (Beneficiary::Household(household), Beneficiary::Person(person))
        | (Beneficiary::Person(person), Beneficiary::Household(household)) => registry
            .people
            .get(person)
            .is_some_and(|p| &p.household_id == household),
        _ => false,
    }
}

/// The overlap rules `new` breaks against `others` (each rule once), as reasons: what an
/// agency's report is told, and what the violations report lists.
pub fn overlaps_with(catalogue: &Catalogue, registry: &Registry<'_>, new: &Holding, others: &[Holding]) -> Vec<Reason> {
    let mut reasons: Vec<Reason> = Vec::new();
    for other in others {
        if other.enrolment_id == new.enrolment_id || !related(registry, &new.beneficiary, &other.beneficiary) {
            continue;
        }
        if let Some(exclusion) = catalogue.exclusion_between(&new.programme, &other.programme) {
            let rule = exclusion.rule_id();
            if !reasons.iter().any(|r| r.rule == rule) {
                reasons.push(Reason {
                    rule,
                    message: format!(
                        "{} ({} {}) may not be combined with {} ({} {}), which is current ({}).",
                        new.programme,
                        new.beneficiary.kind().as_str(),
                        new.beneficiary.id(),
                        other.programme,
                        other.beneficiary.kind().as_str(),
                        other.beneficiary.id(),
                        other.source
                    ),
                });
            }
        }
    }
    reasons
}

/// Every current breach in `holdings` (current enrolments only), under `catalogue`.
/// An empty answer is what a healthy ledger gives.
pub fn violations(catalogue: &Catalogue, people: &[PersonRecord], holdings: &[Holding]) -> Vec<Violation> {
    let registry = Registry::new(people);
    let current: Vec<&Holding> = holdings.iter().filter(|h| h.status.is_current()).collect();
    let mut found = Vec::new();

    // Overlaps and duplicates, household by household (unknown beneficiaries on their own).
    let mut by_family: BTreeMap<String, Vec<&Holding>> = BTreeMap::new();
    for holding in &current {
        let key = registry
            .household_of(&holding.beneficiary)
            .map(|h| format!("h:{h}"))
            .unwrap_or_else(|| format!("b:{}", holding.beneficiary.id()));
        by_family.entry(key).or_default().push(holding);
    }
    for family in by_family.values() {
        let household_id = family.first().and_then(|h| registry.household_of(&h.beneficiary));
        for (i, a) in family.iter().enumerate() {
            for b in &family[i + 1..] {
                if !related(&registry, &a.beneficiary, &b.beneficiary) {
                    continue;
                }
                if a.programme == b.programme && a.beneficiary == b.beneficiary {
                    found.push(Violation {
                        rule: format!("{}.duplicate", a.programme),
                        household_id: household_id.clone(),
                        enrolments: vec![(*a).clone(), (*b).clone()],
                        why: format!(
                            "{} {} holds {} twice ({} and {}); a beneficiary holds a programme once.",
                            a.beneficiary.kind().as_str(),
                            a.beneficiary.id(),
                            a.programme,
                            a.source,
                            b.source
                        ),
                    });
                    continue;
                }
                if let Some(exclusion) = catalogue.exclusion_between(&a.programme, &b.programme) {
                    found.push(Violation {
                        rule: exclusion.rule_id(),
                        household_id: household_id.clone(),
                        enrolments: vec![(*a).clone(), (*b).clone()],
                        why: format!(
                            "{} ({} {}, {}) and {} ({} {}, {}) may not be held together by one family.",
                            a.programme,
                            a.beneficiary.kind().as_str(),
                            a.beneficiary.id(),
                            a.source,
                            b.programme,
                            b.beneficiary.kind().as_str(),
                            b.beneficiary.id(),
                            b.source
                        ),
                    });
                }
            }
        }
    }

    // One recipient per family card.
    let mut by_card: BTreeMap<(&ProgrammeCode, &str), Vec<&Holding>> = BTreeMap::new();
    for holding in &current {
        let one_per_kk = catalogue
            .programme(&holding.programme)
            .is_some_and(|p| p.limits().one_recipient_per_kk);
        if let (true, Some(kk)) = (one_per_kk, registry.kk_of(&holding.beneficiary)) {
            by_card.entry((&holding.programme, kk)).or_default().push(holding);
        }
    }
    for ((programme, _), holders) in by_card {
        let distinct: BTreeSet<&Beneficiary> = holders.iter().map(|h| &h.beneficiary).collect();
        if distinct.len() > 1 {
            found.push(Violation {
                rule: format!("{programme}.one_per_kk"),
                household_id: registry.household_of(&holders[0].beneficiary),
                enrolments: holders.iter().map(|h| (*h).clone()).collect(),
                why: format!(
                    "{programme} has one recipient per family card, and {} holders share one card: {}.",
                    distinct.len(),
                    distinct.iter().map(|b| b.id()).collect::<Vec<_>>().join(", ")
                ),
            });
        }
    }

    for holding in &current {
        let household_id = registry.household_of(&holding.beneficiary);
        // Held enrolments are already stopped pending verification: not a breach.
        if holding.status == EnrolmentStatus::Active && registry.dead(&holding.beneficiary) {
            found.push(Violation {
                rule: format!("{}.deceased", holding.programme),
                household_id: household_id.clone(),
                enrolments: vec![(*holding).clone()],
                why: format!(
                    "The registry records {} {} as deceased, and its {} enrolment is active.",
                    holding.beneficiary.kind().as_str(),
                    holding.beneficiary.id(),
                    holding.programme
                ),
            });
        }
        let cut_off = catalogue.programme(&holding.programme).and_then(|p| p.max_desil());
        if let (EnrolmentStatus::Active, Some(max), Some(desil)) =
            (holding.status, cut_off, registry.desil_of(&holding.beneficiary))
            && desil > max
        {
            found.push(Violation {
                rule: format!("{}.desil", holding.programme),
                household_id,
                enrolments: vec![(*holding).clone()],
                why: format!(
                    "{} is for desil 1 to {max}; {} {} is in desil {desil} and its enrolment is not held.",
                    holding.programme,
                    holding.beneficiary.kind().as_str(),
                    holding.beneficiary.id()
                ),
            });
        }
    }

    found.sort_by(|a, b| (&a.household_id, &a.rule).cmp(&(&b.household_id, &b.rule)));
    found
}

/// One programme's current enrolments by time on benefit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeOnBenefit {
    pub programme: ProgrammeCode,
    /// Index = whole years on benefit (0 = less than a year), value = enrolments.
    pub by_years: Vec<u64>,
    pub current: u64,
    /// The catalogue's review period and the enrolments past their review date (no
    /// recertification is recorded in the ledger, so the first review date counts).
    pub review_every_months: Option<u32>,
    pub past_review: u64,
    pub max_duration_months: Option<u32>,
    pub past_max_duration: u64,
}

/// Current enrolments per programme by whole years on benefit on `today`, with those past
/// their review date and past their maximum duration under `catalogue`.
pub fn years_on_benefit(catalogue: &Catalogue, holdings: &[Holding], today: NaiveDate) -> Vec<TimeOnBenefit> {
    let mut by_programme: BTreeMap<&ProgrammeCode, TimeOnBenefit> = BTreeMap::new();
    for holding in holdings.iter().filter(|h| h.status.is_current()) {
        let limits = catalogue
            .programme(&holding.programme)
            .map(|p| p.limits())
            .unwrap_or_default();
        let row = by_programme.entry(&holding.programme).or_insert_with(|| TimeOnBenefit {
            programme: holding.programme.clone(),
            by_years: Vec::new(),
            current: 0,
            review_every_months: limits.review_every_months,
            past_review: 0,
            max_duration_months: limits.max_duration_months,
            past_max_duration: 0,
        });
        let years = today.years_since(holding.started_on).unwrap_or(0) as usize;
        if row.by_years.len() <= years {
            row.by_years.resize(years + 1, 0);
        }
        row.by_years[years] += 1;
        row.current += 1;
        let passed = |months: Option<u32>| {
            months
                .and_then(|m| holding.started_on.checked_add_months(Months::new(m)))
                .is_some_and(|due| due <= today)
        };
        row.past_review += u64::from(passed(limits.review_every_months));
        row.past_max_duration += u64::from(passed(limits.max_duration_months));
    }
    by_programme.into_values().collect()
}

#[cfg(test)]
mod tests;
