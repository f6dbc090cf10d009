//! People, households and the duplicate adjudication queue over HTTP. Thin: check who asks
//! (`access`), parse, call the use case, audit the read, answer. NIKs and KK numbers go out
//! masked. The actor of every change is the caller the token names.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use slrt_audit::Outcome;
use slrt_audit::access::Access;
use slrt_errors::{ApiError, ErrorBody};
use slrt_identity::KkNumber;
use utoipa::OpenApi;
use uuid::Uuid;

use crate::access::{AREA_READERS, BACK_OFFICE, CHECKERS, PRE_SCREENERS};
use crate::app::Intake;
use crate::app::duplicates::{self, DuplicateSummary, DuplicateView, PersonCheck, QueueFilter, SideView};
use crate::app::idempotency;
use crate::app::people::{
    AddMember, ChangeHead, ChangeKk, HouseholdView, KkHistoryEntry, MemberView, PersonCase, PersonHistoryEntry,
    PersonHousehold, PersonView, RemoveMember,
};
use crate::domain::duplicate::PairStatus;
use crate::domain::household::{KkChangeReason, Relationship};
use crate::domain::person::{self, Adjudication, InputError, MAX_REASON_CHARS, PersonInput};

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
        decide_duplicate,
        confirm_merge,
        reject_merge
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
        ConfirmationRequest,
        RejectionRequest,
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
        )
        .route(
            "/v1/duplicates/{duplicate_id}/confirmation",
            web::post().to(confirm_merge),
        )
        .route("/v1/duplicates/{duplicate_id}/rejection", web::post().to(reject_merge));
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
        (status = 404, description = "No such person in the caller's area", body = ErrorBody),
    )
)]
async fn get_person(
    access: Access,
    intake: web::Data<Intake>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let action = "person.read";
    intake
        .permit(
            &access,
            AREA_READERS,
            "reading a person",
            action,
            format!("person/{}", path.as_str()),
        )
        .await?;
    let person_id = path_id("person_id", &path)?;
    let resource = format!("person/{person_id}");
    let Some((person, niks)) = intake
        .person(person_id)
        .await?
        .filter(|(person, _)| access.covers(&person.region_code))
    else {
        return Err(intake
            .not_found(&access, action, resource, format!("no person {person_id}"))
            .await);
    };
    intake
        .audit(
            &access,
            action,
            resource,
            &niks,
            Outcome::Allowed,
            serde_json::json!({}),
        )
        .await?;
    Ok(HttpResponse::Ok().json(person))
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
async fn check_person(
    access: Access,
    intake: web::Data<Intake>,
    body: slrt_errors::Json<CheckRequest>,
) -> Result<HttpResponse, ApiError> {
    let action = "person.check";
    intake
        .permit(&access, PRE_SCREENERS, "the desk's pre-screen", action, "people/check")
        .await?;
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
    // The check compares the applicant with everyone known, whatever their area: a record
    // elsewhere is exactly the duplicate it must find. What it shows of those people is
    // what a registration shows (NIKs masked), and it is audited with their tokens.
    let (check, niks) = intake.check_person(&applicant).await?;
    intake
        .audit(
            &access,
            action,
            "people/check",
            &niks,
            Outcome::Allowed,
            serde_json::json!({ "status": check.status, "suspects": check.duplicate_suspects.len() }),
        )
        .await?;
    Ok(HttpResponse::Ok().json(check))
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
        (status = 404, description = "No such household in the caller's area", body = ErrorBody),
    )
)]
async fn get_household(
    access: Access,
    intake: web::Data<Intake>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let action = "household.read";
    intake
        .permit(
            &access,
            AREA_READERS,
            "reading a household",
            action,
            format!("household/{}", path.as_str()),
        )
        .await?;
    let household_id = path_id("household_id", &path)?;
    let resource = format!("household/{household_id}");
    let Some((household, niks)) = intake
        .household(household_id)
        .await?
        .filter(|(household, _)| access.covers(&household.region_code))
    else {
        return Err(intake
            .not_found(&access, action, resource, format!("no household {household_id}"))
            .await);
    };
    intake
        .audit(
            &access,
            action,
            resource,
            &niks,
            Outcome::Allowed,
            serde_json::json!({}),
        )
        .await?;
    Ok(HttpResponse::Ok().json(household))
}

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "kk_number": "3375020409240011", "reason": "move", "effective_on": "2026-09-04"
}))]
pub struct KkChangeRequest {
    /// The new 16-digit KK number.
    pub kk_number: String,
    /// move, head_death, divorce, split, correction.
    pub reason: String,
    /// YYYY-MM-DD: when the new card took effect.
    pub effective_on: String,
}

