//! Synthetic registry files, for benchmarks and tests of the bulk import: deterministic for a
//! seed, in the import format, with structurally valid NIK and KK numbers in real Kemendagri
//! villages, and households that hold together (one head, the same household columns on
//! every member's row). Optionally every n-th row is broken in one of several ways, to
//! exercise the rejects file.
//!
//! The people are made up; any likeness of a NIK to a real one is chance.

use std::collections::HashSet;
use std::io::Write;

use chrono::{Datelike, NaiveDate};
use slrt_identity::{RegionCode, RegionLevel, Regions};

use crate::domain::{Column, Floor, Roof, Wall};

/// What to generate.
#[derive(Debug, Clone)]
pub struct SyntheticRegistry {
    /// Data rows to write.
    pub rows: u64,
    /// The same seed gives the same file.
    pub seed: u64,
    /// Households live in villages of this region (a province, regency or district).
    pub region: RegionCode,
    /// Prefix of every person and household id, so that files made for different tests do
    /// not share ids.
    pub id_prefix: String,
    /// Break every n-th row (1-based), cycling through [`DEFECTS`].
    pub bad_every: Option<u64>,
}

/// What each broken row has wrong, in the order they are used, with the field a reject names.
pub const DEFECTS: [(&str, &str); 8] = [
    ("nik", "NIK serial 0000"),
    ("desil", "desil 11"),
    ("region_code", "a village code not in the Kemendagri table"),
    ("nik", "the NIK of the row before"),
    ("sex", "sex X"),
    ("enrolments", "a programme not in the catalogue"),
    ("birth_date", "30 February"),
    ("", "a field missing"),
];

/// What was written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyntheticSummary {
    pub rows: u64,
    pub households: u64,
    pub broken_rows: u64,
}

/// Surveys and family cards in the file are dated up to this day, so the file is valid for an
/// import on any later day.
pub const REFERENCE_DATE: (i32, u32, u32) = (2025, 12, 31);

/// Writes the file described by `spec` to `out`.
pub fn write_synthetic_registry(spec: &SyntheticRegistry, out: impl Write) -> std::io::Result<SyntheticSummary> {
    let villages: Vec<RegionCode> = Regions::kemendagri()
        .iter()
        .filter(|region| region.level() == RegionLevel::Village && spec.region.contains(region))
        .collect();
    if villages.is_empty() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("region {} has no villages", spec.region),
        ));
    }
    // Flexible: one kind of broken row is a row with a field missing.
    let mut writer = csv::WriterBuilder::new().flexible(true).from_writer(out);
    writer.write_record(Column::ALL.map(Column::name))?;
    let mut generator = Generator {
        random: SplitMix64(spec.seed),
        villages,
        niks: HashSet::new(),
        kk_numbers: HashSet::new(),
        reference: NaiveDate::from_ymd_opt(REFERENCE_DATE.0, REFERENCE_DATE.1, REFERENCE_DATE.2).unwrap_or_default(),
    };
    let mut summary = SyntheticSummary::default();
    let mut previous_nik = String::new();
    while summary.rows < spec.rows {
        summary.households += 1;
        let household = generator.household(spec, summary.households);
        for mut fields in household {
            if summary.rows == spec.rows {
                break;
            }
            summary.rows += 1;
            let nik = fields[Column::Nik as usize].clone();
            if let Some(every) = spec
                .bad_every
                .filter(|every| *every > 0 && summary.rows.is_multiple_of(*every))
            {
                let defect = ((summary.rows / every - 1) % DEFECTS.len() as u64) as usize;
                break_row(&mut fields, defect, &previous_nik);
                summary.broken_rows += 1;
            }
            previous_nik = nik;
            writer.write_record(&fields)?;
        }
    }
    writer.flush()?;
    Ok(summary)
}

fn break_row(fields: &mut Vec<String>, defect: usize, previous_nik: &str) {
    let field = |column: Column| column as usize;
    match defect {
        0 => fields[field(Column::Nik)].replace_range(12..16, "0000"),
        1 => fields[field(Column::Desil)] = "11".to_owned(),
        2 => {
            let village = &mut fields[field(Column::RegionCode)];
            village.replace_range(village.len() - 4.., "9999");
        }
        3 if !previous_nik.is_empty() => fields[field(Column::Nik)] = previous_nik.to_owned(),
        3 | 4 => fields[field(Column::Sex)] = "X".to_owned(),
        5 => fields[field(Column::Enrolments)] = "KIS".to_owned(),
        6 => fields[field(Column::BirthDate)] = "1985-02-30".to_owned(),
        _ => {
            fields.pop();
        }
    }
}

