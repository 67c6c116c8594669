//! Logins across accounts: which accounts logged in from one IP or one device within a window —
//! the attacker's shared infrastructure.
//!
//! Every engine of a split applies every account's successful logins here (a login is one of the
//! events that matter to other engines), so each engine holds the same index and a rule on an
//! owned account reads the other accounts of its login's IP and device whoever owns them.
//! Bounded: at most [`ACCOUNTS_PER_KEY_MAX`] accounts per IP or device (the newest), entries
//! older than the window are swept every [`SWEEP_EVERY`] logins, and past `keys_max` IPs and
//! devices (`engine.shared_login_keys_max`: a botnet's logins from a million addresses in one
//! window) the least recently used are forgotten, a tenth at a time, and counted.

use pumpwatch_model::{Auth, AuthAction, Id, Timestamp};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::account::fingerprint;
use crate::snapshot::codec;

/// Accounts remembered per IP or device.
pub const ACCOUNTS_PER_KEY_MAX: usize = 32;
/// Logins between two sweeps of expired entries.
const SWEEP_EVERY: u64 = 4_096;

/// What a login is keyed by: its IP or its device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
enum Key {
    Ip(u64),
    Device(u64),
}

/// The accounts that shared the IP or device of a login, and which of the two they shared.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sharing {
    /// Other accounts that logged in from the same IP, sorted.
    pub by_ip: Vec<Id>,
    /// Other accounts that logged in from the same device, sorted.
    pub by_device: Vec<Id>,
}

impl Sharing {
    /// Every other account, sorted and without repeats.
    pub fn accounts(&self) -> Vec<Id> {
        let mut all: Vec<Id> = self.by_ip.iter().chain(&self.by_device).cloned().collect();
        all.sort();
        all.dedup();
        all
    }
}

/// The index of recent logins by IP and by device.
#[derive(Clone, Debug, Default)]
pub struct SharedLogins {
    window_nanos: i64,
    keys_max: usize,
    /// Key → (login time in UTC nanos, account), oldest first.
    by_key: ByKey,
    /// Logins noted so far (sweeps happen at fixed counts, the same in every engine).
    logins: u64,
    /// IPs and devices forgotten over `keys_max` while their logins were still in the window.
    pub keys_dropped: u64,
}

type ByKey = FxHashMap<Key, Vec<(i64, Id)>>;

/// The index as a snapshot stores it: entries sorted by key.
#[derive(Deserialize)]
struct Image {
    #[serde(with = "codec::sorted_map")]
    by_key: ByKey,
    logins: u64,
    keys_dropped: u64,
}

/// [`Image`] written from the index in place, without a copy of its entries.
#[derive(Serialize)]
struct ImageOf<'a> {
    #[serde(serialize_with = "sorted_by_key")]
    by_key: &'a ByKey,
    logins: u64,
    keys_dropped: u64,
}

fn sorted_by_key<S: serde::Serializer>(by_key: &&ByKey, s: S) -> Result<S::Ok, S::Error> {
    codec::sorted_map::serialize(*by_key, s)
}

impl SharedLogins {
    pub fn new(window_secs: u64, keys_max: usize) -> Self {
        SharedLogins {
            window_nanos: i64::try_from(window_secs)
                .unwrap_or(i64::MAX / 1_000_000_000)
                .saturating_mul(1_000_000_000),
            keys_max: keys_max.max(1),
            ..SharedLogins::default()
        }
    }