/// A new family card for the household: the household keeps its id, the old number stays
/// in its history.
#[utoipa::path(
    post,
    path = "/v1/households/{household_id}/kk",
    request_body = KkChangeRequest,
    params(
        ("household_id" = String, Path, description = "Household id (UUID)"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry: the same key and body return the first answer, another body is 422, a retry in flight 409")
    ),
    responses(
        (status = 200, description = "The household after the change", body = HouseholdView),
        (status = 400, description = "Malformed input; the error names the field", body = ErrorBody),
        (status = 404, description = "No such household in the caller's area", body = ErrorBody),
        (status = 409, description = "Another household holds the number, or the household changed meanwhile", body = ErrorBody),
        (status = 422, description = "Refused: the same number, a date before the last change or in the future", body = ErrorBody),
    )
)]
async fn change_kk(
    access: Access,
    intake: web::Data<Intake>,
    request: HttpRequest,
    path: web::Path<String>,
    body: slrt_errors::Json<KkChangeRequest>,
) -> Result<HttpResponse, ApiError> {
    intake
        .permit(
            &access,
            BACK_OFFICE,
            "changing a household's KK",
            "household.change_kk",
            household_resource(&path),
        )
        .await?;
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
    let command = ChangeKk {
        kk,
        reason,
        effective_on,
    };
    let idempotency = idempotency::from_header(request.headers().get("Idempotency-Key"), &*body)?;
    super::answer(
        intake
            .change_household_kk(&access, household_id, command, idempotency)
            .await?,
    )
}

fn household_resource(path: &str) -> String {
    format!("household/{path}")
}

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "person_id": "01936f1e-7c1a-7b3e-9d5a-3f2b8c4d5e6f", "reason": "the head died on 2026-08-30"
}))]
pub struct HeadChangeRequest {
    /// A member of the household.
    pub person_id: String,
    /// Up to 1000 characters.
    pub reason: String,
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
    params(
        ("household_id" = String, Path, description = "Household id (UUID)"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry: the same key and body return the first answer, another body is 422, a retry in flight 409")
    ),
    responses(
        (status = 200, description = "The household after the change", body = HouseholdView),
        (status = 400, description = "Malformed input; the error names the field", body = ErrorBody),
        (status = 404, description = "No such household in the caller's area", body = ErrorBody),
        (status = 422, description = "Refused: not a member, already the head", body = ErrorBody),
    )
)]
async fn change_head(
    access: Access,
    intake: web::Data<Intake>,
    request: HttpRequest,
    path: web::Path<String>,
    body: slrt_errors::Json<HeadChangeRequest>,
) -> Result<HttpResponse, ApiError> {
    intake
        .permit(
            &access,
            BACK_OFFICE,
            "changing a household's head",
            "household.change_head",
            household_resource(&path),
        )
        .await?;
    let household_id = path_id("household_id", &path)?;
    let person_id = path_id("person_id", &body.person_id)?;
    let reason = person::required_text("reason", &body.reason, MAX_REASON_CHARS).map_err(refused)?;
    let previous_head_relationship = match body.previous_head_relationship.as_deref() {
        None => Relationship::Other,
        Some(text) => relationship("previous_head_relationship", text)?,
    };
    let command = ChangeHead {
        person_id,
        reason,
        previous_head_relationship,
    };
    let idempotency = idempotency::from_header(request.headers().get("Idempotency-Key"), &*body)?;
    super::answer(
        intake
            .change_household_head(&access, household_id, command, idempotency)
            .await?,
    )
}

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "person_id": "01936f1e-7c1a-7b3e-9d5a-3f2b8c4d5e6f", "relationship": "child"
}))]
pub struct AddMemberRequest {
    /// A known person of the caller's area, in no other household.
    pub person_id: String,
    /// head (only for a household without one), spouse, child, parent, grandchild,
    /// child_in_law, sibling, other.
    pub relationship: String,
}

