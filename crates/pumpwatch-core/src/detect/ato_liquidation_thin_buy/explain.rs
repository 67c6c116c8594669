//! The words and evidence of an `ato_liquidation_thin_buy` alert: the plain-sentence summary
//! and the auth, order and fill items an analyst reads, most telling first when there are
//! too many.

use pumpwatch_model::{Decimal, Evidence, Side, Timestamp};

use super::{leg_value, to_f64, Context, Measures, Target, NANOS_PER_SEC};
use crate::account::{AccountState, OrderLeg};
use crate::detect::format::{duration, percent, yen};
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
    let names: Vec<&str> = targets
        .iter()
        .map(|t| market.get(t.symbol).symbol().as_str())
        .collect();
    let target_text = match names.as_slice() {
        [one] => format!("thin symbol {one}"),
        many => format!("thin symbols {}", many.join(", ")),
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
            "sold {} of its {} portfolio ({} sell orders) within {since}, then ordered {} ({} of the proceeds)",
            percent(liquidated),
            yen(to_f64(m.portfolio_value)),
            m.sell_orders,
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
        if note.new_device {
            flags.push("new device or ip".into());
        }
        if note.foreign_country {
            flags.push("foreign country".into());
        }
        if note.mfa_none {
            flags.push("no mfa".into());
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
