//! Several catalogue versions, each in force from its own date.
//!
//! Policy changes on a date (a new amount from July, a new programme from the next budget
//! year) and a decision must be taken under the policy in force on its own date, even when
//! it is replayed or decided after a backlog. So every version stays loaded, and the one in
//! force on a day is the latest whose `effective_from` is not after it.

use chrono::NaiveDate;

use super::{Catalogue, CatalogueError};

/// One catalogue file as read: where it came from (for messages) and its text.
#[derive(Debug, Clone)]
pub struct CatalogueFile {
    /// The path, or a description of a copy built into the binary.
    pub origin: String,
    pub text: String,
}

/// Why a set of catalogue files was refused. Every message names the file and, where it can,
/// the line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CataloguesError {
    #[error("no catalogue file was given")]
    Empty,
    #[error("{origin}: {error}")]
    File {
        origin: String,
        // Boxed: the file's own error is large, and it is the rare path.
        error: Box<CatalogueError>,
    },
    #[error(
        "{origin}: line {line}: catalogue field `effective_from`: version {version} takes effect on {date}, the same day \
         as version {other_version} ({other_origin}); only one catalogue can be in force on a day"
    )]
    SameDate {
        origin: String,
        line: usize,
        version: String,
        date: NaiveDate,
        other_version: String,
        other_origin: String,
    },
    #[error(
        "{origin}: line {line}: catalogue field `version`: version {version} is also the version of {other_origin}; \
         a decision names its version, so each must be unique"
    )]
    SameVersion {
        origin: String,
        line: usize,
        version: String,
        other_origin: String,
    },
}

/// Every catalogue version loaded, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalogues {
    versions: Vec<Catalogue>,
}

impl Catalogues {
    /// Parses every file and checks that no two versions share a name or a start date.
    pub fn parse(files: &[CatalogueFile]) -> Result<Self, CataloguesError> {
        let mut parsed: Vec<(&str, Catalogue)> = Vec::with_capacity(files.len());
        for file in files {
            let catalogue = Catalogue::parse(&file.text).map_err(|error| CataloguesError::File {
                origin: file.origin.clone(),
                error: Box::new(error),
            })?;
            if let Some((other_origin, _)) = parsed.iter().find(|(_, c)| c.version() == catalogue.version()) {
                return Err(CataloguesError::SameVersion {
                    origin: file.origin.clone(),
                    line: catalogue.lines.version,
                    version: catalogue.version().to_owned(),
                    other_origin: (*other_origin).to_owned(),
                });
            }
            if let Some((other_origin, other)) = parsed
                .iter()
                .find(|(_, c)| c.effective_from() == catalogue.effective_from())
            {
                return Err(CataloguesError::SameDate {
                    origin: file.origin.clone(),
                    line: catalogue.lines.effective_from,
                    version: catalogue.version().to_owned(),
                    date: catalogue.effective_from(),
                    other_version: other.version().to_owned(),
                    other_origin: (*other_origin).to_owned(),
                });
            }
            parsed.push((&file.origin, catalogue));
        }
        Self::new(parsed.into_iter().map(|(_, catalogue)| catalogue).collect())
    }

    /// Versions already parsed; they must not share a start date.
    pub fn new(mut versions: Vec<Catalogue>) -> Result<Self, CataloguesError> {
        if versions.is_empty() {
            return Err(CataloguesError::Empty);
        }
        versions.sort_by_key(Catalogue::effective_from);
        Ok(Self { versions })
    }

    /// A single version, in force from its date on (and, as the only policy known, before).
    pub fn single(catalogue: Catalogue) -> Self {
        Self {
            versions: vec![catalogue],
        }
    }

    /// The version in force on `day`: the latest that took effect on or before it. A day
    /// before the first version is governed by the first, the oldest policy the service
    /// knows, rather than by none.
    pub fn in_force(&self, day: NaiveDate) -> &Catalogue {
        self.versions
            .iter()
            .rev()
            .find(|catalogue| catalogue.effective_from() <= day)
            .unwrap_or(&self.versions[0])
    }

    /// Every version, oldest first.
    pub fn versions(&self) -> &[Catalogue] {
        &self.versions
    }

    pub fn version(&self, version: &str) -> Option<&Catalogue> {
        self.versions.iter().find(|catalogue| catalogue.version() == version)
    }

    /// The first day the version is no longer in force (the next version's start), if a
    /// later version is loaded.
    pub fn superseded_on(&self, version: &str) -> Option<NaiveDate> {
        let index = self.versions.iter().position(|c| c.version() == version)?;
        self.versions.get(index + 1).map(Catalogue::effective_from)
    }
}
