//! The API description (`chat-http/openapi.json`, served at `/api/openapi.json`) against
//! the code: every route the router serves is described and every description is served
//! (from the one route table the router is built from), every example validates against its
//! schema, and real answers of a running server validate against the schemas of their status.

mod common;

use std::collections::HashSet;

use chat_http::router::served_routes;
use chat_http::routes::openapi::DOCUMENT;
use common::*;
use serde_json::{Value, json};

/// The methods an OpenAPI path item may describe.
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn document() -> Value {
    serde_json::from_str(DOCUMENT).expect("chat-http/openapi.json is JSON")
}

/// `schema` with the document's components beside it, so its `#/components/...` references
/// resolve; the extra keyword is ignored by validation.
fn validator(doc: &Value, schema: &Value) -> jsonschema::Validator {
    let mut root = match schema {
        Value::Object(_) => schema.clone(),
        other => json!({ "allOf": [other] }),
    };
    root["components"] = doc["components"].clone();
    jsonschema::draft202012::new(&root)
        .unwrap_or_else(|error| panic!("schema {schema} does not compile: {error}"))
}

/// Why `instance` does not validate against `schema`, if it does not.
fn violations(doc: &Value, schema: &Value, instance: &Value) -> Vec<String> {
    validator(doc, schema)
        .iter_errors(instance)
        .map(|error| format!("{} at {}", error, error.instance_path()))
        .collect()
}

/// Every (where, schema, example) of the document: examples of media types and parameters
/// (`example`, and `examples.*.value`), and JSON Schema `examples` arrays.
fn examples(at: &str, value: &Value, found: &mut Vec<(String, Value, Value)>) {
    match value {
        Value::Object(object) => {
            if let Some(schema) = object.get("schema") {
                if let Some(example) = object.get("example") {
                    found.push((at.to_owned(), schema.clone(), example.clone()));
                }
                if let Some(Value::Object(named)) = object.get("examples") {
                    for (name, example) in named {
                        let at = format!("{at}/examples/{name}");
                        found.push((at, schema.clone(), example["value"].clone()));
                    }
                }
            }
            if let Some(Value::Array(listed)) = object.get("examples") {
                let mut schema = value.clone();
                schema.as_object_mut().unwrap().remove("examples");
                for example in listed {
                    found.push((at.to_owned(), schema.clone(), example.clone()));
                }
            }
            for (key, child) in object {
                examples(&format!("{at}/{key}"), child, found);
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                examples(&format!("{at}/{index}"), child, found);
            }
        }
        _ => {}
    }
}

#[test]
fn every_served_route_is_described_and_every_description_is_served() {
    let doc = document();
    let served: HashSet<(String, String)> = served_routes()
        .iter()
        .map(|route| (route.method.as_str().to_lowercase(), route.path.to_owned()))
        .collect();
    let mut missing: Vec<String> = served
        .iter()
        .filter(|(method, path)| doc["paths"][path][method].is_null())
        .map(|(method, path)| {
            format!(
                "{} {path} is served but not described: add paths.\"{path}\".{method} to \
                 chat-http/openapi.json",
                method.to_uppercase()
            )
        })
        .collect();
    let paths = doc["paths"].as_object().expect("paths");
    for (path, item) in paths {
        for method in METHODS {
            if item.get(method).is_some() && !served.contains(&(method.to_owned(), path.clone())) {
                missing.push(format!(
                    "{} {path} is described in chat-http/openapi.json but not served by \
                     chat_http::router (rest_routes or socket_routes)",
                    method.to_uppercase()
                ));
            }
        }
    }
    missing.sort();
    assert!(missing.is_empty(), "\n{}\n", missing.join("\n"));
}

#[test]
fn every_operation_names_itself_its_path_parameters_and_its_answers() {
    let doc = document();
    assert_eq!(doc["openapi"].as_str().map(|v| &v[..4]), Some("3.1."));
    let mut ids = HashSet::new();
    let mut problems = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in METHODS {
            let Some(operation) = item.get(method) else {
                continue;
            };
            let name = format!("{} {path}", method.to_uppercase());
            let id = operation["operationId"].as_str().unwrap_or_default();
            if id.is_empty() || !ids.insert(id.to_owned()) {
                problems.push(format!("{name}: missing or repeated operationId {id:?}"));
            }
            if operation["summary"].as_str().is_none_or(str::is_empty) {
                problems.push(format!("{name}: no summary"));
            }
            if operation["responses"]
                .as_object()
                .is_none_or(|r| r.is_empty())
            {
                problems.push(format!("{name}: no responses"));
            }
            let parameters = operation["parameters"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            for segment in path.split('/') {
                let Some(param) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}'))
                else {
                    continue;
                };
                let declared = parameters
                    .iter()
                    .any(|p| p["in"] == "path" && p["name"] == param && p["required"] == true);
                if !declared {
                    problems.push(format!("{name}: path parameter {param} not declared"));
                }
            }
            let request = &operation["requestBody"]["content"]["application/json"];
            if !request.is_null() && request["example"].is_null() {
                problems.push(format!("{name}: the request body has no example"));
            }
        }
    }
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));
}

