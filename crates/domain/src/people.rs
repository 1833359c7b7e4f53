//! People: accounts, roles, officers.

use std::fmt;
use std::str::FromStr;

use crate::ValueError;
use crate::ids::{OfficerId, UserId};
use crate::text::{Name, clean_text};

/// What an account may do, before jurisdiction narrows it (see the brief, §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// 居民: reports and follows their own cases.
    Resident,
    /// 物业 / 业委会: reports for and follows cases in their compound.
    Partner,
    /// 城管队员: handles cases in the communities they are stationed in.
    Officer,
    /// 中队长 / 大队长: an officer's powers over a street or district, plus dispatch and verify.
    Leader,
    /// 指挥中心: accepts, dispatches and escalates any case in the city.
    Dispatcher,
    /// System administrator: geography, people, catalogue, SLA.
    Admin,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Resident,
        Role::Partner,
        Role::Officer,
        Role::Leader,
        Role::Dispatcher,
        Role::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Resident => "resident",
            Role::Partner => "partner",
            Role::Officer => "officer",
            Role::Leader => "leader",
            Role::Dispatcher => "dispatcher",
            Role::Admin => "admin",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Role::Resident => "居民",
            Role::Partner => "物业/业委会",
            Role::Officer => "城管队员",
            Role::Leader => "中队长/大队长",
            Role::Dispatcher => "指挥中心",
            Role::Admin => "系统管理员",
        }
    }

    /// Staff accounts are created by an admin; residents register themselves.
    pub fn is_staff(self) -> bool {
        !matches!(self, Role::Resident)
    }

    /// Roles that carry an officer record (badge number, squad).
    pub fn is_enforcement(self) -> bool {
        matches!(self, Role::Officer | Role::Leader)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = ValueError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == raw.trim().to_ascii_lowercase())
            .ok_or_else(|| {
                ValueError::new(
                    "role",
                    "must be one of resident, partner, officer, leader, dispatcher, admin",
                )
                .zh("须为 resident、partner、officer、leader、dispatcher、admin 之一")
            })
    }
}

/// A login name: 3–32 characters of lower-case ASCII letters, digits, `.`, `_`, `-`, starting with
/// a letter or digit. Residents log in with their phone number instead, which is stored as their
/// username too.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let s = raw.trim().to_ascii_lowercase();
        let ok_len = (3..=32).contains(&s.len());
        let ok_chars = s
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
        let ok_start = s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric());
        if ok_len && ok_chars && ok_start {
            Ok(Self(s))
        } else {
            Err(ValueError::new(
                "username",
                "must be 3 to 32 characters: a-z, 0-9, '.', '_', '-', starting with a letter or digit",
            )
            .zh("须为 3 到 32 个字符（a-z、0-9、“.”、“_”、“-”），以字母或数字开头"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A mainland China mobile number, stored as its 11 digits (`13812345678`).
///
/// Accepts the forms people type: with `+86`/`86`/`0086` in front, with spaces or dashes.
/// Mobile numbers are 11 digits starting with `1` and a second digit 3–9.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let compact: String = raw
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '-'))
            .collect();
        let digits = compact
            .strip_prefix("+86")
            .or_else(|| compact.strip_prefix("0086"))
            .or_else(|| {
                (compact.len() == 13)
                    .then(|| compact.strip_prefix("86"))
                    .flatten()
            })
            .unwrap_or(&compact);
        let bytes = digits.as_bytes();
        let ok = bytes.len() == 11
            && bytes.iter().all(u8::is_ascii_digit)
            && bytes[0] == b'1'
            && (b'3'..=b'9').contains(&bytes[1]);
        if ok {
            Ok(Self(digits.to_owned()))
        } else {
            Err(ValueError::new(
                "phone",
                "must be a mainland China mobile number (11 digits starting 13–19)",
            )
            .zh("须为中国大陆手机号（11 位数字，以 13–19 开头）"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `138****5678`: how a phone number appears to anyone not entitled to see it.
    pub fn masked(&self) -> String {
        format!("{}****{}", &self.0[..3], &self.0[7..])
    }
}

/// Personal data: `Debug` shows only the masked form so numbers do not leak into logs.
impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneNumber({})", self.masked())
    }
}

/// An officer's badge number (执法证号 / 警号): 1–32 ASCII letters and digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BadgeNumber(String);

impl BadgeNumber {
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let s = raw.trim().to_ascii_uppercase();
        if (1..=32).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric()) {
            Ok(Self(s))
        } else {
            Err(
                ValueError::new("badge_number", "must be 1 to 32 ASCII letters and digits")
                    .zh("须为 1 到 32 个英文字母或数字"),
            )
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A login account.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: UserId,
    pub username: Username,
    pub display_name: Name,
    pub phone: Option<PhoneNumber>,
    pub role: Role,
    pub disabled: bool,
}

/// An officer: the enforcement record attached to an officer's or leader's account.
#[derive(Debug, Clone, PartialEq)]
pub struct Officer {
    pub id: OfficerId,
    pub user_id: UserId,
    pub badge_number: BadgeNumber,
    /// The squad (中队) the officer belongs to, e.g. 海州一大队二中队.
    pub squad: Option<Name>,
}

/// What a new account is made of, checked before it is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NewUser {
    pub username: Username,
    pub display_name: Name,
    pub phone: Option<PhoneNumber>,
    pub role: Role,
}