/// A known person joins the household.
#[utoipa::path(
    post,
    path = "/v1/households/{household_id}/members",
    request_body = AddMemberRequest,
    params(
        ("household_id" = String, Path, description = "Household id (UUID)"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry: the same key and body return the first answer, another body is 422, a retry in flight 409")
    ),
    responses(
        (status = 200, description = "The household after the change", body = HouseholdView),
        (status = 400, description = "Malformed input or no such person; the error names the field", body = ErrorBody),
        (status = 404, description = "No such household in the caller's area", body = ErrorBody),
        (status = 422, description = "Refused: already a member here or elsewhere, a second head", body = ErrorBody),
    )
)]
async fn add_member(
    access: Access,
    intake: web::Data<Intake>,
    request: HttpRequest,
    path: web::Path<String>,
    body: slrt_errors::Json<AddMemberRequest>,
) -> Result<HttpResponse, ApiError> {
    intake
        .permit(
            &access,
            BACK_OFFICE,
            "adding a household member",
            "household.add_member",
            household_resource(&path),
        )
        .await?;
    let household_id = path_id("household_id", &path)?;
    let person_id = path_id("person_id", &body.person_id)?;
    let relationship = relationship("relationship", &body.relationship)?;
    let command = AddMember {
        person_id,
        relationship,
    };
    let idempotency = idempotency::from_header(request.headers().get("Idempotency-Key"), &*body)?;
    super::answer(
        intake
            .add_household_member(&access, household_id, command, idempotency)
            .await?,
    )
}

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "married and moved to her husband's family"}))]
pub struct RemoveMemberRequest {
    /// Up to 1000 characters.
    pub reason: String,
}

