use super::*;
use crate::domain::commands::StartService;
use crate::domain::events::LinkedNeed;
use crate::domain::events::{CashBenefit, Nik, RoutedBy};
use crate::domain::sla::EscalationStep;
use crate::domain::testing::{monday, terms};
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
        attempt: 1,
        previous_referral_id: None,
        sla: terms(),
    }
}

// --- given: recorded events ---------------------------------------------------------------

fn requested() -> ReferralEvent {
    ReferralEvent::Requested(ReferralRequested {
        details: details(),
        routed_by: RoutedBy::RoutingTable,
        note: "routing table t1".to_owned(),
    })
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

fn in_progress() -> ReferralEvent {
    ReferralEvent::InProgress(ReferralInProgress {
        referral_id: REFERRAL,
        case_id: CASE,
        opd_code: dinsos(),
        actor: "petugas.dinsos.1".to_owned(),
        note: None,
    })
}

fn transferred(to: &str) -> ReferralEvent {
    ReferralEvent::Transferred(ReferralTransferred {
        referral_id: REFERRAL,
        case_id: CASE,
        opd_code: dinsos(),
        actor: "petugas.dinsos.1".to_owned(),
        to_opd_code: opd(to),
        reason: "belongs there".to_owned(),
    })
}

fn revoked(reason: &str) -> ReferralEvent {
    ReferralEvent::Revoked(ReferralRevoked {
        referral_id: REFERRAL,
        case_id: CASE,
        opd_code: dinsos(),
        actor: "manajer.slrt".to_owned(),
        reason: reason.to_owned(),
    })
}

fn linked(case: u128) -> ReferralEvent {
    ReferralEvent::Linked(ReferralLinked {
        referral_id: REFERRAL,
        case_id: CASE,
        opd_code: dinsos(),
        linked: LinkedNeed {
            case_id: Uuid::from_u128(case),
            need_id: Uuid::from_u128(case + 1),
        },
    })
}

// --- when: commands -----------------------------------------------------------------------

fn request() -> RequestReferral {
    RequestReferral {
        details: details(),
        routed_by: RoutedBy::RoutingTable,
        note: "routing table t1".to_owned(),
    }
}

fn start(by: OpdCode) -> ReferralCommand {
    ReferralCommand::StartService(StartService {
        referral_id: REFERRAL,
        opd: by,
        actor: "petugas.dinsos.1".to_owned(),
        note: String::new(),
    })
}

fn transfer(by: OpdCode, to: &str, reason: &str) -> ReferralCommand {
    ReferralCommand::Transfer(TransferReferral {
        referral_id: REFERRAL,
        opd: by,
        actor: "petugas.dinsos.1".to_owned(),
        to_opd: opd(to),
        reason: reason.to_owned(),
    })
}

fn revoke(reason: &str) -> ReferralCommand {
    ReferralCommand::Revoke(RevokeReferral {
        referral_id: REFERRAL,
        actor: "manajer.slrt".to_owned(),
        reason: reason.to_owned(),
    })
}

fn escalate(clock: SlaClock, level: u32) -> ReferralCommand {
    ReferralCommand::Escalate(EscalateReferral {
        referral_id: REFERRAL,
        clock,
        step: EscalationStep {
            level,
            role: "MANAJER_SLRT".to_owned(),
            name: "Manajer SLRT".to_owned(),
            after_working_days: 2,
        },
        now: monday(),
        working_days_overdue: 2,
    })
}

fn link(case: u128) -> ReferralCommand {
    ReferralCommand::Link(LinkNeed {
        referral_id: REFERRAL,
        linked: LinkedNeed {
            case_id: Uuid::from_u128(case),
            need_id: Uuid::from_u128(case + 1),
        },
    })
}

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
    let when = ReferralCommand::Request(request());
    assert_eq!(decide(&[], &when), Ok(vec![requested()]));
}

