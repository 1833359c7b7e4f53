//! The card's SVG source: where everything goes, in canvas pixels.
//!
//! The canvas is 1240 × 1760, A5 (148 × 210 mm) at about 213 dpi, which prints sharp at A5 and
//! still reads well on a phone. Every box has a fixed place and every string is fitted to its box
//! here, before it reaches the SVG, so no input can push anything off the card.

use std::fmt::Write as _;

use qrcode::types::QrError;
use qrcode::{Color, EcLevel, QrCode};

use super::font::{FAMILY, Style, Weight};
use super::text::{clean, fit, wrap};
use super::{CardError, CardOfficer, ContactCard};

pub(super) const WIDTH: u32 = 1240;
pub(super) const HEIGHT: u32 = 1760;

const W: f32 = WIDTH as f32;
const H: f32 = HEIGHT as f32;
/// The frame's inset from the edge of the canvas.
const FRAME: f32 = 24.0;
/// Left and right edge of the content.
const MARGIN: f32 = 72.0;
const CONTENT: f32 = W - 2.0 * MARGIN;

const PRIMARY: &str = "#0f4c81";
const INK: &str = "#1f2328";
const MUTED: &str = "#5b6470";
const RULE: &str = "#c9d1d9";
const ON_PRIMARY: &str = "#ffffff";
const ON_PRIMARY_MUTED: &str = "#d6e4f0";

pub(super) const TITLE: &str = "城管进社区 · 社区联系牌";
pub(super) const OFFICERS_HEADING: &str = "派驻执法队员";
pub(super) const NO_OFFICERS: &str = "暂无派驻队员，请拨打";
pub(super) const BADGE_LABEL: &str = "执法证号";
pub(super) const PHONE_LABEL: &str = "电话";
pub(super) const DUTIES_LABEL: &str = "职责：";
pub(super) const SCOPE_LABEL: &str = "执法范围：";
pub(super) const MORE_OFFICERS_BEFORE: &str = "另有";
pub(super) const MORE_OFFICERS_AFTER: &str = "名队员，详情请拨打";
pub(super) const HOURS_LABEL: &str = "办公时间";
pub(super) const QR_CAPTION: &str = "扫码吹哨 · 随手拍上报";
pub(super) const HOTLINE_LABEL: &str = "服务热线";
pub(super) const PUBLIC_HOTLINE_LABEL: &str = "政务服务便民热线";
pub(super) const TAGLINE: &str = "发现问题，扫码上报或拨打热线";

/// 12345 is the nationwide government-service hotline: a card whose bureau has no line of its
/// own still sends residents somewhere that answers.
pub(super) const PUBLIC_HOTLINE: &str = "12345";

/// Fixed labels drawn on every card, for the glyph check.
pub(super) const LABELS: &[&str] = &[
    TITLE,
    OFFICERS_HEADING,
    NO_OFFICERS,
    BADGE_LABEL,
    PHONE_LABEL,
    DUTIES_LABEL,
    SCOPE_LABEL,
    MORE_OFFICERS_BEFORE,
    MORE_OFFICERS_AFTER,
    HOURS_LABEL,
    QR_CAPTION,
    HOTLINE_LABEL,
    PUBLIC_HOTLINE_LABEL,
    TAGLINE,
    "0123456789 ·…",
];

/// Officers get one slot each; more than this and the last slot says how many are not shown.
const MAX_OFFICER_SLOTS: usize = 4;
const OFFICERS_TOP: f32 = 504.0;
const OFFICERS_BOTTOM: f32 = 1110.0;
/// With no office hours line the officers may use its place.
const OFFICERS_BOTTOM_NO_HOURS: f32 = 1190.0;
const MAX_SLOT: f32 = 240.0;
/// Most lines one field (duties or scope) may take, however much room there is.
const MAX_FIELD_LINES: usize = 3;

/// The QR code's box (quiet zone included) and its smallest module: below about half a
/// millimetre printed, phone cameras start to miss.
const QR_X: f32 = MARGIN;
const QR_Y: f32 = 1236.0;
const QR_BOX: u32 = 420;
const QR_QUIET_MODULES: usize = 4;
const QR_MIN_MODULE: u32 = 4;

#[derive(Clone, Copy)]
enum Anchor {
    Start,
    Middle,
    End,
}

/// SVG source under construction. Only `text` writes user-supplied strings, and it escapes them.
struct Canvas {
    svg: String,
}

impl Canvas {
    fn new() -> Canvas {
        let mut svg = String::with_capacity(16 * 1024);
        let _ = write!(
            svg,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="{FAMILY}">"#
        );
        Canvas { svg }
    }

    fn finish(mut self) -> String {
        self.svg.push_str("</svg>\n");
        self.svg
    }

