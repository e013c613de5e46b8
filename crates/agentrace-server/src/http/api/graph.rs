//! `/traces/{trace_id}/graph`: a trace's agents, the tools and models they called, and the
//! agents they delegated to, as a graph.
//!
//! Every LLM, embedding and tool call belongs to its nearest agent: the closest enclosing
//! span of kind `agent` (spans of other kinds — chains, tasks, workflows — are looked
//! through). An agent span inside another agent's is a delegation. Calls outside every agent
//! belong to the trace's root (a node of kind `root`), so a trace without agents still shows
//! what it called.
//!
//! A tool on an MCP server (a tool span naming its server, `agentrace.mcp.server`) is reached
//! through its server: a node of kind `mcp` between the caller and the tool (`calls_mcp`, then
//! `calls_tool`), so that two servers' `search` are two tools. The client side of the other MCP
//! operations (`resources/read`, `prompts/get`, …) is a call of the server alone; the server's
//! side of a call is not a call of its own (it is the same call, seen from the server).
//!
//! - **aggregated** (default): one node per agent name, tool name and model; an edge per
//!   caller and callee with the number of calls; a loop (A delegates to B, B back to A) is a
//!   cycle.
//! - **expanded**: one node per call, each edge numbered (`order`) by the call's start among
//!   its caller's calls.
//!
//! Totals on nodes and edges are over the calls' subtrees: a delegation edge carries what the
//! delegated run cost, its own calls included; an agent's node what its runs cost.

use std::collections::HashMap;

use agentrace_core::semconv::agentrace;
use agentrace_core::{SpanId, SpanKind, SpanRecord};
use agentrace_store::{SubtreeTotals, TraceNode, TraceTree};
use serde::Serialize;

/// Which graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum Mode {
    Aggregated,
    Expanded,
}

impl std::str::FromStr for Mode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "aggregated" => Ok(Self::Aggregated),
            "expanded" => Ok(Self::Expanded),
            other => Err(format!("{other:?}: expected `aggregated` or `expanded`")),
        }
    }
}

/// What a node stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum NodeKind {
    /// The trace's root, when calls happen outside every agent.
    Root,
    Agent,
    Tool,
    Model,
    /// An MCP server.
    Mcp,
}

/// A node: an agent, tool or model (aggregated), or one call (expanded).
#[derive(Debug, Serialize)]
pub(super) struct GraphNode {
    id: String,
    kind: NodeKind,
    label: String,
    /// Calls (spans) this node stands for.
    calls: u64,
    /// Failed calls.
    errors: u64,
    /// Summed durations of the calls.
    duration_ns: u64,
    /// Totals over the calls' subtrees.
    totals: SubtreeTotals,
    /// The spans, in start order (at most [`MAX_SPAN_IDS`]).
    span_ids: Vec<SpanId>,
}

/// An edge: a caller's calls of a callee.
#[derive(Debug, Serialize)]
pub(super) struct GraphEdge {
    from: String,
    to: String,
    /// `delegates` (agent to agent), `calls_tool`, `calls_model`, `calls_mcp`.
    kind: &'static str,
    calls: u64,
    errors: u64,
    totals: SubtreeTotals,
    /// Expanded mode: the call's place among its caller's calls, from 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    order: Option<u64>,
}

/// `GET /traces/{trace_id}/graph` answer.
#[derive(Debug, Serialize)]
pub(super) struct Graph {
    mode: Mode,
    /// Agent spans in the trace.
    agents: u64,
    nodes: Vec<GraphNode>,
    edges: Vec<GraphEdge>,
}

/// Span ids kept per aggregated node.
const MAX_SPAN_IDS: usize = 100;

fn node_kind(span: &SpanRecord) -> Option<NodeKind> {
    match span.kind {
        SpanKind::Agent => Some(NodeKind::Agent),
        SpanKind::Tool => Some(NodeKind::Tool),
        SpanKind::Llm | SpanKind::Embedding => Some(NodeKind::Model),
        SpanKind::Mcp if text(span, agentrace::MCP_SIDE) == Some("client") => Some(NodeKind::Mcp),
        _ => None,
    }
}

fn text<'a>(span: &'a SpanRecord, key: &str) -> Option<&'a str> {
    span.attributes.get(key).and_then(|v| v.as_str())
}

/// The MCP server a tool call or MCP operation went to.
fn mcp_server(span: &SpanRecord) -> Option<&str> {
    text(span, agentrace::MCP_SERVER)
}

/// The name a node of `kind` shows for `node`'s span.
fn label(node: &TraceNode, kind: NodeKind) -> String {
    let s = &node.span;
    let named = match kind {
        NodeKind::Agent => s
            .agent_name
            .as_deref()
            .map(str::to_owned)
            .or_else(|| s.name.strip_prefix("invoke_agent ").map(str::to_owned)),
        NodeKind::Tool => s
            .tool_name
            .as_deref()
            .map(str::to_owned)
            .or_else(|| s.name.strip_prefix("execute_tool ").map(str::to_owned)),
        NodeKind::Model => s.model().map(|m| match s.provider.as_deref() {
            Some(p) => format!("{p}/{m}"),
            None => m.to_owned(),
        }),
        NodeKind::Mcp => mcp_server(s).map(str::to_owned),
        NodeKind::Root => None,
    };
    named.unwrap_or_else(|| s.name.to_string())
}

fn edge_kind(to: NodeKind) -> &'static str {
    match to {
        NodeKind::Agent | NodeKind::Root => "delegates",
        NodeKind::Tool => "calls_tool",
        NodeKind::Model => "calls_model",
        NodeKind::Mcp => "calls_mcp",
    }
}

