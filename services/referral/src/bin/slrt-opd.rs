//! `slrt-opd`: the referral service's OPD API from a terminal, for an agency without
//! developers of its own. Every call carries the officer's bearer token (`--token-file` or
//! `SLRT_TOKEN`), issued by the regency's identity provider; the token names the agency,
//! and the service shows and changes only that agency's referrals.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use serde::Serialize;
use slrt_auth::grpc::{AttachToken, TokenSource};
use slrt_proto::referral::v1::opd_referral_service_client::OpdReferralServiceClient;
use slrt_proto::referral::v1::{
    AcceptRequest, AcknowledgeRequest, CompleteRequest, ListOpenReferralsRequest, ReferralState, ReferralUpdate,
    RejectRequest, StartServiceRequest, TransferRequest, WatchReferralsRequest,
};
use slrt_referral::domain::Nik;
use slrt_settings::GrpcTls;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

/// Receive and act on SLRT referrals for your agency (OPD).
///
/// Output contains clients' personal data: keep it on the agency's machines. NIKs are
/// masked unless --show-nik is given.
#[derive(Debug, Parser)]
#[command(name = "slrt-opd", version)]
struct Cli {
    /// A file holding your bearer token (as the identity provider's login tool writes it).
    #[arg(long, env = "SLRT_TOKEN_FILE", conflicts_with = "token")]
    token_file: Option<std::path::PathBuf>,
    /// Your bearer token itself (prefer --token-file: a token on a command line is visible
    /// to other users of the machine).
    #[arg(long, env = "SLRT_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Address of the referral service's gRPC API; `https://` for a regency that requires
    /// TLS (then --ca-file, and --cert-file with --key-file where it requires client
    /// certificates).
    #[arg(long, env = "SLRT_REFERRAL_GRPC_URL", default_value = "http://127.0.0.1:50053")]
    url: String,
    /// The regency's certificate authorities (PEM), to check the service's certificate.
    #[arg(long, env = "SLRT_GRPC_TLS_CA_FILE")]
    ca_file: Option<std::path::PathBuf>,
    /// Your agency's client certificate (PEM), as the regency issued it.
    #[arg(long, env = "SLRT_GRPC_TLS_CERT_FILE", requires = "key_file")]
    cert_file: Option<std::path::PathBuf>,
    /// The private key of --cert-file (PEM).
    #[arg(long, env = "SLRT_GRPC_TLS_KEY_FILE", requires = "cert_file")]
    key_file: Option<std::path::PathBuf>,
    /// The officer acting, when an agency's system calls on an officer's behalf; an officer's
    /// own token records the officer it names, whatever this says [default: $USER].
    #[arg(long, env = "SLRT_OPD_ACTOR")]
    actor: Option<String>,
    /// One JSON object per line, for programs.
    #[arg(long, global = true)]
    json: bool,
    /// Show clients' NIK in full.
    #[arg(long, global = true)]
    show_nik: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Your agency's referrals that are not finished, oldest first, with their SLA state
    /// (on_track, response_overdue, resolution_overdue) and the deadline that matters next.
    List {
        /// How many per page, 1 to 500.
        #[arg(long, default_value_t = 100)]
        limit: i32,
        /// Every page, not just the first.
        #[arg(long)]
        all: bool,
    },
    /// Every new and changed referral, as it happens (Ctrl-C to stop). Reconnects by itself
    /// when the service restarts.
    Watch {
        /// Resume after this cursor (the first column of a line seen before).
        #[arg(long)]
        after: Option<String>,
    },
    /// You have seen the referral.
    Ack {
        /// The referral's id, as `list` and `watch` show it.
        referral_id: String,
    },
    /// You take the referral on.
    Accept {
        /// The referral's id, as `list` and `watch` show it.
        referral_id: String,
        /// A note for the case file.
        #[arg(long)]
        note: Option<String>,
    },
    /// You decline the referral; it goes back to be routed elsewhere.
    Reject {
        /// The referral's id, as `list` and `watch` show it.
        referral_id: String,
        /// Why: the next agency and the supervisors read it.
        #[arg(long)]
        reason: String,
    },
    /// You started serving an accepted referral (a visit, a procedure under way).
    Start {
        /// The referral's id, as `list` and `watch` show it.
        referral_id: String,
        /// A note for the case file.
        #[arg(long)]
        note: Option<String>,
    },
    /// The referral belongs to another agency: it goes there, and leaves your list.
    Transfer {
        /// The referral's id, as `list` and `watch` show it.
        referral_id: String,
        /// The agency that should serve it, e.g. BAZNAS.
        #[arg(long)]
        to: String,
        /// Why it belongs there: the other agency and the supervisors read it.
        #[arg(long)]
        reason: String,
    },
    /// You finished serving the referral (successfully, unless --unsuccessful).
    Complete {
        /// The referral's id, as `list` and `watch` show it.
        referral_id: String,
        /// The service could not be given; requires --outcome.
        #[arg(long, requires = "outcome")]
        unsuccessful: bool,
        /// Why not: client_refused, lack_of_capacity, unable_to_contact, no_longer_needed, other.
        #[arg(long, requires = "unsuccessful")]
        outcome: Option<String>,
        /// A note for the case file.
        #[arg(long)]
        note: Option<String>,
    },
}

