//! Who may see and do what at intake: tokens, roles, areas, temporary grants, and the audit
//! record of every access. Through the HTTP and gRPC interfaces of the real application.

use reqwest::Method;
use slrt_proto::intake::v1::case_tracker_service_client::CaseTrackerServiceClient;

use super::*;

/// Every role of the system.
const ROLES: [&str; 10] = [
    "desk_operator",
    "back_office",
    "coordinator",
    "supervisor",
    "opd_officer",
    "opd_system",
    "data_feed",
    "auditor",
    "administrator",
    "service",
];

/// Siti Aminah's NIK (the applicant of [`application`]).
const APPLICANT_NIK: &str = "3375014506850003";

/// A token for `role`, of Kota Pekalongan for an area role, of Dinas Sosial for an agency's.
fn token_of(role: &str) -> String {
    let subject = format!("{role}-1");
    match role {
        "opd_officer" | "opd_system" | "data_feed" => {
            slrt_testkit::identity().bearer(&subject, &[role], None, Some("DINSOS"))
        }
        "auditor" | "administrator" | "service" => bearer(&subject, &[role], None),
        _ => bearer(&subject, &[role], Some(AREA)),
    }
}

/// The keyed token the audit log records for `nik`.
fn nik_token(nik: &str) -> String {
    let key = std::fs::read_to_string(slrt_testkit::identity().dir.join("pii-key.hex")).unwrap();
    slrt_identity::NikTokenizer::from_hex("k1", &key)
        .unwrap()
        .token_of_text(nik)
}

/// One row of the audit log.
#[derive(Debug, Clone, sqlx::FromRow)]
struct Audited {
    actor: String,
    resource: String,
    outcome: String,
    subjects: String,
    purpose: Option<String>,
    detail: String,
}

