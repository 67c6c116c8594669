//! How the account was reached: the login and session signals of the window, fused into points
//! of the takeover score, with the other accounts that logged in from the same IP or device.

use pumpwatch_model::Id;

use crate::account::AccountState;
use crate::crowd::SharedLogins;

/// The identity signals of an account's logins and account changes since `cutoff`.
#[derive(Debug, Default)]
pub(super) struct Identity {
    pub new_device: bool,
    pub new_network: bool,
    pub hosting_network: bool,
    pub foreign: bool,
    pub mfa_none: bool,
    pub failed_logins: bool,
    pub account_change: bool,
    /// An order came from a session or IP no login of the account showed (a stolen cookie).
    pub unseen_session: bool,
    /// Other accounts that logged in from the same IP or device in the shared-login window.
    pub shared_with: Vec<Id>,
    /// Of those, the ones on the same device (a device shared across customers is rarer than
    /// an IP behind a carrier's NAT), sorted.
    pub shared_by_device: Vec<Id>,
    pub shared_device: bool,
    /// A usual login (known device and network, home country, second factor) and nothing
    /// suspicious: the owner is most likely at the keyboard.
    pub usual_only: bool,
    /// Short of that, a clean login (home country, no hosting network, second factor, but no
    /// history to know the device or network by) and nothing suspicious.
    pub clean_only: bool,
    /// Logins or account changes seen in the window at all (none: no auth feed, or the session
    /// began before the window).
    pub any_auth: bool,
}

/// The score points of each identity signal, and the factor name the breakdown shows.
const POINTS: [(&str, f64); 9] = [
    ("new_device", 10.0),
    ("new_network", 6.0),
    ("hosting_network", 8.0),
    ("foreign_login", 8.0),
    ("no_mfa", 8.0),
    ("failed_logins", 5.0),
    ("account_change", 8.0),
    ("unseen_session", 10.0),
    ("shared_infrastructure", 10.0),
];

/// Points off for an ordinary login with nothing suspicious: a usual one, or a clean one with
/// no history to call it usual. Either is the owner's context and must leave the pattern low.
const ORDINARY_LOGIN_POINTS: f64 = -17.0;

/// The network signals (a new network, a hosting network, abroad) often describe one fact — a
/// customer abroad on a VPN — so together they give at most this many points.
const NETWORK_POINTS_MAX: f64 = 12.0;

fn is_network_signal(name: &str) -> bool {
    matches!(name, "new_network" | "hosting_network" | "foreign_login")
}

impl Identity {
    pub fn read(
        account: &AccountState,
        logins: &SharedLogins,
        cutoff: i64,
        now: i64,
        unseen_session: bool,
    ) -> Self {
        let mut identity = Identity {
            unseen_session,
            ..Identity::default()
        };
        let mut usual = false;
        let mut clean = false;
        for (_, note) in account.auth().iter().filter(|(ts, _)| *ts >= cutoff) {
            identity.any_auth = true;
            // A new phone on the owner's known network with a second factor is the owner's.
            identity.new_device |= note.new_device && !note.usual;
            identity.new_network |= note.new_network;
            identity.hosting_network |= note.hosting_network;
            identity.foreign |= note.foreign_country;
            identity.mfa_none |= note.mfa_none;
            identity.failed_logins |= note.failed_before > 0;
            identity.account_change |= note.action.is_account_change();
            usual |= note.usual;
            clean |= note.clean;
            let sharing = logins.sharing(
                &account.id,
                note.ip.as_deref(),
                note.device_id.as_deref(),
                now,
            );
            identity.shared_device |= !sharing.by_device.is_empty();
            identity.shared_with.extend(sharing.accounts());
            identity.shared_by_device.extend(sharing.by_device);
        }
        identity.shared_with.sort();
        identity.shared_with.dedup();
        identity.shared_by_device.sort();
        identity.shared_by_device.dedup();
        let nothing_suspicious = identity.signals().next().is_none();
        identity.usual_only = usual && nothing_suspicious;
        identity.clean_only = !identity.usual_only && clean && nothing_suspicious;
        identity
    }

    /// Shared infrastructure: a device another account used, or an IP two others used (one
    /// other account on an IP is a household or a carrier's NAT as often as not).
    pub fn shared_infrastructure(&self) -> bool {
        self.shared_device || self.shared_with.len() >= 2
    }

    /// The suspicious signals present, by factor name.
    pub fn signals(&self) -> impl Iterator<Item = &'static str> + '_ {
        let present = [
            self.new_device,
            self.new_network,
            self.hosting_network,
            self.foreign,
            self.mfa_none,
            self.failed_logins,
            self.account_change,
            self.unseen_session,
            self.shared_infrastructure(),
        ];
        POINTS
            .iter()
            .zip(present)
            .filter(|(_, on)| *on)
            .map(|((name, _), _)| *name)
    }

    /// Whether someone other than the owner is likely at the keyboard: the signals' points
    /// reach `min`, one of the signals about where the session came from (not only a missing
    /// second factor or an account change).
    pub fn strong(&self, min: f64) -> bool {
        let origin = self.new_device
            || self.new_network
            || self.hosting_network
            || self.foreign
            || self.unseen_session
            || self.shared_infrastructure();
        origin && self.points().iter().map(|(_, p)| p).sum::<f64>() >= min
    }

    /// The identity part of the score breakdown; the network signals share one cap.
    pub fn points(&self) -> Vec<(&'static str, f64)> {
        if self.usual_only {
            return vec![("usual_login", ORDINARY_LOGIN_POINTS)];
        }
        if self.clean_only {
            return vec![("clean_login", ORDINARY_LOGIN_POINTS)];
        }
        let present: Vec<&str> = self.signals().collect();
        let mut network_left = NETWORK_POINTS_MAX;
        POINTS
            .iter()
            .filter(|(name, _)| present.contains(name))
            .map(|(name, points)| {
                if is_network_signal(name) {
                    let given = points.min(network_left);
                    network_left -= given;
                    (*name, given)
                } else {
                    (*name, *points)
                }
            })
            .collect()
    }

    /// The signals in words, for a summary: "a new device, a hosting network, no MFA".
    pub fn describe(&self) -> String {
        let words: Vec<&str> = self
            .signals()
            .map(|s| match s {
                "new_device" => "a new device",
                "new_network" => "a new network",
                "hosting_network" => "a hosting network",
                "foreign_login" => "abroad",
                "no_mfa" => "no MFA",
                "failed_logins" => "failed logins just before",
                "account_change" => "an account change",
                "unseen_session" => "orders from a session no login showed",
                _ => "an IP or device other accounts used",
            })
            .collect();
        words.join(", ")
    }
}
