//! What an import does with each good row, given what is already stored.

use std::collections::HashMap;

use super::RegistryRow;

/// A person as stored, as far as an import needs to know: who holds which NIK, and the
/// fingerprint of the row last written for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPerson {
    pub person_id: String,
    pub nik: String,
    /// `None` for a row written before fingerprints were kept.
    pub content_hash: Option<Vec<u8>>,
}

/// Why a good row cannot be written over what is stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoredConflict {
    /// The NIK belongs to someone else in the registry. Which of the two records is right is
    /// for a person to settle; the import does not move a NIK between people.
    #[error("this NIK is already registered to registry person {person_id}")]
    NikHeldByAnother { person_id: String },
}

impl StoredConflict {
    /// The column the conflict is about.
    pub fn field(&self) -> &'static str {
        match self {
            StoredConflict::NikHeldByAnother { .. } => "nik",
        }
    }
}

/// What to do with one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowChange {
    /// A person the registry did not have.
    Insert,
    /// A person it had, recorded differently (a corrected NIK included).
    Update,
    /// A person it had, exactly as the row says: nothing is written.
    Unchanged,
    Conflict(StoredConflict),
}

/// One decision per row, in order. Rows are matched to stored people by person id, the id
/// enrolments and decisions refer to; a NIK is unique across people, so a row whose NIK a
/// different stored person holds is a conflict, not an update of that person.
///
/// `rows` must hold each person id and NIK at most once (the file-wide checks see to it), each
/// with its [`RegistryRow::content_hash`], and `stored` every stored person whose person id or
/// NIK appears in `rows`.
pub fn plan_changes<'a>(
    rows: impl IntoIterator<Item = (&'a RegistryRow, &'a [u8; 32])>,
    stored: &[StoredPerson],
) -> Vec<RowChange> {
    let by_person: HashMap<&str, &StoredPerson> = stored.iter().map(|s| (s.person_id.as_str(), s)).collect();
    let by_nik: HashMap<&str, &StoredPerson> = stored.iter().map(|s| (s.nik.as_str(), s)).collect();
    rows.into_iter()
        .map(|(row, hash)| {
            if let Some(holder) = by_nik.get(row.nik.as_str())
                && holder.person_id != row.person_id.as_str()
            {
                return RowChange::Conflict(StoredConflict::NikHeldByAnother {
                    person_id: holder.person_id.clone(),
                });
            }
            match by_person.get(row.person_id.as_str()) {
                None => RowChange::Insert,
                Some(person) if person.content_hash.as_deref() == Some(&hash[..]) => RowChange::Unchanged,
                Some(_) => RowChange::Update,
            }
        })
        .collect()
}
