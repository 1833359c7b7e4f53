//! Fitting text into a box: one line with an ellipsis, or several lines broken the way Chinese
//! is broken (between any two hanzi, but never before a closing mark or after an opening one),
//! keeping runs of Latin letters and digits — a phone number, a URL, an English word — whole
//! where they fit.

use super::font::{Measure, Style};

pub(super) const ELLIPSIS: char = '…';

/// Marks that must not begin a line: they stay with the character before them.
const NO_LINE_START: &str = "，。、；：！？）】」』》〉”’…—·,.;:!?)]}%";
/// Marks that must not end a line: they go down with the character after them.
const NO_LINE_END: &str = "（【「『《〈“‘([{";

/// What the card may draw of a user-supplied string: control characters (which XML 1.0 forbids
/// outright, and which would otherwise break the SVG) become spaces, and runs of whitespace
/// collapse to one space, as SVG would collapse them anyway — measuring must see what is drawn.
pub(super) fn clean(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let c = if c.is_control() || c.is_whitespace() {
            ' '
        } else {
            c
        };
        if c == ' ' && (out.is_empty() || out.ends_with(' ')) {
            continue;
        }
        out.push(c);
    }
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    out
}

/// `text` on one line no wider than `max_width`, cut short with an ellipsis if it must be.
pub(super) fn fit(style: Style, text: &str, max_width: f32) -> String {
    fit_with(&style.measure(), text, max_width)
}

fn fit_with(m: &Measure, text: &str, max_width: f32) -> String {
    if m.width(text) <= max_width {
        return text.to_owned();
    }
    let budget = max_width - m.advance(ELLIPSIS);
    let mut used = 0.0;
    let mut end = 0;
    for (i, c) in text.char_indices() {
        used += m.advance(c);
        if used > budget {
            break;
        }
        end = i + c.len_utf8();
    }
    let mut out = text[..end].trim_end().to_owned();
    out.push(ELLIPSIS);
    out
}

/// `text` broken into at most `max_lines` lines no wider than `max_width`; if it needs more, the
/// last line ends in an ellipsis.
pub(super) fn wrap(style: Style, text: &str, max_width: f32, max_lines: usize) -> Vec<String> {
    if max_lines == 0 || text.is_empty() {
        return Vec::new();
    }
    let m = style.measure();
    let starts = line_starts(&m, text, max_width);
    let mut lines = Vec::with_capacity(starts.len().min(max_lines));
    for (n, &start) in starts.iter().enumerate() {
        if n + 1 == max_lines && starts.len() > max_lines {
            // Everything from here on did not fit on one line, so this adds the ellipsis.
            lines.push(fit_with(&m, text[start..].trim(), max_width));
            break;
        }
        let end = starts.get(n + 1).copied().unwrap_or(text.len());
        lines.push(text[start..end].trim().to_owned());
    }
    lines
}

/// Byte offsets where each line of the greedy layout begins.
fn line_starts(m: &Measure, text: &str, max_width: f32) -> Vec<usize> {
    let mut starts = vec![0];
    let mut line_width = 0.0;
    for (start, end) in units(text) {
        let unit = &text[start..end];
        if unit == " " {
            // A space at the start of a line is dropped; elsewhere it counts but never forces a
            // break on its own.
            if line_width > 0.0 {
                line_width += m.advance(' ');
            }
            continue;
        }
        let width = m.width(unit);
        if line_width + width <= max_width {
            line_width += width;
            continue;
        }
        if line_width > 0.0 {
            starts.push(start);
            line_width = 0.0;
        }
        if width <= max_width {
            line_width = width;
            continue;
        }
        // A unit wider than a whole line (a very long URL or number): cut it anywhere.
        for (i, c) in unit.char_indices() {
            let w = m.advance(c);
            if line_width + w > max_width && line_width > 0.0 {
                starts.push(start + i);
                line_width = 0.0;
            }
            line_width += w;
        }
    }
    starts
}

