//! A synthetic population with injected duplicates of known kinds, for measuring the desk's
//! duplicate detection (`slrt_intake::domain::matching`): its precision and its recall per
//! kind.
//!
//! The population is a regency's households, each with a KK number, and their members: a
//! head, usually a spouse, children (twins among them), sometimes an elderly parent. Every
//! member has a valid NIK that encodes where it was registered (the household's district
//! mostly, elsewhere for people born or registered away), the birth date, +40 on the day for
//! women, and a serial given out in order per district and date, as Disdukcapil does; so
//! neighbours born the same day have NIKs one digit apart, as in life. Names come from
//! Javanese, Muslim and Christian name parts, with single names for older people, every
//! spelling of Muhammad, Siti/Nur/Sri, titles (H., Hj., Dr., Ir., Drs.), degrees (S.Pd.,
//! S.E., ...), bin/binti with the father's name, the pre-1972 spelling for some older
//! people, and the 1 January / 1 July / 31 December birth dates of people whose real date
//! was never recorded.
//!
//! Then come the probes, each an applicant at the desk with the truth about them: a duplicate
//! of a known person made in one of the [`ProbeKind`] ways, or a new person (a new household,
//! a newborn, a twin registered late) who must match nobody.
//!
//! Everything follows from the seed: the random numbers are SplitMix64, written here rather
//! than taken from a crate so that a seed means the same population whatever crate versions
//! the lock file holds.

mod measure;
#[rustfmt::skip]
mod names;
mod written;

use std::collections::{HashMap, HashSet};

use chrono::{Datelike, NaiveDate};
use slrt_identity::{Nik, RegionCode, RegionLevel, Regions, Sex};
use slrt_intake::domain::matching::{ExactKind, Identity, KnownPerson, MatchKind, PersonIndex};
use uuid::Uuid;

pub use measure::{Evaluation, KindTally, Mistake, evaluate};
use written::{WrittenName, new_name, vary_name};

/// The day the population is counted: ages and NIK centuries are read as of it.
pub fn census_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 6, 30).expect("a real date")
}

/// SplitMix64: small, fast, and the same sequence for a seed forever.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    /// A number in `low..=high`.
    pub fn between(&mut self, low: i64, high: i64) -> i64 {
        low + self.below((high - low + 1).max(1) as usize) as i64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct Config {
    pub seed: u64,
    /// Known people (members of households) to start from.
    pub people: usize,
    /// Injected duplicates of each [`ProbeKind`] other than [`ProbeKind::Clean`].
    pub duplicates_per_kind: usize,
    /// New people, who match nobody.
    pub clean: usize,
    /// The regency or city (kabupaten/kota) the households live in, e.g. `33.26`.
    pub regency: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            seed: 20_260_630,
            people: 20_000,
            duplicates_per_kind: 200,
            clean: 1_000,
            regency: "33.26".to_string(),
        }
    }
}

/// How a probe was made, and so what the detector should say about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProbeKind {
    /// A known person with one NIK digit mistyped.
    NikDigit,
    /// A known person with two neighbouring NIK digits swapped.
    NikTransposed,
    /// A known person, right NIK, name written another way (spelling, title, initial,
    /// Muhammad, bin/binti, a typo).
    NameVariant,
    /// A mistyped or transposed NIK and the name written another way; a quarter with the
    /// birth date mistyped too (day and month swapped, or one field off).
    NikAndName,
    /// A known person registered again under a second NIK from another district; half with
    /// the name written another way, some living elsewhere now.
    SecondNik,
    /// Somebody new declaring a NIK a known person holds.
    NikOfAnother,
    /// A known person registered into another household.
    OtherHousehold,
    /// Somebody new: must match nobody.
    Clean,
}

impl ProbeKind {
    pub const DUPLICATES: [Self; 7] = [
        Self::NikDigit,
        Self::NikTransposed,
        Self::NameVariant,
        Self::NikAndName,
        Self::SecondNik,
        Self::NikOfAnother,
        Self::OtherHousehold,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::NikDigit => "nik_digit",
            Self::NikTransposed => "nik_transposed",
            Self::NameVariant => "name_variant",
            Self::NikAndName => "nik_and_name",
            Self::SecondNik => "second_nik",
            Self::NikOfAnother => "nik_of_another",
            Self::OtherHousehold => "other_household",
            Self::Clean => "clean",
        }
    }

    /// What the detector should call the original; `None` for a clean probe.
    pub fn expected(self) -> Option<MatchKind> {
        match self {
            Self::NikDigit | Self::NikTransposed | Self::NikAndName | Self::SecondNik => Some(MatchKind::Probable),
            Self::NameVariant => Some(MatchKind::Exact(ExactKind::SamePerson)),
            Self::NikOfAnother => Some(MatchKind::Exact(ExactKind::NikHeldByAnother)),
            Self::OtherHousehold => Some(MatchKind::Exact(ExactKind::MemberOfAnotherHousehold)),
            Self::Clean => None,
        }
    }
}

