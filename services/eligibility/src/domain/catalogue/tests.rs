use super::*;
use crate::domain::fixtures::shipped_catalogue;

fn code(value: &str) -> ProgrammeCode {
    ProgrammeCode::parse(value).expect("test codes are valid")
}

fn cash_terms<'a>(catalogue: &'a Catalogue, programme: &str) -> &'a CashTerms {
    match catalogue.programme(&code(programme)).map(Programme::benefit) {
        Some(ProgrammeBenefit::Cash(terms)) => terms,
        other => panic!("{programme} should be a cash programme, is {other:?}"),
    }
}

fn refusal(toml: &str) -> String {
    match Catalogue::parse(toml) {
        Ok(_) => panic!("the catalogue should have been refused"),
        Err(err) => err.to_string(),
    }
}

const HEADER: &str = r#"
version = "test"
effective_from = "2026-01-01"
"#;

const PKH: &str = r#"
[[programme]]
code = "PKH"
name = "PKH"
opd = "DINSOS"
benefit = "cash"
beneficiary = "household"
requires_registry = true
max_desil = 4
[programme.cash]
cadence = "monthly"
amount_per_period_idr = 100_000
"#;

#[test]
fn shipped_catalogue_parses_with_its_version_and_date() {
    let catalogue = shipped_catalogue();

    assert_eq!(catalogue.version(), "2026.1");
    assert_eq!(
        catalogue.effective_from(),
        NaiveDate::from_ymd_opt(2026, 1, 1).expect("a real date")
    );
    let codes: Vec<&str> = catalogue.programmes().iter().map(|p| p.code().as_str()).collect();
    for expected in [
        "PKH",
        "BPNT",
        "PBI-JK",
        "PIP",
        "BLT-DD",
        "PERMAKANAN",
        "PENA",
        "ADMINDUK",
    ] {
        assert!(codes.contains(&expected), "{expected} is missing from {codes:?}");
    }
}

#[test]
fn shipped_catalogue_meets_every_need_category() {
    let catalogue = shipped_catalogue();

    for category in NeedCategory::ALL {
        assert!(
            catalogue.programmes_for(category).next().is_some(),
            "no programme meets {category}"
        );
    }
}

#[test]
fn shipped_cash_amounts_are_as_published() {
    let catalogue = shipped_catalogue();

    let per_period = |programme: &str| {
        let terms = cash_terms(&catalogue, programme);
        let component = terms.component_for(None);
        (terms.cadence(), component.id.clone(), component.amount_per_period_idr)
    };
    assert_eq!(per_period("BPNT"), (Cadence::Monthly, "base".to_owned(), 200_000));
    assert_eq!(per_period("BLT-DD"), (Cadence::Monthly, "base".to_owned(), 300_000));
    assert_eq!(per_period("PENA"), (Cadence::Once, "base".to_owned(), 2_700_000));
    // Rp3,000,000 a year for a child under 7, paid in four quarterly stages.
    assert_eq!(per_period("PKH"), (Cadence::Quarterly, "child_0_6".to_owned(), 750_000));
}

#[test]
fn pkh_component_follows_the_applicants_age() {
    let catalogue = shipped_catalogue();
    let pkh = cash_terms(&catalogue, "PKH");

    let elderly = pkh.component_for(Some(73));
    assert_eq!(
        (elderly.id.as_str(), elderly.amount_per_period_idr),
        ("elderly_70", 600_000)
    );
    let smp = pkh.component_for(Some(14));
    assert_eq!((smp.id.as_str(), smp.amount_per_period_idr), ("smp", 375_000));
    // An adult has no age-chosen component of their own: the default is paid.
    assert_eq!(pkh.component_for(Some(40)).id, "child_0_6");
}

