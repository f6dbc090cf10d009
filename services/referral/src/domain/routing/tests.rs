use super::*;

const SHIPPED: &str = include_str!("../../../data/routing.toml");

const OPDS: &str = r#"
version = "test"

[opds]
DINSOS = { name = "Dinas Sosial" }
DINKES = { name = "Dinas Kesehatan" }
PEMDES = { name = "Pemerintah Desa" }
BAZNAS = { name = "BAZNAS" }
"#;

fn table(rules: &str) -> Result<RoutingTable, RoutingTableError> {
    RoutingTable::parse(&format!("{OPDS}\n{rules}"))
}

fn opd_of(route: Option<Route>) -> Option<String> {
    route.map(|r| r.opd_code.to_string())
}

/// One rule of each tier, all for cash assistance under BLT-DD, so only precedence decides.
const EVERY_TIER: &str = r#"
[[rules]]
category = "cash_assistance"
opd = "DINSOS"
service = "category"
sla = "information"

[[rules]]
category = "cash_assistance"
region = "33.24"
opd = "BAZNAS"
service = "category + region"
sla = "information"

[[rules]]
programme = "BLT-DD"
opd = "PEMDES"
service = "programme"
sla = "information"

[[rules]]
programme = "BLT-DD"
region = "33.24"
opd = "DINKES"
service = "programme + region"
sla = "information"
"#;

#[test]
fn programme_and_region_beat_every_other_rule() -> Result<(), RoutingTableError> {
    let routes = table(EVERY_TIER)?;
    let route = routes.route(NeedCategory::CashAssistance, Some("BLT-DD"), "33.24.05.2003");
    assert_eq!(route.map(|r| r.service), Some("programme + region".to_owned()));
    Ok(())
}

#[test]
fn programme_beats_category_and_region_outside_the_region() -> Result<(), RoutingTableError> {
    let routes = table(EVERY_TIER)?;
    let route = routes.route(NeedCategory::CashAssistance, Some("BLT-DD"), "33.75.01.1002");
    assert_eq!(route.map(|r| r.service), Some("programme".to_owned()));
    Ok(())
}

#[test]
fn programme_beats_category_and_region_inside_the_region() -> Result<(), RoutingTableError> {
    let routes = table(
        r#"
        [[rules]]
        category = "cash_assistance"
        region = "33.24"
        opd = "BAZNAS"
        service = "category + region"
        sla = "information"

        [[rules]]
        programme = "BLT-DD"
        opd = "PEMDES"
        service = "programme"
        sla = "information"
        "#,
    )?;
    let route = routes.route(NeedCategory::CashAssistance, Some("BLT-DD"), "33.24.05.2003");
    assert_eq!(opd_of(route), Some("PEMDES".to_owned()));
    Ok(())
}

#[test]
fn category_and_region_beat_category_when_no_programme_rule_matches() -> Result<(), RoutingTableError> {
    let routes = table(EVERY_TIER)?;
    let route = routes.route(NeedCategory::CashAssistance, Some("PKH"), "33.24.05.2003");
    assert_eq!(route.map(|r| r.service), Some("category + region".to_owned()));
    Ok(())
}

#[test]
fn category_alone_routes_what_nothing_more_specific_matches() -> Result<(), RoutingTableError> {
    let routes = table(EVERY_TIER)?;
    let route = routes.route(NeedCategory::CashAssistance, None, "32.75.01.1001");
    assert_eq!(route.map(|r| r.service), Some("category".to_owned()));
    Ok(())
}

#[test]
fn a_longer_region_prefix_beats_a_shorter_one() -> Result<(), RoutingTableError> {
    let routes = table(
        r#"
        [[rules]]
        category = "elderly_care"
        region = "33"
        opd = "DINSOS"
        service = "province"
        sla = "information"

        [[rules]]
        category = "elderly_care"
        region = "33.75.01"
        opd = "BAZNAS"
        service = "district"
        sla = "information"

        [[rules]]
        category = "elderly_care"
        region = "33.75"
        opd = "DINKES"
        service = "city"
        sla = "information"
        "#,
    )?;
    let service = |region| routes.route(NeedCategory::ElderlyCare, None, region).map(|r| r.service);
    assert_eq!(service("33.75.01.1002"), Some("district".to_owned()));
    assert_eq!(service("33.75.02.1001"), Some("city".to_owned()));
    assert_eq!(service("33.24.01.2001"), Some("province".to_owned()));
    assert_eq!(service("32.75.01.1001"), None);
    Ok(())
}

