//! Small text values shared by several entities.

use std::fmt;

use crate::ValueError;

/// Trims and checks a free text: non-empty, at most `max` characters (not bytes: Chinese text is
/// three bytes a character in UTF-8), and no control characters except newlines and tabs when
/// `multiline` is set.
pub fn clean_text(
    field: &'static str,
    raw: &str,
    max: usize,
    multiline: bool,
) -> Result<String, ValueError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(ValueError::new(field, "must not be empty").zh("不能为空"));
    }
    let count = trimmed.chars().count();
    if count > max {
        return Err(ValueError::new(
            field,
            format!("must be at most {max} characters, got {count}"),
        )
        .zh(format!("最多 {max} 个字，实际 {count} 个")));
    }
    let bad = trimmed
        .chars()
        .any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\t' || c == '\r')));
    if bad {
        return Err(
            ValueError::new(field, "must not contain control characters").zh("不能含有控制字符"),
        );
    }
    Ok(trimmed.to_owned())
}

/// A display name of a place, person or thing: 1–100 characters, one line.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Name(String);

impl Name {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        clean_text("name", raw, Self::MAX_CHARS, false).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An administrative or internal code (区划代码, grid code, category code): 1–32 characters of ASCII
/// letters, digits, `-` and `_`. Codes are what external systems and printed material refer to, so
/// they are restricted to what survives every channel unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Code(String);

impl Code {
    pub const MAX_CHARS: usize = 32;

    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let raw = raw.trim();
        if raw.is_empty() || raw.len() > Self::MAX_CHARS {
            return Err(
                ValueError::new("code", "must be 1 to 32 characters").zh("须为 1 到 32 个字符")
            );
        }
        if !raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(ValueError::new(
                "code",
                "may contain only ASCII letters, digits, '-' and '_'",
            )
            .zh("只能包含英文字母、数字、“-”和“_”"));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A name in both of the product's languages. Chinese is the name of record; English is shown to
/// clients that ask for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BilingualName {
    zh: Name,
    en: Name,
}

impl BilingualName {
    pub fn new(zh: Name, en: Name) -> Self {
        Self { zh, en }
    }

    pub fn zh(&self) -> &Name {
        &self.zh
    }

    pub fn en(&self) -> &Name {
        &self.en
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded_in_characters() {
        assert_eq!(Name::parse("  文昌社区 ").unwrap().as_str(), "文昌社区");
        assert!(Name::parse("   ").is_err());
        // 100 Chinese characters are 300 bytes and still a valid name.
        assert!(Name::parse(&"文".repeat(100)).is_ok());
        assert!(Name::parse(&"文".repeat(101)).is_err());
        assert!(Name::parse("a\u{0}b").is_err());
        assert!(Name::parse("line\nbreak").is_err());
    }

    #[test]
    fn codes_are_restricted_ascii() {
        assert_eq!(Code::parse("320706001").unwrap().as_str(), "320706001");
        assert!(Code::parse("HZ-01_a").is_ok());
        assert!(Code::parse("文昌").is_err());
        assert!(Code::parse("a b").is_err());
        assert!(Code::parse("").is_err());
        assert!(Code::parse(&"x".repeat(33)).is_err());
    }

    #[test]
    fn multiline_text_allows_newlines_only_when_asked() {
        assert!(clean_text("d", "a\nb", 10, true).is_ok());
        assert!(clean_text("d", "a\nb", 10, false).is_err());
        assert!(clean_text("d", "a\u{7}b", 10, true).is_err());
    }
}
