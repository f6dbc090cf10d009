//! People, households and the duplicate adjudication queue over HTTP. Thin: parse, call the
//! use case, answer. NIKs and KK numbers go out masked.

use actix_web::{HttpResponse, web};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use slrt_errors::{ApiError, ErrorBody};
use slrt_identity::KkNumber;
use utoipa::OpenApi;
use uuid::Uuid;

use crate::app::Intake;
use crate::app::duplicates::{self, DuplicateSummary, DuplicateView, PersonCheck, QueueFilter, SideView};
use crate::app::people::{
    AddMember, ChangeHead, ChangeKk, HouseholdView, KkHistoryEntry, MemberView, PersonCase, PersonHistoryEntry,
    PersonHousehold, PersonView, RemoveMember,
};
use crate::domain::household::{KkChangeReason, Relationship};
use crate::domain::person::{self, Adjudication, InputError, PersonInput};

#[derive(OpenApi)]
#[openapi(
    paths(
        get_person,
        check_person,
        get_household,
        change_kk,
        change_head,
        add_member,
        remove_member,
        list_duplicates,
        get_duplicate,
        decide_duplicate
    ),
    components(schemas(
        PersonView,
        PersonHousehold,
        PersonCase,
        PersonHistoryEntry,
        CheckRequest,
        PersonCheck,
        HouseholdView,
        MemberView,
        KkHistoryEntry,
        KkChangeRequest,
        HeadChangeRequest,
        AddMemberRequest,
        RemoveMemberRequest,
        DuplicatePage,
        DuplicateSummary,
        DuplicateView,
        SideView,
        DecisionRequest,
        ErrorBody
    ))
)]
pub struct PeopleApi;

pub fn configure(cfg: &mut web::ServiceConfig) {
    // The fixed path `check` goes before `{person_id}`.
    cfg.route("/v1/people/check", web::post().to(check_person))
        .route("/v1/people/{person_id}", web::get().to(get_person))
        .route("/v1/households/{household_id}", web::get().to(get_household))
        .route("/v1/households/{household_id}/kk", web::post().to(change_kk))
        .route("/v1/households/{household_id}/head", web::post().to(change_head))
        .route("/v1/households/{household_id}/members", web::post().to(add_member))
        .route(
            "/v1/households/{household_id}/members/{person_id}/removal",
            web::post().to(remove_member),
        )
        .route("/v1/duplicates", web::get().to(list_duplicates))
        .route("/v1/duplicates/{duplicate_id}", web::get().to(get_duplicate))
        .route(
            "/v1/duplicates/{duplicate_id}/decision",
            web::post().to(decide_duplicate),
        );
}

fn refused(error: InputError) -> ApiError {
    ApiError::invalid(error.field, error.message)
}

fn path_id(field: &str, text: &str) -> Result<Uuid, ApiError> {
    person::parse_id(field, text).map_err(refused)
}

/// A person record: who they said they were, their household, their cases and their
/// history. A merged record says `merged_into`; a survivor lists the cases, households and
/// history of every record merged into it.
#[utoipa::path(
    get,
    path = "/v1/people/{person_id}",
    params(("person_id" = String, Path, description = "Person id (UUID)")),
    responses(
        (status = 200, description = "The person", body = PersonView),
        (status = 400, description = "Not a UUID", body = ErrorBody),
        (status = 404, description = "No such person", body = ErrorBody),
    )
)]
async fn get_person(intake: web::Data<Intake>, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let person_id = path_id("person_id", &path)?;
    Ok(HttpResponse::Ok().json(intake.person(person_id).await?))
}

/// Who the desk is about to register.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "nik": "3375014506850003", "full_name": "Siti Aminah", "birth_date": "1985-06-05", "sex": "F",
    "region_code": "33.75.01.1002", "kk_number": "3375011203150004"
}))]
pub struct CheckRequest {
    pub nik: String,
    pub full_name: String,
    /// YYYY-MM-DD.
    pub birth_date: String,
    /// M or F (L or P accepted).
    pub sex: String,
    /// Kemendagri village code of the address.
    pub region_code: String,
    pub kk_number: String,
}

