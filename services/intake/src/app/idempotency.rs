//! Idempotency keys for creates.
//!
//! The key is claimed in its own committed transaction before the work starts, so a second
//! request with the same key, arriving while the first is in flight, sees the claim and is
//! told to retry (409) instead of doing the work twice. The answer is stored in the work's
//! own transaction, so a stored answer always belongs to committed work.

use std::future::Future;

use slrt_errors::{ApiError, ErrorCode};
use sqlx::{PgConnection, PgPool, Row};

use super::Created;

/// A claimed key the work must complete in its own transaction ([`Pending::complete`]).
#[derive(Debug, Clone)]
pub struct Pending {
    scope: String,
    key: IdempotencyKey,
}

impl Pending {
    /// Stores the answer with the key, in the transaction that did the work.
    pub async fn complete(&self, conn: &mut PgConnection, created: &Created) -> Result<(), ApiError> {
        complete(conn, &self.scope, &self.key, created)
            .await
            .map_err(ApiError::unavailable)
    }
}

/// Runs a create at most once per key. `scope` names the operation and its target (e.g.
/// `POST /v1/cases/<id>/close`), so one key may serve different operations. Without a key the
/// work simply runs. With one: the same key and body return the first answer; the same key
/// with another body is refused (422); a retry while the first is still in flight is a
/// conflict (409); a failed attempt gives the key back so the client may retry with it.
pub async fn once<F, Fut>(
    pool: &PgPool,
    scope: &str,
    idempotency: Option<(IdempotencyKey, String)>,
    work: F,
) -> Result<Created, ApiError>
where
    F: FnOnce(Option<Pending>) -> Fut,
    Fut: Future<Output = Result<Created, ApiError>>,
{
    let Some((key, request_hash)) = idempotency else {
        return work(None).await;
    };
    match claim(pool, scope, &key, &request_hash)
        .await
        .map_err(ApiError::unavailable)?
    {
        Claim::New => {}
        Claim::Replay(created) => return Ok(created),
        Claim::InProgress => {
            return Err(ApiError::conflict(
                "a request with this Idempotency-Key is still being processed; retry shortly",
            )
            .with_field("Idempotency-Key"));
        }
        Claim::Mismatch => {
            return Err(ApiError::new(
                ErrorCode::IdempotencyKeyReused,
                "this Idempotency-Key was used for a different request body",
            )
            .with_field("Idempotency-Key"));
        }
    }
    let pending = Pending {
        scope: scope.to_string(),
        key: key.clone(),
    };
    let result = work(Some(pending)).await;
    if result.is_err() {
        // Let the client retry with the same key after a failure.
        let _ = release(pool, scope, &key).await;
    }
    result
}

/// The key of a request, from its `Idempotency-Key` header value, with the fingerprint of
/// its body; `None` when the header is absent.
pub fn from_header(
    header: Option<&actix_web::http::header::HeaderValue>,
    body: &impl serde::Serialize,
) -> Result<Option<(IdempotencyKey, String)>, ApiError> {
    let Some(value) = header else { return Ok(None) };
    let text = value
        .to_str()
        .map_err(|_| ApiError::invalid("Idempotency-Key", "must be visible ASCII"))?;
    let key = IdempotencyKey::parse(text).map_err(|reason| ApiError::invalid("Idempotency-Key", reason))?;
    let canonical = serde_json::to_value(body).map_err(ApiError::internal)?;
    Ok(Some((key, request_hash(&canonical))))
}

