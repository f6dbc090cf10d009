//! Opening an entitlement when an OPD accepts a cash referral, and deciding its first payment.
//!
//! The order matters:
//! 1. the acceptance is validated (a malformed one never costs a call to eligibility);
//! 2. a referral that already has an entitlement is done: nothing more happens, whatever the
//!    event id it arrived under;
//! 3. eligibility is asked whether the beneficiary may be paid now (alive, enrolled, no
//!    hold). No answer means no decision: the caller retries later, it never guesses;
//! 4. the pure domain decides the events; they are appended with the read-model rows in one
//!    savepoint, and if the payment key turns out to be taken, the savepoint is rolled back
//!    so that nothing new is recorded.

use chrono::{DateTime, TimeDelta, Utc};
use slrt_eventstore::{AppendError, ExpectedVersion, NewEvent};
use slrt_proto::disbursement::v1 as proto;
use slrt_proto::eligibility::v1::CheckPaymentEligibilityRequest;
use slrt_proto::referral::v1::ReferralDetails;
use sqlx::{Acquire, PgConnection};
use uuid::Uuid;

use super::{Disbursement, payments};
use crate::domain::lifecycle::{CapReached, check_cap};
use crate::domain::payment::start_added_component;
use crate::domain::{
    DisbursementEvent, Entitlement, EntitlementError, InstructionComparison, OpenEntitlement, PaymentInstruction,
    ReleaseCheck, compare_instruction, start_entitlement,
};
use crate::projections::{self, Applied, ProjectionError};

/// An OPD's acceptance of a cash referral, as it arrived on the log.
#[derive(Debug, Clone, Copy)]
pub struct AcceptedReferral<'a> {
    /// The `ReferralAccepted` event: the cause of everything recorded here.
    pub event_id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub referral: &'a ReferralDetails,
}

/// What handling an acceptance did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opened {
    /// A new entitlement with its first payment, instructed or held.
    Created {
        entitlement_id: Uuid,
        payment_key: String,
        held: bool,
    },
    /// The referral already had this entitlement; nothing was recorded.
    AlreadyEntitled { entitlement_id: Uuid },
    /// The same payment was already recorded under its key; nothing was recorded.
    PaymentAlreadyRecorded { payment_key: String },
    /// No entitlement: the family has the programme's maximum of components open
    /// (`EntitlementRefused`, recorded once per referral).
    Refused { reason: String },
}

#[derive(Debug, thiserror::Error)]
pub enum OpenEntitlementError {
    /// The acceptance can never make an entitlement; `field` is where in `ReferralAccepted`.
    #[error("the accepted referral cannot open an entitlement: {field}: {message}")]
    Malformed { field: String, message: String },
    /// Eligibility did not answer; the release check must be asked again later.
    #[error("eligibility did not answer the release check ({code:?}): {message}")]
    EligibilityUnavailable { code: tonic::Code, message: String },
    /// Eligibility answered that the question itself is wrong (e.g. an unknown programme).
    #[error("eligibility refused the release check ({code:?}): {message}")]
    ReleaseCheckRefused { code: tonic::Code, message: String },
    /// The payment key is taken by a different payment. Paying would pay twice and refusing
    /// silently would lose a right: a person must look at it.
    #[error(
        "payment key {payment_key} is already taken by payment {existing_payment_id} (entitlement \
         {existing_entitlement_id}, case {existing_case_id}) with a different {field}; nothing was recorded \
         for referral {referral_id}, a person must resolve the conflict"
    )]
    KeyConflict {
        payment_key: String,
        field: &'static str,
        existing_payment_id: Uuid,
        existing_entitlement_id: Uuid,
        existing_case_id: Uuid,
        referral_id: Uuid,
    },
    #[error(transparent)]
    Store(#[from] AppendError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Projection(#[from] ProjectionError),
}

