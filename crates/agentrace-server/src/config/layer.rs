//! One source of configuration — the file, the environment or the flags — read through the
//! declared keys ([`KEYS`]) into a [`ConfigLayer`]: the keys it sets, each value checked
//! against its key's type as it is read, so that an error names where the value came from.

use std::collections::BTreeMap;
use std::path::Path;

use agentrace_core::env::{self, EnvError, Source};
use serde::Deserialize;
use serde::de::IntoDeserializer;
use toml::de::{DeTable, DeValue};

use super::ConfigError;
use super::keys::{Flag, KEYS, Key, KeyValue, TypedKey};

/// One source of configuration (file, environment or flags): the keys it sets. Stack layers
/// with [`over`](Self::over), read a key with [`get`](Self::get), and resolve them with
/// [`ServerConfig::resolve`](super::ServerConfig::resolve).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConfigLayer {
    /// Each key set, by its TOML name, with a value of its type.
    values: BTreeMap<&'static str, toml::Value>,
}

impl ConfigLayer {
    /// Reads a TOML configuration file.
    ///
    /// # Errors
    /// [`ConfigError::ReadFile`] if it cannot be read; [`ConfigError::ParseFile`] naming the
    /// line and the key of the first value that is not TOML, not a key, or not of its key's
    /// type.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ReadFile {
            path: path.to_owned(),
            source,
        })?;
        Self::from_toml(&text).map_err(|message| ConfigError::ParseFile {
            path: path.to_owned(),
            message,
        })
    }

    /// Reads the text of a TOML configuration file.
    ///
    /// # Errors
    /// Why not, naming the line and the key of the first value that is not TOML, not a key, or
    /// not of its key's type.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        let document = DeTable::parse(text).map_err(|e| e.to_string())?;
        let mut layer = Self::default();
        layer.read_table(document.get_ref(), "", text)?;
        Ok(layer)
    }

    /// Takes every key of `table`, whose keys' names begin with `prefix`.
    fn read_table(&mut self, table: &DeTable<'_>, prefix: &str, text: &str) -> Result<(), String> {
        for (name, value) in table {
            let dotted = if prefix.is_empty() {
                name.get_ref().to_string()
            } else {
                format!("{prefix}.{}", name.get_ref())
            };
            let dotted = dotted.as_str();
            let at = |span: std::ops::Range<usize>| {
                let line = text
                    .get(..span.start)
                    .map_or(0, |t| t.matches('\n').count())
                    + 1;
                move |reason: String| format!("line {line}: {dotted}: {reason}")
            };
            if let Some(key) = KEYS.iter().find(|key| key.name == dotted) {
                let value = toml::Value::deserialize(value.clone().into_deserializer())
                    .map_err(|e| e.to_string())
                    .and_then(|value| key.check(&value).map(|()| value))
                    .map_err(at(value.span()))?;
                self.values.insert(key.name, value);
                continue;
            }
            let within = keys_within(dotted);
            match value.get_ref() {
                DeValue::Table(inner) if !within.is_empty() => {
                    self.read_table(inner, dotted, text)?;
                }
                _ if !within.is_empty() => {
                    return Err(at(value.span())(format!(
                        "a table of keys ({}), not a value",
                        within.join(", ")
                    )));
                }
                _ => {
                    let expected = keys_within(prefix);
                    return Err(at(name.span())(format!(
                        "unknown key; expected one of {}",
                        expected.join(", ")
                    )));
                }
            }
        }
        Ok(())
    }

    /// Reads every key's variable ([`KEYS`]); blank ones count as unset.
    ///
    /// # Errors
    /// [`ConfigError::Env`] naming the first variable whose value cannot be used.
    pub fn from_env(source: Source<'_>) -> Result<Self, ConfigError> {
        let mut layer = Self::default();
        for key in KEYS {
            let Some(text) = env::value(source, key.env) else {
                continue;
            };
            let value = key
                .toml_value(&text)
                .map_err(|reason| EnvError::new(key.env, text.clone(), reason))?;
            layer.values.insert(key.name, value);
        }
        Ok(layer)
    }

    /// Reads the flags given, each with its values as typed: one for [`Flag::Value`], one or
    /// more for [`Flag::Repeated`] (each may hold several, comma-separated), none for
    /// [`Flag::Switch`].
    ///
    /// # Errors
    /// [`ConfigError::Flag`] naming the first flag whose value cannot be used.
    pub fn from_flags<'a>(
        given: impl IntoIterator<Item = (&'a Key, Vec<String>)>,
    ) -> Result<Self, ConfigError> {
        let mut layer = Self::default();
        for (key, values) in given {
            let text = values.join(",");
            let value = match key.flag {
                Flag::Switch(_, on) => Ok(toml::Value::Boolean(on)),
                Flag::Value(_) | Flag::Repeated(_) => key.toml_value(&text),
            };
            let value = value.map_err(|reason| ConfigError::Flag {
                flag: key.flag.name(),
                value: text.clone(),
                reason,
            })?;
            layer.values.insert(key.name, value);
        }
        Ok(layer)
    }

    /// This layer over `lower`: each key set here wins, the others come from `lower`.
    #[must_use]
    pub fn over(self, lower: Self) -> Self {
        let mut values = lower.values;
        values.extend(self.values);
        Self { values }
    }

    /// The value of `key`, if this layer sets it.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] if the value is not of the key's type (a layer is read through
    /// the keys' types, so only if that was bypassed).
    pub fn get<T: KeyValue>(&self, key: TypedKey<T>) -> Result<Option<T>, ConfigError> {
        self.values
            .get(key.key.name)
            .map(|value| {
                T::from_toml(value.clone()).map_err(|reason| ConfigError::Invalid {
                    key: key.key.name,
                    reason,
                })
            })
            .transpose()
    }

    /// Sets `into` to `key`'s value if this layer sets it.
    pub(super) fn read_into<T: KeyValue>(
        &self,
        key: TypedKey<T>,
        into: &mut T,
    ) -> Result<(), ConfigError> {
        if let Some(value) = self.get(key)? {
            *into = value;
        }
        Ok(())
    }

    /// Whether this layer sets no key.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// The next part of the name of every key whose name begins with `prefix.` (every key's first