    fn raw(&mut self, element: &str) {
        self.svg.push_str(element);
    }

    fn text(&mut self, x: f32, y: f32, style: Style, fill: &str, anchor: Anchor, text: &str) {
        if text.is_empty() {
            return;
        }
        let anchor = match anchor {
            Anchor::Start => "start",
            Anchor::Middle => "middle",
            Anchor::End => "end",
        };
        let _ = write!(
            self.svg,
            r#"<text x="{x}" y="{y}" font-size="{}" font-weight="{}" fill="{fill}" text-anchor="{anchor}">{}</text>"#,
            style.px,
            style.weight.css(),
            escape(text),
        );
    }

    fn rule(&mut self, y: f32, dashed: bool) {
        let dash = if dashed {
            r#" stroke-dasharray="8 8""#
        } else {
            ""
        };
        let _ = write!(
            self.svg,
            r#"<path d="M{MARGIN} {y}H{}" stroke="{RULE}" stroke-width="2"{dash}/>"#,
            W - MARGIN
        );
    }
}

/// Escapes the five characters XML gives meaning to, so names such as `<script>` or `A & B`
/// are drawn as text and never read as markup.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

pub(super) fn compose(card: &ContactCard) -> Result<String, CardError> {
    let qr = qr_path(&card.report_url)?;
    let hotline = card.hotline.as_deref().map(clean).filter(|h| !h.is_empty());
    let (hotline_label, hotline) = match hotline {
        Some(h) => (HOTLINE_LABEL, h),
        None => (PUBLIC_HOTLINE_LABEL, PUBLIC_HOTLINE.to_owned()),
    };
    let office_hours = card
        .office_hours
        .as_deref()
        .map(clean)
        .filter(|h| !h.is_empty());

    let mut c = Canvas::new();
    c.raw(&format!(
        r#"<rect width="{W}" height="{H}" fill="{ON_PRIMARY}"/><rect x="{FRAME}" y="{FRAME}" width="{}" height="{}" rx="28" fill="none" stroke="{PRIMARY}" stroke-width="6"/>"#,
        W - 2.0 * FRAME,
        H - 2.0 * FRAME,
    ));
    header(&mut c, card);
    officers(
        &mut c,
        &card.officers,
        &hotline,
        if office_hours.is_some() {
            OFFICERS_BOTTOM
        } else {
            OFFICERS_BOTTOM_NO_HOURS
        },
    );
    if let Some(hours) = office_hours {
        c.rule(1130.0, false);
        let label = Style::new(Weight::Bold, 32.0);
        c.text(MARGIN, 1182.0, label, PRIMARY, Anchor::Start, HOURS_LABEL);
        let x = MARGIN + label.measure().width(HOURS_LABEL) + 24.0;
        let value = Style::new(Weight::Regular, 32.0);
        let hours = fit(value, &hours, W - MARGIN - x);
        c.text(x, 1182.0, value, INK, Anchor::Start, &hours);
    }
    c.rule(1212.0, false);
    footer(&mut c, card, &qr, hotline_label, &hotline);
    Ok(c.finish())
}

fn header(c: &mut Canvas, card: &ContactCard) {
    let right = W - FRAME;
    c.raw(&format!(
        r#"<path d="M{FRAME} 224V52A28 28 0 0 1 52 {FRAME}H{}A28 28 0 0 1 {right} 52V224Z" fill="{PRIMARY}"/>"#,
        right - 28.0
    ));
    let title = Style::new(Weight::Bold, 60.0);
    c.text(
        W / 2.0,
        110.0,
        title,
        ON_PRIMARY,
        Anchor::Middle,
        &fit(title, TITLE, CONTENT),
    );
    let bureau = Style::new(Weight::Regular, 34.0);
    let name = fit(bureau, &clean(&card.bureau_name), CONTENT);
    c.text(
        W / 2.0,
        182.0,
        bureau,
        ON_PRIMARY_MUTED,
        Anchor::Middle,
        &name,
    );

    let community = Style::new(Weight::Bold, 84.0);
    let name = fit(community, &clean(&card.community_name), CONTENT);
    c.text(W / 2.0, 322.0, community, INK, Anchor::Middle, &name);
    let place = Style::new(Weight::Regular, 36.0);
    let where_ = [&card.district_name, &card.street_name]
        .into_iter()
        .map(|s| clean(s))
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" · ");
    c.text(
        W / 2.0,
        386.0,
        place,
        MUTED,
        Anchor::Middle,
        &fit(place, &where_, CONTENT),
    );
    c.rule(424.0, false);
    let heading = Style::new(Weight::Bold, 36.0);
    c.text(
        MARGIN,
        480.0,
        heading,
        PRIMARY,
        Anchor::Start,
        OFFICERS_HEADING,
    );
}

