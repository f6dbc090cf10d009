//! The evidence feed as a CSV file (`POST /v1/evidence/file`): one item per line, each
//! checked and applied on its own as if it came over gRPC. A bad line is reported with its
//! line, field and reason and the rest are applied; since every item is idempotent by
//! (source, reference), sending the same file again changes nothing.

use serde::Serialize;
use slrt_errors::{ApiError, ErrorCode};

use super::{SubmitError, Submitted};
use crate::app::Eligibility;
use crate::app::scope::ChangeBy;
use crate::domain::evidence::RawEvidence;

/// Columns every file must have; the others may be left out.
pub const REQUIRED_COLUMNS: [&str; 5] = ["kind", "nik", "source", "reference", "observed_on"];
/// Columns only some kinds fill.
pub const OPTIONAL_COLUMNS: [&str; 4] = ["retracts", "employer_category", "plate", "desil"];

/// What became of a file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FileReport {
    /// Data lines read (comments and blank lines not counted).
    pub lines: u64,
    /// Items recorded and applied now.
    pub recorded: u64,
    /// Items recorded before (the same item again): nothing changed.
    pub unchanged: u64,
    pub rejected: u64,
    /// One entry per refused line, in file order.
    pub rejects: Vec<FileReject>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FileReject {
    /// The line in the file (the header is line 1).
    pub line: u64,
    /// The column at fault; empty when the line as a whole is.
    pub field: String,
    pub reason: String,
}

impl Eligibility {
    /// Applies every line of an evidence file, each audited as `by` submitting it. A broken
    /// header refuses the whole file; a database failure stops it where it is (the lines
    /// before are applied, and sending the file again applies the rest).
    ///
    /// A feed sending its own file (`feed_agency`) supplies every line itself: a line naming
    /// another source is refused, and an empty source is the feed's. The back office relays
    /// files agencies gave it, so their lines keep the source they name.
    pub async fn import_evidence_file(
        &self,
        body: &[u8],
        by: &ChangeBy,
        feed_agency: Option<&str>,
    ) -> Result<FileReport, ApiError> {
        let body = body.strip_prefix("\u{feff}".as_bytes()).unwrap_or(body);
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .comment(Some(b'#'))
            .trim(csv::Trim::All)
            .flexible(true)
            .from_reader(body);
        let header = reader
            .byte_headers()
            .map_err(|error| ApiError::invalid("header", format!("the header line cannot be read: {error}")))?
            .clone();
        let names: Vec<String> = header
            .iter()
            .map(|name| String::from_utf8_lossy(name).to_string())
            .collect();
        let position = |column: &str| names.iter().position(|name| name == column);
        for column in REQUIRED_COLUMNS {
            if position(column).is_none() {
                return Err(ApiError::invalid(
                    "header",
                    format!(
                        "the header has no `{column}` column; required: {}",
                        REQUIRED_COLUMNS.join(", ")
                    ),
                ));
            }
        }
        let mut report = FileReport::default();
        let mut record = csv::ByteRecord::new();
        loop {
            let line = reader.position().line() + 1;
            match reader.read_byte_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {}
                Err(error) => {
                    report.lines += 1;
                    report.reject(line, "", format!("the line cannot be read as CSV: {error}"));
                    continue;
                }
            }
            let line = record.position().map(|p| p.line()).unwrap_or(line);
            report.lines += 1;
            if record.len() != names.len() {
                report.reject(
                    line,
                    "",
                    format!("{} fields where the header has {}", record.len(), names.len()),
                );
                continue;
            }
            let mut bad_utf8 = None;
            let mut field = |column: &'static str| -> String {
                let Some(index) = position(column) else {
                    return String::new();
                };
                match std::str::from_utf8(&record[index]) {
                    Ok(text) => text.to_owned(),
                    Err(_) => {
                        bad_utf8.get_or_insert(column);
                        String::new()
                    }
                }
            };
            let mut raw = RawEvidence {
                kind: field("kind"),
                nik: field("nik"),
                source: field("source"),
                reference: field("reference"),
                observed_on: field("observed_on"),
                retracts: field("retracts"),
                employer_category: field("employer_category"),
                plate: field("plate"),
                desil: field("desil"),
            };
            if let Some(column) = bad_utf8 {
                report.reject(line, column, "not UTF-8 text".into());
                continue;
            }
            if let Some(agency) = feed_agency {
                match raw.source.trim() {
                    "" => raw.source = agency.to_owned(),
                    source if source == agency => {}
                    source => {
                        let shown: String = source.chars().take(40).collect();
                        report.reject(
                            line,
                            "source",
                            format!("{shown:?} is not the agency your token acts for ({agency}); a feed sends its own evidence"),
                        );
                        continue;
                    }
                }
            }
            match self.submit_evidence(&raw, by).await {
                Ok(Submitted { created: true, .. }) => report.recorded += 1,
                Ok(Submitted { created: false, .. }) => report.unchanged += 1,
                Err(SubmitError::AlreadyExists(error)) => report.reject(line, error.field, error.reason),
                Err(SubmitError::Api(error)) if matches!(error.code, ErrorCode::Unavailable | ErrorCode::Internal) => {
                    return Err(error);
                }
                Err(SubmitError::Api(error)) => {
                    let field = error.field.clone().unwrap_or_default();
                    report.reject(line, &field, error.message);
                }
            }
        }
        Ok(report)
    }
}

impl FileReport {
    fn reject(&mut self, line: u64, field: &str, reason: String) {
        self.rejected += 1;
        self.rejects.push(FileReject {
            line,
            field: field.to_owned(),
            reason,
        });
    }
}
