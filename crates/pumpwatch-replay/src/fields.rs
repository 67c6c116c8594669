//! Column readers look a column's field up once by name and then fill records by field
//! index, row after row; this is the index form of [`RawRecord::slot_mut`].

use pumpwatch_model::raw::FIELD_NAMES;
use pumpwatch_model::{Field, RawRecord};

/// The index of a contract field in [`FIELD_NAMES`], or `None` for a name the contract does
/// not know (such columns are ignored, as the contract requires).
pub fn field_index(name: &str) -> Option<usize> {
    FIELD_NAMES.iter().position(|f| *f == name)
}

/// Builds a record from `field(index)` for each index of [`FIELD_NAMES`]. Column readers use
/// this rather than filling a default record slot by slot: the record (768 bytes) is then built
/// once, in place, instead of being zeroed, filled and copied again into `validate`. A test
/// checks the indices against the model's names.
#[inline]
pub fn build_record<'a>(mut field: impl FnMut(usize) -> Option<Field<'a>>) -> RawRecord<'a> {
    RawRecord {
        r#type: field(0),
        ts: field(1),
        account_id: field(2),
        symbol: field(3),
        order_id: field(4),
        exec_id: field(5),
        trade_id: field(6),
        counterparty_account_id: field(7),
        side: field(8),
        action: field(9),
        order_type: field(10),
        qty: field(11),
        price: field(12),
        margin: field(13),
        amount: field(14),
        currency: field(15),
        prev_close: field(16),
        name: field(17),
        market: field(18),
        lot_size: field(19),
        shares_outstanding: field(20),
        adv_shares: field(21),
        issuer_country: field(22),
        ip: field(23),
        device_id: field(24),
        user_agent: field(25),
        country: field(26),
        asn: field(27),
        mfa: field(28),
        channel: field(29),
        session_id: field(30),
        aggressor: field(31),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pumpwatch_model::Field;

    #[test]
    fn index_slots_agree_with_named_slots() {
        for (index, name) in FIELD_NAMES.iter().enumerate() {
            assert_eq!(field_index(name), Some(index));
            let by_index = build_record(|i| (i == index).then_some(Field::Int(7)));
            let mut by_name = RawRecord::default();
            *by_name.slot_mut(name).unwrap() = Some(Field::Int(7));
            assert_eq!(by_index, by_name, "{name}");
        }
        assert_eq!(field_index("venue"), None);
    }
}