/// A free-text note about an officer's duties or scope (执法范围与工作职责), up to 2000 characters.
pub fn parse_duty_text(raw: &str) -> Result<String, ValueError> {
    clean_text("duties", raw, 2000, true)
}

/// How a member of staff is named to residents (on a case, its timeline, a notice): the
/// surname and the office, "田警官", never the whole name. An officer's face and number are on
/// the community card; the timeline need not spell out who is who beyond that. Residents and
/// partners are masked like reporters ("张**").
pub fn public_name(display_name: &str, role: Role, english: bool) -> String {
    let surname: String = display_name.chars().take(1).collect();
    match (role, english) {
        (Role::Officer | Role::Leader, false) => format!("{surname}警官"),
        (Role::Officer | Role::Leader, true) => format!("Officer {surname}"),
        (Role::Dispatcher, false) => "指挥中心".to_owned(),
        (Role::Dispatcher, true) => "Command centre".to_owned(),
        (Role::Admin, false) => "系统管理员".to_owned(),
        (Role::Admin, true) => "Administrator".to_owned(),
        (Role::Resident | Role::Partner, _) => {
            let rest = display_name.chars().count().saturating_sub(1).clamp(1, 2);
            format!("{surname}{}", "*".repeat(rest))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_and_classify() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
        }
        assert_eq!(" Officer ".parse::<Role>().unwrap(), Role::Officer);
        assert!("superuser".parse::<Role>().is_err());
        assert!(!Role::Resident.is_staff());
        assert!(Role::Partner.is_staff());
        assert!(Role::Leader.is_enforcement());
        assert!(!Role::Dispatcher.is_enforcement());
    }

    #[test]
    fn phone_numbers_accept_common_forms() {
        for raw in [
            "13812345678",
            "+86 138 1234 5678",
            "0086-138-1234-5678",
            "8613812345678",
        ] {
            assert_eq!(
                PhoneNumber::parse(raw).unwrap().as_str(),
                "13812345678",
                "{raw}"
            );
        }
        for raw in [
            "12812345678",
            "1381234567",
            "138123456789",
            "abc",
            "",
            "+1 415 555 0100",
            "1381234567８",
        ] {
            assert!(PhoneNumber::parse(raw).is_err(), "{raw}");
        }
    }

    #[test]
    fn phone_numbers_never_print_in_full_in_debug() {
        let p = PhoneNumber::parse("13812345678").unwrap();
        assert_eq!(p.masked(), "138****5678");
        assert!(!format!("{p:?}").contains("13812345678"));
    }

    #[test]
    fn usernames() {
        assert_eq!(Username::parse("Tian.Ye").unwrap().as_str(), "tian.ye");
        assert!(Username::parse("ab").is_err());
        assert!(Username::parse("_admin").is_err());
        assert!(Username::parse("田野").is_err());
        assert!(Username::parse("a b c").is_err());
        assert!(Username::parse("x' OR '1'='1").is_err());
    }

    #[test]
    fn badge_numbers() {
        assert_eq!(BadgeNumber::parse("hz0101").unwrap().as_str(), "HZ0101");
        assert!(BadgeNumber::parse("").is_err());
        assert!(BadgeNumber::parse("HZ 01").is_err());
    }

    #[test]
    fn staff_are_named_to_residents_by_surname_and_office() {
        assert_eq!(public_name("田野", Role::Officer, false), "田警官");
        assert_eq!(public_name("田野", Role::Officer, true), "Officer 田");
        assert_eq!(public_name("王大队", Role::Leader, false), "王警官");
        assert_eq!(public_name("李四", Role::Dispatcher, false), "指挥中心");
        assert_eq!(public_name("张师傅", Role::Resident, false), "张**");
        assert_eq!(public_name("张三", Role::Resident, true), "张*");
    }
}
