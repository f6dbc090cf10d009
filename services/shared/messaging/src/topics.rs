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
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    for result in admin.create_topics(&new_topics, &options).await? {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => return Err(TopicError::Topic { topic, code }),
        }
    }
    Ok(())
}
