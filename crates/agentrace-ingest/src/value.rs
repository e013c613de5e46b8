//! OTLP `AnyValue`s and key-value lists as agentrace attributes, within the [`Limits`].
//!
//! Every value type is kept: strings, booleans, integers, doubles, arrays and kvlists (nested,
//! as [`AttributeValue::Array`] and [`AttributeValue::Map`]). Two have no agentrace type:
//! bytes become their standard base64 text (as OTLP/JSON writes them), and a double that is
//! not finite becomes the text OTLP/JSON uses for it (`NaN`, `Infinity`, `-Infinity`). An
//! empty value (no field set) is left out, in a list as in an array.

use std::collections::BTreeMap;

use agentrace_core::{AttributeValue, Attributes};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};

use crate::Limits;
use crate::reject::Rejection;

/// Converts the values of one record (a span with its events, a log record, a data point, a
/// resource), spending one budget of [`Limits::max_values`] over all of them.
#[derive(Debug)]
pub(crate) struct Converter<'a> {
    limits: &'a Limits,
    budget: usize,
    /// Strings cut to [`Limits::max_string_bytes`] so far.
    pub(crate) truncated: u64,
}

impl<'a> Converter<'a> {
    pub(crate) fn new(limits: &'a Limits) -> Self {
        Self {
            limits,
            budget: limits.max_values,
            truncated: 0,
        }
    }

    /// A list of key-values as attributes; `what` names their holder in a rejection.
    pub(crate) fn attributes(
        &mut self,
        kvs: Vec<KeyValue>,
        what: &'static str,
    ) -> Result<Attributes, Rejection> {
        if kvs.len() > self.limits.max_attributes {
            return Err(Rejection::TooManyAttributes {
                what,
                count: kvs.len(),
                limit: self.limits.max_attributes,
            });
        }
        let mut attributes = Attributes::new();
        for kv in kvs {
            self.check_key(&kv.key)?;
            if let Some(value) = self.value(kv.value, &kv.key, 0)? {
                attributes.insert(kv.key, value);
            }
        }
        Ok(attributes)
    }

    /// One value (a log body, an attribute); `None` when empty.
    pub(crate) fn value(
        &mut self,
        value: Option<AnyValue>,
        key: &str,
        depth: usize,
    ) -> Result<Option<AttributeValue>, Rejection> {
        let Some(value) = value.and_then(|v| v.value) else {
            return Ok(None);
        };
        if self.budget == 0 {
            return Err(Rejection::TooManyValues {
                key: key.to_owned(),
                limit: self.limits.max_values,
            });
        }
        self.budget -= 1;
        let nested = |depth: usize| {
            if depth >= self.limits.max_depth {
                Err(Rejection::TooDeep {
                    key: key.to_owned(),
                    limit: self.limits.max_depth,
                })
            } else {
                Ok(depth + 1)
            }
        };
        Ok(Some(match value {
            any_value::Value::StringValue(s) => AttributeValue::String(self.string(s)),
            any_value::Value::BoolValue(b) => AttributeValue::Bool(b),
            any_value::Value::IntValue(i) => AttributeValue::I64(i),
            any_value::Value::DoubleValue(d) if d.is_finite() => AttributeValue::F64(d),
            any_value::Value::DoubleValue(d) => AttributeValue::String(non_finite(d).to_owned()),
            any_value::Value::BytesValue(b) => AttributeValue::String(self.string(base64(&b))),
            // An index into a profile's string table: meaningless outside profiles.
            any_value::Value::StringValueStrindex(_) => return Ok(None),
            any_value::Value::ArrayValue(array) => {
                let depth = nested(depth)?;
                let mut items = Vec::with_capacity(array.values.len().min(self.budget));
                for item in array.values {
                    if let Some(item) = self.value(Some(item), key, depth)? {
                        items.push(item);
                    }
                }
                AttributeValue::Array(items)
            }
            any_value::Value::KvlistValue(list) => {
                let depth = nested(depth)?;
                let mut map = BTreeMap::new();
                for kv in list.values {
                    self.check_key(&kv.key)?;
                    if let Some(item) = self.value(kv.value, key, depth)? {
                        map.insert(kv.key, item);
                    }
                }
                AttributeValue::Map(map)
            }
        }))
    }

    /// A string cut to [`Limits::max_string_bytes`] on a character boundary.
    pub(crate) fn string(&mut self, mut s: String) -> String {
        let max = self.limits.max_string_bytes;
        if s.len() > max {
            let mut end = max;
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            s.truncate(end);
            self.truncated += 1;
        }
        s
    }

