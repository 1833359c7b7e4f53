//! Open311 on the wire: one tree per response, written as the spec's XML or as its JSON.
//!
//! GeoReport v2 defines XML (mandatory) and derives JSON from it by the "Spark convention": an
//! element whose children are all one repeated element (`<services><service>…`) becomes an array,
//! every other element an object or a scalar. [`Node`] is that tree; [`Node::to_json`] and
//! [`Node::to_xml`] are the two writers, so the formats cannot drift apart. Both are written by
//! hand to keep the spec's field order; text is escaped (XML also loses characters XML 1.0 cannot
//! carry, replaced by U+FFFD).

use std::fmt::Write as _;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::error::OwnErrorBody;

/// The format suffix of every resource: `services.json`, `services.xml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
}

impl Format {
    /// Splits `services.json` into `("services", Json)`; `None` without a known suffix.
    pub fn split(file: &str) -> Option<(&str, Format)> {
        let (stem, suffix) = file.rsplit_once('.')?;
        let format = match suffix {
            "json" => Format::Json,
            "xml" => Format::Xml,
            _ => return None,
        };
        (!stem.is_empty()).then_some((stem, format))
    }

    /// The format to answer in when the path names none we know: XML, the spec's mandatory one,
    /// unless the path plainly asks for JSON.
    pub fn guess(path: &str) -> Format {
        if path.ends_with(".json") {
            Format::Json
        } else {
            Format::Xml
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json; charset=utf-8",
            Format::Xml => "text/xml; charset=utf-8",
        }
    }
}

/// One value of a response.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// JSON `null`, an empty XML element.
    Null,
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// An element with named children; a JSON object.
    Record(Vec<(&'static str, Node)>),
    /// A container of repeated `item` elements; a JSON array.
    List {
        item: &'static str,
        items: Vec<Node>,
    },
}

impl Node {
    pub fn text(s: impl Into<String>) -> Node {
        Node::Text(s.into())
    }

    /// Text, or null when there is none.
    pub fn opt_text(s: Option<impl Into<String>>) -> Node {
        s.map_or(Node::Null, |s| Node::Text(s.into()))
    }

    pub fn list(item: &'static str, items: impl IntoIterator<Item = Node>) -> Node {
        Node::List {
            item,
            items: items.into_iter().collect(),
        }
    }

    /// The JSON form.
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        self.write_json(&mut out);
        out
    }

    fn write_json(&self, out: &mut String) {
        match self {
            Node::Null => out.push_str("null"),
            Node::Text(s) => out.push_str(&serde_json::to_string(s).unwrap_or_default()),
            Node::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Node::Float(f) if f.is_finite() => {
                let _ = write!(out, "{f}");
            }
            Node::Float(_) => out.push_str("null"),
            Node::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Node::Record(fields) => {
                out.push('{');
                for (i, (name, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&serde_json::to_string(name).unwrap_or_default());
                    out.push(':');
                    value.write_json(out);
                }
                out.push('}');
            }
            Node::List { items, .. } => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write_json(out);
                }
                out.push(']');
            }
        }
    }

    /// The XML document with this node as its root element `root`.
    pub fn to_xml(&self, root: &str) -> String {
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
        self.write_xml(root, &mut out);
        out.push('\n');
        out
    }

    fn write_xml(&self, name: &str, out: &mut String) {
        match self {
            Node::Null => {
                let _ = write!(out, "<{name}/>");
            }
            Node::Text(s) => {
                let _ = write!(out, "<{name}>");
                escape_xml(s, out);
                let _ = write!(out, "</{name}>");
            }
            Node::Int(i) => {
                let _ = write!(out, "<{name}>{i}</{name}>");
            }
            Node::Float(f) if f.is_finite() => {
                let _ = write!(out, "<{name}>{f}</{name}>");
            }
            Node::Float(_) => {
                let _ = write!(out, "<{name}/>");
            }
            Node::Bool(b) => {
                let _ = write!(out, "<{name}>{b}</{name}>");
            }
            Node::Record(fields) => {
                let _ = write!(out, "<{name}>");
                for (child, value) in fields {
                    value.write_xml(child, out);
                }
                let _ = write!(out, "</{name}>");
            }
            Node::List { item, items } => {
                let _ = write!(out, "<{name}>");
                for value in items {
                    value.write_xml(item, out);
                }
                let _ = write!(out, "</{name}>");
            }
        }
    }

    /// The rendered response: `root` names the XML document element.
    pub fn respond(self, format: Format, status: StatusCode, root: &str) -> Response {
        let body = match format {
            Format::Json => self.to_json(),
            Format::Xml => self.to_xml(root),
        };
        let mut res = (status, Body::from(body)).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(format.content_type()),
        );
        // Tells the problem+json middleware that this body is already in Open311's own shape.
        res.extensions_mut().insert(OwnErrorBody);
        res
    }
}