type Client = OpdReferralServiceClient<InterceptedService<Channel, AttachToken>>;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            match error.downcast_ref::<tonic::Status>() {
                Some(status) => eprintln!("slrt-opd: {} ({:?})", status.message(), status.code()),
                None => eprintln!("slrt-opd: {error:#}"),
            }
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let output = Output {
        json: cli.json,
        show_nik: cli.show_nik,
    };
    let actor = cli
        .actor
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .filter(|actor| !actor.trim().is_empty())
        .unwrap_or_else(|| "opd-officer".to_string());
    let source = match (&cli.token_file, &cli.token) {
        (Some(path), _) => TokenSource::File {
            path: path.clone(),
            refresh: Duration::from_secs(60),
        },
        (None, Some(token)) => TokenSource::Fixed(token.trim().to_string()),
        (None, None) => anyhow::bail!("a bearer token is required: --token-file FILE, or SLRT_TOKEN"),
    };
    let tls = client_tls(&cli)?;
    let mut client = connect(&cli.url, &tls, source).await?;
    match cli.command {
        Command::List { limit, all } => {
            let mut page_token = String::new();
            let mut shown = 0;
            loop {
                let page = client
                    .list_open_referrals(ListOpenReferralsRequest { limit, page_token })
                    .await?
                    .into_inner();
                for referral in &page.referrals {
                    output.referral(referral)?;
                }
                shown += page.referrals.len();
                page_token = page.next_page_token;
                if !all || page_token.is_empty() {
                    break;
                }
            }
            if shown == 0 && !output.json {
                println!("no open referrals for your agency");
            }
        }
        Command::Watch { after } => watch(&mut client, after.unwrap_or_default(), &output).await?,
        Command::Ack { referral_id } => {
            let state = client
                .acknowledge(AcknowledgeRequest { referral_id, actor })
                .await?
                .into_inner();
            output.referral(&state)?;
        }
        Command::Accept { referral_id, note } => {
            let request = AcceptRequest {
                referral_id,
                actor,
                note: note.unwrap_or_default(),
            };
            output.referral(&client.accept(request).await?.into_inner())?;
        }
        Command::Reject { referral_id, reason } => {
            let request = RejectRequest {
                referral_id,
                actor,
                reason,
            };
            output.referral(&client.reject(request).await?.into_inner())?;
        }
        Command::Start { referral_id, note } => {
            let request = StartServiceRequest {
                referral_id,
                actor,
                note: note.unwrap_or_default(),
            };
            output.referral(&client.start_service(request).await?.into_inner())?;
        }
        Command::Transfer {
            referral_id,
            to,
            reason,
        } => {
            let request = TransferRequest {
                referral_id,
                actor,
                to_opd_code: to,
                reason,
            };
            output.referral(&client.transfer(request).await?.into_inner())?;
        }
        Command::Complete {
            referral_id,
            unsuccessful,
            outcome,
            note,
        } => {
            let request = CompleteRequest {
                referral_id,
                actor,
                successful: !unsuccessful,
                outcome_code: outcome.unwrap_or_default(),
                note: note.unwrap_or_default(),
            };
            output.referral(&client.complete(request).await?.into_inner())?;
        }
    }
    Ok(())
}

/// The certificates given, read and checked as a service reads its own.
fn client_tls(cli: &Cli) -> anyhow::Result<GrpcTls> {
    use slrt_settings::grpc_tls::{CA_FILE, CERT_FILE, KEY_FILE};
    let path = |file: &Option<std::path::PathBuf>| file.as_ref().map(|path| path.display().to_string());
    GrpcTls::from_lookup(&|variable: &str| match variable {
        CA_FILE => path(&cli.ca_file),
        CERT_FILE => path(&cli.cert_file),
        KEY_FILE => path(&cli.key_file),
        _ => None,
    })
    .map_err(|error| {
        let flag = match error.variable.as_str() {
            CA_FILE => "--ca-file",
            CERT_FILE => "--cert-file",
            _ => "--key-file",
        };
        anyhow::anyhow!("{flag}: {}", error.reason)
    })
}

