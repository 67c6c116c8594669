//! The store's behaviour, the same on SQLite and PostgreSQL: idempotent ingest, the queue,
//! cases, the workflow with its roles and optimistic concurrency, users and the audit chain.

mod common;

use common::{alert_line, each_backend};
use pumpwatch_store::alerts::{IncomingAlert, QueueFilter, QueueSort};
use pumpwatch_store::cases::Grouping;
use pumpwatch_store::users::Role;
use pumpwatch_store::workflow::{Change, Disposition, Entity};
use pumpwatch_store::{Store, StoreError};

fn incoming(lines: &[String]) -> Vec<IncomingAlert> {
    lines
        .iter()
        .map(|l| IncomingAlert::from_line(l).unwrap())
        .collect()
}

fn day_alerts() -> Vec<String> {
    vec![
        alert_line("a1", "2025-03-17T10:00:00+09:00", 90, "A1", "7992"),
        alert_line("a2", "2025-03-17T10:20:00+09:00", 55, "A2", "7992"),
        alert_line("a3", "2025-03-17T11:00:00+09:00", 70, "A3", "130A"),
        alert_line("a4", "2025-03-17T15:20:00+09:00", 30, "A4", "7992"),
        alert_line("a5", "2025-03-18T09:10:00+09:00", 80, "A1", "130A"),
    ]
}

async fn loaded(store: &Store) {
    let report = store
        .ingest_alerts(
            "system:test",
            &incoming(&day_alerts()),
            &Grouping { window_secs: 3600 },
        )
        .await
        .unwrap();
    assert_eq!(
        (report.received, report.stored, report.already_stored),
        (5, 5, 0)
    );
}

#[tokio::test]
async fn loading_the_same_alerts_twice_changes_nothing() {
    for t in each_backend().await {
        let store = &t.store;
        loaded(store).await;
        let before = store.audit_entries(None, 0, 1000).await.unwrap();
        let again = store
            .ingest_alerts(
                "system:test",
                &incoming(&day_alerts()),
                &Grouping::default(),
            )
            .await
            .unwrap();
        assert_eq!(
            (again.stored, again.already_stored, again.grouped),
            (0, 5, 0),
            "{}",
            t.url
        );
        assert_eq!(store.state_counts().await.unwrap().total, 5);
        assert_eq!(
            store.audit_entries(None, 0, 1000).await.unwrap(),
            before,
            "{}",
            t.url
        );
        let (item, body) = store.alert("a1").await.unwrap();
        assert_eq!(item.score, 90);
        assert_eq!(
            body,
            serde_json::from_str::<serde_json::Value>(&day_alerts()[0]).unwrap()
        );
    }
}