    /// Notes a successful login of any account.
    pub fn note(&mut self, ts: Timestamp, auth: &Auth) {
        if auth.action != AuthAction::LoginSuccess {
            return;
        }
        let keys = [
            auth.ip.as_deref().map(|ip| Key::Ip(fingerprint(ip))),
            auth.device_id
                .as_deref()
                .map(|d| Key::Device(fingerprint(d))),
        ];
        for key in keys.into_iter().flatten() {
            let entries = self.by_key.entry(key).or_default();
            entries.retain(|(_, account)| *account != auth.account_id);
            if entries.len() == ACCOUNTS_PER_KEY_MAX {
                entries.remove(0);
            }
            entries.push((ts.utc_nanos, auth.account_id.clone()));
        }
        self.logins += 1;
        let cutoff = ts.utc_nanos.saturating_sub(self.window_nanos);
        if self.by_key.len() > self.keys_max {
            self.sweep(cutoff);
            self.forget_least_recent();
        } else if self.logins % SWEEP_EVERY == 0 {
            self.sweep(cutoff);
        }
    }

    /// Drops the entries older than `cutoff`, and the keys left without any.
    fn sweep(&mut self, cutoff: i64) {
        self.by_key.retain(|_, entries| {
            entries.retain(|(t, _)| *t >= cutoff);
            !entries.is_empty()
        });
    }

    /// Forgets the keys whose newest login is the oldest (ties by key) down to nine tenths of
    /// `keys_max`, so that the scan is paid once per tenth of the limit, not at every login.
    fn forget_least_recent(&mut self) {
        let keep = self.keys_max - self.keys_max / 10;
        let mut by_age: Vec<(i64, Key)> = self
            .by_key
            .iter()
            .map(|(key, entries)| (entries.last().map_or(i64::MIN, |(t, _)| *t), *key))
            .collect();
        let excess = by_age.len().saturating_sub(keep);
        if excess == 0 {
            return;
        }
        by_age.select_nth_unstable(excess - 1);
        for (_, key) in &by_age[..excess] {
            self.by_key.remove(key);
        }
        self.keys_dropped += excess as u64;
    }

    /// The other accounts that logged in from `ip` or `device` within the window before `now`.
    pub fn sharing(
        &self,
        account: &str,
        ip: Option<&str>,
        device: Option<&str>,
        now: i64,
    ) -> Sharing {
        let cutoff = now.saturating_sub(self.window_nanos);
        let others = |key: Option<Key>| -> Vec<Id> {
            let mut found: Vec<Id> = key
                .and_then(|k| self.by_key.get(&k))
                .into_iter()
                .flatten()
                .filter(|(t, a)| *t >= cutoff && *t <= now && a.as_str() != account)
                .map(|(_, a)| a.clone())
                .collect();
            found.sort();
            found.dedup();
            found
        };
        Sharing {
            by_ip: others(ip.map(|ip| Key::Ip(fingerprint(ip)))),
            by_device: others(device.map(|d| Key::Device(fingerprint(d)))),
        }
    }

