//! The case-category catalogue: what residents can report, in Chinese and English, and the extra
//! questions each category asks (typed attributes, e.g. "时段" for noise, "面积" for a shed).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::ValueError;
use crate::case::{CaseType, Priority};
use crate::ids::CategoryId;
use crate::text::{BilingualName, Code};

/// One kind of problem (噪声扰民, 游商占道经营, 占绿毁绿 …).
#[derive(Debug, Clone, PartialEq)]
pub struct Category {
    pub id: CategoryId,
    /// Stable machine code (`noise`, `street_vending`); also the Open311 service code.
    pub code: Code,
    pub name: BilingualName,
    /// The kind of matter a report in this category usually is.
    pub case_type: CaseType,
    pub default_priority: Priority,
    /// Retired categories stay for old cases but accept no new reports.
    pub active: bool,
    /// Extra questions asked at intake.
    pub attributes: Vec<AttributeSpec>,
    /// 小事一格解决: the officer stationed in the case's community may accept a report of this
    /// category himself, and it is dispatched to him in the same step. Off for matters the
    /// command centre must weigh first.
    pub officer_may_take: bool,
}

/// The type of an answer.
#[derive(Debug, Clone, PartialEq)]
pub enum AttributeKind {
    /// Free text up to `max_chars` characters.
    Text {
        max_chars: u32,
    },
    /// A number, optionally bounded.
    Number {
        min: Option<f64>,
        max: Option<f64>,
    },
    Boolean,
    /// One of a fixed list of options; the answer is the option's code.
    Choice {
        options: Vec<ChoiceOption>,
    },
}

/// One option of a choice question: the code stored as the answer, and the words shown.
#[derive(Debug, Clone, PartialEq)]
pub struct ChoiceOption {
    pub code: Code,
    pub label: BilingualName,
}

impl ChoiceOption {
    pub fn new(code: Code, label: BilingualName) -> Self {
        Self { code, label }
    }

    /// An option defined by its code alone (catalogues written before options had labels):
    /// the code is its label in both languages.
    pub fn unlabelled(code: Code) -> Self {
        let name = crate::text::Name::parse(code.as_str()).expect("a code is a valid name");
        Self {
            label: BilingualName::new(name.clone(), name),
            code,
        }
    }
}

/// One extra question.
#[derive(Debug, Clone, PartialEq)]
pub struct AttributeSpec {
    pub key: Code,
    pub label: BilingualName,
    pub kind: AttributeKind,
    pub required: bool,
}

impl AttributeSpec {
    /// Checks the spec itself: bounds in order, at least one option, text limit 1–2000.
    pub fn new(
        key: Code,
        label: BilingualName,
        kind: AttributeKind,
        required: bool,
    ) -> Result<Self, ValueError> {
        match &kind {
            AttributeKind::Text { max_chars } if !(1..=2000).contains(max_chars) => {
                return Err(ValueError::new(
                    "attributes",
                    "a text answer allows 1 to 2000 characters",
                ));
            }
            AttributeKind::Number {
                min: Some(a),
                max: Some(b),
            } if a > b || !a.is_finite() || !b.is_finite() => {
                return Err(ValueError::new(
                    "attributes",
                    "a number's min must not exceed its max",
                ));
            }
            AttributeKind::Choice { options } if options.is_empty() || options.len() > 100 => {
                return Err(ValueError::new(
                    "attributes",
                    "a choice needs 1 to 100 options",
                ));
            }
            _ => {}
        }
        Ok(Self {
            key,
            label,
            kind,
            required,
        })
    }
}

/// Checks a catalogue's questions: keys unique, at most 30 questions.
pub fn check_specs(specs: &[AttributeSpec]) -> Result<(), ValueError> {
    if specs.len() > 30 {
        return Err(ValueError::new(
            "attributes",
            "at most 30 questions per category",
        ));
    }
    let mut keys: Vec<&str> = specs.iter().map(|s| s.key.as_str()).collect();
    keys.sort_unstable();
    if keys.windows(2).any(|w| w[0] == w[1]) {
        return Err(ValueError::new(
            "attributes",
            "question keys must be unique",
        ));
    }
    for spec in specs {
        if let AttributeKind::Choice { options } = &spec.kind {
            let mut codes: Vec<&str> = options.iter().map(|o| o.code.as_str()).collect();
            codes.sort_unstable();
            if codes.windows(2).any(|w| w[0] == w[1]) {
                return Err(ValueError::new(
                    "attributes",
                    format!("{}: option codes must be unique", spec.key.as_str()),
                ));
            }
        }
    }
    Ok(())
}

