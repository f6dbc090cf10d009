//! Duplicate detection ("data ganda") at the front desk: is the person being registered
//! someone the system already knows?
//!
//! Real registries fail both ways (DOMAIN.md §4): one NIK on two people, and one person under
//! two NIKs (a mistyped digit, two digits swapped, a second registration), often with the name
//! written differently. So an applicant is compared with the people already known, and each
//! comparison ends as one of:
//!
//! - **exact**, when the NIK is one a known person holds: the same person (a known person,
//!   not a duplicate); the same person already a member of another household; or the NIK
//!   held by someone with a different name, birth date or sex (a conflict);
//! - **probable**, when another NIK's holder looks like the applicant: these go to a person
//!   who decides, with the score and each field's agreement side by side;
//! - unlikely, otherwise ([`PersonIndex::candidates`] leaves these out).
//!
//! # The score
//!
//! Each field's agreement adds evidence for "same person" or against it, in bits (a
//! Fellegi-Sunter weight, log2 of how much likelier that agreement is between two records of
//! one person than between two people; see [`weight`]). The score is the sum plus a prior
//! ([`PRIOR_BITS`]), turned into a probability: `1 / (1 + 2^-bits)`. The weights are set by
//! hand from how Indonesian identity data is made (below); the synthetic population in
//! `tests/` showed where that structure mattered, but they are not fitted to it. Once
//! adjudicators have decided enough pairs, they should be re-estimated from those decisions.
//!
//! Two dependencies between fields matter more than any weight:
//!
//! - A NIK encodes the district of registration and the birth date, and serials are given
//!   out in order per district and date from 0001, so two people born the same day in the
//!   same district (twins, neighbours) have NIKs that differ only in the serial, often in one
//!   digit; born the same day in neighbouring districts, only in the district code; born in
//!   different years on the same day, only in the year. So a one-digit difference is strong
//!   evidence of a typo only where it is not what two people's NIKs would show anyway
//!   ([`NikPart`], [`weight`]).
//! - No agreement elsewhere makes two differently named people one person: a probable match
//!   needs the names at least [`NAME_GATE`] alike. (The same NIK under a different name is the
//!   exact conflict, which is reported whatever the names.)
//!
//! # Thresholds
//!
//! - [`PROBABLE_THRESHOLD`] 0.5: even odds. The identical name and birth date of another NIK's
//!   holder in the same village reaches it (a second registration, or a namesake: a person
//!   must look), a close name and birth date with a close NIK reaches it, a similar name and
//!   birth date alone do not. On the synthetic population of 100,000 in `tests/` it gives
//!   precision 0.992 and recall 0.980. Asking odds of 2:1 keeps precision at 0.995 but lets
//!   recall of second NIKs fall from 0.89 to 0.76; settling for 1:2 gains under a point of
//!   recall for six times the false matches (precision 0.953). An adjudicator's time is the
//!   cost on one side, a person paid twice on the other; even odds weighs them alike.
//! - [`NAME_GATE`] 0.75: below it the names share at most a common token or two
//!   ("Muhammad Rizki" / "Muhammad Rizal" is 0.2); above it they differ by a dropped middle
//!   name, an initial or a spelling.
//! - [`SAME_PERSON_NAME`] 0.85: under one NIK, names this alike with the same birth date and
//!   sex are one person written two ways ("M. Rizky" / "Muhammad Rizki"); less alike, the
//!   desk must see a conflict rather than silently take the known record.
//!
//! # Finding candidates
//!
//! Comparing an applicant with every known person would be O(n) per applicant and O(n²) for
//! a registry. [`PersonIndex`] keeps blocking keys instead, each catching one way the same
//! person ends up looking different, and compares only the people sharing a key:
//!
//! - the NIK itself (exact kinds);
//! - the NIK with each pair of neighbouring digits masked: catches one mistyped digit and two
//!   swapped ones anywhere, whatever else differs;
//! - the birth date: catches a second NIK, a typo and a differently written name;
//! - each informative name token's sound with the birth year, and with the day and month:
//!   catches a birth date with one field wrong, or day and month swapped.
//!
//! Everything here is pure: no I/O, no clock.

mod name;

