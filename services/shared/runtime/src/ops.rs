//! Operational endpoints every service serves on its HTTP port.

use std::sync::Arc;
use std::time::Duration;

use actix_web::{HttpResponse, web};
use rdkafka::consumer::{BaseConsumer, Consumer};
use sqlx::PgPool;
use utoipa_swagger_ui::SwaggerUi;

/// What `/readyz` checks: the service's database and the broker.
#[derive(Clone)]
pub struct Readiness {
    service: &'static str,
    pool: PgPool,
    broker: Arc<Option<BaseConsumer>>,
}

impl Readiness {
    pub fn new(service: &'static str, pool: PgPool, brokers: &str) -> Self {
        // A long-lived client: creating one per probe would start and stop its threads every
        // few seconds.
        let broker = slrt_messaging::client_config(brokers).create::<BaseConsumer>().ok();
        Self {
            service,
            pool,
            broker: Arc::new(broker),
        }
    }

    async fn database_ready(&self) -> Result<(), String> {
        let probe = sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&self.pool);
        match tokio::time::timeout(Duration::from_secs(2), probe).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(error)) => Err(error.to_string()),
            Err(_) => Err("no answer within 2 s".into()),
        }
    }

    async fn broker_ready(&self) -> Result<(), String> {
        let broker = Arc::clone(&self.broker);
        tokio::task::spawn_blocking(move || match broker.as_ref() {
            Some(client) => client
                .fetch_metadata(None, Duration::from_secs(2))
                .map(|_| ())
                .map_err(|error| error.to_string()),
            None => Err("no broker client".into()),
        })
        .await
        .unwrap_or_else(|error| Err(error.to_string()))
    }
}

/// Mounts `/healthz`, `/readyz` and `/metrics`.
pub fn configure(readiness: Readiness) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.app_data(web::Data::new(readiness))
            .route("/healthz", web::get().to(healthz))
            .route("/readyz", web::get().to(readyz))
            .route("/metrics", web::get().to(metrics));
    }
}

/// Mounts `/openapi.json` and the interactive docs page at `/docs/`.
pub fn docs(openapi: utoipa::openapi::OpenApi) -> SwaggerUi {
    SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", openapi)
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "alive" }))
}

async fn readyz(readiness: web::Data<Readiness>) -> HttpResponse {
    let (database, broker) = tokio::join!(readiness.database_ready(), readiness.broker_ready());
    let describe = |check: &Result<(), String>| match check {
        Ok(()) => serde_json::json!({ "ready": true }),
        Err(reason) => serde_json::json!({ "ready": false, "reason": reason }),
    };
    let body = serde_json::json!({
        "service": readiness.service,
        "database": describe(&database),
        "broker": describe(&broker),
    });
    if database.is_ok() && broker.is_ok() {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

async fn metrics() -> HttpResponse {
    let encoder = prometheus::TextEncoder::new();
    match encoder.encode_to_string(&prometheus::gather()) {
        Ok(text) => HttpResponse::Ok().content_type(prometheus::TEXT_FORMAT).body(text),
        Err(error) => actix_web::ResponseError::error_response(&slrt_errors::ApiError::internal(error)),
    }
}
