//! Check-character arithmetic shared by the identifier formats (ISO 7064 MOD 11-2).

/// ISO 7064 MOD 11-2 check value (0–10, where 10 is written `X`) over ASCII digits.
///
/// The caller guarantees every byte is an ASCII digit.
pub(crate) fn mod11_2(digits: &[u8]) -> u8 {
    let p = digits
        .iter()
        .fold(0u32, |p, &d| ((p + u32::from(d - b'0')) * 2) % 11);
    // (12 - p) mod 11, written without going negative.
    ((12 - p) % 11) as u8
}

/// The character for a MOD 11-2 check value.
pub(crate) fn mod11_2_char(value: u8) -> char {
    if value == 10 {
        'X'
    } else {
        char::from(b'0' + value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mod11_2_matches_the_resident_id_weight_table() {
        // GB 11643 sample: 11010519491231002X.
        assert_eq!(mod11_2_char(mod11_2(b"11010519491231002")), 'X');
        // ISO 7064 example for MOD 11-2: 079 → check X.
        assert_eq!(mod11_2_char(mod11_2(b"079")), 'X');
        assert_eq!(mod11_2_char(mod11_2(b"0794")), '0');
    }
}
