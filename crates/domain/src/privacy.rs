//! Contact details in free text that the public will read.
//!
//! Residents write their own phone number or e-mail into a description ("联系我 13912345678"), and
//! an officer's account of a resolution may name a shop owner's landline. Text that leaves through
//! a public interface goes through [`mask_contacts`], which hides the middle of whatever has the
//! shape of a mainland mobile, a resident ID number, a landline or an e-mail address, and keeps
//! enough for its owner to recognise it (`138****5678`, `0518-****1234`, `s***@example.com`).
//!
//! The shapes are strict where ordinary text is close: case numbers (`HZ-20261125-000123`), dates,
//! times, house numbers, years, amounts and decimals (coordinates) are left alone. Numbers with no
//! area code (`85551234`) are too close to amounts to tell apart and are left alone too.

/// Masks mainland mobiles (`13812345678`, `+86 138 1234 5678`, `138-1234-5678`), resident ID
/// numbers (18 characters, the last may be X), landlines (`0518-85551234`, `（0518）85551234`,
/// `051885551234`, an extension is kept) and e-mail addresses (`s***@example.com`, also with a
/// full-width ＠). Digits may be ASCII or full-width. Masking the result again changes nothing.
pub fn mask_contacts(text: &str) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    // Masking can leave a new shape behind: the kept tail of one number may be the area code of
    // the next (`0518-8555-0518 85551234`). So mask until nothing changes. It ends: a round that
    // changes something turns digits into `*` or puts `*` before an `@`, which no local part
    // contains, and neither is ever undone.
    loop {
        let next = mask_numbers(&mask_emails(&chars));
        if next == chars {
            return chars.into_iter().collect();
        }
        chars = next;
    }
}

// ---- e-mail addresses ----------------------------------------------------------------------

fn mask_emails(chars: &[char]) -> Vec<char> {
    let mut out = Vec::with_capacity(chars.len() + 8);
    // chars[..copied] are in `out` already; an address never starts inside the one before it.
    let mut copied = 0;
    let mut i = 0;
    while i < chars.len() {
        if matches!(chars[i], '@' | '＠')
            && let Some((start, end)) = email_around(chars, copied, i)
        {
            out.extend_from_slice(&chars[copied..=start]);
            out.extend(['*'; 3]);
            out.extend_from_slice(&chars[i..end]);
            copied = end;
            i = end;
        } else {
            i += 1;
        }
    }
    out.extend_from_slice(&chars[copied..]);
    out
}

/// The address whose `@` is at `at`, as (start of the local part, end of the domain).
fn email_around(chars: &[char], floor: usize, at: usize) -> Option<(usize, usize)> {
    let mut start = at;
    while start > floor && is_local(chars[start - 1]) {
        start -= 1;
    }
    // Punctuation before the name is the sentence's, not the address's.
    while start < at && !chars[start].is_ascii_alphanumeric() {
        start += 1;
    }
    if start == at {
        return None;
    }
    Some((start, domain_end(chars, at + 1)?))
}

fn is_local(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '%' | '+' | '-')
}

/// The end of a domain starting at `from`: at least two labels, the last one starting with two
/// or more letters (a top-level domain), so that a full stop ending the sentence is not taken in.
fn domain_end(chars: &[char], from: usize) -> Option<usize> {
    let is_label = |c: char| c.is_ascii_alphanumeric() || c == '-';
    let (mut i, mut labels, mut end) = (from, 0, None);
    loop {
        let start = i;
        while i < chars.len() && is_label(chars[i]) {
            i += 1;
        }
        if i == start {
            return end;
        }
        labels += 1;
        // A top-level domain is letters; what follows them in the same word is the sentence's
        // (`a@b.cn-联系`, `a@b.cn123`).
        let letters = chars[start..i]
            .iter()
            .take_while(|c| c.is_ascii_alphabetic())
            .count();
        if labels >= 2 && letters >= 2 {
            end = Some(start + letters);
        }
        if chars.get(i) != Some(&'.') {
            return end;
        }
        i += 1;
    }
}

// ---- numbers -------------------------------------------------------------------------------

fn is_digit(c: char) -> bool {
    c.is_ascii_digit() || ('０'..='９').contains(&c)
}

fn value(c: char) -> u32 {
    c.to_digit(10)
        .unwrap_or_else(|| u32::from(c).wrapping_sub(u32::from('０')))
}

/// Separators people put between groups of a number.
fn is_separator(c: char) -> bool {
    matches!(c, '-' | ' ' | '－' | '\u{3000}')
}

fn run_end(chars: &[char], from: usize) -> usize {
    let mut i = from;
    while i < chars.len() && is_digit(chars[i]) {
        i += 1;
    }
    i
}