impl OpenEntitlementError {
    /// Whether the same acceptance may succeed if tried again later.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::EligibilityUnavailable { .. } | Self::Store(_) | Self::Database(_) => true,
            Self::Projection(ProjectionError::Database(_)) => true,
            Self::Malformed { .. } | Self::ReleaseCheckRefused { .. } | Self::KeyConflict { .. } => false,
            Self::Projection(_) => false,
        }
    }
}

fn malformed(field: impl Into<String>, message: impl ToString) -> OpenEntitlementError {
    OpenEntitlementError::Malformed {
        field: field.into(),
        message: message.to_string(),
    }
}

fn domain_refusal(error: EntitlementError) -> OpenEntitlementError {
    let field = match error.field() {
        // The acceptance date is the event's time, not a field of the referral.
        Some("accepted_on") => "occurred_at".to_string(),
        Some(field) => format!("referral.{field}"),
        None => "referral".to_string(),
    };
    malformed(field, error)
}

// Jakarta keeps WIB (UTC+7) all year, with no daylight saving: an acceptance at 23:30 UTC on
// 31 December was made on 1 January at the OPD, and belongs to the new year's periods.
const WIB: TimeDelta = TimeDelta::hours(7);

/// The entitlement an acceptance asks for, with fresh ids; `Malformed` when its ids are not.
fn open_request(accepted: &AcceptedReferral<'_>) -> Result<OpenEntitlement, OpenEntitlementError> {
    let referral = accepted.referral;
    let uuid = |field: &str, text: &str| {
        Uuid::parse_str(text).map_err(|_| malformed(format!("referral.{field}"), format!("{text:?} is not a UUID")))
    };
    Ok(OpenEntitlement {
        entitlement_id: Uuid::now_v7(),
        case_id: uuid("case_id", &referral.case_id)?,
        referral_id: uuid("referral_id", &referral.referral_id)?,
        programme_code: referral.programme_code.clone(),
        beneficiary_id: referral.beneficiary_id.clone(),
        beneficiary_name: referral.client_name.clone(),
        component: referral.component.clone(),
        amount_per_period_idr: referral.amount_per_period_idr,
        cadence: referral.cadence.clone(),
        accepted_on: (accepted.occurred_at + WIB).date_naive(),
    })
}

impl Disbursement {
    /// Opens the entitlement an accepted cash referral grants and decides its first payment,
    /// inside the caller's transaction (the consumer's, with its inbox row).
    pub async fn open_entitlement(
        &self,
        conn: &mut PgConnection,
        accepted: AcceptedReferral<'_>,
    ) -> Result<Opened, OpenEntitlementError> {
        let request = open_request(&accepted)?;
        Entitlement::open(request.clone()).map_err(domain_refusal)?;
        if let Some(entitlement_id) = entitlement_of_referral(conn, request.referral_id).await? {
            return Ok(Opened::AlreadyEntitled { entitlement_id });
        }
        if let Some(reason) = refusal_of_referral(conn, request.referral_id).await? {
            return Ok(Opened::Refused { reason });
        }

        // Asked inside the consumer's transaction, so the answer is recorded with the decision
        // it led to; the client's timeouts (2 s to connect, 3 s per call) bound the wait.
        let check = self
            .release_check(&request.programme_code, &request.beneficiary_id)
            .await?;
        // One acceptance at a time per family and programme, from here to the commit: the cap
        // counts what is open, and two acceptances on different partitions must not both see
        // room for one more. Taken after the release check, so that a slow answer from
        // eligibility holds up no other acceptance.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind(format!("family:{}:{}", request.programme_code, request.beneficiary_id))
            .execute(&mut *conn)
            .await?;
        // Another delivery of this acceptance may have opened it while this one waited.
        if let Some(entitlement_id) = entitlement_of_referral(conn, request.referral_id).await? {
            return Ok(Opened::AlreadyEntitled { entitlement_id });
        }
        let open: Vec<String> = sqlx::query_scalar(
            "SELECT component FROM entitlements
             WHERE programme_code = $1 AND beneficiary_id = $2 AND ended_on IS NULL",
        )
        .bind(&request.programme_code)
        .bind(&request.beneficiary_id)
        .fetch_all(&mut *conn)
        .await?;
        let cap = self.component_caps.get(&request.programme_code).copied();
        if let Err(reached) = check_cap(
            &request.programme_code,
            &request.beneficiary_id,
            &request.component,
            &open,
            cap,
        ) {
            return self.refuse(conn, &accepted, &request, &reached, &open).await;
        }
        // A family already paid by the programme this period (an open entitlement, or one
        // that ended within the period) gets the new component from the next period: the
        // current stage was fixed with the components it had, and its key may be taken. The
        // same component open twice is no addition: its key decides (the same payment, or a
        // conflict for a person), as for any second acceptance.
        let this_period_start = crate::domain::Period::first_for(
            crate::domain::Cadence::parse(&request.cadence).map_err(|e| domain_refusal(e.into()))?,
            request.accepted_on,
        )
        .ok()
        .and_then(crate::domain::Period::start);
        let same_component_open = open.contains(&request.component);
        let added: bool = !same_component_open
            && sqlx::query_scalar::<_, bool>(
                "SELECT EXISTS (SELECT 1 FROM entitlements
                            WHERE programme_code = $1 AND beneficiary_id = $2
                              AND (ended_on IS NULL OR ($3::date IS NOT NULL AND ended_on >= $3)))",
            )
            .bind(&request.programme_code)
            .bind(&request.beneficiary_id)
            .bind(this_period_start)
            .fetch_one(&mut *conn)
            .await?;

