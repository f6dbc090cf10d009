use chrono::NaiveDate;

use super::*;
use crate::domain::period::Cadence;

const ENTITLEMENT: Uuid = Uuid::from_u128(0xe1);
const CASE: Uuid = Uuid::from_u128(0xca);
const PAYMENT: Uuid = Uuid::from_u128(0x9a1);

/// Given: an OPD accepted a monthly BLT-DD referral on 2026-11-30.
fn accepted_blt_dd() -> OpenEntitlement {
    let Some(accepted_on) = NaiveDate::from_ymd_opt(2026, 11, 30) else {
        panic!("2026-11-30 is a date");
    };
    OpenEntitlement {
        entitlement_id: ENTITLEMENT,
        case_id: CASE,
        referral_id: Uuid::from_u128(0x7e),
        programme_code: "BLT-DD".to_owned(),
        beneficiary_id: "hh-3324-0007".to_owned(),
        beneficiary_name: "Sutrisno".to_owned(),
        component: "base".to_owned(),
        amount_per_period_idr: 300_000,
        cadence: "monthly".to_owned(),
        accepted_on,
    }
}

fn key(text: &str) -> PaymentKey {
    match PaymentKey::parse(text) {
        Ok(key) => key,
        Err(e) => panic!("{text}: {e}"),
    }
}

fn entitlement() -> Entitlement {
    match Entitlement::open(accepted_blt_dd()) {
        Ok(entitlement) => entitlement,
        Err(e) => panic!("{e}"),
    }
}

fn instruction() -> PaymentInstruction {
    PaymentInstruction {
        payment_id: PAYMENT,
        key: key("BLT-DD:2026-11:hh-3324-0007:base"),
        entitlement_id: ENTITLEMENT,
        case_id: CASE,
        amount_idr: 300_000,
    }
}

#[test]
fn a_payable_beneficiary_gets_an_entitlement_and_an_instruction_for_the_acceptance_month() {
    let events = start_entitlement(accepted_blt_dd(), PAYMENT, &ReleaseCheck::Payable);
    assert_eq!(
        events,
        Ok(vec![
            DisbursementEvent::EntitlementCreated(entitlement()),
            DisbursementEvent::PaymentInstructionCreated(instruction()),
        ])
    );
}

#[test]
fn a_held_beneficiary_gets_an_entitlement_and_a_hold_under_the_same_key_with_the_reasons() {
    let check = ReleaseCheck::Held {
        reasons: vec![
            "death reported by the village on 2026-11-03".to_owned(),
            "  ".to_owned(),
            " enrolment on hold pending verification ".to_owned(),
        ],
    };
    let events = start_entitlement(accepted_blt_dd(), PAYMENT, &check);
    assert_eq!(
        events,
        Ok(vec![
            DisbursementEvent::EntitlementCreated(entitlement()),
            DisbursementEvent::PaymentHeld(PaymentHeld {
                key: key("BLT-DD:2026-11:hh-3324-0007:base"),
                entitlement_id: ENTITLEMENT,
                case_id: CASE,
                reasons: vec![
                    "death reported by the village on 2026-11-03".to_owned(),
                    "enrolment on hold pending verification".to_owned(),
                ],
            }),
        ])
    );
}

#[test]
fn a_hold_without_reasons_still_holds_and_says_the_reason_is_missing() {
    let check = ReleaseCheck::Held { reasons: vec![] };
    let event = decide_payment(&entitlement(), entitlement().first_period, PAYMENT, &check);
    let Ok(DisbursementEvent::PaymentHeld(held)) = event else {
        panic!("expected a hold, got {event:?}");
    };
    assert_eq!(held.reasons, vec![UNSTATED_REASON.to_owned()]);
}

#[test]
fn an_invalid_referral_opens_nothing_and_instructs_nothing() {
    let mut request = accepted_blt_dd();
    request.amount_per_period_idr = 0;
    assert_eq!(
        start_entitlement(request, PAYMENT, &ReleaseCheck::Payable),
        Err(EntitlementError::NonPositiveAmount { amount: 0 })
    );
}

#[test]
fn a_quarterly_entitlement_is_first_paid_for_the_quarter_of_acceptance() {
    let mut request = accepted_blt_dd();
    request.programme_code = "PKH".to_owned();
    request.component = "child_0_6".to_owned();
    request.cadence = "quarterly".to_owned();
    request.amount_per_period_idr = 750_000;
    let events = start_entitlement(request, PAYMENT, &ReleaseCheck::Payable);
    let key = match events.as_deref() {
        Ok([_, DisbursementEvent::PaymentInstructionCreated(p)]) => p.key.to_string(),
        other => panic!("expected an entitlement and an instruction, got {other:?}"),
    };
    assert_eq!(key, "PKH:2026-Q4:hh-3324-0007:child_0_6");
}