/// Digits right after `1.` or before `.5` belong to a decimal: a coordinate or an amount.
fn after_point(chars: &[char], start: usize) -> bool {
    start >= 2 && chars[start - 1] == '.' && is_digit(chars[start - 2])
}

fn before_point(chars: &[char], end: usize) -> bool {
    chars.get(end) == Some(&'.') && chars.get(end + 1).is_some_and(|&c| is_digit(c))
}

/// Up to three digit runs from `start`, each joined to the next by one separator.
fn groups_from(chars: &[char], start: usize) -> Vec<(usize, usize)> {
    let mut groups = vec![(start, run_end(chars, start))];
    while groups.len() < 3 {
        let end = groups[groups.len() - 1].1;
        let joined = chars.get(end).is_some_and(|&c| is_separator(c))
            && chars.get(end + 1).is_some_and(|&c| is_digit(c));
        if !joined {
            break;
        }
        groups.push((end + 1, run_end(chars, end + 1)));
    }
    groups
}

fn lengths(groups: &[(usize, usize)]) -> Vec<usize> {
    groups.iter().map(|(s, e)| e - s).collect()
}

/// The positions of the digits of `groups`, in order.
fn positions(groups: &[(usize, usize)]) -> Vec<usize> {
    groups.iter().flat_map(|&(s, e)| s..e).collect()
}

/// What to hide and where the number ends.
type Found = (Vec<usize>, usize);

fn mask_numbers(chars: &[char]) -> Vec<char> {
    let mut out = chars.to_vec();
    let mut i = 0;
    while i < chars.len() {
        if let Some((hide, end)) = number_at(chars, i) {
            for p in hide {
                out[p] = '*';
            }
            i = end;
        } else if is_digit(chars[i]) {
            // Never from the middle of a run: a number is only ever a whole run.
            i = run_end(chars, i);
        } else {
            i += 1;
        }
    }
    out
}

fn number_at(chars: &[char], i: usize) -> Option<Found> {
    if matches!(chars[i], '(' | '（') {
        return bracketed_landline(chars, i);
    }
    if !is_digit(chars[i]) || after_point(chars, i) {
        return None;
    }
    let groups = groups_from(chars, i);
    (1..=groups.len()).rev().find_map(|k| {
        let groups = &groups[..k];
        let found = mobile(chars, groups)
            .or_else(|| id_number(chars, groups))
            .or_else(|| landline(chars, groups))?;
        (!before_point(chars, found.1)).then_some(found)
    })
}

/// 1[3-9] and nine digits, alone (after 86 or 0086 written together with it) or as 3-4-4, 3-8
/// or 7-4 groups. The fourth to seventh digits are hidden.
fn mobile(chars: &[char], groups: &[(usize, usize)]) -> Option<Found> {
    let digits = positions(groups);
    let prefix = match lengths(groups).as_slice() {
        [11] | [3, 4, 4] | [3, 8] | [7, 4] => 0,
        [13] if starts_with(chars, &digits, &[8, 6]) => 2,
        [15] if starts_with(chars, &digits, &[0, 0, 8, 6]) => 4,
        _ => return None,
    };
    let number = &digits[prefix..];
    let second = value(chars[number[1]]);
    (value(chars[number[0]]) == 1 && (3..=9).contains(&second))
        .then(|| (number[3..7].to_vec(), groups[groups.len() - 1].1))
}

/// 17 digits and a digit or X; all but the first three and the last four are hidden.
fn id_number(chars: &[char], groups: &[(usize, usize)]) -> Option<Found> {
    let &[(start, end)] = groups else {
        return None;
    };
    let end = match end - start {
        18 => end,
        17 if chars
            .get(end)
            .is_some_and(|&c| matches!(c, 'X' | 'x' | 'Ｘ' | 'ｘ')) =>
        {
            end + 1
        }
        _ => return None,
    };
    Some(((start + 3..end - 4).collect(), end))
}

/// An area code (010, 02x, or 0 and three digits from 3) and a subscriber number of seven or
/// eight digits not starting with 0 or 1: together, or apart with the subscriber number whole or
/// as 3/4-4. All of the subscriber number but its last four digits is hidden.
fn landline(chars: &[char], groups: &[(usize, usize)]) -> Option<Found> {
    let digits = positions(groups);
    let area = area_code_len(chars, &digits)?;
    let fits = match lengths(groups).as_slice() {
        [n] => (area + 7..=area + 8).contains(n),
        [a, 7 | 8] | [a, 3 | 4, 4] => *a == area,
        _ => false,
    };
    if !fits {
        return None;
    }
    subscriber(chars, &digits[area..]).map(|hide| (hide, groups[groups.len() - 1].1))
}

