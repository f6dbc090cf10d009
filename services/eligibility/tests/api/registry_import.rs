//! The bulk registry import (`slrt-registry-import`), through its public API and its binary,
//! against a fresh database per test.

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::NaiveDate;
use slrt_eligibility::app::Eligibility;
use slrt_eligibility::app::registry::import::{self, ImportError, ImportOptions, ImportReport};
use slrt_eligibility::domain::{Catalogue, Catalogues};
use slrt_eligibility::startup;
use slrt_eligibility::synthetic::{SyntheticRegistry, write_synthetic_registry};
use slrt_eventstore::EventStore;
use slrt_identity::{Nik, RegionCode};
use slrt_testkit::fresh_database_url;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use uuid::Uuid;

use super::SHIPPED_CATALOGUE;

const HEADER: &str = "person_id,nik,full_name,birth_date,sex,household_id,kk_number,region_code,relationship_to_head,desil,deceased,enrolments,deceased_on,floor,wall,roof,owns_car,owns_motorbike,owns_land";
/// Household columns of H-1: earth floor, bamboo walls, zinc roof, a motorbike.
const H1: &str = "earth,bamboo,zinc,false,true,false";
const PLAIN: &str = "cement,brick,tile,false,false,false";

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 2).unwrap()
}

fn catalogue() -> Catalogue {
    Catalogue::parse(SHIPPED_CATALOGUE).unwrap()
}

fn store() -> EventStore {
    EventStore::new("eligibility", "slrt.eligibility.events.v1")
}

/// A fresh database with eligibility's tables, and its URL.
async fn migrated_database() -> (PgPool, String) {
    let url = fresh_database_url().await;
    let pool = PgPoolOptions::new().max_connections(4).connect(&url).await.unwrap();
    slrt_eventstore::migrate(&pool).await.unwrap();
    let mut migrations = startup::migrations();
    migrations.set_ignore_missing(true);
    migrations.run(&pool).await.unwrap();
    (pool, url)
}

/// A file of its own, in a folder of its own (so is its rejects file).
fn registry_file(lines: &[String]) -> PathBuf {
    let folder = std::env::temp_dir().join(format!("slrt-registry-import-{}", Uuid::now_v7()));
    std::fs::create_dir_all(&folder).unwrap();
    let path = folder.join("registry.csv");
    std::fs::write(&path, format!("{HEADER}\n{}\n", lines.join("\n"))).unwrap();
    path
}

fn synthetic_file(rows: u64, bad_every: Option<u64>) -> PathBuf {
    let folder = std::env::temp_dir().join(format!("slrt-registry-import-{}", Uuid::now_v7()));
    std::fs::create_dir_all(&folder).unwrap();
    let path = folder.join("synthetic.csv");
    let spec = SyntheticRegistry {
        rows,
        seed: 11,
        region: RegionCode::parse("33.24").unwrap(),
        id_prefix: "T-".to_owned(),
        bad_every,
    };
    write_synthetic_registry(&spec, std::fs::File::create(&path).unwrap()).unwrap();
    path
}

/// The same bytes at another path, with a rejects file of its own.
fn copy_of(path: &Path) -> PathBuf {
    let copy = registry_file(&[]);
    std::fs::copy(path, &copy).unwrap();
    copy
}

/// One person's row with the given household columns; not deceased.
#[expect(clippy::too_many_arguments, reason = "one argument per column a test varies")]
fn person(
    id: &str,
    nik: &str,
    name: &str,
    birth_date: &str,
    household: &str,
    kk: &str,
    relationship: &str,
    desil: &str,
    enrolments: &str,
    household_columns: &str,
) -> String {
    let sex = if nik[6..8].parse::<u32>().unwrap() > 40 {
        "F"
    } else {
        "M"
    };
    format!(
        "{id},{nik},{name},{birth_date},{sex},{household},{kk},33.75.01.1002,{relationship},{desil},false,{enrolments},,{household_columns}"
    )
}

fn options(batch_size: usize) -> ImportOptions {
    ImportOptions {
        batch_size,
        ..ImportOptions::new(today())
    }
}