    /// Keys held (for the state-size counters).
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// The index for a snapshot: equal indexes give equal images.
    pub fn image(&self) -> impl Serialize + '_ {
        ImageOf {
            by_key: &self.by_key,
            logins: self.logins,
            keys_dropped: self.keys_dropped,
        }
    }

    /// Reads back what [`SharedLogins::image`] wrote.
    pub fn restore<'de, D: serde::Deserializer<'de>>(&mut self, de: D) -> Result<(), D::Error> {
        let image = Image::deserialize(de)?;
        self.by_key = image.by_key;
        self.logins = image.logins;
        self.keys_dropped = image.keys_dropped;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn login(account: &str, ip: &str, device: &str) -> Auth {
        Auth {
            account_id: account.into(),
            action: AuthAction::LoginSuccess,
            ip: Some(ip.into()),
            device_id: Some(device.into()),
            user_agent: None,
            country: None,
            asn: None,
            mfa: None,
            channel: None,
            session_id: None,
        }
    }

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_utc_nanos(1_742_169_600_000_000_000 + secs * 1_000_000_000)
    }

    #[test]
    fn accounts_on_one_ip_or_device_within_the_window_are_linked() {
        let mut logins = SharedLogins::new(3_600, 1_000);
        logins.note(at(0), &login("A1", "203.0.113.7", "dev-a"));
        logins.note(at(60), &login("A2", "203.0.113.7", "dev-b"));
        logins.note(at(120), &login("A3", "198.51.100.1", "dev-a"));
        // Out of the window: an hour and more before A4's login.
        logins.note(at(-4_000), &login("A9", "203.0.113.7", "dev-z"));
        logins.note(at(3_500), &login("A4", "203.0.113.7", "dev-c"));
        let now = at(3_500).utc_nanos;
        let s = logins.sharing("A4", Some("203.0.113.7"), Some("dev-c"), now);
        assert_eq!(s.by_ip, vec![Id::from("A1"), Id::from("A2")]);
        assert!(s.by_device.is_empty());
        let s = logins.sharing("A1", Some("203.0.113.7"), Some("dev-a"), at(200).utc_nanos);
        assert_eq!(s.by_ip, vec![Id::from("A2")]);
        assert_eq!(s.by_device, vec![Id::from("A3")]);
        assert_eq!(s.accounts(), vec![Id::from("A2"), Id::from("A3")]);
        // A failed login links nothing.
        let mut failed = login("A5", "203.0.113.7", "dev-a");
        failed.action = AuthAction::LoginFailure;
        logins.note(at(210), &failed);
        let s = logins.sharing("A1", Some("203.0.113.7"), Some("dev-a"), at(220).utc_nanos);
        assert!(!s.accounts().contains(&Id::from("A5")));
    }

    #[test]
    fn a_shared_ip_keeps_its_newest_accounts_and_sweeps_the_old() {
        let mut logins = SharedLogins::new(60, 1_000_000);
        for i in 0..(ACCOUNTS_PER_KEY_MAX + 5) {
            logins.note(
                at(i as i64),
                &login(&format!("A{i:03}"), "10.0.0.1", &format!("d{i}")),
            );
        }
        let s = logins.sharing("none", Some("10.0.0.1"), None, at(40).utc_nanos);
        assert_eq!(s.by_ip.len(), ACCOUNTS_PER_KEY_MAX);
        assert!(!s.by_ip.contains(&Id::from("A000")));
        // Enough later logins elsewhere to trigger a sweep drop every expired key.
        for i in 0..SWEEP_EVERY {
            logins.note(at(10_000), &login("B", &format!("ip{i}"), "db"));
        }
        assert!(logins
            .sharing("none", Some("10.0.0.1"), None, at(10_000).utc_nanos)
            .by_ip
            .is_empty());
        assert!(logins.len() <= SWEEP_EVERY as usize + 1);
    }

    #[test]
    fn past_its_key_limit_the_index_forgets_the_least_recent_and_counts_them() {
        let mut logins = SharedLogins::new(3_600, 20);
        // 30 accounts, each alone on its own IP and device: 60 keys for a limit of 20.
        for i in 0..30 {
            logins.note(
                at(i),
                &login(&format!("A{i:02}"), &format!("ip{i}"), &format!("d{i}")),
            );
        }
        assert!(logins.len() <= 20, "{} keys kept", logins.len());
        assert_eq!(logins.keys_dropped, 60 - logins.len() as u64);
        // The newest logins still link a later account on the same IP; the oldest do not.
        let now = at(40).utc_nanos;
        assert_eq!(
            logins.sharing("B", Some("ip29"), None, now).by_ip,
            vec![Id::from("A29")]
        );
        assert!(logins.sharing("B", Some("ip0"), None, now).by_ip.is_empty());
        // Keys whose logins have left the window go first, and are not counted as dropped.
        let mut logins = SharedLogins::new(60, 4);
        logins.note(at(0), &login("A1", "ip1", "d1"));
        logins.note(at(0), &login("A2", "ip2", "d2"));
        logins.note(at(1_000), &login("A3", "ip3", "d3"));
        assert_eq!(logins.len(), 2);
        assert_eq!(logins.keys_dropped, 0);
    }
}