/// part for an empty `prefix`), each once.
fn keys_within(prefix: &str) -> Vec<&'static str> {
    let mut parts: Vec<&'static str> = Vec::new();
    for key in KEYS {
        let rest = if prefix.is_empty() {
            Some(key.name)
        } else {
            key.name
                .strip_prefix(prefix)
                .and_then(|rest| rest.strip_prefix('.'))
        };
        if let Some(part) = rest.and_then(|rest| rest.split('.').next())
            && !parts.contains(&part)
        {
            parts.push(part);
        }
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::keys;

    #[test]
    fn a_file_error_names_its_line_and_key() {
        let err =
            ConfigLayer::from_toml("bind = \"::1\"\n[retention.spans]\nmax_age = \"forever\"\n");
        assert!(
            matches!(&err, Err(m) if m.starts_with("line 3: retention.spans.max_age: ")
                && m.contains("forever")),
            "{err:?}"
        );
        let err = ConfigLayer::from_toml("\nprots = 3\n");
        assert!(
            matches!(&err, Err(m) if m.starts_with("line 2: prots: unknown key; expected one of data_dir, store, bind, ports,")),
            "{err:?}"
        );
        let err = ConfigLayer::from_toml("[retention]\nspanz = 3\n");
        assert!(
            matches!(&err, Err(m) if m.contains("retention.spanz: unknown key; expected one of interval, spans, events, metrics, scores")),
            "{err:?}"
        );
        let err = ConfigLayer::from_toml("ports = 3\n");
        assert!(
            matches!(&err, Err(m) if m.contains("ports: a table of keys (otlp_http, otlp_grpc, app), not a value")),
            "{err:?}"
        );
        let err = ConfigLayer::from_toml("ports = {\n");
        assert!(matches!(&err, Err(m) if m.contains("line 1")), "{err:?}");
    }

    #[test]
    fn inline_and_dotted_tables_read_alike() -> Result<(), String> {
        let sections = ConfigLayer::from_toml("[ports]\napp = 1\n[limits]\nmax_body = 4096\n")?;
        let inline = ConfigLayer::from_toml("ports = { app = 1 }\nlimits.max_body = 4096\n")?;
        assert_eq!(sections, inline);
        assert_eq!(
            sections.get(keys::PORTS_APP).map_err(|e| e.to_string())?,
            Some(1)
        );
        Ok(())
    }

    #[test]
    fn the_upper_layer_wins_key_by_key() -> Result<(), String> {
        let upper = ConfigLayer::from_toml("[ports]\napp = 1\n")?;
        let lower = ConfigLayer::from_toml("[ports]\napp = 2\notlp_http = 3\n")?;
        let both = upper.over(lower);
        let get = |key| both.get(key).map_err(|e| e.to_string());
        assert_eq!(get(keys::PORTS_APP)?, Some(1));
        assert_eq!(get(keys::PORTS_OTLP_HTTP)?, Some(3));
        assert_eq!(get(keys::PORTS_OTLP_GRPC)?, None);
        Ok(())
    }
}
