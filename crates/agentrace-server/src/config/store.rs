//! Which store the server (and the CLI) uses: the `store` key.

use std::fmt;
use std::str::FromStr;

/// The store, as the `store` key names it: `sqlite` (the default: `agentrace.db` in the data
/// directory) or `clickhouse://[USER[:PASSWORD]@]HOST[:PORT]/DATABASE[?timeout=DURATION&cluster=NAME&hold=DURATION]`
/// (port 8123 by default, ClickHouse's HTTP interface; `timeout`: how long a call waits for
/// ClickHouse before it fails as unavailable, 30 s by default; `cluster`: the tables made on
/// every node of that ClickHouse cluster, replicated and distributed, docs/scale-out.md).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreLocation {
    /// The SQLite file in the data directory.
    #[default]
    Sqlite,
    /// A ClickHouse server (or cluster, behind one address).
    ClickHouse(ClickHouseLocation),
}

/// Where a ClickHouse store is.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClickHouseLocation {
    /// Its HTTP interface: `http://HOST:PORT`.
    pub url: String,
    /// The database agentrace's tables are in (created if missing).
    pub database: String,
    /// The user, if not `default`.
    pub user: Option<String>,
    /// The user's password.
    pub password: Option<String>,
    /// How long a call waits for ClickHouse (the store's default if `None`).
    pub timeout: Option<std::time::Duration>,
    /// The ClickHouse cluster whose every node holds the tables (`None`: one server).
    pub cluster: Option<String>,
    /// How long `serve` holds a span awaiting its parent before writing it
    /// ([`DEFAULT_HOLD`] if `None`; zero: never held, as a node without a durable data
    /// directory runs).
    pub hold: Option<std::time::Duration>,
}

/// How long `serve` holds a span awaiting its parent by default: two of the OpenTelemetry
/// SDKs' export intervals (5 s), so that an agent span ending just after its calls, exported
/// in the batch after theirs, completes them before they are written.
pub const DEFAULT_HOLD: std::time::Duration = std::time::Duration::from_secs(10);

impl fmt::Debug for ClickHouseLocation {
    /// Without the password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClickHouseLocation")
            .field("url", &self.url)
            .field("database", &self.database)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "…"))
            .field("timeout", &self.timeout)
            .field("cluster", &self.cluster)
            .field("hold", &self.hold)
            .finish()
    }
}

impl fmt::Display for StoreLocation {
    /// The location without the password, for logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite => f.write_str("sqlite"),
            Self::ClickHouse(c) => {
                let host = c.url.trim_start_matches("http://");
                match &c.user {
                    Some(user) => write!(f, "clickhouse://{user}@{host}/{}", c.database)?,
                    None => write!(f, "clickhouse://{host}/{}", c.database)?,
                }
                let mut parameters = Vec::new();
                if let Some(limit) = c.timeout {
                    parameters.push(format!(
                        "timeout={}",
                        agentrace_core::serde_duration::text(limit)
                    ));
                }
                if let Some(cluster) = &c.cluster {
                    parameters.push(format!("cluster={cluster}"));
                }
                if let Some(hold) = c.hold {
                    parameters.push(format!(
                        "hold={}",
                        agentrace_core::serde_duration::text(hold)
                    ));
                }
                if !parameters.is_empty() {
                    write!(f, "?{}", parameters.join("&"))?;
                }
                Ok(())
            }
        }
    }
}