use std::collections::HashMap;
use std::fmt;

use chrono::{Datelike, NaiveDate};
use slrt_identity::{Nik, RegionCode, Sex};
use uuid::Uuid;

pub use name::{
    MUHAMMAD, NormalisedName, SHORTENED_FATHER, father_similarity, jaro_winkler, name_similarity, token_similarity_of,
};

use name::Joinings;

use super::case::Applicant;

/// A probable match needs at least these odds of being the same person.
pub const PROBABLE_THRESHOLD: f64 = 0.5;

/// A probable match needs names at least this alike.
pub const NAME_GATE: f64 = 0.75;

/// Under the same NIK, names at least this alike (with the same birth date and sex) are the
/// same person.
pub const SAME_PERSON_NAME: f64 = 0.85;

/// The evidence before any field is compared, in bits: among the people a blocking key
/// brings together, a duplicate is the exception (about 1 in 250).
pub const PRIOR_BITS: f64 = -8.0;

/// Who a person says they are, as validated at the desk or held in the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub nik: Nik,
    /// As written, titles and all.
    pub full_name: String,
    /// As declared, which may disagree with the NIK's.
    pub birth_date: NaiveDate,
    pub sex: Sex,
    /// Where the person lives: a Kemendagri village, or a coarser region if that is all known.
    pub region: RegionCode,
}

impl From<&Applicant> for Identity {
    fn from(applicant: &Applicant) -> Self {
        Self {
            nik: applicant.nik.clone(),
            full_name: applicant.full_name.clone(),
            birth_date: applicant.birth_date,
            sex: applicant.sex,
            region: applicant.region,
        }
    }
}

/// A person the system already knows, and the household they belong to, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownPerson {
    pub person_id: Uuid,
    pub household_id: Option<Uuid>,
    pub identity: Identity,
}

/// One known person the applicant may be, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    pub person_id: Uuid,
    /// The known person's household.
    pub household_id: Option<Uuid>,
    pub kind: MatchKind,
    /// How likely the applicant and the known person are one person, 0 to 1, from every
    /// field's evidence (for exact kinds too: a NIK conflict scores low).
    pub score: f64,
    /// Each field side by side: the applicant on the left, the known person on the right.
    pub fields: Vec<FieldComparison>,
}

impl Match {
    /// The comparison of one field, if it was compared (the father's name only is when both
    /// sides write one).
    pub fn field(&self, field: Field) -> Option<&FieldComparison> {
        self.fields.iter().find(|comparison| comparison.field() == field)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MatchKind {
    /// The applicant's NIK is the known person's.
    Exact(ExactKind),
    /// Another NIK's holder who looks like the applicant: for a person to decide.
    Probable,
    /// Not alike enough to show anyone.
    Unlikely,
}

impl MatchKind {
    pub fn code(self) -> &'static str {
        match self {
            Self::Exact(kind) => kind.code(),
            Self::Probable => "probable",
            Self::Unlikely => "unlikely",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExactKind {
    /// The applicant is this known person (names written alike enough, same birth date and
    /// sex): not a duplicate, the record to use.
    SamePerson,
    /// The applicant is this known person, who already belongs to another household than the
    /// one they are being registered in.
    MemberOfAnotherHousehold,
    /// The NIK is held by someone with a different name, birth date or sex.
    NikHeldByAnother,
}

impl ExactKind {
    pub fn code(self) -> &'static str {
        match self {
            Self::SamePerson => "same_person",
            Self::MemberOfAnotherHousehold => "member_of_another_household",
            Self::NikHeldByAnother => "nik_held_by_another",
        }
    }
}

/// The fields compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    Nik,
    Name,
    FatherName,
    BirthDate,
    Sex,
    Region,
}

impl Field {
    pub fn code(self) -> &'static str {
        match self {
            Self::Nik => "nik",
            Self::Name => "name",
            Self::FatherName => "father_name",
            Self::BirthDate => "birth_date",
            Self::Sex => "sex",
            Self::Region => "region",
        }
    }
}

/// One field of the applicant and of the known person, how they agree, and the evidence
/// that carries.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldComparison {
    pub agreement: Agreement,
    /// The applicant's value.
    pub left: FieldValue,
    /// The known person's value.
    pub right: FieldValue,
    /// Bits of evidence for (positive) or against (negative) "same person".
    pub weight: f64,
}