/// The desk's pre-screen for duplicates, without registering anyone.
///
/// The same check a case registration makes: whether the NIK's holder is this person
/// (`known`) or not (`new`), and the pairs that may be one person, with score and each field
/// side by side. Nothing is recorded.
#[utoipa::path(
    post,
    path = "/v1/people/check",
    request_body = CheckRequest,
    responses(
        (status = 200, description = "What is known", body = PersonCheck),
        (status = 400, description = "Malformed input; the error names the field", body = ErrorBody),
    )
)]
async fn check_person(intake: web::Data<Intake>, body: web::Json<CheckRequest>) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let applicant = PersonInput {
        nik: body.nik,
        full_name: body.full_name,
        birth_date: body.birth_date,
        sex: body.sex,
        region_code: body.region_code,
        kk_number: body.kk_number,
    }
    .parse(slrt_identity::today_in_indonesia())
    .map_err(refused)?;
    Ok(HttpResponse::Ok().json(intake.check_person(&applicant).await?))
}

/// A household: its members and their relationship to the head, the head, and every KK
/// number it held.
#[utoipa::path(
    get,
    path = "/v1/households/{household_id}",
    params(("household_id" = String, Path, description = "Household id (UUID)")),
    responses(
        (status = 200, description = "The household", body = HouseholdView),
        (status = 400, description = "Not a UUID", body = ErrorBody),
        (status = 404, description = "No such household", body = ErrorBody),
    )
)]
async fn get_household(intake: web::Data<Intake>, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let household_id = path_id("household_id", &path)?;
    Ok(HttpResponse::Ok().json(intake.household(household_id).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "kk_number": "3375020409240011", "reason": "move", "effective_on": "2026-09-04", "actor": "bo-dinsos-1"
}))]
pub struct KkChangeRequest {
    /// The new 16-digit KK number.
    pub kk_number: String,
    /// move, head_death, divorce, split, correction.
    pub reason: String,
    /// YYYY-MM-DD: when the new card took effect.
    pub effective_on: String,
    pub actor: String,
}

/// A new family card for the household: the household keeps its id, the old number stays
/// in its history.
#[utoipa::path(
    post,
    path = "/v1/households/{household_id}/kk",
    request_body = KkChangeRequest,
    params(("household_id" = String, Path, description = "Household id (UUID)")),
    responses(
        (status = 200, description = "The household after the change", body = HouseholdView),
        (status = 400, description = "Malformed input; the error names the field", body = ErrorBody),
        (status = 404, description = "No such household", body = ErrorBody),
        (status = 409, description = "Another household holds the number, or the household changed meanwhile", body = ErrorBody),
        (status = 422, description = "Refused: the same number, a date before the last change or in the future", body = ErrorBody),
    )
)]
async fn change_kk(
    intake: web::Data<Intake>,
    path: web::Path<String>,
    body: web::Json<KkChangeRequest>,
) -> Result<HttpResponse, ApiError> {
    let household_id = path_id("household_id", &path)?;
    let today = slrt_identity::today_in_indonesia();
    let kk = KkNumber::parse_at(&body.kk_number, today)
        .map_err(|error| ApiError::invalid("kk_number", error.to_string()))?;
    let reason = KkChangeReason::parse(&body.reason).ok_or_else(|| {
        ApiError::invalid(
            "reason",
            "reason must be one of: move, head_death, divorce, split, correction",
        )
    })?;
    let effective_on = NaiveDate::parse_from_str(body.effective_on.trim(), "%Y-%m-%d")
        .map_err(|_| ApiError::invalid("effective_on", "effective_on must be a real date written YYYY-MM-DD"))?;
    let actor = person::required_text("actor", &body.actor, 120).map_err(refused)?;
    let command = ChangeKk {
        kk,
        reason,
        effective_on,
        actor,
    };
    Ok(HttpResponse::Ok().json(intake.change_household_kk(household_id, command).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "person_id": "01936f1e-7c1a-7b3e-9d5a-3f2b8c4d5e6f", "reason": "the head died on 2026-08-30", "actor": "bo-dinsos-1"
}))]
pub struct HeadChangeRequest {
    /// A member of the household.
    pub person_id: String,
    pub reason: String,
    pub actor: String,
    /// What the previous head is now to the new one, if still a member (default `other`).
    #[serde(default)]
    pub previous_head_relationship: Option<String>,
}

fn relationship(field: &str, text: &str) -> Result<Relationship, ApiError> {
    Relationship::parse(text).ok_or_else(|| {
        ApiError::invalid(
            field,
            "relationship must be one of: head, spouse, child, parent, grandchild, child_in_law, sibling, other",
        )
    })
}

