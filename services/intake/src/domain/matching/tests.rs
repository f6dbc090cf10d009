use super::*;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 6, 30).unwrap()
}

fn nik(digits: &str) -> Nik {
    Nik::parse_at(digits, today()).unwrap()
}

fn date(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn region(code: &str) -> RegionCode {
    RegionCode::parse(code).unwrap()
}

fn normalised(name: &str) -> Vec<String> {
    NormalisedName::parse(name).given
}

fn similarity(a: &str, b: &str) -> f64 {
    name_similarity(&NormalisedName::parse(a), &NormalisedName::parse(b))
}

fn household(n: u128) -> Option<Uuid> {
    Some(Uuid::from_u128(1000 + n))
}

/// Muhammad Rizki, born 15 March 1990 in Pekalongan Barat, living in Medono.
fn rizki() -> Identity {
    Identity {
        nik: nik("3375011503900002"),
        full_name: "Muhammad Rizki".into(),
        birth_date: date("1990-03-15"),
        sex: Sex::Male,
        region: region("33.75.01.1002"),
    }
}

/// Siti Aminah, born 5 June 1985, in the same village.
fn aminah() -> Identity {
    Identity {
        nik: nik("3375014506850003"),
        full_name: "Siti Aminah".into(),
        birth_date: date("1985-06-05"),
        sex: Sex::Female,
        region: region("33.75.01.1002"),
    }
}

fn known(n: u128, identity: Identity, household_id: Option<Uuid>) -> KnownPerson {
    KnownPerson {
        person_id: Uuid::from_u128(n),
        household_id,
        identity,
    }
}

fn given_known(people: Vec<KnownPerson>) -> PersonIndex {
    let mut index = PersonIndex::new();
    for person in people {
        index.insert(person);
    }
    index
}

fn kinds(matches: &[Match]) -> Vec<(u128, MatchKind)> {
    matches.iter().map(|m| (m.person_id.as_u128(), m.kind)).collect()
}

// --- names ---

#[test]
fn case_punctuation_and_spacing_do_not_change_a_name() {
    assert_eq!(normalised("  SITI   aminah "), ["siti", "amina"]);
    assert_eq!(normalised("Siti-Aminah"), normalised("siti aminah"));
}

#[test]
fn titles_before_a_name_are_dropped() {
    for written in [
        "H. Ahmad Fauzi",
        "Drs. H. Ahmad Fauzi",
        "Prof. Dr. Ir. Ahmad Fauzi",
        "KH Ahmad Fauzi",
    ] {
        assert_eq!(normalised(written), ["ahmad", "fauzi"], "{written}");
    }
    assert_eq!(normalised("Hj. Siti Aminah"), normalised("Siti Aminah"));
}

#[test]
fn degrees_after_a_name_are_dropped_however_they_are_written() {
    for written in [
        "Budi Santoso, S.Pd.",
        "Budi Santoso S.Pd",
        "Budi Santoso, S. Pd., M.Pd.",
        "Budi Santoso, SE",
        "Budi Santoso S.E.",
        "Budi Santoso, A.Md.",
        "Budi Santoso S.Kom",
        "Dr. Budi Santoso, S.H., M.H.",
    ] {
        assert_eq!(normalised(written), ["budi", "santoso"], "{written}");
    }
}

#[test]
fn a_short_last_name_is_kept_unless_it_is_written_as_a_degree() {
    assert_eq!(normalised("Budi Santoso Se"), ["budi", "santoso", "se"]);
    assert_eq!(normalised("Budi Santoso S.E."), ["budi", "santoso"]);
}

#[test]
fn a_name_that_is_only_a_title_is_kept() {
    assert_eq!(normalised("Haji"), ["haji"]);
    assert!(NormalisedName::parse(" .,- ").is_empty());
}

#[test]
fn every_spelling_of_muhammad_becomes_one_token() {
    for written in [
        "Muhammad Rizki",
        "Muhamad Rizki",
        "Mohammad Rizki",
        "Mochammad Rizki",
        "Mohamed Rizki",
        "Moh. Rizki",
        "Moch. Rizki",
        "Muh. Rizki",
        "Mhd Rizki",
        "H. Moh Rizki",
    ] {
        assert_eq!(normalised(written), [MUHAMMAD, "rizki"], "{written}");
    }
}

#[test]
fn a_mistyped_muhammad_is_still_muhammad_but_names_like_it_are_not() {
    for written in ["Mohammat Nur Hadi", "Muhammmad Nur Hadi", "Muhamadd Nur Hadi"] {
        assert_eq!(normalised(written)[0], MUHAMMAD, "{written}");
    }
    for other in ["Mahmud", "Mahmudah", "Muhaimin", "Mukhtar", "Maman", "Mustofa"] {
        assert_ne!(normalised(other)[0], MUHAMMAD, "{other}");
    }
}

#[test]
fn an_m_initial_agrees_fully_with_muhammad_and_partly_with_other_m_names() {
    for written in ["M. Rizki", "M Rizki", "H. M. Rizki"] {
        assert_eq!(normalised(written), ["m", "rizki"], "{written}");
        assert_eq!(similarity(written, "Muhammad Rizki"), 1.0, "{written}");
    }
    let maryam = similarity("M. Novitasari", "Maryam Novitasari");
    assert!((0.9..1.0).contains(&maryam), "{maryam}");
}

#[test]
fn old_spelling_is_read_as_today_spelling() {
    assert_eq!(normalised("Soekarno"), normalised("Sukarno"));
    assert_eq!(normalised("Djoko Soesilo"), normalised("Joko Susilo"));
    assert_eq!(normalised("Tjahjono"), normalised("Cahyono"));
    assert_eq!(normalised("Soerjadi"), normalised("Suryadi"));
    assert_eq!(normalised("Achmad Chairul"), normalised("Ahmad Khairul"));
    assert_eq!(normalised("Sjamsul"), normalised("Syamsul"));
}

#[test]
fn a_j_in_today_spelling_stays_a_j() {
    assert_eq!(normalised("Joko"), ["joko"]);
    assert_ne!(normalised("Jusuf"), normalised("Yusuf"));
    assert!(similarity("Jusuf", "Yusuf") >= 0.85);
}

#[test]
fn common_spelling_variants_are_one_spelling() {
    assert_eq!(normalised("Rizky"), normalised("Rizki"));
    assert_eq!(normalised("Fatimah"), normalised("Fatima"));
    assert_eq!(normalised("Abdullah"), normalised("Abdulah"));
    assert_eq!(normalised("Ramadhan"), normalised("Ramadan"));
    assert_eq!(normalised("Taufiq"), normalised("Taufik"));
    assert_eq!(normalised("Effendie"), normalised("Efendi"));
}

#[test]
fn apostrophes_join_and_accents_fold() {
    assert_eq!(normalised("Ma'ruf Amin"), ["maruf", "amin"]);
    assert_eq!(normalised("José"), ["jose"]);
}

#[test]
fn bin_and_binti_set_the_fathers_name_apart() {
    let name = NormalisedName::parse("Ahmad bin Abdullah");
    assert_eq!(name.given, ["ahmad"]);
    assert_eq!(name.father, ["abdula"]);
    let name = NormalisedName::parse("Siti Aminah binti H. Slamet");
    assert_eq!(name.given, ["siti", "amina"]);
    assert_eq!(name.father, ["slamet"]);
    assert_eq!(name.to_string(), "siti amina bin slamet");
    assert_eq!(NormalisedName::parse("Bin").given, ["bin"], "bin alone is a name");
}

#[test]
fn a_dropped_muhammad_or_siti_barely_changes_a_name() {
    assert!(similarity("Muhammad Rizki", "Rizki") >= 0.92);
    assert!(similarity("Siti Aminah", "Aminah") >= 0.85);
}

#[test]
fn a_dropped_middle_name_leaves_the_names_similar() {
    let dropped = similarity("Muhammad Rizki Pratama", "Muhammad Rizki");
    assert!((0.85..0.92).contains(&dropped), "{dropped}");
}

#[test]
fn an_initial_stands_for_a_name_with_its_letter_only() {
    assert!(similarity("A. Fauzi", "Ahmad Fauzi") >= 0.9);
    assert!(similarity("B. Fauzi", "Ahmad Fauzi") < NAME_GATE);
}

#[test]
fn a_typo_leaves_a_name_close_but_another_name_is_different() {
    assert!(similarity("Suparmi", "Suparni") >= 0.92);
    assert!(similarity("Muhammad Rizki", "Muhammad Rizal") < NAME_GATE);
    assert!(similarity("Siti Aminah", "Siti Rahmah") < NAME_GATE);
    assert!(similarity("Budi", "Budiman") < NAME_GATE);
}

#[test]
fn one_keystroke_in_a_longer_name_leaves_it_similar_but_not_in_a_short_one() {
    assert!(similarity("Nening Wulandari", "Nining Wulandari") >= 0.9);
    assert!(similarity("Nening", "Nining") >= 0.8);
    assert!(similarity("Rukayah", "Rukoyah") >= 0.85);
    assert!(
        similarity("Rini", "Rina") < 0.9,
        "short names one letter apart are as likely two names"
    );
    assert!(similarity("Hasem", "Hasan") < NAME_GATE, "two slips are another name");
}

#[test]
fn a_name_written_as_one_word_or_two_is_the_same_name() {
    assert_eq!(similarity("Nurhaliza", "Nur Haliza"), 1.0);
    assert!(similarity("Abdul Rahman", "Abdurrahman") >= 0.92);
}

#[test]
fn the_order_of_the_names_does_not_matter() {
    assert_eq!(similarity("Aminah Siti", "Siti Aminah"), 1.0);
}

#[test]
fn jaro_winkler_gives_the_published_values() {
    let close = |a: &str, b: &str, expected: f64| {
        let got = jaro_winkler(a, b);
        assert!((got - expected).abs() < 0.001, "{a}/{b}: {got}");
    };
    close("martha", "marhta", 0.961);
    close("dwayne", "duane", 0.840);
    close("dixon", "dicksonx", 0.813);
    close("abc", "abc", 1.0);
    close("abc", "xyz", 0.0);
    close("", "abc", 0.0);
}

// --- NIK, birth date, region ---

#[test]
fn one_mistyped_nik_digit_is_found_with_its_position() {
    let agreement = compare_niks(&nik("3375011503900002"), &nik("3375011803900002"));
    assert_eq!(agreement, NikAgreement::OneDigit { position: 8 });
}

#[test]
fn two_swapped_neighbouring_nik_digits_are_a_transposition() {
    let agreement = compare_niks(&nik("3375011503900002"), &nik("3375015103900002"));
    assert_eq!(agreement, NikAgreement::Transposed { position: 7 });
    let serial = compare_niks(&nik("3375011503900012"), &nik("3375011503900021"));
    assert_eq!(serial, NikAgreement::Transposed { position: 15 });
}

#[test]
fn another_serial_of_the_same_district_and_date_is_not_a_typo() {
    let agreement = compare_niks(&nik("3375011503900002"), &nik("3375011503900015"));
    assert_eq!(agreement, NikAgreement::SerialDiffers);
    let apart = compare_niks(&nik("3375011503900002"), &nik("3375021503900015"));
    assert_eq!(apart, NikAgreement::Different);
}

#[test]
fn a_mistyped_nik_digit_counts_by_the_part_of_the_nik_it_is_in() {
    let weight_of = |position: u8| weight(&Agreement::Nik(NikAgreement::OneDigit { position }));
    assert_eq!(NikPart::of(3), NikPart::Regency);
    assert_eq!(NikPart::of(6), NikPart::District);
    assert_eq!(NikPart::of(9), NikPart::BirthDate);
    assert_eq!(NikPart::of(16), NikPart::Serial);
    assert!(
        weight_of(3) > weight_of(6),
        "neighbouring districts give out the same serials"
    );
    assert!(
        weight_of(9) > weight_of(16),
        "neighbours by date and district differ in the serial"
    );
}

#[test]
fn niks_apart_only_where_the_declared_birth_dates_differ_are_no_sign_of_a_typo() {
    let index = given_known(vec![known(1, rizki(), household(1))]);
    let born_a_year_later = Identity {
        nik: nik("3375011503910002"),
        birth_date: date("1991-03-15"),
        region: region("33.75.02.1004"),
        ..rizki()
    };

    let compared = compare(
        &born_a_year_later,
        None,
        &index.get(Uuid::from_u128(1)).cloned().unwrap(),
    );

    assert_eq!(
        compared.field(Field::Nik).map(|f| f.agreement),
        Some(Agreement::Nik(NikAgreement::BirthDateOrSexDiffers))
    );
    assert!(
        index.candidates(&born_a_year_later, None).is_empty(),
        "a namesake a year younger, living in another district"
    );
}

#[test]
fn a_nik_whose_date_disagrees_with_its_holder_is_a_typo_in_the_date() {
    let applicant = Identity {
        nik: nik("3375011503910002"),
        ..rizki()
    };

    let compared = compare(&applicant, None, &known(1, rizki(), None));

    assert_eq!(
        compared.field(Field::Nik).map(|f| f.agreement),
        Some(Agreement::Nik(NikAgreement::OneDigit { position: 12 }))
    );
    assert_eq!(compared.kind, MatchKind::Probable);
}

#[test]
fn a_brother_and_sister_born_the_same_day_are_not_one_person() {
    let brother = Identity {
        full_name: "Rohman".into(),
        ..rizki()
    };
    let sister = Identity {
        nik: nik("3375015503900002"),
        full_name: "Rohmah".into(),
        sex: Sex::Female,
        ..rizki()
    };
    let index = given_known(vec![known(1, brother, household(1))]);

    assert!(index.candidates(&sister, household(1)).is_empty());
}

#[test]
fn a_shared_default_birth_date_counts_less_than_a_real_one() {
    assert_eq!(
        compare_birth_dates(date("1960-12-31"), date("1960-12-31")),
        DateAgreement::SameDefaultDate
    );
    assert_eq!(
        compare_birth_dates(date("1960-07-01"), date("1960-07-01")),
        DateAgreement::SameDefaultDate
    );
    assert!(
        weight(&Agreement::BirthDate(DateAgreement::SameDefaultDate))
            < weight(&Agreement::BirthDate(DateAgreement::Same))
    );
    let on_new_year = |name: &str, digits: &str| Identity {
        nik: nik(digits),
        full_name: name.into(),
        birth_date: date("1960-01-01"),
        ..rizki()
    };
    let index = given_known(vec![known(1, on_new_year("Sutarno", "3375010101600001"), None)]);
    let namesake = Identity {
        region: region("33.75.02.1004"),
        ..on_new_year("Sutarno", "3326010101600001")
    };
    assert!(
        index.candidates(&namesake, None).is_empty(),
        "two Sutarnos of 1 January 1960 from different districts"
    );
    let real_date = |identity: Identity| Identity {
        nik: nik(&identity.nik.as_str().replace("010160", "020160")),
        birth_date: date("1960-01-02"),
        ..identity
    };
    let index = given_known(vec![known(
        1,
        real_date(on_new_year("Sutarno", "3375010101600001")),
        None,
    )]);
    assert_eq!(
        kinds(&index.candidates(&real_date(namesake), None)),
        [(1, MatchKind::Probable)],
        "on 2 January they would be worth a look"
    );
}

#[test]
fn birth_dates_agree_exactly_swapped_or_on_two_fields_of_three() {
    let born = date("1990-03-15");
    assert_eq!(compare_birth_dates(born, born), DateAgreement::Same);
    assert_eq!(
        compare_birth_dates(date("1990-04-03"), date("1990-03-04")),
        DateAgreement::DayMonthSwapped
    );
    assert_eq!(
        compare_birth_dates(born, date("1991-03-15")),
        DateAgreement::OneFieldDiffers
    );
    assert_eq!(
        compare_birth_dates(born, date("1990-03-16")),
        DateAgreement::OneFieldDiffers
    );
    assert_eq!(compare_birth_dates(born, date("1991-04-15")), DateAgreement::Different);
}

#[test]
fn regions_agree_at_the_deepest_level_they_share() {
    let medono = region("33.75.01.1002");
    assert_eq!(compare_regions(medono, medono), RegionAgreement::Same);
    assert_eq!(
        compare_regions(medono, region("33.75.01.1003")),
        RegionAgreement::SameDistrict
    );
    assert_eq!(
        compare_regions(medono, region("33.75.02.1004")),
        RegionAgreement::SameRegency
    );
    assert_eq!(
        compare_regions(medono, region("33.26.01.2001")),
        RegionAgreement::SameProvince
    );
    assert_eq!(
        compare_regions(medono, region("32.75.01.1001")),
        RegionAgreement::Different
    );
}

// --- exact matches ---

#[test]
fn the_same_nik_name_and_birth_date_is_the_known_person_not_a_duplicate() {
    let index = given_known(vec![known(1, rizki(), household(1))]);

    let matches = index.candidates(&rizki(), household(1));

    assert_eq!(kinds(&matches), [(1, MatchKind::Exact(ExactKind::SamePerson))]);
    assert!(matches[0].score > 0.99, "{}", matches[0].score);
}

#[test]
fn the_same_nik_with_the_name_written_another_way_is_still_the_known_person() {
    let index = given_known(vec![known(1, rizki(), household(1))]);
    let applicant = Identity {
        full_name: "H. Moh. Rizky, S.Pd.".into(),
        ..rizki()
    };

    let matches = index.candidates(&applicant, None);

    assert_eq!(kinds(&matches), [(1, MatchKind::Exact(ExactKind::SamePerson))]);
}

#[test]
fn the_same_nik_on_someone_with_another_name_is_a_conflict_and_scores_low() {
    let index = given_known(vec![known(1, rizki(), household(1))]);
    let applicant = Identity {
        full_name: "Budi Santoso".into(),
        ..rizki()
    };

    let matches = index.candidates(&applicant, None);

    assert_eq!(kinds(&matches), [(1, MatchKind::Exact(ExactKind::NikHeldByAnother))]);
    assert!(matches[0].score < PROBABLE_THRESHOLD, "{}", matches[0].score);
}

#[test]
fn the_same_nik_with_another_birth_date_or_sex_is_a_conflict() {
    let index = given_known(vec![known(1, rizki(), household(1))]);
    let other_date = Identity {
        birth_date: date("1990-03-16"),
        ..rizki()
    };
    let other_sex = Identity {
        sex: Sex::Female,
        ..rizki()
    };

    for applicant in [other_date, other_sex] {
        let matches = index.candidates(&applicant, None);
        assert_eq!(kinds(&matches), [(1, MatchKind::Exact(ExactKind::NikHeldByAnother))]);
    }
}

#[test]
fn the_known_person_registered_into_another_household_is_reported_with_that_household() {
    let index = given_known(vec![known(1, rizki(), household(1))]);

    let matches = index.candidates(&rizki(), household(2));

    assert_eq!(
        kinds(&matches),
        [(1, MatchKind::Exact(ExactKind::MemberOfAnotherHousehold))]
    );
    assert_eq!(matches[0].household_id, household(1));
}

#[test]
fn without_a_household_on_either_side_the_known_person_is_just_the_same_person() {
    let index = given_known(vec![known(1, rizki(), None)]);

    assert_eq!(
        kinds(&index.candidates(&rizki(), household(2))),
        [(1, MatchKind::Exact(ExactKind::SamePerson))]
    );
}

// --- probable matches ---

#[test]
fn a_mistyped_nik_digit_with_the_same_name_and_birth_date_is_a_probable_duplicate() {
    let index = given_known(vec![known(1, rizki(), household(1)), known(2, aminah(), household(1))]);
    let applicant = Identity {
        nik: nik("3375011503900008"),
        ..rizki()
    };

    let matches = index.candidates(&applicant, None);

    assert_eq!(kinds(&matches), [(1, MatchKind::Probable)]);
}

#[test]
fn swapped_nik_digits_and_a_name_written_another_way_are_a_probable_duplicate() {
    let index = given_known(vec![known(1, rizki(), household(1))]);
    let applicant = Identity {
        nik: nik("3375015103900002"),
        full_name: "M. Rizky".into(),
        ..rizki()
    };

    let matches = index.candidates(&applicant, None);

    assert_eq!(kinds(&matches), [(1, MatchKind::Probable)]);
    assert!(matches[0].score > 0.9, "{}", matches[0].score);
}

#[test]
fn a_second_nik_from_another_district_with_the_same_name_and_birth_date_is_probable() {
    let index = given_known(vec![known(1, aminah(), household(1))]);
    let applicant = Identity {
        nik: nik("3326014506850001"),
        full_name: "Hj. Siti Aminah".into(),
        region: region("33.75.02.1004"),
        ..aminah()
    };

    assert_eq!(kinds(&index.candidates(&applicant, None)), [(1, MatchKind::Probable)]);
}

#[test]
fn a_mistyped_nik_and_a_swapped_birth_day_and_month_are_still_found() {
    let known_born = Identity {
        nik: nik("3375010403900002"),
        birth_date: date("1990-03-04"),
        ..rizki()
    };
    let index = given_known(vec![known(1, known_born.clone(), None)]);
    let applicant = Identity {
        nik: nik("3375010403900003"),
        birth_date: date("1990-04-03"),
        full_name: "Muhamad Rizki".into(),
        ..known_born
    };

    assert_eq!(kinds(&index.candidates(&applicant, None)), [(1, MatchKind::Probable)]);
}

#[test]
fn a_twin_with_the_next_serial_and_another_name_is_not_a_duplicate() {
    let index = given_known(vec![known(1, rizki(), household(1))]);
    let twin = Identity {
        nik: nik("3375011503900003"),
        full_name: "Muhammad Rizal".into(),
        ..rizki()
    };

    assert!(index.candidates(&twin, household(1)).is_empty());
}

#[test]
fn a_namesake_born_in_another_year_elsewhere_is_not_a_duplicate() {
    let index = given_known(vec![known(1, rizki(), household(1))]);
    let namesake = Identity {
        nik: nik("3326011503950001"),
        birth_date: date("1995-03-15"),
        region: region("33.26.01.2001"),
        ..rizki()
    };

    assert!(index.candidates(&namesake, None).is_empty());
}

#[test]
fn a_different_fathers_name_speaks_against_the_same_person() {
    let with_father = |name: &str| Identity {
        full_name: name.into(),
        ..rizki()
    };
    let known_one = known(1, with_father("Muhammad Rizki bin Slamet"), household(1));
    let applicant = Identity {
        nik: nik("3375011503900008"),
        ..with_father("Muhammad Rizki bin Sukardi")
    };

    let compared = compare(&applicant, None, &known_one);

    let father = compared.field(Field::FatherName).unwrap();
    assert!(father.differs());
    assert!(father.weight < 0.0);
    let same_father = compare(
        &Identity {
            nik: nik("3375011503900008"),
            ..with_father("Muhammad Rizki bin Slamet")
        },
        None,
        &known_one,
    );
    assert!(compared.score < same_father.score);
}

#[test]
fn a_shortened_fathers_name_neither_agrees_nor_differs() {
    let known_one = known(
        1,
        Identity {
            full_name: "Muhammad Rizki bin Abdul Rahman Hakim".into(),
            ..rizki()
        },
        None,
    );
    let applicant = Identity {
        full_name: "Muhammad Rizki bin Abdul".into(),
        ..rizki()
    };

    let father = compare(&applicant, None, &known_one)
        .field(Field::FatherName)
        .cloned()
        .unwrap();

    assert!(!father.agrees() && !father.differs(), "{father:?}");
    assert_eq!(father.left.to_string(), "abdul");
}

#[test]
fn a_probable_match_shows_each_field_side_by_side_with_what_agrees_and_what_differs() {
    let index = given_known(vec![known(1, rizki(), household(1))]);
    let applicant = Identity {
        nik: nik("3375011503900008"),
        full_name: "Moh. Rizki".into(),
        region: region("33.75.01.1003"),
        ..rizki()
    };

    let matches = index.candidates(&applicant, None);
    let found = &matches[0];

    let codes: Vec<(&str, &str, bool, bool)> = found
        .fields
        .iter()
        .map(|f| (f.field().code(), f.agreement.code(), f.agrees(), f.differs()))
        .collect();
    assert_eq!(
        codes,
        [
            ("nik", "nik.one_digit", true, false),
            ("name", "name.identical", true, false),
            ("birth_date", "birth_date.same", true, false),
            ("sex", "sex.same", true, false),
            ("region", "region.same_district", true, false),
        ]
    );
    let name = found.field(Field::Name).unwrap();
    assert_eq!(name.left.to_string(), "Moh. Rizki");
    assert_eq!(name.right.to_string(), "Muhammad Rizki");
    assert_eq!(
        found.field(Field::Nik).unwrap().agreement,
        Agreement::Nik(NikAgreement::OneDigit { position: 16 })
    );
}

#[test]
fn a_nik_shown_side_by_side_is_masked_in_debug_output() {
    let compared = compare(&rizki(), None, &known(1, rizki(), None));
    let debug = format!("{compared:?}");
    assert!(!debug.contains("3375011503900002"), "{debug}");
    assert!(debug.contains("3375********0002"), "{debug}");
}

#[test]
fn exact_matches_come_first_then_the_likeliest() {
    // A registry that already holds one person under two NIKs.
    let second_nik = Identity {
        nik: nik("3375011503900008"),
        ..rizki()
    };
    let spelled = Identity {
        nik: nik("3375011503900009"),
        full_name: "Muhammad Rizki Pratama".into(),
        ..rizki()
    };
    let index = given_known(vec![
        known(3, spelled, None),
        known(2, second_nik, None),
        known(1, rizki(), None),
    ]);

    let matches = index.candidates(&rizki(), None);

    assert_eq!(
        kinds(&matches),
        [
            (1, MatchKind::Exact(ExactKind::SamePerson)),
            (2, MatchKind::Probable),
            (3, MatchKind::Probable)
        ]
    );
    assert!(matches[1].score > matches[2].score);
}

#[test]
fn someone_sharing_nothing_with_the_applicant_is_not_a_candidate() {
    let index = given_known(vec![known(2, aminah(), household(1))]);

    assert!(index.candidates(&rizki(), household(1)).is_empty());
}

#[test]
fn inserting_a_known_person_again_replaces_what_is_known_of_them() {
    let mut index = given_known(vec![known(1, rizki(), household(1))]);
    let moved = Identity {
        nik: nik("3375011503900008"),
        region: region("33.75.02.1004"),
        ..rizki()
    };

    index.insert(known(1, moved.clone(), household(2)));

    assert_eq!(index.len(), 1);
    assert_eq!(index.get(Uuid::from_u128(1)).map(|p| &p.identity), Some(&moved));
    assert_eq!(
        kinds(&index.candidates(&moved, household(2))),
        [(1, MatchKind::Exact(ExactKind::SamePerson))]
    );
}

#[test]
fn an_applicant_from_the_desk_is_compared_as_declared() {
    let applicant = Applicant {
        nik: nik("3375011503900002"),
        full_name: "Muhammad Rizki".into(),
        birth_date: date("1990-03-15"),
        sex: Sex::Male,
        region: region("33.75.01.1002"),
        kk: slrt_identity::KkNumber::parse_at("3375011203150004", today()).unwrap(),
    };

    assert_eq!(Identity::from(&applicant), rizki());
}

// --- blocking keys as text, for an index kept in a database ---

fn share_a_key(a: &Identity, b: &Identity) -> bool {
    let keys = blocking_keys(a);
    blocking_keys(b).iter().any(|key| keys.contains(key))
}

#[test]
fn text_blocking_keys_bring_together_whom_the_index_compares() {
    let people = [
        rizki(),
        aminah(),
        Identity {
            nik: nik("3375011503900008"),
            ..rizki()
        },
        Identity {
            nik: nik("3375015103900002"),
            full_name: "M. Rizky".into(),
            ..rizki()
        },
        Identity {
            nik: nik("3326014506850001"),
            full_name: "Hj. Siti Aminah".into(),
            region: region("33.75.02.1004"),
            ..aminah()
        },
        Identity {
            nik: nik("3375021501780001"),
            full_name: "Darto".into(),
            birth_date: date("1978-01-15"),
            sex: Sex::Male,
            region: region("33.75.02.1004"),
        },
    ];
    for (i, a) in people.iter().enumerate() {
        for (j, b) in people.iter().enumerate() {
            let index = given_known(vec![known(j as u128, b.clone(), None)]);
            let compared = index.compared_for(a) > 0;
            assert_eq!(share_a_key(a, b), compared, "{i} and {j}");
        }
    }
}

#[test]
fn the_nik_key_is_the_nik_and_names_are_kept_only_as_sounds() {
    let keys = blocking_keys(&rizki());
    assert!(keys.contains(&"n3375011503900002".to_string()));
    assert!(keys.iter().all(|key| !key.contains("rizki")));
}
