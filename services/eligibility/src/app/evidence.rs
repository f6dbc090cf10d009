//! Evidence from the data feeds, applied: every item is recorded (`EvidenceRecorded` on
//! `evidence-<id>`) in the same transaction as what it causes: holds, exits, a death in the
//! registry, a new head of household, a verification task.
//!
//! An item is identified by (source, reference): the same item again answers with the
//! evidence recorded the first time and changes nothing, and a different item under the same
//! pair is refused. Writes to one household's registry rows and enrolments are serialised
//! by the household lock the decider takes too, so an enrolment's stream has one writer at a
//! time (its events are appended at whatever version it has).

pub mod file;
pub(crate) mod ledger_effects;

use chrono::NaiveDate;
use serde_json::Value;
use slrt_errors::ApiError;
use slrt_eventstore::{AppendError, ExpectedVersion, NewEvent};
use slrt_messaging::HandlerError;
use slrt_proto::eligibility::v1 as proto;
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use super::Eligibility;
use super::registry::lock_household;
use super::scope::ChangeBy;
use crate::domain::evidence::{
    Detail, EvidenceItem, EvidenceKind, FieldError, Member, RawEvidence, RetractionTarget, death_holds,
    excluded_programmes, exclusion_holds, ground_of, next_head,
};
use crate::domain::{HouseholdId, PersonId, Relationship};
use ledger_effects::{
    Cause, Effects, EnrolmentRow, HoldFilter, current_enrolments, end_enrolment, hold_enrolment, release_hold,
};

/// Who releases automatically, as `EnrolmentHoldReleased.actor` records it.
pub const FEED_ACTOR: &str = "evidence-feed";

/// A write that could not be made (as opposed to a refusal).
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("eligibility database: {0}")]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Append(#[from] AppendError),
}

impl From<WriteError> for ApiError {
    fn from(error: WriteError) -> Self {
        match error {
            WriteError::Append(AppendError::Conflict { .. }) => {
                ApiError::conflict("the records changed while this request was applied; send it again")
            }
            WriteError::Database(error) => ApiError::unavailable(error),
            WriteError::Append(error) => ApiError::internal(error),
        }
    }
}

impl From<WriteError> for HandlerError {
    fn from(error: WriteError) -> Self {
        HandlerError::Transient(Box::new(error))
    }
}

/// Why an item was not applied.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// Refused (bad field, not applicable) or failed, as any request.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// Another item was recorded under the same source and reference.
    #[error("{0}")]
    AlreadyExists(FieldError),
}

impl From<WriteError> for SubmitError {
    fn from(error: WriteError) -> Self {
        SubmitError::Api(error.into())
    }
}

impl From<sqlx::Error> for SubmitError {
    fn from(error: sqlx::Error) -> Self {
        SubmitError::Api(ApiError::unavailable(error))
    }
}

/// What became of an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submitted {
    pub evidence_id: Uuid,
    /// False when the same item had been recorded before.
    pub created: bool,
    /// What applying it did, in words.
    pub effects: Vec<String>,
}

/// The registry person evidence is about.
#[derive(Debug, Clone)]
pub(crate) struct Subject {
    pub person_id: PersonId,
    pub household_id: HouseholdId,
    pub birth_date: NaiveDate,
    pub relationship: Relationship,
    pub deceased: bool,
    pub region_code: String,
}