/// About how many bytes a streamed list writes before handing them to the connection.
const CHUNK_BYTES: usize = 32 * 1024;

/// A list answered as it is written: the items are taken and written one at a time, and the
/// body goes out in chunks of about [`CHUNK_BYTES`], the next written only when the connection
/// has taken the last. So a page of a thousand requests never holds its whole text, nor all its
/// items rendered, at once. The bytes are those of `Node::list(item, items).respond(..)`.
pub fn respond_list(
    format: Format,
    root: &'static str,
    item: &'static str,
    items: impl Iterator<Item = Node> + Send + 'static,
) -> Response {
    let mut writer = ListWriter {
        format,
        root,
        item,
        items,
        opened: false,
        written: 0,
        done: false,
    };
    let chunks = std::iter::from_fn(move || writer.next_chunk())
        .map(|chunk| Ok::<_, std::convert::Infallible>(Bytes::from(chunk)));
    let mut res = (
        StatusCode::OK,
        Body::from_stream(futures_util::stream::iter(chunks)),
    )
        .into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    res.extensions_mut().insert(OwnErrorBody);
    res
}

struct ListWriter<I> {
    format: Format,
    root: &'static str,
    item: &'static str,
    items: I,
    opened: bool,
    /// Items written so far.
    written: usize,
    done: bool,
}

impl<I: Iterator<Item = Node>> ListWriter<I> {
    /// The next chunk: the opening with the first items, more items, or the last items with the
    /// closing; `None` once the closing is out.
    fn next_chunk(&mut self) -> Option<String> {
        if self.done {
            return None;
        }
        let mut out = String::with_capacity(CHUNK_BYTES + CHUNK_BYTES / 4);
        if !self.opened {
            self.opened = true;
            match self.format {
                Format::Json => out.push('['),
                Format::Xml => {
                    let _ = write!(
                        out,
                        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<{}>",
                        self.root
                    );
                }
            }
        }
        while out.len() < CHUNK_BYTES {
            let Some(node) = self.items.next() else {
                match self.format {
                    Format::Json => out.push(']'),
                    Format::Xml => {
                        let _ = writeln!(out, "</{}>", self.root);
                    }
                }
                self.done = true;
                break;
            };
            match self.format {
                Format::Json => {
                    if self.written > 0 {
                        out.push(',');
                    }
                    node.write_json(&mut out);
                }
                Format::Xml => node.write_xml(self.item, &mut out),
            }
            self.written += 1;
        }
        Some(out)
    }
}

/// Writes text as XML character data: markup characters escaped, `\r` kept as a character
/// reference (parsers would turn a literal one into `\n`), and characters XML 1.0 cannot carry
/// at all replaced by U+FFFD.
fn escape_xml(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#13;"),
            '\t' | '\n' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
}

/// The spec's error body: a list of `{code, description}`; the code is the HTTP status.
pub fn errors(status: StatusCode, description: &str) -> Node {
    Node::list(
        "error",
        [Node::Record(vec![
            ("code", Node::Int(i64::from(status.as_u16()))),
            ("description", Node::text(description)),
        ])],
    )
}

