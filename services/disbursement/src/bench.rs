//! Bulk seeding for the payments benchmark (`make bench-payments`).
//!
//! A million acceptances through the consumer would take hours and measure the consumer,
//! not a period's payments. The seeder writes what those acceptances leave behind, in the
//! same shape, 10,000 entitlements per statement: on each `entitlement-<id>` stream,
//! `EntitlementCreated` (version 1) and the first period's `PaymentInstructionCreated`
//! (version 2) with their protobuf payloads, and the `entitlements` and
//! `payment_instructions` rows the projections would have written. It writes no outbox rows:
//! in the live path those events were published to Kafka when each referral was accepted,
//! long before the period's batch, and publishing them again would only measure the relay.

use chrono::{DateTime, Utc};
use prost::Message;
use slrt_proto::disbursement::v1 as proto;
use sqlx::PgPool;
use uuid::Uuid;

use crate::domain::{PaymentKey, Period};

/// Entitlements written per statement.
const SEED_CHUNK: usize = 10_000;

/// What to seed: `count` beneficiaries `<prefix>-0000001`, … of `programme`, each with one
/// component paid `amount_idr` per period, first due in `period`, living in `region_code`
/// (none: seen only by the regency's staff, as entitlements opened before regions were kept).
#[derive(Debug, Clone)]
pub struct Seed {
    pub count: usize,
    pub region_code: Option<String>,
    pub prefix: String,
    pub programme: String,
    pub component: String,
    pub cadence: String,
    pub period: Period,
    pub amount_idr: i64,
}

/// Seeds the entitlements and their first payments; returns how many were written.
pub async fn seed_period(pool: &PgPool, seed: &Seed) -> Result<usize, SeedError> {
    let now = Utc::now();
    let mut written = 0;
    let mut start = 0;
    while start < seed.count {
        let end = (start + SEED_CHUNK).min(seed.count);
        written += seed_chunk(pool, seed, start..end, now).await?;
        start = end;
    }
    Ok(written)
}

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("a seeded payment key is not valid: {0}")]
    Key(#[from] crate::domain::PaymentKeyError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

#[derive(Default)]
struct Columns {
    event_ids: Vec<Uuid>,
    stream_ids: Vec<String>,
    versions: Vec<i64>,
    types: Vec<String>,
    payloads: Vec<Vec<u8>>,
    cases: Vec<Uuid>,
    entitlement_ids: Vec<Uuid>,
    referral_ids: Vec<Uuid>,
    entitlement_cases: Vec<Uuid>,
    beneficiaries: Vec<String>,
    payment_ids: Vec<Uuid>,
    keys: Vec<String>,
}

async fn seed_chunk(
    pool: &PgPool,
    seed: &Seed,
    range: std::ops::Range<usize>,
    at: DateTime<Utc>,
) -> Result<usize, SeedError> {
    let mut c = Columns::default();
    for index in range {
        let entitlement_id = Uuid::now_v7();
        let case_id = Uuid::now_v7();
        let referral_id = Uuid::now_v7();
        let payment_id = Uuid::now_v7();
        let beneficiary = format!("{}-{:07}", seed.prefix, index + 1);
        let key = PaymentKey::new(&seed.programme, seed.period, &beneficiary, &seed.component)?;
        let stream = format!("entitlement-{entitlement_id}");
        let created = proto::EntitlementCreated {
            entitlement_id: entitlement_id.to_string(),
            case_id: case_id.to_string(),
            referral_id: referral_id.to_string(),
            programme_code: seed.programme.clone(),
            beneficiary_id: beneficiary.clone(),
            beneficiary_name: format!("Penerima {}", index + 1),
            component: seed.component.clone(),
            amount_per_period_idr: seed.amount_idr,
            cadence: seed.cadence.clone(),
            first_period: seed.period.to_string(),
        };
        let instructed = proto::PaymentInstructionCreated {
            payment_id: payment_id.to_string(),
            payment_key: key.to_string(),
            entitlement_id: entitlement_id.to_string(),
            case_id: case_id.to_string(),
            programme_code: seed.programme.clone(),
            period: seed.period.to_string(),
            beneficiary_id: beneficiary.clone(),
            component: seed.component.clone(),
            amount_idr: seed.amount_idr,
            arrears: false,
        };
        for (version, event_type, payload) in [
            (1, "slrt.disbursement.v1.EntitlementCreated", created.encode_to_vec()),
            (
                2,
                "slrt.disbursement.v1.PaymentInstructionCreated",
                instructed.encode_to_vec(),
            ),
        ] {
            c.event_ids.push(Uuid::now_v7());
            c.stream_ids.push(stream.clone());
            c.versions.push(version);
            c.types.push(event_type.to_owned());
            c.payloads.push(payload);
            c.cases.push(case_id);
        }
        c.entitlement_ids.push(entitlement_id);
        c.referral_ids.push(referral_id);
        c.entitlement_cases.push(case_id);
        c.beneficiaries.push(beneficiary);
        c.payment_ids.push(payment_id);
        c.keys.push(key.to_string());
    }
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO es_events (event_id, stream_id, stream_version, event_type, payload, case_id, occurred_at)
         SELECT e.id, e.stream, e.version, e.type, e.payload, e.case_id, $7
         FROM UNNEST($1::uuid[], $2::text[], $3::bigint[], $4::text[], $5::bytea[], $6::uuid[])
              AS e(id, stream, version, type, payload, case_id)",
    )
    .bind(&c.event_ids)
    .bind(&c.stream_ids)
    .bind(&c.versions)
    .bind(&c.types)
    .bind(&c.payloads)
    .bind(&c.cases)
    .bind(at)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO entitlements (entitlement_id, referral_id, case_id, programme_code, beneficiary_id,
                                   beneficiary_name, component, amount_per_period_idr, cadence, first_period,
                                   created_at, region_code)
         SELECT e.id, e.referral, e.case_id, $5, e.beneficiary, 'Penerima ' || e.n, $6, $7, $8, $9, $10, $11
         FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::text[]) WITH ORDINALITY
              AS e(id, referral, case_id, beneficiary, n)",
    )
    .bind(&c.entitlement_ids)
    .bind(&c.referral_ids)
    .bind(&c.entitlement_cases)
    .bind(&c.beneficiaries)
    .bind(&seed.programme)
    .bind(&seed.component)
    .bind(seed.amount_idr)
    .bind(&seed.cadence)
    .bind(seed.period.to_string())
    .bind(at)
    .bind(&seed.region_code)
    .execute(&mut *tx)
    .await?;
    let inserted = sqlx::query(
        "INSERT INTO payment_instructions (payment_id, payment_key, entitlement_id, case_id, programme_code, period,
                                           beneficiary_id, component, amount_idr, status, created_at)
         SELECT p.id, p.key, p.entitlement, p.case_id, $6, $7, p.beneficiary, $8, $9, 'instructed', $10
         FROM UNNEST($1::uuid[], $2::text[], $3::uuid[], $4::uuid[], $5::text[])
              AS p(id, key, entitlement, case_id, beneficiary)",
    )
    .bind(&c.payment_ids)
    .bind(&c.keys)
    .bind(&c.entitlement_ids)
    .bind(&c.entitlement_cases)
    .bind(&c.beneficiaries)
    .bind(&seed.programme)
    .bind(seed.period.to_string())
    .bind(&seed.component)
    .bind(seed.amount_idr)
    .bind(at)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(usize::try_from(inserted.rows_affected()).unwrap_or(usize::MAX))
}