/// An applicant at the desk, and the truth about them.
#[derive(Debug, Clone)]
pub struct Probe {
    pub kind: ProbeKind,
    pub identity: Identity,
    /// The household they are being registered into, when it is a known one.
    pub household_id: Option<Uuid>,
    /// The known person the detector should find (for [`ProbeKind::NikOfAnother`], the NIK's
    /// holder); `None` for a clean probe.
    pub original: Option<Uuid>,
}

#[derive(Debug, Clone)]
pub struct Household {
    pub id: Uuid,
    pub kk_number: String,
    pub village: RegionCode,
    /// Indexes into [`Population::people`].
    pub members: Vec<usize>,
}

/// Known people in their households, and the probes.
#[derive(Debug, Clone)]
pub struct Population {
    pub people: Vec<KnownPerson>,
    pub households: Vec<Household>,
    pub probes: Vec<Probe>,
}

impl Population {
    /// Generates the population and its probes from `config.seed`.
    pub fn generate(config: &Config) -> Population {
        let mut builder = Builder::new(config);
        while builder.people.len() < config.people {
            builder.household(config.people - builder.people.len());
        }
        let mut probes = Vec::with_capacity(config.duplicates_per_kind * ProbeKind::DUPLICATES.len() + config.clean);
        for kind in ProbeKind::DUPLICATES {
            for _ in 0..config.duplicates_per_kind {
                if let Some(probe) = builder.duplicate(kind) {
                    probes.push(probe);
                }
            }
        }
        for _ in 0..config.clean {
            probes.push(builder.clean());
        }
        Population {
            people: builder.people,
            households: builder.households,
            probes,
        }
    }

    /// Every known person, indexed.
    pub fn index(&self) -> PersonIndex {
        let mut index = PersonIndex::new();
        for person in &self.people {
            index.insert(person.clone());
        }
        index
    }

    pub fn person(&self, person_id: Uuid) -> Option<&KnownPerson> {
        self.people.iter().find(|person| person.person_id == person_id)
    }
}

/// What the generator remembers of a known person beyond their [`KnownPerson`].
#[derive(Debug, Clone)]
struct Facts {
    name: WrittenName,
    father: Option<String>,
    household: usize,
}

struct Builder {
    rng: Rng,
    today: NaiveDate,
    villages: Vec<RegionCode>,
    home_districts: Vec<RegionCode>,
    province_districts: Vec<RegionCode>,
    all_districts: Vec<RegionCode>,
    /// The last serial given out per NIK prefix `PPKKCCDDMMYY`.
    serials: HashMap<String, u16>,
    kk_serials: HashMap<String, u16>,
    used_niks: HashSet<String>,
    people: Vec<KnownPerson>,
    facts: Vec<Facts>,
    households: Vec<Household>,
    next_id: u64,
}

impl Builder {
    fn new(config: &Config) -> Self {
        let regions = Regions::kemendagri();
        let regency = RegionCode::parse(&config.regency).expect("Config::regency is a Kemendagri regency");
        let province = regency.province();
        let mut villages = Vec::new();
        let mut home_districts = Vec::new();
        let mut province_districts = Vec::new();
        let mut all_districts = Vec::new();
        for region in regions.iter() {
            match region.level() {
                RegionLevel::Village if regency.contains(&region) => villages.push(region),
                RegionLevel::District => {
                    all_districts.push(region);
                    if province.contains(&region) {
                        province_districts.push(region);
                    }
                    if regency.contains(&region) {
                        home_districts.push(region);
                    }
                }
                _ => {}
            }
        }
        assert!(!villages.is_empty(), "{} has no villages", config.regency);
        Self {
            rng: Rng::new(config.seed),
            today: census_day(),
            villages,
            home_districts,
            province_districts,
            all_districts,
            serials: HashMap::new(),
            kk_serials: HashMap::new(),
            used_niks: HashSet::new(),
            people: Vec::new(),
            facts: Vec::new(),
            households: Vec::new(),
            next_id: 0,
        }
    }