/// The pieces a line may break between, as byte ranges: a space, a run of visible ASCII (a
/// word, a number, a URL), or a single other character — each with any closing mark after it and
/// any opening mark before it glued on.
fn units(text: &str) -> Vec<(usize, usize)> {
    let mut units: Vec<(usize, usize)> = Vec::new();
    let mut chars = text.char_indices().peekable();
    let mut glue_next = false;
    while let Some((i, c)) = chars.next() {
        let mut end = i + c.len_utf8();
        if c.is_ascii_graphic() && !NO_LINE_START.contains(c) && !NO_LINE_END.contains(c) {
            while let Some(&(j, d)) = chars.peek() {
                if !d.is_ascii_graphic() || NO_LINE_END.contains(d) {
                    break;
                }
                end = j + d.len_utf8();
                chars.next();
            }
        }
        let is_space = c == ' ';
        match units.last_mut() {
            Some(last) if glue_next && !is_space => last.1 = end,
            Some(last) if NO_LINE_START.contains(c) && &text[last.0..last.1] != " " => last.1 = end,
            _ => units.push((i, end)),
        }
        glue_next = NO_LINE_END.contains(c);
    }
    units
}

#[cfg(test)]
mod tests {
    use super::super::font::Weight;
    use super::*;

    const BODY: Style = Style::new(Weight::Regular, 28.0);

    #[test]
    fn clean_removes_control_characters_and_collapses_spaces() {
        assert_eq!(clean("  田\u{0}野\n\t执法 \u{7}  队 "), "田 野 执法 队");
    }

    #[test]
    fn fit_adds_an_ellipsis_only_when_needed() {
        assert_eq!(fit(BODY, "文昌社区", 1000.0), "文昌社区");
        let cut = fit(BODY, &"文昌社区".repeat(20), 300.0);
        assert!(cut.ends_with(ELLIPSIS), "{cut}");
        assert!(BODY.measure().width(&cut) <= 300.0);
        assert!(cut.chars().count() > 5, "cut far too early: {cut}");
    }

    #[test]
    fn wrap_respects_width_and_line_limit() {
        let text = "负责文昌社区范围内市容环境卫生、户外广告、违法建设、占道经营的日常巡查与劝导。"
            .repeat(4);
        let m = BODY.measure();
        let all = wrap(BODY, &text, 400.0, 100);
        assert!(all.len() > 3);
        assert!(all.iter().all(|l| m.width(l) <= 400.0), "{all:?}");
        assert_eq!(all.concat(), text, "nothing lost when the lines suffice");

        let three = wrap(BODY, &text, 400.0, 3);
        assert_eq!(three.len(), 3);
        assert!(three[2].ends_with(ELLIPSIS));
        assert!(three.iter().all(|l| m.width(l) <= 400.0), "{three:?}");
        assert_eq!(three[..2], all[..2]);
    }

    #[test]
    fn closing_marks_never_start_a_line_and_opening_marks_never_end_one() {
        let text = "巡查（占道经营）、劝导，处置；“门前三包”。".repeat(6);
        for width in (120..400).step_by(7) {
            let lines = wrap(BODY, &text, width as f32, 100);
            for line in &lines {
                let first = line.chars().next().unwrap();
                let last = line.chars().last().unwrap();
                assert!(!NO_LINE_START.contains(first), "{width}: {lines:?}");
                assert!(!NO_LINE_END.contains(last), "{width}: {lines:?}");
            }
        }
    }

    #[test]
    fn latin_runs_stay_whole_where_they_fit() {
        let lines = wrap(
            BODY,
            "请访问 https://whistle.example/r/wc 或拨打 13800005678",
            420.0,
            5,
        );
        assert!(
            lines
                .iter()
                .any(|l| l.contains("https://whistle.example/r/wc")),
            "{lines:?}"
        );
        assert!(lines.iter().any(|l| l.contains("13800005678")), "{lines:?}");
    }

    #[test]
    fn a_run_longer_than_a_line_is_cut_anywhere() {
        let url = format!("https://whistle.example/{}", "a".repeat(120));
        let lines = wrap(BODY, &url, 300.0, 100);
        assert!(lines.len() > 2);
        assert_eq!(lines.concat(), url);
        let m = BODY.measure();
        assert!(lines.iter().all(|l| m.width(l) <= 300.0));
    }
}
