//! Bulk import of a registry file: streamed, validated row by row, written in batches,
//! resumable after a crash, and idempotent.
//!
//! - **Streaming.** The file is read one record at a time; what is held is one batch and
//!   what the file-wide rules remember (each accepted person id and NIK, a summary per
//!   household), never the file.
//! - **Batches.** Every `batch_size` data rows are written in one transaction: the good rows
//!   (an UNNEST insert of the new people, an UNNEST update of the changed ones, the enrolments
//!   they list) and the file's checkpoint. The batch's rejects are written to
//!   `<file>.rejects.csv` and flushed to disk just before that commit.
//! - **Idempotent.** Each stored person keeps the fingerprint of the row last written for
//!   them, so a row the database already has is not written again: importing the same file
//!   twice reports every good row unchanged and writes nothing.
//! - **Resumable.** The checkpoint (table `registry_imports`, keyed by the file's SHA-256)
//!   records the last line and the rejects file's length at each commit. A rerun after a crash
//!   reads the committed part again only to rebuild the file-wide rules' memory, cuts the
//!   rejects file back to its committed length, and continues after that line. The end state
//!   is the one a run without the crash reaches. A rerun of a file whose import finished
//!   starts a new run (which then finds every row unchanged).
//!
//! One import at a time per database: a run holds a session advisory lock.

use std::ffi::OsString;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use sha2::{Digest, Sha256};
use slrt_eventstore::{AppendError, EventStore, ExpectedVersion, NewEvent};
use slrt_proto::eligibility::v1 as proto;
use sqlx::{PgConnection, PgPool};

use super::{Written, seed_enrolments, write_people};
use crate::domain::{
    Catalogue, LedgerSeedError, RegistryError, RegistryRow, RowValidator, registry_csv_reader, seed_ledger,
};

/// How to run an import.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Data rows per transaction.
    pub batch_size: usize,
    /// The day rows are judged on (NIK centuries, no KK, birth or death after it), and the
    /// start date of the enrolments the rows seed.
    pub today: NaiveDate,
    /// Ignore an unfinished import of the same file and start again from its first row.
    pub restart: bool,
    /// Stop, unfinished, after this many batches of this run: a crash on purpose, to try
    /// resuming.
    pub stop_after_batches: Option<u64>,
}

impl ImportOptions {
    pub const DEFAULT_BATCH_SIZE: usize = 5_000;

    pub fn new(today: NaiveDate) -> Self {
        Self {
            batch_size: Self::DEFAULT_BATCH_SIZE,
            today,
            restart: false,
            stop_after_batches: None,
        }
    }
}

/// How far an import has got, reported after each batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub bytes_read: u64,
    pub total_bytes: u64,
    /// Data rows read so far, the part an interrupted run committed included.
    pub rows: u64,
    /// Data rows this run wrote or refused itself.
    pub rows_this_run: u64,
    /// Whether the rows are the part an interrupted run committed, read again only to
    /// rebuild the file-wide checks.
    pub replaying: bool,
}

/// A run's totals. After a resumed run, they include what the interrupted run committed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportCounts {
    /// Data rows read.
    pub rows: u64,
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub rejected: u64,
    pub enrolments_seeded: u64,
    /// Accepted rows whose NIK encodes another birth date or sex than the row declares.
    pub nik_warnings: u64,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    /// SHA-256 of the file, lower-case hex.
    pub file_sha256: String,
    pub rejects_path: PathBuf,
    pub counts: ImportCounts,
    /// The line after which this run continued an interrupted one.
    pub resumed_after_line: Option<u64>,
    /// Rows this run wrote or refused itself (excluding a resumed run's replayed part).
    pub rows_this_run: u64,
    pub batches_this_run: u64,
    /// False when the run stopped early on purpose ([`ImportOptions::stop_after_batches`]).
    pub completed: bool,
    /// Households among the accepted rows without a head, first ones first (known once the
    /// file is read to the end). Not refused: their rows were committed before the end of the
    /// file showed it, and a registry may list a household whose head has died.
    pub households_without_head: Vec<(String, u64)>,
    /// Whether the run recorded a `RegistryImported` event (it does when it changed something).
    pub recorded_event: bool,
}