    fn id(&mut self, tag: u64) -> Uuid {
        self.next_id += 1;
        Uuid::from_u64_pair(tag, self.next_id)
    }

    /// A birth date `age` years before the census, on a random day of that year of life.
    /// Older people's real dates often went unrecorded and were written 1 January, 1 July
    /// or 31 December.
    fn born(&mut self, age: i64) -> NaiveDate {
        let days = age * 365 + self.rng.between(0, 364);
        let date = self.today - chrono::TimeDelta::days(days);
        if date.year() < 1975 && self.rng.chance(0.08) {
            let (month, day) = *self.rng.pick(&[(1, 1), (7, 1), (12, 31)]);
            return NaiveDate::from_ymd_opt(date.year(), month, day).unwrap_or(date);
        }
        date
    }

    /// The district where a person's NIK was registered: mostly where they live.
    fn registration_district(&mut self, home: RegionCode) -> RegionCode {
        let roll = self.rng.below(100);
        let home_district = home.district().expect("a village lies in a district");
        match roll {
            0..75 => home_district,
            75..87 => *self.rng.pick(&self.home_districts),
            87..96 => *self.rng.pick(&self.province_districts),
            _ => *self.rng.pick(&self.all_districts),
        }
    }

    /// The next NIK for someone of this sex born on this date and registered in this district.
    fn allocate_nik(&mut self, district: RegionCode, born: NaiveDate, sex: Sex) -> Nik {
        let day = born.day() + if sex == Sex::Female { 40 } else { 0 };
        let prefix = format!(
            "{}{day:02}{:02}{:02}",
            district.compact(),
            born.month(),
            born.year().rem_euclid(100)
        );
        // Serials run per district and date over the whole regency, which this sample is a
        // part of: some numbers belong to people not in it.
        let step = 1 + self.rng.below(2) as u16;
        let serial = self.serials.entry(prefix.clone()).or_insert(0);
        *serial += step;
        let text = format!("{prefix}{serial:04}");
        self.used_niks.insert(text.clone());
        Nik::parse_at(&text, self.today).expect("an allocated NIK is valid")
    }

    fn allocate_kk(&mut self, village: RegionCode) -> String {
        let district = village.district().expect("a village lies in a district");
        let first = NaiveDate::from_ymd_opt(2008, 1, 1).expect("a real date");
        let recorded = first + chrono::TimeDelta::days(self.rng.between(0, (self.today - first).num_days()));
        let prefix = format!("{}{}", district.compact(), recorded.format("%d%m%y"));
        let serial = self.kk_serials.entry(prefix.clone()).or_insert(0);
        *serial += 1;
        format!("{prefix}{serial:04}")
    }

    fn add_person(
        &mut self,
        household: usize,
        sex: Sex,
        born: NaiveDate,
        father: Option<String>,
        nik_district: Option<RegionCode>,
    ) -> usize {
        let village = self.households[household].village;
        let district = match nik_district {
            Some(district) => district,
            None => self.registration_district(village),
        };
        let nik = self.allocate_nik(district, born, sex);
        let name = self.name_in(household, sex, born, father.as_deref());
        let person = KnownPerson {
            person_id: self.id(1),
            household_id: Some(self.households[household].id),
            identity: Identity {
                nik,
                full_name: name.text(),
                birth_date: born,
                sex,
                region: village,
            },
        };
        self.people.push(person);
        self.facts.push(Facts {
            name,
            father,
            household,
        });
        let index = self.people.len() - 1;
        self.households[household].members.push(index);
        index
    }

    /// A new name for someone joining `household`: parents do not give two children one name.
    fn name_in(&mut self, household: usize, sex: Sex, born: NaiveDate, father: Option<&str>) -> WrittenName {
        let mut name = new_name(&mut self.rng, sex, born, father);
        for _ in 0..20 {
            let taken = self.households[household]
                .members
                .iter()
                .any(|&member| self.facts[member].name.calling_name() == name.calling_name());
            if !taken {
                break;
            }
            name = new_name(&mut self.rng, sex, born, father);
        }
        name
    }