    fn check_key(&self, key: &str) -> Result<(), Rejection> {
        if key.len() > self.limits.max_key_bytes {
            return Err(Rejection::KeyTooLong {
                len: key.len(),
                limit: self.limits.max_key_bytes,
            });
        }
        Ok(())
    }
}

fn non_finite(d: f64) -> &'static str {
    if d.is_nan() {
        "NaN"
    } else if d > 0.0 {
        "Infinity"
    } else {
        "-Infinity"
    }
}

/// Standard base64 with padding (RFC 4648 §4), as OTLP/JSON writes bytes.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 0x3f) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::common::v1::{ArrayValue, KeyValueList};

    use super::*;

    fn any(v: any_value::Value) -> Option<AnyValue> {
        Some(AnyValue { value: Some(v) })
    }

    fn kv(key: &str, value: Option<AnyValue>) -> KeyValue {
        KeyValue {
            key: key.to_owned(),
            value,
            ..KeyValue::default()
        }
    }

    #[test]
    fn every_value_type() -> Result<(), Rejection> {
        use any_value::Value as V;
        let limits = Limits::default();
        let mut c = Converter::new(&limits);
        let attrs = c.attributes(
            vec![
                kv("s", any(V::StringValue("x".into()))),
                kv("b", any(V::BoolValue(true))),
                kv("i", any(V::IntValue(-3))),
                kv("d", any(V::DoubleValue(0.5))),
                kv("nan", any(V::DoubleValue(f64::NAN))),
                kv("inf", any(V::DoubleValue(f64::NEG_INFINITY))),
                kv("bytes", any(V::BytesValue(b"hello".to_vec()))),
                kv("empty", None),
                kv("unset", Some(AnyValue { value: None })),
                kv(
                    "array",
                    any(V::ArrayValue(ArrayValue {
                        values: vec![
                            AnyValue {
                                value: Some(V::IntValue(1)),
                            },
                            AnyValue { value: None },
                            AnyValue {
                                value: Some(V::KvlistValue(KeyValueList {
                                    values: vec![kv("k", any(V::StringValue("v".into())))],
                                })),
                            },
                        ],
                    })),
                ),
            ],
            "span",
        )?;
        let json = serde_json::to_string(&attrs).unwrap_or_default();
        assert_eq!(
            json,
            r#"{"s":"x","b":true,"i":-3,"d":0.5,"nan":"NaN","inf":"-Infinity","bytes":"aGVsbG8=","array":[1,{"k":"v"}]}"#
        );
        Ok(())
    }

    #[test]
    fn base64_padding() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(&[0xff, 0xfe, 0xfd, 0xfc]), "//79/A==");
    }

    #[test]
    fn strings_are_cut_on_a_character_boundary() {
        let limits = Limits {
            max_string_bytes: 4,
            ..Limits::default()
        };
        let mut c = Converter::new(&limits);
        assert_eq!(c.string("abcdef".into()), "abcd");
        assert_eq!(c.string("aé€".into()), "aé");
        assert_eq!(c.string("abc".into()), "abc");
        assert_eq!(c.truncated, 2);
    }

    #[test]
    fn bounds() {
        use any_value::Value as V;
        let limits = Limits {
            max_depth: 2,
            max_values: 5,
            max_key_bytes: 3,
            ..Limits::default()
        };
        let nest = |levels: usize| {
            let mut v = AnyValue {
                value: Some(V::IntValue(1)),
            };
            for _ in 0..levels {
                v = AnyValue {
                    value: Some(V::ArrayValue(ArrayValue { values: vec![v] })),
                };
            }
            v
        };
        assert!(Converter::new(&limits).value(Some(nest(2)), "a", 0).is_ok());
        assert_eq!(
            Converter::new(&limits).value(Some(nest(3)), "a", 0),
            Err(Rejection::TooDeep {
                key: "a".into(),
                limit: 2
            })
        );
        let many = AnyValue {
            value: Some(V::ArrayValue(ArrayValue {
                values: vec![nest(0); 5],
            })),
        };
        assert!(matches!(
            Converter::new(&limits).value(Some(many), "a", 0),
            Err(Rejection::TooManyValues { limit: 5, .. })
        ));
        assert_eq!(
            Converter::new(&limits).attributes(vec![kv("long", None)], "span"),
            Err(Rejection::KeyTooLong { len: 4, limit: 3 })
        );
    }
}
