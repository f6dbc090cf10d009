//! The payment release check: whether disbursement may pay a beneficiary under a programme
//! now. Disbursement asks before every payment, so a death or a hold recorded after the
//! entitlement was created still stops the money.

use super::catalogue::ProgrammeCode;
use super::ledger::EnrolmentStatus;

/// Whether the beneficiary is alive, as the registry says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vitality {
    /// A person, alive or not.
    Person { deceased: bool },
    /// A household: paid while it has a living member (a new head takes over as payee).
    Household { living_members: u32 },
    /// The id is not in the registry at all.
    Unknown,
}

/// What stands in the way of paying `beneficiary_id` under `programme`, in words an operator
/// can read; empty when the payment may be released. `enrolment` is the beneficiary's
/// current (not ended) enrolment in the programme, if any.
pub fn release_check(
    programme: &ProgrammeCode,
    beneficiary_id: &str,
    enrolment: Option<EnrolmentStatus>,
    vitality: Vitality,
) -> Vec<String> {
    release_check_with_holds(programme, beneficiary_id, enrolment, vitality, &[])
}

/// As [`release_check`], naming each open hold's reason (`hold_reasons`, e.g.
/// "death_reported: death of P-1 reported by ..."), so that whoever sees a held payment
/// knows what it waits for.
pub fn release_check_with_holds(
    programme: &ProgrammeCode,
    beneficiary_id: &str,
    enrolment: Option<EnrolmentStatus>,
    vitality: Vitality,
    hold_reasons: &[String],
) -> Vec<String> {
    let mut reasons = Vec::new();
    match enrolment {
        Some(EnrolmentStatus::Active) => {}
        Some(EnrolmentStatus::Held) if !hold_reasons.is_empty() => {
            for hold in hold_reasons {
                reasons.push(format!(
                    "the {programme} enrolment of {beneficiary_id} is on hold: {hold}"
                ));
            }
        }
        Some(EnrolmentStatus::Held) => {
            reasons.push(format!("the {programme} enrolment of {beneficiary_id} is on hold"));
        }
        Some(EnrolmentStatus::Ended) | None => {
            reasons.push(format!("no active {programme} enrolment for {beneficiary_id}"));
        }
    }
    match vitality {
        Vitality::Person { deceased: false } => {}
        Vitality::Household { living_members } if living_members > 0 => {}
        Vitality::Person { deceased: true } => {
            reasons.push(format!(
                "beneficiary deceased: the registry records {beneficiary_id} as deceased"
            ));
        }
        Vitality::Household { .. } => reasons.push(format!(
            "beneficiary deceased: household {beneficiary_id} has no living member in the registry"
        )),
        Vitality::Unknown => reasons.push(format!("beneficiary {beneficiary_id} is not in the registry")),
    }
    reasons
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkh() -> ProgrammeCode {
        ProgrammeCode::parse("PKH").expect("valid code")
    }

    #[test]
    fn an_active_enrolment_of_a_living_person_is_payable() {
        let reasons = release_check(
            &pkh(),
            "P-1",
            Some(EnrolmentStatus::Active),
            Vitality::Person { deceased: false },
        );

        assert_eq!(reasons, Vec::<String>::new());
    }

    #[test]
    fn a_household_with_a_living_member_is_payable_after_a_death() {
        let reasons = release_check(
            &pkh(),
            "H-1",
            Some(EnrolmentStatus::Active),
            Vitality::Household { living_members: 3 },
        );

        assert_eq!(reasons, Vec::<String>::new());
    }

    #[test]
    fn a_deceased_person_is_not_paid_even_while_enrolled() {
        let reasons = release_check(
            &pkh(),
            "P-1",
            Some(EnrolmentStatus::Active),
            Vitality::Person { deceased: true },
        );

        assert_eq!(reasons, ["beneficiary deceased: the registry records P-1 as deceased"]);
    }

    #[test]
    fn a_household_whose_members_have_all_died_is_not_paid() {
        let reasons = release_check(
            &pkh(),
            "H-1",
            Some(EnrolmentStatus::Active),
            Vitality::Household { living_members: 0 },
        );

        assert_eq!(
            reasons,
            ["beneficiary deceased: household H-1 has no living member in the registry"]
        );
    }

    #[test]
    fn a_held_or_ended_enrolment_is_not_paid() {
        let alive = Vitality::Household { living_members: 1 };

        assert_eq!(
            release_check(&pkh(), "H-1", Some(EnrolmentStatus::Held), alive),
            ["the PKH enrolment of H-1 is on hold"]
        );
        assert_eq!(
            release_check(&pkh(), "H-1", Some(EnrolmentStatus::Ended), alive),
            ["no active PKH enrolment for H-1"]
        );
    }

    #[test]
    fn a_held_enrolment_names_the_reason_of_each_hold() {
        let alive = Vitality::Household { living_members: 1 };
        let holds = [
            "death_reported: death of P-1 reported by 3375011002 (reference L-1) as on 2026-02-20".to_string(),
            "exclusion_evidence: exclusion evidence under verification".to_string(),
        ];

        assert_eq!(
            release_check_with_holds(&pkh(), "H-1", Some(EnrolmentStatus::Held), alive, &holds),
            [
                "the PKH enrolment of H-1 is on hold: death_reported: death of P-1 reported by 3375011002 \
                 (reference L-1) as on 2026-02-20",
                "the PKH enrolment of H-1 is on hold: exclusion_evidence: exclusion evidence under verification",
            ]
        );
    }

    #[test]
    fn every_obstacle_is_listed() {
        let reasons = release_check(&pkh(), "P-9", None, Vitality::Unknown);

        assert_eq!(
            reasons,
            [
                "no active PKH enrolment for P-9",
                "beneficiary P-9 is not in the registry"
            ]
        );
    }
}