/// SplitMix64: small, fast, and the same on every machine.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// A number in `low..=high`.
    fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.below(high.saturating_sub(low) + 1)
    }

    /// True with probability `percent` / 100.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const MEN: [&str; 24] = [
    "Slamet", "Darto", "Sukardi", "Wagiman", "Tarmuji", "Sutrisno", "Budi", "Agus", "Joko", "Eko", "Hendra", "Ahmad",
    "Muhammad", "Moh.", "Abdul", "Rizky", "Dimas", "Bagus", "Yusuf", "Iqbal", "Aditya", "Fajar", "Wahyu", "Teguh",
];
const WOMEN: [&str; 24] = [
    "Siti", "Sumiyati", "Wartini", "Khotimah", "Suwarti", "Mulyani", "Endang", "Sri", "Ratna", "Dewi", "Nur",
    "Fitriani", "Laila", "Nurul", "Putri", "Aisyah", "Zahra", "Karsini", "Rasmi", "Maesaroh", "Indah", "Wulan", "Rina",
    "Yuni",
];
const SECOND_NAMES: [&str; 20] = [
    "",
    "",
    "",
    "",
    "",
    "Santoso",
    "Prasetyo",
    "Wijaya",
    "Hidayat",
    "Saputra",
    "Lestari",
    "Rahmawati",
    "Aminah",
    "Susilowati",
    "Anggraini",
    "Ramadhan",
    "Maulana",
    "Hidayah",
    "Pratama",
    "Rohman",
];

struct Generator {
    random: SplitMix64,
    villages: Vec<RegionCode>,
    niks: HashSet<u64>,
    kk_numbers: HashSet<u64>,
    reference: NaiveDate,
}

/// One member of a household being made.
struct Member {
    relationship: &'static str,
    female: bool,
    birth_date: NaiveDate,
}

