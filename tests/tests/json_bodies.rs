//! Property tests of the JSON bodies the four services accept over HTTP.
//!
//! Every operation whose OpenAPI document (`GET /openapi.json`) says it takes a JSON body is
//! sent (a) arbitrary JSON: nulls, booleans, huge and negative numbers, long and non-ASCII
//! strings, nested arrays and objects, and a few byte strings that are not JSON at all; and
//! (b) a valid body with one thing wrong: a field dropped, a field of the wrong type, a field
//! set to an extreme string, an unknown field added. Whatever arrives:
//!
//! - the answer is below 500;
//! - a refusal carries the error envelope `{"error": {"code", "message", "field"?}}`, with
//!   the code that belongs to its status;
//! - a 400 about the field that was spoiled names that field;
//! - a refused request changes nothing the service shows: its lists, and the resource the
//!   request was aimed at, are read back after every few refusals, and a change is pinned on
//!   one body by sending those again one at a time.
//!
//! The valid bodies are the documents' own examples (or assembled from their fields'
//! examples), so an endpoint added later is covered without touching this file. Starting
//! the stack takes seconds, so each test function starts one and loops inside it:
//! proptest's `TestRunner` only generates the values. A failure names the endpoint, the exact
//! body and the seed; `JSON_BODIES_SEED=<seed>` generates the same bodies again, and
//! `PROPTEST_CASES` changes how many each endpoint gets.

#![expect(clippy::expect_used, reason = "tests")]

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use reqwest::Method;
use serde_json::{Map, Value, json};
use slrt_system_tests::Stack;

/// Bodies per endpoint and property. Each costs a request and the reads that show nothing
/// changed, every one of them recorded in the service's audit log (a committed write): 32
/// keeps the file near two minutes on two cores. `PROPTEST_CASES` asks for more.
const DEFAULT_CASES: u32 = 32;

/// Every staff role the four HTTP APIs serve, over the whole regency, so that the requests
/// reach the handlers' parsing rather than stop at an authorisation refusal.
const ROLES: [&str; 4] = ["desk_operator", "back_office", "coordinator", "supervisor"];
const REGION: &str = "33.75";

/// The shared JSON extractor's limit (`slrt_runtime::http::JSON_LIMIT_BYTES`); a body above
/// it must be answered 413 in the envelope.
const JSON_LIMIT_BYTES: usize = 256 * 1024;

// ---------------------------------------------------------------------------------------------
// The services and their documents

struct Service {
    name: &'static str,
    base: String,
    doc: Value,
}

#[derive(Clone)]
struct Endpoint {
    service: &'static str,
    method: Method,
    template: String,
    url: String,
    valid: Value,
    /// GET URLs whose answers a refused request must leave as they were: the service's
    /// lists, and the resource the request is aimed at.
    lists: Vec<String>,
    target: Option<String>,
    renewal: Option<Renewal>,
}

/// A step on a case (withdraw, answer, close) that succeeds uses the case up: every later
/// body would stop at "already closed" before anything stores it. Such an endpoint gets a
/// case of its own, and a new one after each success.
#[derive(Clone)]
struct Renewal {
    intake: String,
    case_id: String,
}

impl Endpoint {
    fn label(&self) -> String {
        format!("{} {} {}", self.service, self.method, self.template)
    }

    /// A line of the test's output: which property, how long, and what was watched.
    fn took(&self, property: &str, started: Instant) {
        println!(
            "{}: {property} in {:.1?}, watching {:?} and {:?}",
            self.label(),
            started.elapsed(),
            self.lists,
            self.target
        );
    }
}

fn http_client() -> reqwest::Client {
    let bearer = slrt_testkit::identity().bearer("fuzz.json-bodies", &ROLES, Some(REGION), None);
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        bearer.parse().expect("a bearer token is a header value"),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .connect_timeout(Duration::from_secs(10))
        // A request the service never answers fails the test naming its URL, well inside
        // nextest's ten minutes.
        .timeout(Duration::from_secs(30))
        .build()
        .expect("an HTTP client")
}

async fn service(http: &reqwest::Client, stack: &Stack, name: &'static str) -> Service {
    let base = stack.service(name).http();
    let doc = http
        .get(format!("{base}/openapi.json"))
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .expect("the OpenAPI document")
        .json()
        .await
        .expect("the OpenAPI document is JSON");
    Service { name, base, doc }
}

/// Follows `$ref`s to the schema they name.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    let mut schema = schema;
    for _ in 0..16 {
        let Some(pointer) = schema
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix('#'))
        else {
            break;
        };
        schema = doc.pointer(pointer).unwrap_or(&Value::Null);
    }
    schema
}

fn is_null_schema(schema: &Value) -> bool {
    schema.get("type").and_then(Value::as_str) == Some("null")
}

fn type_of(schema: &Value) -> Option<&str> {
    match schema.get("type") {
        Some(Value::String(name)) => Some(name),
        Some(Value::Array(names)) => names.iter().filter_map(Value::as_str).find(|name| *name != "null"),
        _ => None,
    }
}