#[test]
fn a_rule_naming_programme_and_category_beats_one_naming_the_programme_only() -> Result<(), RoutingTableError> {
    let routes = table(
        r#"
        [[rules]]
        programme = "PKH"
        opd = "DINSOS"
        service = "programme"
        sla = "information"

        [[rules]]
        programme = "PKH"
        category = "health_insurance"
        opd = "DINKES"
        service = "programme + category"
        sla = "information"
        "#,
    )?;
    assert_eq!(
        opd_of(routes.route(NeedCategory::HealthInsurance, Some("PKH"), "33.75")),
        Some("DINKES".to_owned())
    );
    assert_eq!(
        opd_of(routes.route(NeedCategory::CashAssistance, Some("PKH"), "33.75")),
        Some("DINSOS".to_owned())
    );
    Ok(())
}

#[test]
fn a_region_prefix_matches_whole_segments_only() -> Result<(), RoutingTableError> {
    let routes = table(
        r#"
        [[rules]]
        category = "food_assistance"
        region = "33.75.01"
        opd = "BAZNAS"
        service = "district"
        sla = "information"
        "#,
    )?;
    let opd = |region| opd_of(routes.route(NeedCategory::FoodAssistance, None, region));
    assert_eq!(opd("33.75.01"), Some("BAZNAS".to_owned()));
    assert_eq!(opd("33.75.01.1002"), Some("BAZNAS".to_owned()));
    assert_eq!(opd("33.75.011"), None);
    assert_eq!(opd(""), None);
    Ok(())
}

#[test]
fn no_matching_rule_is_no_route_rather_than_an_error() -> Result<(), RoutingTableError> {
    let routes = table(
        r#"
        [[rules]]
        programme = "BLT-DD"
        opd = "PEMDES"
        service = "BLT Dana Desa"
        sla = "information"
        "#,
    )?;
    assert_eq!(
        routes.route(NeedCategory::CashAssistance, Some("PKH"), "33.75.01.1002"),
        None
    );
    assert_eq!(routes.route(NeedCategory::CashAssistance, None, "33.75.01.1002"), None);
    Ok(())
}

#[test]
fn a_route_carries_the_opd_name_from_the_directory() -> Result<(), RoutingTableError> {
    let routes = table(
        r#"
        [[rules]]
        programme = "BLT-DD"
        opd = "PEMDES"
        service = "BLT Dana Desa"
        sla = "information"
        "#,
    )?;
    let route = routes.route(NeedCategory::CashAssistance, Some("BLT-DD"), "33.24.05.2003");
    assert_eq!(
        route.map(|r| (r.opd_code.to_string(), r.opd_name, r.service)),
        Some((
            "PEMDES".to_owned(),
            "Pemerintah Desa".to_owned(),
            "BLT Dana Desa".to_owned()
        ))
    );
    Ok(())
}

fn rejection(rules: &str) -> Option<String> {
    table(rules).err().map(|e| e.to_string())
}

#[test]
fn an_unknown_category_is_refused_naming_the_rule_and_field() {
    let error = table(
        r#"
        [[rules]]
        category = "cash_assistance"
        opd = "DINSOS"
        service = "ok"
        sla = "information"

        [[rules]]
        category = "cash"
        opd = "DINSOS"
        service = "typo"
        sla = "information"
        "#,
    )
    .err();
    assert!(
        matches!(
            &error,
            Some(RoutingTableError::RuleField {
                index: 1,
                field: "category",
                ..
            })
        ),
        "{error:?}"
    );
}

#[test]
fn a_lower_case_programme_code_is_refused() {
    assert_eq!(
        rejection(
            r#"
            [[rules]]
            programme = "pkh"
            opd = "DINSOS"
            service = "PKH"
            sla = "information"
            "#
        ),
        Some(
            "rules[0].programme: \"pkh\" is not a programme code: use upper-case letters, \
             digits and '-', e.g. PBI-JK"
                .to_owned()
        )
    );
}

#[test]
fn a_malformed_region_prefix_is_refused() {
    for region in ["3375", "33.7", "33.75.", "33.75.01.102", "33.75.01.1002.1", "xx.75"] {
        let error = table(&format!(
            "[[rules]]\ncategory = \"school_aid\"\nregion = \"{region}\"\nopd = \"DINSOS\"\n\
             service = \"s\"\nsla = \"information\"\n"
        ))
        .err();
        assert!(
            matches!(
                &error,
                Some(RoutingTableError::RuleField {
                    index: 0,
                    field: "region",
                    ..
                })
            ),
            "{region}: {error:?}"
        );
    }
}