    /// One household of up to `room` people.
    fn household(&mut self, room: usize) {
        let size = match self.rng.below(100) {
            0..8 => 1,
            8..23 => 2,
            23..45 => 3,
            45..70 => 4,
            70..87 => 5,
            87..95 => 6,
            _ => 7,
        }
        .min(room);
        let village = *self.rng.pick(&self.villages);
        let kk_number = self.allocate_kk(village);
        let id = self.id(2);
        self.households.push(Household {
            id,
            kk_number,
            village,
            members: Vec::new(),
        });
        let household = self.households.len() - 1;

        let head_age = 22 + self.rng.between(0, 29) + self.rng.between(0, 29);
        let head_sex = if size > 1 && self.rng.chance(0.95) || self.rng.chance(0.6) {
            Sex::Male
        } else {
            Sex::Female
        };
        let head_born = self.born(head_age);
        let head = self.add_person(household, head_sex, head_born, None, None);
        let mut left = size - 1;
        let mut mother_age = if head_sex == Sex::Female { head_age } else { 0 };
        if left > 0 && head_sex == Sex::Male {
            let age = (head_age - 8 + self.rng.between(0, 11)).max(18);
            let born = self.born(age);
            self.add_person(household, Sex::Female, born, None, None);
            mother_age = age;
            left -= 1;
        }
        let grandparent = left >= 3 && self.rng.chance(0.3);
        if grandparent {
            let age = (head_age + self.rng.between(22, 32)).min(95);
            let sex = if self.rng.chance(0.7) { Sex::Female } else { Sex::Male };
            let born = self.born(age);
            self.add_person(household, sex, born, None, None);
            left -= 1;
        }
        let father = (head_sex == Sex::Male).then(|| self.facts[head].name.calling_name());
        let oldest = (mother_age.max(head_age.min(45)) - 17).clamp(1, 30);
        let district = village.district();
        let mut previous: Option<(NaiveDate, Sex)> = None;
        while left > 0 {
            // About one birth in seventy is a twin: the same date, the next serial.
            let (born, twin) = match previous {
                Some((born, _)) if self.rng.chance(0.015) => (born, true),
                _ => {
                    let age = self.rng.between(0, oldest);
                    (self.born(age), false)
                }
            };
            let sex = if self.rng.chance(0.5) { Sex::Male } else { Sex::Female };
            // Children are registered where the family lives.
            let nik_district = if twin || self.rng.chance(0.9) { district } else { None };
            self.add_person(household, sex, born, father.clone(), nik_district);
            previous = Some((born, sex));
            left -= 1;
        }
    }

    /// A NIK one digit (or, if `transpose`, two neighbouring digits swapped) away from
    /// `nik`, valid and held by nobody.
    fn mistyped_nik(&mut self, nik: &Nik, transpose: bool) -> Option<Nik> {
        let digits: Vec<u8> = nik.as_str().bytes().collect();
        for _ in 0..200 {
            let mut typed = digits.clone();
            if transpose {
                let at = self.rng.below(15);
                if typed[at] == typed[at + 1] {
                    continue;
                }
                typed.swap(at, at + 1);
            } else {
                let at = self.rng.below(16);
                let digit = b'0' + self.rng.below(10) as u8;
                if typed[at] == digit {
                    continue;
                }
                typed[at] = digit;
            }
            let text = String::from_utf8(typed).ok()?;
            if self.used_niks.contains(&text) {
                continue;
            }
            if let Ok(parsed) = Nik::parse_at(&text, self.today) {
                self.used_niks.insert(text);
                return Some(parsed);
            }
        }
        None
    }

    /// The birth date mistyped: day and month swapped where that makes a date, or one of
    /// day, month and year a little off.
    fn misdated(&mut self, born: NaiveDate) -> NaiveDate {
        for _ in 0..20 {
            let candidate = if born.day() <= 12 && born.day() != born.month() && self.rng.chance(0.5) {
                NaiveDate::from_ymd_opt(born.year(), born.day(), born.month())
            } else {
                match self.rng.below(3) {
                    0 => born.with_day((born.day() as i64 + self.rng.between(-3, 3)).clamp(1, 31) as u32),
                    1 => born.with_month((born.month() as i64 + self.rng.between(-1, 1)).clamp(1, 12) as u32),
                    _ => born.with_year(born.year() + if self.rng.chance(0.5) { 1 } else { -1 }),
                }
            };
            if let Some(date) = candidate.filter(|date| *date != born && *date <= self.today) {
                return date;
            }
        }
        born
    }

    fn age_of(&self, born: NaiveDate) -> i32 {
        self.today.year() - born.year()
    }

    fn varied_name_of(&mut self, person: usize) -> String {
        let facts = self.facts[person].clone();
        let identity = &self.people[person].identity;
        let (sex, age) = (identity.sex, self.age_of(identity.birth_date));
        vary_name(&mut self.rng, &facts.name, sex, age, facts.father.as_deref()).text()
    }

