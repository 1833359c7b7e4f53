//! The community contact card (社区联系牌): an A5 sheet posted in a community that names the
//! city-management officers stationed there, how to reach them, and a QR code that opens the
//! resident's report form.
//!
//! Pure rendering, no IO: a [`ContactCard`] in, a self-contained SVG or a PNG out. Text is drawn
//! with the Chinese font compiled into the binary (see `assets/fonts/README.md`), never with
//! whatever fonts the server has, so the card looks the same everywhere and never shows tofu.

mod font;
mod layout;
mod text;

#[cfg(test)]
mod tests;

use std::collections::BTreeSet;

use resvg::tiny_skia;
use resvg::usvg;

use font::Weight;

/// Everything printed on one community's card.
#[derive(Debug, Clone)]
pub struct ContactCard {
    /// e.g. "文昌社区"
    pub community_name: String,
    /// e.g. "鼓楼街道"
    pub street_name: String,
    /// e.g. "海州区"
    pub district_name: String,
    /// e.g. "海州区城市管理局"
    pub bureau_name: String,
    /// Up to four are shown in full; with more, the last slot says how many are left out.
    pub officers: Vec<CardOfficer>,
    /// e.g. "周一至周五 8:30–17:30"
    pub office_hours: Option<String>,
    /// What the QR code encodes; also printed in small type under the hotline.
    pub report_url: String,
    /// The bureau's own hotline; without one the card shows the public 12345 line.
    pub hotline: Option<String>,
}

/// One officer stationed in the community.
#[derive(Debug, Clone)]
pub struct CardOfficer {
    pub name: String,
    /// The law-enforcement certificate number (执法证号).
    pub badge_number: String,
    pub phone: Option<String>,
    pub duties: Option<String>,
    pub enforcement_scope: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum CardError {
    #[error("the card has no report URL for its QR code")]
    EmptyReportUrl,
    /// The QR code would need modules too small to scan once printed.
    #[error("the report URL ({len} bytes) is too long for a QR code that scans when printed")]
    ReportUrlTooLong { len: usize },
    #[error("the report URL cannot be encoded as a QR code")]
    QrCode(#[source] qrcode::types::QrError),
    /// A bug: the composed SVG should always parse.
    #[error("the card's SVG source did not parse")]
    Svg(#[from] usvg::Error),
    #[error("the card could not be rasterised: {0}")]
    Raster(String),
}

/// The card as a standalone SVG document, 1240 × 1760 user units, printing at A5.
///
/// Text is already turned into outlines, so the file needs no font to display correctly —
/// an officer's phone or a print shop's PC with no Chinese fonts shows the same card.
pub fn render_svg(card: &ContactCard) -> Result<String, CardError> {
    let tree = tree(card)?;
    let options = usvg::WriteOptions {
        // Hundredths of a pixel are far below what print or screen can show, and keep the file
        // about half the size of the default precision.
        coordinates_precision: 2,
        transforms_precision: 4,
        ..usvg::WriteOptions::default()
    };
    Ok(tree.to_string(&options))
}

/// The card as a PNG, 1240 × 1760 pixels on white (A5 at about 213 dpi).
pub fn render_png(card: &ContactCard) -> Result<Vec<u8>, CardError> {
    let tree = tree(card)?;
    let mut pixmap = tiny_skia::Pixmap::new(layout::WIDTH, layout::HEIGHT)
        .ok_or_else(|| CardError::Raster("cannot allocate the canvas".to_owned()))?;
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(
        &tree,
        tiny_skia::Transform::identity(),
        &mut pixmap.as_mut(),
    );
    pixmap
        .encode_png()
        .map_err(|e| CardError::Raster(e.to_string()))
}

/// Characters of the card's text that the embedded font cannot draw, in code point order.
///
/// Empty for ordinary Simplified Chinese: the font covers GB2312 and common punctuation. A rare
/// name character or an emoji would print as a box, so callers should check this before
/// handing a card to a printer.
pub fn missing_glyphs(card: &ContactCard) -> Vec<char> {
    let faces = Weight::ALL.map(Weight::face);
    let mut missing = BTreeSet::new();
    for text in card_text(card).chain(layout::LABELS.iter().copied()) {
        for c in text::clean(text).chars().filter(|&c| c != ' ') {
            if faces.iter().any(|face| font::glyph(face, c).is_none()) {
                missing.insert(c);
            }
        }
    }
    missing.into_iter().collect()
}

/// Every string from the card that may be printed.
fn card_text(card: &ContactCard) -> impl Iterator<Item = &str> {
    let officers = card.officers.iter().flat_map(|o| {
        [Some(&o.name), Some(&o.badge_number)]
            .into_iter()
            .chain([&o.phone, &o.duties, &o.enforcement_scope].map(Option::as_ref))
            .flatten()
    });
    [
        Some(&card.community_name),
        Some(&card.street_name),
        Some(&card.district_name),
        Some(&card.bureau_name),
        card.office_hours.as_ref(),
        Some(&card.report_url),
        card.hotline.as_ref(),
    ]
    .into_iter()
    .flatten()
    .chain(officers)
    .map(String::as_str)
}

/// The parsed card, its text already shaped into outlines with the embedded font.
fn tree(card: &ContactCard) -> Result<usvg::Tree, CardError> {
    let source = layout::compose(card)?;
    Ok(usvg::Tree::from_str(&source, &options())?)
}

fn options() -> usvg::Options<'static> {
    usvg::Options {
        font_family: font::FAMILY.to_owned(),
        languages: vec!["zh-CN".to_owned()],
        fontdb: font::database(),
        ..usvg::Options::default()
    }
}
