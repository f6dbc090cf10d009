//! The bad tokens the service suites present are each refused by the verifier, for the
//! reason they claim, and the good token beside them is accepted: otherwise a suite's
//! "refused" could pass for the wrong reason.

use std::collections::HashMap;

#[test]
fn every_bad_token_is_refused_for_its_own_reason_and_the_good_one_passes() {
    let identity = slrt_testkit::identity();
    let env: HashMap<&str, String> = identity.env().into_iter().collect();
    let verifier = slrt_auth::settings::verifier(|name| env.get(name).cloned()).expect("the test verifier");

    let good = identity.token("desk-1", &["desk_operator"], Some("33.75.01"), None);
    assert!(verifier.verify(&good).is_ok());

    let cases = identity.bad_tokens(&["desk_operator"], Some("33.75.01"), None);
    assert!(cases.len() >= 10);
    for case in cases {
        let Some(token) = case.header.strip_prefix("Bearer ") else {
            // Header-level failures (missing, not Bearer) never reach the verifier.
            continue;
        };
        let refusal = verifier.verify(token).expect_err(case.case).to_string();
        assert!(
            refusal.contains(case.refusal),
            "{}: refused with {refusal:?}, expected a mention of {:?}",
            case.case,
            case.refusal
        );
    }
}