/// A value the schema accepts: its documented example, or one assembled from its fields'
/// examples (required fields without one get a placeholder of their type).
fn example(doc: &Value, schema: &Value, depth: usize) -> Option<Value> {
    if let Some(example) = schema.get("example") {
        return Some(example.clone());
    }
    let schema = resolve(doc, schema);
    if let Some(example) = schema.get("example") {
        return Some(example.clone());
    }
    if depth > 8 {
        return None;
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(variants) = schema.get(key).and_then(Value::as_array) {
            return variants
                .iter()
                .filter(|variant| !is_null_schema(variant))
                .find_map(|variant| example(doc, variant, depth + 1));
        }
    }
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        let required: BTreeSet<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|names| names.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut object = Map::new();
        for (name, property) in properties {
            // A deprecated field is one clients are asked to leave out.
            if property.get("deprecated") == Some(&Value::Bool(true)) {
                continue;
            }
            match example(doc, property, depth + 1) {
                Some(value) => {
                    object.insert(name.clone(), value);
                }
                None if required.contains(name.as_str()) => {
                    object.insert(name.clone(), placeholder(resolve(doc, property)));
                }
                None => {}
            }
        }
        return Some(Value::Object(object));
    }
    if type_of(schema) == Some("array") {
        let item = schema.get("items").and_then(|items| example(doc, items, depth + 1));
        return Some(Value::Array(item.into_iter().collect()));
    }
    None
}

fn placeholder(schema: &Value) -> Value {
    match type_of(schema) {
        Some("integer" | "number") => json!(1),
        Some("boolean") => json!(false),
        Some("object") => json!({}),
        Some("array") => json!([]),
        _ => json!("x"),
    }
}

fn fill_path(template: &str, ids: &HashMap<&str, String>) -> String {
    template
        .split('/')
        .map(
            |segment| match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) => ids.get(name).map_or(segment, String::as_str),
                None => segment,
            },
        )
        .collect::<Vec<_>>()
        .join("/")
}

/// Puts the stack's own ids where the document's example has made-up ones, so that the
/// valid body refers to what exists.
fn ground(value: &mut Value, ids: &HashMap<&str, String>) {
    match value {
        Value::Object(object) => {
            for (key, field) in object.iter_mut() {
                let known = ids
                    .get(key.as_str())
                    .or_else(|| key.ends_with("person_id").then(|| ids.get("person_id")).flatten());
                match known {
                    Some(id) if field.is_string() => *field = json!(id),
                    _ => ground(field, ids),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| ground(item, ids)),
        _ => {}
    }
}

fn segments(path: &str) -> Vec<&str> {
    path.split('/').filter(|s| !s.is_empty()).collect()
}

/// What each service lists, where a request that did something shows: the number of cases
/// and the duplicate queue in intake, the verification tasks in eligibility, the referrals
/// and unrouted needs in referral, the batches and payments in disbursement.
fn lists_of(service: &str) -> &'static [&'static str] {
    match service {
        "intake" => &["/v1/cases/counts", "/v1/duplicates"],
        "eligibility" => &["/v1/verification-tasks"],
        "referral" => &["/v1/referrals", "/v1/unrouted"],
        "disbursement" => &["/v1/batches", "/v1/payments"],
        _ => &[],
    }
}

/// The service's lists, and the resource the operation acts on: the longest GET path its
/// own path extends (`/v1/cases/{case_ref}` for `/v1/cases/{case_ref}/withdraw`).
fn watched(service: &Service, template: &str, ids: &HashMap<&str, String>) -> (Vec<String>, Option<String>) {
    let lists = lists_of(service.name)
        .iter()
        .map(|path| format!("{}{path}", service.base))
        .collect();
    let own = segments(template);
    let target = service
        .doc
        .get("paths")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter(|(path, item)| path.contains('{') && item.get("get").is_some())
        .map(|(path, _)| path)
        .filter(|path| {
            let theirs = segments(path);
            theirs.len() < own.len() && own.starts_with(&theirs)
        })
        .max_by_key(|path| segments(path).len())
        .map(|path| format!("{}{}", service.base, fill_path(path, ids)));
    (lists, target)
}

/// Every operation of the document that takes a JSON body, with a valid body and what to
/// watch.
fn endpoints(service: &Service, ids: &HashMap<&str, String>) -> Vec<Endpoint> {
    let mut found = Vec::new();
    let Some(paths) = service.doc.get("paths").and_then(Value::as_object) else {
        return found;
    };
    for (template, item) in paths {
        for (name, method) in [("post", Method::POST), ("put", Method::PUT), ("patch", Method::PATCH)] {
            let Some(content) = item
                .get(name)
                .and_then(|op| op.pointer("/requestBody/content/application~1json"))
            else {
                continue;
            };
            let valid = content.get("example").cloned().or_else(|| {
                content
                    .get("schema")
                    .and_then(|schema| example(&service.doc, schema, 0))
            });
            let Some(mut valid) = valid else { continue };
            // An id the stack has none of is a fresh UUID, the same in the URL and its target.
            let mut ids: HashMap<&str, String> = ids.clone();
            for name in segments(template)
                .into_iter()
                .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            {
                ids.entry(name).or_insert_with(|| uuid::Uuid::now_v7().to_string());
            }
            ground(&mut valid, &ids);
            let (lists, target) = watched(service, template, &ids);
            found.push(Endpoint {
                service: service.name,
                method,
                template: template.clone(),
                url: format!("{}{}", service.base, fill_path(template, &ids)),
                valid,
                lists,
                target,
                renewal: None,
            });
        }
    }
    found
}

// ---------------------------------------------------------------------------------------------
// Generation

fn runner() -> (TestRunner, u64) {
    let seed = std::env::var("JSON_BODIES_SEED")
        .ok()
        .and_then(|text| text.trim().parse().ok())
        // The random bits of a v7 UUID: a fresh seed per run unless one is asked for.
        .unwrap_or_else(|| uuid::Uuid::now_v7().as_u128() as u64);
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(DEFAULT_CASES);
    let mut bytes = [0u8; 32];
    for chunk in bytes.chunks_mut(8) {
        chunk.copy_from_slice(&seed.to_le_bytes());
    }
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    (
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &bytes)),
        seed,
    )
}

