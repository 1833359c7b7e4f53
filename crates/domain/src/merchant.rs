//! Merchants (商户): the shops whose frontage a four-responsibility pledge covers. The values a
//! merchant is registered with are checked here (`LicenceNumber`, `Address`, with `Name` and
//! `PhoneNumber`); the merchant as stored, with its place at every level, is
//! `whistle_persistence::repo::merchants::MerchantRecord`.

use std::fmt;

use crate::ValueError;
use crate::text::clean_text;

/// A business licence number: the 18-character unified social credit code (统一社会信用代码,
/// GB 32100-2015), whose last character is a check digit over the first seventeen.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LicenceNumber(String);

/// The code's alphabet: digits and upper-case letters without I, O, S, V, Z.
const USCC_ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

impl LicenceNumber {
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let s = raw.trim().to_ascii_uppercase();
        let err = |why: &str| ValueError::new("licence_number", why);
        if s.len() != 18 {
            return Err(err("must be an 18-character unified social credit code"));
        }
        let values: Option<Vec<u32>> = s
            .bytes()
            .map(|b| USCC_ALPHABET.iter().position(|&a| a == b).map(|p| p as u32))
            .collect();
        let values =
            values.ok_or_else(|| err("contains a character outside the code's alphabet"))?;
        if values[17] != Self::check_value(&values[..17]) {
            return Err(err("check digit does not match"));
        }
        Ok(Self(s))
    }

    fn check_value(first17: &[u32]) -> u32 {
        let sum: u32 = first17.iter().zip(USCC_WEIGHTS).map(|(v, w)| v * w).sum();
        (31 - sum % 31) % 31
    }

    /// Appends the check character to 17 valid characters; used to make demo and test data.
    pub fn with_check_digit(first17: &str) -> Result<Self, ValueError> {
        let values: Option<Vec<u32>> = first17
            .bytes()
            .map(|b| USCC_ALPHABET.iter().position(|&a| a == b).map(|p| p as u32))
            .collect();
        match values {
            Some(v) if v.len() == 17 => {
                let check = USCC_ALPHABET[Self::check_value(&v) as usize] as char;
                Self::parse(&format!("{first17}{check}"))
            }
            _ => Err(ValueError::new(
                "licence_number",
                "needs 17 characters of the code's alphabet",
            )),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LicenceNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A street address as people write it (江苏省连云港市海州区文昌路 12 号): 1–200 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address(String);

impl Address {
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        clean_text("address", raw, 200, false).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_credit_code_validates() {
        // Huawei Technologies Co., Ltd., as printed on its public business registration.
        assert!(LicenceNumber::parse("914403001922038216").is_ok());
    }

    #[test]
    fn check_digit_catches_typos() {
        let good = LicenceNumber::with_check_digit("91320706MA1XXXXX0").unwrap();
        assert_eq!(LicenceNumber::parse(good.as_str()).unwrap(), good);
        // Change one character: the check digit no longer matches.
        let mut typo = good.as_str().to_owned();
        typo.replace_range(5..6, if &typo[5..6] == "7" { "8" } else { "7" });
        assert_eq!(
            LicenceNumber::parse(&typo).unwrap_err().reason,
            "check digit does not match"
        );
        assert!(LicenceNumber::parse("91320706MA1XXXXXI0").is_err());
        assert!(LicenceNumber::parse("123").is_err());
        assert!(LicenceNumber::with_check_digit("short").is_err());
    }

    #[test]
    fn addresses() {
        assert!(Address::parse("连云港市海州区文昌路12号").is_ok());
        assert!(Address::parse("").is_err());
        assert!(Address::parse(&"路".repeat(201)).is_err());
    }
}