impl TestApp {
    /// Sends a request as `authorization` (empty: no header); the status and the body, JSON
    /// or, when it is not, as a string.
    async fn send_as(&self, method: Method, path: &str, authorization: &str, body: Option<&Value>) -> (u16, Value) {
        // A client without the suite's default token, so that "no header" means none.
        let mut request = slrt_testkit::http_client().request(method, format!("{}{path}", self.base));
        if !authorization.is_empty() {
            request = request.header("Authorization", authorization);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    async fn get_as(&self, path: &str, authorization: &str) -> (u16, Value) {
        self.send_as(Method::GET, path, authorization, None).await
    }

    async fn post_as(&self, path: &str, authorization: &str, body: &Value) -> (u16, Value) {
        self.send_as(Method::POST, path, authorization, Some(body)).await
    }

    /// A case opened as `authorization`; its answer.
    async fn open_as(&self, authorization: &str, body: &Value) -> Value {
        let (status, created) = self.post_as("/v1/cases", authorization, body).await;
        assert_eq!(status, 201, "{created}");
        created
    }

    /// The audit log's entries for `action`, oldest first.
    async fn audited(&self, action: &str) -> Vec<Audited> {
        sqlx::query_as(
            "SELECT actor, resource, outcome, subjects, purpose, detail FROM audit_log WHERE action = $1 ORDER BY seq",
        )
        .bind(action)
        .fetch_all(&self.db)
        .await
        .unwrap()
    }

    async fn grpc_client(&self) -> CaseTrackerServiceClient<tonic::transport::Channel> {
        CaseTrackerServiceClient::connect(self.grpc.clone()).await.unwrap()
    }
}

/// Someone at the desk: the body of a registration.
fn registration(nik: &str, name: &str, born: &str, sex: &str, kk: &str) -> Value {
    json!({
        "applicant": {
            "nik": nik, "full_name": name, "birth_date": born, "sex": sex,
            "region_code": "33.75.01.1002", "kk_number": kk
        },
        "needs": [{"category": "cash_assistance"}],
        "desk_region_code": "33.75.01.1002"
    })
}

/// Siti Aminah asks a question at the desk.
fn desk_question() -> Value {
    let mut body = application();
    body["kind"] = json!("complaint");
    body["needs"] = json!([]);
    body["complaint"] = json!({"complaint_type": "question", "statement": "When is BPNT paid?"});
    body
}

fn id_of(value: &Value, pointer: &str) -> String {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{pointer} in {value}"))
        .to_string()
}

#[tokio::test]
async fn every_endpoint_family_refuses_each_bad_token_over_http_and_grpc() {
    let app = spawn_app().await;
    let created = app.open_as(&token_of("desk_operator"), &application()).await;
    let case_id = id_of(&created, "/case_id");
    let person = id_of(&created, "/person/person_id");
    let household = id_of(&created, "/person/household_id");
    let families = [
        format!("/v1/cases/{case_id}"),
        "/v1/cases".to_string(),
        format!("/v1/people/{person}"),
        format!("/v1/households/{household}"),
        "/v1/duplicates".to_string(),
        "/v1/audit".to_string(),
    ];
    let bad = slrt_testkit::identity().bad_tokens(&["supervisor", "back_office"], Some(AREA), None);
    assert_eq!(bad.len(), 11, "every failure the test identity knows");
    for path in &families {
        for token in &bad {
            let (status, body) = app.get_as(path, &token.header).await;
            assert_eq!(status, 401, "{path}, {}: {body}", token.case);
            assert_eq!(body["error"]["code"], "unauthenticated", "{path}, {}", token.case);
            assert!(
                body["error"]["message"].as_str().unwrap().contains(token.refusal),
                "{path}, {}: {body}",
                token.case
            );
        }
    }
    let (status, _) = app.post_as("/v1/cases", &bad[3].header, &application()).await;
    assert_eq!(status, 401, "a change too");

    let mut client = app.grpc_client().await;
    for token in &bad {
        let mut request = tonic::Request::new(GetCaseRequest {
            case_ref: case_id.clone(),
        });
        if !token.header.is_empty() {
            request
                .metadata_mut()
                .insert("authorization", token.header.parse().unwrap());
        }
        let refused = client.get_case(request).await.unwrap_err();
        assert_eq!(
            refused.code(),
            tonic::Code::Unauthenticated,
            "{}: {refused:?}",
            token.case
        );
        assert!(
            refused.message().contains(token.refusal),
            "{}: {}",
            token.case,
            refused.message()
        );
    }
    // Nothing was read: no token, no record of an access.
    assert!(app.audited("case.read").await.is_empty());
}

/// A request: method, path, body.
type Request = (Method, String, Option<Value>);

/// One endpoint of the matrix: the roles that may use it, and the request each role sends.
struct Endpoint {
    name: &'static str,
    allowed: &'static [&'static str],
    request: Box<dyn Fn(&str) -> Request>,
}

fn endpoint(
    name: &'static str,
    allowed: &'static [&'static str],
    request: impl Fn(&str) -> Request + 'static,
) -> Endpoint {
    Endpoint {
        name,
        allowed,
        request: Box::new(request),
    }
}

fn get(path: String) -> impl Fn(&str) -> Request {
    move |_| (Method::GET, path.clone(), None)
}

fn post(path: String, body: Value) -> impl Fn(&str) -> Request {
    move |_| (Method::POST, path.clone(), Some(body.clone()))
}

const READERS: &[&str] = &["desk_operator", "back_office", "coordinator", "supervisor"];
const BACK_OFFICE: &[&str] = &["back_office", "coordinator"];