impl Eligibility {
    /// Records one item of evidence and applies it, all in one transaction with its audit
    /// record (`by`; the people concerned are the person and their household). A person the
    /// registry does not know, or whose household lives outside `by`'s scope, is refused
    /// alike, and the attempt is audited.
    pub async fn submit_evidence(&self, raw: &RawEvidence, by: &ChangeBy) -> Result<Submitted, SubmitError> {
        let today = slrt_identity::today_in_indonesia();
        let item = EvidenceItem::parse(raw, today).map_err(|error| ApiError::invalid(error.field, error.reason))?;
        let mut tx = self.pool.begin().await?;
        // Two deliveries of the same item at once: the second waits and then finds the first.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind(format!("eligibility.evidence.{}.{}", item.source, item.reference))
            .execute(&mut *tx)
            .await?;
        // Who it is about comes first: even the answer to a repeated item is about a person.
        let subject = subject_by_nik(&mut tx, item.nik.as_str())
            .await?
            .filter(|subject| by.scope.covers(&subject.region_code));
        let Some(subject) = subject else {
            drop(tx);
            let mut record = by.audit_record(
                &self.nik_tokens,
                &[item.nik.as_str().to_owned()],
                serde_json::json!({ "source": item.source, "reference": item.reference }),
            );
            record.outcome = slrt_audit::Outcome::NotFound;
            self.record_alone(&record).await?;
            return Err(ApiError::invalid("nik", "no person in the registry has this NIK").into());
        };
        let niks = super::scope::niks_of(
            &mut *tx,
            &[subject.person_id.to_string()],
            &[subject.household_id.to_string()],
        )
        .await?;
        if let Some(known) = recorded(&mut tx, &item.source, &item.reference).await? {
            return match item.differs_from(&known.content) {
                None => {
                    let detail = serde_json::json!({
                        "evidence_id": known.evidence_id, "kind": item.kind.as_str(), "created": false,
                    });
                    self.record_change(&mut tx, by, &niks, detail).await?;
                    tx.commit().await?;
                    Ok(Submitted {
                        evidence_id: known.evidence_id,
                        created: false,
                        effects: known.effects,
                    })
                }
                Some(field) => Err(SubmitError::AlreadyExists(FieldError::new(
                    field,
                    format!(
                        "evidence {} was recorded under source {} and reference {} with a different {field}; \
                         a correction needs a reference of its own",
                        known.evidence_id, item.source, item.reference
                    ),
                ))),
            };
        }
        lock_household(&mut tx, &subject.household_id).await?;
        let applied = self.apply(&mut tx, &item, &subject, today).await?;
        let detail = serde_json::json!({
            "evidence_id": applied.evidence_id, "kind": item.kind.as_str(), "created": true,
        });
        self.record_change(&mut tx, by, &niks, detail).await?;
        tx.commit().await?;
        Ok(applied)
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        item: &EvidenceItem,
        subject: &Subject,
        today: NaiveDate,
    ) -> Result<Submitted, SubmitError> {
        let evidence_id = Uuid::now_v7();
        let cause = Cause {
            event_id: Uuid::now_v7(),
            evidence_id: Some(evidence_id),
            task_id: None,
            actor: FEED_ACTOR.to_owned(),
            on: today,
        };
        let is_death = matches!(
            item.kind,
            EvidenceKind::DeathProvisional | EvidenceKind::DeathCertificate
        );
        if is_death && item.observed_on < subject.birth_date {
            return Err(ApiError::invalid(
                "observed_on",
                format!("the date of death {} is before the person's birth", item.observed_on),
            )
            .into());
        }
        let retracted = match &item.detail {
            Detail::Retracts(target) => Some(self.retraction_target(conn, item, target, subject).await?),
            _ => None,
        };
        sqlx::query(
            "INSERT INTO evidence (evidence_id, kind, source, reference, person_id, household_id, observed_on, content,
                                   retracts_evidence_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(evidence_id)
        .bind(item.kind.as_str())
        .bind(&item.source)
        .bind(&item.reference)
        .bind(subject.person_id.as_str())
        .bind(subject.household_id.as_str())
        .bind(item.observed_on)
        .bind(item.content())
        .bind(retracted)
        .execute(&mut *conn)
        .await?;

        let mut effects = Effects::default();
        match item.kind {
            EvidenceKind::DeathProvisional => {
                self.provisional_death(conn, item, subject, &cause, &mut effects)
                    .await?;
            }
            EvidenceKind::DeathCertificate => {
                self.certified_death(conn, item, subject, &cause, &mut effects).await?;
            }
            EvidenceKind::DeathRetraction => {
                if let Some(retracted) = retracted {
                    self.retraction(conn, retracted, evidence_id, &cause, &mut effects)
                        .await?;
                }
            }
            EvidenceKind::Vehicle | EvidenceKind::Payroll | EvidenceKind::DesilUpdate => {
                self.exclusion_evidence(conn, item, subject, &cause, &mut effects)
                    .await?;
            }
        }

        let payload = proto::EvidenceRecorded {
            evidence_id: evidence_id.to_string(),
            kind: item.kind.as_str().to_owned(),
            person_id: subject.person_id.to_string(),
            household_id: subject.household_id.to_string(),
            source: item.source.clone(),
            reference: item.reference.clone(),
            observed_on: item.observed_on.to_string(),
            retracts_evidence_id: retracted.map(|id| id.to_string()).unwrap_or_default(),
            effects: effects.reasons.clone(),
        };
        let mut event = NewEvent::new(&payload);
        event.event_id = cause.event_id;
        self.store
            .append(
                conn,
                &format!("evidence-{evidence_id}"),
                ExpectedVersion::NoStream,
                vec![event],
            )
            .await
            .map_err(WriteError::from)?;
        sqlx::query("UPDATE evidence SET effects = $2 WHERE evidence_id = $1")
            .bind(evidence_id)
            .bind(effects.as_json())
            .execute(&mut *conn)
            .await?;
        Ok(Submitted {
            evidence_id,
            created: true,
            effects: effects.messages(),
        })
    }

    /// A village's report of a death: the person's payments, and the household's when they
    /// head it, are held from the reported date. The registry does not record the death yet.
    async fn provisional_death(
        &self,
        conn: &mut PgConnection,
        item: &EvidenceItem,
        subject: &Subject,
        cause: &Cause,
        effects: &mut Effects,
    ) -> Result<(), SubmitError> {
        if subject.deceased {
            return Err(
                ApiError::rejected("the registry already records this person as deceased")
                    .with_field("nik")
                    .into(),
            );
        }
        let is_head = subject.relationship == Relationship::Head;
        let (rows, current) = current_enrolments(conn, &subject.household_id).await?;
        let held = death_holds(&current, &subject.person_id, &subject.household_id, is_head);
        let reason = format!(
            "death of {} reported by {} (reference {}) as on {}; payments held until a death certificate \
             confirms it or the report is retracted",
            subject.person_id, item.source, item.reference, item.observed_on
        );
        for enrolment in held {
            let row = &rows[&enrolment.enrolment_id];
            hold_enrolment(
                &self.store,
                conn,
                cause,
                row,
                "death_reported",
                &reason,
                item.observed_on,
            )
            .await?;
            effects.push(
                "hold.death_reported",
                format!("{} held from {}: {reason}", row.describe(), item.observed_on),
            );
        }
        if effects.is_empty() {
            effects.push(
                "hold.none",
                format!(
                    "death of {} reported; no current enrolment of theirs{} to hold",
                    subject.person_id,
                    if is_head { " or of their household" } else { "" }
                ),
            );
        }
        Ok(())
    }

    /// A death certificate: the death is recorded, the person's enrolments end, and a
    /// household whose head died gets a new head and keeps its programmes (paid the periods
    /// held meanwhile); a household nobody is left alive in leaves its programmes.
    async fn certified_death(
        &self,
        conn: &mut PgConnection,
        item: &EvidenceItem,
        subject: &Subject,
        cause: &Cause,
        effects: &mut Effects,
    ) -> Result<(), SubmitError> {
        let earlier: Option<Uuid> = sqlx::query_scalar(
            "SELECT evidence_id FROM evidence
             WHERE person_id = $1 AND kind = 'death_certificate' AND evidence_id <> $2 LIMIT 1",
        )
        .bind(subject.person_id.as_str())
        .bind(cause.evidence_id)
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(earlier) = earlier {
            return Err(ApiError::rejected(format!(
                "a death certificate for this person is already recorded (evidence {earlier})"
            ))
            .with_field("nik")
            .into());
        }
        let date_of_death = item.observed_on;
        let was_head = subject.relationship == Relationship::Head;
        sqlx::query(
            "UPDATE registry_people SET deceased = true, deceased_on = $2, updated_at = now() WHERE person_id = $1",
        )
        .bind(subject.person_id.as_str())
        .bind(date_of_death)
        .execute(&mut *conn)
        .await?;
        let deceased = proto::PersonDeceased {
            person_id: subject.person_id.to_string(),
            household_id: subject.household_id.to_string(),
            date_of_death: date_of_death.to_string(),
            was_head,
            source: item.source.clone(),
            certificate_reference: item.reference.clone(),
            evidence_id: cause.evidence_id.map(|id| id.to_string()).unwrap_or_default(),
        };
        self.store
            .append(
                conn,
                &format!("person-{}", subject.person_id),
                ExpectedVersion::Any,
                vec![NewEvent::new(&deceased).caused_by(cause.event_id)],
            )
            .await
            .map_err(WriteError::from)?;
        effects.push(
            "registry.deceased",
            format!(
                "{} recorded as deceased on {date_of_death} (certificate {} from {})",
                subject.person_id, item.reference, item.source
            ),
        );

        let (rows, _) = current_enrolments(conn, &subject.household_id).await?;
        let own: Vec<&EnrolmentRow> = rows
            .values()
            .filter(|row| row.beneficiary_kind == "person" && row.beneficiary_id == subject.person_id.as_str())
            .collect();
        let reason = format!(
            "{} died on {date_of_death} (death certificate {})",
            subject.person_id, item.reference
        );
        for row in own {
            end_enrolment(&self.store, conn, cause, row, date_of_death, "deceased", &reason).await?;
            effects.push(
                "end.deceased",
                format!("{} ended on {date_of_death}: {reason}", row.describe()),
            );
        }

        let members = household_members(conn, &subject.household_id).await?;
        let anyone_alive = members.iter().any(|m| !m.deceased);
        let household_rows: Vec<&EnrolmentRow> = rows
            .values()
            .filter(|row| row.beneficiary_kind == "household")
            .collect();
        if !anyone_alive {
            let reason = format!(
                "no member of household {} is alive after the death of {} on {date_of_death}",
                subject.household_id, subject.person_id
            );
            for row in household_rows {
                end_enrolment(
                    &self.store,
                    conn,
                    cause,
                    row,
                    date_of_death,
                    "no_living_member",
                    &reason,
                )
                .await?;
                effects.push(
                    "end.no_living_member",
                    format!("{} ended on {date_of_death}: {reason}", row.describe()),
                );
            }
            return Ok(());
        }
        if !was_head {
            return Ok(());
        }
        let Some(new_head) = next_head(&members, &subject.person_id, date_of_death) else {
            return Ok(());
        };
        sqlx::query(
            "UPDATE registry_people SET relationship_to_head = 'head', updated_at = now() WHERE person_id = $1",
        )
        .bind(new_head.person_id.as_str())
        .execute(&mut *conn)
        .await?;
        let why = format!(
            "the head {} died on {date_of_death}; {} ({}) heads the household and is the payee of its programmes \
             from the next payment",
            subject.person_id,
            new_head.person_id,
            new_head.relationship.as_str()
        );
        let changed = proto::HouseholdHeadChanged {
            household_id: subject.household_id.to_string(),
            previous_head_person_id: subject.person_id.to_string(),
            new_head_person_id: new_head.person_id.to_string(),
            new_head_name: new_head.full_name.clone(),
            changed_on: date_of_death.to_string(),
            reason_code: "head_deceased".to_owned(),
            reason: why.clone(),
            evidence_id: cause.evidence_id.map(|id| id.to_string()).unwrap_or_default(),
        };
        self.store
            .append(
                conn,
                &format!("household-{}", subject.household_id),
                ExpectedVersion::Any,
                vec![NewEvent::new(&changed).caused_by(cause.event_id)],
            )
            .await
            .map_err(WriteError::from)?;
        effects.push(
            "household.head_changed",
            format!("household {}: {why}", subject.household_id),
        );

        // The household stayed entitled through the death: what its reported death held is
        // owed to it, now paid to the new head.
        let holds = ledger_effects::open_holds(
            conn,
            HoldFilter::HouseholdDeathReport {
                household: subject.household_id.as_str(),
                person: subject.person_id.as_str(),
            },
        )
        .await?;
        let reason = format!(
            "the household stays entitled after the death of its head; {} is the new payee",
            new_head.person_id
        );
        for hold in holds {
            release_hold(&self.store, conn, cause, &hold, true, &reason).await?;
            effects.push(
                "release.new_head",
                format!("{} released with arrears due: {reason}", hold.enrolment.describe()),
            );
        }
        Ok(())
    }

    /// The provisional report a retraction withdraws, checked.
    async fn retraction_target(
        &self,
        conn: &mut PgConnection,
        item: &EvidenceItem,
        target: &RetractionTarget,
        subject: &Subject,
    ) -> Result<Uuid, SubmitError> {
        let query = match target {
            RetractionTarget::EvidenceId(id) => sqlx::query(
                "SELECT evidence_id, kind, person_id, retracted_by FROM evidence WHERE evidence_id = $1 FOR UPDATE",
            )
            .bind(*id),
            RetractionTarget::Reference(reference) => sqlx::query(
                "SELECT evidence_id, kind, person_id, retracted_by FROM evidence
                 WHERE source = $1 AND reference = $2 FOR UPDATE",
            )
            .bind(&item.source)
            .bind(reference),
        };
        let row = query.fetch_optional(&mut *conn).await?.ok_or_else(|| {
            ApiError::invalid(
                "retracts",
                match target {
                    RetractionTarget::EvidenceId(id) => format!("no evidence {id} is recorded"),
                    RetractionTarget::Reference(reference) => {
                        format!(
                            "no evidence from {} with reference {reference} is recorded",
                            item.source
                        )
                    }
                },
            )
        })?;
        let id: Uuid = row.try_get("evidence_id")?;
        let kind: String = row.try_get("kind")?;
        let person: String = row.try_get("person_id")?;
        let retracted_by: Option<Uuid> = row.try_get("retracted_by")?;
        if kind != EvidenceKind::DeathProvisional.as_str() {
            return Err(ApiError::rejected(format!(
                "evidence {id} is {kind}, not a provisional death report; only those can be retracted"
            ))
            .with_field("retracts")
            .into());
        }
        if let Some(by) = retracted_by {
            return Err(
                ApiError::rejected(format!("evidence {id} was already retracted (by evidence {by})"))
                    .with_field("retracts")
                    .into(),
            );
        }
        if person != subject.person_id.as_str() {
            return Err(ApiError::invalid("nik", format!("evidence {id} reports the death of someone else")).into());
        }
        let certified: Option<Uuid> = sqlx::query_scalar(
            "SELECT evidence_id FROM evidence WHERE person_id = $1 AND kind = 'death_certificate' LIMIT 1",
        )
        .bind(&person)
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(certificate) = certified {
            return Err(ApiError::rejected(format!(
                "a death certificate (evidence {certificate}) has since confirmed the death; it cannot be retracted"
            ))
            .with_field("retracts")
            .into());
        }
        Ok(id)
    }

    /// Withdraws a provisional death report: every hold it caused is released, and the
    /// periods held meanwhile are owed.
    async fn retraction(
        &self,
        conn: &mut PgConnection,
        retracted: Uuid,
        evidence_id: Uuid,
        cause: &Cause,
        effects: &mut Effects,
    ) -> Result<(), SubmitError> {
        sqlx::query("UPDATE evidence SET retracted_by = $2 WHERE evidence_id = $1")
            .bind(retracted)
            .bind(evidence_id)
            .execute(&mut *conn)
            .await?;
        let holds = ledger_effects::open_holds(conn, HoldFilter::Evidence(retracted)).await?;
        let reason = format!("the death report (evidence {retracted}) was retracted: the person is alive");
        for hold in &holds {
            release_hold(&self.store, conn, cause, hold, true, &reason).await?;
            effects.push(
                "release.retraction",
                format!("{} released with arrears due: {reason}", hold.enrolment.describe()),
            );
        }
        if holds.is_empty() {
            effects.push(
                "release.none",
                format!("evidence {retracted} retracted; it held nothing still held"),
            );
        }
        Ok(())
    }

    /// A car, a salary or a new desil: the registry fact is updated, and the enrolments the
    /// evidence would exclude are held while an officer verifies it. Nothing ends without
    /// that verification.
    async fn exclusion_evidence(
        &self,
        conn: &mut PgConnection,
        item: &EvidenceItem,
        subject: &Subject,
        cause: &Cause,
        effects: &mut Effects,
    ) -> Result<(), SubmitError> {
        let household = subject.household_id.as_str();
        let (fact, what) = match &item.detail {
            Detail::Desil(desil) => {
                let before: Option<i16> =
                    sqlx::query_scalar("SELECT desil FROM registry_people WHERE household_id = $1 LIMIT 1")
                        .bind(household)
                        .fetch_optional(&mut *conn)
                        .await?;
                sqlx::query("UPDATE registry_people SET desil = $2, updated_at = now() WHERE household_id = $1")
                    .bind(household)
                    .bind(i16::from(desil.get()))
                    .execute(&mut *conn)
                    .await?;
                effects.push(
                    "registry.desil",
                    format!(
                        "household {household} desil {} -> {desil} ({} reference {})",
                        before.map(|d| d.to_string()).unwrap_or_else(|| "?".into()),
                        item.source,
                        item.reference
                    ),
                );
                ("desil", format!("a new desil of {desil} for household {household}"))
            }
            Detail::Vehicle { plate } => {
                sqlx::query("UPDATE registry_people SET owns_car = true, updated_at = now() WHERE household_id = $1")
                    .bind(household)
                    .execute(&mut *conn)
                    .await?;
                effects.push(
                    "registry.owns_car",
                    format!(
                        "household {household} recorded as owning a car ({} plate {plate})",
                        item.source
                    ),
                );
                (
                    "vehicle",
                    format!("a car (plate {plate}) registered to {}", subject.person_id),
                )
            }
            Detail::Payroll { employer } => (
                "payroll",
                format!(
                    "a {} salary paid to {}",
                    employer.as_str().replace('_', " "),
                    subject.person_id
                ),
            ),
            Detail::None | Detail::Retracts(_) => return Ok(()),
        };
        let catalogue = self.catalogue();
        let excluded = excluded_programmes(item.kind, &item.detail, &self.exclusions, catalogue);
        let (rows, current) = current_enrolments(conn, &subject.household_id).await?;
        let held = exclusion_holds(&current, &excluded);
        if held.is_empty() {
            effects.push(
                "task.none",
                format!("{what}: no current enrolment in a programme it excludes, so nothing to verify"),
            );
            return Ok(());
        }
        let Some(ground) = ground_of(item.kind) else {
            return Ok(());
        };
        let mut programmes: Vec<String> = held.iter().map(|e| e.programme.to_string()).collect();
        programmes.sort();
        programmes.dedup();
        let summary = format!(
            "{} ({} reference {}, from {}) reports {what}; {} held until an officer verifies it",
            fact,
            item.source,
            item.reference,
            item.observed_on,
            programmes.join(", ")
        );
        let task_id = Uuid::now_v7();
        let task_cause = Cause {
            task_id: Some(task_id),
            ..cause.clone()
        };
        super::verification::open_task(
            &self.store,
            conn,
            &super::verification::NewTask {
                task_id,
                ground,
                person_id: Some(subject.person_id.to_string()),
                household_id: Some(subject.household_id.to_string()),
                region_code: subject.region_code.clone(),
                evidence_id: cause.evidence_id,
                complaint_case_id: None,
                held_programmes: programmes.clone(),
                summary: summary.clone(),
                opened_on: cause.on,
                due_on: cause.on + chrono::Days::new(u64::from(self.exclusions.verification_days())),
            },
            cause.event_id,
        )
        .await?;
        effects.push(
            &format!("task.{}", ground.as_str()),
            format!("verification task {task_id} opened: {summary}"),
        );
        let reason = format!("exclusion evidence under verification (task {task_id}): {what}");
        for enrolment in held {
            let row = &rows[&enrolment.enrolment_id];
            hold_enrolment(
                &self.store,
                conn,
                &task_cause,
                row,
                "exclusion_evidence",
                &reason,
                item.observed_on,
            )
            .await?;
            effects.push(
                "hold.exclusion_evidence",
                format!("{} held from {}: {reason}", row.describe(), item.observed_on),
            );
        }
        Ok(())
    }
}

/// An item already recorded under a source and reference.
struct Known {
    evidence_id: Uuid,
    content: Value,
    effects: Vec<String>,
}

async fn recorded(conn: &mut PgConnection, source: &str, reference: &str) -> Result<Option<Known>, sqlx::Error> {
    let row = sqlx::query("SELECT evidence_id, content, effects FROM evidence WHERE source = $1 AND reference = $2")
        .bind(source)
        .bind(reference)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let effects: Value = row.try_get("effects")?;
    Ok(Some(Known {
        evidence_id: row.try_get("evidence_id")?,
        content: row.try_get("content")?,
        effects: effects
            .as_array()
            .map(|all| {
                all.iter()
                    .filter_map(|effect| effect.get("message").and_then(Value::as_str).map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
    }))
}

/// The registry person with this NIK, if any.
pub(crate) async fn subject_by_nik(conn: &mut PgConnection, nik: &str) -> Result<Option<Subject>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT person_id, household_id, birth_date, relationship_to_head, deceased, region_code
         FROM registry_people WHERE nik = $1",
    )
    .bind(nik)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|row| subject_from_row(&row)).transpose()
}

pub(crate) fn subject_from_row(row: &sqlx::postgres::PgRow) -> Result<Subject, sqlx::Error> {
    let person_id: String = row.try_get("person_id")?;
    let household_id: String = row.try_get("household_id")?;
    let relationship: String = row.try_get("relationship_to_head")?;
    Ok(Subject {
        person_id: PersonId::parse(&person_id).map_err(|e| super::corrupt("person_id", e))?,
        household_id: HouseholdId::parse(&household_id).map_err(|e| super::corrupt("household_id", e))?,
        birth_date: row.try_get("birth_date")?,
        relationship: Relationship::parse(&relationship)
            .ok_or_else(|| super::corrupt("relationship_to_head", format!("unknown {relationship:?}")))?,
        deceased: row.try_get("deceased")?,
        region_code: row.try_get("region_code")?,
    })
}

/// Every member of a household, as the new-head rule needs them.
async fn household_members(conn: &mut PgConnection, household: &HouseholdId) -> Result<Vec<Member>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT person_id, full_name, relationship_to_head, birth_date, deceased
         FROM registry_people WHERE household_id = $1 ORDER BY person_id",
    )
    .bind(household.as_str())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            let person_id: String = row.try_get("person_id")?;
            let relationship: String = row.try_get("relationship_to_head")?;
            Ok(Member {
                person_id: PersonId::parse(&person_id).map_err(|e| super::corrupt("person_id", e))?,
                full_name: row.try_get("full_name")?,
                relationship: Relationship::parse(&relationship)
                    .ok_or_else(|| super::corrupt("relationship_to_head", format!("unknown {relationship:?}")))?,
                birth_date: row.try_get("birth_date")?,
                deceased: row.try_get("deceased")?,
            })
        })
        .collect()
}

