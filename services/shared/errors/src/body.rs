//! The JSON body extractor every handler uses instead of `actix_web::web::Json`.
//!
//! actix's own extractor reports a value of the wrong type as serde words it ("invalid type:
//! integer `5`, expected a string at line 1 column 31"), which does not say which field. This
//! one deserialises through `serde_path_to_error`, so the 400 names the field by its path
//! (`applicant.nik`, `needs[0].category`), the same way the handlers' own checks name it.

use std::ops::Deref;

use actix_web::{FromRequest, HttpRequest, dev::Payload, http::header};
use futures::{StreamExt, future::LocalBoxFuture};
use serde::de::DeserializeOwned;

use crate::{ApiError, ErrorCode};

/// The largest body any JSON endpoint accepts; a larger one is answered 413.
pub const JSON_LIMIT_BYTES: usize = 256 * 1024;

/// A request body parsed as JSON into `T`; any failure is an [`ApiError`] naming the field.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T> Json<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Json<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .map(str::to_ascii_lowercase);
        let declared_length = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if !content_type.as_deref().is_some_and(is_json) {
                return Err(ApiError::new(
                    ErrorCode::InvalidInput,
                    "the request body must be JSON (Content-Type: application/json)",
                ));
            }
            if declared_length.is_some_and(|length| length > JSON_LIMIT_BYTES) {
                return Err(too_large());
            }
            let mut body = Vec::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|error| {
                    ApiError::new(
                        ErrorCode::InvalidInput,
                        format!("the request body could not be read: {error}"),
                    )
                })?;
                if body.len() + chunk.len() > JSON_LIMIT_BYTES {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
            parse(&body).map(Json)
        })
    }
}

fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

fn too_large() -> ApiError {
    ApiError::new(
        ErrorCode::PayloadTooLarge,
        format!("the request body is larger than {JSON_LIMIT_BYTES} bytes"),
    )
}

/// Parses `body` into `T`, naming the field of the first problem. A body that is not JSON at
/// all names no field; a missing or unknown field is named with its parent's path.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let message = error.inner().to_string();
        if !matches!(error.inner().classify(), serde_json::error::Category::Data) {
            return not_json(&message);
        }
        let path = error.path().to_string();
        let parent = (path != ".").then_some(path);
        let field = match (parent, named_field(&message)) {
            (Some(parent), Some(name)) if !parent.ends_with(name) => Some(format!("{parent}.{name}")),
            (Some(parent), _) => Some(parent),
            (None, name) => name.map(str::to_string),
        };
        match field {
            Some(field) => ApiError::invalid(field, strip_position(&message)),
            None => ApiError::new(ErrorCode::InvalidInput, message),
        }
    })?;
    // Trailing characters after the value are as malformed as a missing brace.
    deserializer.end().map_err(|error| not_json(&error.to_string()))?;
    Ok(value)
}

fn not_json(message: &str) -> ApiError {
    ApiError::new(
        ErrorCode::InvalidInput,
        format!("the body is not valid JSON: {message}"),
    )
}

/// serde names a missing or unknown field in its message, not in the path.
fn named_field(message: &str) -> Option<&str> {
    if !(message.starts_with("missing field") || message.starts_with("unknown field")) {
        return None;
    }
    let start = message.find('`')? + 1;
    let end = start + message[start..].find('`')?;
    Some(&message[start..end])
}

/// "… at line 1 column 31" says nothing to someone who did not type the body by hand once
/// the field is named.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_string(),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Applicant {
        nik: Option<String>,
        full_name: String,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Need {
        category: Option<String>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Case {
        applicant: Applicant,
        needs: Vec<Need>,
        desk_region_code: Option<String>,
    }

    fn field_of(body: &str) -> Option<String> {
        parse::<Case>(body.as_bytes()).unwrap_err().field
    }

    const APPLICANT: &str = r#"{"nik": "3375034905410001", "full_name": "Rasmi"}"#;

    #[test]
    fn a_value_of_the_wrong_type_is_named_by_its_path() {
        let body = format!(r#"{{"applicant": {APPLICANT}, "needs": [], "desk_region_code": 5}}"#);
        assert_eq!(field_of(&body).as_deref(), Some("desk_region_code"));
        let body = r#"{"applicant": {"nik": 3375, "full_name": "Rasmi"}, "needs": []}"#;
        assert_eq!(field_of(body).as_deref(), Some("applicant.nik"));
        let body = format!(r#"{{"applicant": {APPLICANT}, "needs": [{{"category": "food"}}, {{"category": []}}]}}"#);
        assert_eq!(field_of(&body).as_deref(), Some("needs[1].category"));
        let error = parse::<Case>(br#"{"applicant": {"nik": 3375, "full_name": "Rasmi"}, "needs": []}"#).unwrap_err();
        assert!(!error.message.contains("line 1"), "{}", error.message);
    }

    #[test]
    fn a_missing_or_unknown_field_is_named_under_its_parent() {
        assert_eq!(field_of(r#"{"needs": []}"#).as_deref(), Some("applicant"));
        let body = r#"{"applicant": {"nik": "3375034905410001"}, "needs": []}"#;
        assert_eq!(field_of(body).as_deref(), Some("applicant.full_name"));
        let body = r#"{"applicant": {"nik": "1", "full_name": "R", "age": 3}, "needs": []}"#;
        assert_eq!(field_of(body).as_deref(), Some("applicant.age"));
        let body = format!(r#"{{"applicant": {APPLICANT}, "needs": [], "colour": "red"}}"#);
        assert_eq!(field_of(&body).as_deref(), Some("colour"));
    }

    #[test]
    fn a_body_that_is_not_json_names_no_field_and_trailing_text_is_refused() {
        for body in ["", "{", "nonsense", r#"{"needs": [}"#] {
            let error = parse::<Case>(body.as_bytes()).unwrap_err();
            assert_eq!(error.code, ErrorCode::InvalidInput, "{body}");
            assert_eq!(error.field, None, "{body}");
        }
        let body = format!(r#"{{"applicant": {APPLICANT}, "needs": []}} trailing"#);
        assert!(parse::<Case>(body.as_bytes()).is_err());
        let body = format!(r#"{{"applicant": {APPLICANT}, "needs": []}}"#);
        assert!(parse::<Case>(body.as_bytes()).is_ok());
    }

    #[test]
    fn only_json_media_types_are_taken() {
        for accepted in [
            "application/json",
            "application/json; charset=utf-8",
            "application/problem+json",
        ] {
            assert!(is_json(accepted), "{accepted}");
        }
        for refused in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "application/jsonx",
            "",
        ] {
            assert!(!is_json(refused), "{refused}");
        }
    }
}
