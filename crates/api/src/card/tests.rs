use std::sync::Arc;

use resvg::{tiny_skia, usvg};
use skrifa::outline::{DrawSettings, pen::PathElement};
use skrifa::{FontRef, MetadataProvider};

use super::font::{self, Weight};
use super::*;

const REPORT_URL: &str = "https://whistle.example.gov.cn/r/haizhou/gulou/wenchang?src=card";

fn demo_officer() -> CardOfficer {
    CardOfficer {
        name: "田野".to_owned(),
        badge_number: "32070601".to_owned(),
        phone: Some("13800005678".to_owned()),
        duties: Some("市容环境巡查、门前三包督导、占道经营劝导".to_owned()),
        enforcement_scope: Some("文昌社区及周边主次干道、背街小巷".to_owned()),
    }
}

fn demo_card() -> ContactCard {
    ContactCard {
        community_name: "文昌社区".to_owned(),
        street_name: "鼓楼街道".to_owned(),
        district_name: "海州区".to_owned(),
        bureau_name: "海州区城市管理局".to_owned(),
        officers: vec![demo_officer()],
        office_hours: Some("周一至周五 8:30–17:30".to_owned()),
        report_url: REPORT_URL.to_owned(),
        hotline: Some("12345".to_owned()),
    }
}

fn decode_png(png: &[u8]) -> image::GrayImage {
    image::load_from_memory_with_format(png, image::ImageFormat::Png)
        .expect("the PNG decodes")
        .to_luma8()
}

fn read_qr_codes(img: &image::GrayImage) -> Vec<String> {
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(
        img.width() as usize,
        img.height() as usize,
        |x, y| img.get_pixel(x as u32, y as u32)[0],
    );
    prepared
        .detect_grids()
        .into_iter()
        .map(|grid| grid.decode().expect("the QR code decodes").1)
        .collect()
}

/// Every text element's box in the parsed card, in canvas pixels.
fn text_boxes(card: &ContactCard) -> Vec<usvg::Rect> {
    fn walk(group: &usvg::Group, out: &mut Vec<usvg::Rect>) {
        for node in group.children() {
            match node {
                usvg::Node::Group(g) => walk(g, out),
                usvg::Node::Text(t) => out.push(t.abs_bounding_box()),
                _ => {}
            }
        }
    }
    let tree = tree(card).expect("the card parses");
    let mut boxes = Vec::new();
    walk(tree.root(), &mut boxes);
    boxes
}

fn assert_text_inside_the_frame(card: &ContactCard) {
    let boxes = text_boxes(card);
    assert!(boxes.len() > 10, "only {} text elements", boxes.len());
    let inner = 24.0 + 3.0;
    let (w, h) = (layout::WIDTH as f32, layout::HEIGHT as f32);
    for b in boxes {
        assert!(
            b.left() >= inner
                && b.top() >= inner
                && b.right() <= w - inner
                && b.bottom() <= h - inner,
            "text overflows the card frame: {b:?}"
        );
    }
}

#[test]
fn demo_card_png_is_a5_sized_and_its_qr_code_reads_back_as_the_report_url() {
    let png = render_png(&demo_card()).unwrap();
    let img = decode_png(&png);
    assert_eq!(img.dimensions(), (1240, 1760));
    let ratio = img.height() as f32 / img.width() as f32;
    assert!(
        (ratio - 210.0 / 148.0).abs() < 0.01,
        "not A5 proportions: {ratio}"
    );
    assert_eq!(read_qr_codes(&img), vec![REPORT_URL.to_owned()]);
}

#[test]
fn the_png_is_the_same_on_every_run() {
    assert_eq!(
        render_png(&demo_card()).unwrap(),
        render_png(&demo_card()).unwrap()
    );
}

#[test]
fn demo_card_text_is_fully_covered_by_the_font() {
    assert_eq!(missing_glyphs(&demo_card()), Vec::<char>::new());
}

#[test]
fn characters_outside_the_subset_are_reported() {
    let mut card = demo_card();
    // 𠀀 (CJK Extension B) and an emoji: neither is in GB2312 nor in the subset.
    card.officers[0].name = "田😀野".to_owned();
    card.community_name = "文昌\u{20000}社区".to_owned();
    assert_eq!(missing_glyphs(&card), vec!['😀', '\u{20000}']);
}

#[test]
fn the_embedded_faces_are_noto_sans_cjk_sc_regular_and_bold() {
    let db = font::database();
    let mut faces: Vec<(String, u16)> = db
        .faces()
        .map(|f| (f.families[0].0.clone(), f.weight.0))
        .collect();
    faces.sort();
    assert_eq!(
        faces,
        vec![
            ("Noto Sans CJK SC".to_owned(), 400),
            ("Noto Sans CJK SC".to_owned(), 700)
        ]
    );
    // 6,763 GB2312 hanzi plus punctuation: the subset must not have lost most of them.
    for weight in Weight::ALL {
        let mapped = weight.face().charmap().mappings().count();
        assert!(mapped > 7_400, "{weight:?} maps only {mapped} characters");
    }
}

