//! `ato_session_liquidation`: the first stage of a takeover, before any buy — an account logged
//! into from a suspicious context sells a large part of its portfolio. Evaluated at each sell
//! order, so the broker can hold the account's orders (or ask for a second factor) while the
//! proceeds are still cash.

use std::collections::BTreeMap;

use pumpwatch_model::{Alert, Feature, Severity, Side, Timestamp};

use super::identity::Identity;
use super::{
    action_for, alert_id, explain, identity_features, measure, round4, to_f64, Context,
    NANOS_PER_SEC, SESSION_RULE,
};
use crate::account::AccountState;
use crate::detect::format::{duration, percent, plural, yen};
use crate::detect::Shared;

/// Evaluates the stage at the entry of the sell order at `trigger_index`.
pub(super) fn evaluate(
    ctx: &Context<'_>,
    account: &AccountState,
    shared: &Shared<'_>,
    trigger_index: usize,
    now: Timestamp,
) -> Option<Alert> {
    let c = ctx.config;
    let (_, trigger) = account.orders().iter().nth(trigger_index)?;
    if trigger.side != Side::Sell || trigger.cancelled {
        return None;
    }
    // Cheap rejections first: a sell of something held, in a session with a login or an order
    // from a session no login showed.
    if account
        .holding(trigger.symbol)
        .is_none_or(|h| h.sod_qty <= 0)
    {
        return None;
    }
    let cutoff = now.utc_nanos - ctx.window_nanos();
    let unseen_session = account
        .orders()
        .iter()
        .any(|(ts, leg)| *ts >= cutoff && leg.side == Side::Sell && leg.unseen_session);
    let any_auth = account.auth().iter().any(|(ts, _)| *ts >= cutoff);
    if !any_auth && !unseen_session {
        return None;
    }
    let identity = Identity::read(
        account,
        shared.logins,
        cutoff,
        now.utc_nanos,
        unseen_session,
    );
    if !identity.strong(c.strong_login_points_min) {
        return None;
    }
    let m = measure(ctx, account, shared.market, now);
    let portfolio = to_f64(m.portfolio_value);
    let sold = to_f64(m.sold_value);
    if portfolio <= 0.0 || sold < c.session_sold_value_min {
        return None;
    }
    let liquidated = sold / portfolio;
    if liquidated < c.session_liquidation_fraction_min {
        return None;
    }

    let mut parts: Vec<(&'static str, f64)> = vec![
        ("base", 25.0),
        ("liquidation", 15.0 * liquidated.clamp(0.0, 1.0)),
    ];
    let identity_parts = identity.points();
    let login_points: f64 = identity_parts.iter().map(|(_, p)| p).sum();
    parts.extend(identity_parts);
    let total: f64 = parts.iter().map(|(_, p)| p).sum();
    // At the bare strong minimum (a trip abroad without a second factor looks the same) the
    // stage asks the customer first: the score stays below step-up, and a thin buy escalates.
    let borderline = login_points < c.session_step_up_login_points_min;
    let ceiling = if borderline {
        f64::from(c.step_up_auth_score_min.saturating_sub(1))
    } else {
        100.0
    };
    if total > ceiling {
        parts.push(("borderline_login_cap", ceiling - total));
    }
    let score = total.min(ceiling).round().clamp(0.0, 100.0) as u8;

    let mut features = BTreeMap::new();
    features.insert(
        "liquidated_fraction".into(),
        Feature::at_least(round4(liquidated), c.session_liquidation_fraction_min),
    );
    features.insert(
        "sold_value".into(),
        Feature::at_least(sold.round(), c.session_sold_value_min),
    );
    features.insert(
        "login_points".into(),
        Feature::at_least(login_points, c.strong_login_points_min),
    );
    features.insert("portfolio_value".into(), Feature::info(portfolio.round()));
    features.insert("sell_orders".into(), Feature::info(m.sell_orders as f64));
    for (factor, points) in &parts {
        features.insert(format!("score_{factor}"), Feature::info(round4(*points)));
    }
    identity_features(&identity, &mut features);

    let account_id = account.id.to_string();
    let since = m
        .first_sell_nanos
        .map(|t| duration((now.utc_nanos - t) / NANOS_PER_SEC))
        .unwrap_or_default();
    let summary = format!(
        "Account {account_id} sold {} of its {} portfolio ({} within {since}) in a session with {}: a takeover may be under way, before the proceeds are spent; order {} is the latest sell.{}{}",
        percent(liquidated),
        yen(portfolio),
        plural(m.sell_orders, "sell order"),
        identity.describe(),
        trigger.order_id,
        shared_sentence(&identity),
        if borderline {
            " The login context alone could be a customer abroad: ask the customer first; a thin buy would escalate."
        } else {
            ""
        },
    );
    let mut evidence = explain::evidence(ctx, account, shared.market, &[], trigger, now);
    evidence.extend(explain::linked_accounts(&identity, now, c.evidence_max));
    evidence.truncate(c.evidence_max);
    let mut symbols: Vec<String> = account
        .orders()
        .iter()
        .filter(|(ts, leg)| *ts >= cutoff && leg.side == Side::Sell && leg.live_qty() > 0)
        .map(|(_, leg)| shared.market.get(leg.symbol).symbol().to_string())
        .collect();
    symbols.sort();
    symbols.dedup();
    Some(Alert {
        alert_id: alert_id(SESSION_RULE, &account_id, &trigger.order_id, now.utc_nanos),
        rule: SESSION_RULE.to_string(),
        ts: now,
        score,
        severity: Severity::from_score(score),
        account_ids: vec![account_id],
        symbols,
        summary,
        evidence,
        features,
        action: action_for(c, score),
        config_version: ctx.config_version.to_string(),
    })
}

fn shared_sentence(identity: &Identity) -> String {
    match identity.shared_with.len() {
        0 => String::new(),
        n => format!(
            " {n} other account{} logged in from the same IP or device.",
            if n == 1 { "" } else { "s" }
        ),
    }
}