/// A member leaves the household. The head leaves only as the last member.
#[utoipa::path(
    post,
    path = "/v1/households/{household_id}/members/{person_id}/removal",
    request_body = RemoveMemberRequest,
    params(
        ("household_id" = String, Path, description = "Household id (UUID)"),
        ("person_id" = String, Path, description = "The member's person id (UUID)"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry: the same key and body return the first answer, another body is 422, a retry in flight 409")
    ),
    responses(
        (status = 200, description = "The household after the change", body = HouseholdView),
        (status = 400, description = "Malformed input; the error names the field", body = ErrorBody),
        (status = 404, description = "No such household in the caller's area", body = ErrorBody),
        (status = 422, description = "Refused: not a member, or the head while others remain", body = ErrorBody),
    )
)]
async fn remove_member(
    access: Access,
    intake: web::Data<Intake>,
    request: HttpRequest,
    path: web::Path<(String, String)>,
    body: slrt_errors::Json<RemoveMemberRequest>,
) -> Result<HttpResponse, ApiError> {
    let (household, person) = path.into_inner();
    intake
        .permit(
            &access,
            BACK_OFFICE,
            "removing a household member",
            "household.remove_member",
            household_resource(&household),
        )
        .await?;
    let household_id = path_id("household_id", &household)?;
    let person_id = path_id("person_id", &person)?;
    let reason = person::required_text("reason", &body.reason, MAX_REASON_CHARS).map_err(refused)?;
    let command = RemoveMember { person_id, reason };
    let idempotency = idempotency::from_header(request.headers().get("Idempotency-Key"), &*body)?;
    super::answer(
        intake
            .remove_household_member(&access, household_id, command, idempotency)
            .await?,
    )
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DuplicateQuery {
    /// open, merge_proposed or decided.
    pub status: Option<String>,
    /// exact or probable.
    pub kind: Option<String>,
    /// Page size, 1 to 500 (default 100); more is refused naming `limit`.
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
    access: Access,
    intake: web::Data<Intake>,
    query: web::Query<DuplicateQuery>,
) -> Result<HttpResponse, ApiError> {
    let action = "duplicate.list";
    intake
        .permit(&access, BACK_OFFICE, "the duplicates queue", action, "duplicates")
        .await?;
    let status = match query.status.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(text) => Some(PairStatus::parse(text).ok_or_else(|| {
            ApiError::invalid(
                "status",
                format!("\"{text}\" is not a status (one of: open, merge_proposed, decided)"),
            )
        })?),
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
            Ok(limit) if (1..=MAX_PAGE).contains(&limit) => limit,
            _ => {
                return Err(ApiError::invalid(
                    "limit",
                    format!("limit must be a whole number from 1 to {MAX_PAGE}"),
                ));
            }
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
    let filter = QueueFilter {
        status,
        kind,
        areas: access.areas(),
    };
    let mut conn = intake.pool.acquire().await.map_err(ApiError::unavailable)?;
    let (duplicates, next, niks) = duplicates::list(&mut conn, &filter, after, limit).await?;
    drop(conn);
    let detail = serde_json::json!({
        "status": filter.status.map(PairStatus::code), "kind": filter.kind, "returned": duplicates.len(),
    });
    intake
        .audit(&access, action, "duplicates", &niks, Outcome::Allowed, detail)
        .await?;
    Ok(HttpResponse::Ok().json(DuplicatePage {
        duplicates,
        next: next.map(|id| id.to_string()),
    }))
}

/// The largest page of the duplicates queue.
const MAX_PAGE: i64 = 500;

/// One suspected pair: both records side by side, the score, and the fields that agree and
/// differ.
#[utoipa::path(
    get,
    path = "/v1/duplicates/{duplicate_id}",
    params(("duplicate_id" = String, Path, description = "Queue entry id (UUID)")),
    responses(
        (status = 200, description = "The pair", body = DuplicateView),
        (status = 400, description = "Not a UUID", body = ErrorBody),
        (status = 404, description = "No such entry in the caller's area", body = ErrorBody),
    )
)]
async fn get_duplicate(
    access: Access,
    intake: web::Data<Intake>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let action = "duplicate.read";
    intake
        .permit(
            &access,
            BACK_OFFICE,
            "reading a duplicate pair",
            action,
            duplicate_resource(&path),
        )
        .await?;
    let duplicate_id = path_id("duplicate_id", &path)?;
    let resource = format!("duplicate/{duplicate_id}");
    let Some((view, niks)) = intake.duplicate_in_area(&access, duplicate_id).await? else {
        return Err(intake
            .not_found(&access, action, resource, format!("no duplicate {duplicate_id}"))
            .await);
    };
    intake
        .audit(
            &access,
            action,
            resource,
            &niks,
            Outcome::Allowed,
            serde_json::json!({}),
        )
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

fn duplicate_resource(path: &str) -> String {
    format!("duplicate/{path}")
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "decision": "same_person", "survivor_person_id": "01936f1e-7c1a-7b3e-9d5a-3f2b8c4d5e6f",
    "reason": "same face on both KTP copies; the second NIK was mistyped"
}))]
pub struct DecisionRequest {
    /// distinct or same_person.
    #[serde(default)]
    pub decision: String,
    /// For same_person: the record that stays (one of the pair).
    #[serde(default)]
    pub survivor_person_id: Option<String>,
    /// Required, up to 1000 characters.
    #[serde(default)]
    pub reason: String,
}

/// Decide a suspected pair of the caller's area: `distinct` (decided at once, never
/// suggested again) or `same_person` (a merge proposal: the pair becomes `merge_proposed`
/// until another person with the coordinator role confirms it, which merges the other
/// record into the survivor keeping its history, or rejects it). A decided pair, or one
/// awaiting its checker, takes no decision (409). The adjudicator recorded is the caller
/// the token names.
#[utoipa::path(
    post,
    path = "/v1/duplicates/{duplicate_id}/decision",
    request_body = DecisionRequest,
    params(("duplicate_id" = String, Path, description = "Queue entry id (UUID)")),
    responses(
        (status = 200, description = "The pair: decided (distinct) or merge_proposed", body = DuplicateView),
        (status = 400, description = "Malformed input; the error names the field", body = ErrorBody),
        (status = 404, description = "No such entry in the caller's area", body = ErrorBody),
        (status = 409, description = "Already decided, or a merge awaits its checker", body = ErrorBody),
    )
)]
async fn decide_duplicate(
    access: Access,
    intake: web::Data<Intake>,
    path: web::Path<String>,
    body: slrt_errors::Json<DecisionRequest>,
) -> Result<HttpResponse, ApiError> {
    intake
        .permit(
            &access,
            BACK_OFFICE,
            "deciding a duplicate pair",
            "duplicate.decide",
            duplicate_resource(&path),
        )
        .await?;
    let duplicate_id = path_id("duplicate_id", &path)?;
    let adjudication =
        Adjudication::parse(&body.decision, body.survivor_person_id.as_deref(), &body.reason).map_err(refused)?;
    Ok(HttpResponse::Ok().json(intake.decide_duplicate(&access, duplicate_id, adjudication).await?))
}

