//! A client of a running `agentrace serve`'s API, for the commands that follow a server
//! rather than read a store file (`alerts`, `status`, `tail`, `score`, `evaluate`, `report`).

use std::time::Duration;

use serde_json::Value;

use crate::args::ServerArgs;
use crate::error::CliError;

/// The header a request names its project with.
pub(crate) const PROJECT_HEADER: &str = "x-agentrace-project";

/// How long a request may take.
const TIMEOUT: Duration = Duration::from_secs(15);

/// The API of one server.
#[derive(Debug)]
pub(crate) struct ApiClient {
    base: String,
    token: Option<String>,
    /// The project asked for (`x-agentrace-project`), if one was given.
    project: Option<String>,
    http: reqwest::Client,
}

impl ApiClient {
    /// A client of the server `args` name, acting on `project` (`--project`; else the one
    /// its token belongs to, or `default`).
    pub(crate) fn new(args: &ServerArgs, project: Option<&str>) -> Result<Self, CliError> {
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .build()
            .map_err(|e| CliError::Server(format!("cannot build an HTTP client: {e}")))?;
        Ok(Self {
            base: args.server.trim_end_matches('/').to_owned(),
            token: args.api_token.clone().filter(|t| !t.is_empty()),
            project: project.map(str::to_owned),
            http,
        })
    }

    /// The same client, with requests that may take up to `timeout`.
    pub(crate) fn timeout(mut self, timeout: Duration) -> Self {
        if let Ok(http) = reqwest::Client::builder().timeout(timeout).build() {
            self.http = http;
        }
        self
    }

    /// The live feed's WebSocket URL, with `query` (already encoded).
    pub(crate) fn live_url(&self, query: &str) -> String {
        let base = self
            .base
            .replacen("https://", "wss://", 1)
            .replacen("http://", "ws://", 1);
        if query.is_empty() {
            format!("{base}/api/v1/live")
        } else {
            format!("{base}/api/v1/live?{query}")
        }
    }

    /// The API token, if one was given.
    pub(crate) fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// The project asked for, if one was.
    pub(crate) fn project(&self) -> Option<&str> {
        self.project.as_deref()
    }

    /// `GET /api/v1{path}` as JSON; a refusal is an error with the server's message.
    pub(crate) async fn get(&self, path: &str) -> Result<Value, CliError> {
        self.send(self.http.get(self.url(path)), path).await
    }

    /// `POST /api/v1{path}` with a JSON `body`; its answer as JSON, a refusal an error with
    /// the server's message.
    pub(crate) async fn post(&self, path: &str, body: &Value) -> Result<Value, CliError> {
        self.send(self.http.post(self.url(path)).json(body), path)
            .await
    }

    /// `PATCH /api/v1{path}` with a JSON `body`; its answer as JSON.
    pub(crate) async fn patch(&self, path: &str, body: &Value) -> Result<Value, CliError> {
        self.send(self.http.patch(self.url(path)).json(body), path)
            .await
    }

    /// `PUT /api/v1{path}` with a JSON `body`; its answer as JSON.
    pub(crate) async fn put(&self, path: &str, body: &Value) -> Result<Value, CliError> {
        self.send(self.http.put(self.url(path)).json(body), path)
            .await
    }

    /// `DELETE /api/v1{path}`; its answer as JSON (`null` for none).
    pub(crate) async fn delete(&self, path: &str) -> Result<Value, CliError> {
        self.send(self.http.delete(self.url(path)), path).await
    }

    fn url(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.base)
    }

    async fn send(
        &self,
        mut request: reqwest::RequestBuilder,
        path: &str,
    ) -> Result<Value, CliError> {
        let url = self.url(path);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(project) = &self.project {
            request = request.header(PROJECT_HEADER, project);
        }
        let answer = request
            .send()
            .await
            .map_err(|e| CliError::Server(format!("cannot reach {url}: {e}")))?;
        let status = answer.status();
        let body = answer
            .text()
            .await
            .map_err(|e| CliError::Server(format!("{url}: reading the answer failed: {e}")))?;
        if status == reqwest::StatusCode::NO_CONTENT {
            return Ok(Value::Null);
        }
        let json: Value = serde_json::from_str(&body).map_err(|_| {
            CliError::Server(format!(
                "{url} answered {status}, not JSON (is it agentrace serve?)"
            ))
        })?;
        if status.is_success() {
            Ok(json)
        } else {
            let message = json["error"]["message"].as_str().unwrap_or("no message");
            Err(CliError::Server(format!(
                "{url} answered {status}: {message}"
            )))
        }
    }
}

/// Percent-encodes `v` for a query value or a path segment (unreserved characters stay).
pub(crate) fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
