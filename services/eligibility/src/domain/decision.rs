//! Deciding a case: each need against the catalogue, the registry facts and the ledger.
//!
//! [`decide_case`] never fails: "no" is an outcome with reasons, not an error. It is a pure
//! function of its arguments, so replaying a case with the same catalogue version, facts and
//! ledger gives the same decision.

use std::fmt;

use chrono::NaiveDate;

use super::catalogue::{
    BeneficiaryKind, Cadence, CashTerms, Catalogue, Component, NeedCategory, Programme, ProgrammeBenefit, ProgrammeCode,
};
use super::ledger::{Beneficiary, LedgerEntry, LedgerView};
use super::registry::{Applicant, HouseholdId, PersonId, RegistryFacts};

/// Id of a need within its case, as intake assigned it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NeedId(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a need id must not be empty")]
pub struct NeedIdError;

impl NeedId {
    pub fn parse(value: &str) -> Result<Self, NeedIdError> {
        let value = value.trim();
        if value.is_empty() {
            Err(NeedIdError)
        } else {
            Ok(Self(value.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for NeedId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One thing the applicant asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    pub id: NeedId,
    pub category: NeedCategory,
}

/// One rule that fired, for or against, in words a supervisor can read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    /// Stable id, e.g. `PKH.desil`, `overlap.BLT-DD.PKH`, `exclusion.deceased`.
    pub rule: String,
    pub message: String,
}

impl Reason {
    fn new(rule: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            rule: rule.into(),
            message: message.into(),
        }
    }
}

/// What a granted programme gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Benefit {
    Cash {
        amount_per_period_idr: i64,
        cadence: Cadence,
        /// The payment component, `base` for single-amount programmes.
        component: String,
    },
    InKind,
    Service,
}

impl Benefit {
    pub fn is_cash(&self) -> bool {
        matches!(self, Benefit::Cash { .. })
    }

    /// Zero for in-kind and service programmes, as the event contract has it.
    pub fn amount_per_period_idr(&self) -> i64 {
        match self {
            Benefit::Cash {
                amount_per_period_idr, ..
            } => *amount_per_period_idr,
            Benefit::InKind | Benefit::Service => 0,
        }
    }

    pub fn cadence(&self) -> Option<Cadence> {
        match self {
            Benefit::Cash { cadence, .. } => Some(*cadence),
            Benefit::InKind | Benefit::Service => None,
        }
    }

    pub fn component(&self) -> Option<&str> {
        match self {
            Benefit::Cash { component, .. } => Some(component),
            Benefit::InKind | Benefit::Service => None,
        }
    }
}

/// A need granted under a programme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub programme: ProgrammeCode,
    pub programme_name: String,
    /// The agency that delivers it, e.g. `DINSOS`.
    pub opd: String,
    pub benefit: Benefit,
    /// The household for household programmes, else the person. `None` only for a service
    /// granted to an applicant the registry does not know: such an applicant has no id yet.
    pub beneficiary: Option<Beneficiary>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Approved(Grant),
    Rejected,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeedDecision {
    pub need_id: NeedId,
    pub category: NeedCategory,
    pub outcome: Outcome,
    /// Every rule that fired while deciding this need, in the order the programmes were
    /// tried, approving or rejecting.
    pub reasons: Vec<Reason>,
}

impl NeedDecision {
    pub fn grant(&self) -> Option<&Grant> {
        match &self.outcome {
            Outcome::Approved(grant) => Some(grant),
            Outcome::Rejected => None,
        }
    }
}

/// A programme granted in this case that the ledger does not hold yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrolmentToStart {
    pub need_id: NeedId,
    pub programme: ProgrammeCode,
    pub beneficiary: Beneficiary,
    pub started_on: NaiveDate,
}

/// The applicant's household and family card as the registry and the ledger show them,
/// beyond the applicant's own row: what household-wide and per-family-card rules read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Household {
    /// Every member the registry lists in the applicant's household, the applicant included.
    pub members: Vec<Member>,
    /// Current enrolments of other people in the household or on the same family card (KK
    /// number), and of other households the registry files under that KK number.
    pub others_enrolments: Vec<LedgerEntry>,
}