#[tokio::test]
async fn every_role_is_served_where_its_role_allows_and_refused_with_403_elsewhere() {
    let app = spawn_app().await;
    let desk = token_of("desk_operator");
    let bo = bearer("bo-proposer", &["back_office"], Some(AREA));

    // A case to read, one to withdraw, a question to close and one to answer.
    let read = app.open_as(&desk, &application()).await;
    let withdrawn = id_of(&app.open_as(&desk, &application()).await, "/case_id");
    let closed = id_of(&app.open_as(&desk, &desk_question()).await, "/case_id");
    let answered = id_of(&app.open_as(&desk, &desk_question()).await, "/case_id");
    let case_id = id_of(&read, "/case_id");
    let person = id_of(&read, "/person/person_id");

    // A family of four to change.
    let family_kk = "3375011203150006";
    let slamet = app
        .open_as(
            &desk,
            &registration("3375010705700001", "Slamet", "1970-05-07", "M", family_kk),
        )
        .await;
    let household = id_of(&slamet, "/person/household_id");
    let slamet = id_of(&slamet, "/person/person_id");
    let mut family = Vec::new();
    for (nik, name, born, sex) in [
        ("3375015208720002", "Sumiati", "1972-08-12", "F"),
        ("3375016101990001", "Rina Wulandari", "1999-01-21", "F"),
        ("3375012409010003", "Budi Santoso", "2001-09-24", "M"),
    ] {
        let created = app.open_as(&desk, &registration(nik, name, born, sex, family_kk)).await;
        family.push(id_of(&created, "/person/person_id"));
    }
    let (sumiati, rina, budi) = (family[0].clone(), family[1].clone(), family[2].clone());

    // Pairs to adjudicate: Muhammad Rizki and five records under a NIK one digit off.
    app.open_as(
        &desk,
        &registration(
            "3375011503900002",
            "Muhammad Rizki",
            "1990-03-15",
            "M",
            "3375011203150007",
        ),
    )
    .await;
    for last in 3..=7 {
        app.open_as(
            &desk,
            &registration(
                &format!("337501150390000{last}"),
                "Muhammad Rizki",
                "1990-03-15",
                "M",
                "3375011203150007",
            ),
        )
        .await;
    }
    let (_, queue) = app.get_as("/v1/duplicates?status=open", &bo).await;
    let pairs: Vec<String> = queue["duplicates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|pair| id_of(pair, "/duplicate_id"))
        .collect();
    assert!(pairs.len() >= 5, "{queue}");
    // Two proposals made by the back office, for a coordinator to confirm and to reject.
    for pair in [&pairs[3], &pairs[4]] {
        let (_, view) = app.get_as(&format!("/v1/duplicates/{pair}"), &bo).await;
        let survivor = id_of(&view, "/left/person_id");
        let (status, proposed) = app
            .post_as(
                &format!("/v1/duplicates/{pair}/decision"),
                &bo,
                &json!({"decision": "same_person", "survivor_person_id": survivor, "reason": "one KTP"}),
            )
            .await;
        assert_eq!(status, 200, "{proposed}");
    }

    let distinct_pairs = (pairs[1].clone(), pairs[2].clone());
    let endpoints = vec![
        endpoint("open a case", &["desk_operator"], {
            let mut body = darto();
            body["needs"] = json!([{"category": "civil_documents"}]);
            post("/v1/cases".into(), body)
        }),
        endpoint("list cases", READERS, get("/v1/cases".into())),
        endpoint("count cases", READERS, get("/v1/cases/counts".into())),
        endpoint("export cases", &["supervisor"], get("/v1/cases/export.csv".into())),
        endpoint("read a case", READERS, get(format!("/v1/cases/{case_id}"))),
        endpoint(
            "withdraw a case",
            &["desk_operator"],
            post(format!("/v1/cases/{withdrawn}/withdraw"), json!({"reason": "moved"})),
        ),
        endpoint(
            "close a case",
            &["desk_operator"],
            post(format!("/v1/cases/{closed}/close"), json!({"note": "nothing to do"})),
        ),
        endpoint(
            "answer a complaint",
            &["desk_operator"],
            post(
                format!("/v1/cases/{answered}/answer"),
                json!({"answer": "From 10 December."}),
            ),
        ),
        endpoint(
            "pre-screen a person",
            &["desk_operator", "back_office", "coordinator"],
            post("/v1/people/check".into(), application()["applicant"].clone()),
        ),
        endpoint("read a person", READERS, get(format!("/v1/people/{person}"))),
        endpoint("read a household", READERS, get(format!("/v1/households/{household}"))),
        endpoint("change a KK", BACK_OFFICE, {
            let path = format!("/v1/households/{household}/kk");
            move |role| {
                let (kk, on) = if role == "back_office" {
                    ("3375012003200001", "2024-09-04")
                } else {
                    ("3375012003200002", "2024-10-04")
                };
                let body = json!({"kk_number": kk, "reason": "correction", "effective_on": on});
                (Method::POST, path.clone(), Some(body))
            }
        }),
        endpoint("change the head", BACK_OFFICE, {
            let path = format!("/v1/households/{household}/head");
            let (sumiati, slamet) = (sumiati.clone(), slamet.clone());
            move |role| {
                let new_head = if role == "back_office" { &sumiati } else { &slamet };
                let body = json!({"person_id": new_head, "reason": "the card says so"});
                (Method::POST, path.clone(), Some(body))
            }
        }),
        endpoint("remove a member", BACK_OFFICE, {
            let (household, rina, budi) = (household.clone(), rina.clone(), budi.clone());
            move |role| {
                let member = if role == "back_office" { &rina } else { &budi };
                let path = format!("/v1/households/{household}/members/{member}/removal");
                (Method::POST, path, Some(json!({"reason": "moved out"})))
            }
        }),
        endpoint("add a member", BACK_OFFICE, {
            let path = format!("/v1/households/{household}/members");
            move |role| {
                let member = if role == "back_office" { &rina } else { &budi };
                let body = json!({"person_id": member, "relationship": "child"});
                (Method::POST, path.clone(), Some(body))
            }
        }),
        endpoint("list duplicates", BACK_OFFICE, get("/v1/duplicates".into())),
        endpoint(
            "read a duplicate",
            BACK_OFFICE,
            get(format!("/v1/duplicates/{}", pairs[0])),
        ),
        endpoint("decide distinct", BACK_OFFICE, move |role| {
            let pair = if role == "back_office" {
                &distinct_pairs.0
            } else {
                &distinct_pairs.1
            };
            let body = json!({"decision": "distinct", "reason": "two KTP seen"});
            (Method::POST, format!("/v1/duplicates/{pair}/decision"), Some(body))
        }),
        endpoint(
            "confirm a merge",
            &["coordinator"],
            post(format!("/v1/duplicates/{}/confirmation", pairs[3]), json!({})),
        ),
        endpoint(
            "reject a merge",
            &["coordinator"],
            post(
                format!("/v1/duplicates/{}/rejection", pairs[4]),
                json!({"reason": "birth dates differ on the cards"}),
            ),
        ),
        endpoint("read the audit log", &["auditor"], get("/v1/audit".into())),
    ];

    for endpoint in &endpoints {
        for role in ROLES {
            let (method, path, body) = (endpoint.request)(role);
            let (status, answer) = app.send_as(method, &path, &token_of(role), body.as_ref()).await;
            if endpoint.allowed.contains(&role) {
                assert!(
                    (200..300).contains(&status),
                    "{} as {role}: {status} {answer}",
                    endpoint.name
                );
            } else {
                assert_eq!(status, 403, "{} as {role}: {answer}", endpoint.name);
                assert_eq!(answer["error"]["code"], "forbidden", "{} as {role}", endpoint.name);
                let message = answer["error"]["message"].as_str().unwrap();
                for allowed in endpoint.allowed {
                    assert!(message.contains(allowed), "{} as {role}: {message}", endpoint.name);
                }
            }
        }
    }
    // The refusals of reads of personal data are on the record, one per refused role.
    let refused_reads: Vec<String> = app
        .audited("case.read")
        .await
        .into_iter()
        .filter(|entry| entry.outcome == "denied")
        .map(|entry| entry.actor)
        .collect();
    let expected: Vec<String> = ROLES
        .iter()
        .filter(|role| !READERS.contains(role))
        .map(|role| format!("{role}-1"))
        .collect();
    assert_eq!(refused_reads, expected);
}

#[tokio::test]
async fn another_areas_staff_find_nothing_there_and_every_attempt_is_audited() {
    let app = spawn_app().await;
    let desk = token_of("desk_operator");
    let created = app.open_as(&desk, &application()).await;
    let case_id = id_of(&created, "/case_id");
    let case_number = id_of(&created, "/case_number");
    let person = id_of(&created, "/person/person_id");
    let household = id_of(&created, "/person/household_id");
    let typo = app
        .open_as(
            &desk,
            &registration("3375014506850004", "Siti Aminah", "1985-06-05", "F", "3375011203150004"),
        )
        .await;
    let pair = id_of(&typo, "/person/duplicate_suspects/0/duplicate_id");

    // Sleman (34.04), another regency in another province.
    let sleman = |role: &str| bearer(&format!("{role}-sleman"), &[role], Some("34.04"));
    let missing = Uuid::now_v7();
    for (path, what) in [
        (format!("/v1/cases/{case_id}"), "case"),
        (format!("/v1/cases/{case_number}"), "case"),
        (format!("/v1/people/{person}"), "person"),
        (format!("/v1/households/{household}"), "household"),
    ] {
        let (status, body) = app.get_as(&path, &sleman("supervisor")).await;
        assert_eq!(status, 404, "{path}: {body}");
        // The same answer as for a record that does not exist.
        let (_, absent) = app
            .get_as(
                &format!("/v1/{what}s/{missing}").replace("persons", "people"),
                &sleman("supervisor"),
            )
            .await;
        assert_eq!(body["error"]["code"], absent["error"]["code"]);
        let reference = path.rsplit('/').next().unwrap();
        assert_eq!(body["error"]["message"], format!("no {what} {reference}"), "{body}");
    }
    let (status, body) = app
        .get_as(&format!("/v1/duplicates/{pair}"), &sleman("back_office"))
        .await;
    assert_eq!(
        (status, body["error"]["message"].clone()),
        (404, json!(format!("no duplicate {pair}")))
    );
    let (_, listed) = app.get_as("/v1/cases", &sleman("supervisor")).await;
    assert_eq!(listed["cases"], json!([]), "{listed}");
    let (_, counts) = app.get_as("/v1/cases/counts", &sleman("supervisor")).await;
    assert_eq!(counts["total"], 0, "{counts}");
    let (_, export) = app.get_as("/v1/cases/export.csv", &sleman("supervisor")).await;
    assert_eq!(export.as_str().unwrap().lines().count(), 1, "only the header: {export}");
    let (_, queue) = app.get_as("/v1/duplicates", &sleman("back_office")).await;
    assert_eq!(queue["duplicates"], json!([]), "{queue}");
    // Asking for Pekalongan by name changes nothing: the area bounds every filter.
    let (_, listed) = app.get_as("/v1/cases?region=33.75", &sleman("supervisor")).await;
    assert_eq!(listed["cases"], json!([]), "{listed}");

    // Changes answer the same.
    let (status, _) = app
        .post_as(
            &format!("/v1/cases/{case_id}/withdraw"),
            &sleman("desk_operator"),
            &json!({"reason": "guessing"}),
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = app
        .post_as(
            &format!("/v1/households/{household}/members/{person}/removal"),
            &sleman("back_office"),
            &json!({"reason": "guessing"}),
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = app
        .post_as(
            &format!("/v1/duplicates/{pair}/decision"),
            &sleman("back_office"),
            &json!({"decision": "distinct", "reason": "guessing"}),
        )
        .await;
    assert_eq!(status, 404);
    // A desk registers only at a desk of its own area.
    let (status, body) = app.post_as("/v1/cases", &sleman("desk_operator"), &application()).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["field"], "desk_region_code");

    // Inside the city, by whole segments: Pekalongan Timur's desk (33.75.02) does not see a
    // case of Pekalongan Barat (33.75.01); the city's supervisor does.
    let timur = bearer("fo-timur", &["desk_operator"], Some("33.75.02"));
    let (status, _) = app.get_as(&format!("/v1/cases/{case_id}"), &timur).await;
    assert_eq!(status, 404);
    let (_, mine) = app.get_as("/v1/cases", &timur).await;
    assert_eq!(mine["cases"], json!([]));
    let (status, _) = app
        .get_as(&format!("/v1/cases/{case_id}"), &token_of("supervisor"))
        .await;
    assert_eq!(status, 200);

    // Over gRPC too.
    let mut client = app.grpc_client().await;
    let refused = client
        .get_case(as_caller(&sleman("supervisor"), &case_id))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::NotFound);

    let outcomes = |entries: Vec<Audited>| -> Vec<(String, String)> {
        entries.into_iter().map(|entry| (entry.actor, entry.outcome)).collect()
    };
    let tally = |entries: Vec<(String, String)>| {
        let mut tally = std::collections::BTreeMap::new();
        for entry in entries {
            *tally.entry(entry).or_insert(0) += 1;
        }
        tally
    };
    let reads = tally(outcomes(app.audited("case.read").await));
    let expected = [
        // The case by id and by number, two missing cases, and the gRPC call.
        (("supervisor-sleman", "not_found"), 5),
        (("fo-timur", "not_found"), 1),
        (("supervisor-1", "allowed"), 1),
    ]
    .map(|((actor, outcome), count)| ((actor.to_string(), outcome.to_string()), count));
    assert_eq!(reads, expected.into_iter().collect());
    for (action, actor, attempts) in [
        ("person.read", "supervisor-sleman", 2),
        ("household.read", "supervisor-sleman", 2),
        ("duplicate.read", "back_office-sleman", 1),
        ("case.withdraw", "desk_operator-sleman", 1),
        ("household.remove_member", "back_office-sleman", 1),
        ("duplicate.decide", "back_office-sleman", 1),
    ] {
        let entries = app.audited(action).await;
        let expected = vec![(actor.to_string(), "not_found".to_string()); attempts];
        assert_eq!(outcomes(entries.clone()), expected, "{action}");
        assert!(
            entries.iter().all(|entry| entry.subjects.is_empty()),
            "{action}: an attempt names nobody"
        );
    }
    let opened = outcomes(app.audited("case.open").await);
    assert_eq!(
        opened.last().unwrap(),
        &("desk_operator-sleman".to_string(), "denied".to_string())
    );
    // Nothing changed.
    let (_, case) = app.get_as(&format!("/v1/cases/{case_id}"), &desk).await;
    assert_eq!(case["status"], "open");
}

#[tokio::test]
async fn a_temporary_grant_lets_a_desk_act_in_another_area_until_it_ends() {
    let app = spawn_app().await;
    let desk = token_of("desk_operator");
    let case_id = id_of(&app.open_as(&desk, &application()).await, "/case_id");
    let other = id_of(&app.open_as(&desk, &application()).await, "/case_id");
    // A desk operator of Batang (33.25) helps out in Pekalongan Barat.
    let batang = bearer("fo-batang-1", &["desk_operator"], Some("33.25"));
    let (status, _) = app.get_as(&format!("/v1/cases/{case_id}"), &batang).await;
    assert_eq!(status, 404, "outside their area");

    let until = chrono::Utc::now() + chrono::Duration::seconds(5);
    let (status, grant) = app
        .post_as(
            "/v1/access-grants",
            &bearer("coordinator-3375", &["coordinator"], Some(AREA)),
            &json!({
                "grantee": "fo-batang-1", "region": "33.75.01",
                "reason": "covering the Pekalongan Barat desk during the flood response",
                "valid_until": until.to_rfc3339(),
            }),
        )
        .await;
    assert_eq!(status, 201, "{grant}");
    let grant_id = id_of(&grant, "/id");

    let (status, case) = app.get_as(&format!("/v1/cases/{case_id}"), &batang).await;
    assert_eq!(status, 200, "{case}");
    let (status, step) = app
        .post_as(
            &format!("/v1/cases/{other}/withdraw"),
            &batang,
            &json!({"reason": "moved to Batang"}),
        )
        .await;
    assert_eq!(status, 200, "{step}");
    let withdrawn = app.audited("case.withdraw").await;
    let withdrawn = withdrawn.last().unwrap();
    assert_eq!(
        (withdrawn.actor.as_str(), withdrawn.outcome.as_str()),
        ("fo-batang-1", "allowed")
    );
    let detail: Value = serde_json::from_str(&withdrawn.detail).unwrap();
    assert_eq!(detail["grants_in_force"][0]["id"], grant_id.as_str(), "{detail}");
    let read = app.audited("case.read").await;
    assert!(
        read.last().unwrap().detail.contains(&grant_id),
        "the read names the grant too"
    );
    let (_, case) = app.get_as(&format!("/v1/cases/{other}"), &desk).await;
    assert_eq!(case["status"], "withdrawn");
    let withdrawn_by = case["timeline"].as_array().unwrap().last().unwrap()["summary"].clone();
    assert!(withdrawn_by.as_str().unwrap().contains("fo-batang-1"), "{withdrawn_by}");

    // Once it ends, the same request finds nothing again.
    let left = until - chrono::Utc::now() + chrono::Duration::milliseconds(500);
    tokio::time::sleep(left.to_std().unwrap_or_default()).await;
    let (status, _) = app.get_as(&format!("/v1/cases/{case_id}"), &batang).await;
    assert_eq!(status, 404);
    let read = app.audited("case.read").await;
    assert_eq!(read.last().unwrap().outcome, "not_found");
}

#[tokio::test]
async fn every_read_and_change_is_audited_with_the_keyed_nik_token_and_a_purpose() {
    let app = spawn_app().await;
    let desk = token_of("desk_operator");
    let supervisor = token_of("supervisor");
    let created = app.open_as(&desk, &application()).await;
    let case_id = id_of(&created, "/case_id");
    let person = id_of(&created, "/person/person_id");
    let household = id_of(&created, "/person/household_id");

    // A purpose is recorded as declared; without one, the action is the purpose.
    let response = slrt_testkit::http_client()
        .get(format!("{}/v1/cases/{case_id}", app.base))
        .header("Authorization", &supervisor)
        .header("x-slrt-purpose", "monthly TKPKD review")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    for path in [
        format!("/v1/cases/{case_id}"),
        "/v1/cases".to_string(),
        "/v1/cases/export.csv".to_string(),
        format!("/v1/people/{person}"),
        format!("/v1/households/{household}"),
    ] {
        let (status, body) = app.get_as(&path, &supervisor).await;
        assert_eq!(status, 200, "{path}: {body}");
    }
    let (status, _) = app
        .post_as("/v1/people/check", &desk, &application()["applicant"])
        .await;
    assert_eq!(status, 200);
    let (status, _) = app
        .post_as(
            &format!("/v1/cases/{case_id}/withdraw"),
            &desk,
            &json!({"reason": "found work"}),
        )
        .await;
    assert_eq!(status, 200);

    let token = nik_token(APPLICANT_NIK);
    for (action, actor, resource) in [
        ("case.open", "desk_operator-1", format!("case/{case_id}")),
        ("case.read", "supervisor-1", format!("case/{case_id}")),
        ("case.list", "supervisor-1", "cases".to_string()),
        ("case.export", "supervisor-1", "cases".to_string()),
        ("person.read", "supervisor-1", format!("person/{person}")),
        ("household.read", "supervisor-1", format!("household/{household}")),
        ("person.check", "desk_operator-1", "people/check".to_string()),
        ("case.withdraw", "desk_operator-1", format!("case/{case_id}")),
    ] {
        let entries = app.audited(action).await;
        let entry = entries.last().unwrap_or_else(|| panic!("no {action} record"));
        assert_eq!(
            (entry.actor.as_str(), entry.resource.as_str(), entry.outcome.as_str()),
            (actor, resource.as_str(), "allowed"),
            "{action}"
        );
        assert_eq!(entry.subjects, token, "{action}: the applicant's keyed token");
        assert_eq!(
            entry.purpose.as_deref(),
            Some(action),
            "{action}: the action is the purpose"
        );
    }
    let reads = app.audited("case.read").await;
    assert_eq!(reads[0].purpose.as_deref(), Some("monthly TKPKD review"));
    let export = app.audited("case.export").await;
    assert_eq!(export.len(), 1, "one page, one record");
    assert!(export[0].detail.contains("\"page\":1"), "{}", export[0].detail);

    // The person's access report finds them all; the NIK itself is nowhere in the log.
    let (status, report) = app
        .post_as(
            "/v1/audit/access-report",
            &token_of("auditor"),
            &json!({"nik": APPLICANT_NIK}),
        )
        .await;
    assert_eq!(status, 200, "{report}");
    // Opened, read twice, listed, exported, the person, the household, checked, withdrawn.
    assert_eq!(report["accesses"].as_array().unwrap().len(), 9, "{report}");
    let in_clear: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log
         WHERE concat_ws(' ', actor, action, resource, subjects, purpose, detail) LIKE '%' || $1 || '%'",
    )
    .bind(APPLICANT_NIK)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(in_clear, 0, "no NIK in clear in the audit log");
    let chain = slrt_audit::verify_chain(&app.db).await.unwrap();
    assert_eq!(chain.first_broken, None);
}