fn sample<S: Strategy>(runner: &mut TestRunner, strategy: &S) -> S::Value {
    strategy
        .new_tree(runner)
        .expect("the strategy generates a value")
        .current()
}

/// Strings a form field should survive: empty, blank, control characters (NUL among them),
/// long multi-byte text, direction and zero-width marks, numbers and dates as text, and
/// injection attempts.
fn extreme_string() -> BoxedStrategy<String> {
    let text = prop_oneof![
        Just(String::new()),
        Just(" \t\r\n ".to_string()),
        Just("\u{0}".to_string()),
        Just("Siti\u{0}Aminah".to_string()),
        (1usize..2000).prop_map(|n| "\u{A9B1}\u{A9C0}".repeat(n)),
        (1usize..1500).prop_map(|n| "\u{1F600}".repeat(n)),
        (4001usize..8000).prop_map(|n| "x".repeat(n)),
        Just("\u{202E}\u{200B}\u{FEFF}\u{2028}".to_string()),
        Just("'; DROP TABLE es_events; --".to_string()),
        Just("../../../../etc/passwd%00".to_string()),
        Just("${jndi:ldap://127.0.0.1/x}<script>alert(1)</script>".to_string()),
        Just("9".repeat(400)),
        Just("-1".to_string()),
        Just("1e400".to_string()),
        Just("2026-02-30".to_string()),
        Just("0000-00-00T25:61:61Z".to_string()),
        "\\PC{1,80}",
        any::<String>(),
    ];
    // A control character inside otherwise ordinary text, NUL most often: PostgreSQL's text
    // cannot hold U+0000 at all.
    let control = prop_oneof![
        3 => Just('\u{0}'),
        1 => Just('\u{1}'),
        1 => Just('\u{1b}'),
        1 => Just('\u{7f}'),
        1 => Just('\u{85}'),
    ];
    prop_oneof![
        3 => text.clone(),
        2 => (text, control, any::<prop::sample::Index>()).prop_map(|(text, control, at)| {
            let mut chars: Vec<char> = text.chars().collect();
            chars.insert(at.index(chars.len() + 1), control);
            chars.into_iter().collect()
        }),
    ]
    .boxed()
}

/// A JSON string literal for arbitrary text, or a literal serde_json must refuse.
fn string_literal() -> BoxedStrategy<String> {
    prop_oneof![
        8 => extreme_string().prop_map(|text| Value::String(text).to_string()),
        1 => Just(r#""\ud800""#.to_string()),
        1 => Just(r#""\u0000\u001f\\""#.to_string()),
    ]
    .boxed()
}

/// JSON number literals at and beyond what the services' types hold.
const NUMBERS: [&str; 12] = [
    "0",
    "-0",
    "-1",
    "1.5",
    "9223372036854775807",
    "-9223372036854775809",
    "18446744073709551616",
    "123456789012345678901234567890",
    "1e400",
    "-1e400",
    "4.9e-324",
    "1.7976931348623157e308",
];

/// Arbitrary JSON text; object keys are mostly the endpoint's own field names, so that the
/// values reach the fields' parsing.
fn arbitrary_json(keys: Vec<String>) -> BoxedStrategy<String> {
    let key = prop_oneof![
        3 => proptest::sample::select(keys),
        1 => "\\PC{0,12}",
    ];
    let leaf = prop_oneof![
        Just("null".to_string()),
        any::<bool>().prop_map(|b| b.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>()
            .prop_filter("JSON has no NaN or infinity", |f| f.is_finite())
            .prop_map(|f| json!(f).to_string()),
        proptest::sample::select(NUMBERS.to_vec()).prop_map(str::to_string),
        string_literal(),
    ];
    let tree = leaf.prop_recursive(4, 48, 8, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(|items| format!("[{}]", items.join(","))),
            proptest::collection::vec((key.clone(), inner), 0..8).prop_map(|members| {
                let members: Vec<String> = members
                    .into_iter()
                    .map(|(key, value)| format!("{}:{value}", Value::String(key)))
                    .collect();
                format!("{{{}}}", members.join(","))
            }),
        ]
    });
    prop_oneof![
        9 => tree,
        // Deeper than serde_json's recursion limit of 128.
        1 => (100usize..3000).prop_map(|depth| format!("{}{}", "[".repeat(depth), "]".repeat(depth))),
    ]
    .boxed()
}

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Key(String),
    Index(usize),
}

type Path = Vec<Segment>;

/// The path as the services name fields: `applicant.nik`, `needs[0].category`.
fn render(path: &[Segment]) -> String {
    let mut text = String::new();
    for segment in path {
        match segment {
            Segment::Key(key) => {
                if !text.is_empty() {
                    text.push('.');
                }
                text.push_str(key);
            }
            Segment::Index(index) => text.push_str(&format!("[{index}]")),
        }
    }
    text
}