#[tokio::test]
async fn the_queue_filters_sorts_and_pages() {
    for t in each_backend().await {
        let store = &t.store;
        loaded(store).await;
        let ids = |page: &pumpwatch_store::alerts::QueuePage| {
            page.items
                .iter()
                .map(|i| i.alert_id.clone())
                .collect::<Vec<_>>()
        };
        let all = store.queue(&QueueFilter::default()).await.unwrap();
        assert_eq!(
            ids(&all),
            ["a1", "a5", "a3", "a2", "a4"],
            "riskiest first on {}",
            t.url
        );
        let by_time = store
            .queue(&QueueFilter {
                sort: Some(QueueSort::Time),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(ids(&by_time), ["a5", "a4", "a3", "a2", "a1"]);
        let symbol = store
            .queue(&QueueFilter {
                symbol: Some("130A".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(ids(&symbol), ["a5", "a3"]);
        let account = store
            .queue(&QueueFilter {
                account: Some("A1".into()),
                severity: Some("critical".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(ids(&account), ["a1"]);
        let window = store
            .queue(&QueueFilter {
                from: Some("2025-03-17T10:10:00+09:00".into()),
                to: Some("2025-03-17T02:00:00Z".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(ids(&window), ["a2"], "10:10 to 11:00 JST");
        let page2 = store
            .queue(&QueueFilter {
                page: Some(2),
                page_size: Some(2),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(
            (ids(&page2), page2.total),
            (vec!["a3".to_string(), "a2".to_string()], 5)
        );
        let bad = store
            .queue(&QueueFilter {
                state: Some("open".into()),
                ..Default::default()
            })
            .await;
        assert!(matches!(bad, Err(StoreError::Invalid(_))));
        let bad = store
            .queue(&QueueFilter {
                from: Some("yesterday".into()),
                ..Default::default()
            })
            .await;
        assert!(matches!(bad, Err(StoreError::Invalid(_))));
    }
}

#[tokio::test]
async fn alerts_on_one_symbol_close_in_time_form_a_case() {
    for t in each_backend().await {
        let store = &t.store;
        loaded(store).await;
        let (cases, total) = store.cases(None, 1, 50).await.unwrap();
        assert_eq!(total, 1, "{}: {cases:?}", t.url);
        let case = store.case(&cases[0].case_id).await.unwrap();
        let ids: Vec<_> = case.alerts.iter().map(|a| a.alert_id.as_str()).collect();
        // a4 is on 7992 too but five hours later; a3 and a5 share 130A on different days.
        assert_eq!(ids, ["a1", "a2"]);
        assert_eq!(
            (case.case.score, case.case.severity.as_str()),
            (90, "critical")
        );
        assert_eq!(case.accounts, ["A1", "A2"]);
        let in_case = store
            .queue(&QueueFilter {
                case_id: Some(case.case.case_id.clone()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(in_case.total, 2);
    }
}

#[tokio::test]
async fn the_workflow_needs_approval_for_high_items_and_audits_every_step() {
    for t in each_backend().await {
        let store = &t.store;
        loaded(store).await;
        let (ann, _) = store
            .add_user("admin:test", "ann", Role::Analyst, None)
            .await
            .unwrap();
        let (sue, _) = store
            .add_user("admin:test", "sue", Role::Supervisor, None)
            .await
            .unwrap();
        let s = store
            .change(
                &ann,
                Entity::Alert,
                "a3",
                1,
                &Change::Assign {
                    assignee: "ann".into(),
                },
            )
            .await
            .unwrap();
        assert_eq!((s.state.as_str(), s.version), ("assigned", 2));
        store
            .comment(&ann, Entity::Alert, "a3", "orders from a new device")
            .await
            .unwrap();
        let close = Change::Close {
            disposition: Disposition::OrdersHeld,
            reason: "held the remaining buys".into(),
        };
        let s = store
            .change(&ann, Entity::Alert, "a3", 2, &close)
            .await
            .unwrap();
        assert_eq!(s.state, "pending_approval");
        let stale = store
            .change(&sue, Entity::Alert, "a3", 2, &Change::Approve)
            .await;
        assert!(
            matches!(stale, Err(StoreError::VersionConflict { current: 3, .. })),
            "{stale:?}"
        );
        let s = store
            .change(&sue, Entity::Alert, "a3", 3, &Change::Approve)
            .await
            .unwrap();
        assert_eq!(
            (s.state.as_str(), s.disposition.as_deref()),
            ("closed", Some("orders_held"))
        );
        let entries = store
            .audit_entries(Some(("alert", "a3")), 0, 100)
            .await
            .unwrap();
        let actions: Vec<_> = entries
            .iter()
            .map(|e| (e.actor.as_str(), e.action.as_str()))
            .collect();
        assert_eq!(
            actions,
            [
                ("ann", "assign"),
                ("ann", "comment"),
                ("ann", "close"),
                ("sue", "approve")
            ]
        );
        assert_eq!(entries[2].after["reason"], "held the remaining buys");
        assert_eq!(entries[3].before["state"], "pending_approval");
        assert_eq!(store.comments(Entity::Alert, "a3").await.unwrap().len(), 1);
        let counts = store.state_counts().await.unwrap();
        assert_eq!((counts.closed, counts.new), (1, 4));
        let verified = store.verify_audit().await.unwrap();
        assert!(verified.intact, "{verified:?}");
    }
}

#[tokio::test]
async fn closing_a_case_closes_its_alerts() {
    for t in each_backend().await {
        let store = &t.store;
        loaded(store).await;
        let (sue, _) = store
            .add_user("admin:test", "sue", Role::Supervisor, None)
            .await
            .unwrap();
        let (cases, _) = store.cases(None, 1, 10).await.unwrap();
        let case_id = cases[0].case_id.clone();
        let case_version = cases[0].version;
        assert_eq!(case_version, 3, "created, then two alerts joined");
        let close = Change::Close {
            disposition: Disposition::ReportedToRegulator,
            reason: "one campaign, reported".into(),
        };
        store
            .change(&sue, Entity::Case, &case_id, case_version, &close)
            .await
            .unwrap();
        for id in ["a1", "a2"] {
            let s = store.work_state(Entity::Alert, id).await.unwrap();
            assert_eq!(
                (s.state.as_str(), s.disposition.as_deref()),
                ("closed", Some("reported_to_regulator"))
            );
        }
        assert_eq!(
            store.work_state(Entity::Alert, "a3").await.unwrap().state,
            "new"
        );
        assert!(store.verify_audit().await.unwrap().intact);
    }
}

#[tokio::test]
async fn concurrent_edits_of_one_alert_never_lose_one() {
    for t in each_backend().await {
        let store = &t.store;
        loaded(store).await;
        let (sue, _) = store
            .add_user("admin:test", "sue", Role::Supervisor, None)
            .await
            .unwrap();
        for name in ["u0", "u1", "u2", "u3", "u4", "u5", "u6", "u7"] {
            store
                .add_user("admin:test", name, Role::Analyst, None)
                .await
                .unwrap();
        }
        // Eight supervisors' clients assign a3 to eight users, all from version 1.
        let mut tasks = Vec::new();
        for i in 0..8 {
            let store = store.clone();
            let sue = sue.clone();
            tasks.push(tokio::spawn(async move {
                store
                    .change(
                        &sue,
                        Entity::Alert,
                        "a3",
                        1,
                        &Change::Assign {
                            assignee: format!("u{i}"),
                        },
                    )
                    .await
            }));
        }
        let mut won = Vec::new();
        for task in tasks {
            match task.await.unwrap() {
                Ok(state) => won.push(state.assignee.unwrap()),
                Err(StoreError::VersionConflict { .. }) => {}
                Err(other) => panic!("{}: {other}", t.url),
            }
        }
        assert_eq!(
            won.len(),
            1,
            "exactly one edit from version 1 wins on {}",
            t.url
        );
        let state = store.work_state(Entity::Alert, "a3").await.unwrap();
        assert_eq!((state.version, state.assignee.as_ref()), (2, Some(&won[0])));
        let entries = store
            .audit_entries(Some(("alert", "a3")), 0, 100)
            .await
            .unwrap();
        assert_eq!(entries.len(), 1);
        assert!(store.verify_audit().await.unwrap().intact);
    }
}

#[tokio::test]
async fn users_log_in_with_passwords_and_tokens() {
    for t in each_backend().await {
        let store = &t.store;
        let (user, token) = store
            .add_user(
                "admin:test",
                "ann",
                Role::Analyst,
                Some("correct horse battery"),
            )
            .await
            .unwrap();
        assert!(user.has_password && token.starts_with("pwt_"));
        assert!(matches!(
            store.add_user("admin:test", "ann", Role::Admin, None).await,
            Err(StoreError::AlreadyExists(_))
        ));
        assert!(store
            .add_user("admin:test", "bob", Role::Analyst, Some("short"))
            .await
            .is_err());
        assert_eq!(
            store.user_by_token(&token).await.unwrap().unwrap().name,
            "ann"
        );
        assert!(store.user_by_token("pwt_guess").await.unwrap().is_none());
        assert!(store
            .check_login("ann", "correct horse battery")
            .await
            .unwrap()
            .is_some());
        assert!(store
            .check_login("ann", "wrong horse battery")
            .await
            .unwrap()
            .is_none());
        assert!(store
            .check_login("nobody", "correct horse battery")
            .await
            .unwrap()
            .is_none());
        let (cookie, session) = store.open_session(&user).await.unwrap();
        assert_eq!(
            store.session(&cookie).await.unwrap().unwrap().csrf_token,
            session.csrf_token
        );
        store.close_session(&cookie).await.unwrap();
        assert!(store.session(&cookie).await.unwrap().is_none());
        let (cookie, _) = store.open_session(&user).await.unwrap();
        assert_eq!(store.revoke_tokens("admin:test", "ann").await.unwrap(), 1);
        assert!(store.user_by_token(&token).await.unwrap().is_none());
        assert!(
            store.session(&cookie).await.unwrap().is_none(),
            "revoking ends sessions"
        );
        assert!(store.verify_audit().await.unwrap().intact);
    }
}

#[tokio::test]
async fn the_database_refuses_to_edit_the_audit_log_and_verify_finds_tampering() {
    use sqlx::Connection;
    for t in each_backend().await {
        let store = &t.store;
        loaded(store).await;
        assert!(store.verify_audit().await.unwrap().entries >= 2);
        let postgres = t.url.starts_with("postgres");
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&t.url).await.unwrap();
        for statement in [
            "UPDATE audit_log SET actor = 'mallory' WHERE seq = 1",
            "DELETE FROM audit_log WHERE seq = 2",
        ] {
            let refused = sqlx::query(statement).execute(&mut conn).await;
            assert!(refused.is_err(), "{statement} must be refused on {}", t.url);
            assert!(refused.unwrap_err().to_string().contains("append-only"));
        }
        // Someone with the power to drop the trigger edits an entry: the chain shows it.
        if postgres {
            sqlx::query("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update")
                .execute(&mut conn)
                .await
                .unwrap();
        } else {
            sqlx::query("DROP TRIGGER audit_log_no_update")
                .execute(&mut conn)
                .await
                .unwrap();
        }
        sqlx::query("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2")
            .execute(&mut conn)
            .await
            .unwrap();
        let verified = store.verify_audit().await.unwrap();
        assert!(!verified.intact);
        assert_eq!(verified.broken_at, Some(2), "{verified:?}");
        assert!(verified.problem.unwrap().contains("altered"));
    }
}

#[tokio::test]
async fn alerts_far_apart_join_one_case_when_their_accounts_traded_with_each_other() {
    use pumpwatch_store::context::{DayContext, ExecutionLink};
    for t in each_backend().await {
        let store = &t.store;
        // V1 bought 4599 from B1 in the morning; B1's alert comes six hours later.
        let context = DayContext {
            links: vec![ExecutionLink {
                symbol: "4599".into(),
                day: "2025-03-17".into(),
                buyer: "V1".into(),
                seller: "B1".into(),
                qty: 5000,
                notional: "560000".into(),
                fills: 3,
                first_ts_utc: "2025-03-17T00:10:00.000000Z".into(),
                last_ts_utc: "2025-03-17T00:20:00.000000Z".into(),
            }],
            ..Default::default()
        };
        store.put_market_context(&context).await.unwrap();
        let lines = vec![
            alert_line("v1", "2025-03-17T09:15:00+09:00", 85, "V1", "4599"),
            alert_line("x1", "2025-03-17T12:20:00+09:00", 45, "X1", "4599"),
            alert_line("b1", "2025-03-17T15:25:00+09:00", 60, "B1", "4599"),
        ];
        let report = store
            .ingest_alerts(
                "system:test",
                &incoming(&lines),
                &Grouping { window_secs: 3600 },
            )
            .await
            .unwrap();
        assert_eq!(report.grouped, 2, "{}: v1 and b1 only", t.url);
        let (cases, total) = store.cases(None, 1, 10).await.unwrap();
        assert_eq!(total, 1);
        let case = store.case(&cases[0].case_id).await.unwrap();
        let ids: Vec<_> = case.alerts.iter().map(|a| a.alert_id.as_str()).collect();
        assert_eq!(
            ids,
            ["v1", "b1"],
            "x1 is more than the window from both and trades with neither"
        );
        assert_eq!(case.links.len(), 1);
    }
}

/// Alerts on different symbols join one case when one's login evidence links it to the
/// other's account (a login from the same IP or device); an unlinked alert stays alone.
#[tokio::test]
async fn alerts_linked_by_shared_logins_form_a_case() {
    let linked = |id: &str, ts: &str, account: &str, symbol: &str, links: &[&str]| {
        let mut alert: serde_json::Value =
            serde_json::from_str(&alert_line(id, ts, 70, account, symbol)).unwrap();
        let evidence = alert["evidence"].as_array_mut().unwrap();
        for other in links {
            evidence.push(
                serde_json::json!({"type": "linked_account", "id": "ip 203.0.113.9",
                "ts": ts, "account_id": other, "note": "logged in from the same IP"}),
            );
        }
        alert.to_string()
    };
    let lines = vec![
        linked("b1", "2025-03-17T10:00:00+09:00", "A7", "7992", &[]),
        linked("b2", "2025-03-17T10:30:00+09:00", "A8", "130A", &["A7"]),
        linked("b3", "2025-03-17T10:40:00+09:00", "A9", "6758", &[]),
    ];
    for t in each_backend().await {
        let store = &t.store;
        store
            .ingest_alerts("system:test", &incoming(&lines), &Grouping::default())
            .await
            .unwrap();
        let (cases, total) = store.cases(None, 1, 50).await.unwrap();
        assert_eq!(total, 1, "{}: {cases:?}", t.url);
        assert_eq!(
            cases[0].title, "Shared login infrastructure: A8 on 2025-03-17",
            "{}",
            t.url
        );
        let case = store.case(&cases[0].case_id).await.unwrap();
        let ids: Vec<_> = case.alerts.iter().map(|a| a.alert_id.as_str()).collect();
        assert_eq!(ids, ["b1", "b2"], "{}", t.url);
    }
}

#[tokio::test]
async fn an_analyst_closes_a_case_only_when_its_alerts_are_theirs_to_close() {
    for t in each_backend().await {
        let store = &t.store;
        let lines = vec![
            alert_line("l1", "2025-03-17T10:00:00+09:00", 30, "L1", "9999"),
            alert_line("l2", "2025-03-17T10:05:00+09:00", 35, "L2", "9999"),
        ];
        store
            .ingest_alerts("system:test", &incoming(&lines), &Grouping::default())
            .await
            .unwrap();
        let (ann, _) = store
            .add_user("admin:test", "ann", Role::Analyst, None)
            .await
            .unwrap();
        let (bob, _) = store
            .add_user("admin:test", "bob", Role::Analyst, None)
            .await
            .unwrap();
        let l1 = store.work_state(Entity::Alert, "l1").await.unwrap();
        store
            .change(
                &ann,
                Entity::Alert,
                "l1",
                l1.version,
                &Change::Assign {
                    assignee: "ann".into(),
                },
            )
            .await
            .unwrap();
        let (cases, _) = store.cases(None, 1, 10).await.unwrap();
        let case = &cases[0];
        assert_eq!(case.severity, "low");
        let close = Change::Close {
            disposition: Disposition::FalsePositive,
            reason: "a small-cap fan".into(),
        };
        let refused = store
            .change(&bob, Entity::Case, &case.case_id, case.version, &close)
            .await;
        assert!(
            matches!(refused, Err(StoreError::Forbidden(_))),
            "{refused:?} on {}",
            t.url
        );
        assert_eq!(
            store.work_state(Entity::Alert, "l1").await.unwrap().state,
            "assigned",
            "rolled back"
        );
        assert_eq!(
            store
                .work_state(Entity::Case, &case.case_id)
                .await
                .unwrap()
                .state,
            "new"
        );
        store
            .change(&ann, Entity::Case, &case.case_id, case.version, &close)
            .await
            .unwrap();
        assert_eq!(
            store.work_state(Entity::Alert, "l2").await.unwrap().state,
            "closed"
        );
        assert!(store.verify_audit().await.unwrap().intact);
    }
}

#[tokio::test]
async fn stores_opened_at_once_on_a_new_sqlite_file_all_migrate() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("new.db").display());
    let opens: Vec<_> = (0..6)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { Store::open(&url).await.map(|_| ()) })
        })
        .collect();
    for open in opens {
        open.await
            .unwrap()
            .expect("every process opening a new store gets one");
    }
    let store = Store::open(&url).await.unwrap();
    assert_eq!(store.state_counts().await.unwrap().total, 0);
}
