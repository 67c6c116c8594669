//! The detectors: a closed set of rules, one module each.
//!
//! A rule owns its config section (with its validation), its own state and its hooks; it
//! reads the engine's shared account and symbol state and never changes it. The engine knows
//! no rule by name: it builds a [`RuleSet`] from [`RulesConfig`] and calls the set's hooks
//! after each event has been applied to the shared state. How long an account's windows keep
//! their items is the longest history any enabled rule asks for; each rule reads only its own
//! window of it.
//!
//! Adding a rule: a module here with a `Config` (serde, `validate`) and a type implementing
//! [`Rule`], a field in [`RulesConfig`] and a line in [`RuleSet::new`].

pub mod ato_liquidation_thin_buy;
pub mod campaign;
mod format;
pub mod tape_pump;

use pumpwatch_model::{Alert, Auth, Execution, Order, Timestamp, Trade};
use serde::{Deserialize, Serialize};

use crate::account::AccountState;
use crate::config::{ConfigError, EngineSettings};
use crate::crowd::SharedLogins;
use crate::market::Market;
use crate::snapshot::SnapshotError;
use ato_liquidation_thin_buy::AtoLiquidationThinBuy;
use campaign::Campaigns;
use tape_pump::TapePump;

/// One section per rule, `[rules.NAME]` in the TOML file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesConfig {
    #[serde(default)]
    pub ato_liquidation_thin_buy: ato_liquidation_thin_buy::Config,
    #[serde(default)]
    pub tape_pump: tape_pump::Config,
    #[serde(default)]
    pub coordinated_thin_buying: campaign::BuyingConfig,
    #[serde(default)]
    pub pre_positioned_seller: campaign::SellersConfig,
}

impl RulesConfig {
    /// Checks every rule's section; the first bad value is returned with its field path.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.ato_liquidation_thin_buy.validate()?;
        self.tape_pump.validate()?;
        self.coordinated_thin_buying.validate()?;
        self.pre_positioned_seller.validate()
    }
}

/// What every hook reads besides the account or symbol it is about: the shared state.
#[derive(Clone, Copy, Debug)]
pub struct Shared<'a> {
    pub market: &'a Market,
    /// Every account's recent logins by IP and device: shared infrastructure.
    pub logins: &'a SharedLogins,
    pub settings: &'a EngineSettings,
    /// Stamped on every alert.
    pub config_version: &'a str,
}

/// A detector. Hooks run after the event they are named for has been applied to the shared
/// state, in event-time order (the `now` of successive hooks never decreases: the reorder
/// buffer releases in time order and refuses late events, and rules may rely on it); a rule
/// pushes what fires into `alerts`. Every hook but the ones a rule needs does nothing.
pub trait Rule: std::fmt::Debug + Send {
    /// The rule's id: its snapshot state's name, and the id its alerts carry.
    fn name(&self) -> &'static str;