#[tokio::test]
async fn the_operator_recorded_is_the_one_the_token_names_whatever_the_body_says() {
    let app = spawn_app().await;
    let mut body = application();
    // Clients written before tokens still send it; it is ignored.
    body["opened_by"] = json!("someone-else");
    let created = app.open_as(&token_of("desk_operator"), &body).await;
    let case_id = id_of(&created, "/case_id");
    let (_, case) = app
        .get_as(&format!("/v1/cases/{case_id}"), &token_of("supervisor"))
        .await;
    assert_eq!(case["opened_by"], "desk_operator-1", "{case}");
    let (_, person) = app
        .get_as(
            &format!("/v1/people/{}", id_of(&created, "/person/person_id")),
            &token_of("supervisor"),
        )
        .await;
    assert!(!person.to_string().contains("someone-else"), "{person}");
}

#[tokio::test]
async fn a_case_status_over_grpc_is_for_its_area_its_agencies_and_the_sister_services() {
    let app = spawn_app().await;
    let (case_id, needs) = app.open_case_for(&["cash_assistance"]).await;
    let need = needs[0].as_str();
    app.publish(
        "eligibility",
        case_id,
        &approved(case_id, &[(need, "cash_assistance", "PKH")]),
    )
    .await;
    let referral = details(case_id, need, Uuid::now_v7(), "DINSOS", 1);
    app.publish("referral", case_id, &requested(&referral, "routing_table", ""))
        .await;
    app.case_after(case_id, 3).await;

    let mut client = app.grpc_client().await;
    let case_ref = case_id.to_string();
    let agency =
        |role: &str, opd: &str| slrt_testkit::identity().bearer(&format!("{role}-{opd}"), &[role], None, Some(opd));
    for (who, authorization) in [
        ("a sister service", token_of("service")),
        ("the agency's system", agency("opd_system", "DINSOS")),
        ("the agency's officer", agency("opd_officer", "DINSOS")),
        ("the area's supervisor", token_of("supervisor")),
        ("the area's desk", token_of("desk_operator")),
    ] {
        let case = client.get_case(as_caller(&authorization, &case_ref)).await;
        assert_eq!(
            case.map(|case| case.into_inner().status).ok().as_deref(),
            Some("referred"),
            "{who}"
        );
    }
    for (who, authorization) in [
        ("another agency", agency("opd_officer", "DINKES")),
        (
            "another area",
            bearer("supervisor-sleman", &["supervisor"], Some("34.04")),
        ),
    ] {
        let refused = client.get_case(as_caller(&authorization, &case_ref)).await.unwrap_err();
        assert_eq!(refused.code(), tonic::Code::NotFound, "{who}: {refused:?}");
    }
    for role in ["data_feed", "auditor", "administrator"] {
        let refused = client
            .get_case(as_caller(&token_of(role), &case_ref))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), tonic::Code::PermissionDenied, "{role}: {refused:?}");
    }
    let reads = app.audited("case.read").await;
    let outcomes: Vec<(&str, &str)> = reads
        .iter()
        .map(|entry| (entry.actor.as_str(), entry.outcome.as_str()))
        .collect();
    assert!(outcomes.contains(&("service-1", "allowed")), "{outcomes:?}");
    assert!(outcomes.contains(&("opd_officer-DINKES", "not_found")), "{outcomes:?}");
    assert!(outcomes.contains(&("data_feed-1", "denied")), "{outcomes:?}");
    let token = nik_token(APPLICANT_NIK);
    assert!(
        reads
            .iter()
            .filter(|entry| entry.outcome == "allowed")
            .all(|entry| entry.subjects == token)
    );
}