impl Generator {
    /// Every member's row of household number `number`, head first, as CSV fields.
    fn household(&mut self, spec: &SyntheticRegistry, number: u64) -> Vec<Vec<String>> {
        let village = *self.random.pick(&self.villages);
        let district = village.district().map(|d| d.compact()).unwrap_or_default();
        let members = self.members();
        let desil = self.desil();
        let kk_number = self.kk_number(&district);
        let poor = desil <= 4;
        let floor = if poor && self.random.chance(40) {
            *self.random.pick(&[Floor::Earth, Floor::Bamboo, Floor::Wood])
        } else {
            *self.random.pick(&[Floor::Cement, Floor::Tile, Floor::Tile])
        };
        let wall = if poor && self.random.chance(35) {
            *self.random.pick(&[Wall::Bamboo, Wall::Wood])
        } else {
            Wall::Brick
        };
        let roof = if poor && self.random.chance(20) {
            *self.random.pick(&[Roof::Thatch, Roof::Zinc, Roof::Asbestos])
        } else {
            *self.random.pick(&[Roof::Tile, Roof::Tile, Roof::Concrete, Roof::Zinc])
        };
        let car = self.random.chance(if desil >= 7 { 25 } else { 2 });
        let motorbike = self.random.chance(65);
        let land = self.random.chance(30);
        // Household programmes as the registry lists them; BLT-DD is a village's, only for
        // families on neither PKH nor BPNT.
        let mut household_programmes: Vec<&str> = Vec::new();
        if poor && self.random.chance(45) {
            household_programmes.extend(["PKH", "BPNT"]);
        } else if poor && self.random.chance(25) {
            household_programmes.push("BPNT");
        } else if poor && is_desa(village) && self.random.chance(15) {
            household_programmes.push("BLT-DD");
        }
        let pbi_jk = desil <= 5 && self.random.chance(60);

        let mut rows = Vec::with_capacity(members.len());
        for (index, member) in members.iter().enumerate() {
            let nik = self.nik(&district, member);
            let age = self.reference.years_since(member.birth_date).unwrap_or(0);
            let deceased = index > 0 && self.random.chance(1);
            let deceased_on = if deceased {
                let lived = (self.reference - member.birth_date).num_days().max(1) as u64;
                let died = member.birth_date + chrono::Days::new(self.random.between(lived / 2, lived));
                died.to_string()
            } else {
                String::new()
            };
            let mut programmes = household_programmes.clone();
            if pbi_jk {
                programmes.push("PBI-JK");
            }
            if poor && (6..=18).contains(&age) && self.random.chance(50) {
                programmes.push("PIP");
            }
            let name = if member.female {
                *self.random.pick(&WOMEN)
            } else {
                *self.random.pick(&MEN)
            };
            let second = *self.random.pick(&SECOND_NAMES);
            let full_name = if second.is_empty() {
                name.to_owned()
            } else {
                format!("{name} {second}")
            };
            let flag = |value: bool| if value { "true" } else { "false" }.to_owned();
            let mut fields = vec![String::new(); Column::ALL.len()];
            let mut set = |column: Column, value: String| fields[column as usize] = value;
            set(
                Column::PersonId,
                format!("{}P{:09}", spec.id_prefix, number * 10 + index as u64),
            );
            set(Column::Nik, nik);
            set(Column::FullName, full_name);
            set(Column::BirthDate, member.birth_date.to_string());
            set(Column::Sex, if member.female { "F" } else { "M" }.to_owned());
            set(Column::HouseholdId, format!("{}H{number:08}", spec.id_prefix));
            set(Column::KkNumber, kk_number.clone());
            set(Column::RegionCode, village.dotted());
            set(Column::RelationshipToHead, member.relationship.to_owned());
            set(Column::Desil, desil.to_string());
            set(Column::Deceased, flag(deceased));
            set(Column::Enrolments, programmes.join(";"));
            set(Column::DeceasedOn, deceased_on);
            set(Column::Floor, floor.as_str().to_owned());
            set(Column::Wall, wall.as_str().to_owned());
            set(Column::Roof, roof.as_str().to_owned());
            set(Column::OwnsCar, flag(car));
            set(Column::OwnsMotorbike, flag(motorbike));
            set(Column::OwnsLand, flag(land));
            rows.push(fields);
        }
        rows
    }

    /// A head, then perhaps a spouse, children and a parent: one to seven people.
    fn members(&mut self) -> Vec<Member> {
        let head_age = self.random.between(22, 78);
        let head_female = self.random.chance(18);
        let mut members = vec![Member {
            relationship: "head",
            female: head_female,
            birth_date: self.born(head_age),
        }];
        let mut youngest_parent = head_age;
        if self.random.chance(80) {
            let spouse_age = (head_age + self.random.between(0, 10)).saturating_sub(5).max(19);
            youngest_parent = youngest_parent.min(spouse_age);
            members.push(Member {
                relationship: "spouse",
                female: !head_female,
                birth_date: self.born(spouse_age),
            });
        }
        let children = if youngest_parent >= 20 { self.random.below(5) } else { 0 };
        for _ in 0..children {
            let age = self.random.below(youngest_parent - 18);
            members.push(Member {
                relationship: "child",
                female: self.random.chance(50),
                birth_date: self.born(age),
            });
        }
        if head_age <= 55 && self.random.chance(12) {
            let age = (head_age + self.random.between(20, 30)).min(95);
            members.push(Member {
                relationship: "parent",
                female: self.random.chance(60),
                birth_date: self.born(age),
            });
        }
        members
    }

    /// Poorer deciles are the registry's bulk.
    fn desil(&mut self) -> u64 {
        const WEIGHTS: [u64; 10] = [14, 13, 12, 11, 10, 9, 9, 8, 7, 7];
        let mut draw = self.random.below(WEIGHTS.iter().sum());
        for (index, weight) in WEIGHTS.iter().enumerate() {
            if draw < *weight {
                return index as u64 + 1;
            }
            draw -= weight;
        }
        10
    }

    /// A birth date `age` whole years before the reference date.
    fn born(&mut self, age: u64) -> NaiveDate {
        let year = self.reference.year() - i32::try_from(age).unwrap_or(0) - 1;
        let day = u32::try_from(self.random.between(1, 365)).unwrap_or(1);
        NaiveDate::from_yo_opt(year, day).unwrap_or(self.reference)
    }