#[test]
fn a_rule_without_category_or_programme_is_refused() {
    assert_eq!(
        rejection(
            r#"
            [[rules]]
            region = "33.75"
            opd = "DINSOS"
            service = "everything in the city"
            sla = "information"
            "#
        ),
        Some("rules[0]: needs a category, a programme, or both".to_owned())
    );
}

#[test]
fn a_rule_for_an_opd_missing_from_the_directory_is_refused() {
    assert_eq!(
        rejection(
            r#"
            [[rules]]
            category = "civil_documents"
            opd = "DISDUKCAPIL"
            service = "KTP-el"
            sla = "information"
            "#
        ),
        Some("rules[0].opd: \"DISDUKCAPIL\" is not listed under [opds]".to_owned())
    );
}

#[test]
fn a_rule_with_a_blank_service_is_refused() {
    assert_eq!(
        rejection(
            r#"
            [[rules]]
            category = "civil_documents"
            opd = "DINSOS"
            service = "   "
            sla = "information"
            "#
        ),
        Some("rules[0].service: must not be empty".to_owned())
    );
}

#[test]
fn two_rules_with_the_same_match_are_refused() {
    assert_eq!(
        rejection(
            r#"
            [[rules]]
            programme = "PKH"
            region = "33.75"
            opd = "DINSOS"
            service = "first"
            sla = "information"

            [[rules]]
            programme = "PKH"
            opd = "DINSOS"
            service = "other"
            sla = "information"

            [[rules]]
            region = "33.75"
            programme = "PKH"
            opd = "BAZNAS"
            service = "second"
            sla = "information"
            "#
        ),
        Some("rules[2]: matches exactly what rules[0] matches; keep one of them".to_owned())
    );
}

#[test]
fn an_opd_with_a_bad_code_or_blank_name_is_refused() {
    let bad_code = RoutingTable::parse(
        "version = \"v\"\n[opds]\ndinsos = { name = \"Dinas Sosial\" }\n\
         [[rules]]\ncategory = \"school_aid\"\nopd = \"DINSOS\"\nservice = \"s\"\nsla = \"information\"\n",
    );
    assert!(
        matches!(&bad_code, Err(RoutingTableError::Opd { code, .. }) if code == "dinsos"),
        "{bad_code:?}"
    );

    let blank_name = RoutingTable::parse(
        "version = \"v\"\n[opds]\nDINSOS = { name = \"\" }\n\
         [[rules]]\ncategory = \"school_aid\"\nopd = \"DINSOS\"\nservice = \"s\"\nsla = \"information\"\n",
    );
    assert_eq!(
        blank_name.err().map(|e| e.to_string()),
        Some("opds.DINSOS: name must not be empty".to_owned())
    );
}

#[test]
fn a_misspelt_key_is_refused_with_its_line() {
    let error = rejection(
        r#"
        [[rules]]
        programe = "PKH"
        opd = "DINSOS"
        service = "PKH"
        sla = "information"
        "#,
    );
    assert!(
        error
            .as_deref()
            .is_some_and(|e| e.contains("programe") && e.contains("line")),
        "{error:?}"
    );
}

#[test]
fn a_table_without_rules_or_version_is_refused() {
    assert_eq!(table("").err(), Some(RoutingTableError::NoRules));
    assert_eq!(
        RoutingTable::parse("version = \" \"\n[[rules]]\ncategory = \"school_aid\"\nopd = \"X\"\nservice = \"s\"\nsla = \"information\"\n")
            .err(),
        Some(RoutingTableError::MissingVersion)
    );
}

#[test]
fn the_shipped_table_parses() -> Result<(), RoutingTableError> {
    let routes = RoutingTable::parse(SHIPPED)?;
    assert_eq!(routes.version(), "2026.2");
    Ok(())
}

#[test]
fn the_shipped_table_sends_a_declined_madrasah_pupil_to_kemenag() -> Result<(), RoutingTableError> {
    let routes = RoutingTable::parse(SHIPPED)?;
    let chain: Vec<String> = routes
        .chain(NeedCategory::SchoolAid, Some("PIP"), "33.75.01.1002")
        .into_iter()
        .map(|route| format!("{} ({})", route.opd_code, route.sla_tier))
        .collect();
    assert_eq!(chain, ["DISDIK (dispute)", "KEMENAG (dispute)"]);
    Ok(())
}

