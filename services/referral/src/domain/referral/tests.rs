use super::*;
use crate::domain::events::{CashBenefit, Nik};
use slrt_vocabulary::NeedCategory;

const REFERRAL: Uuid = Uuid::from_u128(0x0199_0000_0000_7000_8000_0000_0000_0001);
const CASE: Uuid = Uuid::from_u128(0x0199_0000_0000_7000_8000_0000_0000_00ca);

fn opd(code: &str) -> OpdCode {
    match OpdCode::parse(code) {
        Ok(opd) => opd,
        Err(e) => panic!("test OPD code: {e}"),
    }
}

fn dinsos() -> OpdCode {
    opd("DINSOS")
}

fn details() -> ReferralDetails {
    ReferralDetails {
        referral_id: REFERRAL,
        case_id: CASE,
        need_id: Uuid::from_u128(0xbeef),
        category: NeedCategory::CashAssistance,
        programme_code: Some("PKH".to_owned()),
        opd_code: dinsos(),
        opd_name: "Dinas Sosial".to_owned(),
        service: "Program Keluarga Harapan (PKH)".to_owned(),
        region_code: "33.75.01.1002".to_owned(),
        client_name: "Siti Aminah".to_owned(),
        client_nik: Nik::new("3375014107900001"),
        beneficiary_id: Some("hh-3375-0042".to_owned()),
        benefit: Some(CashBenefit {
            amount_per_period_idr: 750_000,
            cadence: "quarterly".to_owned(),
            component: "child_0_6".to_owned(),
        }),
    }
}

// --- given: recorded events ---------------------------------------------------------------

fn requested() -> ReferralEvent {
    ReferralEvent::Requested(ReferralRequested { details: details() })
}

fn acknowledged() -> ReferralEvent {
    ReferralEvent::Acknowledged(ReferralAcknowledged {
        referral_id: REFERRAL,
        case_id: CASE,
        opd_code: dinsos(),
        actor: "petugas.dinsos.1".to_owned(),
    })
}

fn accepted() -> ReferralEvent {
    ReferralEvent::Accepted(ReferralAccepted {
        details: details(),
        actor: "petugas.dinsos.1".to_owned(),
        note: None,
    })
}

fn rejected(reason: &str) -> ReferralEvent {
    ReferralEvent::Rejected(ReferralRejected {
        referral_id: REFERRAL,
        case_id: CASE,
        opd_code: dinsos(),
        actor: "petugas.dinsos.1".to_owned(),
        reason: reason.to_owned(),
    })
}

fn completed(completion: Completion) -> ReferralEvent {
    ReferralEvent::Completed(ReferralCompleted {
        referral_id: REFERRAL,
        case_id: CASE,
        opd_code: dinsos(),
        actor: "petugas.dinsos.1".to_owned(),
        completion,
        note: None,
    })
}

// --- when: commands -----------------------------------------------------------------------

fn acknowledge(by: OpdCode) -> ReferralCommand {
    ReferralCommand::Acknowledge(AcknowledgeReferral {
        referral_id: REFERRAL,
        opd: by,
        actor: "petugas.dinsos.1".to_owned(),
    })
}

fn accept(by: OpdCode) -> ReferralCommand {
    ReferralCommand::Accept(AcceptReferral {
        referral_id: REFERRAL,
        opd: by,
        actor: "petugas.dinsos.1".to_owned(),
        note: String::new(),
    })
}

fn reject(by: OpdCode, reason: &str) -> ReferralCommand {
    ReferralCommand::Reject(RejectReferral {
        referral_id: REFERRAL,
        opd: by,
        actor: "petugas.dinsos.1".to_owned(),
        reason: reason.to_owned(),
    })
}

fn complete(by: OpdCode, successful: bool, outcome_code: &str) -> ReferralCommand {
    ReferralCommand::Complete(CompleteReferral {
        referral_id: REFERRAL,
        opd: by,
        actor: "petugas.dinsos.1".to_owned(),
        successful,
        outcome_code: outcome_code.to_owned(),
        note: String::new(),
    })
}

