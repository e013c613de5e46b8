//! `Text`: the string type of record fields, stored inline up to 24 bytes.

use std::borrow::{Borrow, Cow};
use std::fmt;
use std::ops::Deref;

use compact_str::CompactString;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An immutable string that keeps up to 24 bytes inline, without a heap allocation.
///
/// Most values of the fields every span carries (a provider, a model name, an agent, a session
/// id, `chat gpt-4o`) fit, so recording a span allocates far less, which is what keeps the
/// `tracing` layer cheap on the application's thread. It dereferences to `str`, converts from
/// `&str` and `String`, and serializes as a plain string.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Text(CompactString);

impl Text {
    /// A `Text` holding `s`.
    pub fn new(s: &str) -> Self {
        Self(CompactString::new(s))
    }

    /// The string.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        self.0.as_str()
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        self.0.as_str()
    }
}

impl Borrow<str> for Text {
    fn borrow(&self) -> &str {
        self.0.as_str()
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0.as_str(), f)
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Self::new(s)
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        Self(CompactString::from(s))
    }
}

impl From<&String> for Text {
    fn from(s: &String) -> Self {
        Self::new(s)
    }
}

impl From<Cow<'_, str>> for Text {
    fn from(s: Cow<'_, str>) -> Self {
        Self(CompactString::from(s))
    }
}

impl From<Text> for String {
    fn from(t: Text) -> Self {
        t.0.into_string()
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.0.as_str() == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.0.as_str() == *other
    }
}

impl PartialEq<String> for Text {
    fn eq(&self, other: &String) -> bool {
        self.0.as_str() == other.as_str()
    }
}

impl Serialize for Text {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.as_str())
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl serde::de::Visitor<'_> for TextVisitor {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Text, E> {
                Ok(Text::new(v))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Text, E> {
                Ok(Text::from(v))
            }
        }
        d.deserialize_str(TextVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaves_like_a_string() -> Result<(), serde_json::Error> {
        let short = Text::from("gpt-4o-2024-08-06");
        let long = Text::from("invoke_workflow compare tracing backends across vendors".to_owned());
        assert_eq!(short, "gpt-4o-2024-08-06");
        assert!(long.starts_with("invoke_workflow"));
        assert_eq!(Some(short.clone()).as_deref(), Some("gpt-4o-2024-08-06"));
        assert_eq!(
            format!("{short} {short:?}"),
            "gpt-4o-2024-08-06 \"gpt-4o-2024-08-06\""
        );
        let json = serde_json::to_string(&long)?;
        assert_eq!(serde_json::from_str::<Text>(&json)?, long);
        assert_eq!(String::from(short), "gpt-4o-2024-08-06");
        Ok(())
    }
}