fn outline(face: &FontRef<'static>, gid: skrifa::GlyphId) -> Vec<PathElement> {
    let mut pen: Vec<PathElement> = Vec::new();
    face.outline_glyphs()
        .get(gid)
        .expect("the glyph has an outline")
        .draw(
            DrawSettings::unhinted(
                skrifa::instance::Size::unscaled(),
                skrifa::instance::LocationRef::default(),
            ),
            &mut pen,
        )
        .expect("the outline draws");
    pen
}

#[test]
fn every_character_on_the_demo_card_has_a_real_glyph_not_notdef() {
    let card = demo_card();
    for weight in Weight::ALL {
        let face = weight.face();
        let notdef = outline(&face, skrifa::GlyphId::NOTDEF);
        assert!(
            !notdef.is_empty(),
            "the .notdef box is kept so tofu is visible"
        );
        for text in card_text(&card).chain(layout::LABELS.iter().copied()) {
            for c in text.chars().filter(|c| !c.is_whitespace()) {
                let gid = font::glyph(&face, c)
                    .unwrap_or_else(|| panic!("{weight:?} has no glyph for {c:?}"));
                let drawn = outline(&face, gid);
                assert!(!drawn.is_empty(), "{weight:?} draws {c:?} as nothing");
                assert_ne!(drawn, notdef, "{weight:?} draws {c:?} as tofu");
            }
        }
    }
}

/// Renders one string at 100 px with the card's own font setup; returns the alpha channel.
fn ink(text: &str) -> Vec<u8> {
    let svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="120" height="130"><text x="10" y="105" font-size="100">{text}</text></svg>"#
    );
    let tree = usvg::Tree::from_str(&svg, &options()).unwrap();
    let mut pixmap = tiny_skia::Pixmap::new(120, 130).unwrap();
    resvg::render(
        &tree,
        tiny_skia::Transform::identity(),
        &mut pixmap.as_mut(),
    );
    pixmap.pixels().iter().map(|p| p.alpha()).collect()
}

#[test]
fn hanzi_render_as_distinct_shapes_while_missing_characters_render_as_one_box() {
    // Two characters the font lacks draw the same .notdef box: that is what tofu looks like.
    let tofu = ink("\u{20000}");
    assert_eq!(tofu, ink("\u{2A6D6}"));
    assert!(tofu.iter().any(|&a| a > 200), "the tofu box is drawn");

    let glyphs: Vec<Vec<u8>> = "文昌社区田野"
        .chars()
        .map(|c| ink(&c.to_string()))
        .collect();
    for (i, a) in glyphs.iter().enumerate() {
        let inked = a.iter().filter(|&&v| v > 128).count();
        assert!(inked > 300, "glyph {i} has almost no ink ({inked} px)");
        assert_ne!(a, &tofu, "glyph {i} is tofu");
        for b in &glyphs[i + 1..] {
            assert_ne!(a, b, "two different hanzi render identically");
        }
    }
}