#[test]
fn overlap_rules_apply_both_ways_round() {
    let catalogue = shipped_catalogue();

    for (a, b) in [
        ("BLT-DD", "PKH"),
        ("BLT-DD", "BPNT"),
        ("PERMAKANAN", "PKH"),
        ("PENA", "BPNT"),
    ] {
        let forward = catalogue.exclusion_between(&code(a), &code(b));
        let backward = catalogue.exclusion_between(&code(b), &code(a));
        assert!(forward.is_some(), "{a} should exclude {b}");
        assert_eq!(forward, backward);
    }
    assert_eq!(
        catalogue
            .exclusion_between(&code("PKH"), &code("BLT-DD"))
            .map(Exclusion::rule_id),
        Some("overlap.BLT-DD.PKH".to_owned())
    );
}

#[test]
fn pkh_bpnt_and_pbi_jk_may_be_combined() {
    let catalogue = shipped_catalogue();

    assert_eq!(catalogue.exclusion_between(&code("PKH"), &code("BPNT")), None);
    for other in catalogue.programmes() {
        assert_eq!(
            catalogue.exclusion_between(&code("PBI-JK"), other.code()),
            None,
            "PBI-JK combines with everything, {} included",
            other.code()
        );
    }
}

#[test]
fn catalogue_with_a_duplicate_code_is_refused_naming_both_lines() {
    let toml = format!("{HEADER}{PKH}{PKH}");

    let message = refusal(&toml);

    assert_eq!(
        message,
        "line 18: programme PKH, field `code`: the code is already used by the programme on line 6"
    );
}

#[test]
fn catalogue_excluding_an_unknown_programme_is_refused_naming_the_programme() {
    let toml = format!(
        r#"{HEADER}{PKH}
[[programme]]
code = "BLT-DD"
name = "BLT Dana Desa"
opd = "PEMDES"
benefit = "cash"
beneficiary = "household"
requires_registry = true
excludes = ["PKH", "BPNT"]
[programme.cash]
cadence = "monthly"
amount_per_period_idr = 300_000
"#
    );

    let message = refusal(&toml);

    assert_eq!(
        message,
        "line 24: programme BLT-DD, field `excludes`: BPNT is not a programme in this catalogue"
    );
}

#[test]
fn cash_programme_without_an_amount_is_refused_naming_the_programme() {
    let toml = format!(
        r#"{HEADER}
[[programme]]
code = "BPNT"
name = "BPNT"
opd = "DINSOS"
benefit = "cash"
beneficiary = "household"
requires_registry = true
[programme.cash]
cadence = "monthly"
"#
    );

    let message = refusal(&toml);

    assert!(message.contains("programme BPNT"), "{message}");
    assert!(message.contains("`cash.amount_per_period_idr`"), "{message}");
    assert!(message.contains("a cash programme needs an amount"), "{message}");
}

#[test]
fn cash_programme_without_a_cash_table_is_refused_naming_the_programme() {
    let toml = format!("{HEADER}{}", PKH.split("[programme.cash]").next().unwrap_or(PKH));

    let message = refusal(&toml);

    assert!(message.starts_with("line 5: programme PKH, field `cash`"), "{message}");
}

#[test]
fn service_with_an_amount_is_refused() {
    let toml = format!(
        r#"{HEADER}
[[programme]]
code = "ADMINDUK"
name = "Adminduk"
opd = "DISDUKCAPIL"
benefit = "service"
beneficiary = "person"
requires_registry = false
[programme.cash]
cadence = "once"
amount_per_period_idr = 1
"#
    );

    let message = refusal(&toml);

    assert!(
        message.contains("programme ADMINDUK, field `cash`: only a cash programme is paid an amount"),
        "{message}"
    );
}

#[test]
fn yearly_amount_that_does_not_split_evenly_into_stages_is_refused() {
    let toml = PKH.replace(
        "amount_per_period_idr = 100_000",
        "stages_per_year = 12\ndefault_component = \"a\"\ncomponents = [{ id = \"a\", yearly_idr = 1_000_001 }]",
    );

    let message = refusal(&format!("{HEADER}{toml}"));

    assert!(
        message.contains("Rp1000001 a year does not divide into 12 equal stages"),
        "{message}"
    );
    assert!(message.contains("programme PKH"), "{message}");
}