/// Validates answers against the questions: no unknown keys, required ones present, each of the
/// right type and within its bounds or options. Returns the answers normalised (trimmed text).
pub fn validate_answers(
    specs: &[AttributeSpec],
    given: &serde_json::Map<String, Value>,
) -> Result<BTreeMap<String, Value>, ValueError> {
    if let Some(unknown) = given
        .keys()
        .find(|k| !specs.iter().any(|s| s.key.as_str() == k.as_str()))
    {
        return Err(ValueError::new(
            "attributes",
            format!(
                "unknown question {:?}",
                unknown.chars().take(40).collect::<String>()
            ),
        )
        .zh(format!(
            "没有这一问题：{:?}",
            unknown.chars().take(40).collect::<String>()
        )));
    }
    let mut out = BTreeMap::new();
    for spec in specs {
        let key = spec.key.as_str();
        let value = match given.get(key) {
            None | Some(Value::Null) => {
                if spec.required {
                    return Err(ValueError::new("attributes", format!("{key} is required"))
                        .zh(format!("{key} 为必答项")));
                }
                continue;
            }
            Some(v) => v,
        };
        let bad = |why: &str, zh: &str| {
            ValueError::new("attributes", format!("{key}: {why}")).zh(format!("{key}：{zh}"))
        };
        let normalised = match (&spec.kind, value) {
            (AttributeKind::Text { max_chars }, Value::String(s)) => {
                let t = s.trim();
                if t.is_empty() && spec.required {
                    return Err(bad("must not be empty", "不能为空"));
                }
                if t.chars().count() > *max_chars as usize {
                    return Err(bad("too long", "过长"));
                }
                Value::String(t.to_owned())
            }
            (AttributeKind::Number { min, max }, Value::Number(n)) => {
                let x = n.as_f64().ok_or_else(|| bad("not a number", "不是数字"))?;
                if min.is_some_and(|m| x < m) || max.is_some_and(|m| x > m) {
                    return Err(bad("out of range", "超出范围"));
                }
                Value::Number(n.clone())
            }
            (AttributeKind::Boolean, Value::Bool(b)) => Value::Bool(*b),
            (AttributeKind::Choice { options }, Value::String(s)) => {
                if !options.iter().any(|o| o.code.as_str() == s) {
                    return Err(bad("not one of the options", "不是可选项之一"));
                }
                Value::String(s.clone())
            }
            _ => return Err(bad("wrong type of answer", "回答类型不对")),
        };
        out.insert(key.to_owned(), normalised);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::Name;
    use serde_json::json;

    fn spec(key: &str, kind: AttributeKind, required: bool) -> AttributeSpec {
        AttributeSpec::new(
            Code::parse(key).unwrap(),
            BilingualName::new(Name::parse("问").unwrap(), Name::parse("Q").unwrap()),
            kind,
            required,
        )
        .unwrap()
    }

    fn specs() -> Vec<AttributeSpec> {
        vec![
            spec(
                "period",
                AttributeKind::Choice {
                    options: ["day", "night"]
                        .map(|c| ChoiceOption::unlabelled(Code::parse(c).unwrap()))
                        .to_vec(),
                },
                true,
            ),
            spec(
                "area_m2",
                AttributeKind::Number {
                    min: Some(0.0),
                    max: Some(10_000.0),
                },
                false,
            ),
            spec("repeat", AttributeKind::Boolean, false),
            spec("shop", AttributeKind::Text { max_chars: 20 }, false),
        ]
    }

    fn answers(v: Value) -> serde_json::Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn valid_answers_pass_and_are_normalised() {
        let out = validate_answers(
            &specs(),
            &answers(json!({"period": "night", "area_m2": 12.5, "shop": "  水果店 "})),
        )
        .unwrap();
        assert_eq!(out["period"], "night");
        assert_eq!(out["shop"], "水果店");
        assert!(!out.contains_key("repeat"));
    }

    #[test]
    fn wrong_answers_are_refused() {
        for bad in [
            json!({}),
            json!({"period": "noon"}),
            json!({"period": "day", "area_m2": -1}),
            json!({"period": "day", "area_m2": "12"}),
            json!({"period": "day", "repeat": "yes"}),
            json!({"period": "day", "shop": "店".repeat(21)}),
            json!({"period": "day", "color": "red"}),
            json!({"period": 1}),
        ] {
            assert!(
                validate_answers(&specs(), &answers(bad.clone())).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn specs_are_checked() {
        let label = || BilingualName::new(Name::parse("问").unwrap(), Name::parse("Q").unwrap());
        assert!(
            AttributeSpec::new(
                Code::parse("x").unwrap(),
                label(),
                AttributeKind::Choice { options: vec![] },
                false
            )
            .is_err()
        );
        assert!(
            AttributeSpec::new(
                Code::parse("x").unwrap(),
                label(),
                AttributeKind::Number {
                    min: Some(2.0),
                    max: Some(1.0)
                },
                false
            )
            .is_err()
        );
        assert!(
            AttributeSpec::new(
                Code::parse("x").unwrap(),
                label(),
                AttributeKind::Text { max_chars: 0 },
                false
            )
            .is_err()
        );
        let twice = vec![
            spec("a", AttributeKind::Boolean, false),
            spec("a", AttributeKind::Boolean, false),
        ];
        assert!(check_specs(&twice).is_err());
        let day = || ChoiceOption::unlabelled(Code::parse("day").unwrap());
        let same_option_twice = vec![spec(
            "period",
            AttributeKind::Choice {
                options: vec![day(), day()],
            },
            false,
        )];
        assert!(check_specs(&same_option_twice).is_err());
        assert!(check_specs(&specs()).is_ok());
    }
}
