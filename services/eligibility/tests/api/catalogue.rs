//! Catalogue versions: each in force from its date, decisions taken under the version in
//! force on the day the case was opened, the versions served over HTTP, and a bad file
//! stopping start-up with its name and line.

use chrono::{NaiveDate, TimeZone, Utc};
use serde_json::Value;

use super::*;

const SHIPPED_2026_2: &str = include_str!("../../data/catalogue/2026.2.toml");

/// Head of H-000012 in the shipped seed: desil 5, above the national cut-off, on nothing.
const HEAD_DESIL_5: &str = "3324070101680004";
/// The head's wife, on the same family card.
const SPOUSE_DESIL_5: &str = "3324075503710001";

fn programme_codes(catalogue: &Value) -> Vec<&str> {
    catalogue["programmes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn the_versions_are_listed_with_the_days_each_is_in_force() {
    let app = spawn_app().await;

    let (status, body) = app.get("/v1/catalogue/versions").await;

    assert_eq!(status, 200, "{body}");
    let versions = body["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2, "{body:#}");
    assert_eq!(versions[0]["version"], "2026.1");
    assert_eq!(versions[0]["effective_from"], "2026-01-01");
    assert_eq!(versions[0]["superseded_on"], "2026-07-01");
    assert_eq!(versions[1]["version"], "2026.2");
    assert_eq!(versions[1]["superseded_on"], Value::Null);
    let today = slrt_identity::today_in_indonesia();
    let in_force = if today >= NaiveDate::from_ymd_opt(2026, 7, 1).unwrap() {
        1
    } else {
        0
    };
    assert_eq!(versions[in_force]["in_force_today"], true);
    assert_eq!(versions[1 - in_force]["in_force_today"], false);
    assert_eq!(
        versions[1]["programmes"].as_u64(),
        versions[0]["programmes"].as_u64().map(|n| n + 1)
    );
}

#[tokio::test]
async fn the_catalogue_of_a_day_is_the_version_in_force_on_it() {
    let app = spawn_app().await;

    let (status, march) = app.get("/v1/catalogue?on=2026-03-02").await;
    assert_eq!(status, 200, "{march}");
    assert_eq!(march["version"], "2026.1");
    assert_eq!(march["superseded_on"], "2026-07-01");
    assert!(!programme_codes(&march).contains(&"BLT-KOTA"));

    let (_, last_day) = app.get("/v1/catalogue?on=2026-06-30").await;
    assert_eq!(last_day["version"], "2026.1");

    let (_, july) = app.get("/v1/catalogue?on=2026-07-01").await;
    assert_eq!(july["version"], "2026.2");
    assert_eq!(july["effective_from"], "2026-07-01");
    let blt_kota = july["programmes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["code"] == "BLT-KOTA")
        .cloned()
        .expect("BLT-KOTA from 2026.2 on");
    assert_eq!(blt_kota["one_recipient_per_kk"], true);
    assert_eq!(blt_kota["max_desil"], 5);
    assert_eq!(blt_kota["excludes"], serde_json::json!(["PKH", "BPNT", "BLT-DD"]));
    assert_eq!(blt_kota["max_duration_months"], 12);
    assert_eq!(blt_kota["review_every_months"], 6);
    let pkh = july["programmes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["code"] == "PKH")
        .unwrap();
    assert_eq!(pkh["max_duration_months"], 60);
    assert_eq!(pkh["review_every_months"], 12);
}

#[tokio::test]
async fn a_malformed_day_is_refused_naming_the_field() {
    let app = spawn_app().await;

    for day in ["2026-13-01", "yesterday", ""] {
        let (status, body) = app.get(&format!("/v1/catalogue?on={day}")).await;

        assert_eq!(status, 400, "{day:?}: {body}");
        assert_eq!(body["error"]["field"], "on", "{body}");
        assert_eq!(body["error"]["code"], "invalid_input");
    }
}

#[tokio::test]
async fn a_case_opened_before_a_new_version_is_decided_under_the_old_one_and_a_later_case_under_the_new() {
    let app = spawn_app().await;
    let march = case_opened(HEAD_DESIL_5, "Sutrisno", "33.24.07.2003", &["cash_assistance"]);
    let now = case_opened(SPOUSE_DESIL_5, "Wartini", "33.24.07.2003", &["cash_assistance"]);

    open_case_at(&app, &march, Utc.with_ymd_and_hms(2026, 3, 2, 2, 0, 0).unwrap()).await;
    app.open_case(&now).await;
    let before = app.decision(case_id(&march)).await;
    let after = app.decision(case_id(&now)).await;

    assert_eq!(before["catalogue_version"], "2026.1");
    assert_eq!(before["decided_on"], "2026-03-02");
    assert_eq!(before["inputs"]["catalogue_effective_from"], "2026-01-01");
    let cash = need(&before, "cash_assistance");
    assert_eq!(cash["outcome"], "rejected", "{cash:#}");
    // PKH's component rule passes (a son of 18 is in the SMA band); the desil refuses it.
    assert_eq!(
        rules(cash),
        ["PKH.desil", "PKH.component", "BLT-DD.desil", "PENA.desil", "PENA.age"]
    );

    assert_eq!(after["catalogue_version"], "2026.2");
    assert_eq!(after["inputs"]["catalogue_effective_from"], "2026-07-01");
    let cash = need(&after, "cash_assistance");
    assert_eq!(cash["outcome"], "approved", "{cash:#}");
    assert_eq!(cash["programme"]["code"], "BLT-KOTA");
    assert_eq!(cash["benefit"]["amount_per_period_idr"], 300_000);
    assert_eq!(
        cash["beneficiary"],
        serde_json::json!({"kind": "person", "id": "P-000039"})
    );
    assert!(rules(cash).contains(&"BLT-KOTA.desil"), "{cash:#}");
}

#[tokio::test]
async fn a_decision_records_the_facts_it_was_taken_on() {
    let app = spawn_app().await;
    let opened = case_opened(DARTO, "Darto", "33.75.02.1004", &["cash_assistance"]);

    app.open_case(&opened).await;
    let decision = app.decision(case_id(&opened)).await;

    let inputs = &decision["inputs"];
    let decided_on = NaiveDate::parse_from_str(decision["decided_on"].as_str().unwrap(), "%Y-%m-%d").unwrap();
    let darto_born = NaiveDate::from_ymd_opt(1978, 1, 15).unwrap();
    assert_eq!(inputs["desil"], 3);
    assert_eq!(inputs["age"], decided_on.years_since(darto_born).unwrap());
    assert_eq!(inputs["deceased"], false);
    // Darto, his wife and two children born 2013 and 2019.
    assert_eq!(inputs["household_members"], 4);
    assert_eq!(inputs["living_members"], 4);
    assert_eq!(inputs["children_under_18"], 2);
    assert_eq!(inputs["elderly_70_plus"], 0);
    assert_eq!(inputs["enrolments_considered"], serde_json::json!([]));

    // The household on PKH and BPNT: what the rules saw is what refused the overlaps.
    let slamet = case_opened(SLAMET, "Slamet", "33.75.01.1002", &["cash_assistance"]);
    app.open_case(&slamet).await;
    let refused = app.decision(case_id(&slamet)).await;
    let seen: Vec<&str> = refused["inputs"]["enrolments_considered"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["programme_code"].as_str().unwrap())
        .collect();
    assert_eq!(seen, ["PKH", "BPNT"]);
    assert_eq!(refused["inputs"]["elderly_70_plus"], 1, "{:#}", refused["inputs"]);

    let events = app
        .own_events(|events| {
            events
                .iter()
                .any(|e| e.case_id == Some(case_id(&opened)) && e.is::<eligibility::CaseDecided>())
        })
        .await;
    let decided: eligibility::CaseDecided = events
        .iter()
        .find(|e| e.case_id == Some(case_id(&opened)) && e.is::<eligibility::CaseDecided>())
        .unwrap()
        .decode()
        .unwrap();
    let on_the_log = decided.inputs.unwrap();
    assert_eq!(
        (
            on_the_log.desil,
            on_the_log.household_members,
            on_the_log.children_under_18
        ),
        (3, 4, 2)
    );
    assert_eq!(on_the_log.decided_on, decided_on.to_string());
}

/// Start-up with `files` (name, text) in a catalogue directory: the error it stops with.
fn start_up_with_catalogue_files(files: &[(&str, &str)]) -> (String, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("catalogue-{}", Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    let error = settings(&[(CATALOGUE_VARIABLE, dir.display().to_string())]).unwrap_err();
    assert_eq!(error.variable, CATALOGUE_VARIABLE);
    (error.to_string(), dir)
}

#[test]
fn a_catalogue_directory_with_both_shipped_versions_starts() {
    let dir = std::env::temp_dir().join(format!("catalogue-{}", Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("2026.1.toml"), SHIPPED_CATALOGUE).unwrap();
    std::fs::write(dir.join("2026.2.toml"), SHIPPED_2026_2).unwrap();
    std::fs::write(dir.join("README.txt"), "not a catalogue").unwrap();

    let loaded = settings(&[(CATALOGUE_VARIABLE, dir.display().to_string())]).unwrap();

    let versions: Vec<&str> = loaded.catalogues.versions().iter().map(|c| c.version()).collect();
    assert_eq!(versions, ["2026.1", "2026.2"]);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn two_versions_in_force_from_the_same_day_stop_start_up_naming_the_file_and_line() {
    let draft = SHIPPED_2026_2.replace("version = \"2026.2\"", "version = \"2026.2-draft\"");

    let (message, dir) = start_up_with_catalogue_files(&[("2026.2.toml", SHIPPED_2026_2), ("draft.toml", &draft)]);

    let line = line_of(&draft, "effective_from =");
    assert_eq!(
        message,
        format!(
            "setting SLRT_ELIGIBILITY_CATALOGUE is invalid: {}: line {line}: catalogue field `effective_from`: version \
             2026.2-draft takes effect on 2026-07-01, the same day as version 2026.2 ({}); only one catalogue can be \
             in force on a day",
            dir.join("draft.toml").display(),
            dir.join("2026.2.toml").display()
        )
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn an_unknown_key_stops_start_up_naming_the_file_and_line() {
    let broken = SHIPPED_2026_2.replacen("code = \"BPNT\"\n", "code = \"BPNT\"\nmaximum_desil = 4\n", 1);

    let (message, dir) = start_up_with_catalogue_files(&[("2026.2.toml", &broken)]);

    let line = line_of(&broken, "maximum_desil");
    let prefix = format!(
        "setting SLRT_ELIGIBILITY_CATALOGUE is invalid: {}: line {line}: the catalogue is not valid TOML: unknown field \
         `maximum_desil`",
        dir.join("2026.2.toml").display()
    );
    assert!(message.starts_with(&prefix), "{message}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_bad_amount_stops_start_up_naming_the_file_line_and_programme() {
    let broken = SHIPPED_2026_2.replacen("amount_per_period_idr = 200_000", "amount_per_period_idr = 0", 1);

    let (message, dir) = start_up_with_catalogue_files(&[("2026.1.toml", SHIPPED_CATALOGUE), ("2026.2.toml", &broken)]);

    let line = line_of(&broken, "amount_per_period_idr = 0");
    assert_eq!(
        message,
        format!(
            "setting SLRT_ELIGIBILITY_CATALOGUE is invalid: {}: line {line}: programme BPNT, field \
             `cash.amount_per_period_idr`: Rp0 is not a positive amount",
            dir.join("2026.2.toml").display()
        )
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn an_exclusion_of_an_unknown_programme_stops_start_up_naming_the_file_line_and_programme() {
    let broken = SHIPPED_2026_2.replacen(
        "excludes = [\"PKH\", \"BPNT\", \"BLT-DD\"]",
        "excludes = [\"PKH\", \"BPNT\", \"BLT-DD\", \"KIS\"]",
        1,
    );

    let (message, dir) = start_up_with_catalogue_files(&[("2026.2.toml", &broken)]);

    let line = line_of(&broken, "\"KIS\"");
    assert_eq!(
        message,
        format!(
            "setting SLRT_ELIGIBILITY_CATALOGUE is invalid: {}: line {line}: programme BLT-KOTA, field `excludes`: KIS \
             is not a programme in this catalogue",
            dir.join("2026.2.toml").display()
        )
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn an_empty_catalogue_directory_stops_start_up() {
    let (message, dir) = start_up_with_catalogue_files(&[("notes.txt", "no catalogue here")]);

    assert_eq!(
        message,
        format!(
            "setting SLRT_ELIGIBILITY_CATALOGUE is invalid: {} holds no .toml catalogue file",
            dir.display()
        )
    );
    let _ = std::fs::remove_dir_all(dir);
}
