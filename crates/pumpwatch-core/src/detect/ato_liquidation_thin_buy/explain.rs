//! The words and evidence of an `ato_liquidation_thin_buy` alert: the plain-sentence summary
//! and the auth, order and fill items an analyst reads, most telling first when there are
//! too many.

use pumpwatch_model::{Decimal, Evidence, Side, Timestamp};

use super::identity::Identity;
use super::{leg_value, to_f64, Context, Measures, Target, NANOS_PER_SEC};
use crate::account::{AccountState, OrderLeg};
use crate::detect::format::{duration, percent, plural, signed_percent, yen};
use crate::market::Market;

#[allow(clippy::too_many_arguments)]
pub(super) fn summary(
    account_id: &str,
    m: &Measures,
    targets: &[Target],
    market: &Market,
    liquidated: f64,
    spend_of_proceeds: f64,
    margin_share: f64,
    adv_share: f64,
    funded_by_sales: bool,
    trigger: &OrderLeg,
    now: Timestamp,
) -> String {
    // A target that is not thin by size is named with the run that made it one.
    let names: Vec<String> = targets
        .iter()
        .map(|t| {
            let view = market.get(t.symbol);
            match view.change_vs_prev_close().filter(|_| t.running) {
                Some(change) => format!(
                    "{} (running, {} on the day)",
                    view.symbol(),
                    signed_percent(change)
                ),
                None => view.symbol().to_string(),
            }
        })
        .collect();
    let kind = if targets.iter().all(|t| t.running) {
        "symbol"
    } else {
        "thin symbol"
    };
    let target_text = match names.as_slice() {
        [one] => format!("{kind} {one}"),
        many => format!("{kind}s {}", many.join(", ")),
    };
    let price = order_prices(&targets[0], market);
    let adv = if adv_share > 0.0 {
        format!(", {adv_share:.1}× its normal daily volume")
    } else {
        String::new()
    };
    let funding = if funded_by_sales {
        let since = m
            .first_sell_nanos
            .map(|t| duration((now.utc_nanos - t) / NANOS_PER_SEC))
            .unwrap_or_default();
        format!(
            "sold {} of its {} portfolio ({}) within {since}, then ordered {} ({} of the proceeds)",
            percent(liquidated),
            yen(to_f64(m.portfolio_value)),
            plural(m.sell_orders, "sell order"),
            yen(to_f64(m.thin_buy_value)),
            percent(spend_of_proceeds.min(9.99)),
        )
    } else {
        format!(
            "ordered {} of margin buys ({} of its {} portfolio and cash)",
            yen(to_f64(m.margin_thin_buy_value)),
            percent(margin_share),
            yen(to_f64(m.portfolio_value)),
        )
    };
    format!(
        "Account {account_id} {funding} of {target_text}, which it did not hold{adv}, {price}; order {} completes the pattern.",
        trigger.order_id
    )
}

/// How the orders on the main target were priced: their own limits against the market (limits
/// above it are a signal of their own), or market orders.
fn order_prices(target: &Target, market: &Market) -> String {
    let last = market.get(target.symbol).last_price();
    let market_text = match last.or(target.liquidity.price.and_then(Decimal::from_f64_retain)) {
        Some(p) => format!("the market at ¥{}", price_text(p)),
        None => "no market price yet".to_string(),
    };
    match (target.limits, target.market_orders) {
        (Some((low, high)), market_orders) => {
            let limits = if low == high {
                format!("a limit of ¥{}", price_text(low))
            } else {
                format!("limits of ¥{}–{}", price_text(low), price_text(high))
            };
            let also = if market_orders { " and at market" } else { "" };
            format!("with {limits}{also} against {market_text}")
        }
        (None, _) => format!("at market ({market_text})"),
    }
}

/// A price as people read it: whole yen when it is whole or large, else up to 8 decimals.
fn price_text(p: Decimal) -> String {
    let p = p.normalize();
    if p.scale() == 0 {
        p.to_string()
    } else if p >= Decimal::from(1000) {
        p.round().to_string()
    } else {
        p.round_dp(8).normalize().to_string()
    }
}

