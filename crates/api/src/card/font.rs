//! The embedded Chinese font: the one font the card is ever drawn with.
//!
//! Both faces are subsets of Noto Sans CJK SC made by `assets/fonts/make_subset.py` (ASCII,
//! Latin-1, CJK punctuation, full-width forms and all of GB2312). They are compiled into the
//! binary so a server with no fonts installed still draws real glyphs, and so the output does
//! not change with whatever fonts a machine happens to have.

use std::sync::{Arc, LazyLock};

use resvg::usvg::fontdb;
use skrifa::charmap::Charmap;
use skrifa::instance::{LocationRef, Size};
use skrifa::metrics::GlyphMetrics;
use skrifa::{FontRef, GlyphId, MetadataProvider};

/// The family name inside both embedded faces; the SVG source asks for it by this name.
pub(super) const FAMILY: &str = "Noto Sans CJK SC";

static REGULAR: &[u8] = include_bytes!("../../assets/fonts/NotoSansCJKsc-Regular.subset.otf");
static BOLD: &[u8] = include_bytes!("../../assets/fonts/NotoSansCJKsc-Bold.subset.otf");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Weight {
    Regular,
    Bold,
}

impl Weight {
    pub(super) const ALL: [Weight; 2] = [Weight::Regular, Weight::Bold];

    pub(super) fn data(self) -> &'static [u8] {
        match self {
            Weight::Regular => REGULAR,
            Weight::Bold => BOLD,
        }
    }

    /// The CSS `font-weight` that makes fontdb pick this face.
    pub(super) fn css(self) -> u16 {
        match self {
            Weight::Regular => 400,
            Weight::Bold => 700,
        }
    }

    pub(super) fn face(self) -> FontRef<'static> {
        // Both files are checked in and covered by tests; failing to parse them is a broken
        // build, not a runtime condition.
        FontRef::new(self.data()).expect("the embedded card font parses")
    }
}

/// A font database holding only the embedded faces. Loading no system fonts keeps the PNG
/// byte-for-byte the same on every machine, and a missing glyph shows up as a missing glyph
/// instead of silently borrowing some other font.
pub(super) fn database() -> Arc<fontdb::Database> {
    static DB: LazyLock<Arc<fontdb::Database>> = LazyLock::new(|| {
        let mut db = fontdb::Database::new();
        for weight in Weight::ALL {
            db.load_font_source(fontdb::Source::Binary(Arc::new(weight.data())));
        }
        db.set_sans_serif_family(FAMILY);
        Arc::new(db)
    });
    Arc::clone(&DB)
}

/// The glyph for `c`, or `None` when the face has only `.notdef` (tofu) for it.
pub(super) fn glyph(face: &FontRef<'static>, c: char) -> Option<GlyphId> {
    face.charmap().map(c).filter(|g| g.to_u32() != 0)
}

/// A font weight at a size, in canvas pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Style {
    pub weight: Weight,
    pub px: f32,
}

impl Style {
    pub(super) const fn new(weight: Weight, px: f32) -> Style {
        Style { weight, px }
    }

    pub(super) fn measure(self) -> Measure {
        let face = self.weight.face();
        Measure {
            charmap: face.charmap(),
            metrics: face.glyph_metrics(Size::new(self.px), LocationRef::default()),
            px: self.px,
        }
    }
}

/// Measures text the way the renderer lays it out: the sum of the glyph advances. Kerning is
/// ignored; in this font it only ever tightens pairs, so measuring without it errs on the side
/// of wrapping a little early, never of overflowing.
pub(super) struct Measure {
    charmap: Charmap<'static>,
    metrics: GlyphMetrics<'static>,
    px: f32,
}

impl Measure {
    pub(super) fn advance(&self, c: char) -> f32 {
        let gid = self.charmap.map(c).unwrap_or(GlyphId::NOTDEF);
        self.metrics.advance_width(gid).unwrap_or(self.px)
    }

    pub(super) fn width(&self, text: &str) -> f32 {
        text.chars().map(|c| self.advance(c)).sum()
    }
}
