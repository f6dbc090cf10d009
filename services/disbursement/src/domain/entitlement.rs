//! Entitlements: a beneficiary's right to periodic payments under a programme, opened when
//! an OPD accepts a cash referral.

use chrono::NaiveDate;
use uuid::Uuid;

use super::payment_key::{KeyPart, PaymentKey, PaymentKeyError};
use super::period::{Cadence, Period, PeriodError, UnknownCadence};

/// What an accepted cash referral (`ReferralAccepted` with `cash = true`) says, as the
/// consumer received it. [`Entitlement::open`] decides whether it makes an entitlement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenEntitlement {
    /// Chosen by the caller (UUIDv7), so the decision stays pure.
    pub entitlement_id: Uuid,
    pub case_id: Uuid,
    pub referral_id: Uuid,
    pub programme_code: String,
    pub beneficiary_id: String,
    pub beneficiary_name: String,
    pub component: String,
    pub amount_per_period_idr: i64,
    pub cadence: String,
    /// The day the OPD accepted the referral: the first payment is for the period holding it.
    pub accepted_on: NaiveDate,
}

/// An open entitlement; also the payload of `EntitlementCreated`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entitlement {
    pub entitlement_id: Uuid,
    pub case_id: Uuid,
    pub referral_id: Uuid,
    pub programme_code: String,
    pub beneficiary_id: String,
    pub beneficiary_name: String,
    pub component: String,
    /// Rupiah.
    pub amount_per_period_idr: i64,
    pub cadence: Cadence,
    pub first_period: Period,
}