    /// Every id this rule's alerts may carry (a rule with stages raises more than one).
    fn rule_ids(&self) -> &'static [&'static str] {
        &[]
    }

    /// How far back (s) the rule reads an account's order, fill and login windows.
    fn history_secs(&self) -> u64;

    /// An order entered or replaced: `index` is its position in the account's order window.
    fn on_order(
        &mut self,
        _shared: &Shared<'_>,
        _account: &AccountState,
        _index: usize,
        _now: Timestamp,
        _alerts: &mut Vec<Alert>,
    ) {
    }

    /// One of the account's orders filled: `fill` is the execution as received (its
    /// counterparty, when the broker sends one, names who was on the other side), `symbol`
    /// its symbol's handle; the fill is also the newest in the account's fill window.
    fn on_execution(
        &mut self,
        _shared: &Shared<'_>,
        _account: &AccountState,
        _fill: &Execution,
        _symbol: u32,
        _now: Timestamp,
        _alerts: &mut Vec<Alert>,
    ) {
    }

    /// A login, logout, failed login or account change of the account, as received (device,
    /// IP, country, MFA).
    fn on_auth(
        &mut self,
        _shared: &Shared<'_>,
        _account: &AccountState,
        _auth: &Auth,
        _now: Timestamp,
        _alerts: &mut Vec<Alert>,
    ) {
    }

    /// Whether the rule has an [`Rule::on_trade`] hook: the tape's prints call no hook unless
    /// a rule says so. Of a split, only the market's engine runs it (a tape rule reports on
    /// symbols, which belong to no account's share), so such a rule's state lives there alone.
    fn uses_trades(&self) -> bool {
        false
    }

    /// Whether the rule reads every account's orders, fills and logins ([`Rule::on_any_order`],
    /// [`Rule::on_any_execution`], [`Rule::on_any_auth`]), whoever owns the account. Of a split, only the market's
    /// engine runs these hooks, so such a rule's state lives there alone.
    fn uses_all_accounts(&self) -> bool {
        false
    }

    /// Any account's order entered or replaced (cancels too), as received, after the engine
    /// applied it; `symbol` is its symbol's handle.
    fn on_any_order(
        &mut self,
        _shared: &Shared<'_>,
        _order: &Order,
        _symbol: u32,
        _now: Timestamp,
        _alerts: &mut Vec<Alert>,
    ) {
    }

    /// Any account's login, logout, failed login or account change, as received.
    fn on_any_auth(
        &mut self,
        _shared: &Shared<'_>,
        _auth: &Auth,
        _now: Timestamp,
        _alerts: &mut Vec<Alert>,
    ) {
    }

    /// Any account's fill, as received, after the engine applied it.
    fn on_any_execution(
        &mut self,
        _shared: &Shared<'_>,
        _fill: &Execution,
        _symbol: u32,
        _now: Timestamp,
        _alerts: &mut Vec<Alert>,
    ) {
    }

    /// Whether the rule has an [`Rule::on_watermark`] hook: ticks happen only if a rule says
    /// so.
    fn uses_watermark(&self) -> bool {
        false
    }

    /// A print on the public tape (`trade`, as received: size, price, aggressor) of the
    /// symbol with handle `symbol`, after the symbol's state took it.
    fn on_trade(
        &mut self,
        _shared: &Shared<'_>,
        _trade: &Trade,
        _symbol: u32,
        _now: Timestamp,
        _alerts: &mut Vec<Alert>,
    ) {
    }

    /// The rule's own state for a snapshot; equal states give equal bytes.
    fn save_state(&self) -> Vec<u8>;

    /// Puts back the state [`Rule::save_state`] wrote.
    fn restore_state(&mut self, bytes: &[u8]) -> Result<(), SnapshotError>;

    /// Event time passed `now`, a whole second: called before the first event of a later
    /// second is applied, once however many seconds it skips, and never by the end of input.
    /// It follows the processed events, not the sources' watermarks, so a replay and a live
    /// feed of the same events see the same calls.
    fn on_watermark(&mut self, _shared: &Shared<'_>, _now: Timestamp, _alerts: &mut Vec<Alert>) {}
}

/// The enabled rules, in a fixed order: when two fire on one event, their alerts come in
/// this order.
#[derive(Debug)]
pub struct RuleSet {
    rules: Vec<Box<dyn Rule>>,
    /// Which rules have which hooks, asked for every event: worked out once.
    hooks: Hooks,
    history_nanos: i64,
}

/// The rules (by position) that use the per-print hook, and whether any uses the others.
#[derive(Debug)]
struct Hooks {
    trade_rules: Vec<usize>,
    all_accounts: bool,
    watermark: bool,
}

impl Hooks {
    fn of(rules: &[Box<dyn Rule>]) -> Self {
        Hooks {
            trade_rules: (0..rules.len())
                .filter(|&i| rules[i].uses_trades())
                .collect(),
            all_accounts: rules.iter().any(|r| r.uses_all_accounts()),
            watermark: rules.iter().any(|r| r.uses_watermark()),
        }
    }
}