    /// `PPKKCC DDMMYY SSSS`, unique in the file: the serial moves on from a random start
    /// until the number is free.
    fn nik(&mut self, district: &str, member: &Member) -> String {
        let day = member.birth_date.day() + if member.female { 40 } else { 0 };
        let stem = format!(
            "{district}{day:02}{:02}{:02}",
            member.birth_date.month(),
            member.birth_date.year() % 100
        );
        unique_number(&mut self.random, &mut self.niks, &stem)
    }

    /// `PPKKCC DDMMYY SSSS` with a recording date between 2005 and the reference date.
    fn kk_number(&mut self, district: &str) -> String {
        let years_ago = self.random.between(0, 20);
        let recorded = self.born(years_ago);
        let stem = format!(
            "{district}{:02}{:02}{:02}",
            recorded.day(),
            recorded.month(),
            recorded.year() % 100
        );
        unique_number(&mut self.random, &mut self.kk_numbers, &stem)
    }
}

/// A desa (village code 2xxx) rather than a kelurahan (1xxx): only a desa has BLT-DD.
fn is_desa(village: RegionCode) -> bool {
    village.compact().as_bytes().get(6) == Some(&b'2')
}

fn unique_number(random: &mut SplitMix64, used: &mut HashSet<u64>, stem: &str) -> String {
    let start = random.between(1, 9999);
    for offset in 0..9999 {
        let serial = (start + offset - 1) % 9999 + 1;
        let number = format!("{stem}{serial:04}");
        if used.insert(number.parse().unwrap_or(0)) {
            return number;
        }
    }
    // Ten thousand people of one district born on one day: the serials are spent, and a
    // duplicate (which the import refuses) says so plainly.
    format!("{stem}{start:04}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Catalogue, RowValidator, registry_csv_reader};

    fn generate(rows: u64, seed: u64, bad_every: Option<u64>) -> Vec<u8> {
        let spec = SyntheticRegistry {
            rows,
            seed,
            region: RegionCode::parse("33.75").expect("Kota Pekalongan"),
            id_prefix: "T-".to_owned(),
            bad_every,
        };
        let mut out = Vec::new();
        let summary = write_synthetic_registry(&spec, &mut out).expect("written");
        assert_eq!(summary.rows, rows);
        out
    }

    /// The field of every refused row, in order, and how many households lack a head.
    fn refusals(file: &[u8]) -> (Vec<String>, usize) {
        let catalogue = Catalogue::parse(include_str!("../data/catalogue/2026.1.toml")).expect("the shipped catalogue");
        let today = NaiveDate::from_ymd_opt(2026, 3, 2).expect("a date");
        let mut reader = registry_csv_reader(file);
        let header = reader.byte_headers().expect("a header").clone();
        let mut validator = RowValidator::new(&header, today)
            .expect("every column")
            .with_catalogue(catalogue);
        let mut record = csv::ByteRecord::new();
        let mut fields = Vec::new();
        while reader.read_byte_record(&mut record).expect("readable") {
            if let Err(refusal) = validator.validate(&record) {
                fields.push(refusal.field().unwrap_or_default().to_owned());
            }
        }
        (fields, validator.households_without_head().len())
    }

    #[test]
    fn the_same_seed_gives_the_same_file_and_another_seed_another() {
        assert_eq!(generate(300, 7, None), generate(300, 7, None));
        assert_ne!(generate(300, 7, None), generate(300, 8, None));
    }

    #[test]
    fn a_generated_file_passes_every_rule_of_the_import() {
        let (refused, headless) = refusals(&generate(3_000, 1, None));

        assert_eq!(refused, Vec::<String>::new());
        assert_eq!(headless, 0);
    }

    #[test]
    fn each_broken_row_is_refused_for_its_defect() {
        let (refused, _) = refusals(&generate(1_000, 1, Some(50)));

        let expected: Vec<String> = DEFECTS
            .iter()
            .cycle()
            .take(20)
            .map(|(field, _)| (*field).to_owned())
            .collect();
        assert_eq!(refused, expected);
    }
}
