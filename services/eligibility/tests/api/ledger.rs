//! The ledger beyond decisions: every programme rule and overlap pair of the catalogue
//! through the consumer, enrolments other agencies report, a person's or household's
//! enrolments over gRPC, the violations and years-on-benefit reports, and graduation.

use std::collections::{BTreeSet, HashMap};

use serde_json::json;
use slrt_proto::eligibility::v1::{
    ListEnrolmentsRequest, ReportExternalEnrolmentEndedRequest, ReportExternalEnrolmentRequest,
};

use super::*;

const TODAY_MINUS_A_YEAR: &str = "2025-10-01";

fn reasons_of(need: &Value) -> Vec<String> {
    rules(need).into_iter().map(str::to_owned).collect()
}

/// The agency the catalogue in force names as each programme's owner: only that agency
/// reports enrolments in it.
async fn owners(app: &TestApp) -> HashMap<String, String> {
    let (status, catalogue) = app.get("/v1/catalogue").await;
    assert_eq!(status, 200, "{catalogue}");
    catalogue["programmes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["code"].as_str().unwrap().to_owned(),
                p["opd"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Opens a case for `nik` with one need and waits for its decision.
async fn decide(app: &TestApp, nik: &str, category: &str) -> Value {
    let opened = case_opened(nik, "Warga", "33.75.02.1004", &[category]);
    app.open_case(&opened).await;
    let decision = app.decision(case_id(&opened)).await;
    need(&decision, category).clone()
}

#[tokio::test]
async fn every_overlap_pair_of_the_catalogue_is_refused_through_the_consumer_and_allowed_pairs_combine() {
    // (held programme, need asked for, overlap rules that must refuse, programme granted)
    let rows: [(&str, &str, &[&str], Option<&str>); 11] = [
        (
            "PKH",
            "cash_assistance",
            &["overlap.BLT-DD.PKH", "overlap.BLT-KOTA.PKH", "overlap.PENA.PKH"],
            None,
        ),
        // The head is 76: meals are open to a BLT-DD family, BPNT is not.
        (
            "BLT-DD",
            "food_assistance",
            &["overlap.BLT-DD.BPNT"],
            Some("PERMAKANAN"),
        ),
        // Meals for the head refuse PKH to the household; BLT-DD does not exclude them.
        (
            "PERMAKANAN",
            "cash_assistance",
            &["overlap.PERMAKANAN.PKH"],
            Some("BLT-DD"),
        ),
        ("PERMAKANAN", "food_assistance", &["overlap.PERMAKANAN.BPNT"], None),
        ("PENA", "cash_assistance", &["overlap.PENA.PKH"], Some("BLT-DD")),
        ("PENA", "food_assistance", &["overlap.PENA.BPNT"], Some("PERMAKANAN")),
        (
            "BLT-KOTA",
            "cash_assistance",
            &["overlap.BLT-KOTA.PKH", "overlap.BLT-KOTA.BLT-DD"],
            Some("PENA"),
        ),
        (
            "BLT-KOTA",
            "food_assistance",
            &["overlap.BLT-KOTA.BPNT"],
            Some("PERMAKANAN"),
        ),
        // The other way round: BPNT held refuses PERMAKANAN, and PKH combines with BPNT.
        ("BPNT", "elderly_care", &["overlap.PERMAKANAN.BPNT"], Some("PKH")),
        ("PKH", "food_assistance", &[], Some("BPNT")),
        ("PKH", "health_insurance", &[], Some("PBI-JK")),
    ];
    // One family per row: desil 2, a head of 76 (old enough for PERMAKANAN, and in PKH's
    // elderly component, so that PKH is open to the household where no overlap closes it).
    let families: Vec<TestFamily> = rows.iter().map(|_| TestFamily::new(2, &["1950-02-01"])).collect();
    let (app, niks) = spawn_app_with_families(&families).await;

    let owners = owners(&app).await;
    let mut cited = BTreeSet::new();
    for (i, (held, category, refusing, granted)) in rows.iter().enumerate() {
        let head = &niks[i][0];
        app.report_external(held, head, &owners[*held], &format!("ROW-{i}"), TODAY_MINUS_A_YEAR)
            .await
            .unwrap();

        let decided = decide(&app, head, category).await;

        let fired = reasons_of(&decided);
        for rule in *refusing {
            assert!(
                fired.iter().any(|r| r == rule),
                "row {i} ({held}, {category}): {rule} in {fired:?}"
            );
            cited.insert(rule.to_string());
        }
        let programme = decided["programme"]["code"].as_str();
        assert_eq!(programme, *granted, "row {i} ({held}, {category}): {decided:#}");
    }

    let (_, catalogue) = app.get("/v1/catalogue").await;
    let matrix: BTreeSet<String> = catalogue["overlap_rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rule"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        cited, matrix,
        "every overlap rule of the catalogue in force is exercised"
    );
}

#[tokio::test]
async fn every_programme_rule_of_the_catalogue_applies_through_the_consumer() {
    let families = vec![
        TestFamily::new(5, &["1985-03-03"]),               // 0: near-poor
        TestFamily::new(6, &["1985-03-03"]),               // 1: desil 6
        TestFamily::new(2, &["1986-04-04", "2012-05-05"]), // 2: poor, a child of 14
        TestFamily::new(2, &["1950-06-06"]),               // 3: poor, 76
        TestFamily::new(8, &["1980-07-07"]),               // 4: well off
        // 5 and 6: two households on one family card, near-poor.
        TestFamily {
            card: 5,
            ..TestFamily::new(5, &["1975-08-08"])
        },
        TestFamily {
            card: 5,
            ..TestFamily::new(5, &["1977-09-09"])
        },
        TestFamily::new(2, &["1951-10-10"]), // 7: poor, 75
    ];
    let (app, niks) = spawn_app_with_families(&families).await;
    let head = |i: usize| niks[i][0].as_str();

    // Desil cut-offs: PKH, BLT-DD at 4; BLT-KOTA and PBI-JK at 5.
    let cash = decide(&app, head(0), "cash_assistance").await;
    assert_eq!(cash["programme"]["code"], "BLT-KOTA", "{cash:#}");
    assert_eq!(cash["benefit"]["amount_per_period_idr"], 300_000);
    for rule in ["PKH.desil", "BLT-DD.desil", "BLT-KOTA.desil"] {
        assert!(rules(&cash).contains(&rule), "{rule}: {cash:#}");
    }
    let food = decide(&app, head(0), "food_assistance").await;
    assert_eq!(food["outcome"], "rejected");
    assert!(
        rules(&food).contains(&"BPNT.desil") && rules(&food).contains(&"PERMAKANAN.desil"),
        "{food:#}"
    );
    let health = decide(&app, head(0), "health_insurance").await;
    assert_eq!(health["programme"]["code"], "PBI-JK", "{health:#}");
    let health = decide(&app, head(1), "health_insurance").await;
    assert_eq!(health["outcome"], "rejected");
    assert_eq!(rules(&health), ["PBI-JK.desil"]);

    // PIP by age, at the rate for the school level.
    let pupil = decide(&app, &niks[2][1], "school_aid").await;
    assert_eq!(pupil["programme"]["code"], "PIP", "{pupil:#}");
    assert_eq!(pupil["benefit"]["component"], "smp");
    assert_eq!(pupil["benefit"]["amount_per_period_idr"], 750_000);
    let adult = decide(&app, head(2), "school_aid").await;
    assert_eq!(adult["outcome"], "rejected");
    assert!(rules(&adult).contains(&"PIP.age"), "{adult:#}");

    // Meals from 60; a younger head asking for elderly care gets PKH instead.
    let meals = decide(&app, head(3), "elderly_care").await;
    assert_eq!(meals["programme"]["code"], "PERMAKANAN", "{meals:#}");
    assert_eq!(meals["benefit"]["kind"], "in_kind");
    let younger = decide(&app, head(2), "elderly_care").await;
    assert!(rules(&younger).contains(&"PERMAKANAN.age"), "{younger:#}");
    assert_eq!(younger["programme"]["code"], "PKH");
    // The household's 14-year-old, not the 40-year-old applicant, chooses PKH's component.
    assert_eq!(younger["benefit"]["component"], "smp", "{younger:#}");

    // With meals granted, PKH is refused to the household and BLT-DD meets its cash need.
    let village = decide(&app, head(3), "cash_assistance").await;
    assert!(rules(&village).contains(&"overlap.PERMAKANAN.PKH"), "{village:#}");
    assert_eq!(village["programme"]["code"], "BLT-DD");
    assert_eq!(village["programme"]["opd"], "PEMDES");

    // PKH pays the component of a member's age: the elderly one from 70 (here the head, alone).
    let elderly = decide(&app, head(7), "cash_assistance").await;
    assert_eq!(elderly["programme"]["code"], "PKH", "{elderly:#}");
    assert_eq!(elderly["benefit"]["component"], "elderly_70");
    assert_eq!(elderly["benefit"]["amount_per_period_idr"], 600_000);
    // BPNT combines with PKH, and is paid monthly.
    let food = decide(&app, head(7), "food_assistance").await;
    assert_eq!(food["programme"]["code"], "BPNT", "{food:#}");
    assert_eq!(food["benefit"]["amount_per_period_idr"], 200_000);
    assert_eq!(food["benefit"]["cadence"], "monthly");

    // Housing repair up to desil 4.
    let repair = decide(&app, head(2), "housing_repair").await;
    assert_eq!(repair["programme"]["code"], "RTLH");
    assert_eq!(repair["programme"]["opd"], "PERKIM");
    let refused = decide(&app, head(4), "housing_repair").await;
    assert_eq!(rules(&refused), ["RTLH.desil"]);

    // Services are open to anyone, in the registry or not.
    let training = decide(&app, OUTSIDER, "job_training").await;
    assert_eq!(training["programme"]["code"], "PELATIHAN");
    assert_eq!(training["programme"]["opd"], "DINPERINAKER");
    let documents = decide(&app, head(4), "civil_documents").await;
    assert_eq!(documents["programme"]["code"], "ADMINDUK");
    assert_eq!(rules(&documents), ["ADMINDUK.open"]);

    // BLT-KOTA: one recipient per family card, across the households filed under it.
    let first = decide(&app, head(5), "cash_assistance").await;
    assert_eq!(first["programme"]["code"], "BLT-KOTA", "{first:#}");
    let second = decide(&app, head(6), "cash_assistance").await;
    assert_ne!(second["programme"]["code"], "BLT-KOTA", "{second:#}");
    let per_card = second["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == "BLT-KOTA.one_per_kk")
        .unwrap_or_else(|| panic!("{second:#}"));
    assert_eq!(
        per_card["message"],
        "BLT-KOTA has one recipient per family card (KK), and registry person T-P5-0 on the same card already \
         receives it."
    );
}

#[tokio::test]
async fn pkh_is_targeted_by_the_households_members_through_the_consumer() {
    let families = vec![
        TestFamily::new(2, &["1986-04-04", "2012-05-05"]), // 0: a head of 40, a child of 14
        TestFamily::new(2, &["1976-01-01", "2000-02-02"]), // 1: adults only
        TestFamily::new(2, &["1960-03-03", "2024-04-04", "2016-05-05"]), // 2: a toddler and a pupil
    ];
    let (app, niks) = spawn_app_with_families(&families).await;

    // The SMP component for the 14-year-old, though the applicant is the 40-year-old head.
    let pupil = decide(&app, &niks[0][0], "cash_assistance").await;
    assert_eq!(pupil["programme"]["code"], "PKH", "{pupil:#}");
    assert_eq!(pupil["benefit"]["component"], "smp");
    assert_eq!(pupil["benefit"]["amount_per_period_idr"], 375_000);
    let chosen = pupil["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == "PKH.component")
        .unwrap_or_else(|| panic!("{pupil:#}"));
    assert!(
        chosen["message"]
            .as_str()
            .unwrap()
            .starts_with("PKH pays the smp component: household member T-P0-1, aged 14,"),
        "{chosen:#}"
    );

    // No member in any band: PKH is refused saying so, and BLT-DD meets the need.
    let adults = decide(&app, &niks[1][0], "cash_assistance").await;
    assert_eq!(adults["programme"]["code"], "BLT-DD", "{adults:#}");
    let refused = adults["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == "PKH.component")
        .unwrap_or_else(|| panic!("{adults:#}"));
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .starts_with("No member of the household is in a PKH component"),
        "{refused:#}"
    );
    let enrolled: Vec<Value> = app.enrolments("T-H1").await;
    assert!(enrolled.iter().all(|e| e["programme_code"] != "PKH"), "{enrolled:#?}");

    // The youngest member in a band chooses: the toddler's child_0_6, not the pupil's SD.
    let toddler = decide(&app, &niks[2][1], "cash_assistance").await;
    assert_eq!(toddler["benefit"]["component"], "child_0_6", "{toddler:#}");
}

#[tokio::test]
async fn the_desk_pre_screen_names_the_programmes_the_overlap_rules_close_and_what_closes_them() {
    let families = vec![
        TestFamily {
            enrolments: "PKH",
            ..TestFamily::new(2, &["1980-01-01", "2015-01-01"])
        },
        TestFamily::new(2, &["1981-01-01"]),
    ];
    let (app, niks) = spawn_app_with_families(&families).await;
    let screen = |nik: String| {
        let app = &app;
        async move {
            app.grpc()
                .await
                .screen_person(eligibility::ScreenPersonRequest { nik })
                .await
                .unwrap()
                .into_inner()
        }
    };

    // The child of a PKH household: PKH closes BLT-DD, PERMAKANAN, PENA and BLT-KOTA.
    let on_pkh = screen(niks[0][1].clone()).await;
    assert_eq!(on_pkh.active_programmes, ["PKH"]);
    assert_eq!(on_pkh.catalogue_version, "2026.2");
    let closed: Vec<(&str, &str, &str, &str, &str)> = on_pkh
        .closed_programmes
        .iter()
        .map(|c| {
            (
                c.programme_code.as_str(),
                c.rule.as_str(),
                c.closed_by_programme_code.as_str(),
                c.closed_by_beneficiary_kind.as_str(),
                c.closed_by_beneficiary_id.as_str(),
            )
        })
        .collect();
    assert_eq!(
        closed,
        [
            ("BLT-DD", "overlap.BLT-DD.PKH", "PKH", "household", "T-H0"),
            ("PERMAKANAN", "overlap.PERMAKANAN.PKH", "PKH", "household", "T-H0"),
            ("PENA", "overlap.PENA.PKH", "PKH", "household", "T-H0"),
            ("BLT-KOTA", "overlap.BLT-KOTA.PKH", "PKH", "household", "T-H0"),
        ]
    );
    assert!(on_pkh.closed_programmes.iter().all(|c| c.closed_by_status == "active"));
    assert_eq!(
        on_pkh.closed_programmes[0].reason,
        "BLT-DD cannot be combined with PKH, which the household (T-H0) already receives."
    );

    // Someone on nothing has nothing closed.
    let on_nothing = screen(niks[1][0].clone()).await;
    assert!(on_nothing.known_person);
    assert_eq!(on_nothing.active_programmes, Vec::<String>::new());
    assert_eq!(on_nothing.closed_programmes, []);
    assert_eq!(on_nothing.catalogue_version, "2026.2");

    // A programme reported from elsewhere closes as one decided here: BLT-DD for the second
    // family closes PKH and BPNT to it, and BLT-KOTA as well.
    app.report_external("BLT-DD", &niks[1][0], "PEMDES", "DESA-1", TODAY_MINUS_A_YEAR)
        .await
        .unwrap();
    let on_village_aid = screen(niks[1][0].clone()).await;
    let codes: Vec<(&str, &str)> = on_village_aid
        .closed_programmes
        .iter()
        .map(|c| (c.programme_code.as_str(), c.rule.as_str()))
        .collect();
    assert_eq!(
        codes,
        [
            ("PKH", "overlap.BLT-DD.PKH"),
            ("BPNT", "overlap.BLT-DD.BPNT"),
            ("BLT-KOTA", "overlap.BLT-KOTA.BLT-DD"),
        ]
    );
}

#[tokio::test]
async fn an_external_enrolment_is_recorded_once_per_reference_and_counts_at_the_desk() {
    let families = vec![TestFamily::new(3, &["1980-01-01", "2010-01-01"])];
    let (app, niks) = spawn_app_with_families(&families).await;
    let head = &niks[0][0];

    let first = app
        .report_external("BANSOS-PROV", head, "DINSOS-PROV", "PROV-2026-0001", "2026-02-01")
        .await
        .unwrap();
    let again = app
        .report_external("BANSOS-PROV", head, "DINSOS-PROV", "PROV-2026-0001", "2026-02-01")
        .await
        .unwrap();
    let pkh = app
        .report_external("PKH", head, "DINSOS", "PKH-33750200001", "2025-05-01")
        .await
        .unwrap();

    assert!(first.created);
    assert!(!again.created);
    assert_eq!(again.enrolment_id, first.enrolment_id);
    // Not in the catalogue: the person the NIK names. PKH is the household's.
    assert_eq!(
        (first.beneficiary_kind.as_str(), first.beneficiary_id.as_str()),
        ("person", "T-P0-0")
    );
    assert_eq!(
        (pkh.beneficiary_kind.as_str(), pkh.beneficiary_id.as_str()),
        ("household", "T-H0")
    );
    assert!(pkh.violations.is_empty(), "{:?}", pkh.violations);

    let conflict = app
        .report_external("BANSOS-PROV", head, "DINSOS-PROV", "PROV-2026-0001", "2026-03-01")
        .await
        .unwrap_err();
    assert_eq!(conflict.code(), tonic::Code::Aborted, "{conflict:?}");
    assert!(conflict.message().starts_with("reference: "), "{}", conflict.message());

    let screened = app
        .grpc()
        .await
        .screen_person(eligibility::ScreenPersonRequest { nik: head.clone() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(screened.active_programmes, ["BANSOS-PROV", "PKH"]);

    let cash = decide(&app, head, "cash_assistance").await;
    assert_eq!(cash["outcome"], "rejected", "{cash:#}");
    assert!(rules(&cash).contains(&"PKH.already_enrolled"));

    let by_kk = app
        .grpc()
        .await
        .list_enrolments(ListEnrolmentsRequest {
            kk_number: "3375020101200001".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(by_kk.household_id, "T-H0");
    let listed: Vec<(&str, &str, &str, &str)> = by_kk
        .enrolments
        .iter()
        .map(|e| {
            (
                e.programme_code.as_str(),
                e.source.as_str(),
                e.status.as_str(),
                e.reporting_opd.as_str(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            ("BANSOS-PROV", "external", "active", "DINSOS-PROV"),
            ("PKH", "external", "active", "DINSOS")
        ]
    );
    let child = app
        .grpc()
        .await
        .list_enrolments(ListEnrolmentsRequest {
            nik: niks[0][1].clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(child.person_id, "T-P0-1");
    let codes: Vec<&str> = child.enrolments.iter().map(|e| e.programme_code.as_str()).collect();
    assert_eq!(codes, ["PKH"], "the household's, not the father's own");

    let events = app
        .own_events(|events| {
            events
                .iter()
                .filter(|e| e.is::<eligibility::ExternalEnrolmentReported>())
                .count()
                >= 2
        })
        .await;
    let reported: Vec<eligibility::ExternalEnrolmentReported> = events
        .iter()
        .filter(|e| e.is::<eligibility::ExternalEnrolmentReported>())
        .map(|e| e.decode().unwrap())
        .collect();
    assert_eq!(reported.len(), 2, "the replay recorded nothing: {reported:#?}");
    let bansos = reported.iter().find(|r| r.programme_code == "BANSOS-PROV").unwrap();
    assert!(!bansos.catalogued);
    assert_eq!(
        (bansos.reporting_opd.as_str(), bansos.reference.as_str()),
        ("DINSOS-PROV", "PROV-2026-0001")
    );
}

#[tokio::test]
async fn a_report_that_breaks_the_overlap_rules_is_recorded_and_shows_in_the_violations_until_it_ends() {
    let families = vec![TestFamily {
        enrolments: "BLT-DD",
        ..TestFamily::new(3, &["1970-05-20"])
    }];
    let (app, niks) = spawn_app_with_families(&families).await;

    let (_, healthy) = app.get("/v1/reports/violations").await;
    assert_eq!(healthy["violations"], json!([]), "{healthy:#}");

    let reported = app
        .report_external("PKH", &niks[0][0], "DINSOS", "PKH-0042", "2026-02-01")
        .await
        .unwrap();
    assert_eq!(reported.violations.len(), 1, "{:?}", reported.violations);
    assert!(
        reported.violations[0].starts_with("overlap.BLT-DD.PKH: "),
        "{:?}",
        reported.violations
    );

    let (status, report) = app.get("/v1/reports/violations").await;
    assert_eq!(status, 200);
    let rows = report["violations"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{report:#}");
    assert_eq!(rows[0]["rule"], "overlap.BLT-DD.PKH");
    assert_eq!(rows[0]["household_id"], "T-H0");
    let involved: BTreeSet<(&str, &str)> = rows[0]["enrolments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["programme_code"].as_str().unwrap(), e["source"].as_str().unwrap()))
        .collect();
    assert_eq!(involved, BTreeSet::from([("BLT-DD", "registry"), ("PKH", "external")]));
    assert!(
        rows[0]["why"].as_str().unwrap().contains("may not be held together"),
        "{report:#}"
    );

    let end = |ended_on: &str| ReportExternalEnrolmentEndedRequest {
        reporting_opd: "DINSOS".into(),
        reference: "PKH-0042".into(),
        ended_on: ended_on.into(),
        reason: "recipient moved to BLT-DD".into(),
    };
    let dinsos = app.grpc_as(&agency("DINSOS")).await;
    let too_early = dinsos
        .clone()
        .report_external_enrolment_ended(end("2026-01-01"))
        .await
        .unwrap_err();
    assert_eq!(too_early.code(), tonic::Code::InvalidArgument);
    assert!(too_early.message().starts_with("ended_on: "), "{}", too_early.message());
    let ended = dinsos
        .clone()
        .report_external_enrolment_ended(end("2026-03-31"))
        .await
        .unwrap()
        .into_inner();
    assert!(ended.ended);
    assert_eq!(ended.enrolment_id, reported.enrolment_id);
    let again = dinsos
        .clone()
        .report_external_enrolment_ended(end("2026-03-31"))
        .await
        .unwrap()
        .into_inner();
    assert!(!again.ended);
    let other_day = dinsos
        .clone()
        .report_external_enrolment_ended(end("2026-04-30"))
        .await
        .unwrap_err();
    assert_eq!(other_day.code(), tonic::Code::Aborted);

    let (_, after) = app.get("/v1/reports/violations").await;
    assert_eq!(after["violations"], json!([]), "{after:#}");
}

#[tokio::test]
async fn a_malformed_report_is_refused_naming_the_field_and_records_nothing() {
    let families = vec![TestFamily::new(3, &["1980-01-01"])];
    let (app, niks) = spawn_app_with_families(&families).await;
    let head = niks[0][0].clone();
    let good = ReportExternalEnrolmentRequest {
        programme_code: "PKH".into(),
        nik: head.clone(),
        kk_number: String::new(),
        reporting_opd: "DINSOS".into(),
        reference: "PKH-1".into(),
        started_on: "2026-01-01".into(),
    };
    let tomorrow = (slrt_identity::today_in_indonesia() + chrono::Days::new(1)).to_string();

    for (request, code, field) in [
        (
            ReportExternalEnrolmentRequest {
                nik: String::new(),
                ..good.clone()
            },
            tonic::Code::InvalidArgument,
            "nik",
        ),
        (
            ReportExternalEnrolmentRequest {
                kk_number: "3375020101200001".into(),
                ..good.clone()
            },
            tonic::Code::InvalidArgument,
            "kk_number",
        ),
        (
            ReportExternalEnrolmentRequest {
                nik: String::new(),
                kk_number: "3375020101200001".into(),
                programme_code: "PERMAKANAN".into(),
                ..good.clone()
            },
            tonic::Code::InvalidArgument,
            "kk_number",
        ),
        (
            ReportExternalEnrolmentRequest {
                programme_code: "pkh".into(),
                ..good.clone()
            },
            tonic::Code::InvalidArgument,
            "programme_code",
        ),
        // An agency reports for itself only.
        (
            ReportExternalEnrolmentRequest {
                reporting_opd: "Dinas Sosial".into(),
                ..good.clone()
            },
            tonic::Code::PermissionDenied,
            "reporting_opd",
        ),
        (
            ReportExternalEnrolmentRequest {
                reference: " ".into(),
                ..good.clone()
            },
            tonic::Code::InvalidArgument,
            "reference",
        ),
        (
            ReportExternalEnrolmentRequest {
                started_on: tomorrow.clone(),
                ..good.clone()
            },
            tonic::Code::InvalidArgument,
            "started_on",
        ),
        (
            ReportExternalEnrolmentRequest {
                started_on: "2026-02-30".into(),
                ..good.clone()
            },
            tonic::Code::InvalidArgument,
            "started_on",
        ),
        (
            ReportExternalEnrolmentRequest {
                nik: OUTSIDER.into(),
                ..good.clone()
            },
            tonic::Code::NotFound,
            "nik",
        ),
    ] {
        let status = app
            .grpc_as(&agency("DINSOS"))
            .await
            .report_external_enrolment(request.clone())
            .await
            .unwrap_err();
        assert_eq!(status.code(), code, "{request:?}: {status:?}");
        assert!(
            status.message().starts_with(&format!("{field}: ")),
            "{field}: {}",
            status.message()
        );
    }

    let listed = app
        .grpc()
        .await
        .list_enrolments(ListEnrolmentsRequest {
            nik: head,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.enrolments, vec![]);
    let unknown = app
        .grpc_as(&agency("DINSOS"))
        .await
        .report_external_enrolment_ended(ReportExternalEnrolmentEndedRequest {
            reporting_opd: "DINSOS".into(),
            reference: "NEVER-REPORTED".into(),
            ended_on: "2026-01-02".into(),
            reason: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), tonic::Code::NotFound);
}

#[tokio::test]
async fn the_violations_report_lists_each_kind_of_breach_with_its_rule() {
    let families = vec![
        TestFamily {
            enrolments: "PKH;BPNT",
            ..TestFamily::new(2, &["1980-01-01"])
        },
        TestFamily::new(8, &["1980-01-01"]),
        TestFamily {
            card: 2,
            ..TestFamily::new(5, &["1975-01-01"])
        },
        TestFamily {
            card: 2,
            ..TestFamily::new(5, &["1976-01-01"])
        },
    ];
    let (app, niks) = spawn_app_with_families(&families).await;
    let (_, healthy) = app.get("/v1/reports/violations").await;
    assert_eq!(healthy["violations"], json!([]), "{healthy:#}");

    // A second PKH for the same household, granted elsewhere.
    app.report_external("PKH", &niks[0][0], "DINSOS", "DUP-1", "2026-01-01")
        .await
        .unwrap();
    // Food aid for a family in desil 8, with no hold.
    app.report_external("BPNT", &niks[1][0], "DINSOS", "RICH-1", "2026-01-01")
        .await
        .unwrap();
    // The city's cash aid to two holders of one family card.
    let first = decide(&app, &niks[2][0], "cash_assistance").await;
    assert_eq!(first["programme"]["code"], "BLT-KOTA", "{first:#}");
    app.report_external("BLT-KOTA", &niks[3][0], "DINSOS", "KOTA-2", "2026-08-01")
        .await
        .unwrap();

    let (_, report) = app.get("/v1/reports/violations").await;

    let found: Vec<(&str, &str)> = report["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["rule"].as_str().unwrap(),
                v["household_id"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        found,
        // A breach across households is filed under the household that held it first: the
        // reported BLT-KOTA started in August, the decided one today.
        [
            ("PKH.duplicate", "T-H0"),
            ("BPNT.desil", "T-H1"),
            ("BLT-KOTA.one_per_kk", "T-H3")
        ],
        "{report:#}"
    );
    assert_eq!(report["catalogue_version"], "2026.2");
}

#[tokio::test]
async fn an_active_enrolment_of_a_person_the_registry_records_as_deceased_is_a_violation() {
    // The shipped seed: Rasmi (P-000018) died and is still on PBI-JK.
    let app = spawn_app().await;

    let (_, report) = app.get("/v1/reports/violations").await;

    let rows = report["violations"].as_array().unwrap();
    let death = rows
        .iter()
        .find(|v| v["rule"] == "PBI-JK.deceased")
        .unwrap_or_else(|| panic!("{report:#}"));
    assert_eq!(death["enrolments"][0]["beneficiary_id"], "P-000018");
    assert_eq!(death["household_id"], "H-000005");
}

#[tokio::test]
async fn years_on_benefit_counts_enrolments_by_years_and_those_past_review_and_duration() {
    let families = vec![
        TestFamily::new(2, &["1970-01-01"]),
        TestFamily::new(2, &["1971-01-01"]),
        TestFamily::new(2, &["1972-01-01"]),
    ];
    let (app, niks) = spawn_app_with_families(&families).await;
    let today = slrt_identity::today_in_indonesia();
    let years_ago = |years: u32| {
        today
            .checked_sub_months(chrono::Months::new(12 * years))
            .unwrap()
            .to_string()
    };
    app.report_external("PKH", &niks[0][0], "DINSOS", "OLD", &years_ago(7))
        .await
        .unwrap();
    app.report_external("PKH", &niks[1][0], "DINSOS", "MID", &years_ago(2))
        .await
        .unwrap();
    app.report_external("PKH", &niks[2][0], "DINSOS", "NEW", &today.to_string())
        .await
        .unwrap();

    let (status, report) = app.get("/v1/reports/years-on-benefit").await;

    assert_eq!(status, 200, "{report}");
    let pkh = report["programmes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["programme_code"] == "PKH")
        .cloned()
        .unwrap_or_else(|| panic!("{report:#}"));
    assert_eq!(pkh["current"], 3);
    assert_eq!(
        pkh["by_years"],
        json!([{"years": 0, "enrolments": 1}, {"years": 2, "enrolments": 1}, {"years": 7, "enrolments": 1}])
    );
    assert_eq!(
        (pkh["review_every_months"].clone(), pkh["past_review"].clone()),
        (json!(12), json!(2))
    );
    assert_eq!(
        (pkh["max_duration_months"].clone(), pkh["past_max_duration"].clone()),
        (json!(60), json!(1))
    );
}

#[tokio::test]
async fn graduation_ends_pkh_and_bpnt_and_starts_pena_in_one_step() {
    let families = vec![
        TestFamily {
            enrolments: "PKH;BPNT",
            ..TestFamily::new(3, &["1980-01-01", "2012-01-01"])
        },
        TestFamily::new(3, &["1981-01-01"]),
    ];
    let (app, niks) = spawn_app_with_families(&families).await;
    let body = json!({"reason": "the family's warung earns above the minimum wage"});
    let manager = bearer("manajer.slrt.1", &["coordinator"], Some("33.75"), None);

    let (status, graduated) = app
        .post_as("/v1/households/T-H0/graduate", body.clone(), &manager)
        .await;

    assert_eq!(status, 201, "{graduated}");
    let ended: BTreeSet<&str> = graduated["ended"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["programme_code"].as_str().unwrap())
        .collect();
    assert_eq!(ended, BTreeSet::from(["PKH", "BPNT"]));
    let ledger = app.enrolments("T-H0").await;
    let states: BTreeSet<(&str, &str, &str)> = ledger
        .iter()
        .map(|e| {
            (
                e["programme_code"].as_str().unwrap(),
                e["status"].as_str().unwrap(),
                e["source"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        states,
        BTreeSet::from([
            ("BPNT", "ended", "registry"),
            ("PENA", "active", "graduation"),
            ("PKH", "ended", "registry")
        ])
    );
    let (_, report) = app.get("/v1/reports/violations").await;
    assert_eq!(report["violations"], json!([]), "{report:#}");

    // Graduated once: nothing left to leave, and PENA is paid once.
    let (status, again) = app.post("/v1/households/T-H0/graduate", body.clone()).await;
    assert_eq!(status, 422, "{again}");
    assert_eq!(
        again["error"]["message"],
        "household T-H0 has received PENA before, and it is paid once"
    );
    let cash = decide(&app, &niks[0][0], "cash_assistance").await;
    assert!(
        rules(&cash).contains(&"overlap.PENA.PKH"),
        "PENA now keeps PKH out: {cash:#}"
    );

    let (status, neither) = app.post("/v1/households/T-H1/graduate", body.clone()).await;
    assert_eq!(status, 422, "{neither}");
    assert_eq!(
        neither["error"]["message"],
        "household T-H1 holds none of PKH or BPNT, so there is nothing to graduate from"
    );
    assert_eq!(neither["error"]["field"], "household_id");
    assert!(app.enrolments("T-H1").await.is_empty());

    let (status, missing) = app.post("/v1/households/T-H9/graduate", body.clone()).await;
    assert_eq!(status, 404, "{missing}");
    let (status, no_reason) = app.post("/v1/households/T-H1/graduate", json!({})).await;
    assert_eq!(status, 400, "{no_reason}");
    assert_eq!(no_reason["error"]["field"], "reason");
    let (status, too_long) = app
        .post("/v1/households/T-H1/graduate", json!({"reason": "x".repeat(501)}))
        .await;
    assert_eq!(
        (status, &too_long["error"]["field"]),
        (400, &json!("reason")),
        "{too_long}"
    );

    let graduation_id = graduated["graduation_id"].as_str().unwrap().to_owned();
    let events = app
        .own_events(|events| {
            // Without a case the events are keyed by stream, so they spread over partitions:
            // read until all of them are in.
            let graduated = events.iter().any(|e| {
                e.is::<eligibility::HouseholdGraduated>() && e.stream_id == format!("graduation-{graduation_id}")
            });
            let ended = events.iter().filter(|e| e.is::<eligibility::EnrolmentEnded>()).count();
            // The household's earlier enrolments started too: wait for PENA's own.
            let pena_started = events
                .iter()
                .filter(|e| e.is::<eligibility::EnrolmentStarted>())
                .filter_map(|e| e.decode::<eligibility::EnrolmentStarted>().ok())
                .any(|started| started.programme_code == "PENA");
            graduated && ended == 2 && pena_started
        })
        .await;
    let ends: Vec<eligibility::EnrolmentEnded> = events
        .iter()
        .filter(|e| e.is::<eligibility::EnrolmentEnded>())
        .map(|e| e.decode().unwrap())
        .collect();
    assert_eq!(ends.len(), 2, "{ends:#?}");
    assert!(
        ends.iter()
            .all(|e| e.reason_code == "graduated" && e.actor == "manajer.slrt.1")
    );
    let pena: Vec<eligibility::EnrolmentStarted> = events
        .iter()
        .filter(|e| e.is::<eligibility::EnrolmentStarted>())
        .map(|e| e.decode().unwrap())
        .filter(|s: &eligibility::EnrolmentStarted| s.programme_code == "PENA")
        .collect();
    assert_eq!(pena.len(), 1);
    assert_eq!(pena[0].enrolment_id, graduated["pena_enrolment_id"].as_str().unwrap());
    assert_eq!(pena[0].beneficiary_id, "T-H0");
}