        let (entitlement_id, case_id, referral_id) = (request.entitlement_id, request.case_id, request.referral_id);
        let (programme_code, amount_per_period_idr) = (request.programme_code.clone(), request.amount_per_period_idr);
        let events = if added {
            start_added_component(request, Uuid::now_v7(), &check)
        } else {
            start_entitlement(request, Uuid::now_v7(), &check)
        }
        .map_err(domain_refusal)?;
        let stream = format!("entitlement-{entitlement_id}");
        let new_events: Vec<NewEvent> = events
            .iter()
            .map(|event| payload_of(event).for_case(case_id).caused_by(accepted.event_id))
            .collect();

        let mut savepoint = conn.begin().await?;
        let recorded = self
            .store
            .append(&mut savepoint, &stream, ExpectedVersion::NoStream, new_events)
            .await?;
        // The first event whose row was already there, if any.
        let mut collision = None;
        for (event, stored) in events.iter().zip(&recorded) {
            if projections::apply(&mut savepoint, stored).await? == Applied::AlreadyRecorded {
                collision = Some((event, stored));
                break;
            }
        }
        let new_payment = match collision {
            None => None,
            // Another delivery of this acceptance opened it first, after our look above.
            Some((DisbursementEvent::EntitlementCreated(_), _)) => {
                savepoint.rollback().await?;
                // Only a committed row stops the insert, so it is there to read.
                let entitlement_id = entitlement_of_referral(conn, referral_id)
                    .await?
                    .ok_or(sqlx::Error::RowNotFound)?;
                return Ok(Opened::AlreadyEntitled { entitlement_id });
            }
            Some((DisbursementEvent::PaymentInstructionCreated(instruction), _)) => Some(instruction.clone()),
            Some((DisbursementEvent::PaymentHeld(held), stored)) => Some(PaymentInstruction {
                payment_id: stored.event_id,
                key: held.key.clone(),
                entitlement_id: held.entitlement_id,
                case_id: held.case_id,
                amount_idr: amount_per_period_idr,
            }),
        };
        if let Some(new_payment) = new_payment {
            let outcome = self.judge_taken_key(&mut savepoint, &new_payment, referral_id).await;
            // Whatever the judgement, this acceptance records nothing.
            savepoint.rollback().await?;
            return outcome;
        }
        self.keep_scope(&mut savepoint, entitlement_id, accepted.referral)
            .await?;
        savepoint.commit().await?;