/// One member of the applicant's household.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub person_id: PersonId,
    pub birth_date: NaiveDate,
    pub deceased: bool,
}

/// What a decision was taken on, recorded with it so that a supervisor can read why and an
/// appeal can be judged on the same facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionInputs {
    /// The day the rules were applied on.
    pub decided_on: NaiveDate,
    pub catalogue_version: String,
    pub catalogue_effective_from: NaiveDate,
    /// Absent when the applicant is not in the registry.
    pub desil: Option<u8>,
    pub age: Option<u32>,
    pub deceased: bool,
    /// Household composition on the decision date.
    pub household_members: u32,
    pub living_members: u32,
    pub children_under_18: u32,
    pub elderly_70_plus: u32,
    /// The enrolments the rules saw: the applicant's, their household's, and the others'
    /// that household and family-card rules read.
    pub enrolments_considered: Vec<LedgerEntry>,
}

impl DecisionInputs {
    fn of(
        catalogue: &Catalogue,
        applicant: Option<&RegistryFacts>,
        household: &Household,
        ledger: &LedgerView,
        today: NaiveDate,
    ) -> Self {
        let living: Vec<&Member> = household.members.iter().filter(|m| !m.deceased).collect();
        let aged = |test: fn(u32) -> bool| {
            living
                .iter()
                .filter(|m| today.years_since(m.birth_date).is_some_and(test))
                .count() as u32
        };
        Self {
            decided_on: today,
            catalogue_version: catalogue.version().to_owned(),
            catalogue_effective_from: catalogue.effective_from(),
            desil: applicant.map(|f| f.desil.get()),
            age: applicant.and_then(|f| f.age_on(today)),
            deceased: applicant.is_some_and(|f| f.deceased),
            household_members: household.members.len() as u32,
            living_members: living.len() as u32,
            children_under_18: aged(|age| age < 18),
            elderly_70_plus: aged(|age| age >= 70),
            enrolments_considered: ledger
                .current()
                .chain(household.others_enrolments.iter().filter(|e| e.status.is_current()))
                .cloned()
                .collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseDecision {
    pub catalogue_version: String,
    /// The facts the rules were applied to.
    pub inputs: DecisionInputs,
    /// `None` when the applicant is not in the registry.
    pub person_id: Option<PersonId>,
    pub household_id: Option<HouseholdId>,
    /// The applicant's name as the registry records it.
    pub beneficiary_name: Option<String>,
    /// One per need, in the order the needs were given.
    pub decisions: Vec<NeedDecision>,
    pub enrolments_to_start: Vec<EnrolmentToStart>,
}

/// Decides every need of a case.
///
/// Needs are decided in order, and each sees what the earlier ones were granted: a second
/// need cannot be met by a programme that may not be combined with one granted for the
/// first. For each need the programmes that meet its category are tried in the catalogue's
/// order of preference; the first the applicant qualifies for is granted. The reasons list
/// every rule that fired on the way, so a refusal says why each programme was refused.
///
/// The caller picks the catalogue in force on `today` and gives the ledger entries of the
/// applicant and their household ([`LedgerView::for_applicant`]).
pub fn decide_case(
    catalogue: &Catalogue,
    applicant: &Applicant,
    needs: &[Need],
    ledger: &LedgerView,
    today: NaiveDate,
) -> CaseDecision {
    decide_case_in_household(catalogue, applicant, &Household::default(), needs, ledger, today)
}

/// [`decide_case`], with the household and family card around the applicant: their other
/// members' enrolments count against household programmes, and a one-recipient-per-KK
/// programme is refused while another holder of the card receives it.
pub fn decide_case_in_household(
    catalogue: &Catalogue,
    applicant: &Applicant,
    household: &Household,
    needs: &[Need],
    ledger: &LedgerView,
    today: NaiveDate,
) -> CaseDecision {
    let facts = applicant.facts();
    let mut granted: Vec<Granted<'_>> = Vec::new();
    let mut decisions = Vec::with_capacity(needs.len());

    for need in needs {
        let mut reasons = Vec::new();
        let mut outcome = Outcome::Rejected;

        if let Some(facts) = facts.filter(|f| f.deceased) {
            reasons.push(Reason::new(
                "exclusion.deceased",
                format!(
                    "The registry records {} as deceased, so no programme can be granted. If \
                     that is wrong, the death record must be corrected first.",
                    facts.person_id
                ),
            ));
        } else {
            let mut candidates = catalogue.programmes_for(need.category).peekable();
            if candidates.peek().is_none() {
                reasons.push(Reason::new(
                    "need.unserved",
                    format!(
                        "No programme in catalogue {} meets the need {}.",
                        catalogue.version(),
                        need.category
                    ),
                ));
            }
            for programme in candidates {
                let check = Check {
                    catalogue,
                    programme,
                    applicant: facts,
                    household,
                    ledger,
                    granted: &granted,
                    today,
                };
                let assessment = check.assess();
                reasons.extend(assessment.reasons);
                if assessment.eligible {
                    let grant = check.grant();
                    granted.push(Granted {
                        need_id: &need.id,
                        programme,
                        beneficiary: grant.beneficiary.clone(),
                    });
                    outcome = Outcome::Approved(grant);
                    break;
                }
            }
        }

        decisions.push(NeedDecision {
            need_id: need.id.clone(),
            category: need.category,
            outcome,
            reasons,
        });
    }

    // A granted programme is never one the beneficiary already holds (that is refused as
    // already enrolled), so every grant that keeps an enrolment starts one.
    let enrolments_to_start = granted
        .iter()
        .filter(|g| g.programme.keeps_enrolment())
        .filter_map(|g| {
            Some(EnrolmentToStart {
                need_id: g.need_id.clone(),
                programme: g.programme.code().clone(),
                beneficiary: g.beneficiary.clone()?,
                started_on: today,
            })
        })
        .collect();

    CaseDecision {
        catalogue_version: catalogue.version().to_owned(),
        inputs: DecisionInputs::of(catalogue, facts, household, ledger, today),
        person_id: facts.map(|f| f.person_id.clone()),
        household_id: facts.map(|f| f.household_id.clone()),
        beneficiary_name: facts.map(|f| f.full_name.clone()),
        decisions,
        enrolments_to_start,
    }
}

/// A programme closed to an applicant by the overlap matrix: an enrolment they, their
/// household or (for a household programme) a fellow member hold excludes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosedProgramme {
    pub programme: ProgrammeCode,
    /// The overlap rule, `overlap.<a>.<b>`, as a decision would cite it.
    pub rule: String,
    /// The current (active or held) enrolment that closes it.
    pub closed_by: LedgerEntry,
    /// In words, as a decision refusing the programme would say it.
    pub message: String,
}

/// The programmes of `catalogue` an applicant could not be granted today because of what
/// they or their household already receive: the overlap rules a decision applies
/// ([`decide_case_in_household`]), run for every programme with nothing asked for. In
/// catalogue order, one entry per programme and rule. Only the overlap matrix: desil, age,
/// death and the other rules are for the decision.
pub fn closed_programmes(
    catalogue: &Catalogue,
    applicant: &Applicant,
    household: &Household,
    ledger: &LedgerView,
    today: NaiveDate,
) -> Vec<ClosedProgramme> {
    let mut closed = Vec::new();
    for programme in catalogue.programmes() {
        let check = Check {
            catalogue,
            programme,
            applicant: applicant.facts(),
            household,
            ledger,
            granted: &[],
            today,
        };
        let reasons = check.overlaps();
        for ((rule, entry), reason) in check.closing_enrolments().into_iter().zip(reasons) {
            closed.push(ClosedProgramme {
                programme: programme.code().clone(),
                rule,
                closed_by: entry.clone(),
                message: reason.message,
            });
        }
    }
    closed
}

/// A programme granted earlier in the same case.
struct Granted<'a> {
    need_id: &'a NeedId,
    programme: &'a Programme,
    beneficiary: Option<Beneficiary>,
}

struct Assessment {
    eligible: bool,
    reasons: Vec<Reason>,
}

/// One programme against one applicant.
struct Check<'a> {
    catalogue: &'a Catalogue,
    programme: &'a Programme,
    applicant: Option<&'a RegistryFacts>,
    household: &'a Household,
    ledger: &'a LedgerView,
    granted: &'a [Granted<'a>],
    today: NaiveDate,
}