pub(super) fn evidence(
    ctx: &Context<'_>,
    account: &AccountState,
    market: &Market,
    targets: &[Target],
    trigger: &OrderLeg,
    now: Timestamp,
) -> Vec<Evidence> {
    let cutoff = now.utc_nanos - ctx.window_nanos();
    let is_target = |symbol: u32| targets.iter().any(|t| t.symbol == symbol);
    let mut items: Vec<(u8, Evidence)> = Vec::new();
    for (_, note) in account.auth().iter().filter(|(ts, _)| *ts >= cutoff) {
        let mut flags = vec![note.action.as_str().to_string()];
        let origin: Vec<String> = [
            note.ip.as_ref().map(|ip| format!("ip {ip}")),
            note.asn.as_ref().map(|asn| format!("asn {asn}")),
            note.country.as_ref().map(|c| format!("country {c}")),
            note.device_id.as_ref().map(|d| format!("device {d}")),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !origin.is_empty() {
            flags.push(format!("from {}", origin.join(", ")));
        }
        for (on, word) in [
            (note.new_device, "new device or ip"),
            (note.new_network, "new network"),
            (note.hosting_network, "hosting network"),
            (note.foreign_country, "foreign country"),
            (note.mfa_none, "no mfa"),
            (note.usual, "usual device and network"),
        ] {
            if on {
                flags.push(word.into());
            }
        }
        if note.failed_before > 0 {
            flags.push(format!("{} failed logins before", note.failed_before));
        }
        items.push((
            1,
            Evidence {
                note: Some(flags.join(", ")),
                ..evidence_item("auth", &note.id, note.ts, account)
            },
        ));
    }
    let mut counted_orders: Vec<&str> = Vec::new();
    for (_, leg) in account.orders().iter().filter(|(ts, _)| *ts >= cutoff) {
        let held = account.holding(leg.symbol).is_some_and(|h| h.sod_qty > 0);
        let relevant = match leg.side {
            Side::Sell => held,
            Side::Buy => !held && is_target(leg.symbol),
        };
        if !relevant || leg.live_qty() == 0 {
            continue;
        }
        counted_orders.push(&leg.order_id);
        let is_trigger = leg.order_id == trigger.order_id;
        let mut notes = Vec::new();
        if is_trigger {
            notes.push("trigger");
        }
        if leg.market_order {
            notes.push("market order");
        }
        if leg.unseen_session {
            notes.push("unseen session");
        }
        items.push((
            if is_trigger { 0 } else { 2 },
            Evidence {
                symbol: Some(market.get(leg.symbol).symbol().to_string()),
                side: Some(leg.side),
                qty: Some(leg.live_qty()),
                price: leg.price,
                notional: Some(leg_value(leg, leg.live_qty(), market)),
                margin: leg.margin.then_some(true),
                note: (!notes.is_empty()).then(|| notes.join(", ")),
                ..evidence_item("order", &leg.order_id, leg.ts, account)
            },
        ));
    }
    for (_, fill) in account.fills().iter().filter(|(ts, _)| *ts >= cutoff) {
        if !counted_orders.contains(&fill.order_id.as_str()) {
            continue;
        }
        items.push((
            3,
            Evidence {
                symbol: Some(market.get(fill.symbol).symbol().to_string()),
                side: Some(fill.side),
                qty: Some(fill.qty),
                price: Some(fill.price),
                notional: Some(fill.price * Decimal::from(fill.qty)),
                note: Some(format!("fill of {}", fill.order_id)),
                ..evidence_item("execution", &fill.exec_id, fill.ts, account)
            },
        ));
    }
    // Keep the most telling items when there are too many: the trigger, auth, orders, fills.
    items.sort_by_key(|(priority, e)| (*priority, e.ts));
    items.truncate(ctx.config.evidence_max);
    let mut kept: Vec<Evidence> = items.into_iter().map(|(_, e)| e).collect();
    kept.sort_by(|a, b| {
        a.ts.cmp(&b.ts)
            .then_with(|| a.kind.cmp(&b.kind))
            .then_with(|| a.id.cmp(&b.id))
    });
    kept
}

/// The login context in a sentence, or nothing when no signal is present.
pub(super) fn login_sentence(identity: &Identity) -> String {
    let mut text = String::new();
    if identity.signals().next().is_some() {
        text = format!(" The session came with {}.", identity.describe());
    } else if identity.usual_only {
        text = " The login was the owner's usual device and network, with a second factor.".into();
    } else if identity.clean_only {
        text = " The login was from home, on a residential network, with a second factor.".into();
    } else if !identity.any_auth {
        text = " No login of the account was seen in the window.".into();
    }
    if !identity.shared_with.is_empty() {
        text.push_str(&format!(
            " {} other account{} logged in from the same IP or device within the shared-login window.",
            identity.shared_with.len(),
            if identity.shared_with.len() == 1 { "" } else { "s" }
        ));
    }
    text
}

/// One evidence item per other account that logged in from the same IP or device (at most
/// `max`): the accounts an analyst links into one case.
pub(super) fn linked_accounts(identity: &Identity, now: Timestamp, max: usize) -> Vec<Evidence> {
    identity
        .shared_with
        .iter()
        .take(max)
        .map(|other| Evidence {
            kind: "linked_account".to_string(),
            id: other.to_string(),
            ts: now,
            account_id: Some(other.to_string()),
            symbol: None,
            side: None,
            qty: None,
            price: None,
            notional: None,
            margin: None,
            note: Some(if identity.shared_by_device.binary_search(other).is_ok() {
                "logged in from the same device".to_string()
            } else {
                "logged in from the same IP".to_string()
            }),
        })
        .collect()
}

fn evidence_item(kind: &str, id: &str, ts: Timestamp, account: &AccountState) -> Evidence {
    Evidence {
        kind: kind.to_string(),
        id: id.to_string(),
        ts,
        account_id: Some(account.id.to_string()),
        symbol: None,
        side: None,
        qty: None,
        price: None,
        notional: None,
        margin: None,
        note: None,
    }
}