#[test]
fn the_svg_is_self_contained_and_markup_in_names_is_escaped() {
    let mut card = demo_card();
    card.community_name = "<script>alert(1)</script>".to_owned();
    card.street_name = r#"鼓楼"街道' & <b>"#.to_owned();
    card.officers[0].name = "田\u{0}野\u{1b}]".to_owned();
    card.officers[0].duties = Some("]]><svg onload=alert(1)>".to_owned());

    let source = layout::compose(&card).unwrap();
    assert!(source.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(
        !source.contains("<script") && !source.contains("<b>") && !source.contains("<svg onload")
    );
    assert!(!source.contains('\u{0}') && !source.contains('\u{1b}'));

    let svg = render_svg(&card).unwrap();
    let doc = usvg::roxmltree::Document::parse(&svg).expect("the SVG is well-formed XML");
    let names: BTreeSet<&str> = doc
        .descendants()
        .filter(|n| n.is_element())
        .map(|n| n.tag_name().name())
        .collect();
    assert!(
        !names.contains("script") && !names.contains("b"),
        "{names:?}"
    );
    assert!(
        !names.contains("text"),
        "text must be outlines, found <text>"
    );
    assert!(names.contains("path"));

    // With no fonts at all, the SVG parses and still has all its drawing: it needs none.
    let bare = usvg::Options {
        fontdb: Arc::new(usvg::fontdb::Database::new()),
        ..usvg::Options::default()
    };
    let reparsed = usvg::Tree::from_str(&svg, &bare).expect("usvg reads its own output");
    assert_eq!(reparsed.size().width(), 1240.0);
    assert_eq!(reparsed.size().height(), 1760.0);
    let original = tree(&card).unwrap();
    let (a, b) = (
        reparsed.root().abs_bounding_box(),
        original.root().abs_bounding_box(),
    );
    assert!((a.width() - b.width()).abs() < 1.0 && (a.height() - b.height()).abs() < 1.0);
}

#[test]
fn the_svg_text_outlines_match_the_png() {
    // Rasterising the written SVG (with no fonts) gives the same QR code as the direct PNG.
    let svg = render_svg(&demo_card()).unwrap();
    let bare = usvg::Options {
        fontdb: Arc::new(usvg::fontdb::Database::new()),
        ..usvg::Options::default()
    };
    let tree = usvg::Tree::from_str(&svg, &bare).unwrap();
    let mut pixmap = tiny_skia::Pixmap::new(1240, 1760).unwrap();
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(
        &tree,
        tiny_skia::Transform::identity(),
        &mut pixmap.as_mut(),
    );
    let img = decode_png(&pixmap.encode_png().unwrap());
    assert_eq!(read_qr_codes(&img), vec![REPORT_URL.to_owned()]);
    let direct = decode_png(&render_png(&demo_card()).unwrap());
    let differing = img
        .pixels()
        .zip(direct.pixels())
        .filter(|(a, b)| a[0].abs_diff(b[0]) > 64)
        .count();
    assert!(
        differing < 2_000,
        "{differing} pixels differ between the SVG and the PNG"
    );
}

#[test]
fn a_card_with_no_officers_points_to_the_hotline() {
    let mut card = demo_card();
    card.officers.clear();
    card.hotline = None;
    let source = layout::compose(&card).unwrap();
    assert!(source.contains("暂无派驻队员，请拨打 12345"), "{source}");
    assert!(source.contains(layout::PUBLIC_HOTLINE_LABEL));
    render_svg(&card).unwrap();
    let img = decode_png(&render_png(&card).unwrap());
    assert_eq!(read_qr_codes(&img), vec![REPORT_URL.to_owned()]);
    assert_text_inside_the_frame(&card);
}

#[test]
fn four_officers_with_very_long_text_stay_inside_the_card() {
    let mut card = demo_card();
    let long = "负责辖区内市容环境卫生、户外广告设置、违法建设巡查、占道经营与流动摊贩劝导、渣土运输监管、门前三包责任落实、噪声扰民投诉处置。".repeat(5);
    card.officers = (0..4)
        .map(|i| CardOfficer {
            name: format!("欧阳{}", "长".repeat(i * 6)),
            badge_number: "3207060".repeat(i + 1),
            phone: Some(format!("0518-8588{i}{}", "0".repeat(i * 10))),
            duties: Some(long.clone()),
            enforcement_scope: Some(format!("{long}https://example.com/{}", "x".repeat(200))),
        })
        .collect();
    card.community_name = "文昌".repeat(30);
    card.bureau_name = "城市管理综合行政执法局".repeat(10);
    card.office_hours = Some("周一至周五 8:30–17:30，节假日另行通知。".repeat(8));
    card.hotline = Some("0518-85821234 转 8001".repeat(3));

    let source = layout::compose(&card).unwrap();
    assert!(
        source.matches('…').count() >= 10,
        "long text is cut with an ellipsis"
    );
    assert_eq!(source.matches("执法证号").count(), 4);
    render_svg(&card).unwrap();
    let img = decode_png(&render_png(&card).unwrap());
    assert_eq!(img.dimensions(), (1240, 1760));
    assert_eq!(read_qr_codes(&img), vec![REPORT_URL.to_owned()]);
    assert_text_inside_the_frame(&card);
}

#[test]
fn text_does_not_leave_the_frame_for_any_officer_count() {
    for n in 0..=6 {
        let mut card = demo_card();
        card.officers = vec![demo_officer(); n];
        assert_text_inside_the_frame(&card);
    }
}

#[test]
fn more_than_four_officers_are_summarised_in_the_last_slot() {
    let mut card = demo_card();
    card.officers = vec![demo_officer(); 6];
    let source = layout::compose(&card).unwrap();
    assert_eq!(source.matches("执法证号").count(), 3);
    assert!(
        source.contains("另有 3 名队员，详情请拨打 12345"),
        "{source}"
    );
}

#[test]
fn a_missing_or_oversized_report_url_is_an_error() {
    let mut card = demo_card();
    card.report_url = "  ".to_owned();
    assert!(matches!(render_png(&card), Err(CardError::EmptyReportUrl)));
    card.report_url = format!("https://whistle.example/{}", "a".repeat(1_000));
    assert!(matches!(
        render_svg(&card),
        Err(CardError::ReportUrlTooLong { .. })
    ));
    card.report_url = format!("https://whistle.example/{}", "a".repeat(5_000));
    assert!(matches!(
        render_svg(&card),
        Err(CardError::ReportUrlTooLong { .. })
    ));
}