// --- then ---------------------------------------------------------------------------------

fn decide(given: &[ReferralEvent], when: &ReferralCommand) -> Result<Vec<ReferralEvent>, ReferralError> {
    let state = match Referral::from_history(given) {
        Ok(state) => state,
        Err(e) => panic!("the test's history is not a referral: {e}"),
    };
    handle(state.as_ref(), when)
}

fn message(result: Result<Vec<ReferralEvent>, ReferralError>) -> String {
    match result {
        Ok(events) => panic!("expected a refusal, got {events:?}"),
        Err(e) => e.to_string(),
    }
}

// --- request ------------------------------------------------------------------------------

#[test]
fn requesting_a_new_referral_records_it_with_its_details() {
    let when = ReferralCommand::Request(RequestReferral { details: details() });
    assert_eq!(decide(&[], &when), Ok(vec![requested()]));
}

#[test]
fn requesting_the_same_referral_again_is_reported_as_already_done() {
    let when = ReferralCommand::Request(RequestReferral { details: details() });
    assert_eq!(
        decide(&[requested(), accepted()], &when),
        Err(ReferralError::AlreadyInState {
            status: ReferralStatus::Accepted
        })
    );
}

#[test]
fn requesting_an_existing_referral_id_with_other_details_is_refused() {
    let mut other = details();
    other.service = "Another service".to_owned();
    let when = ReferralCommand::Request(RequestReferral { details: other });
    assert_eq!(decide(&[requested()], &when), Err(ReferralError::AlreadyExists));
}

// --- acknowledge --------------------------------------------------------------------------

#[test]
fn acknowledging_a_requested_referral_records_who_saw_it() {
    assert_eq!(decide(&[requested()], &acknowledge(dinsos())), Ok(vec![acknowledged()]));
}

#[test]
fn acknowledging_twice_is_reported_as_already_acknowledged() {
    assert_eq!(
        decide(&[requested(), acknowledged()], &acknowledge(dinsos())),
        Err(ReferralError::AlreadyInState {
            status: ReferralStatus::Acknowledged
        })
    );
}

// --- accept -------------------------------------------------------------------------------

#[test]
fn accepting_a_requested_referral_needs_no_acknowledgement_first() {
    assert_eq!(decide(&[requested()], &accept(dinsos())), Ok(vec![accepted()]));
}

#[test]
fn accepting_an_acknowledged_referral_carries_the_full_details_for_disbursement() {
    let events = decide(&[requested(), acknowledged()], &accept(dinsos()));
    assert_eq!(events, Ok(vec![accepted()]));
    let benefit = match events.as_deref() {
        Ok([ReferralEvent::Accepted(e)]) => e.details.benefit.clone(),
        other => panic!("expected one ReferralAccepted, got {other:?}"),
    };
    assert_eq!(benefit.map(|b| b.amount_per_period_idr), Some(750_000));
}

#[test]
fn accepting_with_a_note_keeps_the_note_trimmed() {
    let when = ReferralCommand::Accept(AcceptReferral {
        referral_id: REFERRAL,
        opd: dinsos(),
        actor: " petugas.dinsos.1 ".to_owned(),
        note: "  home visit on Monday ".to_owned(),
    });
    assert_eq!(
        decide(&[requested()], &when),
        Ok(vec![ReferralEvent::Accepted(ReferralAccepted {
            details: details(),
            actor: "petugas.dinsos.1".to_owned(),
            note: Some("home visit on Monday".to_owned()),
        })])
    );
}

#[test]
fn accepting_twice_is_reported_as_already_accepted() {
    assert_eq!(
        decide(&[requested(), accepted()], &accept(dinsos())),
        Err(ReferralError::AlreadyInState {
            status: ReferralStatus::Accepted
        })
    );
}

// --- reject -------------------------------------------------------------------------------