/// A client-chosen key: 1 to 200 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(text: &str) -> Result<Self, &'static str> {
        if text.is_empty() || text.len() > 200 {
            return Err("Idempotency-Key must be 1 to 200 characters");
        }
        if !text.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("Idempotency-Key must be visible ASCII characters without spaces");
        }
        Ok(Self(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A fingerprint of the request body, insensitive to key order and white space.
pub fn request_hash(body: &serde_json::Value) -> String {
    use sha2::Digest;
    // serde_json's default map is ordered by key, so equal documents print equally.
    hex::encode(sha2::Sha256::digest(body.to_string().as_bytes()))
}

#[derive(Debug)]
pub enum Claim {
    /// The key is ours; do the work.
    New,
    /// The work was done before; answer the same.
    Replay(Created),
    /// Another request with this key is being processed.
    InProgress,
    /// The key was used for a different request.
    Mismatch,
}

// A claim whose work never completed (a crash between claim and commit) is taken over
// after this long, instead of blocking the key for ever.
const STALE_CLAIM_SECONDS: f64 = 60.0;

pub async fn claim(pool: &PgPool, scope: &str, key: &IdempotencyKey, hash: &str) -> Result<Claim, sqlx::Error> {
    let inserted = sqlx::query(
        "INSERT INTO idempotency_keys (scope, key, request_hash) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(scope)
    .bind(key.as_str())
    .bind(hash)
    .execute(pool)
    .await?;
    if inserted.rows_affected() == 1 {
        return Ok(Claim::New);
    }
    let row = sqlx::query(
        "SELECT request_hash, status_code, response_body,
                EXTRACT(EPOCH FROM now() - created_at)::float8 AS age
         FROM idempotency_keys WHERE scope = $1 AND key = $2",
    )
    .bind(scope)
    .bind(key.as_str())
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else {
        // Released between our insert and read: try once more from the start.
        return Box::pin(claim(pool, scope, key, hash)).await;
    };
    let stored_hash: String = row.try_get("request_hash")?;
    if stored_hash != hash {
        return Ok(Claim::Mismatch);
    }
    let status: Option<i32> = row.try_get("status_code")?;
    let body: Option<serde_json::Value> = row.try_get("response_body")?;
    match (status, body) {
        (Some(status), Some(body)) => Ok(Claim::Replay(Created {
            status: status as u16,
            body,
        })),
        _ => {
            let age: f64 = row.try_get("age")?;
            if age < STALE_CLAIM_SECONDS {
                return Ok(Claim::InProgress);
            }
            let taken = sqlx::query(
                "UPDATE idempotency_keys SET created_at = now()
                 WHERE scope = $1 AND key = $2 AND status_code IS NULL
                   AND created_at < now() - make_interval(secs => $3)",
            )
            .bind(scope)
            .bind(key.as_str())
            .bind(STALE_CLAIM_SECONDS)
            .execute(pool)
            .await?;
            Ok(if taken.rows_affected() == 1 {
                Claim::New
            } else {
                Claim::InProgress
            })
        }
    }
}

/// Stores the answer, in the transaction that did the work.
pub async fn complete(
    conn: &mut PgConnection,
    scope: &str,
    key: &IdempotencyKey,
    created: &Created,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE idempotency_keys SET status_code = $3, response_body = $4 WHERE scope = $1 AND key = $2")
        .bind(scope)
        .bind(key.as_str())
        .bind(i32::from(created.status))
        .bind(&created.body)
        .execute(conn)
        .await?;
    Ok(())
}

/// Gives the key back after the work failed, so the client may retry with it.
pub async fn release(pool: &PgPool, scope: &str, key: &IdempotencyKey) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND status_code IS NULL")
        .bind(scope)
        .bind(key.as_str())
        .execute(pool)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_documents_hash_equally_whatever_their_key_order() {
        let a: serde_json::Value = serde_json::from_str(r#"{"a":1,"b":{"c":2,"d":3}}"#).unwrap_or_default();
        let b: serde_json::Value = serde_json::from_str(r#"{ "b": {"d":3, "c":2}, "a": 1 }"#).unwrap_or_default();
        assert_eq!(request_hash(&a), request_hash(&b));
        let c: serde_json::Value = serde_json::from_str(r#"{"a":2}"#).unwrap_or_default();
        assert_ne!(request_hash(&a), request_hash(&c));
    }

    #[test]
    fn keys_must_be_short_visible_ascii() {
        assert!(IdempotencyKey::parse("desk-7-2026-11-22-0001").is_ok());
        assert!(IdempotencyKey::parse("").is_err());
        assert!(IdempotencyKey::parse("has space").is_err());
        assert!(IdempotencyKey::parse(&"x".repeat(201)).is_err());
    }
}
