#![expect(clippy::unwrap_used, reason = "tests")]

//! The simulator through real gRPC on a free port: what a disbursement service (the
//! `PayingBank` client) and a test or trainer (the `BankControl` client) see.

use std::time::{Duration, Instant};

use slrt_bank_simulator::ShutdownHandle;
use slrt_proto::bank::v1::bank_control_client::BankControlClient;
use slrt_proto::bank::v1::paying_bank_client::PayingBankClient;
use slrt_proto::bank::v1::{
    Behaviour, ExportRequest, GetTransferRequest, ResetRequest, ReverseRequest, ScenarioRequest, ScenarioRule,
    Statement, StatementRequest, StatusTotal, TransferReceipt, TransferRequest, TransferStatus,
};
use tonic::transport::Channel;
use tonic::{Code, Status};

struct TestBank {
    bank: PayingBankClient<Channel>,
    control: BankControlClient<Channel>,
    channel: Channel,
    _shutdown: ShutdownHandle,
}

async fn spawn_bank() -> TestBank {
    let (addr, shutdown) = slrt_bank_simulator::spawn("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let url = format!("http://{addr}");
    let channel = Channel::from_shared(url).unwrap().connect().await.unwrap();
    TestBank {
        bank: PayingBankClient::new(channel.clone()),
        control: BankControlClient::new(channel.clone()),
        channel,
        _shutdown: shutdown,
    }
}

const BATCH: &str = "PKH-2026-Q4-001";

fn transfer(key: &str, beneficiary_id: &str, amount_idr: i64) -> TransferRequest {
    TransferRequest {
        idempotency_key: key.into(),
        batch_id: BATCH.into(),
        beneficiary_id: beneficiary_id.into(),
        beneficiary_name: "Siti Aminah".into(),
        account: String::new(),
        amount_idr,
        attempt: 1,
    }
}

fn pkh(household: &str) -> TransferRequest {
    transfer(&format!("PKH:2026-Q4:{household}:child_0_6"), household, 750_000)
}

fn rule(behaviour: Behaviour) -> ScenarioRule {
    ScenarioRule {
        behaviour: behaviour.into(),
        ..ScenarioRule::default()
    }
}

impl TestBank {
    async fn send(&mut self, request: TransferRequest) -> Result<TransferReceipt, Status> {
        self.bank.transfer(request).await.map(tonic::Response::into_inner)
    }

    async fn get(&mut self, key: &str) -> Result<TransferReceipt, Status> {
        self.bank
            .get_transfer(GetTransferRequest {
                idempotency_key: key.into(),
            })
            .await
            .map(tonic::Response::into_inner)
    }

    async fn statement(&mut self, batch_id: &str) -> Statement {
        self.bank
            .get_statement(StatementRequest {
                batch_id: batch_id.into(),
                ..StatementRequest::default()
            })
            .await
            .unwrap()
            .into_inner()
    }

    async fn scenario(&mut self, rules: Vec<ScenarioRule>) {
        self.control.set_scenario(ScenarioRequest { rules }).await.unwrap();
    }
}

fn status(receipt: &TransferReceipt) -> TransferStatus {
    receipt.status()
}

fn total(statement: &Statement, status: TransferStatus) -> (u64, i64) {
    let found: Vec<&StatusTotal> = statement.totals.iter().filter(|t| t.status() == status).collect();
    assert_eq!(found.len(), 1, "one total for {status:?}: {:?}", statement.totals);
    (found[0].count, found[0].amount_idr)
}

fn statement_rows(statement: &Statement) -> Vec<(String, TransferStatus, String)> {
    statement
        .items
        .iter()
        .map(|item| (item.idempotency_key.clone(), item.status(), item.reason.clone()))
        .collect()
}

/// Polls until `check` holds or `within` has passed; answers the last receipt seen.
async fn eventually(
    bank: &mut TestBank,
    key: &str,
    within: Duration,
    check: impl Fn(&TransferReceipt) -> bool,
) -> TransferReceipt {
    let deadline = Instant::now() + within;
    loop {
        let receipt = bank.get(key).await.unwrap();
        if check(&receipt) || Instant::now() > deadline {
            return receipt;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_transfer_settles_with_a_bank_reference() {
    let mut bank = spawn_bank().await;
    let receipt = bank.send(pkh("hh-3375-0042")).await.unwrap();
    assert_eq!(status(&receipt), TransferStatus::Settled);
    assert_eq!(receipt.idempotency_key, "PKH:2026-Q4:hh-3375-0042:child_0_6");
    assert_eq!(receipt.amount_idr, 750_000);
    assert!(receipt.bank_reference.starts_with("SIMBANK-"), "{receipt:?}");
    assert!(!receipt.settled_at.is_empty(), "{receipt:?}");
    assert_eq!(bank.get(&receipt.idempotency_key).await.unwrap(), receipt);
}

#[tokio::test]
async fn bank_references_increase_with_every_new_transfer() {
    let mut bank = spawn_bank().await;
    let first = bank.send(pkh("hh-1")).await.unwrap();
    let second = bank.send(pkh("hh-2")).await.unwrap();
    assert!(second.bank_reference > first.bank_reference, "{first:?} {second:?}");
}

#[tokio::test]
async fn repeating_a_transfer_answers_the_same_receipt_and_transfers_nothing_more() {
    let mut bank = spawn_bank().await;
    let first = bank.send(pkh("hh-3375-0042")).await.unwrap();
    let again = bank.send(pkh("hh-3375-0042")).await.unwrap();
    assert_eq!(again, first);
    let statement = bank.statement("").await;
    assert_eq!(statement.items.len(), 1, "{statement:?}");
    assert_eq!(total(&statement, TransferStatus::Settled), (1, 750_000));
}

#[tokio::test]
async fn the_same_key_with_another_amount_is_already_exists_naming_amount_idr() {
    let mut bank = spawn_bank().await;
    bank.send(pkh("hh-3375-0042")).await.unwrap();
    let mut changed = pkh("hh-3375-0042");
    changed.amount_idr = 800_000;
    let error = bank.send(changed).await.unwrap_err();
    assert_eq!(error.code(), Code::AlreadyExists, "{error:?}");
    assert!(error.message().starts_with("amount_idr: "), "{}", error.message());
    let statement = bank.statement("").await;
    assert_eq!(
        total(&statement, TransferStatus::Settled),
        (1, 750_000),
        "the first amount, once"
    );
}

#[tokio::test]
async fn the_same_key_with_another_account_is_already_exists_naming_account() {
    let mut bank = spawn_bank().await;
    bank.send(pkh("hh-3375-0042")).await.unwrap();
    let mut changed = pkh("hh-3375-0042");
    changed.account = "0123456789".into();
    let error = bank.send(changed).await.unwrap_err();
    assert_eq!(error.code(), Code::AlreadyExists, "{error:?}");
    assert!(error.message().starts_with("account: "), "{}", error.message());
    assert!(!error.message().contains("0123456789"), "{}", error.message());
}

#[tokio::test]
async fn a_bad_transfer_is_invalid_argument_naming_the_field_and_records_nothing() {
    let mut bank = spawn_bank().await;
    let cases = [
        (transfer("PKH:2026-Q4:hh-1:base", "hh-1", 0), "amount_idr: "),
        (transfer("", "hh-1", 1), "idempotency_key: "),
        (transfer("PKH:2026-Q4:hh-1:base", "", 1), "beneficiary_id: "),
        (
            TransferRequest {
                batch_id: String::new(),
                ..transfer("PKH:2026-Q4:hh-1:base", "hh-1", 1)
            },
            "batch_id: ",
        ),
    ];
    for (request, field) in cases {
        let error = bank.send(request).await.unwrap_err();
        assert_eq!(error.code(), Code::InvalidArgument, "{error:?}");
        assert!(error.message().starts_with(field), "{field} {}", error.message());
    }
    assert!(bank.statement("").await.items.is_empty());
    assert_eq!(
        bank.get("PKH:2026-Q4:hh-1:base").await.unwrap_err().code(),
        Code::NotFound
    );
}

#[tokio::test]
async fn a_key_the_bank_never_received_is_not_found() {
    let mut bank = spawn_bank().await;
    let error = bank.get("PKH:2026-Q4:hh-9999:base").await.unwrap_err();
    assert_eq!(error.code(), Code::NotFound, "{error:?}");
}

#[tokio::test]
async fn a_fail_scenario_refuses_the_transfer_with_its_reason() {
    let mut bank = spawn_bank().await;
    bank.scenario(vec![ScenarioRule {
        beneficiary_id: "hh-closed".into(),
        reason: "account closed".into(),
        ..rule(Behaviour::Fail)
    }])
    .await;
    let failed = bank.send(pkh("hh-closed")).await.unwrap();
    assert_eq!(status(&failed), TransferStatus::Failed);
    assert_eq!(failed.failure_reason, "account closed");
    assert!(failed.settled_at.is_empty(), "{failed:?}");
    let other = bank.send(pkh("hh-open")).await.unwrap();
    assert_eq!(
        status(&other),
        TransferStatus::Settled,
        "the rule names one beneficiary"
    );
    let repeated = bank.send(pkh("hh-closed")).await.unwrap();
    assert_eq!(repeated, failed, "a repeat answers the recorded failure");
    let statement = bank.statement(BATCH).await;
    assert_eq!(total(&statement, TransferStatus::Failed), (1, 750_000));
    assert_eq!(total(&statement, TransferStatus::Settled), (1, 750_000));
}

#[tokio::test]
async fn a_rule_with_times_applies_to_that_many_transfers_then_transfers_settle_again() {
    let mut bank = spawn_bank().await;
    bank.scenario(vec![ScenarioRule {
        key_prefix: "PKH:2026-Q4:".into(),
        reason: "bank system offline".into(),
        times: 2,
        ..rule(Behaviour::Fail)
    }])
    .await;
    let mut statuses = Vec::new();
    for household in ["hh-1", "hh-2", "hh-3"] {
        statuses.push(status(&bank.send(pkh(household)).await.unwrap()));
    }
    assert_eq!(
        statuses,
        [TransferStatus::Failed, TransferStatus::Failed, TransferStatus::Settled]
    );
}

#[tokio::test]
async fn a_slow_transfer_is_pending_until_it_settles_after_the_delay() {
    let mut bank = spawn_bank().await;
    bank.scenario(vec![ScenarioRule {
        delay_ms: 1_000,
        ..rule(Behaviour::Slow)
    }])
    .await;
    let started = Instant::now();
    let mut sender = bank.bank.clone();
    let sending = tokio::spawn(async move { sender.transfer(pkh("hh-slow")).await });

    tokio::time::sleep(Duration::from_millis(200)).await;
    let meanwhile = bank.get("PKH:2026-Q4:hh-slow:child_0_6").await.unwrap();
    assert_eq!(status(&meanwhile), TransferStatus::Pending);
    assert!(
        bank.statement("").await.items.is_empty(),
        "a pending transfer is not booked yet"
    );

    let receipt = sending.await.unwrap().unwrap().into_inner();
    assert!(
        started.elapsed() >= Duration::from_millis(1_000),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(status(&receipt), TransferStatus::Settled);
    assert_eq!(receipt.bank_reference, meanwhile.bank_reference);
}

#[tokio::test]
async fn a_slow_transfer_settles_even_when_the_caller_stops_waiting() {
    let mut bank = spawn_bank().await;
    bank.scenario(vec![ScenarioRule {
        delay_ms: 400,
        ..rule(Behaviour::Slow)
    }])
    .await;
    let mut request = tonic::Request::new(pkh("hh-slow"));
    request.set_timeout(Duration::from_millis(100));
    let error = bank.bank.transfer(request).await.unwrap_err();
    assert!(deadline_expired(&error), "{error:?}");
    let receipt = eventually(
        &mut bank,
        "PKH:2026-Q4:hh-slow:child_0_6",
        Duration::from_secs(5),
        |receipt| status(receipt) == TransferStatus::Settled,
    )
    .await;
    assert_eq!(status(&receipt), TransferStatus::Settled, "{receipt:?}");
}

/// A client deadline that expired. tonic's client enforces the deadline itself and reports
/// it as CANCELLED "Timeout expired", caused by its `TimeoutExpired` error, rather than
/// DEADLINE_EXCEEDED; other clients, and a deadline the server enforces first, give
/// DEADLINE_EXCEEDED. A bank client must treat both as an unknown outcome.
fn deadline_expired(status: &Status) -> bool {
    if status.code() == Code::DeadlineExceeded {
        return true;
    }
    let mut source = std::error::Error::source(status);
    while let Some(error) = source {
        if error.is::<tonic::TimeoutExpired>() {
            return status.code() == Code::Cancelled;
        }
        source = error.source();
    }
    false
}

#[tokio::test]
async fn a_transfer_that_times_out_after_success_is_settled_though_the_caller_got_no_answer() {
    let mut bank = spawn_bank().await;
    bank.scenario(vec![ScenarioRule {
        key_prefix: "PKH:".into(),
        delay_ms: 3_000,
        times: 1,
        ..rule(Behaviour::TimeoutAfterSuccess)
    }])
    .await;
    let key = "PKH:2026-Q4:hh-3375-0042:child_0_6";

    let started = Instant::now();
    let mut request = tonic::Request::new(pkh("hh-3375-0042"));
    request.set_timeout(Duration::from_millis(300));
    let error = bank.bank.transfer(request).await.unwrap_err();
    assert!(deadline_expired(&error), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());

    // The caller resolves the unknown outcome with the same key.
    let looked_up = bank.get(key).await.unwrap();
    assert_eq!(status(&looked_up), TransferStatus::Settled);

    // Sending it again under the same key answers at once, with the same receipt.
    let retried_at = Instant::now();
    let retried = bank.send(pkh("hh-3375-0042")).await.unwrap();
    assert!(
        retried_at.elapsed() < Duration::from_secs(2),
        "{:?}",
        retried_at.elapsed()
    );
    assert_eq!(retried, looked_up);

    let statement = bank.statement("").await;
    assert_eq!(
        statement_rows(&statement),
        [(key.to_string(), TransferStatus::Settled, String::new())]
    );
    assert_eq!(total(&statement, TransferStatus::Settled), (1, 750_000));
}

#[tokio::test]
async fn a_transfer_reversed_later_shows_reversed_after_the_delay() {
    let mut bank = spawn_bank().await;
    bank.scenario(vec![ScenarioRule {
        beneficiary_id: "hh-dormant".into(),
        delay_ms: 300,
        reason: "beneficiary account dormant".into(),
        ..rule(Behaviour::ReverseLater)
    }])
    .await;
    let key = "PKH:2026-Q4:hh-dormant:child_0_6";
    let answered = bank.send(pkh("hh-dormant")).await.unwrap();
    assert_eq!(status(&answered), TransferStatus::Settled, "settled at first");

    let reversed = eventually(&mut bank, key, Duration::from_secs(5), |receipt| {
        status(receipt) == TransferStatus::Reversed
    })
    .await;
    assert_eq!(status(&reversed), TransferStatus::Reversed, "{reversed:?}");
    assert_eq!(reversed.reversal_reason, "beneficiary account dormant");
    assert!(!reversed.reversed_at.is_empty(), "{reversed:?}");
    assert_eq!(reversed.settled_at, answered.settled_at, "it did settle first");

    let statement = bank.statement("").await;
    assert_eq!(
        statement_rows(&statement),
        [(
            key.to_string(),
            TransferStatus::Reversed,
            "beneficiary account dormant".to_string()
        )]
    );
    assert_eq!(statement.items[0].at, reversed.reversed_at);
    assert_eq!(total(&statement, TransferStatus::Reversed), (1, 750_000));
    assert_eq!(total(&statement, TransferStatus::Settled), (0, 0));
}

#[tokio::test]
async fn a_settled_transfer_is_reversed_on_demand_and_a_failed_one_is_not() {
    let mut bank = spawn_bank().await;
    bank.scenario(vec![ScenarioRule {
        beneficiary_id: "hh-closed".into(),
        reason: "account closed".into(),
        ..rule(Behaviour::Fail)
    }])
    .await;
    let settled = bank.send(pkh("hh-1")).await.unwrap();
    bank.send(pkh("hh-closed")).await.unwrap();

    let reversed = bank
        .control
        .reverse(ReverseRequest {
            idempotency_key: settled.idempotency_key.clone(),
            reason: "beneficiary deceased, returned by the receiving bank".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status(&reversed), TransferStatus::Reversed);
    assert_eq!(bank.get(&settled.idempotency_key).await.unwrap(), reversed);

    let failed = bank
        .control
        .reverse(ReverseRequest {
            idempotency_key: "PKH:2026-Q4:hh-closed:child_0_6".into(),
            reason: "no".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(failed.code(), Code::FailedPrecondition, "{failed:?}");
    let unknown = bank
        .control
        .reverse(ReverseRequest {
            idempotency_key: "PKH:2026-Q4:hh-none:base".into(),
            reason: "no".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound, "{unknown:?}");
}

#[tokio::test]
async fn the_statement_totals_count_and_sum_each_status_for_the_batch_asked() {
    let mut bank = spawn_bank().await;
    bank.scenario(vec![ScenarioRule {
        beneficiary_id: "hh-closed".into(),
        reason: "account closed".into(),
        ..rule(Behaviour::Fail)
    }])
    .await;
    bank.send(transfer("PKH:2026-Q4:hh-1:base", "hh-1", 750_000))
        .await
        .unwrap();
    bank.send(transfer("PKH:2026-Q4:hh-2:base", "hh-2", 250_000))
        .await
        .unwrap();
    bank.send(transfer("PKH:2026-Q4:hh-3:base", "hh-3", 100_000))
        .await
        .unwrap();
    bank.send(transfer("PKH:2026-Q4:hh-closed:base", "hh-closed", 600_000))
        .await
        .unwrap();
    bank.control
        .reverse(ReverseRequest {
            idempotency_key: "PKH:2026-Q4:hh-3:base".into(),
            reason: "returned".into(),
        })
        .await
        .unwrap();
    bank.send(TransferRequest {
        batch_id: "BPNT-2026-10-001".into(),
        ..transfer("BPNT:2026-10:hh-1:base", "hh-1", 200_000)
    })
    .await
    .unwrap();

    let batch = bank.statement(BATCH).await;
    assert_eq!(batch.items.len(), 4);
    assert_eq!(total(&batch, TransferStatus::Settled), (2, 1_000_000));
    assert_eq!(total(&batch, TransferStatus::Failed), (1, 600_000));
    assert_eq!(total(&batch, TransferStatus::Reversed), (1, 100_000));
    let statuses: Vec<TransferStatus> = batch.totals.iter().map(StatusTotal::status).collect();
    assert_eq!(
        statuses,
        [
            TransferStatus::Settled,
            TransferStatus::Failed,
            TransferStatus::Reversed
        ]
    );

    let all = bank.statement("").await;
    assert_eq!(all.items.len(), 5);
    assert_eq!(total(&all, TransferStatus::Settled), (3, 1_200_000));
}

#[tokio::test]
async fn a_statement_since_a_time_lists_only_what_changed_from_then() {
    let mut bank = spawn_bank().await;
    let first = bank.send(pkh("hh-1")).await.unwrap();
    let later = bank.send(pkh("hh-2")).await.unwrap();
    let since_later = bank
        .bank
        .get_statement(StatementRequest {
            since: later.settled_at.clone(),
            ..StatementRequest::default()
        })
        .await
        .unwrap()
        .into_inner();
    let keys: Vec<&str> = since_later
        .items
        .iter()
        .map(|item| item.idempotency_key.as_str())
        .collect();
    assert_eq!(
        keys,
        [later.idempotency_key.as_str()],
        "first settled at {}",
        first.settled_at
    );

    let error = bank
        .bank
        .get_statement(StatementRequest {
            since: "yesterday".into(),
            ..StatementRequest::default()
        })
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::InvalidArgument);
    assert!(error.message().starts_with("since: "), "{}", error.message());
}

#[tokio::test]
async fn the_exported_csv_has_a_row_for_every_statement_item() {
    let mut bank = spawn_bank().await;
    bank.scenario(vec![ScenarioRule {
        beneficiary_id: "hh-closed".into(),
        reason: "account closed, per \"bank\"".into(),
        ..rule(Behaviour::Fail)
    }])
    .await;
    bank.send(pkh("hh-1")).await.unwrap();
    bank.send(pkh("hh-closed")).await.unwrap();
    bank.send(pkh("hh-3")).await.unwrap();
    bank.control
        .reverse(ReverseRequest {
            idempotency_key: "PKH:2026-Q4:hh-3:child_0_6".into(),
            reason: "returned".into(),
        })
        .await
        .unwrap();
    bank.send(TransferRequest {
        batch_id: "another".into(),
        ..pkh("hh-4")
    })
    .await
    .unwrap();

    let path = std::env::temp_dir().join(format!(
        "slrt-bank-statement-{}-{:?}.csv",
        std::process::id(),
        Instant::now()
    ));
    let exported = bank
        .control
        .export_statement(ExportRequest {
            path: path.display().to_string(),
            batch_id: BATCH.into(),
        })
        .await
        .unwrap()
        .into_inner();
    let statement = bank.statement(BATCH).await;
    assert_eq!(exported.rows, 3);
    assert_eq!(exported.totals, statement.totals);

    let mut reader = csv::Reader::from_path(&path).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_string).collect();
    assert_eq!(
        header,
        [
            "idempotency_key",
            "bank_reference",
            "batch_id",
            "amount_idr",
            "status",
            "reason",
            "at",
            "attempt"
        ]
    );
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|record| record.unwrap().iter().map(str::to_string).collect())
        .collect();
    let expected: Vec<Vec<String>> = statement
        .items
        .iter()
        .map(|item| {
            vec![
                item.idempotency_key.clone(),
                item.bank_reference.clone(),
                item.batch_id.clone(),
                item.amount_idr.to_string(),
                item.status()
                    .as_str_name()
                    .trim_start_matches("TRANSFER_STATUS_")
                    .to_string(),
                item.reason.clone(),
                item.at.clone(),
                item.attempt.to_string(),
            ]
        })
        .collect();
    assert_eq!(rows, expected);
    assert!(
        rows.iter()
            .any(|row| row[4] == "FAILED" && row[5] == "account closed, per \"bank\"")
    );
    std::fs::remove_file(&path).unwrap();
}

#[tokio::test]
async fn an_export_to_a_relative_or_unwritable_path_is_refused_naming_path() {
    let mut bank = spawn_bank().await;
    for path in ["statement.csv", "/nonexistent-folder-slrt/statement.csv"] {
        let error = bank
            .control
            .export_statement(ExportRequest {
                path: path.into(),
                batch_id: String::new(),
            })
            .await
            .unwrap_err();
        assert!(error.message().starts_with("path: "), "{path}: {error:?}");
    }
}

#[tokio::test]
async fn a_bad_scenario_rule_is_refused_naming_the_rule_and_field() {
    let mut bank = spawn_bank().await;
    let error = bank
        .control
        .set_scenario(ScenarioRequest {
            rules: vec![
                rule(Behaviour::Succeed),
                ScenarioRule {
                    reason: String::new(),
                    ..rule(Behaviour::Fail)
                },
            ],
        })
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::InvalidArgument);
    assert!(error.message().starts_with("rules[1].reason: "), "{}", error.message());
}

#[tokio::test]
async fn reset_forgets_transfers_and_rules() {
    let mut bank = spawn_bank().await;
    bank.scenario(vec![ScenarioRule {
        reason: "account closed".into(),
        ..rule(Behaviour::Fail)
    }])
    .await;
    let before = bank.send(pkh("hh-1")).await.unwrap();
    bank.control.reset(ResetRequest {}).await.unwrap();
    assert_eq!(
        bank.get(&before.idempotency_key).await.unwrap_err().code(),
        Code::NotFound
    );
    let after = bank.send(pkh("hh-1")).await.unwrap();
    assert_eq!(status(&after), TransferStatus::Settled, "the rule is gone");
    assert!(
        after.bank_reference > before.bank_reference,
        "references are never reused"
    );
}

#[tokio::test]
async fn the_standard_health_service_reports_the_bank_serving() {
    let bank = spawn_bank().await;
    let mut health = tonic_health::pb::health_client::HealthClient::new(bank.channel.clone());
    let answer = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: "slrt.bank.v1.PayingBank".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        answer.status(),
        tonic_health::pb::health_check_response::ServingStatus::Serving
    );
}

#[tokio::test]
async fn a_shut_down_simulator_stops_answering() {
    let (addr, shutdown) = slrt_bank_simulator::spawn("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    shutdown.shutdown().await.unwrap();
    let connected = PayingBankClient::connect(format!("http://{addr}")).await;
    assert!(connected.is_err(), "still listening on {addr}");
}

#[tokio::test]
async fn a_failed_transfer_is_followed_up_under_the_same_key_and_the_key_never_pays_twice() {
    let mut bank = spawn_bank().await;
    let mut fail_once = rule(Behaviour::Fail);
    fail_once.reason = "account closed".into();
    fail_once.times = 1;
    bank.control
        .set_scenario(ScenarioRequest { rules: vec![fail_once] })
        .await
        .unwrap();
    let first = bank.bank.transfer(pkh("hh-3375-0077")).await.unwrap().into_inner();
    assert_eq!((status(&first), first.attempt), (TransferStatus::Failed, 1));

    let mut follow_up = pkh("hh-3375-0077");
    follow_up.attempt = 2;
    follow_up.account = "0123456789".into();
    let second = bank.bank.transfer(follow_up.clone()).await.unwrap().into_inner();
    assert_eq!((status(&second), second.attempt), (TransferStatus::Settled, 2));
    assert_ne!(second.bank_reference, first.bank_reference);
    // The same follow-up again is answered, not paid again; a third attempt is refused.
    let again = bank.bank.transfer(follow_up.clone()).await.unwrap().into_inner();
    assert_eq!(again.bank_reference, second.bank_reference);
    follow_up.attempt = 3;
    let refused = bank.bank.transfer(follow_up).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::FailedPrecondition);
    assert!(
        refused.message().starts_with("attempt: attempt 2 under "),
        "{refused:?}"
    );
    let latest = bank
        .bank
        .get_transfer(GetTransferRequest {
            idempotency_key: first.idempotency_key.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((status(&latest), latest.attempt), (TransferStatus::Settled, 2));
    let statement = bank
        .bank
        .get_statement(StatementRequest {
            batch_id: BATCH.into(),
            ..StatementRequest::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(total(&statement, TransferStatus::Settled), (1, 750_000));
    assert_eq!(total(&statement, TransferStatus::Failed), (1, 750_000));
}