/// Every object member in the body, at any depth (array items included).
fn member_paths(value: &Value, prefix: &mut Path, out: &mut Vec<Path>) {
    match value {
        Value::Object(object) => {
            for (key, field) in object {
                prefix.push(Segment::Key(key.clone()));
                out.push(prefix.clone());
                member_paths(field, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                prefix.push(Segment::Index(index));
                member_paths(item, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

/// Every object in the body (the body itself first), where an unknown member can go.
fn object_paths(value: &Value, prefix: &mut Path, out: &mut Vec<Path>) {
    match value {
        Value::Object(object) => {
            out.push(prefix.clone());
            for (key, field) in object {
                prefix.push(Segment::Key(key.clone()));
                object_paths(field, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                prefix.push(Segment::Index(index));
                object_paths(item, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

fn all_keys(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(object) => {
            for (key, field) in object {
                out.insert(key.clone());
                all_keys(field, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| all_keys(item, out)),
        _ => {}
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    Drop(Path),
    WrongType(Path, Value),
    Extreme(Path, String),
    Unknown(Path, String),
}

impl Mutation {
    /// The field a 400 about this mutation must name.
    fn field(&self) -> Path {
        match self {
            Mutation::Drop(path) | Mutation::WrongType(path, _) | Mutation::Extreme(path, _) => path.clone(),
            Mutation::Unknown(path, key) => {
                let mut path = path.clone();
                path.push(Segment::Key(key.clone()));
                path
            }
        }
    }

    fn describe(&self) -> String {
        match self {
            Mutation::Drop(path) => format!("drop {}", render(path)),
            Mutation::WrongType(path, value) => format!("{} set to {value}", render(path)),
            Mutation::Extreme(path, text) => {
                format!("{} set to a string of {} chars", render(path), text.chars().count())
            }
            Mutation::Unknown(path, key) => format!("unknown field {key:?} added to {{{}}}", render(path)),
        }
    }
}

/// Values of every JSON type but null (null is a valid "absent" for optional fields).
fn other_types() -> Vec<Value> {
    vec![
        json!(0),
        json!(-1),
        json!(1.0e308),
        json!(true),
        json!([]),
        json!(["x"]),
        json!({}),
        json!({"x": 1}),
        json!("x"),
    ]
}

fn same_type(a: &Value, b: &Value) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
}

fn mutations(valid: &Value) -> Option<BoxedStrategy<Mutation>> {
    let mut members = Vec::new();
    member_paths(valid, &mut Vec::new(), &mut members);
    let mut objects = Vec::new();
    object_paths(valid, &mut Vec::new(), &mut objects);
    if members.is_empty() || objects.is_empty() {
        return None;
    }
    let replacements = other_types();
    let count = replacements.len();
    Some(
        prop_oneof![
            1 => proptest::sample::select(members.clone()).prop_map(Mutation::Drop),
            1 => (proptest::sample::select(members.clone()), 0..count)
                .prop_map(move |(path, index)| { Mutation::WrongType(path, replacements[index].clone()) }),
            2 => (proptest::sample::select(members), extreme_string())
                .prop_map(|(path, text)| Mutation::Extreme(path, text)),
            1 => (proptest::sample::select(objects), "[a-z_]{1,12}|\\p{L}{1,8}")
                .prop_map(|(path, key)| Mutation::Unknown(path, format!("zz_{key}"))),
        ]
        .boxed(),
    )
}

fn member_mut<'a>(value: &'a mut Value, path: &[Segment]) -> Option<&'a mut Value> {
    let mut current = value;
    for segment in path {
        current = match segment {
            Segment::Key(key) => current.get_mut(key.as_str())?,
            Segment::Index(index) => current.get_mut(*index)?,
        };
    }
    Some(current)
}

/// The valid body with the mutation applied; a wrong type is made to differ from the
/// field's own type.
fn apply(valid: &Value, mutation: &Mutation) -> Value {
    let mut body = valid.clone();
    match mutation {
        Mutation::Drop(path) => {
            if let Some((Segment::Key(key), parent)) = path.split_last()
                && let Some(Value::Object(object)) = member_mut(&mut body, parent)
            {
                object.remove(key);
            }
        }
        Mutation::WrongType(path, replacement) => {
            if let Some(field) = member_mut(&mut body, path) {
                let replacement = if same_type(field, replacement) {
                    other_types()
                        .into_iter()
                        .find(|other| !same_type(field, other))
                        .unwrap_or(Value::Null)
                } else {
                    replacement.clone()
                };
                *field = replacement;
            }
        }
        Mutation::Extreme(path, text) => {
            if let Some(field) = member_mut(&mut body, path) {
                *field = Value::String(text.clone());
            }
        }
        Mutation::Unknown(path, key) => {
            if let Some(Value::Object(object)) = member_mut(&mut body, path) {
                object.insert(key.clone(), json!("unexpected"));
            }
        }
    }
    body
}

// ---------------------------------------------------------------------------------------------
// Sending and judging

#[derive(Clone)]
struct Body {
    bytes: Vec<u8>,
    content_type: &'static str,
    /// What a failure message shows: the mutation, if any, and the body.
    description: String,
}

impl Body {
    fn json_text(text: String, description: String) -> Body {
        Body {
            description: format!("{description}\nbody: {}", shown(&text)),
            bytes: text.into_bytes(),
            content_type: "application/json",
        }
    }
}

/// The exact body, unless it is too long to read in a failure message; then its start, its
/// end and its length.
fn shown(text: &str) -> String {
    const SHOWN: usize = 4000;
    if text.len() <= SHOWN {
        return text.to_string();
    }
    let head: String = text.chars().take(1500).collect();
    let tail: String = text
        .chars()
        .rev()
        .take(500)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("{head} …[{} bytes in all]… {tail}", text.len())
}

struct Answer {
    status: u16,
    text: String,
}

async fn send(http: &reqwest::Client, endpoint: &Endpoint, body: &Body) -> Result<Answer, String> {
    let response = http
        .request(endpoint.method.clone(), &endpoint.url)
        .header(reqwest::header::CONTENT_TYPE, body.content_type)
        .body(body.bytes.clone())
        .send()
        .await
        .map_err(|error| format!("no answer: {error}"))?;
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    Ok(Answer { status, text })
}

/// The status each error code is answered with (the shared code table, slrt_errors).
fn status_of(code: &str) -> Option<u16> {
    Some(match code {
        "invalid_input" => 400,
        "unauthenticated" => 401,
        "forbidden" => 403,
        "not_found" => 404,
        "conflict" => 409,
        "payload_too_large" => 413,
        "rejected" | "idempotency_key_reused" => 422,
        "rate_limited" => 429,
        _ => return None,
    })
}

/// The error envelope of a 4xx; `Ok(field)`.
fn envelope(answer: &Answer) -> Result<Option<String>, String> {
    let body: Value =
        serde_json::from_str(&answer.text).map_err(|_| "a refusal without the JSON error envelope".to_string())?;
    let object = body.as_object().filter(|o| o.len() == 1);
    let error = object
        .and_then(|o| o.get("error"))
        .and_then(Value::as_object)
        .ok_or("the envelope is not {\"error\": {...}}")?;
    let code = error
        .get("code")
        .and_then(Value::as_str)
        .ok_or("error.code is missing")?;
    if status_of(code) != Some(answer.status) {
        return Err(format!(
            "error code {code:?} does not belong to status {}",
            answer.status
        ));
    }
    match error.get("message").and_then(Value::as_str) {
        Some(message) if !message.trim().is_empty() => {}
        _ => return Err("error.message is missing or empty".to_string()),
    }
    match error.get("field") {
        None => Ok(None),
        Some(Value::String(field)) => Ok(Some(field.clone())),
        Some(_) => Err("error.field is not a string".to_string()),
    }
}

fn names_field(field: Option<&str>, mutation: &Mutation) -> Result<(), String> {
    let path = mutation.field();
    let full = render(&path);
    let leaf = match path.last() {
        Some(Segment::Key(key)) => key.clone(),
        _ => full.clone(),
    };
    match field {
        Some(named) if named == full || named == leaf => Ok(()),
        other => Err(format!(
            "400 for the spoiled field {full}, but the error names {other:?}"
        )),
    }
}

/// What the watched URLs show, reduced to what a refused request must not change: the ids
/// and totals of a list (its statuses and timestamps move on as other services' events
/// arrive), the whole of the resource the request is aimed at.
type Fingerprint = Vec<(String, u16, String)>;

fn ids_and_totals(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(object) => {
            for (key, field) in object {
                let wanted = key == "id" || key.ends_with("_id") || key == "total";
                match field {
                    Value::String(_) | Value::Number(_) if wanted => out.push(format!("{key}={field}")),
                    _ => ids_and_totals(field, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| ids_and_totals(item, out)),
        _ => {}
    }
}

async fn fingerprint(http: &reqwest::Client, endpoint: &Endpoint) -> Fingerprint {
    let watched = endpoint.lists.iter().map(|url| (url, false));
    let watched = watched.chain(endpoint.target.iter().map(|url| (url, true)));
    let reads = watched.map(|(url, whole)| async move {
        let (status, text) = match http.get(url).send().await {
            Ok(response) => (response.status().as_u16(), response.text().await.unwrap_or_default()),
            Err(error) => (0, format!("no answer: {error}")),
        };
        (url, whole, status, text)
    });
    let mut seen = Vec::new();
    for (url, whole, status, text) in futures::future::join_all(reads).await {
        let reduced = match serde_json::from_str::<Value>(&text) {
            Ok(value) if whole => value.to_string(),
            Ok(value) => {
                let mut ids = Vec::new();
                ids_and_totals(&value, &mut ids);
                ids.sort();
                ids.join(" ")
            }
            Err(_) => text,
        };
        seen.push((url.clone(), status, reduced));
    }
    seen
}

/// Waits until what the endpoint watches stops changing (events of an accepted request
/// travel through the other services for a while), and returns it.
async fn settle(http: &reqwest::Client, endpoint: &Endpoint) -> Fingerprint {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut last = fingerprint(http, endpoint).await;
    loop {
        tokio::time::sleep(Duration::from_millis(400)).await;
        let now = fingerprint(http, endpoint).await;
        if now == last || Instant::now() > deadline {
            return now;
        }
        last = now;
    }
}

fn difference(before: &Fingerprint, after: &Fingerprint) -> String {
    before
        .iter()
        .zip(after)
        .find(|(b, a)| b != a)
        .map(|(b, a)| {
            format!(
                "GET {} was {} {}\n  and is now {} {}",
                b.0,
                b.1,
                shown(&b.2),
                a.1,
                shown(&a.2)
            )
        })
        .unwrap_or_default()
}

/// Refusals read back together: reading the watched URLs costs more than the request itself
/// (every read is written to the audit log), so they are read after a few refusals, and a
/// change is then pinned on one body by sending those again one at a time.
const REFUSALS_PER_READ: usize = 8;

/// What went wrong, and with which body.
struct Failure {
    body: String,
    what: String,
}

/// One endpoint at a time: the baseline is what it watches now.
struct Probe<'a> {
    http: &'a reqwest::Client,
    endpoint: Endpoint,
    baseline: Fingerprint,
    /// Refused since the baseline was last read.
    unread: Vec<Body>,
}

impl<'a> Probe<'a> {
    async fn new(http: &'a reqwest::Client, endpoint: &Endpoint) -> Probe<'a> {
        let baseline = fingerprint(http, endpoint).await;
        Probe {
            http,
            endpoint: endpoint.clone(),
            baseline,
            unread: Vec::new(),
        }
    }

    /// Sends the body and judges the answer.
    async fn check(&mut self, body: &Body, mutation: Option<&Mutation>) -> Result<u16, Failure> {
        let status = self.answer(body, mutation).await?;
        if status < 400 {
            self.accepted().await?;
        } else {
            self.unread.push(body.clone());
            if self.unread.len() >= REFUSALS_PER_READ {
                self.read_back().await?;
            }
        }
        Ok(status)
    }

    /// Everything refused so far changed nothing.
    async fn finish(&mut self) -> Result<(), Failure> {
        self.read_back().await
    }

    /// The answer is below 500, and a refusal is in the envelope, naming the spoiled field.
    async fn answer(&self, body: &Body, mutation: Option<&Mutation>) -> Result<u16, Failure> {
        let failure = |what: String| Failure {
            body: body.description.clone(),
            what,
        };
        let answer = send(self.http, &self.endpoint, body).await.map_err(failure)?;
        let status = answer.status;
        let fail = |what: String| failure(format!("{what}\nanswer: {status} {}", shown(&answer.text)));
        if status >= 500 {
            return Err(fail("a server error".to_string()));
        }
        if status >= 400 {
            let field = envelope(&answer).map_err(fail)?;
            if status == 400
                && let Some(mutation) = mutation
            {
                names_field(field.as_deref(), mutation).map_err(fail)?;
            }
        }
        Ok(status)
    }

    /// After a success: a new target if it used this one up, and a new baseline once its
    /// events have travelled. The refusals before it were not read back, so they are sent
    /// again in the state it left.
    async fn accepted(&mut self) -> Result<(), Failure> {
        self.renew().await;
        self.baseline = settle(self.http, &self.endpoint).await;
        for body in std::mem::take(&mut self.unread) {
            if self.answer(&body, None).await? < 400 {
                self.renew().await;
                self.baseline = settle(self.http, &self.endpoint).await;
            } else {
                self.unread.push(body);
            }
        }
        Ok(())
    }

    async fn read_back(&mut self) -> Result<(), Failure> {
        if self.unread.is_empty() {
            return Ok(());
        }
        let now = fingerprint(self.http, &self.endpoint).await;
        if now == self.baseline {
            self.unread.clear();
            return Ok(());
        }
        let changed = difference(&self.baseline, &now);
        let suspects = std::mem::take(&mut self.unread);
        self.baseline = settle(self.http, &self.endpoint).await;
        for body in &suspects {
            let status = self.answer(body, None).await?;
            let after = fingerprint(self.http, &self.endpoint).await;
            if status >= 400 && after != self.baseline {
                return Err(Failure {
                    body: body.description.clone(),
                    what: format!(
                        "refused ({status}), yet something changed:\n  {}",
                        difference(&self.baseline, &after)
                    ),
                });
            }
            self.baseline = after;
        }
        Err(Failure {
            body: suspects
                .iter()
                .map(|body| body.description.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
            what: format!("after these refused bodies something changed, and none did again on its own:\n  {changed}"),
        })
    }

    async fn renew(&mut self) {
        let endpoint = &mut self.endpoint;
        let Some(renewal) = endpoint.renewal.as_mut() else {
            return;
        };
        let fresh = question(self.http, &renewal.intake).await;
        endpoint.url = endpoint.url.replace(&renewal.case_id, &fresh);
        endpoint.target = endpoint
            .target
            .as_ref()
            .map(|url| url.replace(&renewal.case_id, &fresh));
        renewal.case_id = fresh;
    }
}

/// Bodies that are not JSON, or not acceptable JSON, whatever the endpoint.
fn malformed(valid: &Value) -> Vec<Body> {
    let text = valid.to_string();
    let raw = |bytes: Vec<u8>, content_type: &'static str, what: &str| Body {
        description: format!("{what} ({} bytes, {content_type})", bytes.len()),
        bytes,
        content_type,
    };
    vec![
        raw(Vec::new(), "application/json", "an empty body"),
        raw(b"{".to_vec(), "application/json", "an unfinished object"),
        raw(
            format!("{text} trailing").into_bytes(),
            "application/json",
            "the valid body and then text",
        ),
        raw(
            [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat(),
            "application/json",
            "the valid body after a byte-order mark",
        ),
        raw(
            b"{\"\xff\xfe\": 1}".to_vec(),
            "application/json",
            "a key that is not UTF-8",
        ),
        raw(text.clone().into_bytes(), "text/plain", "the valid body as text/plain"),
        raw(
            format!("{{\"pad\": \"{}\"}}", "x".repeat(JSON_LIMIT_BYTES)).into_bytes(),
            "application/json",
            "a body over the JSON limit",
        ),
    ]
}

#[derive(Default)]
struct Findings {
    failures: Vec<String>,
    statuses: HashMap<String, std::collections::BTreeMap<u16, u32>>,
}

impl Findings {
    fn count(&mut self, endpoint: &Endpoint, status: u16) {
        *self
            .statuses
            .entry(endpoint.label())
            .or_default()
            .entry(status)
            .or_default() += 1;
    }

    fn fail(&mut self, seed: u64, endpoint: &Endpoint, failure: Failure) {
        self.failures.push(format!(
            "{} (JSON_BODIES_SEED={seed})\n{}\n{}",
            endpoint.label(),
            failure.body,
            failure.what
        ));
    }

    fn assert_none(self, stack: &Stack) {
        let mut summary: Vec<String> = self
            .statuses
            .iter()
            .map(|(label, statuses)| format!("  {label}: {statuses:?}"))
            .collect();
        summary.sort();
        println!("answers by status:\n{}", summary.join("\n"));
        assert!(
            self.failures.is_empty(),
            "{} endpoint(s) failed:\n\n{}\n\n{}",
            self.failures.len(),
            self.failures.join("\n\n"),
            stack.all_logs()
        );
    }
}

/// Sends every endpoint arbitrary JSON (and the malformed bodies), stopping at an endpoint's
/// first failure so that each is reported once.
async fn arbitrary_bodies(http: &reqwest::Client, endpoints: &[Endpoint], findings: &mut Findings) {
    let (mut runner, seed) = runner();
    println!("JSON_BODIES_SEED={seed}");
    for endpoint in endpoints {
        let mut keys = BTreeSet::new();
        all_keys(&endpoint.valid, &mut keys);
        let strategy = arbitrary_json(keys.into_iter().chain(["x".to_string()]).collect());
        let mut bodies = malformed(&endpoint.valid);
        for _ in 0..runner.config().cases {
            let text = sample(&mut runner, &strategy);
            bodies.push(Body::json_text(text, "arbitrary JSON".to_string()));
        }
        let started = Instant::now();
        let mut probe = Probe::new(http, endpoint).await;
        let mut outcome = Ok(());
        for body in &bodies {
            match probe.check(body, None).await {
                Ok(status) => findings.count(endpoint, status),
                Err(failure) => {
                    outcome = Err(failure);
                    break;
                }
            }
        }
        let outcome = match outcome {
            Ok(()) => probe.finish().await,
            failed => failed,
        };
        if let Err(failure) = outcome {
            findings.fail(seed, endpoint, failure);
        }
        endpoint.took("arbitrary JSON", started);
    }
}

/// Sends every endpoint one-field mutations of its valid body, then the valid body itself:
/// the mutations are judged as if it were valid, so it must not be refused as malformed.
async fn mutated_bodies(http: &reqwest::Client, endpoints: &[Endpoint], findings: &mut Findings) {
    let (mut runner, seed) = runner();
    println!("JSON_BODIES_SEED={seed}");
    for endpoint in endpoints {
        let started = Instant::now();
        let mut probe = Probe::new(http, endpoint).await;
        let strategy = mutations(&endpoint.valid);
        let mut outcome = Ok(());
        for _ in 0..strategy.as_ref().map_or(0, |_| runner.config().cases) {
            let Some(strategy) = &strategy else { break };
            let mutation = sample(&mut runner, strategy);
            let body = Body::json_text(apply(&endpoint.valid, &mutation).to_string(), mutation.describe());
            match probe.check(&body, Some(&mutation)).await {
                Ok(status) => findings.count(endpoint, status),
                Err(failure) => {
                    outcome = Err(failure);
                    break;
                }
            }
        }
        let outcome = match outcome {
            Ok(()) => probe.finish().await,
            failed => failed,
        };
        if let Err(failure) = outcome {
            findings.fail(seed, endpoint, failure);
        } else {
            // Last, as a success may use the target up.
            let valid = Body::json_text(endpoint.valid.to_string(), "the valid body".to_string());
            match probe.check(&valid, None).await {
                Ok(400) => findings.fail(
                    seed,
                    endpoint,
                    Failure {
                        body: valid.description,
                        what: "the valid body (the document's example) is refused as malformed".to_string(),
                    },
                ),
                Ok(status) => {
                    findings.count(endpoint, status);
                    if let Err(failure) = probe.finish().await {
                        findings.fail(seed, endpoint, failure);
                    }
                }
                Err(failure) => findings.fail(seed, endpoint, failure),
            }
        }
        endpoint.took("mutations", started);
    }
}

// ---------------------------------------------------------------------------------------------
// The stacks

/// Rasmi is recorded as deceased in the registry seed: her case is refused and resolved
/// without a referral, so it and her household stay still while the bodies arrive.
fn rasmi() -> Value {
    json!({
        "nik": "3375034905410001", "full_name": "Rasmi", "birth_date": "1941-05-09", "sex": "F",
        "region_code": "33.75.03.1004", "kk_number": "3375031812160005"
    })
}

/// A case, a person, a household and (if the desk's matcher queues one) a suspected
/// duplicate in intake, for the bodies to be aimed at.
async fn intake_ids(http: &reqwest::Client, intake: &str) -> HashMap<&'static str, String> {
    let open = |applicant: Value| {
        let body = json!({
            "applicant": applicant,
            "needs": [{"category": "cash_assistance"}],
            "desk_region_code": "33.75.03.1004"
        });
        let request = http.post(format!("{intake}/v1/cases")).json(&body).send();
        async move {
            let response = request.await.expect("intake answers");
            let status = response.status();
            let body: Value = response.json().await.expect("a JSON answer");
            assert_eq!(status, 201, "open a case: {body}");
            body["case_id"].as_str().expect("a case id").to_string()
        }
    };
    let case_id = open(rasmi()).await;
    // The same woman with one digit of the NIK mistyped: a probable second record.
    let mut twin = rasmi();
    twin["nik"] = json!("3375034905410002");
    open(twin).await;

    let check: Value = http
        .post(format!("{intake}/v1/people/check"))
        .json(&rasmi())
        .send()
        .await
        .expect("intake answers")
        .json()
        .await
        .expect("a JSON answer");
    let mut ids = HashMap::from([("case_ref", case_id)]);
    for key in ["person_id", "household_id"] {
        if let Some(id) = check[key].as_str() {
            ids.insert(key, id.to_string());
        }
    }
    let queue: Value = http
        .get(format!("{intake}/v1/duplicates"))
        .send()
        .await
        .expect("intake answers")
        .json()
        .await
        .unwrap_or_default();
    if let Some(id) = queue.pointer("/duplicates/0/duplicate_id").and_then(Value::as_str) {
        ids.insert("duplicate_id", id.to_string());
    }
    // What no fixed example can carry: a temporary-access grant ends within 72 hours of now.
    ids.insert(
        "valid_until",
        (chrono::Utc::now() + chrono::Duration::hours(24)).to_rfc3339(),
    );
    ids
}

/// A question asked at the desk: a case that no other service acts on, so it stays as the
/// desk leaves it, and that can be answered, withdrawn or closed.
async fn question(http: &reqwest::Client, intake: &str) -> String {
    let body = json!({
        "kind": "complaint",
        "applicant": rasmi(),
        "needs": [],
        "complaint": {"complaint_type": "question", "statement": "When is the next BPNT stage paid?"},
        "desk_region_code": "33.75.03.1004"
    });
    let response = http
        .post(format!("{intake}/v1/cases"))
        .json(&body)
        .send()
        .await
        .expect("intake answers");
    let status = response.status();
    let answer: Value = response.json().await.expect("a JSON answer");
    assert_eq!(status, 201, "open a question: {answer}");
    answer["case_id"].as_str().expect("a case id").to_string()
}

async fn intake_endpoints(http: &reqwest::Client, stack: &Stack) -> Vec<Endpoint> {
    let intake = service(http, stack, "intake").await;
    let ids = intake_ids(http, &intake.base).await;
    let mut found = endpoints(&intake, &ids);
    for endpoint in found.iter_mut().filter(|e| e.template.contains("{case_ref}")) {
        let shared = &ids["case_ref"];
        let own = question(http, &intake.base).await;
        endpoint.url = endpoint.url.replace(shared, &own);
        endpoint.target = endpoint.target.as_ref().map(|url| url.replace(shared, &own));
        endpoint.renewal = Some(Renewal {
            intake: intake.base.clone(),
            case_id: own,
        });
    }
    let templates: Vec<&str> = found.iter().map(|e| e.template.as_str()).collect();
    for expected in [
        "/v1/cases",
        "/v1/people/check",
        "/v1/cases/{case_ref}/withdraw",
        "/v1/cases/{case_ref}/close",
        "/v1/duplicates/{duplicate_id}/decision",
        "/v1/households/{household_id}/kk",
    ] {
        assert!(
            templates.contains(&expected),
            "intake's document lists no JSON body for POST {expected}: {templates:?}"
        );
    }
    found
}

async fn other_endpoints(http: &reqwest::Client, stack: &Stack) -> Vec<Endpoint> {
    // Ids as the services spell them, of nothing that exists: a body accepted here would
    // set events going through the other services while the next endpoint is watched (a
    // household that graduates is referred to PENA). Other ids are fresh UUIDs.
    let ids = HashMap::from([
        ("household_id", "H-999999".to_string()),
        ("batch_id", "PKH:2026-Q4:1".to_string()),
    ]);
    let mut found = Vec::new();
    for name in ["eligibility", "referral", "disbursement"] {
        let service = service(http, stack, name).await;
        let before = found.len();
        found.extend(endpoints(&service, &ids));
        assert!(
            found.len() > before,
            "{name}'s document lists no operation with a JSON body"
        );
    }
    found
}

/// The four services; the time they took goes to the output, so that a run stuck before its
/// first body shows where.
async fn stack() -> Stack {
    let started = Instant::now();
    let stack = Stack::start().await;
    println!("the stack was ready in {:.1?}", started.elapsed());
    stack
}

#[tokio::test]
async fn intake_answers_arbitrary_json_bodies_without_a_server_error_and_changes_nothing() {
    let stack = stack().await;
    let http = http_client();
    let endpoints = intake_endpoints(&http, &stack).await;
    let mut findings = Findings::default();
    arbitrary_bodies(&http, &endpoints, &mut findings).await;
    findings.assert_none(&stack);
}

#[tokio::test]
async fn intake_refuses_a_spoiled_field_by_name_and_changes_nothing() {
    let stack = stack().await;
    let http = http_client();
    let endpoints = intake_endpoints(&http, &stack).await;
    let mut findings = Findings::default();
    mutated_bodies(&http, &endpoints, &mut findings).await;
    findings.assert_none(&stack);
}

#[tokio::test]
async fn eligibility_referral_and_disbursement_refuse_bad_bodies_without_a_server_error() {
    let stack = stack().await;
    let http = http_client();
    let endpoints = other_endpoints(&http, &stack).await;
    let mut findings = Findings::default();
    arbitrary_bodies(&http, &endpoints, &mut findings).await;
    mutated_bodies(&http, &endpoints, &mut findings).await;
    findings.assert_none(&stack);
}