/// `(0518)85551234`, `（0518） 8555-1234`.
fn bracketed_landline(chars: &[char], open: usize) -> Option<Found> {
    let start = open + 1;
    if !chars.get(start).is_some_and(|&c| is_digit(c)) {
        return None;
    }
    let end = run_end(chars, start);
    let area: Vec<usize> = (start..end).collect();
    if area_code_len(chars, &area) != Some(area.len())
        || !chars.get(end).is_some_and(|&c| matches!(c, ')' | '）'))
    {
        return None;
    }
    let mut from = end + 1;
    if chars.get(from).is_some_and(|&c| is_separator(c)) {
        from += 1;
    }
    if !chars.get(from).is_some_and(|&c| is_digit(c)) {
        return None;
    }
    let groups = groups_from(chars, from);
    (1..=groups.len().min(2)).rev().find_map(|k| {
        let groups = &groups[..k];
        if !matches!(lengths(groups).as_slice(), [7 | 8] | [3 | 4, 4]) {
            return None;
        }
        let end = groups[k - 1].1;
        let hide = subscriber(chars, &positions(groups))?;
        (!before_point(chars, end)).then_some((hide, end))
    })
}

fn area_code_len(chars: &[char], digits: &[usize]) -> Option<usize> {
    let d = |k: usize| digits.get(k).map(|&p| value(chars[p]));
    let len = match (d(0)?, d(1)?, d(2)?) {
        (0, 1, 0) | (0, 2, _) => 3,
        (0, 3..=9, _) => 4,
        _ => return None,
    };
    (digits.len() >= len).then_some(len)
}

fn subscriber(chars: &[char], digits: &[usize]) -> Option<Vec<usize>> {
    let ok = (7..=8).contains(&digits.len()) && value(chars[digits[0]]) >= 2;
    ok.then(|| digits[..digits.len() - 4].to_vec())
}