/// Why an import stopped. Whatever was committed before stays, and a rerun continues after it.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("cannot read {} as CSV: {source}", path.display())]
    Csv { path: PathBuf, source: csv::Error },
    #[error("cannot write the rejects file {}: {source}", path.display())]
    Rejects { path: PathBuf, source: std::io::Error },
    /// The file as a whole is refused (its header lacks a required column); nothing is written.
    #[error("{}: {error}", path.display())]
    File { path: PathBuf, error: RegistryError },
    #[error("another registry import is running on this database; run this one when it has finished")]
    Busy,
    #[error("eligibility database: {0}")]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Append(#[from] AppendError),
    /// A row the validator accepted names a programme the catalogue lacks; cannot happen
    /// while both see the same catalogue.
    #[error(transparent)]
    Ledger(#[from] LedgerSeedError),
}

/// Imports the registry file at `path` into the database of `pool`, calling `on_progress`
/// after each batch. See the module documentation for what it guarantees.
pub async fn import_file(
    pool: &PgPool,
    store: &EventStore,
    catalogue: &Catalogue,
    path: &Path,
    options: &ImportOptions,
    on_progress: impl FnMut(&Progress),
) -> Result<ImportReport, ImportError> {
    let mut conn = pool.acquire().await?;
    let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtextextended($1, 0))")
        .bind(IMPORT_LOCK)
        .fetch_one(&mut *conn)
        .await?;
    if !locked {
        return Err(ImportError::Busy);
    }
    let result = Run::new(store, catalogue, path, options)
        .execute(&mut conn, on_progress)
        .await;
    let unlocked = sqlx::query("SELECT pg_advisory_unlock(hashtextextended($1, 0))")
        .bind(IMPORT_LOCK)
        .execute(&mut *conn)
        .await;
    if result.is_err() || unlocked.is_err() {
        // Closing the session is what surely releases its lock (and any transaction left).
        conn.close_on_drop();
    }
    result
}

const IMPORT_LOCK: &str = "eligibility.registry.import";

/// The rejects file of a registry file: `<file>.rejects.csv` beside it.
pub fn rejects_path_for(path: &Path) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(".rejects.csv");
    PathBuf::from(name)
}

/// SHA-256 of a file, lower-case hex, read in chunks.
pub fn file_sha256(path: &Path) -> std::io::Result<String> {
    let mut file = File::open(path)?;
    let mut hash = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        hash.update(&buffer[..read]);
    }
    Ok(hex::encode(hash.finalize()))
}

struct Run<'a> {
    store: &'a EventStore,
    catalogue: &'a Catalogue,
    path: &'a Path,
    options: &'a ImportOptions,
    rejects_path: PathBuf,
}

/// One data row read in this run, and the validator's verdict on it.
struct Pending {
    line: u64,
    raw: csv::ByteRecord,
    verdict: Result<RegistryRow, RegistryError>,
}

/// Where an import of this file stands in the database.
struct Checkpoint {
    file_sha256: String,
    last_line: u64,
    rejects_bytes: u64,
    counts: ImportCounts,
    /// The line an interrupted run had committed up to, when this run continues it.
    resumed_after: Option<u64>,
}

impl<'a> Run<'a> {
    fn new(store: &'a EventStore, catalogue: &'a Catalogue, path: &'a Path, options: &'a ImportOptions) -> Self {
        Self {
            store,
            catalogue,
            path,
            options,
            rejects_path: rejects_path_for(path),
        }
    }

    fn read_error(&self, source: std::io::Error) -> ImportError {
        ImportError::Read {
            path: self.path.to_path_buf(),
            source,
        }
    }

    fn csv_error(&self, source: csv::Error) -> ImportError {
        ImportError::Csv {
            path: self.path.to_path_buf(),
            source,
        }
    }