async fn connect(url: &str, tls: &GrpcTls, token: TokenSource) -> anyhow::Result<Client> {
    if !url.starts_with("http://") && !url.starts_with("https://") {
        anyhow::bail!("--url {url:?} is not a URL such as http://127.0.0.1:50053");
    }
    let channel = slrt_runtime::grpc::endpoint(url, tls)
        .map_err(|error| anyhow::anyhow!("--url {url}: {error:#}"))?
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .with_context(|| format!("cannot reach the referral service at {url}"))?;
    Ok(OpdReferralServiceClient::with_interceptor(
        channel,
        AttachToken::new(token),
    ))
}

// A service restart or a network break ends the stream; the watch picks up after the last
// update it printed, so nothing is shown twice or missed.
async fn watch(client: &mut Client, mut cursor: String, output: &Output) -> anyhow::Result<()> {
    let mut failures: u32 = 0;
    loop {
        let request = WatchReferralsRequest {
            after_cursor: cursor.clone(),
        };
        let ended = match client.watch_referrals(request).await {
            Ok(response) => {
                let mut updates = response.into_inner();
                loop {
                    match updates.message().await {
                        Ok(Some(update)) => {
                            failures = 0;
                            output.update(&update)?;
                            cursor = update.cursor;
                        }
                        Ok(None) => break None,
                        Err(status) => break Some(status),
                    }
                }
            }
            Err(status) => Some(status),
        };
        match ended {
            Some(status) if !retryable(&status) => return Err(status.into()),
            Some(status) => eprintln!(
                "slrt-opd: the watch was interrupted ({}); reconnecting",
                status.message()
            ),
            None => eprintln!("slrt-opd: the service closed the watch; reconnecting"),
        }
        failures = failures.saturating_add(1);
        tokio::time::sleep(Duration::from_secs(u64::from(failures.min(15)))).await;
    }
}

fn retryable(status: &tonic::Status) -> bool {
    matches!(
        status.code(),
        tonic::Code::Unavailable | tonic::Code::Unknown | tonic::Code::Cancelled
    )
}

struct Output {
    json: bool,
    show_nik: bool,
}

impl Output {
    fn referral(&self, state: &ReferralState) -> anyhow::Result<()> {
        if self.json {
            println!("{}", serde_json::to_string(&self.referral_json(state))?);
        } else {
            println!("{}", self.referral_line(state));
        }
        Ok(())
    }

    fn update(&self, update: &ReferralUpdate) -> anyhow::Result<()> {
        let state = update.referral.clone().unwrap_or_default();
        if self.json {
            let line = UpdateJson {
                cursor: &update.cursor,
                event_type: &update.event_type,
                traceparent: &update.traceparent,
                referral: self.referral_json(&state),
            };
            println!("{}", serde_json::to_string(&line)?);
        } else {
            let event = update.event_type.rsplit('.').next().unwrap_or_default();
            println!("{}  {event:<20}  {}", update.cursor, self.referral_line(&state));
        }
        Ok(())
    }

    fn nik(&self, nik: &str) -> String {
        if self.show_nik {
            nik.to_string()
        } else {
            Nik::new(nik).masked()
        }
    }

    fn referral_line(&self, state: &ReferralState) -> String {
        let d = state.details.clone().unwrap_or_default();
        let need = if d.programme_code.is_empty() {
            d.category
        } else {
            format!("{} {}", d.category, d.programme_code)
        };
        let benefit = if d.cash {
            format!("  {} {}", rupiah(d.amount_per_period_idr), d.cadence)
        } else {
            String::new()
        };
        // The deadline that matters next: the first answer while none was given.
        let due = if state.status == "requested" {
            format!("respond by {}", d.response_due_at)
        } else {
            format!("resolve by {}", d.resolution_due_at)
        };
        let sla = match (state.sla_state.as_str(), state.escalation_level) {
            ("", _) => String::new(),
            (sla, 0) => format!("  {sla}, {due}"),
            (sla, level) => format!("  {sla} (escalated, level {level}), {due}"),
        };
        format!(
            "{}  {:<12}  {need}  {} (NIK {})  {}  {}{benefit}{sla}  updated {}",
            d.referral_id,
            state.status,
            d.client_name,
            self.nik(&d.client_nik),
            d.region_code,
            d.service,
            state.updated_at
        )
    }