        let (payment_key, held) = match events.get(1) {
            Some(DisbursementEvent::PaymentHeld(held)) => (held.key.to_string(), true),
            Some(DisbursementEvent::PaymentInstructionCreated(instruction)) => (instruction.key.to_string(), false),
            _ => (String::new(), false),
        };
        tracing::info!(
            entitlement.id = %entitlement_id,
            referral.id = %referral_id,
            case.id = %case_id,
            programme = %programme_code,
            payment.key = %payment_key,
            payment.status = if held { projections::STATUS_HELD } else { projections::STATUS_INSTRUCTED },
            "entitlement opened"
        );
        Ok(Opened::Created {
            entitlement_id,
            payment_key,
            held,
        })
    }

    // Keeps, from the acceptance, who may see the entitlement's payments and whom they
    // concern: the client's region and agency, and the keyed token of the client's NIK (never
    // the NIK). A region or agency code that is not one is not kept: the payments stay
    // payable, and only the regency's staff see them.
    async fn keep_scope(
        &self,
        conn: &mut PgConnection,
        entitlement_id: Uuid,
        referral: &ReferralDetails,
    ) -> Result<(), OpenEntitlementError> {
        let region = referral.region_code.trim();
        let region = slrt_auth::is_region_code(region).then_some(region);
        if region.is_none() {
            tracing::warn!(
                entitlement.id = %entitlement_id,
                referral.id = %referral.referral_id,
                "the accepted referral names no usable region: only regency-wide staff see its payments"
            );
        }
        let opd = referral.opd_code.trim();
        let opd = (!opd.is_empty()).then_some(opd);
        let nik = referral.client_nik.trim();
        let nik_token = (!nik.is_empty()).then(|| self.nik_tokens.token_of_text(nik));
        sqlx::query(
            "UPDATE entitlements SET region_code = $2, opd_code = $3, nik_token = $4 WHERE entitlement_id = $1",
        )
        .bind(entitlement_id)
        .bind(region)
        .bind(opd)
        .bind(nik_token)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    // Records why an accepted referral opened no entitlement, once per referral.
    async fn refuse(
        &self,
        conn: &mut PgConnection,
        accepted: &AcceptedReferral<'_>,
        request: &OpenEntitlement,
        reached: &CapReached,
        open: &[String],
    ) -> Result<Opened, OpenEntitlementError> {
        let reason = reached.to_string();
        let event = NewEvent::new(&proto::EntitlementRefused {
            referral_id: request.referral_id.to_string(),
            case_id: request.case_id.to_string(),
            programme_code: request.programme_code.clone(),
            beneficiary_id: request.beneficiary_id.clone(),
            component: request.component.clone(),
            reason_code: "component_cap".to_owned(),
            reason: reason.clone(),
            cap: i32::try_from(reached.cap).unwrap_or(i32::MAX),
            open_components: open.to_vec(),
        })
        .for_case(request.case_id)
        .caused_by(accepted.event_id);
        let recorded = self
            .store
            .append(
                &mut *conn,
                &format!("entitlement-refusal-{}", request.referral_id),
                ExpectedVersion::NoStream,
                vec![event],
            )
            .await?;
        for stored in &recorded {
            projections::apply(&mut *conn, stored).await?;
        }
        tracing::info!(
            referral.id = %request.referral_id,
            case.id = %request.case_id,
            programme = %request.programme_code,
            component = %request.component,
            "entitlement refused: component cap"
        );
        Ok(Opened::Refused { reason })
    }

    // The key is taken: the same payment means there is nothing to do; anything else is a
    // conflict. Never a second payment either way.
    async fn judge_taken_key(
        &self,
        conn: &mut PgConnection,
        new: &PaymentInstruction,
        referral_id: Uuid,
    ) -> Result<Opened, OpenEntitlementError> {
        let payment_key = new.key.to_string();
        // The insert found the key taken by a committed row, and rows are never deleted.
        let existing = payments::payment_by_key(&mut *conn, &payment_key)
            .await?
            .ok_or(sqlx::Error::RowNotFound)?;
        let existing = PaymentInstruction {
            payment_id: existing.payment_id,
            // Found by this very key.
            key: new.key.clone(),
            entitlement_id: existing.entitlement_id,
            case_id: existing.case_id,
            amount_idr: existing.amount_idr,
        };
        match compare_instruction(&existing, new) {
            InstructionComparison::Same => {
                tracing::info!(payment.key = %payment_key, payment.id = %existing.payment_id, "payment already recorded");
                Ok(Opened::PaymentAlreadyRecorded { payment_key })
            }
            InstructionComparison::Conflict { field } => Err(OpenEntitlementError::KeyConflict {
                payment_key,
                field,
                existing_payment_id: existing.payment_id,
                existing_entitlement_id: existing.entitlement_id,
                existing_case_id: existing.case_id,
                referral_id,
            }),
        }
    }

    /// Asks eligibility whether a payment to `beneficiary_id` under `programme_code` may be
    /// released now.
    pub(crate) async fn release_check(
        &self,
        programme_code: &str,
        beneficiary_id: &str,
    ) -> Result<ReleaseCheck, OpenEntitlementError> {
        let request = CheckPaymentEligibilityRequest {
            programme_code: programme_code.to_string(),
            beneficiary_id: beneficiary_id.to_string(),
        };
        match self.eligibility.clone().check_payment_eligibility(request).await {
            Ok(response) => {
                let answer = response.into_inner();
                Ok(if answer.payable {
                    ReleaseCheck::Payable
                } else {
                    ReleaseCheck::Held {
                        reasons: answer.reasons,
                    }
                })
            }
            // These say the question is wrong, and asking again will not change that.
            Err(status)
                if matches!(
                    status.code(),
                    tonic::Code::InvalidArgument | tonic::Code::NotFound | tonic::Code::OutOfRange
                ) =>
            {
                Err(OpenEntitlementError::ReleaseCheckRefused {
                    code: status.code(),
                    message: status.message().to_string(),
                })
            }
            // Anything else (not reachable, timed out, overloaded, failing) may pass.
            Err(status) => Err(OpenEntitlementError::EligibilityUnavailable {
                code: status.code(),
                message: status.message().to_string(),
            }),
        }
    }
}