#[test]
fn a_yearly_pip_entitlement_is_paid_once_for_the_year_under_a_key_with_the_year() {
    let mut request = accepted_blt_dd();
    request.programme_code = "PIP".to_owned();
    request.component = "sd".to_owned();
    request.cadence = "yearly".to_owned();
    request.amount_per_period_idr = 450_000;
    let events = start_entitlement(request, PAYMENT, &ReleaseCheck::Payable);
    let (key, amount) = match events.as_deref() {
        Ok([_, DisbursementEvent::PaymentInstructionCreated(p)]) => (p.key.to_string(), p.amount_idr),
        other => panic!("expected an entitlement and an instruction, got {other:?}"),
    };
    assert_eq!((key.as_str(), amount), ("PIP:2026:hh-3324-0007:sd", 450_000));
    assert_eq!(
        PaymentKey::parse(&key).map(|k| k.period().cadence()),
        Ok(Cadence::Yearly)
    );
}

#[test]
fn a_later_period_gets_its_own_key() -> Result<(), EntitlementError> {
    let december = Period::monthly(2026, 12)?;
    let event = decide_payment(&entitlement(), december, PAYMENT, &ReleaseCheck::Payable)?;
    let DisbursementEvent::PaymentInstructionCreated(instruction) = event else {
        panic!("expected an instruction, got {event:?}");
    };
    assert_eq!(instruction.key.to_string(), "BLT-DD:2026-12:hh-3324-0007:base");
    assert_eq!(instruction.amount_idr, 300_000);
    Ok(())
}

#[test]
fn deciding_the_same_payment_twice_gives_the_same_key() -> Result<(), EntitlementError> {
    let period = entitlement().first_period;
    let first = decide_payment(&entitlement(), period, PAYMENT, &ReleaseCheck::Payable)?;
    let retry = decide_payment(&entitlement(), period, Uuid::from_u128(0x9a2), &ReleaseCheck::Payable)?;
    let (DisbursementEvent::PaymentInstructionCreated(first), DisbursementEvent::PaymentInstructionCreated(retry)) =
        (first, retry)
    else {
        panic!("expected two instructions");
    };
    assert_eq!(first.key, retry.key);
    assert_eq!(compare_instruction(&first, &retry), InstructionComparison::Same);
    Ok(())
}

#[test]
fn the_same_key_and_content_under_a_new_payment_id_is_the_same_payment() {
    let retry = PaymentInstruction {
        payment_id: Uuid::from_u128(0x9a2),
        ..instruction()
    };
    assert_eq!(compare_instruction(&instruction(), &retry), InstructionComparison::Same);
}

#[test]
fn the_same_key_with_another_amount_is_a_conflict_on_the_amount() {
    let different = PaymentInstruction {
        amount_idr: 600_000,
        ..instruction()
    };
    assert_eq!(
        compare_instruction(&instruction(), &different),
        InstructionComparison::Conflict { field: "amount_idr" }
    );
}

#[test]
fn the_same_key_from_another_entitlement_is_a_conflict_not_a_second_payment() {
    let from_another_case = PaymentInstruction {
        payment_id: Uuid::from_u128(0x9a2),
        entitlement_id: Uuid::from_u128(0xe2),
        case_id: Uuid::from_u128(0xcb),
        ..instruction()
    };
    assert_eq!(
        compare_instruction(&instruction(), &from_another_case),
        InstructionComparison::Conflict {
            field: "entitlement_id"
        }
    );
    let same_entitlement_other_case = PaymentInstruction {
        case_id: Uuid::from_u128(0xcb),
        ..instruction()
    };
    assert_eq!(
        compare_instruction(&instruction(), &same_entitlement_other_case),
        InstructionComparison::Conflict { field: "case_id" }
    );
}

#[test]
fn instructions_under_different_keys_are_never_the_same() {
    let other_period = PaymentInstruction {
        key: key("BLT-DD:2026-12:hh-3324-0007:base"),
        ..instruction()
    };
    assert_eq!(
        compare_instruction(&instruction(), &other_period),
        InstructionComparison::Conflict { field: "payment_key" }
    );
}

#[test]
fn each_event_names_its_proto_type_and_stream() {
    let events = [
        DisbursementEvent::EntitlementCreated(entitlement()),
        DisbursementEvent::PaymentInstructionCreated(instruction()),
    ];
    assert_eq!(
        events.each_ref().map(DisbursementEvent::event_type),
        [
            "slrt.disbursement.v1.EntitlementCreated",
            "slrt.disbursement.v1.PaymentInstructionCreated"
        ]
    );
    assert!(
        events
            .iter()
            .all(|e| e.entitlement_id() == ENTITLEMENT && e.case_id() == CASE)
    );
}

#[test]
fn a_component_added_to_a_programme_already_paid_starts_in_the_next_period() {
    let events = start_added_component(accepted_blt_dd(), PAYMENT, &ReleaseCheck::Payable);
    let mut later = entitlement();
    later.first_period = match Period::parse("2026-12") {
        Ok(period) => period,
        Err(e) => panic!("{e}"),
    };
    let mut first = instruction();
    first.key = key("BLT-DD:2026-12:hh-3324-0007:base");
    assert_eq!(
        events,
        Ok(vec![
            DisbursementEvent::EntitlementCreated(later),
            DisbursementEvent::PaymentInstructionCreated(first),
        ])
    );
}