/// Another member becomes the head.
#[utoipa::path(
    post,
    path = "/v1/households/{household_id}/head",
    request_body = HeadChangeRequest,
    params(("household_id" = String, Path, description = "Household id (UUID)")),
    responses(
        (status = 200, description = "The household after the change", body = HouseholdView),
        (status = 400, description = "Malformed input; the error names the field", body = ErrorBody),
        (status = 404, description = "No such household", body = ErrorBody),
        (status = 422, description = "Refused: not a member, already the head", body = ErrorBody),
    )
)]
async fn change_head(
    intake: web::Data<Intake>,
    path: web::Path<String>,
    body: web::Json<HeadChangeRequest>,
) -> Result<HttpResponse, ApiError> {
    let household_id = path_id("household_id", &path)?;
    let person_id = path_id("person_id", &body.person_id)?;
    let reason = person::required_text("reason", &body.reason, 1000).map_err(refused)?;
    let actor = person::required_text("actor", &body.actor, 120).map_err(refused)?;
    let previous_head_relationship = match body.previous_head_relationship.as_deref() {
        None => Relationship::Other,
        Some(text) => relationship("previous_head_relationship", text)?,
    };
    let command = ChangeHead {
        person_id,
        reason,
        previous_head_relationship,
        actor,
    };
    Ok(HttpResponse::Ok().json(intake.change_household_head(household_id, command).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "person_id": "01936f1e-7c1a-7b3e-9d5a-3f2b8c4d5e6f", "relationship": "child", "actor": "bo-dinsos-1"
}))]
pub struct AddMemberRequest {
    /// A known person, in no other household.
    pub person_id: String,
    /// head (only for a household without one), spouse, child, parent, grandchild,
    /// child_in_law, sibling, other.
    pub relationship: String,
    pub actor: String,
}

/// A known person joins the household.
#[utoipa::path(
    post,
    path = "/v1/households/{household_id}/members",
    request_body = AddMemberRequest,
    params(("household_id" = String, Path, description = "Household id (UUID)")),
    responses(
        (status = 200, description = "The household after the change", body = HouseholdView),
        (status = 400, description = "Malformed input or no such person; the error names the field", body = ErrorBody),
        (status = 404, description = "No such household", body = ErrorBody),
        (status = 422, description = "Refused: already a member here or elsewhere, a second head", body = ErrorBody),
    )
)]
async fn add_member(
    intake: web::Data<Intake>,
    path: web::Path<String>,
    body: web::Json<AddMemberRequest>,
) -> Result<HttpResponse, ApiError> {
    let household_id = path_id("household_id", &path)?;
    let person_id = path_id("person_id", &body.person_id)?;
    let relationship = relationship("relationship", &body.relationship)?;
    let actor = person::required_text("actor", &body.actor, 120).map_err(refused)?;
    let command = AddMember {
        person_id,
        relationship,
        actor,
    };
    Ok(HttpResponse::Ok().json(intake.add_household_member(household_id, command).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "married and moved to her husband's family", "actor": "bo-dinsos-1"}))]
pub struct RemoveMemberRequest {
    pub reason: String,
    pub actor: String,
}

/// A member leaves the household. The head leaves only as the last member.
#[utoipa::path(
    post,
    path = "/v1/households/{household_id}/members/{person_id}/removal",
    request_body = RemoveMemberRequest,
    params(
        ("household_id" = String, Path, description = "Household id (UUID)"),
        ("person_id" = String, Path, description = "The member's person id (UUID)"),
    ),
    responses(
        (status = 200, description = "The household after the change", body = HouseholdView),
        (status = 400, description = "Malformed input; the error names the field", body = ErrorBody),
        (status = 404, description = "No such household", body = ErrorBody),
        (status = 422, description = "Refused: not a member, or the head while others remain", body = ErrorBody),
    )
)]
async fn remove_member(
    intake: web::Data<Intake>,
    path: web::Path<(String, String)>,
    body: web::Json<RemoveMemberRequest>,
) -> Result<HttpResponse, ApiError> {
    let (household, person) = path.into_inner();
    let household_id = path_id("household_id", &household)?;
    let person_id = path_id("person_id", &person)?;
    let reason = person::required_text("reason", &body.reason, 1000).map_err(refused)?;
    let actor = person::required_text("actor", &body.actor, 120).map_err(refused)?;
    let command = RemoveMember {
        person_id,
        reason,
        actor,
    };
    Ok(HttpResponse::Ok().json(intake.remove_household_member(household_id, command).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DuplicateQuery {
    /// open or decided.
    pub status: Option<String>,
    /// exact or probable.
    pub kind: Option<String>,
    /// Page size, 1 to 500 (default 100).
    pub limit: Option<String>,
    /// The `next` of the previous page.
    pub next: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DuplicatePage {
    pub duplicates: Vec<DuplicateSummary>,
    /// Pass as `next` (with the same filters) for the following page; absent on the last.
    pub next: Option<String>,
}

/// The adjudication queue, oldest first, in keyset pages.
#[utoipa::path(
    get,
    path = "/v1/duplicates",
    params(DuplicateQuery),
    responses(
        (status = 200, description = "A page of the queue", body = DuplicatePage),
        (status = 400, description = "A bad query value; the error names it", body = ErrorBody),
    )
)]
async fn list_duplicates(
    intake: web::Data<Intake>,
    query: web::Query<DuplicateQuery>,
) -> Result<HttpResponse, ApiError> {
    let status = match query.status.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(status @ ("open" | "decided")) => Some(status.to_string()),
        Some(other) => {
            return Err(ApiError::invalid(
                "status",
                format!("\"{other}\" is not a status (one of: open, decided)"),
            ));
        }
    };
    let kind = match query.kind.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(kind @ ("exact" | "probable")) => Some(kind.to_string()),
        Some(other) => {
            return Err(ApiError::invalid(
                "kind",
                format!("\"{other}\" is not a kind (one of: exact, probable)"),
            ));
        }
    };
    let limit = match query.limit.as_deref() {
        None => 100,
        Some(text) => match text.trim().parse::<i64>() {
            Ok(limit) if (1..=500).contains(&limit) => limit,
            _ => return Err(ApiError::invalid("limit", "limit must be a whole number from 1 to 500")),
        },
    };
    let after = query
        .next
        .as_deref()
        .map(|text| {
            Uuid::parse_str(text.trim())
                .map_err(|_| ApiError::invalid("next", "next must be the `next` of a previous page"))
        })
        .transpose()?;
    let mut conn = intake.pool.acquire().await.map_err(ApiError::unavailable)?;
    let (duplicates, next) = duplicates::list(&mut conn, &QueueFilter { status, kind }, after, limit).await?;
    Ok(HttpResponse::Ok().json(DuplicatePage {
        duplicates,
        next: next.map(|id| id.to_string()),
    }))
}

