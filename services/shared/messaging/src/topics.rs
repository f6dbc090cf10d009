//! Topic set-up through the Kafka admin API.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::types::RDKafkaErrorCode;

#[derive(Debug, thiserror::Error)]
pub enum TopicError {
    #[error("cannot create an admin client for {brokers}: {source}")]
    Client {
        brokers: String,
        source: rdkafka::error::KafkaError,
    },
    #[error("cannot create topics: {0}")]
    Request(#[from] rdkafka::error::KafkaError),
    #[error("cannot create topic {topic}: {code}")]
    Topic { topic: String, code: RDKafkaErrorCode },
    #[error("the broker did not answer the topic request within {0:?}")]
    NoAnswer(Duration),
}

/// Creates each topic that does not exist yet, with `partitions` partitions; existing topics
/// are left as they are.
pub async fn ensure_topics(brokers: &str, topics: &[String], partitions: i32) -> Result<(), TopicError> {
    let admin: AdminClient<DefaultClientContext> =
        crate::client_config(brokers)
            .create()
            .map_err(|source| TopicError::Client {
                brokers: brokers.to_string(),
                source,
            })?;
    // Kafka clusters replicate; the local single-node broker cannot.
    let new_topics: Vec<NewTopic<'_>> = topics
        .iter()
        .map(|topic| NewTopic::new(topic, partitions, TopicReplication::Fixed(1)))
        .collect();
    let options = AdminOptions::new()
        .operation_timeout(Some(Duration::from_secs(10)))
        .request_timeout(Some(Duration::from_secs(30)));
    // The client's own deadline should end the request; this one is in case it does not, so
    // a start-up never waits on the broker forever.
    let answer_within = Duration::from_secs(45);
    let results = tokio::time::timeout(answer_within, admin.create_topics(&new_topics, &options))
        .await
        .map_err(|_| TopicError::NoAnswer(answer_within))??;
    for result in results {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => return Err(TopicError::Topic { topic, code }),
        }
    }
    Ok(())
}
