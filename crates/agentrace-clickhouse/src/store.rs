//! [`ClickHouseStore`]: a database on a ClickHouse server, its schema made current when opened,
//! written as a sink and read back.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};
use std::time::Duration;

use agentrace_core::{
    Event, EventSink, ExportError, ShutdownError, Sink, SpanRecord, SpanSink, async_trait,
};
use agentrace_store::{
    EncodedSpans, LateAttribution, ProjectError, ProjectId, QueryError, RetentionError, WriteError,
    evaluation_results,
};
use clickhouse::Client;
use tokio::runtime::Runtime;

use crate::error::OpenError;
use crate::held::journal::{self, JournalRow};
use crate::held::{HeldSpans, SpoolError, legacy};
use crate::migrate::Migrator;
use crate::schema::{DEFAULT_PROJECT_ID, Layout};

/// Spans and events of one project in a ClickHouse database.
///
/// A store of `agentrace-store` (what `agentrace serve --store clickhouse://…` runs on) and a
/// sink of the core pipeline: each write is one `INSERT`, answered when ClickHouse has the
/// rows; [`Sink::flush`] has nothing left to write. A failed insert is
/// [`ExportError::Transient`] when ClickHouse is unreachable or overloaded (the pipeline retries
/// it): a span written again is stored once, an event written again once (its hash is its key).
///
/// A store is scoped to one project ([`project`](Self::project)): every row it writes names
/// it, every read is of its rows only. Opened, a store is the `default` project's (id 1, where
/// everything written before projects is);
/// [`ClickHouseOrganization`](crate::ClickHouseOrganization) hands out the others', clones sharing the client, the runtime and the spans held.
#[derive(Clone)]
pub struct ClickHouseStore {
    inner: Arc<Inner>,
    project: ProjectId,
    timeout: Duration,
}

struct Inner {
    client: Client,
    node: String,
    runtime: &'static Runtime,
    url: String,
    database: String,
    shut_down: AtomicBool,
    layout: Layout,
    /// Spans awaiting their parent, held (`hold_awaiting`).
    held: OnceLock<HeldSpans>,
    /// Taken by each write of spans and each writing of held ones: one at a time. Holds the
    /// late attributions of the held spans the store's timer wrote, by project, reported with
    /// the project's next write of spans (at most the spans held, as each is written once).
    writing: tokio::sync::Mutex<HashMap<ProjectId, Vec<LateAttribution>>>,
    /// Projects deleted through this node's organization: their stores refuse writes.
    deleted: RwLock<HashSet<ProjectId>>,
    /// Nodes gone whose held spans this node found all taken over (`adopt_held`).
    adopted: Mutex<HashSet<String>>,
}