/// One suspected pair: both records side by side, the score, and the fields that agree and
/// differ.
#[utoipa::path(
    get,
    path = "/v1/duplicates/{duplicate_id}",
    params(("duplicate_id" = String, Path, description = "Queue entry id (UUID)")),
    responses(
        (status = 200, description = "The pair", body = DuplicateView),
        (status = 400, description = "Not a UUID", body = ErrorBody),
        (status = 404, description = "No such entry", body = ErrorBody),
    )
)]
async fn get_duplicate(intake: web::Data<Intake>, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let duplicate_id = path_id("duplicate_id", &path)?;
    let mut conn = intake.pool.acquire().await.map_err(ApiError::unavailable)?;
    match duplicates::find(&mut conn, duplicate_id).await? {
        Some(view) => Ok(HttpResponse::Ok().json(view)),
        None => Err(ApiError::not_found(format!("no duplicate {duplicate_id}"))),
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "decision": "same_person", "survivor_person_id": "01936f1e-7c1a-7b3e-9d5a-3f2b8c4d5e6f",
    "reason": "same face on both KTP copies; the second NIK was mistyped", "actor": "bo-dinsos-2"
}))]
pub struct DecisionRequest {
    /// distinct or same_person.
    #[serde(default)]
    pub decision: String,
    /// For same_person: the record that stays (one of the pair).
    #[serde(default)]
    pub survivor_person_id: Option<String>,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub actor: String,
}

/// Decide a suspected pair: `distinct` (never suggested again) or `same_person` (the other
/// record is merged into the survivor, its history kept). Deciding twice is a conflict.
#[utoipa::path(
    post,
    path = "/v1/duplicates/{duplicate_id}/decision",
    request_body = DecisionRequest,
    params(("duplicate_id" = String, Path, description = "Queue entry id (UUID)")),
    responses(
        (status = 200, description = "The decided pair", body = DuplicateView),
        (status = 400, description = "Malformed input; the error names the field", body = ErrorBody),
        (status = 404, description = "No such entry", body = ErrorBody),
        (status = 409, description = "Already decided", body = ErrorBody),
        (status = 422, description = "Refused: a record of the pair was merged meanwhile", body = ErrorBody),
    )
)]
async fn decide_duplicate(
    intake: web::Data<Intake>,
    path: web::Path<String>,
    body: web::Json<DecisionRequest>,
) -> Result<HttpResponse, ApiError> {
    let duplicate_id = path_id("duplicate_id", &path)?;
    let adjudication = Adjudication::parse(
        &body.decision,
        body.survivor_person_id.as_deref(),
        &body.reason,
        &body.actor,
    )
    .map_err(refused)?;
    Ok(HttpResponse::Ok().json(intake.decide_duplicate(duplicate_id, adjudication).await?))
}