#[test]
fn requesting_the_same_referral_again_is_reported_as_already_done() {
    let when = ReferralCommand::Request(request());
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
    let when = ReferralCommand::Request(RequestReferral {
        details: other,
        ..request()
    });
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
        assert_eq!(result, Err(ReferralError::ReasonRequired("reject")));
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
            "referral is already rejected, which is final; it cannot be acknowledged",
        ),
        (
            &when_rejected,
            accept(dinsos()),
            "referral is already rejected, which is final; it cannot be accepted",
        ),
        (
            &when_rejected,
            complete(dinsos(), true, ""),
            "referral is already rejected, which is final; it cannot be completed",
        ),
        (
            &when_completed,
            acknowledge(dinsos()),
            "referral is already completed, which is final; it cannot be acknowledged",
        ),
        (
            &when_completed,
            accept(dinsos()),
            "referral is already completed, which is final; it cannot be accepted",
        ),
        (
            &when_completed,
            reject(dinsos(), "too late"),
            "referral is already completed, which is final; it cannot be rejected",
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
    assert_eq!(
        closed,
        [
            ReferralStatus::Completed,
            ReferralStatus::Rejected,
            ReferralStatus::Transferred,
            ReferralStatus::Revoked
        ]
    );
}

// --- in progress, transfer, revoke --------------------------------------------------------

#[test]
fn an_accepted_referral_goes_in_progress_and_is_completed_from_there() {
    assert_eq!(
        decide(&[requested(), accepted()], &start(dinsos())),
        Ok(vec![in_progress()])
    );
    assert_eq!(
        decide(&[requested(), accepted(), in_progress()], &start(dinsos())),
        Err(ReferralError::AlreadyInState {
            status: ReferralStatus::InProgress
        })
    );
    let done = decide(&[requested(), accepted(), in_progress()], &complete(dinsos(), true, ""));
    assert!(matches!(done.as_deref(), Ok([ReferralEvent::Completed(_)])), "{done:?}");
    assert_eq!(
        message(decide(&[requested()], &start(dinsos()))),
        "referral is requested but not yet accepted; it cannot be put in progress"
    );
}

#[test]
fn an_open_referral_is_transferred_to_a_named_agency_with_a_reason() {
    for given in [
        vec![requested()],
        vec![requested(), acknowledged()],
        vec![requested(), accepted()],
        vec![requested(), accepted(), in_progress()],
    ] {
        assert_eq!(
            decide(&given, &transfer(dinsos(), "BAZNAS", " belongs there ")),
            Ok(vec![transferred("BAZNAS")]),
            "{given:?}"
        );
    }
}

#[test]
fn a_transfer_needs_a_reason_and_another_agency() {
    let result = decide(&[requested()], &transfer(dinsos(), "BAZNAS", ""));
    assert_eq!(result, Err(ReferralError::ReasonRequired("transfer")));
    assert_eq!(result.err().and_then(|e| e.field()), Some("reason"));
    let result = decide(&[requested()], &transfer(dinsos(), "DINSOS", "loop"));
    assert_eq!(
        message(result.clone()),
        "a referral cannot be transferred to the agency that holds it (DINSOS)"
    );
    assert_eq!(result.err().and_then(|e| e.field()), Some("to_opd_code"));
}

#[test]
fn a_repeated_transfer_is_already_done_and_another_target_is_a_conflict() {
    let given = [requested(), transferred("BAZNAS")];
    assert_eq!(
        decide(&given, &transfer(dinsos(), "BAZNAS", "belongs there")),
        Err(ReferralError::AlreadyInState {
            status: ReferralStatus::Transferred
        })
    );
    assert_eq!(
        decide(&given, &transfer(dinsos(), "DINKES", "no, here")),
        Err(ReferralError::Conflict {
            status: ReferralStatus::Transferred,
            field: "to_opd_code"
        })
    );
}

#[test]
fn the_slrt_revokes_any_open_referral_whoever_holds_it_and_linked_needs_close_with_it() {
    let events = decide(&[requested(), accepted(), linked(7)], &revoke("applicant withdrew"));
    let Ok(events) = events else {
        panic!("revoke was refused: {events:?}");
    };
    assert_eq!(events[0], revoked("applicant withdrew"));
    assert_eq!(
        events[1],
        ReferralEvent::LinkedNeedClosed(LinkedNeedClosed {
            referral_id: REFERRAL,
            linked: LinkedNeed {
                case_id: Uuid::from_u128(7),
                need_id: Uuid::from_u128(8),
            },
            referral_status: ReferralStatus::Revoked,
            completion: None,
        })
    );
    assert_eq!(events[1].case_id(), Uuid::from_u128(7), "shown in the linked case");
    assert_eq!(
        decide(&[requested()], &revoke(" ")),
        Err(ReferralError::ReasonRequired("revoke"))
    );
    assert_eq!(
        message(decide(
            &[requested(), accepted(), completed(Completion::Successful)],
            &revoke("late")
        )),
        "referral is already completed, which is final; it cannot be revoked"
    );
}

