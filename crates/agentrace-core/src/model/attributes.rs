//! Attribute values and ordered attribute lists, as OpenTelemetry models them.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use serde::de::{MapAccess, SeqAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An attribute key. Keys from `tracing` field names are `'static` and never allocate.
pub type Key = Cow<'static, str>;

/// An attribute value: OpenTelemetry's `AnyValue`, serialized as plain JSON (an integer
/// past `i64` reads back as a float).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum AttributeValue {
    /// A boolean.
    Bool(bool),
    /// A signed integer.
    I64(i64),
    /// A float.
    F64(f64),
    /// A string.
    String(String),
    /// An array of values.
    Array(Vec<AttributeValue>),
    /// A nested map (OTLP `kvlist`).
    Map(BTreeMap<String, AttributeValue>),
}

impl AttributeValue {
    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(s) => Some(s),
            _ => None,
        }
    }

    /// The value as an integer, accepting integral floats and numeric strings
    /// (emitters disagree on how they send token counts).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Self::I64(v) => Some(*v),
            Self::F64(v) if v.fract() == 0.0 && v.is_finite() => Some(*v as i64),
            Self::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// The value as a float, accepting integers and numeric strings.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Self::F64(v) => Some(*v),
            Self::I64(v) => Some(*v as f64),
            Self::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }
}

impl fmt::Display for AttributeValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bool(v) => write!(f, "{v}"),
            Self::I64(v) => write!(f, "{v}"),
            Self::F64(v) => write!(f, "{v}"),
            Self::String(v) => f.write_str(v),
            other => f.write_str(&serde_json::to_string(other).map_err(|_| fmt::Error)?),
        }
    }
}

macro_rules! impl_from {
    ($($t:ty => $variant:ident $(as $cast:ty)?),* $(,)?) => {
        $(impl From<$t> for AttributeValue {
            fn from(v: $t) -> Self { Self::$variant(v $(as $cast)?) }
        })*
    };
}
impl_from!(bool => Bool, i64 => I64, i32 => I64 as i64, u32 => I64 as i64, f64 => F64, String => String);

impl From<&str> for AttributeValue {
    fn from(v: &str) -> Self {
        Self::String(v.to_owned())
    }
}

impl From<u64> for AttributeValue {
    fn from(v: u64) -> Self {
        i64::try_from(v).map_or_else(|_| Self::String(v.to_string()), Self::I64)
    }
}

/// An ordered list of attributes with unique keys.
///
/// A `Vec` rather than a map: records carry few attributes, a linear scan beats hashing at that
/// size, and insertion order is kept for display. Serialized as a JSON object.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Attributes(Vec<(Key, AttributeValue)>);

impl Attributes {
    /// An empty list.
    pub const fn new() -> Self {
        Self(Vec::new())
    }

    /// Sets `key` to `value`, replacing an earlier value of the same key.
    pub fn insert(&mut self, key: impl Into<Key>, value: impl Into<AttributeValue>) {
        let key = key.into();
        let value = value.into();
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.0.push((key, value)),
        }
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&AttributeValue> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Puts `key` at `index` (at the end if `index` is past it), moving the attributes from
    /// there on one place along; an earlier value of the same key is removed first. What a
    /// store that keeps some attributes apart calls to give them back in their places.
    pub fn insert_at(
        &mut self,
        index: usize,
        key: impl Into<Key>,
        value: impl Into<AttributeValue>,
    ) {
        let key = key.into();
        self.0.retain(|(k, _)| *k != key);
        let index = index.min(self.0.len());
        self.0.insert(index, (key, value.into()));
    }

    /// Removes and returns the value of `key`.
    pub fn remove(&mut self, key: &str) -> Option<AttributeValue> {
        let pos = self.0.iter().position(|(k, _)| k == key)?;
        Some(self.0.remove(pos).1)
    }

    /// Iterates in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &AttributeValue)> {
        self.0.iter().map(|(k, v)| (k.as_ref(), v))
    }

    /// Iterates in insertion order, values mutable.
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut AttributeValue> {
        self.0.iter_mut().map(|(_, v)| v)
    }

    /// Keeps only the attributes for which `keep` returns `true`.
    pub fn retain(&mut self, mut keep: impl FnMut(&str, &AttributeValue) -> bool) {
        self.0.retain(|(k, v)| keep(k.as_ref(), v));
    }

    /// Number of attributes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<K: Into<Key>, V: Into<AttributeValue>> FromIterator<(K, V)> for Attributes {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut attrs = Self::new();
        for (k, v) in iter {
            attrs.insert(k, v);
        }
        attrs
    }
}

impl Serialize for Attributes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k.as_ref(), v)?;
        }
        map.end()
    }
}