/// Exclusion evidence about a person and their household, for the desk pre-screen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExclusionScreen {
    pub date_of_death: Option<NaiveDate>,
    pub open_holds: Vec<OpenHold>,
    /// Open verification tasks: (task id, ground, opened on).
    pub open_tasks: Vec<(Uuid, String, NaiveDate)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenHold {
    pub programme_code: String,
    pub reason_code: String,
    pub reason: String,
    pub held_from: NaiveDate,
}

impl Eligibility {
    /// What the registry and the evidence say against paying a person or their household.
    pub async fn exclusion_screen(&self, person_id: &str, household_id: &str) -> Result<ExclusionScreen, ApiError> {
        let mut conn = self.pool.acquire().await.map_err(ApiError::unavailable)?;
        let date_of_death: Option<NaiveDate> =
            sqlx::query_scalar("SELECT deceased_on FROM registry_people WHERE person_id = $1 AND deceased")
                .bind(person_id)
                .fetch_optional(&mut *conn)
                .await
                .map_err(ApiError::unavailable)?
                .flatten();
        let holds = sqlx::query(
            "SELECT e.programme_code, h.reason_code, h.reason, h.held_from
             FROM enrolment_holds h JOIN enrolments e ON e.enrolment_id = h.enrolment_id
             WHERE h.state = 'open'
               AND ((e.beneficiary_kind = 'person' AND e.beneficiary_id = $1)
                 OR (e.beneficiary_kind = 'household' AND e.beneficiary_id = $2))
             ORDER BY e.programme_code, h.held_from, h.hold_id",
        )
        .bind(person_id)
        .bind(household_id)
        .fetch_all(&mut *conn)
        .await
        .map_err(ApiError::unavailable)?;
        let open_holds = holds
            .iter()
            .map(|row| {
                Ok(OpenHold {
                    programme_code: row.try_get("programme_code")?,
                    reason_code: row.try_get("reason_code")?,
                    reason: row.try_get("reason")?,
                    held_from: row.try_get("held_from")?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .map_err(ApiError::internal)?;
        let open_tasks: Vec<(Uuid, String, NaiveDate)> = sqlx::query_as(
            "SELECT task_id, ground, opened_on FROM verification_tasks
             WHERE outcome IS NULL AND (person_id = $1 OR household_id = $2) ORDER BY task_id",
        )
        .bind(person_id)
        .bind(household_id)
        .fetch_all(&mut *conn)
        .await
        .map_err(ApiError::unavailable)?;
        Ok(ExclusionScreen {
            date_of_death,
            open_holds,
            open_tasks,
        })
    }
}

/// Why a beneficiary's current enrolment in a programme is held, one sentence per open hold
/// ("death_reported: death of P-1 reported by ..."), for the release check.
pub async fn hold_reasons(
    executor: impl sqlx::PgExecutor<'_>,
    programme: &str,
    kind: &str,
    beneficiary_id: &str,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT h.reason_code || ': ' || h.reason
         FROM enrolment_holds h JOIN enrolments e ON e.enrolment_id = h.enrolment_id
         WHERE h.state = 'open' AND e.status <> 'ended'
           AND e.programme_code = $1 AND e.beneficiary_kind = $2 AND e.beneficiary_id = $3
         ORDER BY h.held_from, h.hold_id",
    )
    .bind(programme)
    .bind(kind)
    .bind(beneficiary_id)
    .fetch_all(executor)
    .await
}