async fn entitlement_of_referral(conn: &mut PgConnection, referral_id: Uuid) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar("SELECT entitlement_id FROM entitlements WHERE referral_id = $1")
        .bind(referral_id)
        .fetch_optional(conn)
        .await
}

async fn refusal_of_referral(conn: &mut PgConnection, referral_id: Uuid) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT reason FROM refused_entitlements WHERE referral_id = $1")
        .bind(referral_id)
        .fetch_optional(conn)
        .await
}

/// The stored protobuf payload of a domain event.
pub(crate) fn payload_of(event: &DisbursementEvent) -> NewEvent {
    match event {
        DisbursementEvent::EntitlementCreated(e) => NewEvent::new(&proto::EntitlementCreated {
            entitlement_id: e.entitlement_id.to_string(),
            case_id: e.case_id.to_string(),
            referral_id: e.referral_id.to_string(),
            programme_code: e.programme_code.clone(),
            beneficiary_id: e.beneficiary_id.clone(),
            beneficiary_name: e.beneficiary_name.clone(),
            component: e.component.clone(),
            amount_per_period_idr: e.amount_per_period_idr,
            cadence: e.cadence.to_string(),
            first_period: e.first_period.to_string(),
        }),
        DisbursementEvent::PaymentInstructionCreated(p) => NewEvent::new(&proto::PaymentInstructionCreated {
            payment_id: p.payment_id.to_string(),
            payment_key: p.key.to_string(),
            entitlement_id: p.entitlement_id.to_string(),
            case_id: p.case_id.to_string(),
            arrears: false,
            programme_code: p.key.programme().to_string(),
            period: p.key.period().to_string(),
            beneficiary_id: p.key.beneficiary_id().to_string(),
            component: p.key.component().to_string(),
            amount_idr: p.amount_idr,
        }),
        DisbursementEvent::PaymentHeld(h) => NewEvent::new(&proto::PaymentHeld {
            payment_key: h.key.to_string(),
            entitlement_id: h.entitlement_id.to_string(),
            case_id: h.case_id.to_string(),
            reasons: h.reasons.clone(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    fn details() -> ReferralDetails {
        ReferralDetails {
            referral_id: "01936f1e-7c1a-7b3e-9d5a-3f2b8c4d5e01".into(),
            case_id: "01936f1e-7c1a-7b3e-9d5a-3f2b8c4d5e02".into(),
            programme_code: "PKH".into(),
            beneficiary_id: "hh-3375-0042".into(),
            cash: true,
            amount_per_period_idr: 750_000,
            cadence: "quarterly".into(),
            component: "child_0_6".into(),
            ..Default::default()
        }
    }

    fn accepted_at(referral: &ReferralDetails, at: &str) -> Result<OpenEntitlement, OpenEntitlementError> {
        let occurred_at = DateTime::parse_from_rfc3339(at)
            .map(|at| at.with_timezone(&Utc))
            .unwrap_or_default();
        open_request(&AcceptedReferral {
            event_id: Uuid::now_v7(),
            occurred_at,
            referral,
        })
    }

    #[test]
    fn the_acceptance_date_is_the_date_in_jakarta() {
        let referral = details();
        let late_on_new_years_eve_utc = accepted_at(&referral, "2026-12-31T17:30:00Z").map(|r| r.accepted_on);
        assert_eq!(late_on_new_years_eve_utc.ok(), NaiveDate::from_ymd_opt(2027, 1, 1));
        let afternoon_utc = accepted_at(&referral, "2026-12-31T16:59:59Z").map(|r| r.accepted_on);
        assert_eq!(afternoon_utc.ok(), NaiveDate::from_ymd_opt(2026, 12, 31));
    }

    #[test]
    fn a_referral_id_that_is_not_a_uuid_is_refused_naming_the_field() {
        let mut referral = details();
        referral.referral_id = "R-1".into();
        let error = accepted_at(&referral, "2026-11-02T03:00:00Z")
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            error.as_deref(),
            Some("the accepted referral cannot open an entitlement: referral.referral_id: \"R-1\" is not a UUID")
        );
    }

    #[test]
    fn domain_refusals_name_the_referral_field() {
        let refusal = domain_refusal(EntitlementError::NonPositiveAmount { amount: 0 });
        assert!(
            matches!(&refusal, OpenEntitlementError::Malformed { field, .. } if field == "referral.amount_per_period_idr"),
            "{refusal:?}"
        );
        assert!(!refusal.is_transient());
    }

    #[test]
    fn an_unanswered_release_check_is_worth_retrying_and_a_conflict_is_not() {
        let unavailable = OpenEntitlementError::EligibilityUnavailable {
            code: tonic::Code::Unavailable,
            message: "down".into(),
        };
        assert!(unavailable.is_transient());
        let conflict = OpenEntitlementError::KeyConflict {
            payment_key: "PKH:2026-Q4:hh-1:base".into(),
            field: "entitlement_id",
            existing_payment_id: Uuid::nil(),
            existing_entitlement_id: Uuid::nil(),
            existing_case_id: Uuid::nil(),
            referral_id: Uuid::nil(),
        };
        assert!(!conflict.is_transient());
    }
}