fn officers(c: &mut Canvas, officers: &[CardOfficer], hotline: &str, bottom: f32) {
    let area = bottom - OFFICERS_TOP;
    if officers.is_empty() {
        let style = Style::new(Weight::Bold, 36.0);
        let line = fit(style, &format!("{NO_OFFICERS} {hotline}"), CONTENT);
        c.text(
            W / 2.0,
            OFFICERS_TOP + 110.0,
            style,
            MUTED,
            Anchor::Middle,
            &line,
        );
        return;
    }
    let (shown, hidden) = if officers.len() > MAX_OFFICER_SLOTS {
        let shown = MAX_OFFICER_SLOTS - 1;
        (&officers[..shown], officers.len() - shown)
    } else {
        (officers, 0)
    };
    let slots = shown.len() + usize::from(hidden > 0);
    // One or two officers get larger type, so the card reads from further away and their
    // blocks fill some of the room four would need.
    let scale = match slots {
        1 => 1.3,
        2 => 1.15,
        _ => 1.0,
    };
    let slot = (area / slots as f32).min(MAX_SLOT * scale);
    let first = OFFICERS_TOP;
    for (i, officer) in shown.iter().enumerate() {
        let top = first + slot * i as f32;
        officer_block(c, officer, top, slot, scale);
        if i + 1 < slots {
            c.rule(top + slot - 6.0, true);
        }
    }
    if hidden > 0 {
        let style = Style::new(Weight::Regular, 30.0);
        let line = format!("{MORE_OFFICERS_BEFORE} {hidden} {MORE_OFFICERS_AFTER} {hotline}");
        let line = fit(style, &line, CONTENT);
        let top = first + slot * shown.len() as f32;
        c.text(MARGIN, top + 48.0, style, MUTED, Anchor::Start, &line);
    }
}

fn officer_block(c: &mut Canvas, officer: &CardOfficer, top: f32, height: f32, scale: f32) {
    let name_style = Style::new(Weight::Bold, 40.0 * scale);
    let badge_style = Style::new(Weight::Regular, 28.0 * scale);
    let phone_style = Style::new(Weight::Bold, 32.0 * scale);
    let detail = Style::new(Weight::Regular, 28.0 * scale);
    let line_height = 38.0 * scale;

    let row = top + 44.0 * scale;
    let name = fit(name_style, &clean(&officer.name), 320.0 * scale);
    c.text(MARGIN, row, name_style, INK, Anchor::Start, &name);

    let mut phone_width = 0.0;
    if let Some(phone) = officer
        .phone
        .as_deref()
        .map(clean)
        .filter(|p| !p.is_empty())
    {
        let phone = fit(
            phone_style,
            &format!("{PHONE_LABEL} {phone}"),
            380.0 * scale,
        );
        phone_width = phone_style.measure().width(&phone);
        c.text(W - MARGIN, row, phone_style, PRIMARY, Anchor::End, &phone);
    }
    let badge = clean(&officer.badge_number);
    if !badge.is_empty() {
        let x = MARGIN + name_style.measure().width(&name) + 20.0;
        let room = W - MARGIN - phone_width - 24.0 - x;
        let badge = fit(badge_style, &format!("{BADGE_LABEL} {badge}"), room);
        c.text(x, row, badge_style, MUTED, Anchor::Start, &badge);
    }

    // The first detail line sits a line and a bit under the name; the last must leave room
    // for its descenders and the dashed rule at the bottom of the slot.
    let first = row + 42.0 * scale;
    let last = top + height - 16.0 * scale;
    let budget = if last >= first {
        ((last - first) / line_height) as usize + 1
    } else {
        0
    };
    let fields: Vec<String> = [
        (DUTIES_LABEL, &officer.duties),
        (SCOPE_LABEL, &officer.enforcement_scope),
    ]
    .into_iter()
    .filter_map(|(label, value)| {
        let value = clean(value.as_deref()?);
        (!value.is_empty()).then(|| format!("{label}{value}"))
    })
    .collect();
    let needed: Vec<usize> = fields
        .iter()
        .map(|f| wrap(detail, f, CONTENT, MAX_FIELD_LINES).len())
        .collect();
    let allowed = share_lines(&needed, budget);
    let mut y = first;
    for (field, lines) in fields.iter().zip(allowed) {
        for line in wrap(detail, field, CONTENT, lines) {
            c.text(MARGIN, y, detail, INK, Anchor::Start, &line);
            y += line_height;
        }
    }
}

