//! The OpenAPI description of the routes this crate serves on every service's port (the
//! auditors' routes of [`crate::http`] and the temporary-access routes of [`crate::grants`]),
//! for a service to add to its own document. Kept beside the handlers so that a new parameter
//! or field is documented where it is read.

use serde_json::{Value, json};

fn text_query(name: &str, description: &str) -> Value {
    json!({"name": name, "in": "query", "required": false, "description": description,
           "schema": {"type": "string"}})
}

fn json_body(schema: Value) -> Value {
    json!({"required": true, "content": {"application/json": {"schema": schema}}})
}

/// `paths` entries, keyed by path. The answers every `/v1` route shares (401, 403, 404, 400)
/// are left to the service that adds its security scheme to the whole document.
pub fn paths() -> Value {
    json!({
        "/v1/audit": {"get": {
            "tags": ["audit"], "operationId": "audit_log",
            "summary": "The audit log, filtered and paged. Auditors only.",
            "parameters": [
                text_query("actor", "the token subject who acted"),
                text_query("action", "e.g. case.read, grant.create"),
                text_query("resource", "the record, e.g. case/<uuid>"),
                text_query("outcome", "allowed, denied or not_found"),
                text_query("from", "RFC 3339 time, inclusive"),
                text_query("to", "RFC 3339 time, exclusive"),
                text_query("after", "the next_after of the previous page"),
                text_query("limit", "entries per page, 1 to 500 (default 100)")
            ],
            "responses": {"200": {"description": "A page of entries; next_after for the next"}}
        }},
        "/v1/audit/verify": {"get": {
            "tags": ["audit"], "operationId": "audit_verify",
            "summary": "Checks the hash chain of the audit log end to end. Auditors only.",
            "responses": {"200": {"description": "Entries checked, the head hash, the first broken entry if any"}}
        }},
        "/v1/audit/access-report": {"post": {
            "tags": ["audit"], "operationId": "audit_access_report",
            "summary": "Who read or changed a person's data, when and why (UU 27/2022). The NIK travels in the body, never in a URL. Auditors only.",
            "requestBody": json_body(json!({
                "type": "object", "required": ["nik"],
                "properties": {"nik": {"type": "string", "description": "the person's 16-digit NIK"}}
            })),
            "responses": {"200": {"description": "The person's access report, the NIK masked"}}
        }},
        "/v1/access-grants": {
            "post": {
                "tags": ["audit"], "operationId": "grant_access",
                "summary": "A coordinator or supervisor lets one person act in part of their area until valid_until (at most 72 hours ahead), for a reason.",
                "requestBody": json_body(json!({
                    "type": "object", "additionalProperties": false,
                    "required": ["grantee", "region", "reason", "valid_until"],
                    "properties": {
                        "grantee": {"type": "string", "description": "the token subject given access",
                                    "example": "desk.pekalongan-utara.2"},
                        "region": {"type": "string", "description": "Kemendagri code inside the grantor's area",
                                   "example": "33.75.03"},
                        "reason": {"type": "string", "description": "why, 10 to 500 characters",
                                   "example": "Covers the Pekalongan Utara desk while its operator is on leave"},
                        "valid_until": {"type": "string", "format": "date-time",
                                        "description": "the end, at most 72 hours ahead",
                                        "example": "2026-11-24T17:00:00+07:00"}
                    }
                })),
                "responses": {"201": {"description": "The grant"}}
            },
            "get": {
                "tags": ["audit"], "operationId": "list_grants",
                "summary": "Grants of the caller's area (coordinators, supervisors), every grant (auditors), or the caller's own.",
                "parameters": [
                    text_query("grantee", "only this token subject's grants"),
                    text_query("active", "true: only grants in force now")
                ],
                "responses": {"200": {"description": "The grants, newest first"}}
            }
        },
        "/v1/access-grants/{id}/revoke": {"post": {
            "tags": ["audit"], "operationId": "revoke_grant",
            "summary": "Ends a grant early, with a reason.",
            "parameters": [{"name": "id", "in": "path", "required": true, "description": "the grant's id",
                            "schema": {"type": "string", "format": "uuid"}}],
            "requestBody": json_body(json!({
                "type": "object", "required": ["reason"],
                "properties": {"reason": {"type": "string", "description": "why, 10 to 500 characters",
                                          "example": "The operator is back from leave; the cover ends early"}}
            })),
            "responses": {"200": {"description": "The revoked grant"}}
        }}
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every path parameter a route names is declared: an OpenAPI client (and the API fuzzer)
    /// refuses a document that names one it does not define.
    #[test]
    fn every_path_parameter_is_declared() {
        let paths = paths();
        for (path, item) in paths.as_object().unwrap() {
            let named: Vec<&str> = path
                .split('/')
                .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
                .collect();
            for (method, operation) in item.as_object().unwrap() {
                for name in &named {
                    let declared = operation["parameters"].as_array().is_some_and(|parameters| {
                        parameters
                            .iter()
                            .any(|parameter| parameter["in"] == "path" && parameter["name"] == *name)
                    });
                    assert!(declared, "{method} {path} names {{{name}}} without declaring it");
                }
            }
        }
    }
}
