//! The statement as a CSV file, for reconciliation from files. The columns are documented
//! with `BankControl.ExportStatement` in `proto/slrt/bank/v1/bank.proto`.

use std::io;
use std::path::{Path, PathBuf};

use crate::ledger::Statement;
use crate::time::rfc3339;

pub const COLUMNS: [&str; 8] = [
    "idempotency_key",
    "bank_reference",
    "batch_id",
    "amount_idr",
    "status",
    "reason",
    "at",
    "attempt",
];

/// Writes `statement` to `path`: first beside it, then renamed into place, so a reader
/// polling the folder never sees half a file.
pub fn write_csv(path: &Path, statement: &Statement) -> io::Result<()> {
    let partial = partial_path(path)?;
    let result = write_rows(&partial, statement).and_then(|()| std::fs::rename(&partial, path));
    if result.is_err() {
        // Nothing useful to do if the leftover cannot be removed either; the first error
        // is the one the caller needs.
        let _ = std::fs::remove_file(&partial);
    }
    result
}

fn partial_path(path: &Path) -> io::Result<PathBuf> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path names no file"))?;
    let mut partial = name.to_os_string();
    partial.push(".partial");
    Ok(path.with_file_name(partial))
}

fn write_rows(path: &Path, statement: &Statement) -> io::Result<()> {
    let mut writer = csv::Writer::from_path(path)?;
    writer.write_record(COLUMNS)?;
    for item in &statement.items {
        writer.write_record([
            item.key.as_str(),
            &item.reference.to_string(),
            &item.batch_id,
            &item.amount_idr.to_string(),
            item.status.as_str(),
            &item.reason,
            &rfc3339(item.at),
            &item.attempt.to_string(),
        ])?;
    }
    let file = writer.into_inner().map_err(|error| error.into_error())?;
    file.sync_all()
}