    // The file is read with blocking calls between the database's awaits: an import is a
    // batch job with the runtime to itself, and a read is short next to a batch's commit.
    async fn execute(
        self,
        conn: &mut PgConnection,
        mut on_progress: impl FnMut(&Progress),
    ) -> Result<ImportReport, ImportError> {
        let total_bytes = std::fs::metadata(self.path).map_err(|e| self.read_error(e))?.len();
        let sha256 = file_sha256(self.path).map_err(|e| self.read_error(e))?;
        let file = File::open(self.path).map_err(|e| self.read_error(e))?;
        let mut reader = registry_csv_reader(BufReader::with_capacity(1 << 20, file));
        let header = reader.byte_headers().map_err(|e| self.csv_error(e))?.clone();
        let mut validator = RowValidator::new(&header, self.options.today)
            .map_err(|error| ImportError::File {
                path: self.path.to_path_buf(),
                error,
            })?
            .with_catalogue(self.catalogue.clone());

        let (mut checkpoint, mut rejects) = self.checkpoint(conn, sha256, total_bytes).await?;
        let resume_after = checkpoint.last_line;
        let batch_size = self.options.batch_size.max(1);
        let mut batch: Vec<Pending> = Vec::with_capacity(batch_size);
        let mut record = csv::ByteRecord::new();
        let mut replayed: u64 = 0;
        let mut rows_this_run: u64 = 0;
        let mut batches: u64 = 0;
        loop {
            let more = reader.read_byte_record(&mut record).map_err(|e| self.csv_error(e))?;
            if more {
                let line = record.position().map_or(0, csv::Position::line);
                let verdict = validator.validate(&record);
                if line <= resume_after {
                    replayed += 1;
                    if replayed.is_multiple_of(batch_size as u64) {
                        on_progress(&Progress {
                            bytes_read: reader.position().byte(),
                            total_bytes,
                            rows: replayed,
                            rows_this_run: 0,
                            replaying: true,
                        });
                    }
                    continue;
                }
                batch.push(Pending {
                    line,
                    raw: record.clone(),
                    verdict,
                });
                if batch.len() < batch_size {
                    continue;
                }
            }
            if !batch.is_empty() {
                rows_this_run += batch.len() as u64;
                self.commit_batch(conn, std::mem::take(&mut batch), &mut checkpoint, &mut rejects)
                    .await?;
                batches += 1;
                on_progress(&Progress {
                    bytes_read: reader.position().byte(),
                    total_bytes,
                    rows: checkpoint.counts.rows,
                    rows_this_run,
                    replaying: false,
                });
                if self.options.stop_after_batches == Some(batches) {
                    return Ok(self.report(&checkpoint, rows_this_run, batches, false, Vec::new(), false));
                }
            }
            if !more {
                break;
            }
        }

        let headless: Vec<(String, u64)> = validator
            .households_without_head()
            .into_iter()
            .map(|(household, line)| (household.to_string(), line))
            .collect();
        let recorded_event = self.finish(conn, &checkpoint).await?;
        Ok(self.report(&checkpoint, rows_this_run, batches, true, headless, recorded_event))
    }

    /// Continues an unfinished import of this file when its rejects file still holds what
    /// the import committed; else starts a new run, with a new rejects file.
    async fn checkpoint(
        &self,
        conn: &mut PgConnection,
        file_sha256: String,
        total_bytes: u64,
    ) -> Result<(Checkpoint, RejectsFile), ImportError> {
        // Kept absolute, so that a rerun from another folder still finds the same file.
        let rejects_path = std::fs::canonicalize(self.path)
            .map(|path| rejects_path_for(&path))
            .unwrap_or_else(|_| self.rejects_path.clone())
            .display()
            .to_string();
        type Row = (String, i64, i64, i64, i64, i64, i64, i64, i64, i64, bool);
        let found: Option<Row> = sqlx::query_as(
            "SELECT rejects_path, last_line, rejects_bytes, rows_read, inserted, updated, unchanged, rejected,
                    enrolments_seeded, nik_warnings, completed_at IS NOT NULL
             FROM registry_imports WHERE file_sha256 = $1",
        )
        .bind(&file_sha256)
        .fetch_optional(&mut *conn)
        .await?;
        let unfinished = found.filter(|row| !row.10 && !self.options.restart && row.0 == rejects_path);
        if let Some(row) = unfinished {
            let count = |n: i64| u64::try_from(n).unwrap_or(0);
            let rejects_bytes = count(row.2);
            if let Some(rejects) =
                RejectsFile::reopen(&self.rejects_path, rejects_bytes).map_err(|e| self.rejects_error(e))?
            {
                let last_line = count(row.1);
                let checkpoint = Checkpoint {
                    file_sha256,
                    last_line,
                    rejects_bytes,
                    counts: ImportCounts {
                        rows: count(row.3),
                        inserted: count(row.4),
                        updated: count(row.5),
                        unchanged: count(row.6),
                        rejected: count(row.7),
                        enrolments_seeded: count(row.8),
                        nik_warnings: count(row.9),
                    },
                    resumed_after: Some(last_line),
                };
                return Ok((checkpoint, rejects));
            }
        }

        let mut rejects = RejectsFile::create(&self.rejects_path).map_err(|e| self.rejects_error(e))?;
        let rejects_bytes = rejects.sync().map_err(|e| self.rejects_error(e))?;
        let file_name = self
            .path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        sqlx::query(
            "INSERT INTO registry_imports (file_sha256, file_name, file_bytes, rejects_path, rejects_bytes)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (file_sha256) DO UPDATE SET
                 file_name = EXCLUDED.file_name, file_bytes = EXCLUDED.file_bytes,
                 rejects_path = EXCLUDED.rejects_path, rejects_bytes = EXCLUDED.rejects_bytes,
                 last_line = 0, rows_read = 0, inserted = 0, updated = 0, unchanged = 0, rejected = 0,
                 enrolments_seeded = 0, nik_warnings = 0, started_at = now(), updated_at = now(),
                 completed_at = NULL",
        )
        .bind(&file_sha256)
        .bind(file_name)
        .bind(i64::try_from(total_bytes).unwrap_or(i64::MAX))
        .bind(&rejects_path)
        .bind(i64::try_from(rejects_bytes).unwrap_or(i64::MAX))
        .execute(&mut *conn)
        .await?;
        let checkpoint = Checkpoint {
            file_sha256,
            last_line: 0,
            rejects_bytes,
            counts: ImportCounts::default(),
            resumed_after: None,
        };
        Ok((checkpoint, rejects))
    }