fn starts_with(chars: &[char], digits: &[usize], prefix: &[u32]) -> bool {
    prefix
        .iter()
        .zip(digits)
        .all(|(&want, &p)| value(chars[p]) == want)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn masks(text: &str, expected: &str) {
        assert_eq!(mask_contacts(text), expected, "{text}");
    }

    fn keeps(text: &str) {
        assert_eq!(mask_contacts(text), text);
    }

    #[test]
    fn the_reported_description_is_masked_whole() {
        masks(
            "联系人孙自述 邮箱sun.self@example.com 座机0518-85551234",
            "联系人孙自述 邮箱s***@example.com 座机0518-****1234",
        );
    }

    #[test]
    fn mobiles_in_every_usual_spelling() {
        masks("电话13812345678，门牌 12 号", "电话138****5678，门牌 12 号");
        masks("13812345678", "138****5678");
        masks("+86 13812345678", "+86 138****5678");
        masks("+8613812345678", "+86138****5678");
        masks("8613812345678", "86138****5678");
        masks("008613812345678", "0086138****5678");
        masks("(+86)139-1234-5678", "(+86)139-****-5678");
        masks("138-1234-5678", "138-****-5678");
        masks("138 1234 5678", "138 **** 5678");
        masks("138－1234－5678", "138－****－5678");
        masks("138 12345678", "138 ****5678");
        masks("1381234 5678", "138**** 5678");
        masks("１３８１２３４５６７８", "１３８****５６７８");
        masks("手机19912345678。", "手机199****5678。");
        masks("电话:13812345678.", "电话:138****5678.");
        masks("a13812345678b", "a138****5678b");
        masks("13812345678 和 13912345678", "138****5678 和 139****5678");
    }

    #[test]
    fn resident_id_numbers() {
        masks("身份证32070619900101123X", "身份证320***********123X");
        masks(
            "身份证 320706199001011234 号",
            "身份证 320***********1234 号",
        );
        masks("320706199001011234", "320***********1234");
        masks("32070619900101123x。", "320***********123x。");
    }

    #[test]
    fn landlines_with_and_without_separators() {
        masks("0518-85551234", "0518-****1234");
        masks("0518 85551234", "0518 ****1234");
        masks("051885551234", "0518****1234");
        masks("0518-8555123", "0518-***5123");
        masks("010-85551234", "010-****1234");
        masks("01085551234", "010****1234");
        masks("021 6555 1234", "021 **** 1234");
        masks("0518-8555-1234", "0518-****-1234");
        masks("（0518）85551234", "（0518）****1234");
        masks("(0518)85551234", "(0518)****1234");
        masks("(0518) 8555 1234", "(0518) **** 1234");
        masks("（010）6555-1234", "（010）****-1234");
    }

    #[test]
    fn extensions_are_kept_and_the_number_still_masked() {
        masks("0518-85551234-8001", "0518-****1234-8001");
        masks("0518-85551234转8001", "0518-****1234转8001");
        masks("0518-85551234 ext. 12", "0518-****1234 ext. 12");
    }

    #[test]
    fn email_addresses_keep_their_first_letter_and_domain() {
        masks("sun.self@example.com", "s***@example.com");
        masks("邮箱sun.self@example.com。", "邮箱s***@example.com。");
        masks("邮箱：sun.self＠example.com", "邮箱：s***＠example.com");
        masks("write to a@b.cn.", "write to a***@b.cn.");
        masks("<li.ming+x@mail.lyg.gov.cn>", "<l***@mail.lyg.gov.cn>");
        masks("13812345678@163.com", "1***@163.com");
        masks("a@b.cn, c@d.cn", "a***@b.cn, c***@d.cn");
    }

    #[test]
    fn what_merely_has_an_at_sign_is_left() {
        keeps("@王队长 请处理");
        keeps("name@localhost");
        keeps("a@b.c");
        keeps("在 @ 符号后");
    }

    #[test]
    fn case_numbers_dates_times_and_other_numbers_are_left() {
        keeps("案件 HZ-20261125-000123 在 2026 年");
        keeps("HZ-20261125-000123");
        keeps("LYG-20260101-010123");
        keeps("2026-12-01 08:30 到 2026-12-01 18:00:00");
        keeps("2026年12月1日");
        keeps("20261201");
        keeps("3栋2单元501室，人民路138号");
        keeps("朝阳路 1380 号 1234 室");
        keeps("罚款 5000 元，¥1,380.50，共 12345678 元");
        keeps("金额 13812345678.00 元");
        keeps("坐标 119.13812345678, 34.5912345678");
        keeps("23812345678");
        keeps("12345678901");
        keeps("1234567890123456789");
        keeps("85551234");
        keeps("0123-85551234");
        keeps("0518-01551234");
        keeps("138-1234");
        keeps("");
    }

    #[test]
    fn masked_text_is_not_masked_again() {
        for text in [
            "138****5678",
            "0518-****1234",
            "s***@example.com",
            "320***********123X",
        ] {
            keeps(text);
        }
        // The kept tail of one landline is the area code of the next.
        let once = mask_contacts("0518-8555-0518 85551234");
        assert_eq!(once, "0518-****-0518 ****1234");
        assert_eq!(mask_contacts(&once), once);
    }

    /// Text made of the pieces contact details are made of, so that the shapes and their near
    /// misses come up often.
    const PIECES: &str = "[0-9０８Xx@＠.+*() （）\\-－a-cm邮转元]{0,40}";

    fn digits(s: &str) -> Vec<char> {
        s.chars().filter(|&c| is_digit(c)).collect()
    }

    /// Whether `small` is `big` with some elements left out.
    fn is_subsequence(small: &[char], big: &[char]) -> bool {
        let mut rest = big.iter();
        small.iter().all(|c| rest.any(|b| b == c))
    }

    proptest! {
        #[test]
        fn any_text_is_masked_without_panicking(text in ".*") {
            let once = mask_contacts(&text);
            prop_assert!(is_subsequence(&digits(&once), &digits(&text)));
        }

        #[test]
        fn masking_only_hides_digits_and_is_idempotent(text in PIECES) {
            let once = mask_contacts(&text);
            // Digits are hidden, never added or moved.
            prop_assert!(is_subsequence(&digits(&once), &digits(&text)));
            if !text.contains(['@', '＠']) {
                // Without addresses nothing but digits changes, and each only into `*`.
                prop_assert_eq!(once.chars().count(), text.chars().count());
                for (a, b) in text.chars().zip(once.chars()) {
                    prop_assert!(a == b || (is_digit(a) && b == '*'), "{} → {}", text, once);
                }
            }
            prop_assert_eq!(mask_contacts(&once), once.clone(), "{}", text);
        }

        #[test]
        fn contact_details_never_survive(
            before in "[a-z 邮箱电话，。()（）+*\\-]{0,8}",
            after in "[a-z 邮箱电话，。()（）*\\-]{0,8}",
            mobile in "1[3-9][0-9]{9}",
            landline in "0[3-9][0-9]{2}-[2-9][0-9]{7}",
            local in "[a-z][a-z0-9._]{2,10}",
        ) {
            let email = format!("{local}@example.com");
            for secret in [&mobile, &landline, &email] {
                let out = mask_contacts(&format!("{before}{secret}{after}"));
                prop_assert!(!out.contains(secret.as_str()), "{}", out);
            }
        }
    }
}
