//! The HTTP API against a real server on loopback, on SQLite and on PostgreSQL: credentials
//! and roles on every path, CSRF, the login limit, clear 4xx errors, the workflow and
//! optimistic concurrency over HTTP, and the evidence export.

#[path = "../../pumpwatch-store/tests/common/mod.rs"]
mod common;

use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};

struct Server {
    base: String,
    admin: String,
    analyst: String,
    supervisor: String,
    alert_ids: Vec<String>,
    _store: common::TestStore,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

async fn start(store: common::TestStore) -> Server {
    let s = &store.store;
    let alert_ids = common::seed_scenarios(s).await;
    let (_, admin) = s
        .add_user(
            "cli:test",
            "root",
            pumpwatch_store::users::Role::Admin,
            None,
        )
        .await
        .unwrap();
    let (_, analyst) = s
        .add_user(
            "cli:test",
            "ann",
            pumpwatch_store::users::Role::Analyst,
            Some("ann's long password"),
        )
        .await
        .unwrap();
    let (_, supervisor) = s
        .add_user(
            "cli:test",
            "sue",
            pumpwatch_store::users::Role::Supervisor,
            Some("sue's long password"),
        )
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let state = pumpwatch_web::AppState::new(s.clone());
    tokio::spawn(pumpwatch_web::serve(state, listener, async {
        let _ = rx.await;
    }));
    Server {
        base,
        admin,
        analyst,
        supervisor,
        alert_ids,
        _store: store,
        _shutdown: tx,
    }
}

async fn call(
    client: &Client,
    method: Method,
    url: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = client.request(method, url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, value)
}

fn is_error_body(value: &Value) -> bool {
    value["error"].is_string() && value["message"].is_string()
}

#[tokio::test]
async fn every_path_but_healthz_and_login_needs_credentials() {
    for store in common::each_backend().await {
        let server = start(store).await;
        let client = Client::new();
        let (status, _) = call(
            &client,
            Method::GET,
            &format!("{}/healthz", server.base),
            None,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let (status, doc) = call(
            &client,
            Method::GET,
            &format!("{}/api/openapi.json", server.base),
            Some(&server.analyst),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let mut checked = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in ["get", "post", "delete"] {
                if item.get(method).is_none() || path == "/healthz" || path == "/api/login" {
                    continue;
                }
                let url = format!(
                    "{}{}",
                    server.base,
                    path.replace("{alert_id}", "x")
                        .replace("{case_id}", "x")
                        .replace("{name}", "x")
                );
                let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
                let (status, body) =
                    call(&client, method.clone(), &url, None, Some(json!({}))).await;
                assert_eq!(
                    status,
                    StatusCode::UNAUTHORIZED,
                    "{method} {path} without credentials"
                );
                assert!(is_error_body(&body), "{body}");
                let (status, _) = call(
                    &client,
                    method.clone(),
                    &url,
                    Some("pwt_not_a_token"),
                    Some(json!({})),
                )
                .await;
                assert_eq!(
                    status,
                    StatusCode::UNAUTHORIZED,
                    "{method} {path} with a wrong token"
                );
                checked += 1;
            }
        }
        assert!(checked >= 18, "only {checked} operations in the document");
    }
}

#[tokio::test]
async fn roles_are_enforced() {
    for store in common::each_backend().await {
        let server = start(store).await;
        let client = Client::new();
        let b = &server.base;
        let new_user = json!({"name": "zed", "role": "analyst"});
        let (status, body) = call(
            &client,
            Method::POST,
            &format!("{b}/api/users"),
            Some(&server.analyst),
            Some(new_user.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert!(is_error_body(&body));
        let (status, _) = call(
            &client,
            Method::POST,
            &format!("{b}/api/users"),
            Some(&server.supervisor),
            Some(new_user.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, body) = call(
            &client,
            Method::POST,
            &format!("{b}/api/users"),
            Some(&server.admin),
            Some(new_user),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let token = body["token"].as_str().unwrap().to_string();
        let (status, me) = call(
            &client,
            Method::GET,
            &format!("{b}/api/me"),
            Some(&token),
            None,
        )
        .await;
        assert_eq!(
            (status, me["user"]["name"].as_str()),
            (StatusCode::OK, Some("zed"))
        );
        let (status, _) = call(
            &client,
            Method::GET,
            &format!("{b}/api/audit/verify"),
            Some(&server.analyst),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, verified) = call(
            &client,
            Method::GET,
            &format!("{b}/api/audit/verify"),
            Some(&server.supervisor),
            None,
        )
        .await;
        assert_eq!(
            (status, verified["intact"].as_bool()),
            (StatusCode::OK, Some(true))
        );
        let (status, _) = call(
            &client,
            Method::DELETE,
            &format!("{b}/api/users/zed/tokens"),
            Some(&server.admin),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = call(
            &client,
            Method::GET,
            &format!("{b}/api/me"),
            Some(&token),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "a revoked token");
    }
}

#[tokio::test]
async fn bad_requests_get_clear_json_errors() {
    for store in common::each_backend().await {
        let server = start(store).await;
        let client = Client::new();
        let b = &server.base;
        let t = Some(server.analyst.as_str());
        for (method, path, body, want) in [
            (
                Method::GET,
                "/api/alerts?page_size=0",
                None,
                StatusCode::BAD_REQUEST,
            ),
            (
                Method::GET,
                "/api/alerts?state=open",
                None,
                StatusCode::BAD_REQUEST,
            ),
            (
                Method::GET,
                "/api/alerts?sort=sideways",
                None,
                StatusCode::BAD_REQUEST,
            ),
            (
                Method::GET,
                "/api/alerts?from=yesterday",
                None,
                StatusCode::BAD_REQUEST,
            ),
            (
                Method::GET,
                "/api/alerts?page=abc",
                None,
                StatusCode::BAD_REQUEST,
            ),
            (
                Method::GET,
                "/api/alerts/no-such-alert",
                None,
                StatusCode::NOT_FOUND,
            ),
            (
                Method::GET,
                "/api/cases/no-such-case",
                None,
                StatusCode::NOT_FOUND,
            ),
            (Method::GET, "/api/nowhere", None, StatusCode::NOT_FOUND),
            (
                Method::POST,
                "/api/alerts/no-such-alert/workflow",
                Some(json!({"version": 1, "change": {"action": "approve"}})),
                StatusCode::NOT_FOUND,
            ),
            (
                Method::POST,
                "/api/alerts/x/workflow",
                Some(json!({"version": "one"})),
                StatusCode::BAD_REQUEST,
            ),
            (
                Method::POST,
                "/api/alerts/x/workflow",
                Some(json!({"version": 1, "change": {"action": "explode"}})),
                StatusCode::BAD_REQUEST,
            ),
            (
                Method::GET,
                "/api/audit?limit=0",
                None,
                StatusCode::BAD_REQUEST,
            ),
            (
                Method::GET,
                "/api/audit?entity_type=alert",
                None,
                StatusCode::BAD_REQUEST,
            ),
        ] {
            let (status, value) =
                call(&client, method.clone(), &format!("{b}{path}"), t, body).await;
            assert_eq!(status, want, "{method} {path}: {value}");
            assert!(is_error_body(&value), "{method} {path}: {value}");
        }
        // A body that is not JSON at all.
        let response = client
            .post(format!("{b}/api/alerts/x/comments"))
            .bearer_auth(&server.analyst)
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert!(is_error_body(&response.json::<Value>().await.unwrap()));
        let id = &server.alert_ids[0];
        let (_, page) = call(
            &client,
            Method::GET,
            &format!("{b}/api/alerts/{id}"),
            t,
            None,
        )
        .await;
        let version = page["item"]["version"].as_i64().unwrap();
        let no_reason = json!({"version": version, "change": {"action": "close", "disposition": "false_positive", "reason": ""}});
        let (status, value) = call(
            &client,
            Method::POST,
            &format!("{b}/api/alerts/{id}/workflow"),
            t,
            Some(no_reason),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{value}");
        assert!(value["message"].as_str().unwrap().contains("reason"));
    }
}

#[tokio::test]
async fn a_browser_session_needs_its_csrf_token_and_logins_are_limited() {
    for store in common::each_backend().await {
        let server = start(store).await;
        let b = &server.base;
        let client = Client::builder().cookie_store(true).build().unwrap();
        let login = |name: &str, password: &str| {
            client
                .post(format!("{b}/api/login"))
                .json(&json!({"name": name, "password": password}))
                .send()
        };
        let response = login("ann", "ann's long password").await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let cookie = response.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
            "{cookie}"
        );
        let me: Value = response.json().await.unwrap();
        let csrf = me["csrf_token"].as_str().unwrap().to_string();
        let page: Value = client
            .get(format!("{b}/api/alerts"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(page["total"].as_i64(), Some(server.alert_ids.len() as i64));
        let id = &server.alert_ids[0];
        let comment = json!({"body": "looked at the login"});
        let forged = client
            .post(format!("{b}/api/alerts/{id}/comments"))
            .json(&comment)
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status(), StatusCode::FORBIDDEN, "no CSRF token");
        let wrong = client
            .post(format!("{b}/api/alerts/{id}/comments"))
            .header("x-csrf-token", "0000")
            .json(&comment)
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), StatusCode::FORBIDDEN, "a wrong CSRF token");
        let ok = client
            .post(format!("{b}/api/alerts/{id}/comments"))
            .header("x-csrf-token", &csrf)
            .json(&comment)
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), StatusCode::OK);
        let out = client
            .post(format!("{b}/api/logout"))
            .header("x-csrf-token", &csrf)
            .send()
            .await
            .unwrap();
        assert_eq!(out.status(), StatusCode::NO_CONTENT);
        assert_eq!(
            client
                .get(format!("{b}/api/me"))
                .send()
                .await
                .unwrap()
                .status(),
            StatusCode::UNAUTHORIZED
        );

        for _ in 0..5 {
            assert_eq!(
                login("sue", "not sue's password").await.unwrap().status(),
                StatusCode::UNAUTHORIZED
            );
        }
        let limited = login("sue", "sue's long password").await.unwrap();
        assert_eq!(
            limited.status(),
            StatusCode::TOO_MANY_REQUESTS,
            "the right password after 5 failures"
        );
        assert!(limited.headers().contains_key("retry-after"));
    }
}

#[tokio::test]
async fn the_workflow_over_http_with_approval_and_audit() {
    for store in common::each_backend().await {
        let server = start(store).await;
        let client = Client::new();
        let b = &server.base;
        let (_, queue) = call(
            &client,
            Method::GET,
            &format!("{b}/api/alerts?severity=high"),
            Some(&server.analyst),
            None,
        )
        .await;
        let id = queue["items"][0]["alert_id"]
            .as_str()
            .expect("a high-severity scenario alert")
            .to_string();
        let url = format!("{b}/api/alerts/{id}/workflow");
        // An alert that joined a case has moved past version 1: start from what the queue says.
        let v = queue["items"][0]["version"].as_i64().unwrap();
        let change =
            |step: i64, change: Value| Some(json!({"version": v + step - 1, "change": change}));
        let (status, state) = call(
            &client,
            Method::POST,
            &url,
            Some(&server.analyst),
            change(1, json!({"action": "assign", "assignee": "ann"})),
        )
        .await;
        assert_eq!(
            (status, state["state"].as_str()),
            (StatusCode::OK, Some("assigned"))
        );
        let close = json!({"action": "close", "disposition": "orders_held", "reason": "held the rest of the buys"});
        let (_, state) = call(
            &client,
            Method::POST,
            &url,
            Some(&server.analyst),
            change(2, close),
        )
        .await;
        assert_eq!(state["state"], "pending_approval");
        let (status, _) = call(
            &client,
            Method::POST,
            &url,
            Some(&server.analyst),
            change(3, json!({"action": "approve"})),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, state) = call(
            &client,
            Method::POST,
            &url,
            Some(&server.supervisor),
            change(3, json!({"action": "approve"})),
        )
        .await;
        assert_eq!(
            (status, state["disposition"].as_str()),
            (StatusCode::OK, Some("orders_held"))
        );
        let (_, page) = call(
            &client,
            Method::GET,
            &format!("{b}/api/alerts/{id}"),
            Some(&server.analyst),
            None,
        )
        .await;
        let actions: Vec<_> = page["audit"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert_eq!(actions, ["assign", "close", "approve"]);
        assert!(
            !page["bars"].as_array().unwrap().is_empty(),
            "the symbol's day is on the page"
        );
        assert!(
            !page["holdings"].as_array().unwrap().is_empty(),
            "holdings are on the page"
        );
        let (_, latest) = call(
            &client,
            Method::GET,
            &format!("{b}/api/audit?newest_first=true&limit=1"),
            Some(&server.analyst),
            None,
        )
        .await;
        assert_eq!(latest[0]["action"], "approve", "{latest}");
        let (_, counts) = call(
            &client,
            Method::GET,
            &format!("{b}/api/alerts/counts"),
            Some(&server.analyst),
            None,
        )
        .await;
        assert_eq!(counts["closed"], 1);
    }
}

#[tokio::test]
async fn concurrent_http_edits_of_one_alert_never_lose_one() {
    for store in common::each_backend().await {
        let server = start(store).await;
        let client = Client::new();
        let id = server.alert_ids[0].clone();
        let url = format!("{}/api/alerts/{id}/comments", server.base);
        let workflow = format!("{}/api/alerts/{id}/workflow", server.base);
        // Ten comments at once all land (no version needed); ten assignments from the version
        // the page showed: one wins, nine are told to reload.
        let (_, page) = call(
            &client,
            Method::GET,
            &format!("{}/api/alerts/{id}", server.base),
            Some(&server.analyst),
            None,
        )
        .await;
        let v0 = page["item"]["version"].as_i64().unwrap();
        let mut tasks = Vec::new();
        for i in 0..10 {
            let (client, url, token) = (client.clone(), url.clone(), server.supervisor.clone());
            tasks.push(tokio::spawn(async move {
                call(
                    &client,
                    Method::POST,
                    &url,
                    Some(&token),
                    Some(json!({"body": format!("note {i}")})),
                )
                .await
                .0
            }));
        }
        for i in 0..10 {
            let (client, url, token) =
                (client.clone(), workflow.clone(), server.supervisor.clone());
            let who = if i % 2 == 0 { "ann" } else { "sue" };
            tasks.push(tokio::spawn(async move {
                call(
                    &client,
                    Method::POST,
                    &url,
                    Some(&token),
                    Some(json!({"version": v0, "change": {"action": "assign", "assignee": who}})),
                )
                .await
                .0
            }));
        }
        let mut statuses = Vec::new();
        for task in tasks {
            statuses.push(task.await.unwrap());
        }
        assert!(
            statuses[..10].iter().all(|s| *s == StatusCode::OK),
            "{statuses:?}"
        );
        let won = statuses[10..]
            .iter()
            .filter(|s| **s == StatusCode::OK)
            .count();
        let conflicts = statuses[10..]
            .iter()
            .filter(|s| **s == StatusCode::CONFLICT)
            .count();
        assert_eq!((won, conflicts), (1, 9), "{statuses:?}");
        let (_, page) = call(
            &client,
            Method::GET,
            &format!("{}/api/alerts/{id}", server.base),
            Some(&server.analyst),
            None,
        )
        .await;
        assert_eq!(page["comments"].as_array().unwrap().len(), 10);
        assert_eq!(page["item"]["version"], v0 + 1);
        let (_, verified) = call(
            &client,
            Method::GET,
            &format!("{}/api/audit/verify", server.base),
            Some(&server.supervisor),
            None,
        )
        .await;
        assert_eq!(verified["intact"], true);
    }
}

#[tokio::test]
async fn a_case_exports_its_evidence_as_json_and_a_printable_report() {
    for store in common::each_backend().await {
        let server = start(store).await;
        let client = Client::new();
        let b = &server.base;
        // Two alerts on one symbol close in time make a case.
        let lines = [
            common::alert_line("c1", "2025-03-17T10:00:00+09:00", 80, "V1", "4599"),
            common::alert_line("c2", "2025-03-17T10:05:00+09:00", 60, "V2", "4599"),
        ];
        let alerts: Vec<_> = lines
            .iter()
            .map(|l| pumpwatch_store::alerts::IncomingAlert::from_line(l).unwrap())
            .collect();
        server
            ._store
            .store
            .ingest_alerts("system:test", &alerts, &Default::default())
            .await
            .unwrap();
        let (_, cases) = call(
            &client,
            Method::GET,
            &format!("{b}/api/cases"),
            Some(&server.analyst),
            None,
        )
        .await;
        let case = cases["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["title"].as_str().unwrap().contains("4599"))
            .unwrap();
        let case_id = case["case_id"].as_str().unwrap();
        let (status, bundle) = call(
            &client,
            Method::GET,
            &format!("{b}/api/cases/{case_id}/export"),
            Some(&server.analyst),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(bundle["alerts"].as_array().unwrap().len(), 2);
        assert_eq!(bundle["accounts"], json!(["V1", "V2"]));
        assert_eq!(bundle["timeline"].as_array().unwrap().len(), 2);
        assert_eq!(bundle["exported_by"], "ann");
        let report = client
            .get(format!("{b}/api/cases/{case_id}/report"))
            .bearer_auth(&server.analyst)
            .send()
            .await
            .unwrap();
        assert!(report.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        let html = report.text().await.unwrap();
        assert!(html.contains("V1") && html.contains("Timeline") && html.contains("Audit trail"));
    }
}
