//! An exact running sum of `price × qty` (a day's traded value) that costs integer adds.

use pumpwatch_model::Decimal;

/// Digits after the point the integer part of the sum keeps. Prices with more decimals (or a
/// sum past `i128`) go to the `Decimal` remainder, so the sum stays exact either way.
const SCALE: u32 = 6;
const POW10: [i128; SCALE as usize + 1] = [1_000_000, 100_000, 10_000, 1_000, 100, 10, 1];

/// `Σ price × qty`, exact, as two parts the caller keeps apart: this integer part, updated on
/// every print (16 bytes, so it fits a symbol's one hot cache line), and a `Decimal` remainder
/// for what it cannot hold, which is rarely touched.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ValueSum {
    /// The sum in units of 10^-SCALE.
    units: i128,
}

impl ValueSum {
    /// Adds `price × qty`; what cannot be held in units is added to `rest` instead.
    pub fn add(&mut self, price: Decimal, qty: u64, rest: &mut Decimal) {
        let scale = price.scale();
        if scale <= SCALE {
            let mantissa = price.mantissa();
            // Nearly every print: a mantissa and a quantity below 2^32, whose product times
            // 10^6 is below 2^84, so only the final add can overflow; no 128-bit multiply
            // checks.
            if let (Ok(small), true) = (u32::try_from(mantissa), qty <= u64::from(u32::MAX)) {
                let value = i128::from(u64::from(small) * qty) * POW10[scale as usize];
                if let Some(sum) = self.units.checked_add(value) {
                    self.units = sum;
                    return;
                }
            }
            let sum = mantissa
                .checked_mul(POW10[scale as usize])
                .and_then(|m| m.checked_mul(i128::from(qty)))
                .and_then(|v| self.units.checked_add(v));
            if let Some(sum) = sum {
                self.units = sum;
                return;
            }
        }
        *rest += price * Decimal::from(qty);
    }

    /// The sum with its remainder `rest`, divided by `divisor` (a VWAP); `None` when it cannot
    /// be represented.
    pub fn divided_by(&self, rest: Decimal, divisor: u64) -> Option<Decimal> {
        if divisor == 0 {
            return None;
        }
        let whole = Decimal::try_from_i128_with_scale(self.units, SCALE).ok()?;
        whole.checked_add(rest)?.checked_div(Decimal::from(divisor))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::str::FromStr;

    #[test]
    fn mixes_integer_and_fractional_prices_exactly() {
        let (mut sum, mut rest) = (ValueSum::default(), Decimal::ZERO);
        sum.add(Decimal::from_str("112.5").unwrap(), 300, &mut rest);
        sum.add(Decimal::from(438), 100, &mut rest);
        sum.add(Decimal::from_str("0.0000001").unwrap(), 10, &mut rest); // more decimals than SCALE
        assert_eq!(rest, Decimal::from_str("0.000001").unwrap());
        assert_eq!(
            sum.divided_by(rest, 1).unwrap(),
            Decimal::from_str("77550.000001").unwrap()
        );
        assert_eq!(ValueSum::default().divided_by(Decimal::ZERO, 0), None);
    }

    proptest! {
        /// The fast sum equals the plain `Decimal` sum for any prices the contract allows.
        #[test]
        fn equals_the_decimal_sum(prints in proptest::collection::vec((1u64..10_000_000_000, 0u32..9, 1u64..100_000_000), 1..50)) {
            let (mut fast, mut rest) = (ValueSum::default(), Decimal::ZERO);
            let mut slow = Decimal::ZERO;
            for (mantissa, scale, qty) in prints {
                let price = Decimal::new(mantissa as i64, scale);
                fast.add(price, qty, &mut rest);
                slow += price * Decimal::from(qty);
            }
            prop_assert_eq!(fast.divided_by(rest, 1).unwrap(), slow);
        }
    }
}