#[test]
fn a_rule_without_an_sla_tier_or_with_an_unknown_one_is_refused() {
    let table = |sla: &str| {
        format!(
            "version = \"t\"\n[opds]\nX = {{ name = \"x\" }}\n[[rules]]\ncategory = \"school_aid\"\nopd = \"X\"\nservice = \"s\"\n{sla}"
        )
    };
    assert!(matches!(
        RoutingTable::parse(&table("")),
        Err(RoutingTableError::Syntax(message)) if message.contains("missing field `sla`")
    ));
    assert_eq!(
        RoutingTable::parse(&table("sla = \"urgent\"\n")).err(),
        Some(RoutingTableError::RuleField {
            index: 0,
            field: "sla",
            problem: "\"urgent\" is not an SLA tier (one of: information, dispute, field)".to_owned()
        })
    );
}

#[test]
fn the_shipped_table_routes_every_category_in_every_region() -> Result<(), RoutingTableError> {
    let routes = RoutingTable::parse(SHIPPED)?;
    for region in ["33.75.01.1002", "33.24.05.2003", "32.75.01.1001", ""] {
        for category in NeedCategory::ALL {
            assert!(
                routes.route(category, None, region).is_some(),
                "{category} in {region:?} has no route"
            );
        }
    }
    Ok(())
}

#[test]
fn the_shipped_table_routes_every_programme_to_its_agency() -> Result<(), RoutingTableError> {
    let routes = RoutingTable::parse(SHIPPED)?;
    let expected = [
        ("PKH", NeedCategory::CashAssistance, "DINSOS"),
        ("BPNT", NeedCategory::FoodAssistance, "DINSOS"),
        ("PBI-JK", NeedCategory::HealthInsurance, "DINKES"),
        ("PIP", NeedCategory::SchoolAid, "DISDIK"),
        ("BLT-DD", NeedCategory::CashAssistance, "PEMDES"),
        ("PERMAKANAN", NeedCategory::ElderlyCare, "DINSOS"),
        ("PENA", NeedCategory::CashAssistance, "DINSOS"),
        ("RTLH", NeedCategory::HousingRepair, "PERKIM"),
        ("ADMINDUK", NeedCategory::CivilDocuments, "DISDUKCAPIL"),
        ("PELATIHAN", NeedCategory::JobTraining, "DINPERINAKER"),
    ];
    for (programme, category, opd) in expected {
        for region in ["33.75.01.1002", "33.24.05.2003"] {
            assert_eq!(
                opd_of(routes.route(category, Some(programme), region)),
                Some(opd.to_owned()),
                "{programme} in {region}"
            );
        }
    }
    Ok(())
}

#[test]
fn the_shipped_table_sends_kendal_home_repairs_to_baznas_but_rtlh_to_perkim() -> Result<(), RoutingTableError> {
    let routes = RoutingTable::parse(SHIPPED)?;
    let kendal = "33.24.05.2003";
    assert_eq!(
        opd_of(routes.route(NeedCategory::HousingRepair, None, kendal)),
        Some("BAZNAS".to_owned())
    );
    assert_eq!(
        opd_of(routes.route(NeedCategory::HousingRepair, Some("RTLH"), kendal)),
        Some("PERKIM".to_owned())
    );
    assert_eq!(
        opd_of(routes.route(NeedCategory::HousingRepair, None, "33.75.01.1002")),
        Some("PERKIM".to_owned())
    );
    Ok(())
}

#[test]
fn an_agency_without_rules_is_still_known_to_the_table() -> Result<(), RoutingTableError> {
    let routes = RoutingTable::parse(SHIPPED)?;
    let kemenag = OpdCode::parse("KEMENAG").map_err(|e| RoutingTableError::Syntax(e.to_string()))?;
    assert_eq!(routes.opd_name(&kemenag), Some("Kantor Kementerian Agama"));
    let unknown = OpdCode::parse("DINAS_X").map_err(|e| RoutingTableError::Syntax(e.to_string()))?;
    assert_eq!(routes.opd_name(&unknown), None);
    assert!(routes.opds().any(|(code, _)| code.as_str() == "DINSOS"));
    Ok(())
}