impl FieldComparison {
    pub fn field(&self) -> Field {
        self.agreement.field()
    }

    /// Whether the field speaks for "same person" (at any level).
    pub fn agrees(&self) -> bool {
        self.agreement.agrees()
    }

    /// Whether the field speaks against "same person". A field may do neither: another
    /// serial of the same district and date, a region in the same province.
    pub fn differs(&self) -> bool {
        self.agreement.differs()
    }
}

/// A field's value as shown side by side. `Debug` masks a NIK, like [`Nik`]'s own.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    Nik(Nik),
    /// A name as written; for the father's name, as normalised.
    Name(String),
    Date(NaiveDate),
    Sex(Sex),
    Region(RegionCode),
}

impl fmt::Display for FieldValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Nik(nik) => fmt::Display::fmt(nik, f),
            Self::Name(name) => f.write_str(name),
            Self::Date(date) => write!(f, "{}", date.format("%Y-%m-%d")),
            Self::Sex(sex) => fmt::Display::fmt(sex, f),
            Self::Region(region) => fmt::Display::fmt(region, f),
        }
    }
}

/// How one field agrees, at the level each field can tell.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Agreement {
    Nik(NikAgreement),
    /// The person's own name (without titles, degrees and the father's name).
    Name(NameAgreement),
    /// The names after bin/binti, compared only when both are written.
    FatherName(NameAgreement),
    BirthDate(DateAgreement),
    Sex(SexAgreement),
    Region(RegionAgreement),
}

impl Agreement {
    pub fn field(&self) -> Field {
        match self {
            Self::Nik(_) => Field::Nik,
            Self::Name(_) => Field::Name,
            Self::FatherName(_) => Field::FatherName,
            Self::BirthDate(_) => Field::BirthDate,
            Self::Sex(_) => Field::Sex,
            Self::Region(_) => Field::Region,
        }
    }

    /// Whether this agreement speaks for "same person".
    pub fn agrees(&self) -> bool {
        weight(self) > 0.0
    }

    /// Whether this agreement speaks against "same person".
    pub fn differs(&self) -> bool {
        weight(self) < 0.0
    }

    /// A short, stable code for the level, e.g. `nik.transposed` or `birth_date.day_month_swapped`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Nik(nik) => match nik {
                NikAgreement::Same => "nik.same",
                NikAgreement::OneDigit { .. } => "nik.one_digit",
                NikAgreement::Transposed { .. } => "nik.transposed",
                NikAgreement::BirthDateOrSexDiffers => "nik.birth_date_or_sex_differs",
                NikAgreement::SerialDiffers => "nik.serial_differs",
                NikAgreement::Different => "nik.different",
            },
            Self::Name(name) => name.level.code("name"),
            Self::FatherName(name) => name.level.code("father_name"),
            Self::BirthDate(date) => match date {
                DateAgreement::Same => "birth_date.same",
                DateAgreement::SameDefaultDate => "birth_date.same_default_date",
                DateAgreement::DayMonthSwapped => "birth_date.day_month_swapped",
                DateAgreement::OneFieldDiffers => "birth_date.one_field_differs",
                DateAgreement::Different => "birth_date.different",
            },
            Self::Sex(SexAgreement::Same) => "sex.same",
            Self::Sex(SexAgreement::Different) => "sex.different",
            Self::Region(region) => match region {
                RegionAgreement::Same => "region.same",
                RegionAgreement::SameDistrict => "region.same_district",
                RegionAgreement::SameRegency => "region.same_regency",
                RegionAgreement::SameProvince => "region.same_province",
                RegionAgreement::Different => "region.different",
            },
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NikAgreement {
    Same,
    /// One digit differs; `position` counts from 1.
    OneDigit {
        position: u8,
    },
    /// Two neighbouring digits are swapped; `position` (from 1) is the first of them.
    Transposed {
        position: u8,
    },
    /// One digit or a swap in the birth-date digits (day +40 for women), just as the declared
    /// birth dates or sexes differ (each NIK agrees with its holder): those fields already
    /// tell this, and two people born days or years apart, or a brother and sister born the
    /// same day, get such NIKs all the time.
    BirthDateOrSexDiffers,
    /// Same district of registration and birth date, another serial (more than one digit
    /// apart): what two people born the same day in the same district have.
    SerialDiffers,
    Different,
}