impl RuleSet {
    /// The enabled rules of a validated config.
    pub fn new(config: &RulesConfig) -> Self {
        let mut rules: Vec<Box<dyn Rule>> = Vec::new();
        if config.ato_liquidation_thin_buy.enabled {
            rules.push(Box::new(AtoLiquidationThinBuy::new(
                config.ato_liquidation_thin_buy.clone(),
            )));
        }
        if config.tape_pump.enabled {
            rules.push(Box::new(TapePump::new(config.tape_pump.clone())));
        }
        if config.coordinated_thin_buying.enabled || config.pre_positioned_seller.enabled {
            rules.push(Box::new(Campaigns::new(
                config.coordinated_thin_buying.clone(),
                config.pre_positioned_seller.clone(),
            )));
        }
        let history_secs = rules.iter().map(|r| r.history_secs()).max().unwrap_or(0);
        RuleSet {
            hooks: Hooks::of(&rules),
            rules,
            history_nanos: i64::try_from(history_secs)
                .unwrap_or(i64::MAX / 1_000_000_000)
                .saturating_mul(1_000_000_000),
        }
    }

    pub fn has_trade_hooks(&self) -> bool {
        !self.hooks.trade_rules.is_empty()
    }

    pub fn has_all_account_hooks(&self) -> bool {
        self.hooks.all_accounts
    }

    pub fn has_watermark_hooks(&self) -> bool {
        self.hooks.watermark
    }

    /// A set of the given rules (tests of hooks no shipped rule uses).
    #[cfg(test)]
    pub(crate) fn of(rules: Vec<Box<dyn Rule>>) -> Self {
        let history_secs = rules.iter().map(|r| r.history_secs()).max().unwrap_or(0);
        RuleSet {
            hooks: Hooks::of(&rules),
            rules,
            history_nanos: history_secs as i64 * 1_000_000_000,
        }
    }

    /// How long (ns) account windows keep items: the longest history any rule reads.
    pub fn history_nanos(&self) -> i64 {
        self.history_nanos
    }