#[test]
fn every_example_validates_against_its_schema() {
    let doc = document();
    let mut found = Vec::new();
    examples("#", &doc, &mut found);
    assert!(found.len() > 50, "only {} examples found", found.len());
    let failures: Vec<String> = found
        .iter()
        .flat_map(|(at, schema, example)| {
            violations(&doc, schema, example)
                .into_iter()
                .map(move |why| format!("{at}: {why}"))
        })
        .collect();
    assert!(failures.is_empty(), "\n{}\n", failures.join("\n"));
}

/// The schema the document gives for answers of `status` to `method path`.
fn answer_schema(doc: &Value, method: &str, path: &str, status: u16) -> Value {
    let mut response = doc["paths"][path][method]["responses"][status.to_string()].clone();
    if let Some(reference) = response["$ref"].as_str() {
        let name = reference.trim_start_matches("#/components/responses/");
        response = doc["components"]["responses"][name].clone();
    }
    let schema = response["content"]["application/json"]["schema"].clone();
    assert!(
        !schema.is_null(),
        "{method} {path} has no JSON answer for {status}"
    );
    schema
}

/// Fails unless `answer` (status and body) is what the document says `method path` answers.
fn check(doc: &Value, method: &str, path: &str, answer: &(u16, Value)) {
    let (status, body) = answer;
    let schema = answer_schema(doc, method, path, *status);
    let why = violations(doc, &schema, body);
    assert!(
        why.is_empty(),
        "{method} {path} answered {status} {body}\nwhich its description refuses: {why:?}"
    );
}

#[tokio::test]
async fn the_document_is_served_and_real_answers_match_it() {
    let doc = document();
    let server = start().await;
    let response = server
        .http
        .get(server.url("/api/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.json::<Value>().await.unwrap(), doc);

    let body = json!({"email": "ann@example.com", "password": PASSWORD_FOR_TESTS, "name": "Ann"});
    let registered = server.post("/api/register", None, body).await;
    check(&doc, "post", "/api/register", &registered);
    let ann = registered.1["token"].as_str().unwrap().to_owned();
    let bob = server.register("Bob").await;
    check(
        &doc,
        "get",
        "/api/me",
        &server.get("/api/me", Some(&ann)).await,
    );
    let users = server.get("/api/all-users?q=bo", Some(&ann)).await;
    check(&doc, "get", "/api/all-users", &users);
    let opened = server
        .post("/api/chats", Some(&ann), json!({"to_user_id": bob.id}))
        .await;
    check(&doc, "post", "/api/chats", &opened);
    let room = opened.1["_id"].as_str().unwrap().to_owned();
    let sent = server
        .post(
            &format!("/api/messages/{room}"),
            Some(&ann),
            json!({"message": "hi", "client_id": "c1"}),
        )
        .await;
    check(&doc, "post", "/api/messages/{room_id}", &sent);
    let history = server
        .get(&format!("/api/messages/{room}"), Some(&ann))
        .await;
    check(&doc, "get", "/api/messages/{room_id}", &history);
    check(
        &doc,
        "get",
        "/api/chats",
        &server.get("/api/chats", Some(&ann)).await,
    );
    let created = server
        .post(
            "/api/rooms",
            Some(&ann),
            json!({"name": "Team", "member_ids": [bob.id]}),
        )
        .await;
    check(&doc, "post", "/api/rooms", &created);
    let group = created.1["_id"].as_str().unwrap().to_owned();
    let members = server
        .get(&format!("/api/rooms/{group}/members"), Some(&ann))
        .await;
    check(&doc, "get", "/api/rooms/{room_id}/members", &members);
    let timeline = server
        .get(&format!("/api/messages/{group}"), Some(&ann))
        .await;
    check(&doc, "get", "/api/messages/{room_id}", &timeline);
    check(&doc, "get", "/readyz", &server.get("/readyz", None).await);
    check(&doc, "get", "/healthz", &server.get("/healthz", None).await);

    let unknown = server
        .get("/api/rooms/65f0a1b2c3d4e5f601234567", Some(&ann))
        .await;
    assert_eq!(unknown.0, 404);
    check(&doc, "get", "/api/rooms/{room_id}", &unknown);
    let anonymous = server.get("/api/me", None).await;
    check(&doc, "get", "/api/me", &anonymous);
    let bad = server
        .post(
            "/api/login",
            None,
            json!({"email": "ann@example.com", "password": "nope"}),
        )
        .await;
    check(&doc, "post", "/api/login", &bad);
}

/// The password the test kit registers users with.
const PASSWORD_FOR_TESTS: &str = chat_testkit::client::PASSWORD;
