//! The embedded Kemendagri table (provenance in `data/README.md`), parsed once on first use.

use std::collections::HashMap;
use std::fmt;
use std::sync::LazyLock;

use super::{Key, RegionCode};

const EMBEDDED: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/data/wilayah_kemendagri_2025.csv"));

static KEMENDAGRI: LazyLock<Regions> = LazyLock::new(load_embedded);

#[expect(
    clippy::expect_used,
    reason = "the table is compiled into the binary and a unit test loads it, so a bad row is \
              a build defect that no caller could handle"
)]
fn load_embedded() -> Regions {
    Regions::from_csv(EMBEDDED).expect("the embedded Kemendagri region table is well formed")
}

/// Every Kemendagri region: 38 provinces, 514 regencies and cities, 7,285 districts and 83,762
/// villages (Kepmendagri No 300.2.2-2138 Tahun 2025).
///
/// Codes given as text may be dotted (`33.75`) or compact (`3375`).
pub struct Regions {
    // Sorted by key, so a parent comes before its children and `RegionCode` can be an index.
    // That index means the embedded table: no other instance is reachable outside this module.
    entries: Vec<Entry>,
    by_key: HashMap<Key, u32>,
}

pub(super) struct Entry {
    pub(super) key: Key,
    pub(super) name: Box<str>,
    pub(super) parent: Option<u32>,
}

/// What is wrong with a region table. Only the embedded table is ever loaded, so this surfaces
/// in tests, not to callers.
#[derive(Debug, thiserror::Error)]
pub(super) enum TableError {
    #[error("region table is not readable CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("region table header must be kode,nama")]
    Header,
    #[error("region table line {line}: {code:?} is not a region code")]
    Code { line: u64, code: String },
    #[error("region table line {line}: region {code} has no name")]
    Name { line: u64, code: Key },
    #[error("region table lists {0} twice")]
    Duplicate(Key),
    #[error("region table lists {0} but not the region above it")]
    Orphan(Key),
    #[error("region table has more rows than a region code can index")]
    TooLarge,
}

impl Regions {
    /// The embedded table; parsed on the first call, shared afterwards.
    pub fn kemendagri() -> &'static Regions {
        &KEMENDAGRI
    }

    /// The region with this code, if the table has it.
    pub fn get(&self, code: &str) -> Option<RegionCode> {
        Key::parse(code.trim()).and_then(|key| self.find(key))
    }

    /// Whether the table has a region with this code.
    pub fn exists(&self, code: &str) -> bool {
        self.get(code).is_some()
    }

    /// The official name of the region with this code, e.g. `Kabupaten Kendal` for `33.24`.
    pub fn name_of(&self, code: &str) -> Option<&str> {
        self.get(code).map(|region| &*self.entry(region.index).name)
    }

    /// How many regions the table has, at all levels.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the table has no regions (never true of the embedded one).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every region in code order, each just before the regions inside it.
    pub fn iter(&self) -> impl Iterator<Item = RegionCode> + '_ {
        (0..self.entries.len()).filter_map(|index| u32::try_from(index).ok().map(|index| RegionCode { index }))
    }

    pub(crate) fn find(&self, key: Key) -> Option<RegionCode> {
        self.by_key.get(&key).map(|&index| RegionCode { index })
    }

    pub(super) fn entry(&self, index: u32) -> &Entry {
        // Indexes come only from this table, so they are in range.
        &self.entries[index as usize]
    }

    /// Reads `kode,nama` rows with dotted codes. Every region's parent must be listed too.
    pub(super) fn from_csv(text: &str) -> Result<Self, TableError> {
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        if reader.headers()?.iter().ne(["kode", "nama"]) {
            return Err(TableError::Header);
        }
        let mut rows = Vec::new();
        for record in reader.records() {
            let record = record?;
            let line = record.position().map_or(0, csv::Position::line);
            let code = record.get(0).unwrap_or_default();
            let key = Key::parse(code).ok_or_else(|| TableError::Code {
                line,
                code: code.to_owned(),
            })?;
            // Some names in the source carry trailing spaces.
            let name = record.get(1).unwrap_or_default().trim();
            if name.is_empty() {
                return Err(TableError::Name { line, code: key });
            }
            rows.push((key, Box::<str>::from(name)));
        }
        rows.sort_by_key(|(key, _)| *key);

        let mut entries: Vec<Entry> = Vec::with_capacity(rows.len());
        let mut by_key = HashMap::with_capacity(rows.len());
        for (key, name) in rows {
            let index = u32::try_from(entries.len()).map_err(|_| TableError::TooLarge)?;
            if by_key.insert(key, index).is_some() {
                return Err(TableError::Duplicate(key));
            }
            let parent = match key.parent() {
                None => None,
                Some(parent) => Some(*by_key.get(&parent).ok_or(TableError::Orphan(key))?),
            };
            entries.push(Entry { key, name, parent });
        }
        Ok(Self { entries, by_key })
    }
}

impl fmt::Debug for Regions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Regions")
            .field("len", &self.entries.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RegionLevel;

    #[test]
    fn embedded_table_has_every_kemendagri_region() {
        let regions = Regions::kemendagri();
        let count = |level| regions.iter().filter(|r| r.level() == level).count();
        assert_eq!(count(RegionLevel::Province), 38);
        assert_eq!(count(RegionLevel::Regency), 514);
        assert_eq!(count(RegionLevel::District), 7_285);
        assert_eq!(count(RegionLevel::Village), 83_762);
        assert_eq!(regions.len(), 91_599);
    }

    #[test]
    fn embedded_table_names_carry_no_surrounding_spaces() {
        let regions = Regions::kemendagri();
        let padded = regions.iter().find(|r| r.name() != r.name().trim());
        assert_eq!(padded, None);
        assert_eq!(regions.name_of("31.72"), Some("Kota Administrasi Jakarta Utara"));
    }

    #[test]
    fn embedded_table_keeps_quoted_names_with_commas() {
        assert_eq!(Regions::kemendagri().name_of("12.07.28.1007"), Some("Lubuk Pakam I,II"));
    }

    #[test]
    fn table_whose_region_lacks_its_parent_is_refused() {
        let result = Regions::from_csv("kode,nama\n33,Jawa Tengah\n33.75.01,Pekalongan Barat\n");
        assert!(matches!(result, Err(TableError::Orphan(_))), "{result:?}");
    }

    #[test]
    fn table_listing_a_region_twice_is_refused() {
        let result = Regions::from_csv("kode,nama\n33,Jawa Tengah\n33,Jawa Tengah\n");
        assert!(matches!(result, Err(TableError::Duplicate(_))), "{result:?}");
    }

    #[test]
    fn table_with_a_malformed_code_is_refused() {
        let result = Regions::from_csv("kode,nama\n33,Jawa Tengah\n33.7,Kota\n");
        assert!(matches!(result, Err(TableError::Code { line: 3, .. })), "{result:?}");
    }

    #[test]
    fn table_with_an_unnamed_region_is_refused() {
        let result = Regions::from_csv("kode,nama\n33, \n");
        assert!(matches!(result, Err(TableError::Name { .. })), "{result:?}");
    }

    #[test]
    fn table_with_other_columns_is_refused() {
        let result = Regions::from_csv("code,name\n33,Jawa Tengah\n");
        assert!(matches!(result, Err(TableError::Header)), "{result:?}");
    }
}