async fn import(pool: &PgPool, path: &Path, options: &ImportOptions) -> ImportReport {
    import::import_file(pool, &store(), &catalogue(), path, options, |_| {})
        .await
        .expect("the import runs")
}

/// Every stored person and enrolment as JSON, in a fixed order; with `updated_at` when
/// `with_times`, to show a row was not written again.
async fn snapshot(pool: &PgPool, with_times: bool) -> (Vec<String>, Vec<String>) {
    let people: Vec<String> = sqlx::query_scalar(
        "SELECT (to_jsonb(p) - CASE WHEN $1 THEN '' ELSE 'updated_at' END)::text
         FROM registry_people p ORDER BY person_id",
    )
    .bind(with_times)
    .fetch_all(pool)
    .await
    .unwrap();
    let enrolments: Vec<String> = sqlx::query_scalar(
        "SELECT (to_jsonb(e) - 'enrolment_id' - 'created_at' - 'updated_at'
                 - CASE WHEN $1 THEN '' ELSE 'started_on' END)::text
         FROM enrolments e ORDER BY programme_code, beneficiary_kind, beneficiary_id",
    )
    .bind(with_times)
    .fetch_all(pool)
    .await
    .unwrap();
    (people, enrolments)
}

async fn registry_events(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM es_events WHERE event_type = 'slrt.eligibility.v1.RegistryImported'")
        .fetch_one(pool)
        .await
        .unwrap()
}

/// The rejects file as (line, field, reason, row) tuples.
fn rejects(report: &ImportReport) -> Vec<(String, String, String, String)> {
    let mut reader = csv::Reader::from_path(&report.rejects_path).unwrap();
    assert_eq!(reader.headers().unwrap(), vec!["line", "field", "reason", "row"]);
    reader
        .records()
        .map(|record| {
            let record = record.unwrap();
            (
                record[0].to_owned(),
                record[1].to_owned(),
                record[2].to_owned(),
                record[3].to_owned(),
            )
        })
        .collect()
}

fn slamet() -> String {
    person(
        "P-1",
        "3375011204810001",
        "Slamet",
        "1981-04-12",
        "H-1",
        "3375011503180007",
        "head",
        "1",
        "PKH;BPNT",
        H1,
    )
}

fn siti() -> String {
    person(
        "P-2",
        "3375014309840002",
        "Siti Aminah",
        "1984-09-03",
        "H-1",
        "3375011503180007",
        "spouse",
        "1",
        "PKH;BPNT;PBI-JK",
        H1,
    )
}

fn darto() -> String {
    person(
        "P-3",
        "3375011809900001",
        "Darto",
        "1990-09-18",
        "H-2",
        "3375011001150006",
        "head",
        "3",
        "",
        PLAIN,
    )
}

#[tokio::test]
async fn a_valid_file_is_imported_with_its_households_programmes_and_dwelling() {
    let (pool, _) = migrated_database().await;
    let file = registry_file(&[slamet(), siti(), darto()]);

    let report = import(&pool, &file, &options(5_000)).await;

    assert!(report.completed);
    assert_eq!(report.counts.rows, 3);
    assert_eq!(report.counts.inserted, 3);
    assert_eq!(report.counts.rejected, 0);
    // PKH and BPNT once for the household, PBI-JK for Siti.
    assert_eq!(report.counts.enrolments_seeded, 3);
    assert_eq!(rejects(&report), vec![]);
    let eligibility = Eligibility::new(
        pool.clone(),
        store(),
        Catalogues::single(catalogue()),
        super::nik_tokens(),
    );
    let screening = eligibility
        .screen_person(&Nik::parse_at("3375014309840002", today()).unwrap())
        .await
        .unwrap();
    assert_eq!(screening.household_id.unwrap().as_str(), "H-1");
    assert_eq!(screening.desil.unwrap().get(), 1);
    let programmes: Vec<&str> = screening.active_programmes.iter().map(|p| p.as_str()).collect();
    assert_eq!(programmes, ["BPNT", "PBI-JK", "PKH"]);
    let dwelling: (String, String, String, bool, Option<bool>) = sqlx::query_as(
        "SELECT floor, wall, roof, owns_motorbike, owns_land FROM registry_people WHERE person_id = 'P-1'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        dwelling,
        ("earth".into(), "bamboo".into(), "zinc".into(), true, Some(false))
    );
    assert_eq!(registry_events(&pool).await, 1);
}