#[test]
fn stage_count_that_contradicts_the_cadence_is_refused() {
    let toml = PKH.replace(
        "amount_per_period_idr = 100_000",
        "stages_per_year = 4\ndefault_component = \"a\"\ncomponents = [{ id = \"a\", yearly_idr = 1_200_000 }]",
    );

    let message = refusal(&format!("{HEADER}{toml}"));

    assert!(
        message.contains("a monthly programme pays 12 stages a year, not 4"),
        "{message}"
    );
}

#[test]
fn default_component_must_be_one_of_the_components() {
    let toml = PKH.replace(
        "amount_per_period_idr = 100_000",
        "stages_per_year = 12\ndefault_component = \"elderly\"\ncomponents = [{ id = \"child\", yearly_idr = 1_200_000 }]",
    );

    let message = refusal(&format!("{HEADER}{toml}"));

    assert!(
        message.contains("field `cash.default_component`: \"elderly\" is not one of this programme's components"),
        "{message}"
    );
}

#[test]
fn desil_cut_off_outside_one_to_ten_is_refused() {
    let toml = PKH.replace("max_desil = 4", "max_desil = 11");

    let message = refusal(&format!("{HEADER}{toml}"));

    assert!(
        message.contains("programme PKH, field `max_desil`: 11 is outside the range 1 to 10"),
        "{message}"
    );
}

#[test]
fn cash_programme_open_to_people_outside_the_registry_is_refused() {
    let toml = PKH
        .replace("requires_registry = true", "requires_registry = false")
        .replace("max_desil = 4\n", "");

    let message = refusal(&format!("{HEADER}{toml}"));

    assert!(
        message.contains("programme PKH, field `requires_registry`: a cash programme keeps an enrolment"),
        "{message}"
    );
}

#[test]
fn programme_excluding_itself_is_refused() {
    let toml = PKH.replace("max_desil = 4", "max_desil = 4\nexcludes = [\"PKH\"]");

    let message = refusal(&format!("{HEADER}{toml}"));

    assert!(
        message.contains("programme PKH, field `excludes`: a programme cannot exclude itself"),
        "{message}"
    );
}

#[test]
fn need_served_by_an_unknown_programme_is_refused() {
    let toml = format!("{HEADER}\n[serves]\ncash_assistance = [\"PKH\", \"BLT-DD\"]\n{PKH}");

    let message = refusal(&toml);

    assert_eq!(
        message,
        "line 6: catalogue field `serves.cash_assistance`: BLT-DD is not a programme in this catalogue"
    );
}

#[test]
fn unknown_need_category_is_refused() {
    let toml = format!("{HEADER}\n[serves]\nmoney = [\"PKH\"]\n{PKH}");

    let message = refusal(&toml);

    assert!(
        message.contains("catalogue field `serves.money`: \"money\" is not one of health_insurance"),
        "{message}"
    );
}

#[test]
fn misspelt_field_is_refused_with_its_line() {
    let toml = format!("{HEADER}{}", PKH.replace("max_desil", "max_desl"));

    let message = refusal(&toml);

    assert!(
        message.starts_with("line 12: the catalogue is not valid TOML"),
        "{message}"
    );
    assert!(message.contains("max_desl"), "{message}");
}

#[test]
fn unknown_benefit_kind_is_refused_naming_the_programme() {
    let toml = format!("{HEADER}{}", PKH.replace("benefit = \"cash\"", "benefit = \"money\""));

    let message = refusal(&toml);

    assert_eq!(
        message,
        "line 9: programme PKH, field `benefit`: \"money\" is not one of cash, in_kind, service"
    );
}

#[test]
fn effective_date_must_be_a_date() {
    let toml = format!("{}{PKH}", HEADER.replace("2026-01-01", "1 January 2026"));

    let message = refusal(&toml);

    assert_eq!(
        message,
        "line 3: catalogue field `effective_from`: \"1 January 2026\" is not a date in the form YYYY-MM-DD"
    );
}