/// Why an entitlement or a payment under it was refused. The Display is the sentence a
/// person reads; [`EntitlementError::field`] names the input at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntitlementError {
    #[error("amount per period must be more than Rp0, got Rp{amount}")]
    NonPositiveAmount { amount: i64 },
    #[error(transparent)]
    UnknownCadence(#[from] UnknownCadence),
    #[error(transparent)]
    Key(#[from] PaymentKeyError),
    #[error("no payment period for the acceptance date: {0}")]
    Period(#[from] PeriodError),
    #[error("period {period} is not a {cadence} period")]
    PeriodNotOfCadence { period: Period, cadence: Cadence },
}

impl EntitlementError {
    pub fn field(&self) -> Option<&'static str> {
        match self {
            Self::NonPositiveAmount { .. } => Some("amount_per_period_idr"),
            Self::UnknownCadence(_) => Some("cadence"),
            Self::Key(e) => e.part().map(|part| match part {
                KeyPart::Programme => "programme_code",
                KeyPart::Period => "period",
                KeyPart::Beneficiary => "beneficiary_id",
                KeyPart::Component => "component",
            }),
            Self::Period(_) => Some("accepted_on"),
            Self::PeriodNotOfCadence { .. } => Some("period"),
        }
    }
}

impl Entitlement {
    /// Validates an accepted cash referral and fixes the first payment period: the period of
    /// the entitlement's cadence that contains the acceptance date.
    pub fn open(request: OpenEntitlement) -> Result<Self, EntitlementError> {
        let cadence = Cadence::parse(&request.cadence)?;
        let first_period = Period::first_for(cadence, request.accepted_on)?;
        let entitlement = Self {
            entitlement_id: request.entitlement_id,
            case_id: request.case_id,
            referral_id: request.referral_id,
            programme_code: request.programme_code,
            beneficiary_id: request.beneficiary_id,
            beneficiary_name: request.beneficiary_name,
            component: request.component,
            amount_per_period_idr: request.amount_per_period_idr,
            cadence,
            first_period,
        };
        // Building the first key now refuses parts that could never be paid, before the
        // entitlement is recorded rather than at its first payment.
        entitlement.payment_key(first_period)?;
        Ok(entitlement)
    }

    /// The key of this entitlement's payment for `period`. Re-checks the amount because the
    /// fields are public and may have come back from storage.
    pub fn payment_key(&self, period: Period) -> Result<PaymentKey, EntitlementError> {
        if self.amount_per_period_idr <= 0 {
            return Err(EntitlementError::NonPositiveAmount {
                amount: self.amount_per_period_idr,
            });
        }
        if period.cadence() != self.cadence {
            return Err(EntitlementError::PeriodNotOfCadence {
                period,
                cadence: self.cadence,
            });
        }
        Ok(PaymentKey::new(
            &self.programme_code,
            period,
            &self.beneficiary_id,
            &self.component,
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepted(on: (i32, u32, u32), cadence: &str, amount: i64) -> OpenEntitlement {
        let (year, month, day) = on;
        let Some(accepted_on) = NaiveDate::from_ymd_opt(year, month, day) else {
            panic!("not a date: {on:?}");
        };
        OpenEntitlement {
            entitlement_id: Uuid::from_u128(0xe1),
            case_id: Uuid::from_u128(0xca),
            referral_id: Uuid::from_u128(0x7e),
            programme_code: "BLT-DD".to_owned(),
            beneficiary_id: "hh-3324-0007".to_owned(),
            beneficiary_name: "Sutrisno".to_owned(),
            component: "base".to_owned(),
            amount_per_period_idr: amount,
            cadence: cadence.to_owned(),
            accepted_on,
        }
    }

    #[test]
    fn a_monthly_entitlement_first_pays_the_month_of_acceptance() {
        let entitlement = Entitlement::open(accepted((2026, 11, 30), "monthly", 300_000));
        assert_eq!(
            entitlement.map(|e| (e.cadence, e.first_period.to_string())),
            Ok((Cadence::Monthly, "2026-11".to_owned()))
        );
    }

    #[test]
    fn a_quarterly_entitlement_first_pays_the_quarter_of_acceptance() {
        let entitlement = Entitlement::open(accepted((2026, 10, 1), "quarterly", 750_000));
        assert_eq!(
            entitlement.map(|e| e.first_period.to_string()),
            Ok("2026-Q4".to_owned())
        );
    }

    #[test]
    fn a_yearly_entitlement_first_pays_the_calendar_year_of_acceptance() {
        let mut request = accepted((2026, 12, 31), "yearly", 450_000);
        request.programme_code = "PIP".to_owned();
        request.component = "sd".to_owned();
        let entitlement = Entitlement::open(request);
        assert_eq!(
            entitlement.map(|e| (e.cadence, e.first_period.to_string())),
            Ok((Cadence::Yearly, "2026".to_owned()))
        );
    }

    #[test]
    fn a_zero_or_negative_amount_is_refused() {
        for amount in [0, -300_000] {
            let result = Entitlement::open(accepted((2026, 11, 1), "monthly", amount));
            assert_eq!(result, Err(EntitlementError::NonPositiveAmount { amount }));
            assert_eq!(result.err().and_then(|e| e.field()), Some("amount_per_period_idr"));
        }
        assert_eq!(
            Entitlement::open(accepted((2026, 11, 1), "monthly", 0)).map_err(|e| e.to_string()),
            Err("amount per period must be more than Rp0, got Rp0".to_owned())
        );
    }

    #[test]
    fn an_unknown_or_missing_cadence_is_refused() {
        for cadence in ["weekly", "", "Monthly"] {
            let result = Entitlement::open(accepted((2026, 11, 1), cadence, 300_000));
            assert_eq!(
                result,
                Err(EntitlementError::UnknownCadence(UnknownCadence(cadence.to_owned())))
            );
            assert_eq!(result.err().and_then(|e| e.field()), Some("cadence"));
        }
    }

    #[test]
    fn parts_that_could_not_make_a_payment_key_are_refused_when_opening() {
        let mut request = accepted((2026, 11, 1), "monthly", 300_000);
        request.beneficiary_id = String::new();
        let result = Entitlement::open(request);
        assert_eq!(result.err().and_then(|e| e.field()), Some("beneficiary_id"));

        let mut request = accepted((2026, 11, 1), "monthly", 300_000);
        request.component = "child:0_6".to_owned();
        let result = Entitlement::open(request);
        assert_eq!(result.err().and_then(|e| e.field()), Some("component"));

        let mut request = accepted((2026, 11, 1), "monthly", 300_000);
        request.programme_code = "blt-dd".to_owned();
        let result = Entitlement::open(request);
        assert_eq!(result.err().and_then(|e| e.field()), Some("programme_code"));
    }

    #[test]
    fn a_payment_for_a_period_of_another_cadence_is_refused() -> Result<(), EntitlementError> {
        let entitlement = Entitlement::open(accepted((2026, 11, 1), "monthly", 300_000))?;
        let quarter = Period::quarterly(2026, 4)?;
        assert_eq!(
            entitlement.payment_key(quarter).map_err(|e| e.to_string()),
            Err("period 2026-Q4 is not a monthly period".to_owned())
        );
        Ok(())
    }
}