impl Check<'_> {
    /// Runs every rule that applies and records each, passed or failed, so that a refused
    /// programme lists all its reasons and not only the first.
    fn assess(&self) -> Assessment {
        let mut eligible = true;
        let mut reasons = Vec::new();
        let mut fired = |passed: bool, reason: Reason| {
            eligible &= passed;
            reasons.push(reason);
        };
        let code = self.programme.code();

        match self.applicant {
            None if self.programme.requires_registry() => fired(
                false,
                Reason::new(
                    "registry.unknown_person",
                    format!(
                        "{code} is only for people in the social registry (DTSEN), and the \
                         applicant is not in it."
                    ),
                ),
            ),
            None => fired(
                true,
                Reason::new(
                    "registry.not_required",
                    format!("{code} does not require registry membership."),
                ),
            ),
            Some(_) => {}
        }

        if let (Some(max), Some(facts)) = (self.programme.max_desil(), self.applicant) {
            let rule = format!("{code}.desil");
            if facts.desil <= max {
                fired(
                    true,
                    Reason::new(
                        rule,
                        format!(
                            "The household is in desil {}, within {code}'s cut-off of desil {max}.",
                            facts.desil
                        ),
                    ),
                );
            } else {
                fired(
                    false,
                    Reason::new(
                        rule,
                        format!(
                            "{code} is for households in desil 1 to {max}; this household is in \
                             desil {}.",
                            facts.desil
                        ),
                    ),
                );
            }
        }

        if let Some(ages) = self.programme.ages() {
            let rule = format!("{code}.age");
            match self.age() {
                Some(age) if ages.contains(age) => fired(
                    true,
                    Reason::new(rule, format!("The applicant is {age}; {code} is for people {ages}.")),
                ),
                Some(age) => fired(
                    false,
                    Reason::new(rule, format!("{code} is for people {ages}; the applicant is {age}.")),
                ),
                None => fired(
                    false,
                    Reason::new(
                        rule,
                        format!(
                            "{code} is for people {ages}, and the registry gives no usable birth \
                             date for the applicant."
                        ),
                    ),
                ),
            }
        }

        if let (Some(terms), Some(_)) = (self.targets_members(), self.applicant) {
            let rule = format!("{code}.component");
            match self.member_component(terms) {
                Some((component, member, age)) => fired(
                    true,
                    Reason::new(
                        rule,
                        format!(
                            "{code} pays the {} component: household member {member}, aged {age}, is the \
                             youngest member in one of {code}'s age bands.",
                            component.id
                        ),
                    ),
                ),
                None => fired(false, Reason::new(rule, no_member_in_a_component(code, terms))),
            }
        }

        for reason in self
            .held_already()
            .into_iter()
            .chain(self.overlaps())
            .chain(self.family_card_taken())
        {
            fired(false, reason);
        }
        // A programme with no targeting rule (a service such as ADMINDUK) still says why it
        // was granted: no decision is recorded without its reasons.
        if reasons.is_empty() {
            reasons.push(Reason::new(
                format!("{code}.open"),
                format!("{code} has no targeting rule: it is open to every resident who asks."),
            ));
        }

        Assessment { eligible, reasons }
    }

    /// The programme itself, already held by the same beneficiary, received before when it
    /// is paid once, or granted earlier in this case.
    fn held_already(&self) -> Vec<Reason> {
        let code = self.programme.code();
        let mut reasons = Vec::new();
        if !self.programme.keeps_enrolment() {
            return reasons;
        }
        if let Some(beneficiary) = self.beneficiary() {
            let same = |e: &LedgerEntry| &e.programme == code && e.beneficiary == beneficiary;
            let who = self.describe(&beneficiary);
            if self.ledger.current().any(same) {
                reasons.push(Reason::new(
                    format!("{code}.already_enrolled"),
                    format!("{} is already enrolled in {code}.", capitalise(&who)),
                ));
            } else if self.pays_once() && self.ledger.entries().iter().any(same) {
                reasons.push(Reason::new(
                    format!("{code}.once"),
                    format!("{code} is paid only once, and {who} has received it before."),
                ));
            }
        }
        if let Some(earlier) = self.granted.iter().find(|g| g.programme.code() == code) {
            reasons.push(Reason::new(
                format!("{code}.already_granted"),
                format!("{code} was already granted in this case, for need {}.", earlier.need_id),
            ));
        }
        reasons
    }

    /// Programmes held, or granted earlier in this case, that may not be combined with this
    /// one. The view holds the person's and the household's enrolments, so a household
    /// programme blocks a member's personal one and the other way round.
    fn overlaps(&self) -> Vec<Reason> {
        let code = self.programme.code();
        let mut reasons: Vec<Reason> = self
            .closing_enrolments()
            .into_iter()
            .map(|(rule, entry)| {
                Reason::new(
                    rule,
                    format!(
                        "{code} cannot be combined with {}, which {} already receives.",
                        entry.programme,
                        self.describe(&entry.beneficiary)
                    ),
                )
            })
            .collect();
        for earlier in self.granted {
            if let Some(exclusion) = self.catalogue.exclusion_between(code, earlier.programme.code()) {
                let rule = exclusion.rule_id();
                if !reasons.iter().any(|r| r.rule == rule) {
                    reasons.push(Reason::new(
                        rule,
                        format!(
                            "{code} cannot be combined with {}, which was granted earlier in this case, for need {}.",
                            earlier.programme.code(),
                            earlier.need_id
                        ),
                    ));
                }
            }
        }
        reasons
    }

    /// The current enrolments that close this programme under the catalogue's overlap
    /// rules, one per rule (the first found): the applicant's and their household's, and,
    /// for a household programme, every member's personal ones too.
    fn closing_enrolments(&self) -> Vec<(String, &LedgerEntry)> {
        let code = self.programme.code();
        let members = (self.programme.beneficiary() == BeneficiaryKind::Household)
            .then(|| self.other_members_enrolments())
            .into_iter()
            .flatten();
        let mut found: Vec<(String, &LedgerEntry)> = Vec::new();
        for entry in self.ledger.current().chain(members) {
            if let Some(exclusion) = self.catalogue.exclusion_between(code, &entry.programme) {
                let rule = exclusion.rule_id();
                if !found.iter().any(|(seen, _)| *seen == rule) {
                    found.push((rule, entry));
                }
            }
        }
        found
    }

    /// Current personal enrolments of the applicant's fellow household members.
    fn other_members_enrolments(&self) -> impl Iterator<Item = &LedgerEntry> {
        self.household.others_enrolments.iter().filter(|entry| {
            entry.status.is_current()
                && matches!(&entry.beneficiary, Beneficiary::Person(id)
                    if self.household.members.iter().any(|m| &m.person_id == id))
        })
    }

    /// For a one-recipient-per-KK programme: someone else on the family card receives it.
    fn family_card_taken(&self) -> Vec<Reason> {
        let code = self.programme.code();
        if !self.programme.limits().one_recipient_per_kk {
            return Vec::new();
        }
        let mine = self.beneficiary();
        self.household
            .others_enrolments
            .iter()
            .filter(|e| e.status.is_current() && &e.programme == code && Some(&e.beneficiary) != mine.as_ref())
            .take(1)
            .map(|e| {
                Reason::new(
                    format!("{code}.one_per_kk"),
                    format!(
                        "{code} has one recipient per family card (KK), and {} on the same card already receives it.",
                        self.describe(&e.beneficiary)
                    ),
                )
            })
            .collect()
    }

    /// The cash terms of a programme targeted by household composition: a household
    /// programme whose components are chosen by age (PKH). Its component comes from the
    /// household's members, not from the applicant's own age.
    fn targets_members(&self) -> Option<&CashTerms> {
        match self.programme.benefit() {
            ProgrammeBenefit::Cash(terms)
                if self.programme.beneficiary() == BeneficiaryKind::Household && terms.has_age_bands() =>
            {
                Some(terms)
            }
            _ => None,
        }
    }

    /// The component of the youngest living member whose age falls in one of the
    /// programme's age bands (ties go to the lower person id), with that member and their
    /// age on the decision day. Without the household's composition, the applicant alone
    /// is the household.
    fn member_component<'t>(&self, terms: &'t CashTerms) -> Option<(&'t Component, PersonId, u32)> {
        let members: Vec<(PersonId, u32)> = if self.household.members.is_empty() {
            self.applicant
                .and_then(|f| Some((f.person_id.clone(), f.age_on(self.today)?)))
                .into_iter()
                .collect()
        } else {
            self.household
                .members
                .iter()
                .filter(|m| !m.deceased)
                .filter_map(|m| Some((m.person_id.clone(), self.today.years_since(m.birth_date)?)))
                .collect()
        };
        members
            .into_iter()
            .filter_map(|(id, age)| Some((terms.component_at_age(age)?, id, age)))
            .min_by(|(_, a_id, a_age), (_, b_id, b_age)| a_age.cmp(b_age).then_with(|| a_id.cmp(b_id)))
    }

    fn grant(&self) -> Grant {
        let programme = self.programme;
        let benefit = match programme.benefit() {
            ProgrammeBenefit::Cash(terms) => {
                let component = match self.targets_members() {
                    Some(terms) => self
                        .member_component(terms)
                        .map(|(component, _, _)| component)
                        .unwrap_or_else(|| terms.component_for(self.age())),
                    None => terms.component_for(self.age()),
                };
                Benefit::Cash {
                    amount_per_period_idr: component.amount_per_period_idr,
                    cadence: terms.cadence(),
                    component: component.id.clone(),
                }
            }
            ProgrammeBenefit::InKind => Benefit::InKind,
            ProgrammeBenefit::Service => Benefit::Service,
        };
        Grant {
            programme: programme.code().clone(),
            programme_name: programme.name().to_owned(),
            opd: programme.opd().to_owned(),
            benefit,
            beneficiary: self.beneficiary(),
        }
    }

    fn beneficiary(&self) -> Option<Beneficiary> {
        let facts = self.applicant?;
        Some(match self.programme.beneficiary() {
            BeneficiaryKind::Household => Beneficiary::Household(facts.household_id.clone()),
            BeneficiaryKind::Person => Beneficiary::Person(facts.person_id.clone()),
        })
    }

    fn age(&self) -> Option<u32> {
        self.applicant.and_then(|f| f.age_on(self.today))
    }

    fn pays_once(&self) -> bool {
        matches!(
            self.programme.benefit(),
            ProgrammeBenefit::Cash(terms) if terms.cadence() == Cadence::Once
        )
    }

    fn describe(&self, beneficiary: &Beneficiary) -> String {
        match beneficiary {
            Beneficiary::Household(id) => format!("the household ({id})"),
            Beneficiary::Person(id) if self.applicant.is_some_and(|f| &f.person_id == id) => {
                format!("the applicant ({id})")
            }
            // Without the household's composition, the ledger view holds only its members.
            Beneficiary::Person(id)
                if self.household.members.is_empty() || self.household.members.iter().any(|m| &m.person_id == id) =>
            {
                format!("household member {id}")
            }
            Beneficiary::Person(id) => format!("registry person {id}"),
        }
    }
}

/// Why a programme targeted by household composition is refused: its age bands, and the
/// components no registry fact can choose.
fn no_member_in_a_component(code: &ProgrammeCode, terms: &CashTerms) -> String {
    let bands: Vec<String> = terms
        .components()
        .iter()
        .filter_map(|c| c.ages.map(|ages| format!("{} ({ages})", c.id)))
        .collect();
    let unrecorded: Vec<&str> = terms
        .components()
        .iter()
        .filter(|c| c.ages.is_none())
        .map(|c| c.id.as_str())
        .collect();
    let mut message = format!(
        "No member of the household is in a {code} component: {code} pays for members in its age bands, {}.",
        bands.join(", ")
    );
    if !unrecorded.is_empty() {
        message.push_str(&format!(
            " The registry records nothing that would place a member in {} ({}), so those components cannot \
             be chosen here.",
            if unrecorded.len() == 1 {
                "the other component"
            } else {
                "the other components"
            },
            unrecorded.join(", ")
        ));
    }
    message
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