#[tokio::test]
async fn each_kind_of_bad_row_is_rejected_with_its_line_field_and_reason_and_nothing_else_changes() {
    let (pool, _) = migrated_database().await;
    // Someone the registry already has, whose NIK a row of the file claims.
    let holder = person(
        "P-900",
        "3375011910900001",
        "Holder",
        "1990-10-19",
        "H-900",
        "3375011001150007",
        "head",
        "5",
        "",
        PLAIN,
    );
    import(&pool, &registry_file(std::slice::from_ref(&holder)), &options(5_000)).await;
    let (holder_before, _) = snapshot(&pool, true).await;
    let rows = [
        slamet(), // line 2
        siti(),   // 3
        person(
            "P-3",
            "3375011001900000",
            "Bad Nik",
            "1990-01-10",
            "H-3",
            "3375011001150001",
            "head",
            "2",
            "",
            PLAIN,
        ), // 4
        person(
            "P-4",
            "3375011102900001",
            "Bad Kk",
            "1990-02-11",
            "H-4",
            "3375011001150000",
            "head",
            "2",
            "",
            PLAIN,
        ), // 5
        person(
            "P-5",
            "3375011203900001",
            "Bad Region",
            "1990-03-12",
            "H-5",
            "3375011001150002",
            "head",
            "2",
            "",
            PLAIN,
        )
        .replace("33.75.01.1002", "33.75.01.1999"), // 6
        person(
            "P-6",
            "3375011304900001",
            "Bad Desil",
            "1990-04-13",
            "H-6",
            "3375011001150003",
            "head",
            "11",
            "",
            PLAIN,
        ), // 7
        person(
            "P-7",
            "3375011204810001",
            "Same Nik",
            "1981-04-12",
            "H-7",
            "3375011001150004",
            "head",
            "2",
            "",
            PLAIN,
        ), // 8
        person(
            "P-8",
            "3375011405100001",
            "Other Desil",
            "2010-05-14",
            "H-1",
            "3375011503180007",
            "child",
            "2",
            "PKH",
            H1,
        ), // 9
        person(
            "P-9",
            "3375011506700001",
            "Second Head",
            "1970-06-15",
            "H-1",
            "3375011503180007",
            "head",
            "1",
            "",
            H1,
        ), // 10
        person(
            "P-10",
            "3375011607900001",
            "Unknown Programme",
            "1990-07-16",
            "H-10",
            "3375011001150005",
            "head",
            "2",
            "KIS",
            PLAIN,
        ), // 11
        "P-11,3375011708900001,Short Row,1990-08-17,M".to_owned(), // 12
        person(
            "P-12",
            "3375011910900001",
            "Taken Nik",
            "1990-10-19",
            "H-12",
            "3375011001150008",
            "head",
            "2",
            "",
            PLAIN,
        ), // 13
        darto(),  // 14
    ];
    let file = registry_file(&rows);

    // Batches of four, so a duplicate is caught across batches too.
    let report = import(&pool, &file, &options(4)).await;

    let expected: Vec<(String, String, String, String)> = [
        (4, "nik", "NIK serial 0000 is not valid"),
        (5, "kk_number", "KK number serial 0000 is not valid"),
        (
            6,
            "region_code",
            "region code 33.75.01.1999 is not in the Kemendagri table",
        ),
        (7, "desil", "a desil is a whole number from 1 (poorest) to 10 (richest)"),
        (8, "nik", "the same nik is already on line 2"),
        (
            9,
            "desil",
            "household H-1 has a different desil on line 2; every member's row must agree",
        ),
        (
            10,
            "relationship_to_head",
            "household H-1 already has its head on line 2; a household has exactly one head",
        ),
        (11, "enrolments", "KIS is not a programme in catalogue 2026.1"),
        (12, "", "the row has 5 fields where the header has 19"),
        (13, "nik", "this NIK is already registered to registry person P-900"),
    ]
    .into_iter()
    .map(|(line, field, reason)| {
        (
            line.to_string(),
            field.to_owned(),
            reason.to_owned(),
            rows[line - 2].clone(),
        )
    })
    .collect();
    assert_eq!(rejects(&report), expected);
    assert_eq!(
        (report.counts.rows, report.counts.inserted, report.counts.rejected),
        (13, 3, 10)
    );
    let (people, _) = snapshot(&pool, true).await;
    let ids: Vec<String> = people
        .iter()
        .map(|p| {
            serde_json::from_str::<serde_json::Value>(p).unwrap()["person_id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(ids, ["P-1", "P-2", "P-3", "P-900"].map(String::from));
    assert!(people.contains(&holder_before[0]), "the NIK's holder is untouched");
}

#[tokio::test]
async fn a_file_without_a_required_column_is_refused_whole_and_nothing_is_written() {
    let (pool, _) = migrated_database().await;
    let file = registry_file(&[slamet()]);
    let text = std::fs::read_to_string(&file)
        .unwrap()
        .replacen(",desil,", ",decile,", 1);
    std::fs::write(&file, text).unwrap();

    let error = import::import_file(&pool, &store(), &catalogue(), &file, &options(10), |_| {})
        .await
        .expect_err("no desil column");

    assert!(
        error
            .to_string()
            .ends_with("registry.csv: the registry file has no `desil` column in its header"),
        "{error}"
    );
    assert_eq!(snapshot(&pool, true).await, (vec![], vec![]));
}

#[tokio::test]
async fn importing_the_same_file_again_changes_nothing() {
    let (pool, _) = migrated_database().await;
    let file = synthetic_file(1_200, Some(101));
    let first = import(&pool, &file, &options(250)).await;
    let before = snapshot(&pool, true).await;
    let rejects_before = rejects(&first);

    let again = import(&pool, &file, &options(250)).await;

    assert_eq!(again.counts.inserted, 0);
    assert_eq!(again.counts.updated, 0);
    assert_eq!(again.counts.enrolments_seeded, 0);
    assert_eq!(again.counts.unchanged, first.counts.inserted);
    assert_eq!(again.counts.rejected, first.counts.rejected);
    assert!(first.counts.rejected > 0 && first.counts.enrolments_seeded > 0);
    assert_eq!(snapshot(&pool, true).await, before, "no row written again");
    assert_eq!(rejects(&again), rejects_before);
    assert!(!again.recorded_event);
    assert_eq!(registry_events(&pool).await, 1);
}

#[tokio::test]
async fn an_interrupted_import_resumes_after_its_last_commit_and_ends_as_a_clean_import_does() {
    let file = synthetic_file(2_300, Some(97));
    let (clean_pool, _) = migrated_database().await;
    let clean = import(&clean_pool, &file, &options(500)).await;

    let (pool, _) = migrated_database().await;
    let interrupted_file = copy_of(&file);
    let stopped = import(
        &pool,
        &interrupted_file,
        &ImportOptions {
            stop_after_batches: Some(2),
            ..options(500)
        },
    )
    .await;
    assert!(!stopped.completed);
    assert_eq!(stopped.counts.rows, 1_000);
    assert_eq!(registry_events(&pool).await, 0, "no event before the run finishes");
    // A crash after a batch's rejects reached the disk but before its commit leaves them
    // beyond what the checkpoint recorded.
    let mut rejects_file = std::fs::OpenOptions::new()
        .append(true)
        .open(&stopped.rejects_path)
        .unwrap();
    std::io::Write::write_all(&mut rejects_file, b"1999,nik,written but never committed,\"x\"\n").unwrap();

    let resumed = import(&pool, &interrupted_file, &options(500)).await;

    assert!(resumed.completed);
    assert_eq!(resumed.resumed_after_line, Some(1_001));
    assert_eq!(resumed.rows_this_run, 1_300);
    assert_eq!(resumed.counts, clean.counts);
    assert_eq!(rejects(&resumed), rejects(&clean));
    assert_eq!(snapshot(&pool, false).await, snapshot(&clean_pool, false).await);
    assert_eq!(registry_events(&pool).await, 1);
}

#[tokio::test]
async fn a_changed_row_is_updated_on_reimport_and_a_recorded_death_is_not_undone() {
    let (pool, _) = migrated_database().await;
    let rasmi = person(
        "P-4",
        "3375014905410001",
        "Rasmi",
        "1941-05-09",
        "H-1",
        "3375011503180007",
        "parent",
        "1",
        "",
        H1,
    )
    .replace(",false,,,", ",true,,2025-11-03,");
    import(
        &pool,
        &registry_file(&[slamet(), siti(), rasmi.clone()]),
        &options(5_000),
    )
    .await;
    let (before, _) = snapshot(&pool, true).await;

    // Siti gets PIP and a new name spelling; Rasmi's row now says she is alive.
    let siti_changed = siti()
        .replace("Siti Aminah", "Siti Aminah binti Karto")
        .replace("PKH;BPNT;PBI-JK", "PKH;BPNT;PBI-JK;PIP");
    let rasmi_alive = rasmi.replace(",true,,2025-11-03,", ",false,,,");
    let report = import(
        &pool,
        &registry_file(&[slamet(), siti_changed, rasmi_alive]),
        &options(5_000),
    )
    .await;

    assert_eq!(
        (report.counts.inserted, report.counts.updated, report.counts.unchanged),
        (0, 2, 1)
    );
    assert_eq!(report.counts.enrolments_seeded, 1);
    let (after, _) = snapshot(&pool, true).await;
    assert_eq!(after[0], before[0], "Slamet is not written again");
    let (name, deceased, died): (String, bool, Option<NaiveDate>) = sqlx::query_as(
        "SELECT (SELECT full_name FROM registry_people WHERE person_id = 'P-2'), deceased, deceased_on
         FROM registry_people WHERE person_id = 'P-4'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(name, "Siti Aminah binti Karto");
    assert!(deceased, "a file does not bring the dead back");
    assert_eq!(died, NaiveDate::from_ymd_opt(2025, 11, 3));
}

#[tokio::test]
async fn a_second_import_while_one_runs_is_refused() {
    let (pool, _) = migrated_database().await;
    let mut running = pool.acquire().await.unwrap();
    sqlx::query("SELECT pg_advisory_lock(hashtextextended('eligibility.registry.import', 0))")
        .execute(&mut *running)
        .await
        .unwrap();

    let error = import::import_file(
        &pool,
        &store(),
        &catalogue(),
        &registry_file(&[slamet()]),
        &options(10),
        |_| {},
    )
    .await
    .expect_err("another import holds the lock");

    assert!(matches!(error, ImportError::Busy), "{error}");
}

#[tokio::test]
async fn the_command_migrates_imports_shows_a_summary_and_continues_after_a_stop() {
    // A database without any table: the command runs the migrations itself.
    let url = fresh_database_url().await;
    let file = synthetic_file(450, Some(90));
    let run = |extra: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_slrt-registry-import"))
            .arg(&file)
            .args(["--database-url", &url, "--batch-size", "100"])
            .args(extra)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    };

    let stopped = run(&["--stop-after-batches", "2"]);
    let finished = run(&[]);

    assert!(stopped.contains("stopped after 2 batches as asked"), "{stopped}");
    assert!(
        finished.contains("completed, continuing an interrupted import after line 201"),
        "{finished}"
    );
    assert_eq!(summary_value(&finished, "rows read"), "450", "{finished}");
    assert_eq!(summary_value(&finished, "rejected"), "5", "{finished}");
    let rejects_file = std::fs::read_to_string(import::rejects_path_for(&file)).unwrap();
    assert_eq!(rejects_file.lines().count(), 1 + 5, "{rejects_file}");
}

/// The number on the summary line that starts with `label`.
fn summary_value<'a>(summary: &'a str, label: &str) -> &'a str {
    summary
        .lines()
        .find_map(|line| line.trim_start().strip_prefix(label))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no {label} line in {summary}"))
}
