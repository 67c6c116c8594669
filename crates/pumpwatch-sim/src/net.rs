//! Network identities: each account's usual device and IP, and the new ones attackers bring.

use rand::Rng;

use crate::events::{Channel, Mfa, NetCtx};
use crate::rng::{hash, sub_rng, weighted, Stream};

/// Japanese consumer ISPs: (first octet, ASN).
const JP_ISP: [(u8, u32); 8] = [
    (126, 17676),
    (153, 4713),
    (114, 2516),
    (106, 2516),
    (220, 2527),
    (60, 4713),
    (49, 2516),
    (133, 17676),
];

/// Hosting and VPS providers with Japanese addresses: an IP "in Japan" that
/// no retail customer logs in from.
const JP_HOSTING: [(u8, u32); 5] = [
    (52, 16509),
    (160, 9370),
    (45, 20473),
    (157, 7506),
    (139, 63949),
];

/// Foreign origins seen in the 2025 wave: (country, first octet, ASN).
const FOREIGN: [([u8; 2], u8, u32); 10] = [
    (*b"CN", 115, 4134),
    (*b"CN", 183, 4837),
    (*b"HK", 103, 9304),
    (*b"VN", 27, 7552),
    (*b"SG", 13, 16509),
    (*b"US", 34, 396982),
    (*b"TW", 1, 3462),
    (*b"KR", 211, 4766),
    (*b"TH", 171, 23969),
    (*b"NL", 185, 60781),
];

fn ip_in<R: Rng>(rng: &mut R, first: u8) -> u32 {
    (u32::from(first) << 24) | (rng.random::<u32>() & 0x00FF_FFFF) | 1
}

/// The device and network an account normally uses; stable for the account.
pub(crate) fn home(seed: u64, acct: u32) -> NetCtx {
    let mut rng = sub_rng(seed, Stream::Net, u64::from(acct));
    let (first, asn) = JP_ISP[rng.random_range(0..JP_ISP.len())];
    let mfa = [
        Mfa::Sms,
        Mfa::Totp,
        Mfa::Push,
        Mfa::Email,
        Mfa::Passkey,
        Mfa::None,
    ][weighted(&mut rng, &[35.0, 20.0, 25.0, 10.0, 5.0, 5.0])];
    NetCtx {
        ip: ip_in(&mut rng, first),
        device: device_id(seed, u64::from(acct), 0),
        country: *b"JP",
        asn,
        mfa,
        channel: if rng.random_bool(0.55) {
            Channel::App
        } else {
            Channel::Web
        },
        session: 0,
    }
}

/// A device fingerprint; `(key, n)` distinguishes devices.
pub(crate) fn device_id(seed: u64, key: u64, n: u64) -> u64 {
    hash(seed, Stream::Net, key, n.wrapping_add(0xD0)) | 1
}

/// A residential Japanese IP (a customer on a new phone or at a friend's).
pub(crate) fn residential_jp<R: Rng>(rng: &mut R) -> (u32, u32) {
    let (first, asn) = JP_ISP[rng.random_range(0..JP_ISP.len())];
    (ip_in(rng, first), asn)
}

/// A Japanese hosting-provider IP.
pub(crate) fn hosting_jp<R: Rng>(rng: &mut R) -> (u32, u32) {
    let (first, asn) = JP_HOSTING[rng.random_range(0..JP_HOSTING.len())];
    (ip_in(rng, first), asn)
}

/// A foreign IP with its country.
pub(crate) fn foreign<R: Rng>(rng: &mut R) -> (u32, u32, [u8; 2]) {
    let (cc, first, asn) = FOREIGN[rng.random_range(0..FOREIGN.len())];
    (ip_in(rng, first), asn, cc)
}

/// Appends a dotted-quad IPv4 address.
pub(crate) fn write_ip(buf: &mut Vec<u8>, ip: u32) {
    for (i, shift) in [24u32, 16, 8, 0].iter().enumerate() {
        if i > 0 {
            buf.push(b'.');
        }
        crate::writer::push_u64(buf, u64::from((ip >> shift) & 0xFF));
    }
}