/// Builds the graph of `tree` (see the module docs).
pub(super) fn build(tree: &TraceTree, mode: Mode) -> Graph {
    let nodes = &tree.nodes;
    // The caller of each node: the nearest agent among its ancestors (as a node index), or
    // `None` for the root. Nodes are depth first: a parent's caller is known before its children.
    let mut caller: Vec<Option<usize>> = vec![None; nodes.len()];
    for (i, n) in nodes.iter().enumerate() {
        if let Some(p) = n.parent {
            caller[i] = if nodes[p].span.kind == SpanKind::Agent {
                Some(p)
            } else {
                caller[p]
            };
        }
    }
    let mut graph = Graph {
        mode,
        agents: nodes
            .iter()
            .filter(|n| n.span.kind == SpanKind::Agent)
            .count() as u64,
        nodes: Vec::new(),
        edges: Vec::new(),
    };
    let mut node_at: HashMap<String, usize> = HashMap::new();
    let mut edge_at: HashMap<(String, String), usize> = HashMap::new();
    let mut calls_of: HashMap<Option<usize>, u64> = HashMap::new();
    let root_id = "root".to_owned();
    for (i, n) in nodes.iter().enumerate() {
        let Some(kind) = node_kind(&n.span) else {
            continue;
        };
        let label = label(n, kind);
        let id_of = |index: usize, kind: NodeKind, label: &str| match mode {
            Mode::Aggregated => format!("{}:{label}", kind_name(kind)),
            Mode::Expanded => nodes[index].span.span_id.to_string(),
        };
        // A server is one node in either mode; a tool is its server's.
        let server = mcp_server(&n.span).filter(|_| kind == NodeKind::Tool);
        let id = match (kind, server) {
            (NodeKind::Mcp, _) => format!("mcp:{label}"),
            (_, Some(server)) if mode == Mode::Aggregated => format!("tool:{server}/{label}"),
            _ => id_of(i, kind, &label),
        };
        let from = match caller[i] {
            Some(c) => id_of(c, NodeKind::Agent, &self::label(&nodes[c], NodeKind::Agent)),
            None if kind == NodeKind::Agent => {
                // A top-level agent: a node, no caller.
                add_call(&mut graph.nodes, &mut node_at, &id, kind, &label, n);
                continue;
            }
            None => {
                if !node_at.contains_key(&root_id) {
                    node_at.insert(root_id.clone(), graph.nodes.len());
                    graph.nodes.push(GraphNode {
                        id: root_id.clone(),
                        kind: NodeKind::Root,
                        label: tree.summary.root_name.clone(),
                        calls: 0,
                        errors: 0,
                        duration_ns: 0,
                        totals: SubtreeTotals::default(),
                        span_ids: vec![tree.summary.root_span_id],
                    });
                }
                root_id.clone()
            }
        };
        add_call(&mut graph.nodes, &mut node_at, &id, kind, &label, n);
        let from = match server {
            Some(server) => {
                let via = format!("mcp:{server}");
                add_call(
                    &mut graph.nodes,
                    &mut node_at,
                    &via,
                    NodeKind::Mcp,
                    server,
                    n,
                );
                count_edge(
                    &mut graph.edges,
                    &mut edge_at,
                    (from, via.clone()),
                    NodeKind::Mcp,
                    None,
                    n,
                );
                via
            }
            None => from,
        };
        let order = match mode {
            Mode::Aggregated => None,
            Mode::Expanded => {
                let count = calls_of.entry(caller[i]).or_default();
                *count += 1;
                Some(*count)
            }
        };
        count_edge(&mut graph.edges, &mut edge_at, (from, id), kind, order, n);
    }
    graph
}

/// Counts span `n` on the edge `from → to` (to a node of kind `to_kind`), creating it first.
fn count_edge(
    edges: &mut Vec<GraphEdge>,
    edge_at: &mut HashMap<(String, String), usize>,
    (from, to): (String, String),
    to_kind: NodeKind,
    order: Option<u64>,
    n: &TraceNode,
) {
    let at = *edge_at
        .entry((from.clone(), to.clone()))
        .or_insert_with(|| {
            edges.push(GraphEdge {
                from,
                to,
                kind: edge_kind(to_kind),
                calls: 0,
                errors: 0,
                totals: SubtreeTotals::default(),
                order,
            });
            edges.len() - 1
        });
    let edge = &mut edges[at];
    edge.calls += 1;
    edge.errors += u64::from(n.span.is_error());
    edge.totals.add(&n.subtree);
}

fn kind_name(kind: NodeKind) -> &'static str {
    match kind {
        NodeKind::Root => "root",
        NodeKind::Agent => "agent",
        NodeKind::Tool => "tool",
        NodeKind::Model => "model",
        NodeKind::Mcp => "mcp",
    }
}

/// Counts span `n` on the node `id`, creating it first.
fn add_call(
    nodes: &mut Vec<GraphNode>,
    node_at: &mut HashMap<String, usize>,
    id: &str,
    kind: NodeKind,
    label: &str,
    n: &TraceNode,
) {
    let at = *node_at.entry(id.to_owned()).or_insert_with(|| {
        nodes.push(GraphNode {
            id: id.to_owned(),
            kind,
            label: label.to_owned(),
            calls: 0,
            errors: 0,
            duration_ns: 0,
            totals: SubtreeTotals::default(),
            span_ids: Vec::new(),
        });
        nodes.len() - 1
    });
    let node = &mut nodes[at];
    node.calls += 1;
    node.errors += u64::from(n.span.is_error());
    node.duration_ns = node.duration_ns.saturating_add(n.span.duration_ns());
    node.totals.add(&n.subtree);
    if node.span_ids.len() < MAX_SPAN_IDS {
        node.span_ids.push(n.span.span_id);
    }
}