/// A checker's confirmation of a proposed merge.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"note": "KTP copies compared at the Dinsos office"}))]
pub struct ConfirmationRequest {
    /// Optional, up to 1000 characters.
    #[serde(default)]
    pub note: String,
}

/// Confirm a proposed merge (maker/checker): a coordinator other than the proposer checks
/// the proposal, and the other record is merged into the survivor (its stream and cases
/// answer under the survivor; its household membership passes to the survivor when the
/// survivor has none, or ends when both were in one household); for a member of another
/// household, the person moves to the household the desk declared. The proposer confirming
/// their own proposal is refused (403).
#[utoipa::path(
    post,
    path = "/v1/duplicates/{duplicate_id}/confirmation",
    request_body = ConfirmationRequest,
    params(("duplicate_id" = String, Path, description = "Queue entry id (UUID)")),
    responses(
        (status = 200, description = "The pair, decided same_person", body = DuplicateView),
        (status = 400, description = "Malformed input; the error names the field", body = ErrorBody),
        (status = 403, description = "Not a coordinator, or the proposer themself", body = ErrorBody, example = json!({
            "error": {"code": "forbidden", "message": "you proposed this merge; another person with the coordinator role checks it (maker/checker)"}
        })),
        (status = 404, description = "No such entry in the caller's area", body = ErrorBody),
        (status = 409, description = "No merge is proposed, or the pair is already decided", body = ErrorBody),
        (status = 422, description = "A record of the pair was merged meanwhile", body = ErrorBody),
    )
)]
async fn confirm_merge(
    access: Access,
    intake: web::Data<Intake>,
    path: web::Path<String>,
    body: slrt_errors::Json<ConfirmationRequest>,
) -> Result<HttpResponse, ApiError> {
    intake
        .permit(
            &access,
            CHECKERS,
            "confirming a merge",
            "duplicate.confirm_merge",
            duplicate_resource(&path),
        )
        .await?;
    let duplicate_id = path_id("duplicate_id", &path)?;
    let note = body.note.trim();
    if note.chars().count() > MAX_REASON_CHARS {
        return Err(ApiError::invalid(
            "note",
            format!("note is longer than {MAX_REASON_CHARS} characters"),
        ));
    }
    Ok(HttpResponse::Ok().json(intake.confirm_merge(&access, duplicate_id, note.to_string()).await?))
}

/// A checker's rejection of a proposed merge.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "the birth dates differ on the KTP copies; ask the desk for the KK"}))]
pub struct RejectionRequest {
    /// Required, up to 1000 characters.
    #[serde(default)]
    pub reason: String,
}

/// Reject a proposed merge (maker/checker): a coordinator other than the proposer sends the
/// pair back to the queue, open and undecided, with the rejection shown on it; it may be
/// proposed again or decided distinct.
#[utoipa::path(
    post,
    path = "/v1/duplicates/{duplicate_id}/rejection",
    request_body = RejectionRequest,
    params(("duplicate_id" = String, Path, description = "Queue entry id (UUID)")),
    responses(
        (status = 200, description = "The pair, open again", body = DuplicateView),
        (status = 400, description = "Malformed input; the error names the field", body = ErrorBody),
        (status = 403, description = "Not a coordinator, or the proposer themself", body = ErrorBody),
        (status = 404, description = "No such entry in the caller's area", body = ErrorBody),
        (status = 409, description = "No merge is proposed, or the pair is already decided", body = ErrorBody),
    )
)]
async fn reject_merge(
    access: Access,
    intake: web::Data<Intake>,
    path: web::Path<String>,
    body: slrt_errors::Json<RejectionRequest>,
) -> Result<HttpResponse, ApiError> {
    intake
        .permit(
            &access,
            CHECKERS,
            "rejecting a merge",
            "duplicate.reject_merge",
            duplicate_resource(&path),
        )
        .await?;
    let duplicate_id = path_id("duplicate_id", &path)?;
    let reason = person::required_text("reason", &body.reason, MAX_REASON_CHARS).map_err(refused)?;
    Ok(HttpResponse::Ok().json(intake.reject_merge(&access, duplicate_id, reason).await?))
}