/// Spans awaiting their parent could not be held ([`ClickHouseStore::hold_awaiting`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HoldError {
    /// An earlier release's spool could not be read or removed.
    #[error(transparent)]
    Spool(#[from] SpoolError),
    /// What an earlier release's spool held could not be written.
    #[error("writing the spans held before: {0}")]
    Replay(#[source] WriteError),
    /// The store holds spans already.
    #[error("the store holds spans awaiting their parent already")]
    Holding,
}

/// How long a blocking call waits for ClickHouse by default before it fails as unavailable.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The error a call that ClickHouse did not answer in time fails with.
pub(crate) trait Deadline {
    /// ClickHouse did not answer within `limit`.
    fn missed(limit: Duration) -> Self;
}

/// The reason of a missed deadline.
fn no_answer(limit: Duration) -> agentrace_store::BoxError {
    format!("ClickHouse did not answer within {} ms", limit.as_millis()).into()
}

impl Deadline for WriteError {
    fn missed(limit: Duration) -> Self {
        Self::Unavailable(no_answer(limit))
    }
}

impl Deadline for QueryError {
    fn missed(limit: Duration) -> Self {
        Self::Unavailable(no_answer(limit))
    }
}

impl Deadline for RetentionError {
    fn missed(limit: Duration) -> Self {
        Self::Failed(no_answer(limit))
    }
}

impl Deadline for agentrace_store::AccountError {
    fn missed(limit: Duration) -> Self {
        Self::Unavailable(no_answer(limit))
    }
}

impl Deadline for agentrace_store::AuditError {
    fn missed(limit: Duration) -> Self {
        Self::Unavailable(no_answer(limit))
    }
}

impl Deadline for ProjectError {
    fn missed(limit: Duration) -> Self {
        Self::Unavailable(no_answer(limit))
    }
}

impl fmt::Debug for ClickHouseStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClickHouseStore")
            .field("url", &self.inner.url)
            .field("database", &self.inner.database)
            .field("project", &self.project)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl ClickHouseStore {
    /// Opens the database `database` of the server at `url` (its HTTP interface, e.g.
    /// `http://127.0.0.1:8123`), creating it and bringing its schema to this build's version.
    ///
    /// # Errors
    /// [`OpenError::Server`] when the server does not answer or refuses a statement,
    /// [`OpenError::TooNew`] for a database of a newer agentrace, [`OpenError::DatabaseName`]
    /// for a name that is not a plain identifier.
    pub async fn open(url: &str, database: &str) -> Result<Self, OpenError> {
        Self::open_with(Client::default().with_url(url), url, database).await
    }

    /// [`open_with`](Self::open_with), blocking the calling thread, its I/O on the store's
    /// runtime (where the client's connections then live): what a blocking caller (the
    /// server's store opener, the CLI) uses.
    ///
    /// # Errors
    /// As [`open`](Self::open).
    pub fn open_blocking(client: Client, url: &str, database: &str) -> Result<Self, OpenError> {
        Self::open_blocking_on(client, url, database, &Layout::Single)
    }

    /// [`open_on`](Self::open_on), blocking the calling thread (as
    /// [`open_blocking`](Self::open_blocking)).
    ///
    /// # Errors
    /// As [`open_on`](Self::open_on).
    pub fn open_blocking_on(
        client: Client,
        url: &str,
        database: &str,
        layout: &Layout,
    ) -> Result<Self, OpenError> {
        let _store_runtime = runtime().map_err(OpenError::Runtime)?.enter();
        futures_executor::block_on(tokio::task::unconstrained(Self::open_on(
            client, url, database, layout,
        )))
    }

    /// Opens as [`open`](Self::open) through `client` (credentials, compression, settings),
    /// pointed at `url`.
    ///
    /// # Errors
    /// As [`open`](Self::open).
    pub async fn open_with(client: Client, url: &str, database: &str) -> Result<Self, OpenError> {
        Self::open_on(client, url, database, &Layout::Single).await
    }

    /// Opens as [`open_with`](Self::open_with), its tables laid out as `layout`: on a cluster
    /// (`Layout::Cluster`), made `ON CLUSTER` as replicated local tables with `Distributed`
    /// tables over them (see [`schema::create_statements`](crate::schema::create_statements)),
    /// inserts answered once every shard has its rows.
    ///
    /// # Errors
    /// As [`open`](Self::open); [`OpenError::ClusterName`] for a cluster name agentrace does
    /// not put into statements.
    pub async fn open_on(
        client: Client,
        url: &str,
        database: &str,
        layout: &Layout,
    ) -> Result<Self, OpenError> {
        if let Layout::Cluster(name) = layout
            && !Layout::is_valid_cluster_name(name)
        {
            return Err(OpenError::ClusterName(name.clone()));
        }
        if database.is_empty()
            || !database
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(OpenError::DatabaseName(database.to_owned()));
        }
        let client = match layout {
            Layout::Single => client.with_url(url),
            // An insert into a Distributed table is answered once the shards have its rows.
            Layout::Cluster(_) => client
                .with_url(url)
                .with_setting("insert_distributed_sync", "1"),
        };
        let node = agentrace_core::TraceId::random().to_string()[..12].to_owned();
        Migrator {
            client: &client,
            url,
            database,
            layout,
            node: &node,
        }
        .migrate()
        .await?;
        Ok(Self {
            inner: Arc::new(Inner {
                client: client.with_database(database),
                node,
                runtime: runtime().map_err(OpenError::Runtime)?,
                url: url.to_owned(),
                database: database.to_owned(),
                shut_down: AtomicBool::new(false),
                layout: layout.clone(),
                held: OnceLock::new(),
                writing: tokio::sync::Mutex::new(HashMap::new()),
                deleted: RwLock::new(HashSet::new()),
                adopted: Mutex::new(HashSet::new()),
            }),
            project: ProjectId(DEFAULT_PROJECT_ID),
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// The project this store reads and writes.
    pub fn project(&self) -> ProjectId {
        self.project
    }

    /// This store's clone scoped to `project` (sharing everything but the project).
    pub(crate) fn in_project(&self, project: ProjectId) -> Self {
        Self {
            project,
            ..self.clone()
        }
    }

    /// `project = <id>`: the condition every read of a data table starts with.
    pub(crate) fn scope(&self) -> String {
        format!("project = {}", self.project)
    }

    /// A `WHERE` of this store's rows: [`scope`](Self::scope), and what is pushed after it.
    pub(crate) fn scoped(&self) -> crate::sql::Where {
        let mut w = crate::sql::Where::default();
        w.push(self.scope(), []);
        w
    }

    /// Refuses the writes of `project`'s stores from now on (it was deleted).
    pub(crate) fn refuse_writes_of(&self, project: ProjectId) {
        self.inner
            .deleted
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(project);
    }

    /// How the store's tables are laid out.
    pub(crate) fn layout(&self) -> &Layout {
        &self.inner.layout
    }

    /// The database's name (a plain identifier).
    pub(crate) fn database(&self) -> &str {
        &self.inner.database
    }

    /// The client, on the store's database.
    pub(crate) fn client(&self) -> &Client {
        &self.inner.client
    }

    /// The spans held awaiting their parent, if this store holds them.
    pub(crate) fn held_spans(&self) -> Option<&HeldSpans> {
        self.inner.held.get()
    }

    /// Taken for each write of spans (one at a time: what a write reads of its traces, held
    /// and stored, stays true until it is written), with the late attributions not reported
    /// yet.
    pub(crate) async fn writing(
        &self,
    ) -> tokio::sync::MutexGuard<'_, HashMap<ProjectId, Vec<LateAttribution>>> {
        self.inner.writing.lock().await
    }

    /// Holds spans that await their parent (an agent's calls that arrive before the agent
    /// span) for at most `hold`, and writes them once with their parent: a children-first
    /// trace then costs ClickHouse no rewrite (docs/scale-out.md, "Spans awaiting their
    /// parent"). Each span held is journaled in ClickHouse before its write is answered, so
    /// that the fleet's leader takes it over if this node dies
    /// ([`Fleet::adopt_held`](agentrace_store::Fleet::adopt_held)).
    /// A task of the store, each tick (a quarter of `hold`, 100 ms to 1 s) that no batch took
    /// every held trace due, looks the held traces up in ClickHouse (on a schedule that backs
    /// off) and writes the spans whose parent another node stored, and writes each span whose
    /// hold ended, as it is.
    ///
    /// The spans held are the node's, shared by every project's store cloned from this one
    /// (before or after): each span is held under its project, written into it, and its bound
    /// ([`Health::held`](agentrace_store::Health::held)) is the node's.
    ///
    /// # Errors
    /// [`HoldError::Holding`] if the store holds already.
    pub fn hold_awaiting(&self, hold: Duration) -> Result<(), HoldError> {
        let held = HeldSpans::new(hold);
        let tick = held.tick();
        self.inner.held.set(held).map_err(|_| HoldError::Holding)?;
        let store = Arc::downgrade(&self.inner);
        let (project, timeout) = (self.project, self.timeout);
        self.inner.runtime.spawn(async move {
            loop {
                tokio::time::sleep(tick).await;
                let Some(inner) = store.upgrade() else { break };
                let store = ClickHouseStore {
                    inner,
                    project,
                    timeout,
                };
                if store.shut_down() {
                    break;
                }
                // A failed write leaves the spans held: written at the next tick.
                let _ = tokio::time::timeout(timeout, store.write_held(false)).await;
            }
        });
        Ok(())
    }

    /// Writes what the spool of an earlier release in `dir` holds (a node of that release
    /// stopped before writing its held spans), each into its project, then removes the
    /// spool: how many spans it held. The spans are journaled first, as held ones, so that
    /// a node dying meanwhile loses none. Call it after [`hold_awaiting`](Self::hold_awaiting)
    /// (without it, the spans are written as they are); blocks: call it off async threads.
    ///
    /// # Errors
    /// [`HoldError::Spool`] when the spool cannot be read or removed, [`HoldError::Replay`]
    /// when its spans cannot be written (the spool is kept, for the next start).
    pub fn write_spool(&self, dir: &Path) -> Result<usize, HoldError> {
        let spans = legacy::read(dir)?;
        if spans.is_empty() {
            legacy::remove(dir)?;
            return Ok(0);
        }
        let n = spans.len();
        self.block_on(self.hold_recovered(spans))
            .map_err(HoldError::Replay)?;
        legacy::remove(dir)?;
        Ok(n)
    }

    /// Journals and holds `spans`, then writes every span held.
    async fn hold_recovered(&self, spans: Vec<(ProjectId, SpanRecord)>) -> Result<(), WriteError> {
        let Some(held) = self.held_spans() else {
            for (project, span) in spans {
                let mut batch = EncodedSpans::with_capacity(1);
                batch.push(span)?;
                self.in_project(project).write_spans(batch.rows()).await?;
            }
            return Ok(());
        };
        {
            let _writing = self.writing().await;
            let held_at = agentrace_core::now_unix_nano();
            let (mut rows, mut recovered) = (Vec::new(), Vec::new());
            for (project, span) in spans {
                let Some(record) = journal::encode(&span) else {
                    continue;
                };
                let mut journaled = crate::held::Journaled::new(span, record);
                rows.push(JournalRow::held(
                    self.node_id(),
                    project,
                    &mut journaled,
                    held_at,
                ));
                let size = journaled.size();
                recovered.push((project, *journaled.span, held_at, size));
            }
            self.insert_rows("held_spans", rows.iter()).await?;
            held.adopt(recovered);
        }
        self.write_held(true).await.map(drop)
    }

    /// Nodes gone whose held spans this node found all taken over, but those `alive` again
    /// (forgotten).
    pub(crate) fn nodes_adopted(&self, alive: &HashSet<&str>) -> HashSet<String> {
        let mut adopted = self
            .inner
            .adopted
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        adopted.retain(|node| !alive.contains(node.as_str()));
        adopted.clone()
    }

    /// `nodes` have no held span left to take over.
    pub(crate) fn adopted_all_of(&self, nodes: Vec<String>) {
        self.inner
            .adopted
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(nodes);
    }

    /// Runs `future` to completion, blocking the calling thread, its I/O driven by the store's
    /// runtime (what the blocking traits of `agentrace-store` do). Safe from any thread, even
    /// one of another runtime (it is blocked meanwhile, as by file I/O: the server calls stores
    /// from its blocking pool).
    ///
    /// A call ClickHouse has not answered within the store's [timeout](Self::with_timeout)
    /// fails as unavailable (retryable): a hung server makes the server refuse writes with the
    /// retryable status, not wait forever. A write that timed out may still land; written
    /// again, it is stored once.
    pub(crate) fn block_on<T, E, F>(&self, future: F) -> Result<T, E>
    where
        F: std::future::Future<Output = Result<T, E>>,
        E: Deadline,
    {
        let _store_runtime = self.inner.runtime.enter();
        let limit = self.timeout;
        let within = async move {
            tokio::time::timeout(limit, future)
                .await
                .unwrap_or_else(|_| Err(E::missed(limit)))
        };
        // Unconstrained: called from a task of another runtime, the future would otherwise
        // share that task's cooperative budget, which only refills when the task yields —
        // never, while it blocks here — and then wait forever on every resource.
        futures_executor::block_on(tokio::task::unconstrained(within))
    }

    /// This store with a different timeout for each call (by default [`DEFAULT_TIMEOUT`]).
    #[must_use]
    pub fn with_timeout(self, timeout: Duration) -> Self {
        Self { timeout, ..self }
    }

    /// This node's id (random, made when the store was opened): what it writes is tagged with
    /// it.
    pub fn node_id(&self) -> &str {
        &self.inner.node
    }

    /// Whether the store was shut down, or its project deleted: it refuses writes.
    pub(crate) fn shut_down(&self) -> bool {
        self.inner.shut_down.load(Ordering::Acquire) || self.deleted()
    }

    /// Whether its project was deleted through this node's organization.
    pub(crate) fn deleted(&self) -> bool {
        self.inner
            .deleted
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(&self.project)
    }

    /// The server's URL, the database and the project, for logs.
    pub(crate) fn location(&self) -> String {
        format!(
            "ClickHouse database {} at {} (project {})",
            self.inner.database, self.inner.url, self.project
        )
    }
}

#[async_trait]
impl Sink for ClickHouseStore {
    fn name(&self) -> &str {
        "clickhouse"
    }

    fn as_span_sink(&self) -> Option<&dyn SpanSink> {
        Some(self)
    }

    fn as_event_sink(&self) -> Option<&dyn EventSink> {
        Some(self)
    }

    /// Writes every span held (and marks its journal rows released), then refuses writes.
    async fn shutdown(&self) -> Result<(), ShutdownError> {
        let written = self.write_held(true).await;
        let written = match written {
            Ok(n) => self.release_journaled().await.map(|()| n),
            Err(e) => Err(e),
        };
        self.inner.shut_down.store(true, Ordering::Release);
        written
            .map(|_| ())
            .map_err(|e| ShutdownError::Failed(Box::new(e)))
    }
}

#[async_trait]
impl SpanSink for ClickHouseStore {
    async fn export_spans(&self, spans: &[SpanRecord]) -> Result<(), ExportError> {
        let mut batch = EncodedSpans::with_capacity(spans.len());
        for span in spans {
            batch.push(span.clone()).map_err(ExportError::permanent)?;
        }
        self.write_spans(batch.rows()).await?;
        agentrace_store::store_evaluations(self, evaluation_results(spans, &[]).results)?;
        Ok(())
    }
}

#[async_trait]
impl EventSink for ClickHouseStore {
    /// Stores the events, then the scores of those that are `gen_ai.evaluation.result`s
    /// (`agentrace_store::store_evaluations`).
    async fn export_events(&self, events: &[Event]) -> Result<(), ExportError> {
        self.write_events(events).await?;
        agentrace_store::store_evaluations(self, evaluation_results(&[], events).results)?;
        Ok(())
    }
}

/// The runtime every store's blocking calls run on: one for the process, started by the first
/// store opened, never dropped (a runtime may not be dropped from async code, and a store's
/// last handle may be).
fn runtime() -> Result<&'static Runtime, std::io::Error> {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    static STARTING: Mutex<()> = Mutex::new(());
    if let Some(runtime) = RUNTIME.get() {
        return Ok(runtime);
    }
    // One thread starts it (a second runtime would have to be dropped, maybe in async code).
    let _starting = STARTING.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(runtime) = RUNTIME.get() {
        return Ok(runtime);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("agentrace-clickhouse")
        .enable_all()
        .build()?;
    Ok(RUNTIME.get_or_init(|| runtime))
}