/// An error response in Open311's own shape.
pub fn error_response(format: Format, status: StatusCode, description: &str) -> Response {
    errors(status, description).respond(format, status, "errors")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Node {
        Node::list(
            "service",
            [Node::Record(vec![
                ("service_code", Node::text("006")),
                ("service_name", Node::text("噪声 <扰民> & \"喇叭\"")),
                ("metadata", Node::Bool(true)),
                ("lat", Node::Float(34.586)),
                ("count", Node::Int(-3)),
                ("group", Node::Null),
                ("keywords", Node::list("keyword", [Node::text("a")])),
            ])],
        )
    }

    async fn body_of(res: Response) -> (Option<String>, Vec<u8>) {
        let kind = res
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned());
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap();
        (kind, bytes.to_vec())
    }

    #[tokio::test]
    async fn a_streamed_list_is_the_same_bytes_as_a_whole_one() {
        let record = |i: i64| {
            Node::Record(vec![
                (
                    "service_request_id",
                    Node::text(format!("HZ-20261203-{i:06}")),
                ),
                ("description", Node::text("占道经营 <摊位> & \"喇叭\"")),
                ("lat", Node::Float(34.586)),
                ("notes", Node::list("note", [Node::text("上报")])),
            ])
        };
        // Empty, one, and enough for several chunks.
        for n in [0, 1, 2_000] {
            for format in [Format::Json, Format::Xml] {
                let whole = Node::list("request", (0..n).map(record)).respond(
                    format,
                    StatusCode::OK,
                    "service_requests",
                );
                let streamed =
                    respond_list(format, "service_requests", "request", (0..n).map(record));
                let (whole, streamed) = (body_of(whole).await, body_of(streamed).await);
                assert_eq!(whole.0, streamed.0, "{n} {format:?}");
                assert!(
                    whole.1 == streamed.1,
                    "{n} {format:?}: {} bytes whole, {} streamed",
                    whole.1.len(),
                    streamed.1.len()
                );
            }
        }
    }

    #[test]
    fn a_long_list_goes_out_in_chunks() {
        let items = (0..2_000).map(|i| Node::text(format!("item {i} {}", "x".repeat(40))));
        let mut writer = ListWriter {
            format: Format::Json,
            root: "r",
            item: "i",
            items,
            opened: false,
            written: 0,
            done: false,
        };
        let chunks: Vec<String> = std::iter::from_fn(|| writer.next_chunk()).collect();
        assert!(chunks.len() > 2, "{} chunks", chunks.len());
        assert!(
            chunks.iter().all(|c| c.len() < CHUNK_BYTES + 100),
            "no chunk grows past its bound by more than one item"
        );
    }

    #[test]
    fn suffixes_are_split_and_unknown_ones_refused() {
        assert_eq!(
            Format::split("services.json"),
            Some(("services", Format::Json))
        );
        assert_eq!(
            Format::split("HZ-20261125-000001.xml"),
            Some(("HZ-20261125-000001", Format::Xml))
        );
        assert_eq!(Format::split("a.b.json"), Some(("a.b", Format::Json)));
        for bad in [
            "services",
            "services.html",
            "services.JSON",
            ".json",
            "services.",
        ] {
            assert_eq!(Format::split(bad), None, "{bad}");
        }
        assert_eq!(Format::guess("/open311/v2/x.json"), Format::Json);
        assert_eq!(Format::guess("/open311/v2/x.html"), Format::Xml);
    }

    #[test]
    fn json_keeps_codes_as_strings_and_field_order() {
        let json = sample().to_json();
        assert!(
            json.starts_with(r#"[{"service_code":"006","service_name":"#),
            "{json}"
        );
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v[0]["service_code"], "006");
        assert_eq!(v[0]["service_name"], "噪声 <扰民> & \"喇叭\"");
        assert_eq!(v[0]["metadata"], true);
        assert_eq!(v[0]["lat"], 34.586);
        assert_eq!(v[0]["count"], -3);
        assert!(v[0]["group"].is_null());
        assert_eq!(v[0]["keywords"], serde_json::json!(["a"]));
        assert_eq!(Node::Float(f64::NAN).to_json(), "null");
    }

    #[test]
    fn xml_is_well_formed_and_escaped() {
        let xml = sample().to_xml("services");
        assert!(
            xml.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<services><service>"),
            "{xml}"
        );
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let service = doc.root_element().first_element_child().unwrap();
        assert_eq!(service.tag_name().name(), "service");
        let child = |n: &str| {
            service
                .children()
                .find(|c| c.tag_name().name() == n)
                .unwrap()
        };
        assert_eq!(child("service_code").text(), Some("006"));
        assert_eq!(child("service_name").text(), Some("噪声 <扰民> & \"喇叭\""));
        assert_eq!(child("metadata").text(), Some("true"));
        assert_eq!(child("lat").text(), Some("34.586"));
        assert_eq!(child("group").text(), None);
        assert_eq!(
            child("keywords").first_element_child().unwrap().text(),
            Some("a")
        );
    }

    #[test]
    fn xml_survives_any_text() {
        let nasty = "a\r\nb\tc\u{0}d\u{1b}e\u{FFFF}f]]><![CDATA[g</x>";
        let xml = Node::Record(vec![("t", Node::text(nasty))]).to_xml("r");
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let text = doc.root_element().first_element_child().unwrap().text();
        assert_eq!(
            text,
            Some("a\r\nb\tc\u{FFFD}d\u{FFFD}e\u{FFFD}f]]><![CDATA[g</x>")
        );
    }

    #[test]
    fn errors_follow_the_spec() {
        let e = errors(StatusCode::FORBIDDEN, "Invalid api_key");
        assert_eq!(
            e.to_json(),
            r#"[{"code":403,"description":"Invalid api_key"}]"#
        );
        assert_eq!(
            e.to_xml("errors"),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<errors><error><code>403</code>\
             <description>Invalid api_key</description></error></errors>\n"
        );
    }
}