    fn referral_json(&self, state: &ReferralState) -> ReferralJson {
        let d = state.details.clone().unwrap_or_default();
        ReferralJson {
            referral_id: d.referral_id,
            case_id: d.case_id,
            need_id: d.need_id,
            status: state.status.clone(),
            updated_at: state.updated_at.clone(),
            category: d.category,
            programme_code: d.programme_code,
            opd_code: d.opd_code,
            service: d.service,
            region_code: d.region_code,
            client_name: d.client_name,
            client_nik: self.nik(&d.client_nik),
            beneficiary_id: d.beneficiary_id,
            cash: d.cash,
            amount_per_period_idr: d.amount_per_period_idr,
            cadence: d.cadence,
            component: d.component,
            attempt: d.attempt,
            sla_tier: d.sla_tier,
            sla_state: state.sla_state.clone(),
            response_due_at: d.response_due_at,
            resolution_due_at: d.resolution_due_at,
            escalation_level: state.escalation_level,
            linked_needs: state.linked_needs,
        }
    }
}

#[derive(Serialize)]
struct ReferralJson {
    referral_id: String,
    case_id: String,
    need_id: String,
    status: String,
    updated_at: String,
    category: String,
    programme_code: String,
    opd_code: String,
    service: String,
    region_code: String,
    client_name: String,
    client_nik: String,
    beneficiary_id: String,
    cash: bool,
    amount_per_period_idr: i64,
    cadence: String,
    component: String,
    attempt: i32,
    sla_tier: String,
    sla_state: String,
    response_due_at: String,
    resolution_due_at: String,
    escalation_level: i32,
    linked_needs: i32,
}

#[derive(Serialize)]
struct UpdateJson<'a> {
    cursor: &'a str,
    event_type: &'a str,
    traceparent: &'a str,
    referral: ReferralJson,
}

/// Rupiah with Indonesian digit grouping: `Rp 750.000`.
fn rupiah(amount: i64) -> String {
    let digits = amount.unsigned_abs().to_string();
    let mut grouped = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push('.');
        }
        grouped.push(digit);
    }
    format!("Rp {}{grouped}", if amount < 0 { "-" } else { "" })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;
    use slrt_proto::referral::v1::ReferralDetails;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn an_unsuccessful_completion_needs_an_outcome_and_an_outcome_needs_unsuccessful() {
        let parse = |args: &[&str]| Cli::try_parse_from(["slrt-opd", "--token", "t"].iter().chain(args)).is_ok();
        assert!(parse(&["complete", "x"]));
        assert!(parse(&[
            "complete",
            "x",
            "--unsuccessful",
            "--outcome",
            "client_refused"
        ]));
        assert!(!parse(&["complete", "x", "--unsuccessful"]));
        assert!(!parse(&["complete", "x", "--outcome", "client_refused"]));
        assert!(!parse(&["reject", "x"]));
        assert!(!parse(&["transfer", "x", "--reason", "madrasah pupil"]));
        assert!(parse(&[
            "transfer",
            "x",
            "--to",
            "KEMENAG",
            "--reason",
            "madrasah pupil"
        ]));
    }

    #[test]
    fn a_referral_line_masks_the_nik_unless_asked() {
        let state = ReferralState {
            details: Some(ReferralDetails {
                referral_id: "r-1".into(),
                category: "cash_assistance".into(),
                programme_code: "PKH".into(),
                client_name: "Siti Aminah".into(),
                client_nik: "3375014107900001".into(),
                region_code: "33.75.01.1002".into(),
                service: "PKH".into(),
                cash: true,
                amount_per_period_idr: 750_000,
                cadence: "quarterly".into(),
                response_due_at: "2026-11-26T17:00:00+00:00".into(),
                ..Default::default()
            }),
            status: "requested".into(),
            updated_at: "2026-11-22T03:14:07+00:00".into(),
            sla_state: "response_overdue".into(),
            escalation_level: 2,
            linked_needs: 0,
        };
        let masked = Output {
            json: false,
            show_nik: false,
        }
        .referral_line(&state);
        assert_eq!(
            masked,
            "r-1  requested     cash_assistance PKH  Siti Aminah (NIK 3375********0001)  33.75.01.1002  PKH  \
             Rp 750.000 quarterly  response_overdue (escalated, level 2), respond by 2026-11-26T17:00:00+00:00  \
             updated 2026-11-22T03:14:07+00:00"
        );
        let shown = Output {
            json: false,
            show_nik: true,
        }
        .referral_line(&state);
        assert!(shown.contains("(NIK 3375014107900001)"), "{shown}");
    }
}
