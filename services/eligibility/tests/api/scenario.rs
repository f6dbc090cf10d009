//! A district of ten thousand households, through the public interfaces only: a synthetic
//! registry (with members who died but whose aid the registry still lists), agencies
//! reporting enrolments granted elsewhere (some breaking the overlap rules, some a second
//! PKH), the evidence feeds (death certificates, cars, civil-service salaries), the back
//! office ending what the violations report shows and resolving the verification tasks,
//! and cases decided at the desk. It must end with an empty violations report, and with no
//! decision lacking its reasons.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;
use slrt_eligibility::synthetic::{SyntheticRegistry, write_synthetic_registry};
use slrt_identity::RegionCode;
use slrt_proto::eligibility::v1::{ReportExternalEnrolmentEndedRequest, SubmitEvidenceRequest};

use super::*;

const HOUSEHOLDS: u64 = 10_000;

/// One person of the synthetic registry, as the test needs them.
struct Person {
    nik: String,
    household: u64,
    head: bool,
    deceased_on: Option<String>,
    programmes: Vec<String>,
}

/// The first `HOUSEHOLDS` households of a deterministic synthetic registry of Kabupaten
/// Kendal (a regency: its desa have BLT-DD), as a file, and its people by person id.
fn district() -> (String, BTreeMap<String, Person>) {
    let spec = SyntheticRegistry {
        // About 3.4 people per household: enough rows for the households wanted.
        rows: HOUSEHOLDS * 5,
        seed: 2026,
        region: RegionCode::parse("33.24").unwrap(),
        id_prefix: "S-".into(),
        bad_every: None,
    };
    let mut bytes = Vec::new();
    write_synthetic_registry(&spec, &mut bytes).unwrap();
    let text = String::from_utf8(bytes).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let columns: Vec<&str> = header.split(',').collect();
    let at = |name: &str| columns.iter().position(|c| *c == name).unwrap();
    let (id, nik, household, relationship, deceased_on, enrolments) = (
        at("person_id"),
        at("nik"),
        at("household_id"),
        at("relationship_to_head"),
        at("deceased_on"),
        at("enrolments"),
    );
    let mut file = format!("{header}\n");
    let mut people = BTreeMap::new();
    for line in lines {
        let fields: Vec<&str> = line.split(',').collect();
        let number: u64 = fields[household].trim_start_matches("S-H").parse().unwrap();
        if number > HOUSEHOLDS {
            break;
        }
        file.push_str(line);
        file.push('\n');
        people.insert(
            fields[id].to_owned(),
            Person {
                nik: fields[nik].to_owned(),
                household: number,
                head: fields[relationship] == "head",
                deceased_on: Some(fields[deceased_on]).filter(|d| !d.is_empty()).map(str::to_owned),
                programmes: fields[enrolments]
                    .split(';')
                    .filter(|p| !p.is_empty())
                    .map(str::to_owned)
                    .collect(),
            },
        );
    }
    (file, people)
}

async fn violations(app: &TestApp) -> Vec<Value> {
    let (status, report) = app.get("/v1/reports/violations").await;
    assert_eq!(status, 200, "{report}");
    report["violations"].as_array().cloned().unwrap_or_default()
}

fn count_by_rule(rows: &[Value]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for row in rows {
        *counts.entry(row["rule"].as_str().unwrap().to_owned()).or_default() += 1;
    }
    counts
}

async fn submit(app: &TestApp, request: SubmitEvidenceRequest) {
    let mut feed = app.feed_as(&feed_of(&request.source)).await;
    let kind = request.kind.clone();
    feed.submit_evidence(request)
        .await
        .unwrap_or_else(|status| panic!("{kind}: {status:?}"));
}