#[test]
fn programme_code_outside_the_house_spelling_is_refused() {
    let toml = format!("{HEADER}{}", PKH.replace("code = \"PKH\"", "code = \"pkh\""));

    let message = refusal(&toml);

    assert!(
        message.contains("field `code`: \"pkh\" is not a programme code"),
        "{message}"
    );
}

// --- Versions and limits ----------------------------------------------------------------

const SHIPPED_2026_2: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/data/catalogue/2026.2.toml"));

fn file(origin: &str, text: &str) -> CatalogueFile {
    CatalogueFile {
        origin: origin.to_owned(),
        text: text.to_owned(),
    }
}

fn shipped_versions() -> Catalogues {
    Catalogues::parse(&[
        file("2026.2.toml", SHIPPED_2026_2),
        file("2026.1.toml", crate::domain::fixtures::CATALOGUE_TOML),
    ])
    .expect("the shipped versions load together")
}

fn day(iso: &str) -> NaiveDate {
    NaiveDate::parse_from_str(iso, "%Y-%m-%d").expect("an ISO date")
}

#[test]
fn the_version_in_force_is_the_latest_that_took_effect_on_or_before_the_day() {
    let versions = shipped_versions();

    assert_eq!(versions.in_force(day("2026-03-02")).version(), "2026.1");
    assert_eq!(versions.in_force(day("2026-06-30")).version(), "2026.1");
    assert_eq!(versions.in_force(day("2026-07-01")).version(), "2026.2");
    assert_eq!(versions.in_force(day("2027-12-31")).version(), "2026.2");
    // Before any version, the oldest policy known governs.
    assert_eq!(versions.in_force(day("2025-06-01")).version(), "2026.1");
    assert_eq!(versions.superseded_on("2026.1"), Some(day("2026-07-01")));
    assert_eq!(versions.superseded_on("2026.2"), None);
}

#[test]
fn the_second_shipped_version_differs_from_the_first_only_by_blt_kota() {
    let versions = shipped_versions();
    let first = versions.version("2026.1").expect("2026.1");
    let second = versions.version("2026.2").expect("2026.2");

    let codes = |c: &Catalogue| c.programmes().iter().map(|p| p.code().to_string()).collect::<Vec<_>>();
    let added: Vec<String> = codes(second)
        .into_iter()
        .filter(|c| !codes(first).contains(c))
        .collect();
    assert_eq!(added, ["BLT-KOTA"]);
    for programme in first.programmes() {
        assert_eq!(
            second.programme(programme.code()),
            Some(programme),
            "{}",
            programme.code()
        );
    }
    let blt_kota = second.programme(&code("BLT-KOTA")).expect("BLT-KOTA");
    assert!(blt_kota.limits().one_recipient_per_kk);
    assert_eq!(blt_kota.max_desil().map(|d| d.get()), Some(5));
    assert_eq!(blt_kota.beneficiary(), BeneficiaryKind::Person);
    assert_eq!(
        cash_terms(second, "BLT-KOTA").components()[0].amount_per_period_idr,
        300_000
    );
    for other in ["PKH", "BPNT", "BLT-DD"] {
        assert!(
            second.exclusion_between(&code("BLT-KOTA"), &code(other)).is_some(),
            "{other}"
        );
    }
}

#[test]
fn two_versions_taking_effect_on_the_same_day_are_refused_naming_the_file_and_line() {
    let clash = SHIPPED_2026_2.replace("version = \"2026.2\"", "version = \"2026.2-draft\"");

    let error = Catalogues::parse(&[file("a/2026.2.toml", SHIPPED_2026_2), file("b/draft.toml", &clash)])
        .expect_err("one day, one catalogue");

    let line = clash
        .lines()
        .position(|l| l.starts_with("effective_from"))
        .expect("the header")
        + 1;
    assert_eq!(
        error.to_string(),
        format!(
            "b/draft.toml: line {line}: catalogue field `effective_from`: version 2026.2-draft takes effect on \
             2026-07-01, the same day as version 2026.2 (a/2026.2.toml); only one catalogue can be in force on a day"
        )
    );
}