/// Splits `budget` lines between fields that each want `needed[i]`: when they don't all fit,
/// the later field keeps at least half so that neither disappears behind a long first one.
fn share_lines(needed: &[usize], budget: usize) -> Vec<usize> {
    match *needed {
        [a] => vec![a.min(budget)],
        [a, b] => {
            let first = a.min(budget - b.min(budget / 2));
            vec![first, b.min(budget - first)]
        }
        _ => Vec::new(),
    }
}

fn footer(c: &mut Canvas, card: &ContactCard, qr: &str, hotline_label: &str, hotline: &str) {
    c.raw(qr);
    let caption = Style::new(Weight::Bold, 32.0);
    let middle = QR_X + QR_BOX as f32 / 2.0;
    c.text(
        middle,
        1700.0,
        caption,
        INK,
        Anchor::Middle,
        &fit(caption, QR_CAPTION, 460.0),
    );

    let x = QR_X + QR_BOX as f32 + 68.0;
    let width = W - MARGIN - x;
    let label = Style::new(Weight::Regular, 36.0);
    c.text(
        x,
        1322.0,
        label,
        MUTED,
        Anchor::Start,
        &fit(label, hotline_label, width),
    );
    let number = Style::new(Weight::Bold, 128.0);
    c.text(
        x,
        1462.0,
        number,
        PRIMARY,
        Anchor::Start,
        &fit(number, hotline, width),
    );
    let tagline = Style::new(Weight::Regular, 30.0);
    c.text(
        x,
        1536.0,
        tagline,
        INK,
        Anchor::Start,
        &fit(tagline, TAGLINE, width),
    );
    // The address itself, for anyone whose phone will not scan.
    let url = Style::new(Weight::Regular, 24.0);
    for (i, line) in wrap(url, &clean(&card.report_url), width, 2)
        .iter()
        .enumerate()
    {
        c.text(x, 1600.0 + 34.0 * i as f32, url, MUTED, Anchor::Start, line);
    }
}

/// The QR code as one path of whole-pixel squares (runs of dark modules merged per row), drawn
/// with crisp edges so the PNG has hard black-and-white modules that any reader decodes.
/// Level Q survives a quarter of the code being dirty or scratched, which a card on a
/// community notice board will be.
fn qr_path(url: &str) -> Result<String, CardError> {
    if url.trim().is_empty() {
        return Err(CardError::EmptyReportUrl);
    }
    let too_long = || CardError::ReportUrlTooLong { len: url.len() };
    let code =
        QrCode::with_error_correction_level(url.as_bytes(), EcLevel::Q).map_err(|e| match e {
            QrError::DataTooLong => too_long(),
            e => CardError::QrCode(e),
        })?;
    let modules = code.width();
    let span = modules + 2 * QR_QUIET_MODULES;
    let module = QR_BOX / span as u32;
    if module < QR_MIN_MODULE {
        return Err(too_long());
    }
    let inset = (QR_BOX - module * span as u32) / 2 + module * QR_QUIET_MODULES as u32;
    let (x0, y0) = (QR_X as u32 + inset, QR_Y as u32 + inset);
    let colors = code.to_colors();
    let mut d = String::new();
    for (row, cells) in colors.chunks(modules).enumerate() {
        let mut col = 0;
        while col < modules {
            if cells[col] != Color::Dark {
                col += 1;
                continue;
            }
            let run = cells[col..]
                .iter()
                .take_while(|&&c| c == Color::Dark)
                .count();
            let _ = write!(
                d,
                "M{} {}h{}v{module}h-{}z",
                x0 + col as u32 * module,
                y0 + row as u32 * module,
                run as u32 * module,
                run as u32 * module,
            );
            col += run;
        }
    }
    Ok(format!(
        r##"<rect x="{QR_X}" y="{QR_Y}" width="{QR_BOX}" height="{QR_BOX}" fill="#ffffff"/><path d="{d}" fill="#000000" shape-rendering="crispEdges"/>"##
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_shared_so_neither_field_disappears() {
        assert_eq!(share_lines(&[3], 2), vec![2]);
        assert_eq!(share_lines(&[3, 3], 2), vec![1, 1]);
        assert_eq!(share_lines(&[3, 1], 2), vec![1, 1]);
        assert_eq!(share_lines(&[1, 3], 4), vec![1, 3]);
        assert_eq!(share_lines(&[3, 3], 4), vec![2, 2]);
        assert_eq!(share_lines(&[3, 3], 5), vec![3, 2]);
        assert_eq!(share_lines(&[2, 1], 6), vec![2, 1]);
    }

    #[test]
    fn escape_leaves_no_markup() {
        assert_eq!(
            escape(r#"<script>alert('x') & "y"</script>"#),
            "&lt;script&gt;alert(&apos;x&apos;) &amp; &quot;y&quot;&lt;/script&gt;"
        );
    }
}