#[test]
fn completing_closes_every_linked_need_with_the_outcome() {
    let events = decide(
        &[requested(), linked(7), accepted(), linked(9)],
        &complete(dinsos(), false, "unable_to_contact"),
    );
    let Ok(events) = events else {
        panic!("complete was refused: {events:?}");
    };
    let closed: Vec<(Uuid, Option<Completion>)> = events
        .iter()
        .filter_map(|event| match event {
            ReferralEvent::LinkedNeedClosed(e) => Some((e.linked.case_id, e.completion)),
            _ => None,
        })
        .collect();
    let outcome = Some(Completion::NotSuccessful(OutcomeCode::UnableToContact));
    assert_eq!(closed, [(Uuid::from_u128(7), outcome), (Uuid::from_u128(9), outcome)]);
}

#[test]
fn nothing_happens_after_a_final_status() {
    for given in [
        vec![requested(), rejected("no")],
        vec![requested(), transferred("BAZNAS")],
        vec![requested(), revoked("withdrawn")],
    ] {
        for when in [
            acknowledge(dinsos()),
            accept(dinsos()),
            start(dinsos()),
            complete(dinsos(), true, ""),
        ] {
            let result = decide(&given, &when);
            assert!(
                matches!(result, Err(ReferralError::InvalidTransition { .. })),
                "{when:?} after {given:?}: {result:?}"
            );
        }
    }
}

// --- SLA escalation -----------------------------------------------------------------------

#[test]
fn a_running_clock_escalates_once_per_step() {
    let events = decide(&[requested()], &escalate(SlaClock::Response, 1));
    let Ok([ReferralEvent::Escalated(escalated)]) = events.as_deref() else {
        panic!("expected one escalation, got {events:?}");
    };
    assert_eq!((escalated.clock, escalated.level), (SlaClock::Response, 1));
    assert_eq!(escalated.due_at, terms().response_due_at);
    assert_eq!(escalated.escalated_to, "MANAJER_SLRT");
    let again = [requested(), ReferralEvent::Escalated(escalated.clone())];
    assert_eq!(
        decide(&again, &escalate(SlaClock::Response, 1)),
        Err(ReferralError::AlreadyInState {
            status: ReferralStatus::Requested
        })
    );
    assert!(decide(&again, &escalate(SlaClock::Response, 2)).is_ok());
    let state = Referral::from_history(&again).ok().flatten();
    assert_eq!(state.map(|r| r.escalation_level(SlaClock::Response)), Some(1));
}

#[test]
fn the_response_clock_stops_at_the_first_answer_and_the_resolution_clock_at_the_end() {
    assert_eq!(
        decide(&[requested(), acknowledged()], &escalate(SlaClock::Response, 1)),
        Err(ReferralError::ClockStopped {
            clock: SlaClock::Response,
            status: ReferralStatus::Acknowledged
        })
    );
    assert!(
        decide(
            &[requested(), accepted(), in_progress()],
            &escalate(SlaClock::Resolution, 1)
        )
        .is_ok()
    );
    assert_eq!(
        decide(
            &[requested(), accepted(), completed(Completion::Successful)],
            &escalate(SlaClock::Resolution, 1)
        ),
        Err(ReferralError::ClockStopped {
            clock: SlaClock::Resolution,
            status: ReferralStatus::Completed
        })
    );
}

// --- links --------------------------------------------------------------------------------

#[test]
fn another_case_for_the_same_need_is_linked_once_to_an_open_referral() {
    assert_eq!(decide(&[requested()], &link(7)), Ok(vec![linked(7)]));
    assert_eq!(
        decide(&[requested(), linked(7)], &link(7)),
        Err(ReferralError::AlreadyInState {
            status: ReferralStatus::Requested
        })
    );
    assert!(matches!(
        decide(&[requested(), rejected("no")], &link(7)),
        Err(ReferralError::InvalidTransition { .. })
    ));
}

#[test]
fn a_rerouted_referral_opens_with_the_links_of_the_one_before() {
    let links = [LinkedNeed {
        case_id: Uuid::from_u128(7),
        need_id: Uuid::from_u128(8),
    }];
    let events = open_with_links(&request(), &links);
    assert_eq!(events, vec![requested(), linked(7)]);
    let state = Referral::from_history(&events).ok().flatten();
    assert_eq!(state.map(|r| r.links().to_vec()), Some(links.to_vec()));
}