#[test]
fn two_files_with_the_same_version_are_refused() {
    let moved = SHIPPED_2026_2.replace("effective_from = \"2026-07-01\"", "effective_from = \"2026-08-01\"");

    let error = Catalogues::parse(&[file("one.toml", SHIPPED_2026_2), file("two.toml", &moved)])
        .expect_err("a version names one policy");

    assert!(
        error.to_string().starts_with(
            "two.toml: line 35: catalogue field `version`: version 2026.2 is also the version of one.toml"
        ),
        "{error}"
    );
}

#[test]
fn a_bad_file_among_the_versions_is_named() {
    let broken = SHIPPED_2026_2.replace(
        "amount_per_period_idr = 300_000\n\n[[programme]]\ncode = \"RTLH\"",
        "amount_per_period_idr = -300_000\n\n[[programme]]\ncode = \"RTLH\"",
    );

    let error = Catalogues::parse(&[
        file("ok.toml", crate::domain::fixtures::CATALOGUE_TOML),
        file("bad.toml", &broken),
    ])
    .expect_err("a negative amount");

    let line = broken.lines().position(|l| l.contains("-300_000")).expect("the line") + 1;
    assert_eq!(
        error.to_string(),
        format!(
            "bad.toml: line {line}: programme BLT-KOTA, field `cash.amount_per_period_idr`: Rp-300000 is not a positive amount"
        )
    );
}

#[test]
fn limits_are_read_per_programme() {
    let toml = format!(
        "{HEADER}{}",
        PKH.replace(
            "max_desil = 4\n",
            "max_desil = 4\nmax_duration_months = 60\nreview_every_months = 12\none_recipient_per_kk = true\n"
        )
    );

    let catalogue = Catalogue::parse(&toml).expect("valid limits");

    assert_eq!(
        catalogue.programme(&code("PKH")).map(Programme::limits),
        Some(Limits {
            max_duration_months: Some(60),
            review_every_months: Some(12),
            one_recipient_per_kk: true,
        })
    );
}

#[test]
fn a_review_period_longer_than_the_maximum_duration_is_refused() {
    let toml = format!(
        "{HEADER}{}",
        PKH.replace(
            "max_desil = 4\n",
            "max_desil = 4\nmax_duration_months = 12\nreview_every_months = 24\n"
        )
    );

    assert_eq!(
        refusal(&toml),
        "line 14: programme PKH, field `review_every_months`: a review every 24 months comes after the maximum \
         duration of 12 months"
    );
}

#[test]
fn a_duration_of_zero_months_is_refused() {
    let toml = format!(
        "{HEADER}{}",
        PKH.replace("max_desil = 4\n", "max_desil = 4\nmax_duration_months = 0\n")
    );

    assert_eq!(
        refusal(&toml),
        "line 13: programme PKH, field `max_duration_months`: 0 is outside the range 1 to 600"
    );
}

#[test]
fn a_service_with_a_duration_is_refused() {
    let toml = format!(
        r#"{HEADER}
[[programme]]
code = "ADMINDUK"
name = "Documents"
opd = "DISDUKCAPIL"
benefit = "service"
beneficiary = "person"
requires_registry = false
review_every_months = 12
"#
    );

    assert_eq!(
        refusal(&toml),
        "line 12: programme ADMINDUK, field `review_every_months`: a service keeps no enrolment, so it has no \
         duration or review period"
    );
}

#[test]
fn every_shipped_programme_that_keeps_an_enrolment_has_a_review_period_or_an_end() {
    for catalogue in shipped_versions().versions() {
        for programme in catalogue.programmes().iter().filter(|p| p.keeps_enrolment()) {
            let limits = programme.limits();
            assert!(
                limits.review_every_months.is_some() || limits.max_duration_months.is_some(),
                "{} {} is held forever without review",
                catalogue.version(),
                programme.code()
            );
        }
    }
}
