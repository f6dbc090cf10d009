//! The wiring every service shares: database pool and migrations, topics, the outbox relay,
//! consumers, and the HTTP and gRPC servers, all stopped by one shutdown signal.
//!
//! A service's `startup.rs` connects a [`Platform`], builds its own use cases on the pool
//! and store, spawns its consumers and timers, and hands its HTTP routes and gRPC services
//! to [`Platform::serve`].

use std::net::SocketAddr;
use std::sync::Arc;

use actix_web::{App, HttpServer, web};
use anyhow::Context;
use slrt_eventstore::EventStore;
use slrt_messaging::{EventHandler, InboxConsumer, OutboxRelay};
use slrt_settings::{CommonSettings, Service};
use sqlx::PgPool;
use sqlx::migrate::Migrator;
use sqlx::postgres::PgPoolOptions;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tonic::service::Routes;

use crate::limits::RateLimiter;
use crate::{grpc, http, limits, ops, shutdown};

pub struct Platform {
    pub settings: CommonSettings,
    pub pool: PgPool,
    pub store: EventStore,
    /// The callers' rate limits, shared by the HTTP and gRPC servers.
    pub limiter: Arc<RateLimiter>,
    stop: watch::Sender<bool>,
    stopped: watch::Receiver<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Platform {
    /// Connects to the service's database, runs the event store's and the service's
    /// migrations, and creates the topics it publishes and consumes.
    pub async fn connect(
        settings: CommonSettings,
        mut migrator: Migrator,
        consumes: &[Service],
    ) -> anyhow::Result<Self> {
        let service = settings.service.name();
        let pool = PgPoolOptions::new()
            .max_connections(settings.database_max_connections)
            .acquire_timeout(std::time::Duration::from_secs(5))
            .connect(&settings.database_url)
            .await
            .with_context(|| format!("{service}: cannot connect to its database"))?;
        slrt_eventstore::migrate(&pool)
            .await
            .with_context(|| format!("{service}: event store migrations"))?;
        migrator.set_ignore_missing(true);
        migrator
            .run(&pool)
            .await
            .with_context(|| format!("{service}: migrations"))?;

        let mut topics = vec![settings.own_topic()];
        topics.extend(consumes.iter().map(|other| settings.topic_of(*other)));
        topics.sort();
        topics.dedup();
        slrt_messaging::topics::ensure_topics(&settings.kafka_brokers, &topics, settings.topic_partitions)
            .await
            .with_context(|| format!("{service}: cannot create topics {topics:?}"))?;

        let store = EventStore::new(service, settings.own_topic());
        let (stop, stopped) = shutdown::channel();
        let limiter = Arc::new(RateLimiter::new(
            settings.rate_limit_per_minute,
            settings.rate_limit_burst,
        ));
        Ok(Self {
            settings,
            pool,
            store,
            limiter,
            stop,
            stopped,
            tasks: Vec::new(),
        })
    }

    /// A receiver that turns true when the service stops.
    pub fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.stopped.clone()
    }

