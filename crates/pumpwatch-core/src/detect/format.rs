//! Numbers as an analyst reads them in a summary sentence: yen in millions, shares of a whole
//! in percent, durations in minutes.

/// `¥12.3M`, `¥850k`, `¥1,200`.
pub fn yen(amount: f64) -> String {
    let abs = amount.abs();
    if abs >= 1e9 {
        format!("¥{:.2}bn", amount / 1e9)
    } else if abs >= 1e6 {
        format!("¥{:.1}M", amount / 1e6)
    } else if abs >= 1e4 {
        format!("¥{:.0}k", amount / 1e3)
    } else {
        format!("¥{amount:.0}")
    }
}

/// `1 sell order`, `3 sell orders`.
pub fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// `+40%`, `-3%`: a change with its sign.
pub fn signed_percent(change: f64) -> String {
    if change >= 0.0 {
        format!("+{}", percent(change))
    } else {
        format!("-{}", percent(-change))
    }
}

/// A measure as features show it: four decimals.
pub fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// `94%`.
pub fn percent(fraction: f64) -> String {
    format!("{:.0}%", fraction * 100.0)
}

/// `38 min`, `2 h 05 min`, `45 s`.
pub fn duration(secs: i64) -> String {
    if secs < 60 {
        format!("{secs} s")
    } else if secs < 3600 {
        format!("{} min", secs / 60)
    } else {
        format!("{} h {:02} min", secs / 3600, secs / 60 % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_like_an_analyst_writes() {
        assert_eq!(yen(12_345_678.0), "¥12.3M");
        assert_eq!(yen(850_000.0), "¥850k");
        assert_eq!(yen(1_200.0), "¥1200");
        assert_eq!(yen(7.39e11), "¥739.00bn");
        assert_eq!(percent(0.937), "94%");
        assert_eq!(duration(38 * 60 + 5), "38 min");
        assert_eq!(duration(7_500), "2 h 05 min");
    }
}