impl FromStr for StoreLocation {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("sqlite") {
            return Ok(Self::Sqlite);
        }
        let expected = "expected `sqlite` or `clickhouse://[USER[:PASSWORD]@]HOST[:PORT]/DATABASE[?timeout=DURATION&cluster=NAME&hold=DURATION]`";
        let url = url::Url::parse(text).map_err(|e| format!("{e}: {expected}"))?;
        if url.scheme() != "clickhouse" {
            return Err(format!("unknown store {:?}: {expected}", url.scheme()));
        }
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| format!("no host: {expected}"))?;
        let database = url.path().trim_start_matches('/');
        if database.is_empty() || database.contains('/') {
            return Err(format!("name one database: {expected}"));
        }
        if url.fragment().is_some() {
            return Err(format!("no fragment: {expected}"));
        }
        let (mut timeout, mut cluster, mut hold) = (None, None, None);
        for (key, value) in url.query_pairs() {
            match key.as_ref() {
                "timeout" => {
                    let limit = humantime::parse_duration(&value)
                        .map_err(|e| format!("timeout {value:?}: {e}"))?;
                    if limit.is_zero() {
                        return Err("timeout: must be longer than zero".into());
                    }
                    timeout = Some(limit);
                }
                // Its characters are checked where it goes into statements: when the store
                // opens (`agentrace_clickhouse::schema::Layout`).
                "cluster" => {
                    if value.is_empty() {
                        return Err("cluster: name the ClickHouse cluster".into());
                    }
                    cluster = Some(value.into_owned());
                }
                "hold" => {
                    hold = Some(
                        humantime::parse_duration(&value)
                            .map_err(|e| format!("hold {value:?}: {e}"))?,
                    );
                }
                other => return Err(format!("unknown parameter {other:?}: {expected}")),
            }
        }
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map(String::from)
                .map_err(|_| format!("{s:?} is not valid percent-encoded UTF-8"))
        };
        Ok(Self::ClickHouse(ClickHouseLocation {
            url: format!("http://{host}:{}", url.port().unwrap_or(8123)),
            database: decode(database)?,
            user: (!url.username().is_empty())
                .then(|| decode(url.username()))
                .transpose()?,
            password: url.password().map(decode).transpose()?,
            timeout,
            cluster,
            hold,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sqlite_or_a_clickhouse_database() -> Result<(), String> {
        assert_eq!("sqlite".parse::<StoreLocation>()?, StoreLocation::Sqlite);
        let StoreLocation::ClickHouse(c) = "clickhouse://ch.internal/traces".parse()? else {
            return Err("not ClickHouse".into());
        };
        assert_eq!(
            (c.url.as_str(), c.database.as_str()),
            ("http://ch.internal:8123", "traces")
        );
        assert_eq!((c.user, c.password), (None, None));

        let location: StoreLocation =
            "clickhouse://agent%40ops:p%3Ass@10.0.0.5:18123/db".parse()?;
        let StoreLocation::ClickHouse(c) = &location else {
            return Err("not ClickHouse".into());
        };
        assert_eq!(c.url, "http://10.0.0.5:18123");
        assert_eq!(c.user.as_deref(), Some("agent@ops"));
        assert_eq!(c.password.as_deref(), Some("p:ss"));
        // Shown without the password.
        assert_eq!(
            location.to_string(),
            "clickhouse://agent@ops@10.0.0.5:18123/db"
        );
        assert!(!format!("{location:?}").contains("p:ss"));

        let location: StoreLocation = "clickhouse://h/db?timeout=5s".parse()?;
        let StoreLocation::ClickHouse(c) = &location else {
            return Err("not ClickHouse".into());
        };
        assert_eq!(c.timeout, Some(std::time::Duration::from_secs(5)));
        assert_eq!(location.to_string(), "clickhouse://h:8123/db?timeout=5s");
        let location: StoreLocation = "clickhouse://h/db?cluster=prod-1&timeout=1m".parse()?;
        let StoreLocation::ClickHouse(c) = &location else {
            return Err("not ClickHouse".into());
        };
        assert_eq!(c.cluster.as_deref(), Some("prod-1"));
        assert_eq!(c.hold, None);
        assert_eq!(
            location.to_string(),
            "clickhouse://h:8123/db?timeout=1m&cluster=prod-1"
        );
        let location: StoreLocation = "clickhouse://h/db?hold=0s".parse()?;
        let StoreLocation::ClickHouse(c) = &location else {
            return Err("not ClickHouse".into());
        };
        assert_eq!(c.hold, Some(std::time::Duration::ZERO), "never held");
        assert_eq!(location.to_string(), "clickhouse://h:8123/db?hold=0s");
        Ok(())
    }

    #[test]
    fn refuses_what_it_cannot_use() {
        for bad in [
            "postgres://h/db",
            "clickhouse://h",
            "clickhouse://h/",
            "clickhouse://h/a/b",
            "clickhouse://h/db?secure=1",
            "clickhouse://h/db?timeout=soon",
            "clickhouse://h/db?timeout=0s",
            "clickhouse://h/db?cluster=",
            "clickhouse://h/db?hold=later",
            "clickhouse://h/db#top",
            "clickhouse:///db",
            "h:8123/db",
            "clickhouse://h/%ff",
        ] {
            assert!(bad.parse::<StoreLocation>().is_err(), "{bad} accepted");
        }
    }
}