#[tokio::test]
async fn a_district_of_ten_thousand_households_ends_with_a_clean_ledger_and_every_decision_explained() {
    let (file, people) = district();
    let households: BTreeSet<u64> = people.values().map(|p| p.household).collect();
    assert_eq!(households.len() as u64, HOUSEHOLDS);
    let path = temp_file("district.csv", &file);
    let app = spawn_app_with(
        &fresh_database_url().await,
        &[(REGISTRY_SEED_VARIABLE, path.display().to_string())],
    )
    .await;

    // The registry lists aid for members it also records as dead: the report shows them.
    let before = violations(&app).await;
    let listed_dead: BTreeSet<String> = people
        .iter()
        // Household programmes on a dead member's row are the household's, which goes on.
        .filter(|(_, p)| p.deceased_on.is_some() && p.programmes.iter().any(|c| c == "PBI-JK" || c == "PIP"))
        .map(|(id, _)| id.clone())
        .collect();
    assert!(!listed_dead.is_empty());
    assert!(
        before
            .iter()
            .all(|v| v["rule"].as_str().unwrap().ends_with(".deceased")),
        "{:#?}",
        count_by_rule(&before)
    );
    let dead_in_report: BTreeSet<String> = before
        .iter()
        .map(|v| v["enrolments"][0]["beneficiary_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(dead_in_report, listed_dead);

    // Heads of households, living, by what their household holds; each used once.
    let mut used = BTreeSet::new();
    let mut heads_holding = |programme: &str, wanted: usize| -> Vec<(String, String)> {
        let picked: Vec<(String, String)> = people
            .iter()
            .filter(|(_, p)| p.head && p.deceased_on.is_none() && !used.contains(&p.household))
            .filter(|(_, p)| programme.is_empty() || p.programmes.iter().any(|c| c == programme))
            .take(wanted)
            .map(|(id, p)| (id.clone(), p.nik.clone()))
            .collect();
        for (id, _) in &picked {
            used.insert(people[id].household);
        }
        assert_eq!(picked.len(), wanted, "not enough households holding {programme}");
        picked
    };
    let on_blt_dd = heads_holding("BLT-DD", 60);
    let on_pkh = heads_holding("PKH", 40);
    let provincial = heads_holding("", 30);
    let dying = heads_holding("PKH", 50);
    let car_owners = heads_holding("BPNT", 40);
    let civil_servants = heads_holding("PBI-JK", 40);

    // Agencies report what they granted elsewhere: PKH beside a village's BLT-DD, a second
    // PKH, and a provincial programme this system does not decide.
    let mut reported = Vec::new();
    for (i, (_, nik)) in on_blt_dd.iter().enumerate() {
        let reference = format!("PKH-EXT-{i:04}");
        let answer = app
            .report_external("PKH", nik, "DINSOS", &reference, "2026-02-01")
            .await
            .unwrap();
        assert_eq!(answer.violations.len(), 1, "{:?}", answer.violations);
        reported.push(("DINSOS", reference));
    }
    for (i, (_, nik)) in on_pkh.iter().enumerate() {
        let reference = format!("PKH-DUP-{i:04}");
        app.report_external("PKH", nik, "DINSOS", &reference, "2025-07-01")
            .await
            .unwrap();
        reported.push(("DINSOS", reference));
    }
    for (i, (_, nik)) in provincial.iter().enumerate() {
        let answer = app
            .report_external("BANSOS-PROV", nik, "DINSOS-PROV", &format!("PROV-{i:04}"), "2026-03-01")
            .await
            .unwrap();
        assert!(answer.violations.is_empty());
    }

    // The feeds: death certificates, cars, civil-service salaries.
    for (i, (_, nik)) in dying.iter().enumerate() {
        submit(
            &app,
            SubmitEvidenceRequest {
                kind: "death_certificate".into(),
                nik: nik.clone(),
                source: "DISDUKCAPIL".into(),
                reference: format!("AKTA-3324-2026-{i:05}"),
                observed_on: "2026-10-01".into(),
                ..Default::default()
            },
        )
        .await;
    }
    for (i, (_, nik)) in car_owners.iter().enumerate() {
        submit(
            &app,
            SubmitEvidenceRequest {
                kind: "vehicle".into(),
                nik: nik.clone(),
                source: "SAMSAT".into(),
                reference: format!("G-{i:04}-KD"),
                observed_on: "2026-09-01".into(),
                plate: format!("G {i:04} KD"),
                ..Default::default()
            },
        )
        .await;
    }
    for (i, (_, nik)) in civil_servants.iter().enumerate() {
        submit(
            &app,
            SubmitEvidenceRequest {
                kind: "payroll".into(),
                nik: nik.clone(),
                source: "BKN".into(),
                reference: format!("GAJI-2026-09-{i:05}"),
                observed_on: "2026-09-01".into(),
                employer_category: "civil_servant".into(),
                ..Default::default()
            },
        )
        .await;
    }

    let breaches = count_by_rule(&violations(&app).await);
    assert_eq!(breaches.get("overlap.BLT-DD.PKH"), Some(&60), "{breaches:#?}");
    assert_eq!(breaches.get("PKH.duplicate"), Some(&40), "{breaches:#?}");

    // The back office acts on the report. The agencies end what they reported...
    let today = slrt_identity::today_in_indonesia().to_string();
    for (opd, reference) in &reported {
        let ended = app
            .grpc_as(&agency(opd))
            .await
            .report_external_enrolment_ended(ReportExternalEnrolmentEndedRequest {
                reporting_opd: (*opd).into(),
                reference: reference.clone(),
                ended_on: today.clone(),
                reason: "ended after the SLRT violations report".into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert!(ended.ended);
    }
    // ...Disdukcapil certifies the deaths the registry only listed...
    for (i, person_id) in listed_dead.iter().enumerate() {
        let person = &people[person_id];
        submit(
            &app,
            SubmitEvidenceRequest {
                kind: "death_certificate".into(),
                nik: person.nik.clone(),
                source: "DISDUKCAPIL".into(),
                reference: format!("AKTA-LAMA-{i:05}"),
                observed_on: person.deceased_on.clone().unwrap(),
                ..Default::default()
            },
        )
        .await;
    }
    // ...and officers confirm the cars and salaries at home visits.
    let mut resolved = 0;
    loop {
        let (status, page) = app.get("/v1/verification-tasks?open=true&limit=200").await;
        assert_eq!(status, 200, "{page}");
        let tasks = page["tasks"].as_array().cloned().unwrap_or_default();
        if tasks.is_empty() {
            break;
        }
        for task in tasks {
            let task_id = task["task_id"].as_str().unwrap();
            let (status, body) = app
                .post(
                    &format!("/v1/verification-tasks/{task_id}/resolve"),
                    json!({"outcome": "confirmed", "reason": "seen at the home visit"}),
                )
                .await;
            assert!(status < 300, "{status}: {body}");
            resolved += 1;
        }
    }
    assert_eq!(resolved, car_owners.len() + civil_servants.len());

    let left = violations(&app).await;
    assert_eq!(left, Vec::<Value>::new(), "{:#?}", count_by_rule(&left));

    // The desk goes on deciding: every need of every case carries its reasons, and nothing
    // it grants breaks the rules.
    const NEEDS: [&str; 8] = [
        "health_insurance",
        "cash_assistance",
        "food_assistance",
        "school_aid",
        "civil_documents",
        "housing_repair",
        "job_training",
        "elderly_care",
    ];
    let applicants: Vec<&Person> = people.values().step_by(170).take(200).collect();
    let mut cases = Vec::new();
    for (i, person) in applicants.iter().enumerate() {
        let categories = [NEEDS[i % 8], NEEDS[(i / 8 + 3) % 8]];
        let opened = case_opened(&person.nik, "Warga", "33.24.07.2003", &categories);
        app.open_case(&opened).await;
        cases.push(case_id(&opened));
    }
    let mut approved = 0;
    for case in cases {
        let decision = app.decision(case).await;
        assert!(decision["inputs"].is_object(), "{decision:#}");
        assert_eq!(decision["catalogue_version"], "2026.2");
        for need in decision["needs"].as_array().unwrap() {
            assert!(!rules(need).is_empty(), "a decision without its reasons: {decision:#}");
            approved += usize::from(need["outcome"] == "approved");
        }
    }
    assert!(approved > 0);
    let after_the_desk = violations(&app).await;
    assert_eq!(
        after_the_desk,
        Vec::<Value>::new(),
        "{:#?}",
        count_by_rule(&after_the_desk)
    );
    let _ = std::fs::remove_file(path);
}