#[test]
fn rejecting_a_requested_referral_records_the_reason() {
    assert_eq!(
        decide(&[requested()], &reject(dinsos(), "  quota for 2026 is full ")),
        Ok(vec![rejected("quota for 2026 is full")])
    );
}

#[test]
fn rejecting_an_acknowledged_referral_records_the_reason() {
    assert_eq!(
        decide(&[requested(), acknowledged()], &reject(dinsos(), "not our programme")),
        Ok(vec![rejected("not our programme")])
    );
}

#[test]
fn rejecting_without_a_reason_is_refused_and_names_the_field() {
    for blank in ["", "   "] {
        let result = decide(&[requested()], &reject(dinsos(), blank));
        assert_eq!(result, Err(ReferralError::ReasonRequired));
        assert_eq!(result.err().and_then(|e| e.field()), Some("reason"), "{blank:?}");
    }
    assert_eq!(
        message(decide(&[requested()], &reject(dinsos(), ""))),
        "a reason is required to reject a referral"
    );
}

#[test]
fn rejecting_again_with_the_same_reason_is_reported_as_already_rejected() {
    assert_eq!(
        decide(
            &[requested(), rejected("not our programme")],
            &reject(dinsos(), "not our programme ")
        ),
        Err(ReferralError::AlreadyInState {
            status: ReferralStatus::Rejected
        })
    );
}

#[test]
fn rejecting_again_with_another_reason_is_a_conflict() {
    let result = decide(
        &[requested(), rejected("not our programme")],
        &reject(dinsos(), "quota is full"),
    );
    assert_eq!(message(result), "referral is already rejected with a different reason");
}

// --- complete -----------------------------------------------------------------------------

#[test]
fn completing_an_accepted_referral_successfully_records_success() {
    assert_eq!(
        decide(&[requested(), accepted()], &complete(dinsos(), true, "")),
        Ok(vec![completed(Completion::Successful)])
    );
}

#[test]
fn completing_an_accepted_referral_without_success_records_the_outcome_code() {
    assert_eq!(
        decide(
            &[requested(), acknowledged(), accepted()],
            &complete(dinsos(), false, "unable_to_contact")
        ),
        Ok(vec![completed(Completion::NotSuccessful(OutcomeCode::UnableToContact))])
    );
}

#[test]
fn completing_without_success_and_without_an_outcome_code_is_refused() {
    let result = decide(&[requested(), accepted()], &complete(dinsos(), false, " "));
    assert_eq!(result, Err(ReferralError::OutcomeCodeRequired));
    assert_eq!(
        message(result),
        "an outcome code is required when a referral is completed without success \
         (one of: client_refused, lack_of_capacity, unable_to_contact, no_longer_needed, other)"
    );
}

#[test]
fn completing_with_an_unknown_outcome_code_is_refused_and_names_the_field() {
    let result = decide(&[requested(), accepted()], &complete(dinsos(), false, "moved_away"));
    assert_eq!(result.clone().err().and_then(|e| e.field()), Some("outcome_code"));
    assert!(message(result).starts_with("\"moved_away\" is not an outcome code"));
}

#[test]
fn completing_successfully_with_an_outcome_code_is_refused_as_contradictory() {
    assert_eq!(
        decide(&[requested(), accepted()], &complete(dinsos(), true, "client_refused")),
        Err(ReferralError::OutcomeCodeOnSuccess)
    );
}

#[test]
fn completing_again_with_the_same_outcome_is_reported_as_already_completed() {
    let given = [
        requested(),
        accepted(),
        completed(Completion::NotSuccessful(OutcomeCode::ClientRefused)),
    ];
    assert_eq!(
        decide(&given, &complete(dinsos(), false, "client_refused")),
        Err(ReferralError::AlreadyInState {
            status: ReferralStatus::Completed
        })
    );
}

#[test]
fn completing_again_with_another_outcome_is_a_conflict() {
    let given = [requested(), accepted(), completed(Completion::Successful)];
    assert_eq!(
        message(decide(&given, &complete(dinsos(), false, "other"))),
        "referral is already completed with a different outcome"
    );
}