    fn rejects_error(&self, source: std::io::Error) -> ImportError {
        ImportError::Rejects {
            path: self.rejects_path.clone(),
            source,
        }
    }

    /// Writes one batch and moves the checkpoint past it, in one transaction. The batch's
    /// rejects reach the disk first: a crash before the commit leaves them beyond the
    /// committed length, where the rerun cuts them off.
    async fn commit_batch(
        &self,
        conn: &mut PgConnection,
        batch: Vec<Pending>,
        checkpoint: &mut Checkpoint,
        rejects: &mut RejectsFile,
    ) -> Result<(), ImportError> {
        let Some(last_line) = batch.last().map(|pending| pending.line) else {
            return Ok(());
        };
        let mut counts = checkpoint.counts;
        counts.rows += batch.len() as u64;
        let mut refused: Vec<(u64, &'static str, String, csv::ByteRecord)> = Vec::new();
        let mut good: Vec<RegistryRow> = Vec::with_capacity(batch.len());
        let mut good_raw: Vec<(u64, csv::ByteRecord)> = Vec::with_capacity(batch.len());
        for Pending { line, raw, verdict } in batch {
            match verdict {
                Ok(row) => {
                    counts.nik_warnings += u64::from(row.nik_disagrees());
                    good.push(row);
                    good_raw.push((line, raw));
                }
                Err(error) => refused.push((line, error.field().unwrap_or(""), error.reason(), raw)),
            }
        }

        let mut tx = sqlx::Acquire::begin(&mut *conn).await?;
        let Written {
            inserted,
            updated,
            unchanged,
            conflicts,
        } = write_people(&mut tx, &good).await?;
        for (index, conflict) in conflicts {
            let (line, raw) = std::mem::take(&mut good_raw[index]);
            refused.push((line, conflict.field(), conflict.to_string(), raw));
        }
        refused.sort_by_key(|(line, ..)| *line);
        for (line, field, reason, raw) in &refused {
            rejects
                .write(*line, field, reason, raw)
                .map_err(|e| self.rejects_error(e))?;
        }
        let rejects_bytes = rejects.sync().map_err(|e| self.rejects_error(e))?;

        let entries = seed_ledger(self.catalogue, inserted.iter().chain(&updated).map(|&i| &good[i]))?;
        let seeded = if entries.is_empty() {
            0
        } else {
            seed_enrolments(&mut tx, &entries, self.options.today).await?
        };
        counts.inserted += inserted.len() as u64;
        counts.updated += updated.len() as u64;
        counts.unchanged += unchanged as u64;
        counts.rejected += refused.len() as u64;
        counts.enrolments_seeded += seeded;
        save_counts(&mut tx, &checkpoint.file_sha256, last_line, rejects_bytes, &counts).await?;
        tx.commit().await?;

        checkpoint.counts = counts;
        checkpoint.last_line = last_line;
        checkpoint.rejects_bytes = rejects_bytes;
        Ok(())
    }

    /// Marks the run finished and, when it changed something, records `RegistryImported`.
    async fn finish(&self, conn: &mut PgConnection, checkpoint: &Checkpoint) -> Result<bool, ImportError> {
        let counts = checkpoint.counts;
        let mut tx = sqlx::Acquire::begin(&mut *conn).await?;
        sqlx::query("UPDATE registry_imports SET completed_at = now(), updated_at = now() WHERE file_sha256 = $1")
            .bind(&checkpoint.file_sha256)
            .execute(&mut *tx)
            .await?;
        let changed = counts.inserted + counts.updated + counts.enrolments_seeded > 0;
        if changed {
            let signed = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
            let event = proto::RegistryImported {
                file_sha256: checkpoint.file_sha256.clone(),
                file_name: self
                    .path
                    .file_name()
                    .map(|name| name.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                rows: signed(counts.rows),
                inserted: signed(counts.inserted),
                updated: signed(counts.updated),
                unchanged: signed(counts.unchanged),
                rejected: signed(counts.rejected),
                enrolments_seeded: signed(counts.enrolments_seeded),
                catalogue_version: self.catalogue.version().to_owned(),
            };
            self.store
                .append(
                    &mut tx,
                    &format!("registry-import-{}", checkpoint.file_sha256),
                    // Each finished run that changed something is one more event on the file's
                    // stream; the import lock keeps runs from racing.
                    ExpectedVersion::Any,
                    vec![NewEvent::new(&event)],
                )
                .await?;
        }
        tx.commit().await?;
        Ok(changed)
    }

    fn report(
        &self,
        checkpoint: &Checkpoint,
        rows_this_run: u64,
        batches_this_run: u64,
        completed: bool,
        households_without_head: Vec<(String, u64)>,
        recorded_event: bool,
    ) -> ImportReport {
        ImportReport {
            file_sha256: checkpoint.file_sha256.clone(),
            rejects_path: self.rejects_path.clone(),
            counts: checkpoint.counts,
            resumed_after_line: checkpoint.resumed_after,
            rows_this_run,
            batches_this_run,
            completed,
            households_without_head,
            recorded_event,
        }
    }
}

async fn save_counts(
    conn: &mut PgConnection,
    file_sha256: &str,
    last_line: u64,
    rejects_bytes: u64,
    counts: &ImportCounts,
) -> Result<(), sqlx::Error> {
    let signed = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    sqlx::query(
        "UPDATE registry_imports SET last_line = $2, rejects_bytes = $3, rows_read = $4, inserted = $5,
             updated = $6, unchanged = $7, rejected = $8, enrolments_seeded = $9, nik_warnings = $10,
             updated_at = now()
         WHERE file_sha256 = $1",
    )
    .bind(file_sha256)
    .bind(signed(last_line))
    .bind(signed(rejects_bytes))
    .bind(signed(counts.rows))
    .bind(signed(counts.inserted))
    .bind(signed(counts.updated))
    .bind(signed(counts.unchanged))
    .bind(signed(counts.rejected))
    .bind(signed(counts.enrolments_seeded))
    .bind(signed(counts.nik_warnings))
    .execute(conn)
    .await?;
    Ok(())
}

/// `<file>.rejects.csv`: one row per refused data row, `line,field,reason,row`, where `row` is
/// the original row as CSV. It holds personal data like the file it came from.
struct RejectsFile {
    writer: csv::Writer<File>,
}

impl RejectsFile {
    const HEADER: [&'static str; 4] = ["line", "field", "reason", "row"];

    fn create(path: &Path) -> std::io::Result<Self> {
        let mut writer = csv::Writer::from_writer(File::create(path)?);
        writer.write_record(Self::HEADER)?;
        Ok(Self { writer })
    }

    /// The rejects file of an unfinished import, cut back to what the import committed; `None`
    /// when it is missing or shorter, so its rejects cannot be continued.
    fn reopen(path: &Path, committed_bytes: u64) -> std::io::Result<Option<Self>> {
        let mut file = match std::fs::OpenOptions::new().read(true).write(true).open(path) {
            Ok(file) => file,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(error),
        };
        if file.metadata()?.len() < committed_bytes {
            return Ok(None);
        }
        file.set_len(committed_bytes)?;
        file.seek(SeekFrom::End(0))?;
        Ok(Some(Self {
            writer: csv::Writer::from_writer(file),
        }))
    }

    fn write(&mut self, line: u64, field: &str, reason: &str, raw: &csv::ByteRecord) -> std::io::Result<()> {
        let mut row = csv::Writer::from_writer(Vec::new());
        row.write_byte_record(raw)?;
        let mut row = row.into_inner().map_err(|e| e.into_error())?;
        while row.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            row.pop();
        }
        let line = line.to_string();
        self.writer
            .write_record([line.as_bytes(), field.as_bytes(), reason.as_bytes(), &row])?;
        Ok(())
    }

    /// Flushes what was written to the disk and returns the file's length.
    fn sync(&mut self) -> std::io::Result<u64> {
        self.writer.flush()?;
        let file = self.writer.get_ref();
        file.sync_data()?;
        // Always written at its end, so its length is where the next row goes.
        Ok(file.metadata()?.len())
    }
}