    /// The enabled rules' ids, in order.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.rules.iter().map(|r| r.name())
    }

    /// Every rule's id and state, for a snapshot.
    pub fn save_states(&self) -> Vec<(&'static str, Vec<u8>)> {
        self.rules
            .iter()
            .map(|r| (r.name(), r.save_state()))
            .collect()
    }

    /// Puts back the states of [`RuleSet::save_states`]: the same rules, in the same order.
    pub fn restore_states(&mut self, states: &[(String, Vec<u8>)]) -> Result<(), SnapshotError> {
        let names: Vec<&str> = states.iter().map(|(name, _)| name.as_str()).collect();
        if !names.iter().copied().eq(self.names()) {
            return Err(SnapshotError::Corrupt(format!(
                "the snapshot holds rules {names:?}, the config enables {:?}",
                self.names().collect::<Vec<_>>()
            )));
        }
        for (rule, (_, bytes)) in self.rules.iter_mut().zip(states) {
            rule.restore_state(bytes)?;
        }
        Ok(())
    }

    /// Runs `hook` on every rule; each alert that fires is handed to `fired` with its rule id.
    fn each(
        &mut self,
        fired: &mut dyn FnMut(&'static str, Alert),
        mut hook: impl FnMut(&mut dyn Rule, &mut Vec<Alert>),
    ) {
        let mut alerts = Vec::new();
        for rule in &mut self.rules {
            hook(rule.as_mut(), &mut alerts);
            hand_over(rule.as_ref(), &mut alerts, fired);
        }
    }

    pub fn on_order(
        &mut self,
        shared: &Shared<'_>,
        account: &AccountState,
        index: usize,
        now: Timestamp,
        fired: &mut dyn FnMut(&'static str, Alert),
    ) {
        self.each(fired, |rule, alerts| {
            rule.on_order(shared, account, index, now, alerts)
        });
    }

    #[allow(clippy::too_many_arguments)]
    pub fn on_execution(
        &mut self,
        shared: &Shared<'_>,
        account: &AccountState,
        fill: &Execution,
        symbol: u32,
        now: Timestamp,
        fired: &mut dyn FnMut(&'static str, Alert),
    ) {
        self.each(fired, |rule, alerts| {
            rule.on_execution(shared, account, fill, symbol, now, alerts)
        });
    }

    pub fn on_auth(
        &mut self,
        shared: &Shared<'_>,
        account: &AccountState,
        auth: &Auth,
        now: Timestamp,
        fired: &mut dyn FnMut(&'static str, Alert),
    ) {
        self.each(fired, |rule, alerts| {
            rule.on_auth(shared, account, auth, now, alerts)
        });
    }

    pub fn on_any_order(
        &mut self,
        shared: &Shared<'_>,
        order: &Order,
        symbol: u32,
        now: Timestamp,
        fired: &mut dyn FnMut(&'static str, Alert),
    ) {
        self.each(fired, |rule, alerts| {
            if rule.uses_all_accounts() {
                rule.on_any_order(shared, order, symbol, now, alerts)
            }
        });
    }

    pub fn on_any_auth(
        &mut self,
        shared: &Shared<'_>,
        auth: &Auth,
        now: Timestamp,
        fired: &mut dyn FnMut(&'static str, Alert),
    ) {
        self.each(fired, |rule, alerts| {
            if rule.uses_all_accounts() {
                rule.on_any_auth(shared, auth, now, alerts)
            }
        });
    }

    pub fn on_any_execution(
        &mut self,
        shared: &Shared<'_>,
        fill: &Execution,
        symbol: u32,
        now: Timestamp,
        fired: &mut dyn FnMut(&'static str, Alert),
    ) {
        self.each(fired, |rule, alerts| {
            if rule.uses_all_accounts() {
                rule.on_any_execution(shared, fill, symbol, now, alerts)
            }
        });
    }

    pub fn on_trade(
        &mut self,
        shared: &Shared<'_>,
        trade: &Trade,
        symbol: u32,
        now: Timestamp,
        fired: &mut dyn FnMut(&'static str, Alert),
    ) {
        // Only the rules that read the tape: a print is most of the events.
        let mut alerts = Vec::new();
        for &i in &self.hooks.trade_rules {
            let rule = self.rules[i].as_mut();
            rule.on_trade(shared, trade, symbol, now, &mut alerts);
            hand_over(rule, &mut alerts, fired);
        }
    }

    pub fn on_watermark(
        &mut self,
        shared: &Shared<'_>,
        now: Timestamp,
        fired: &mut dyn FnMut(&'static str, Alert),
    ) {
        self.each(fired, |rule, alerts| rule.on_watermark(shared, now, alerts));
    }
}

/// Hands a rule's alerts to `fired`, each with the rule id it names.
fn hand_over(rule: &dyn Rule, alerts: &mut Vec<Alert>, fired: &mut dyn FnMut(&'static str, Alert)) {
    for alert in alerts.drain(..) {
        let id = rule
            .rule_ids()
            .iter()
            .copied()
            .find(|id| *id == alert.rule)
            .unwrap_or(rule.name());
        fired(id, alert);
    }
}

use sha2::{Digest, Sha256};

/// A deterministic alert id: the same rule, subject, trigger and time always give the same id,
/// in replay and live.
pub fn alert_id(rule: &str, subject: &str, trigger_id: &str, ts_nanos: i64) -> String {
    let mut hasher = Sha256::new();
    for part in [
        rule.as_bytes(),
        subject.as_bytes(),
        trigger_id.as_bytes(),
        &ts_nanos.to_be_bytes(),
    ] {
        hasher.update((part.len() as u32).to_be_bytes());
        hasher.update(part);
    }
    hasher
        .finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn alert_ids_depend_on_every_part() {
        let base = super::alert_id("r", "A1", "O1", 5);
        assert_eq!(base.len(), 32);
        assert_eq!(base, super::alert_id("r", "A1", "O1", 5));
        assert_ne!(base, super::alert_id("r", "A1", "O2", 5));
        assert_ne!(base, super::alert_id("r", "A1", "O1", 6));
        assert_ne!(
            super::alert_id("r", "A1O", "1", 5),
            super::alert_id("r", "A1", "O1", 5)
        );
    }
}