// --- illegal transitions ------------------------------------------------------------------

#[test]
fn every_illegal_transition_is_refused_with_a_sentence_saying_why() {
    let when_requested = vec![requested()];
    let when_acknowledged = vec![requested(), acknowledged()];
    let when_accepted = vec![requested(), accepted()];
    let when_rejected = vec![requested(), rejected("not our programme")];
    let when_completed = vec![requested(), accepted(), completed(Completion::Successful)];

    let cases: Vec<(&[ReferralEvent], ReferralCommand, &str)> = vec![
        (
            &when_requested,
            complete(dinsos(), true, ""),
            "referral is requested but not yet accepted; it cannot be completed",
        ),
        (
            &when_acknowledged,
            complete(dinsos(), true, ""),
            "referral is acknowledged but not yet accepted; it cannot be completed",
        ),
        (
            &when_accepted,
            acknowledge(dinsos()),
            "referral is already accepted; it cannot be acknowledged",
        ),
        (
            &when_accepted,
            reject(dinsos(), "changed our mind"),
            "referral is already accepted; it cannot be rejected",
        ),
        (
            &when_rejected,
            acknowledge(dinsos()),
            "referral is already rejected; it cannot be acknowledged",
        ),
        (
            &when_rejected,
            accept(dinsos()),
            "referral is already rejected; it cannot be accepted",
        ),
        (
            &when_rejected,
            complete(dinsos(), true, ""),
            "referral is already rejected; it cannot be completed",
        ),
        (
            &when_completed,
            acknowledge(dinsos()),
            "referral is already completed; it cannot be acknowledged",
        ),
        (
            &when_completed,
            accept(dinsos()),
            "referral is already completed; it cannot be accepted",
        ),
        (
            &when_completed,
            reject(dinsos(), "too late"),
            "referral is already completed; it cannot be rejected",
        ),
    ];
    for (given, when, expected) in cases {
        let result = decide(given, &when);
        assert!(
            matches!(result, Err(ReferralError::InvalidTransition { .. })),
            "{when:?}: {result:?}"
        );
        assert_eq!(message(result), expected);
    }
}

// --- who may act --------------------------------------------------------------------------

#[test]
fn another_opd_gets_not_found_for_every_command_in_every_state() {
    let dinkes = opd("DINKES");
    let histories = [
        vec![requested()],
        vec![requested(), acknowledged()],
        vec![requested(), accepted()],
        vec![requested(), rejected("not our programme")],
        vec![requested(), accepted(), completed(Completion::Successful)],
    ];
    for given in &histories {
        for when in [
            acknowledge(dinkes.clone()),
            accept(dinkes.clone()),
            reject(dinkes.clone(), "not ours"),
            reject(dinkes.clone(), ""),
            complete(dinkes.clone(), false, ""),
        ] {
            assert_eq!(decide(given, &when), Err(ReferralError::NotFound), "{when:?}");
        }
    }
}

#[test]
fn the_not_found_answer_to_another_opd_is_the_same_as_for_a_missing_referral() {
    let from_other_opd = decide(&[requested()], &accept(opd("DINKES")));
    let missing = decide(&[], &accept(dinsos()));
    assert_eq!(from_other_opd, missing);
    assert_eq!(message(missing), "referral not found");
}

#[test]
fn a_command_for_another_referral_id_is_not_found() {
    let ReferralCommand::Accept(mut cmd) = accept(dinsos()) else {
        unreachable!("accept() builds an Accept command");
    };
    cmd.referral_id = Uuid::from_u128(42);
    assert_eq!(
        decide(&[requested()], &ReferralCommand::Accept(cmd)),
        Err(ReferralError::NotFound)
    );
}

