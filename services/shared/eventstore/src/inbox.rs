//! The consumer side's deduplication: an event is applied at most once per consumer.

use sqlx::PgConnection;
use uuid::Uuid;

/// Records that `consumer` has applied `event_id`, inside the transaction that applies it.
/// Returns false when it was already recorded: the caller must then skip the effect.
pub async fn record_processed(conn: &mut PgConnection, consumer: &str, event_id: Uuid) -> Result<bool, sqlx::Error> {
    let result = sqlx::query("INSERT INTO es_inbox (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
        .bind(consumer)
        .bind(event_id)
        .execute(conn)
        .await?;
    Ok(result.rows_affected() == 1)
}