    fn duplicate(&mut self, kind: ProbeKind) -> Option<Probe> {
        let person = self.rng.below(self.people.len());
        let original = self.people[person].clone();
        let mut identity = original.identity.clone();
        let mut household_id = original.household_id;
        match kind {
            ProbeKind::NikDigit => identity.nik = self.mistyped_nik(&identity.nik, false)?,
            ProbeKind::NikTransposed => identity.nik = self.mistyped_nik(&identity.nik, true)?,
            ProbeKind::NameVariant => identity.full_name = self.varied_name_of(person),
            ProbeKind::NikAndName => {
                let transpose = self.rng.chance(0.5);
                identity.nik = self.mistyped_nik(&identity.nik, transpose)?;
                identity.full_name = self.varied_name_of(person);
                if self.rng.chance(0.25) {
                    identity.birth_date = self.misdated(identity.birth_date);
                }
            }
            ProbeKind::SecondNik => {
                let registered = identity.nik.region();
                let district = loop {
                    let district = if self.rng.chance(0.7) {
                        *self.rng.pick(&self.home_districts)
                    } else {
                        *self.rng.pick(&self.province_districts)
                    };
                    if district != registered || self.home_districts.len() < 2 {
                        break district;
                    }
                };
                identity.nik = self.allocate_nik(district, identity.birth_date, identity.sex);
                if self.rng.chance(0.5) {
                    identity.full_name = self.varied_name_of(person);
                }
                if self.rng.chance(0.35) {
                    identity.region = *self.rng.pick(&self.villages);
                }
                household_id = None;
            }
            ProbeKind::NikOfAnother => {
                let sex = if self.rng.chance(0.5) { Sex::Male } else { Sex::Female };
                let age = self.rng.between(18, 70);
                let born = self.born(age);
                let name = new_name(&mut self.rng, sex, born, None);
                identity = Identity {
                    nik: identity.nik,
                    full_name: name.text(),
                    birth_date: born,
                    sex,
                    region: *self.rng.pick(&self.villages),
                };
                household_id = None;
            }
            ProbeKind::OtherHousehold => {
                if self.rng.chance(0.3) {
                    identity.full_name = self.varied_name_of(person);
                }
                let own = self.facts[person].household;
                let other = loop {
                    let other = self.rng.below(self.households.len());
                    if other != own || self.households.len() < 2 {
                        break other;
                    }
                };
                household_id = Some(self.households[other].id);
                identity.region = self.households[other].village;
            }
            ProbeKind::Clean => return Some(self.clean()),
        }
        Some(Probe {
            kind,
            identity,
            household_id,
            original: Some(original.person_id),
        })
    }

    /// Somebody new: a new household's adult, a newborn in a known household, or the twin of
    /// a known child registered late (same date, same district, the next serial).
    fn clean(&mut self) -> Probe {
        let roll = self.rng.below(100);
        let (identity, household_id) = if roll < 60 {
            let village = *self.rng.pick(&self.villages);
            let sex = if self.rng.chance(0.5) { Sex::Male } else { Sex::Female };
            let age = self.rng.between(18, 80);
            let born = self.born(age);
            let district = self.registration_district(village);
            let nik = self.allocate_nik(district, born, sex);
            let name = new_name(&mut self.rng, sex, born, None);
            (
                Identity {
                    nik,
                    full_name: name.text(),
                    birth_date: born,
                    sex,
                    region: village,
                },
                None,
            )
        } else {
            let household = self.rng.below(self.households.len());
            let head = self.households[household].members[0];
            let father = (self.people[head].identity.sex == Sex::Male).then(|| self.facts[head].name.calling_name());
            let child = self.households[household]
                .members
                .iter()
                .copied()
                .find(|&member| self.age_of(self.people[member].identity.birth_date) < 18);
            let (born, district) = match child {
                Some(child) if roll >= 90 => (
                    self.people[child].identity.birth_date,
                    self.people[child].identity.nik.region(),
                ),
                _ => {
                    let age = self.rng.between(0, 1);
                    let village = self.households[household].village;
                    (self.born(age), village.district().unwrap_or(village))
                }
            };
            let sex = if self.rng.chance(0.5) { Sex::Male } else { Sex::Female };
            let nik = self.allocate_nik(district, born, sex);
            let name = self.name_in(household, sex, born, father.as_deref());
            (
                Identity {
                    nik,
                    full_name: name.text(),
                    birth_date: born,
                    sex,
                    region: self.households[household].village,
                },
                Some(self.households[household].id),
            )
        };
        Probe {
            kind: ProbeKind::Clean,
            identity,
            household_id,
            original: None,
        }
    }
}