    /// Runs a background task until shutdown (it receives the shutdown signal).
    pub fn spawn<F, Fut>(&mut self, task: F)
    where
        F: FnOnce(watch::Receiver<bool>) -> Fut,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        self.tasks.push(tokio::spawn(task(self.stopped.clone())));
    }

    /// Starts the relay that publishes this service's outbox.
    pub fn spawn_relay(&mut self) -> anyhow::Result<()> {
        let relay = OutboxRelay::new(
            self.pool.clone(),
            &self.settings.kafka_brokers,
            self.settings.service.name(),
            self.settings.relay_poll_interval,
        )?
        .idempotent(self.settings.kafka_idempotent_producer)?;
        self.spawn(|stopped| relay.run(stopped));
        Ok(())
    }

    /// Starts a consumer named `name` of the given services' topics.
    pub fn spawn_consumer<H: EventHandler>(
        &mut self,
        name: &str,
        topics: &[Service],
        handler: H,
    ) -> anyhow::Result<()> {
        let topics: Vec<String> = topics.iter().map(|service| self.settings.topic_of(*service)).collect();
        let consumer = InboxConsumer::new(
            name,
            self.pool.clone(),
            &self.settings.kafka_brokers,
            &self.settings.consumer_group(name),
            &topics,
            handler,
        )?;
        self.spawn(|stopped| consumer.run(stopped));
        Ok(())
    }

    /// The gRPC routes every service serves (health, reflection), to add its own to.
    /// The interceptor for this service's gRPC APIs: the caller's token verified, then
    /// counted against their rate limit.
    pub fn grpc_guard(
        &self,
        verifier: Arc<slrt_auth::Verifier>,
    ) -> impl FnMut(tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> + Clone + use<> {
        // `use<>`: the guard owns what it needs and outlives the platform it came from.
        limits::grpc_guard(verifier, self.limiter.clone())
    }

    pub async fn grpc_routes(&self, served: &[&'static str]) -> anyhow::Result<Routes> {
        let (health, reflection) = grpc::health_and_reflection(served).await?;
        Ok(Routes::new(health).add_service(reflection))
    }

    /// Binds both servers and starts them. `routes` configures the service's own HTTP API;
    /// `openapi` is served at `/openapi.json` with the docs page at `/docs/`.
    pub async fn serve<F>(
        self,
        routes: F,
        openapi: utoipa::openapi::OpenApi,
        grpc_routes: Routes,
    ) -> anyhow::Result<RunningService>
    where
        F: Fn(&mut web::ServiceConfig) + Send + Sync + Clone + 'static,
    {
        let service = self.settings.service.name();
        let http_listener = std::net::TcpListener::bind(self.settings.http_addr)
            .with_context(|| format!("{service}: cannot bind HTTP to {}", self.settings.http_addr))?;
        let http_addr = http_listener.local_addr()?;
        let grpc_listener = tokio::net::TcpListener::bind(self.settings.grpc_addr)
            .await
            .with_context(|| format!("{service}: cannot bind gRPC to {}", self.settings.grpc_addr))?;
        let grpc_addr = grpc_listener.local_addr()?;

        let readiness = ops::Readiness::new(
            self.settings.service.name(),
            self.pool.clone(),
            &self.settings.kafka_brokers,
        );
        let openapi = Arc::new(openapi);
        let limiter = web::Data::from(self.limiter.clone());
        let http_server = HttpServer::new(move || {
            App::new()
                .app_data(limiter.clone())
                // Registered after tracing, so it runs inside the request's span.
                .wrap(actix_web::middleware::from_fn(http::refuse_nul_text))
                .wrap(actix_web::middleware::from_fn(limits::rate_limit))
                .wrap(actix_web::middleware::from_fn(http::trace_requests))
                .configure(http::configure_extractors)
                .configure(ops::configure(readiness.clone()))
                .service(ops::docs((*openapi).clone()))
                .configure(routes.clone())
                .default_service(web::to(http::no_such_route))
        })
        .listen(http_listener)?
        .disable_signals()
        .shutdown_timeout(10)
        .run();
        let http_handle = http_server.handle();

        let grpc_stop = self.stopped.clone();
        let incoming = tokio_stream::wrappers::TcpListenerStream::new(grpc_listener);
        let grpc_server = grpc::server(&self.settings.grpc_tls)?
            .add_routes(grpc_routes)
            .serve_with_incoming_shutdown(incoming, shutdown::stopped(grpc_stop));

        let mut tasks = self.tasks;
        tasks.push(tokio::spawn(async move {
            if let Err(error) = grpc_server.await {
                tracing::error!(error = %error, "gRPC server stopped with an error");
            }
        }));
        let http_stop = self.stopped.clone();
        tasks.push(tokio::spawn(async move {
            shutdown::stopped(http_stop).await;
            http_handle.stop(true).await;
        }));
        let http_task = tokio::spawn(async move {
            if let Err(error) = http_server.await {
                tracing::error!(error = %error, "HTTP server stopped with an error");
            }
        });
        tracing::info!(service, http.addr = %http_addr, grpc.addr = %grpc_addr, "listening");
        Ok(RunningService {
            service,
            http_addr,
            grpc_addr,
            stop: self.stop,
            http_task,
            tasks,
        })
    }
}

/// A started service: its addresses, and the means to stop it.
pub struct RunningService {
    pub service: &'static str,
    pub http_addr: SocketAddr,
    pub grpc_addr: SocketAddr,
    stop: watch::Sender<bool>,
    http_task: JoinHandle<()>,
    tasks: Vec<JoinHandle<()>>,
}

impl RunningService {
    pub fn http_port(&self) -> u16 {
        self.http_addr.port()
    }

    pub fn grpc_port(&self) -> u16 {
        self.grpc_addr.port()
    }

    /// A handle that stops the service when sent `true`.
    pub fn stopper(&self) -> watch::Sender<bool> {
        self.stop.clone()
    }

    /// Runs until SIGTERM / Ctrl-C or a `true` on the stopper, then stops every task.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let mut stopped = self.stop.subscribe();
        tokio::select! {
            _ = shutdown::terminate_signal() => {}
            _ = shutdown::stopped(stopped.clone()) => {}
        }
        let _ = self.stop.send(true);
        let _ = stopped.borrow_and_update();
        let _ = self.http_task.await;
        for task in self.tasks {
            let _ = task.await;
        }
        tracing::info!(service = self.service, "stopped");
        Ok(())
    }
}
