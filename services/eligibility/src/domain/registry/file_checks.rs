//! The rules a row must meet against the rows before it in the same file.

use std::collections::HashMap;

use slrt_identity::RegionCode;

use super::{Assets, Desil, HouseholdId, Housing, RegistryError, RegistryRow, Relationship};

/// What the file-wide rules remember of the rows accepted so far: no person id or NIK twice,
/// and each household's columns as its first row gave them, with the line of its head.
///
/// Kept small on purpose (a NIK as a number, a KK number as a number), since a bulk import
/// holds one entry per person of the file.
#[derive(Debug, Default)]
pub struct FileChecks {
    people: HashMap<Box<str>, u64>,
    niks: HashMap<u64, u64>,
    households: HashMap<HouseholdId, HouseholdSeen>,
}

#[derive(Debug)]
struct HouseholdSeen {
    first_line: u64,
    head_line: Option<u64>,
    kk_number: u64,
    region_code: RegionCode,
    desil: Desil,
    housing: Housing,
    assets: Assets,
}

impl HouseholdSeen {
    fn of(line: u64, row: &RegistryRow) -> Self {
        Self {
            first_line: line,
            head_line: (row.relationship_to_head == Relationship::Head).then_some(line),
            kk_number: digits(row.kk_number.as_str()),
            region_code: row.region_code,
            desil: row.desil,
            housing: row.housing,
            assets: row.assets,
        }
    }

    /// The first household column, if any, on which `row` describes the household otherwise.
    fn disagreement(&self, row: &RegistryRow) -> Option<&'static str> {
        let checks = [
            (self.kk_number == digits(row.kk_number.as_str()), "kk_number"),
            (self.region_code == row.region_code, "region_code"),
            (self.desil == row.desil, "desil"),
            (self.housing.floor == row.housing.floor, "floor"),
            (self.housing.wall == row.housing.wall, "wall"),
            (self.housing.roof == row.housing.roof, "roof"),
            (self.assets.car == row.assets.car, "owns_car"),
            (self.assets.motorbike == row.assets.motorbike, "owns_motorbike"),
            (self.assets.land == row.assets.land, "owns_land"),
        ];
        checks.into_iter().find(|(agrees, _)| !agrees).map(|(_, field)| field)
    }
}

// NIK and KK numbers are sixteen checked digits, so they fit a u64 without loss.
fn digits(number: &str) -> u64 {
    number.bytes().fold(0u64, |n, b| {
        n.wrapping_mul(10).wrapping_add(u64::from(b.wrapping_sub(b'0')))
    })
}

impl FileChecks {
    /// Checks `row`, found on `line`, against the rows accepted before it, and remembers it
    /// when it passes.
    pub fn check(&mut self, line: u64, row: &RegistryRow) -> Result<(), RegistryError> {
        if let Some(&first_line) = self.people.get(row.person_id.as_str()) {
            return Err(RegistryError::Duplicate {
                line,
                field: "person_id",
                first_line,
            });
        }
        let nik = digits(row.nik.as_str());
        if let Some(&first_line) = self.niks.get(&nik) {
            return Err(RegistryError::Duplicate {
                line,
                field: "nik",
                first_line,
            });
        }
        match self.households.get_mut(&row.household_id) {
            None => {
                self.households
                    .insert(row.household_id.clone(), HouseholdSeen::of(line, row));
            }
            Some(seen) => {
                if let Some(field) = seen.disagreement(row) {
                    return Err(RegistryError::HouseholdDisagrees {
                        line,
                        field,
                        household_id: row.household_id.clone(),
                        first_line: seen.first_line,
                    });
                }
                if row.relationship_to_head == Relationship::Head {
                    if let Some(first_line) = seen.head_line {
                        return Err(RegistryError::SecondHead {
                            line,
                            household_id: row.household_id.clone(),
                            first_line,
                        });
                    }
                    seen.head_line = Some(line);
                }
            }
        }
        self.people.insert(row.person_id.as_str().into(), line);
        self.niks.insert(nik, line);
        Ok(())
    }

    /// Households without a head among the rows accepted, with the line of their first row,
    /// in file order.
    pub fn households_without_head(&self) -> Vec<(HouseholdId, u64)> {
        let mut headless: Vec<(HouseholdId, u64)> = self
            .households
            .iter()
            .filter(|(_, seen)| seen.head_line.is_none())
            .map(|(id, seen)| (id.clone(), seen.first_line))
            .collect();
        headless.sort_by_key(|(_, first_line)| *first_line);
        headless
    }
}