/// Read by the value's own type, where `#[serde(untagged)]` would buffer each value and try
/// the variants in turn, formatting an error for each that fails (a string's three cost a
/// tenth of reading a stored trace back).
impl<'de> Deserialize<'de> for AttributeValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ValueVisitor;
        impl<'de> Visitor<'de> for ValueVisitor {
            type Value = AttributeValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a boolean, number, string, array or map")
            }
            fn visit_bool<E>(self, v: bool) -> Result<AttributeValue, E> {
                Ok(AttributeValue::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<AttributeValue, E> {
                Ok(AttributeValue::I64(v))
            }
            fn visit_u64<E>(self, v: u64) -> Result<AttributeValue, E> {
                Ok(i64::try_from(v).map_or(AttributeValue::F64(v as f64), AttributeValue::I64))
            }
            fn visit_f64<E>(self, v: f64) -> Result<AttributeValue, E> {
                Ok(AttributeValue::F64(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<AttributeValue, E> {
                Ok(AttributeValue::String(v.to_owned()))
            }
            fn visit_string<E>(self, v: String) -> Result<AttributeValue, E> {
                Ok(AttributeValue::String(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<AttributeValue, A::Error> {
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(AttributeValue::Array(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AttributeValue, A::Error> {
                let mut entries = BTreeMap::new();
                while let Some((k, v)) = map.next_entry::<String, AttributeValue>()? {
                    entries.insert(k, v);
                }
                Ok(AttributeValue::Map(entries))
            }
        }
        deserializer.deserialize_any(ValueVisitor)
    }
}

impl<'de> Deserialize<'de> for Attributes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AttrsVisitor;
        impl<'de> Visitor<'de> for AttrsVisitor {
            type Value = Attributes;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of attribute names to values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Attributes, A::Error> {
                let mut attrs = Attributes(Vec::with_capacity(access.size_hint().unwrap_or(0)));
                while let Some((k, v)) = access.next_entry::<String, AttributeValue>()? {
                    attrs.insert(k, v);
                }
                Ok(attrs)
            }
        }
        deserializer.deserialize_map(AttrsVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_at_puts_a_key_back_in_its_place() {
        let mut a: Attributes = [("a", 1), ("c", 3)].into_iter().collect();
        a.insert_at(1, "b", 2);
        a.insert_at(9, "d", 4);
        a.insert_at(0, "c", 0);
        let keys: Vec<_> = a.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["c", "a", "b", "d"]);
        assert_eq!(a.get("c"), Some(&AttributeValue::I64(0)));
    }

    #[test]
    fn insert_replaces_and_serde_round_trips() -> Result<(), serde_json::Error> {
        let mut attrs = Attributes::new();
        attrs.insert("a", 1i64);
        attrs.insert("b", "x");
        attrs.insert("a", 2.5);
        attrs.insert("c", AttributeValue::Array(vec![true.into(), "y".into()]));
        assert_eq!(attrs.len(), 3);
        assert_eq!(attrs.get("a"), Some(&AttributeValue::F64(2.5)));
        let json = serde_json::to_string(&attrs)?;
        assert_eq!(json, r#"{"a":2.5,"b":"x","c":[true,"y"]}"#);
        assert_eq!(serde_json::from_str::<Attributes>(&json)?, attrs);
        Ok(())
    }

    #[test]
    fn every_kind_of_value_reads_back_as_it_was_written() -> Result<(), serde_json::Error> {
        let json = r#"{"b":false,"i":-7,"u":9223372036854775808,"f":0.25,"s":"x\"y",
            "a":[1,"two",[3.5]],"m":{"k":{"n":null}}}"#;
        assert!(
            serde_json::from_str::<Attributes>(json).is_err(),
            "null is no value"
        );
        let json = json.replace("null", "true");
        let attrs: Attributes = serde_json::from_str(&json)?;
        let value = |k| attrs.get(k).cloned();
        assert_eq!(value("b"), Some(AttributeValue::Bool(false)));
        assert_eq!(value("i"), Some(AttributeValue::I64(-7)));
        assert_eq!(
            value("u"),
            Some(AttributeValue::F64(9_223_372_036_854_775_808.0))
        );
        assert_eq!(value("f"), Some(AttributeValue::F64(0.25)));
        assert_eq!(value("s"), Some(AttributeValue::from("x\"y")));
        let array = vec![
            1i64.into(),
            "two".into(),
            AttributeValue::Array(vec![3.5.into()]),
        ];
        assert_eq!(value("a"), Some(AttributeValue::Array(array)));
        let inner = BTreeMap::from([("n".to_owned(), AttributeValue::Bool(true))]);
        let outer = BTreeMap::from([("k".to_owned(), AttributeValue::Map(inner))]);
        assert_eq!(value("m"), Some(AttributeValue::Map(outer)));
        let again: Attributes = serde_json::from_str(&serde_json::to_string(&attrs)?)?;
        assert_eq!(again, attrs);
        Ok(())
    }

    #[test]
    fn lenient_numbers() {
        assert_eq!(AttributeValue::from("42").as_i64(), Some(42));
        assert_eq!(AttributeValue::F64(42.0).as_i64(), Some(42));
        assert_eq!(AttributeValue::F64(4.2).as_i64(), None);
        assert_eq!(
            AttributeValue::from(u64::MAX).as_str(),
            Some("18446744073709551615")
        );
    }
}
