//! Real responses checked against the OpenAPI document. The document is generated from
//! annotations, and nothing but a real body shows whether an annotation still tells the truth:
//! a schema name two Rust types share, for one, is silently documented as one of them.

use jsonschema::Draft;
use serde_json::{Map, Value, json};

/// Asserts that `body`, answered by `method path_template` with `status`, is valid against the
/// JSON schema the document gives for that answer. OpenAPI 3.1 schemas are JSON Schema 2020-12;
/// their `$ref`s (`#/components/schemas/…`) resolve against the document's own components.
pub fn assert_matches_schema(
    openapi: &Value,
    method: &str,
    path_template: &str,
    status: u16,
    body: &Value,
) {
    let what = format!("{} {path_template} → {status}", method.to_ascii_uppercase());
    let operation = &openapi["paths"][path_template][method.to_ascii_lowercase()];
    assert!(
        operation.is_object(),
        "{what}: no such operation documented"
    );
    let responses = &operation["responses"];
    let Some(response) = responses.get(status.to_string()) else {
        let documented: Vec<&String> = responses
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, _)| k)
            .collect();
        panic!("{what}: status not documented (documented: {documented:?})");
    };
    let content = response["content"].as_object();
    let schema = content
        .and_then(|c| {
            c.get("application/json").or_else(|| {
                c.iter()
                    .find(|(media, _)| media.ends_with("+json"))
                    .map(|(_, v)| v)
            })
        })
        .and_then(|c| c.get("schema"))
        .unwrap_or_else(|| panic!("{what}: no JSON schema documented ({response})"));

    // The operation's schema under a root that carries the components, so that its references
    // resolve within one document.
    let schemas = openapi["components"]["schemas"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let open_parts: Map<String, Value> = schemas
        .iter()
        .map(|(name, s)| (name.clone(), open_top(strict(s))))
        .collect();
    let root = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": {"schemas": strict(&Value::Object(schemas))},
        "$defs": open_parts,
        "allOf": [strict(schema)],
    });
    let validator = jsonschema::options()
        .with_draft(Draft::Draft202012)
        .should_validate_formats(true)
        .build(&root)
        .unwrap_or_else(|e| panic!("{what}: the documented schema does not compile: {e}"));
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|e| format!("  at {:?}: {e}", e.instance_path().as_str()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what}: the body does not match the documented schema {schema}\n{}\nbody: {body}",
        errors.join("\n")
    );
}

/// The documented path template a concrete path was answered by (`/api/v1/cases/17/actions` →
/// `/api/v1/cases/{id}/actions`); a literal segment beats a parameter.
pub fn template_for<'a>(openapi: &'a Value, method: &str, path: &str) -> Option<&'a str> {
    let wanted: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    openapi["paths"]
        .as_object()?
        .iter()
        .filter(|(_, item)| item.get(method.to_ascii_lowercase()).is_some())
        .filter_map(|(template, _)| {
            let parts: Vec<&str> = template.split('/').collect();
            if parts.len() != wanted.len() {
                return None;
            }
            let mut literal = 0;
            for (t, w) in parts.iter().zip(&wanted) {
                if t.starts_with('{') && t.ends_with('}') {
                    continue;
                }
                if t != w {
                    return None;
                }
                literal += 1;
            }
            Some((literal, template.as_str()))
        })
        .max_by_key(|(literal, _)| *literal)
        .map(|(_, template)| template)
}

/// Reads a JSON answer, checks it against the document, and gives back an equal response for
/// the caller to read. Answers that are not JSON (CSV, SVG, XML, images) pass unchecked.
pub async fn check_answer(
    openapi: &Value,
    method: &str,
    path: &str,
    res: reqwest::Response,
) -> reqwest::Response {
    let status = res.status();
    let headers = res.headers().clone();
    let is_json = headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json") || ct.contains("+json"));
    let bytes = res.bytes().await.expect("the answer's body");
    if is_json && !path.starts_with("/open311/") && path != "/openapi.json" {
        let template = template_for(openapi, method, path)
            .unwrap_or_else(|| panic!("{method} {path}: no documented operation answers it"));
        let body: Value = serde_json::from_slice(&bytes).expect("a JSON body");
        let documented = openapi["paths"][template][method.to_ascii_lowercase()]["responses"]
            .get(status.as_str())
            .is_some();
        if status.is_success() || documented {
            assert_matches_schema(openapi, method, template, status.as_u16(), &body);
        } else {
            // Cross-cutting layers (authentication, the input screen, limits, the database
            // deadline) may refuse any operation; whatever the status, the body is a Problem.
            assert_is_problem(openapi, &format!("{method} {path} → {status}"), &body);
        }
    }
    let mut rebuilt = axum::http::Response::builder().status(status);
    for (name, value) in &headers {
        rebuilt = rebuilt.header(name, value);
    }
    reqwest::Response::from(rebuilt.body(bytes).expect("a response"))
}

/// Where a component is referenced as a part of an `allOf`: the same schemas, open at the top.
const OPEN_PARTS: &str = "#/$defs/";
const COMPONENTS: &str = "#/components/schemas/";

/// A schema made strict: an object may have no property its schema does not name
/// (`unevaluatedProperties: false`), so that an undocumented field fails as surely as a missing
/// one. The parts of an `allOf` stay open, since each names only some of the properties; the
/// `allOf` as a whole is closed instead.
fn strict(schema: &Value) -> Value {
    match schema {
        Value::Object(map) => {
            let mut out: Map<String, Value> = map
                .iter()
                .map(|(k, v)| {
                    let v = match k.as_str() {
                        "allOf" => open_parts(v),
                        // Values, not schemas.
                        "example" | "examples" | "default" | "enum" | "const" => v.clone(),
                        _ => strict(v),
                    };
                    (k.clone(), v)
                })
                .collect();
            let is_object = map.contains_key("properties") || map.contains_key("allOf");
            let has_rule = map.contains_key("additionalProperties")
                || map.contains_key("unevaluatedProperties");
            if is_object && !has_rule {
                out.insert("unevaluatedProperties".to_owned(), Value::Bool(false));
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(strict).collect()),
        other => other.clone(),
    }
}

fn open_parts(all_of: &Value) -> Value {
    let Some(parts) = all_of.as_array() else {
        return strict(all_of);
    };
    Value::Array(
        parts
            .iter()
            .map(|part| match part["$ref"].as_str() {
                Some(r) if r.starts_with(COMPONENTS) => {
                    json!({"$ref": r.replacen(COMPONENTS, OPEN_PARTS, 1)})
                }
                _ => open_top(strict(part)),
            })
            .collect(),
    )
}

fn open_top(mut schema: Value) -> Value {
    if let Some(map) = schema.as_object_mut() {
        map.remove("unevaluatedProperties");
    }
    schema
}

/// Asserts that `body` is valid against the document's `Problem` schema.
pub fn assert_is_problem(openapi: &Value, what: &str, body: &Value) {
    let root = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": openapi["components"],
        "$ref": "#/components/schemas/Problem",
    });
    let validator = jsonschema::options()
        .with_draft(Draft::Draft202012)
        .build(&root)
        .expect("the Problem schema compiles");
    let errors: Vec<String> = validator.iter_errors(body).map(|e| e.to_string()).collect();
    assert!(
        errors.is_empty(),
        "{what}: not a Problem: {errors:?}\nbody: {body}"
    );
}