/// The parts of a NIK, `PPKK CC DDMMYY SSSS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NikPart {
    /// Province and regency, positions 1-4.
    Regency,
    /// District, positions 5-6.
    District,
    /// Birth date (day +40 for women), positions 7-12.
    BirthDate,
    /// Serial, positions 13-16.
    Serial,
}

impl NikPart {
    /// The part a position (from 1) lies in.
    pub fn of(position: u8) -> Self {
        match position {
            0..=4 => Self::Regency,
            5..=6 => Self::District,
            7..=12 => Self::BirthDate,
            _ => Self::Serial,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NameAgreement {
    pub level: NameLevel,
    /// [`name_similarity`] of the normalised names, 0 to 1.
    pub similarity: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum NameLevel {
    /// Below [`NAME_GATE`].
    Different,
    /// From [`NAME_GATE`]: a dropped name and an initial, or a common first name alike.
    Weak,
    /// From 0.85: one spelling difference, one dropped middle name.
    Similar,
    /// From 0.92: a spelling variant, an initial for a name.
    Close,
    /// The same once normalised.
    Identical,
}

impl NameLevel {
    pub fn of(similarity: f64) -> Self {
        if similarity >= 1.0 {
            Self::Identical
        } else if similarity >= 0.92 {
            Self::Close
        } else if similarity >= 0.85 {
            Self::Similar
        } else if similarity >= NAME_GATE {
            Self::Weak
        } else {
            Self::Different
        }
    }

    fn code(self, field: &str) -> &'static str {
        match (field, self) {
            ("name", Self::Identical) => "name.identical",
            ("name", Self::Close) => "name.close",
            ("name", Self::Similar) => "name.similar",
            ("name", Self::Weak) => "name.weak",
            ("name", Self::Different) => "name.different",
            (_, Self::Identical) => "father_name.identical",
            (_, Self::Close) => "father_name.close",
            (_, Self::Similar) => "father_name.similar",
            (_, Self::Weak) => "father_name.weak",
            (_, Self::Different) => "father_name.different",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateAgreement {
    Same,
    /// The same 1 January, 1 July or 31 December: the dates written for people whose real
    /// birth date was never recorded, so many share them.
    SameDefaultDate,
    /// 03-04 for 04-03, same year.
    DayMonthSwapped,
    /// Two of day, month and year agree.
    OneFieldDiffers,
    Different,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SexAgreement {
    Same,
    Different,
}

/// How close the places people live are, by Kemendagri code prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegionAgreement {
    /// The same code (the same village, when both are villages).
    Same,
    SameDistrict,
    SameRegency,
    SameProvince,
    Different,
}

/// The evidence an agreement carries, in bits (see the module documentation).
///
/// The reasoning for each, as m (how often one person's two records agree this way) against
/// u (how often two people brought together by a blocking key do):
///
/// - NIK: the same NIK is near certain (+10) but is judged apart, as an exact kind. One digit
///   or a swap is a typo's signature, but how rare it is between two people depends on the
///   part ([`NikPart`]): in the province and regency, or in a birth date that then disagrees
///   with its holder's, two people's NIKs seldom differ so (+4); in the district, people
///   born the same day in neighbouring districts get serial 0001 alike (+2); in the serial,
///   neighbours by date and district do it all the time (+1). Differing only where the
///   declared birth dates or sexes differ adds nothing to what those fields say (0), and
///   neither does another serial of the same district and date. Any other NIK: a second
///   registration has one, so only slightly against (-1).
/// - Name: identical after normalisation +6, close +4.5, similar +2.5, weak +0.5, different -8.
/// - Father's name (both written): close or the same +1.5; similar, or shortened ("bin
///   Abdul" for "bin Abdul Rahman", see [`father_similarity`]) 0; different -5, since a
///   different father is a different person.
/// - Birth date: the same +3 (the blocks already favour equal dates, so less than its
///   1-in-25,000 rarity would say); the same default date (1 January, 1 July, 31 December)
///   only +1, since among older people one in ten or so has one; day and month swapped +1;
///   one field off +0.5; otherwise -4.
/// - Sex: the same +0.5 (half of all pairs agree); different -4.
/// - Region: the same village +1.5, district +1, regency +0.5, province 0, else -0.5 (people
///   move; a second registration is often elsewhere).
pub fn weight(agreement: &Agreement) -> f64 {
    match agreement {
        Agreement::Nik(nik) => match nik {
            NikAgreement::Same => 10.0,
            NikAgreement::OneDigit { position } | NikAgreement::Transposed { position } => match NikPart::of(*position)
            {
                NikPart::Regency | NikPart::BirthDate => 4.0,
                NikPart::District => 2.0,
                NikPart::Serial => 1.0,
            },
            NikAgreement::BirthDateOrSexDiffers | NikAgreement::SerialDiffers => 0.0,
            NikAgreement::Different => -1.0,
        },
        Agreement::Name(name) => match name.level {
            NameLevel::Identical => 6.0,
            NameLevel::Close => 4.5,
            NameLevel::Similar => 2.5,
            NameLevel::Weak => 0.5,
            NameLevel::Different => -8.0,
        },
        Agreement::FatherName(name) => match name.level {
            NameLevel::Identical | NameLevel::Close => 1.5,
            NameLevel::Similar | NameLevel::Weak => 0.0,
            NameLevel::Different => -5.0,
        },
        Agreement::BirthDate(date) => match date {
            DateAgreement::Same => 3.0,
            DateAgreement::SameDefaultDate => 1.0,
            DateAgreement::DayMonthSwapped => 1.0,
            DateAgreement::OneFieldDiffers => 0.5,
            DateAgreement::Different => -4.0,
        },
        Agreement::Sex(SexAgreement::Same) => 0.5,
        Agreement::Sex(SexAgreement::Different) => -4.0,
        Agreement::Region(region) => match region {
            RegionAgreement::Same => 1.5,
            RegionAgreement::SameDistrict => 1.0,
            RegionAgreement::SameRegency => 0.5,
            RegionAgreement::SameProvince => 0.0,
            RegionAgreement::Different => -0.5,
        },
    }
}

/// How two NIKs relate: the same, one digit apart, two neighbours swapped, another serial of
/// the same district and date, or different.
pub fn compare_niks(a: &Nik, b: &Nik) -> NikAgreement {
    let (a, b) = (a.as_str().as_bytes(), b.as_str().as_bytes());
    let differing: Vec<usize> = (0..a.len().min(b.len())).filter(|&i| a[i] != b[i]).collect();
    let position = |i: usize| u8::try_from(i + 1).unwrap_or(u8::MAX);
    match differing.as_slice() {
        [] if a.len() == b.len() => NikAgreement::Same,
        [i] => NikAgreement::OneDigit { position: position(*i) },
        [i, j] if *j == i + 1 && a[*i] == b[*j] && a[*j] == b[*i] => {
            NikAgreement::Transposed { position: position(*i) }
        }
        _ if a.len() == 16 && b.len() == 16 && a[..12] == b[..12] => NikAgreement::SerialDiffers,
        _ => NikAgreement::Different,
    }
}

/// How two birth dates relate.
pub fn compare_birth_dates(a: NaiveDate, b: NaiveDate) -> DateAgreement {
    let agreeing = [a.day() == b.day(), a.month() == b.month(), a.year() == b.year()]
        .into_iter()
        .filter(|same| *same)
        .count();
    if a == b && is_default_date(a) {
        DateAgreement::SameDefaultDate
    } else if a == b {
        DateAgreement::Same
    } else if a.year() == b.year() && a.day() == b.month() && a.month() == b.day() {
        DateAgreement::DayMonthSwapped
    } else if agreeing == 2 {
        DateAgreement::OneFieldDiffers
    } else {
        DateAgreement::Different
    }
}

/// 1 January, 1 July and 31 December stand in for birth dates nobody recorded.
fn is_default_date(date: NaiveDate) -> bool {
    matches!((date.month(), date.day()), (1, 1) | (7, 1) | (12, 31))
}

/// How close two regions are: the deepest Kemendagri level they share.
pub fn compare_regions(a: RegionCode, b: RegionCode) -> RegionAgreement {
    if a == b {
        RegionAgreement::Same
    } else if a.district().is_some() && a.district() == b.district() {
        RegionAgreement::SameDistrict
    } else if a.regency().is_some() && a.regency() == b.regency() {
        RegionAgreement::SameRegency
    } else if a.province() == b.province() {
        RegionAgreement::SameProvince
    } else {
        RegionAgreement::Different
    }
}

/// Compares an applicant, being registered into `household` (if it is known), with one known
/// person; the answer may be [`MatchKind::Unlikely`]. For showing any pair side by side;
/// [`PersonIndex::candidates`] is the search.
pub fn compare(applicant: &Identity, household: Option<Uuid>, known: &KnownPerson) -> Match {
    let probe = Probe::new(applicant, household);
    let known_name = NormalisedName::parse(&known.identity.full_name);
    let joinings = Joinings::of(&known_name.given);
    assess(&probe, known, &known_name, &joinings)
}

/// The applicant, with what every comparison needs computed once.
struct Probe<'a> {
    identity: &'a Identity,
    household: Option<Uuid>,
    name: NormalisedName,
    joinings: Joinings,
}

impl<'a> Probe<'a> {
    fn new(identity: &'a Identity, household: Option<Uuid>) -> Self {
        let name = NormalisedName::parse(&identity.full_name);
        Self {
            identity,
            household,
            joinings: Joinings::of(&name.given),
            name,
        }
    }

    fn name_similarity(&self, name: &NormalisedName, joinings: &Joinings) -> f64 {
        self.joinings.similarity(&self.name.given, &name.given, joinings)
    }
}

fn assess(probe: &Probe<'_>, known: &KnownPerson, known_name: &NormalisedName, joinings: &Joinings) -> Match {
    let (left, right) = (probe.identity, &known.identity);
    let nik = match compare_niks(&left.nik, &right.nik) {
        NikAgreement::OneDigit { position } | NikAgreement::Transposed { position }
            if NikPart::of(position) == NikPart::BirthDate
                && (left.birth_date != right.birth_date || left.sex != right.sex)
                && left.nik.check_declared(left.birth_date, left.sex).is_empty()
                && right.nik.check_declared(right.birth_date, right.sex).is_empty() =>
        {
            NikAgreement::BirthDateOrSexDiffers
        }
        nik => nik,
    };
    let name_similarity = probe.name_similarity(known_name, joinings);
    let name = NameAgreement {
        level: NameLevel::of(name_similarity),
        similarity: name_similarity,
    };
    let birth_date = compare_birth_dates(left.birth_date, right.birth_date);
    let sex = if left.sex == right.sex {
        SexAgreement::Same
    } else {
        SexAgreement::Different
    };

    let mut fields = Vec::with_capacity(6);
    let mut push = |agreement: Agreement, left: FieldValue, right: FieldValue| {
        fields.push(FieldComparison {
            weight: weight(&agreement),
            agreement,
            left,
            right,
        });
    };
    push(
        Agreement::Nik(nik),
        FieldValue::Nik(left.nik.clone()),
        FieldValue::Nik(right.nik.clone()),
    );
    push(
        Agreement::Name(name),
        FieldValue::Name(left.full_name.clone()),
        FieldValue::Name(right.full_name.clone()),
    );
    if !probe.name.father.is_empty() && !known_name.father.is_empty() {
        let similarity = father_similarity(&probe.name.father, &known_name.father);
        push(
            Agreement::FatherName(NameAgreement {
                level: NameLevel::of(similarity),
                similarity,
            }),
            FieldValue::Name(probe.name.father.join(" ")),
            FieldValue::Name(known_name.father.join(" ")),
        );
    }
    push(
        Agreement::BirthDate(birth_date),
        FieldValue::Date(left.birth_date),
        FieldValue::Date(right.birth_date),
    );
    push(
        Agreement::Sex(sex),
        FieldValue::Sex(left.sex),
        FieldValue::Sex(right.sex),
    );
    push(
        Agreement::Region(compare_regions(left.region, right.region)),
        FieldValue::Region(left.region),
        FieldValue::Region(right.region),
    );

    let bits = PRIOR_BITS + fields.iter().map(|field| field.weight).sum::<f64>();
    let score = 1.0 / (1.0 + (-bits).exp2());
    let kind = if nik == NikAgreement::Same {
        let same_date = matches!(birth_date, DateAgreement::Same | DateAgreement::SameDefaultDate);
        let same_person = name_similarity >= SAME_PERSON_NAME && same_date && sex == SexAgreement::Same;
        if !same_person {
            MatchKind::Exact(ExactKind::NikHeldByAnother)
        } else if probe.household.is_some() && known.household_id.is_some() && probe.household != known.household_id {
            MatchKind::Exact(ExactKind::MemberOfAnotherHousehold)
        } else {
            MatchKind::Exact(ExactKind::SamePerson)
        }
    } else if name_similarity >= NAME_GATE && score >= PROBABLE_THRESHOLD {
        MatchKind::Probable
    } else {
        MatchKind::Unlikely
    };
    Match {
        person_id: known.person_id,
        household_id: known.household_id,
        kind,
        score,
        fields,
    }
}

/// The people the system knows, with blocking keys so that finding an applicant's candidates
/// looks at a few dozen of them, not all (see the module documentation).
#[derive(Default)]
pub struct PersonIndex {
    entries: Vec<Entry>,
    slots: HashMap<Uuid, u32>,
    by_nik: HashMap<u64, Vec<u32>>,
    by_masked_nik: HashMap<u64, Vec<u32>>,
    by_birth_date: HashMap<NaiveDate, Vec<u32>>,
    by_sound_and_year: HashMap<(u32, i32), Vec<u32>>,
    by_sound_and_day: HashMap<(u32, u32), Vec<u32>>,
}

struct Entry {
    person: KnownPerson,
    name: NormalisedName,
    joinings: Joinings,
}

impl fmt::Debug for PersonIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PersonIndex")
            .field("people", &self.entries.len())
            .finish_non_exhaustive()
    }
}

impl PersonIndex {
    pub fn new() -> Self {
        Self::default()
    }

    /// How many people the index holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The known person with this id.
    pub fn get(&self, person_id: Uuid) -> Option<&KnownPerson> {
        self.slots
            .get(&person_id)
            .map(|&slot| &self.entries[slot as usize].person)
    }

    /// Adds a known person, or replaces what is known of them when their id is already held.
    pub fn insert(&mut self, person: KnownPerson) {
        let name = NormalisedName::parse(&person.identity.full_name);
        let keys = BlockingKeys::of(&person.identity, &name);
        let joinings = Joinings::of(&name.given);
        let slot = match self.slots.get(&person.person_id) {
            // The old keys stay: they only bring this person up as a candidate more often,
            // and candidates are always compared on what is held now.
            Some(&slot) => {
                self.entries[slot as usize] = Entry { person, name, joinings };
                slot
            }
            None => {
                let Ok(slot) = u32::try_from(self.entries.len()) else {
                    return;
                };
                self.slots.insert(person.person_id, slot);
                self.entries.push(Entry { person, name, joinings });
                slot
            }
        };
        self.by_nik.entry(keys.nik).or_default().push(slot);
        for key in keys.masked_niks {
            self.by_masked_nik.entry(key).or_default().push(slot);
        }
        self.by_birth_date.entry(keys.birth_date).or_default().push(slot);
        for sound in keys.sounds {
            self.by_sound_and_year.entry((sound, keys.year)).or_default().push(slot);
            self.by_sound_and_day.entry((sound, keys.day)).or_default().push(slot);
        }
    }

    /// The known people the applicant, being registered into `household` (if it is known),
    /// may be: every exact match, then the probable ones, best first. Unlikely ones are left
    /// out.
    pub fn candidates(&self, applicant: &Identity, household: Option<Uuid>) -> Vec<Match> {
        let probe = Probe::new(applicant, household);
        let slots = self.sharing_a_key(applicant, &probe.name);
        let mut matches: Vec<Match> = slots
            .into_iter()
            .map(|slot| &self.entries[slot as usize])
            // Most candidates differ in name and NIK: no need to build their comparison.
            .filter(|entry| {
                entry.person.identity.nik == applicant.nik
                    || probe.name_similarity(&entry.name, &entry.joinings) >= NAME_GATE
            })
            .map(|entry| assess(&probe, &entry.person, &entry.name, &entry.joinings))
            .filter(|found| found.kind != MatchKind::Unlikely)
            .collect();
        matches.sort_by(|a, b| {
            let exact = |m: &Match| matches!(m.kind, MatchKind::Exact(_));
            exact(b)
                .cmp(&exact(a))
                .then(b.score.total_cmp(&a.score))
                .then(a.person_id.cmp(&b.person_id))
        });
        matches
    }

    /// How many known people share a blocking key with the applicant: those
    /// [`PersonIndex::candidates`] compares. For measuring the index, not for deciding.
    pub fn compared_for(&self, applicant: &Identity) -> usize {
        self.sharing_a_key(applicant, &NormalisedName::parse(&applicant.full_name))
            .len()
    }

    fn sharing_a_key(&self, applicant: &Identity, name: &NormalisedName) -> Vec<u32> {
        let keys = BlockingKeys::of(applicant, name);
        let mut slots: Vec<u32> = Vec::new();
        let mut gather = |found: Option<&Vec<u32>>| slots.extend(found.into_iter().flatten());
        gather(self.by_nik.get(&keys.nik));
        for key in &keys.masked_niks {
            gather(self.by_masked_nik.get(key));
        }
        gather(self.by_birth_date.get(&keys.birth_date));
        for &sound in &keys.sounds {
            gather(self.by_sound_and_year.get(&(sound, keys.year)));
            gather(self.by_sound_and_day.get(&(sound, keys.day)));
        }
        slots.sort_unstable();
        slots.dedup();
        slots
    }
}

/// The blocking keys of an identity as text, for an index kept in a database: two people
/// sharing any one are compared, the same as [`PersonIndex`] does in memory. The key of the
/// NIK itself is the NIK in clear, so these are stored like the NIK, never logged.
pub fn blocking_keys(identity: &Identity) -> Vec<String> {
    let name = NormalisedName::parse(&identity.full_name);
    let keys = BlockingKeys::of(identity, &name);
    let mut texts = Vec::with_capacity(3 + keys.masked_niks.len() + 2 * keys.sounds.len());
    texts.push(format!("n{}", keys.nik));
    texts.extend(keys.masked_niks.iter().map(|key| format!("m{key}")));
    texts.push(format!("b{}", keys.birth_date.format("%Y%m%d")));
    for sound in &keys.sounds {
        texts.push(format!("y{sound}.{}", keys.year));
        texts.push(format!("d{sound}.{}", keys.day));
    }
    texts
}

/// Where one person is filed in the index.
struct BlockingKeys {
    nik: u64,
    masked_niks: Vec<u64>,
    birth_date: NaiveDate,
    year: i32,
    /// Month and day, as `MMDD`.
    day: u32,
    sounds: Vec<u32>,
}

impl BlockingKeys {
    fn of(identity: &Identity, name: &NormalisedName) -> Self {
        let digits: Vec<u64> = identity
            .nik
            .as_str()
            .bytes()
            .map(|b| u64::from(b.saturating_sub(b'0')))
            .collect();
        let number = |masked: Option<usize>| {
            digits.iter().enumerate().fold(0u64, |n, (i, &d)| {
                let hidden = masked.is_some_and(|at| i == at || i == at + 1);
                n * 10 + if hidden { 0 } else { d }
            })
        };
        // Sixteen digits fit below 10^16; the masked pair's position goes above it.
        const SPAN: u64 = 10_000_000_000_000_000;
        let masked_niks = (0..digits.len().saturating_sub(1))
            .map(|at| (at as u64 + 1) * SPAN + number(Some(at)))
            .collect();
        let birth_date = identity.birth_date;
        Self {
            nik: number(None),
            masked_niks,
            birth_date,
            year: birth_date.year(),
            day: birth_date.month() * 100 + birth_date.day(),
            sounds: name::phonetic_keys(name),
        }
    }
}

#[cfg(test)]
mod tests;