#[test]
fn a_command_without_an_actor_is_refused() {
    let when = ReferralCommand::Acknowledge(AcknowledgeReferral {
        referral_id: REFERRAL,
        opd: dinsos(),
        actor: "  ".to_owned(),
    });
    let result = decide(&[requested()], &when);
    assert_eq!(result, Err(ReferralError::ActorRequired));
    assert_eq!(result.err().and_then(|e| e.field()), Some("actor"));
}

// --- rebuilding state ---------------------------------------------------------------------

#[test]
fn state_is_rebuilt_by_folding_the_events() -> Result<(), HistoryError> {
    let outcome = Completion::NotSuccessful(OutcomeCode::NoLongerNeeded);
    let history = [requested(), acknowledged(), accepted(), completed(outcome)];
    let Some(referral) = Referral::from_history(&history)? else {
        panic!("a non-empty history is a referral");
    };
    assert_eq!(referral.status(), ReferralStatus::Completed);
    assert!(!referral.status().is_open());
    assert_eq!(referral.completion(), Some(outcome));
    assert_eq!(referral.owner(), &dinsos());
    assert_eq!(referral.details(), &details());
    Ok(())
}

#[test]
fn a_rejected_referral_remembers_why() -> Result<(), HistoryError> {
    let referral = Referral::from_history(&[requested(), rejected("quota is full")])?;
    assert_eq!(
        referral.as_ref().and_then(Referral::rejection_reason),
        Some("quota is full")
    );
    assert_eq!(referral.map(|r| r.status().is_open()), Some(false));
    Ok(())
}

#[test]
fn an_empty_stream_is_no_referral() {
    assert_eq!(Referral::from_history(&[]), Ok(None));
}

#[test]
fn a_stream_that_does_not_begin_with_a_request_is_not_a_referral() {
    assert_eq!(
        Referral::from_history(&[accepted()]),
        Err(HistoryError::NotStartedByRequest {
            first: "slrt.referral.v1.ReferralAccepted"
        })
    );
}

#[test]
fn a_stream_with_a_second_request_is_not_a_referral() {
    assert_eq!(
        Referral::from_history(&[requested(), acknowledged(), requested()]),
        Err(HistoryError::RequestedAgain { position: 3 })
    );
}

#[test]
fn a_stream_holding_another_referrals_event_is_not_a_referral() {
    let ReferralEvent::Acknowledged(mut foreign) = acknowledged() else {
        unreachable!("acknowledged() builds an Acknowledged event");
    };
    foreign.referral_id = Uuid::from_u128(42);
    assert_eq!(
        Referral::from_history(&[requested(), ReferralEvent::Acknowledged(foreign)]),
        Err(HistoryError::ForeignEvent {
            expected: REFERRAL,
            found: Uuid::from_u128(42),
            position: 2,
        })
    );
}

#[test]
fn a_decided_event_applied_to_the_state_gives_the_state_the_next_decision_sees() {
    let mut referral = match Referral::from_history(&[requested()]) {
        Ok(Some(referral)) => referral,
        other => panic!("expected a referral, got {other:?}"),
    };
    let events = match handle(Some(&referral), &accept(dinsos())) {
        Ok(events) => events,
        Err(e) => panic!("accept was refused: {e}"),
    };
    for event in &events {
        referral.apply(event);
    }
    assert_eq!(referral.status(), ReferralStatus::Accepted);
    assert_eq!(
        handle(Some(&referral), &accept(dinsos())),
        Err(ReferralError::AlreadyInState {
            status: ReferralStatus::Accepted
        })
    );
}

#[test]
fn every_status_parses_back_from_its_name_and_only_rejected_and_completed_are_closed() {
    for status in ReferralStatus::ALL {
        assert_eq!(ReferralStatus::parse(status.as_str()), Some(status));
    }
    assert_eq!(ReferralStatus::parse("done"), None);
    let closed: Vec<ReferralStatus> = ReferralStatus::ALL.into_iter().filter(|s| !s.is_open()).collect();
    assert_eq!(closed, [ReferralStatus::Rejected, ReferralStatus::Completed]);
}
