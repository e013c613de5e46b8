//! Aggregates, whatever the arrival order: random agent trees whose spans repeat the usage
//! reported beneath them (AI SDK `ai.generateText` over its `doGenerate` steps, `invoke_agent`
//! with run totals, an embedding call wrapped in another), sent children first or shuffled and
//! split over requests of random size. Once the server settled, every total — the trace's
//! summary, `/cost` — is the sum of the steps, each call counted once, no phantom call.

use agentrace_store::TraceReader;
use std::time::Duration;

use agentrace_core::{SpanRecord, TokenUsage, TraceId};
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::trace::v1::Span;

use crate::common::*;

const SECOND: u64 = 1_000_000_000;

/// A small deterministic generator (no dependency for a test's dice).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % below.max(1)
    }
}

/// One span of a generated tree, before it is written as OTLP.
struct Node {
    id: u64,
    parent: Option<u64>,
    what: What,
    /// The usage reported beneath it by the steps (what an aggregate repeats).
    below: TokenUsage,
}

#[derive(Clone, Copy, PartialEq)]
enum What {
    /// `invoke_agent` with its run's totals (`totals`) or without.
    Agent {
        totals: bool,
    },
    /// An AI SDK 6 `ai.generateText` with the usage of its steps.
    GenerateText,
    /// A plain step without usage.
    Step,
    /// A chat call with its usage: the step that counts.
    Chat {
        input: u64,
        output: u64,
    },
    /// An embedding call wrapped in another that reports nothing (AI SDK 7).
    EmbeddingWrapper,
    Embedding {
        input: u64,
    },
}

fn usage_attributes(u: &TokenUsage, vercel: bool) -> Vec<KeyValue> {
    let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    if vercel {
        vec![
            int("ai.usage.inputTokens", n(u.input_tokens)),
            int("ai.usage.outputTokens", n(u.output_tokens)),
        ]
    } else {
        vec![
            int("gen_ai.usage.input_tokens", n(u.input_tokens)),
            int("gen_ai.usage.output_tokens", n(u.output_tokens)),
        ]
    }
}

impl Node {
    fn span(&self, trace: u64, t0: u64) -> Span {
        let mut attributes = vec![text("gen_ai.conversation.id", "session-agg")];
        let name = match self.what {
            What::Agent { totals } => {
                attributes.push(text("gen_ai.operation.name", "invoke_agent"));
                attributes.push(text("gen_ai.agent.name", "planner"));
                if totals {
                    attributes.extend(usage_attributes(&self.below, false));
                }
                "invoke_agent planner"
            }
            What::GenerateText => {
                attributes.push(text("ai.operationId", "ai.generateText"));
                attributes.push(text("ai.model.id", "gpt-4o"));
                attributes.extend(usage_attributes(&self.below, true));
                "ai.generateText"
            }
            What::Step => "step",
            What::Chat { input, output } => {
                attributes.push(text("gen_ai.operation.name", "chat"));
                attributes.push(text("gen_ai.provider.name", "openai"));
                attributes.push(text("gen_ai.request.model", "gpt-4o"));
                attributes.extend(usage_attributes(&TokenUsage::new(input, output), false));
                "chat gpt-4o"
            }
            What::EmbeddingWrapper => {
                attributes.push(text("gen_ai.operation.name", "embeddings"));
                attributes.push(text("gen_ai.provider.name", "openai"));
                attributes.push(text("gen_ai.request.model", "text-embedding-3-small"));
                "embeddings text-embedding-3-small"
            }
            What::Embedding { input } => {
                attributes.push(text("gen_ai.operation.name", "embeddings"));
                attributes.push(text("gen_ai.provider.name", "openai"));
                attributes.push(text("gen_ai.request.model", "text-embedding-3-small"));
                attributes.extend(usage_attributes(&TokenUsage::new(input, 0), false));
                "embeddings text-embedding-3-small"
            }
        };
        Span {
            trace_id: trace_id(trace),
            span_id: span_id(self.id),
            parent_span_id: self.parent.map(span_id).unwrap_or_default(),
            name: name.into(),
            start_time_unix_nano: t0 + self.id * SECOND,
            end_time_unix_nano: t0 + (self.id + 1) * SECOND,
            attributes,
            ..Span::default()
        }
    }
}

/// A random tree under an agent; returns it (parents before children) and the ids are
/// consecutive from `first`.
fn tree(rng: &mut Lcg, first: u64) -> Vec<Node> {
    let mut nodes = vec![Node {
        id: first,
        parent: None,
        what: What::Agent {
            totals: rng.next(2) == 0,
        },
        below: TokenUsage::default(),
    }];
    // Parents that may take children: agents, generateText runs, plain steps.
    let mut open = vec![0_usize];
    for _ in 0..(2 + rng.next(10)) {
        let parent = open[rng.next(open.len() as u64) as usize];
        let id = first + nodes.len() as u64;
        let parent_id = Some(nodes[parent].id);
        match rng.next(6) {
            0 => {
                open.push(nodes.len());
                nodes.push(node(id, parent_id, What::GenerateText));
            }
            1 => {
                open.push(nodes.len());
                nodes.push(node(id, parent_id, What::Step));
            }
            2 => {
                open.push(nodes.len());
                nodes.push(node(
                    id,
                    parent_id,
                    What::Agent {
                        totals: rng.next(2) == 0,
                    },
                ));
            }
            3 => {
                nodes.push(node(id, parent_id, What::EmbeddingWrapper));
                nodes.push(node(
                    id + 1,
                    Some(id),
                    What::Embedding {
                        input: 1 + rng.next(50),
                    },
                ));
            }
            _ => nodes.push(node(
                id,
                parent_id,
                What::Chat {
                    input: 100 + rng.next(2_000),
                    output: 1 + rng.next(300),
                },
            )),
        }
    }
    // Each span's `below`: the sum of the counted steps beneath it (children come after their
    // parents, so walking backwards sums children first).
    for i in (0..nodes.len()).rev() {
        let own = match nodes[i].what {
            What::Chat { input, output } => TokenUsage::new(input, output),
            What::Embedding { input } => TokenUsage::new(input, 0),
            _ => TokenUsage::default(),
        };
        let mut carried = own;
        carried += nodes[i].below;
        if let Some(parent) = nodes[i].parent
            && let Some(p) = nodes.iter_mut().find(|n| n.id == parent)
        {
            p.below += carried;
        }
    }
    nodes
}

fn node(id: u64, parent: Option<u64>, what: What) -> Node {
    Node {
        id,
        parent,
        what,
        below: TokenUsage::default(),
    }
}

/// The calls that count, and their usage.
fn steps(nodes: &[Node]) -> (u64, TokenUsage) {
    let mut calls = 0;
    let mut usage = TokenUsage::default();
    for node in nodes {
        match node.what {
            What::Chat { input, output } => usage += TokenUsage::new(input, output),
            What::Embedding { input } => usage += TokenUsage::new(input, 0),
            _ => continue,
        }
        calls += 1;
    }
    (calls, usage)
}

fn stored(t: &TestServer, trace: u64) -> Result<Option<(Vec<SpanRecord>, TokenUsage, u64)>> {
    let bytes: [u8; 16] = trace_id(trace).try_into().unwrap_or_default();
    Ok(t.fresh_store()?
        .trace(TraceId::from_bytes(bytes))?
        .map(|tree| {
            let summary = (tree.summary.usage, tree.summary.unpriced_count);
            let spans = tree.nodes.into_iter().map(|n| n.span).collect();
            (spans, summary.0, summary.1)
        }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn totals_are_the_sum_of_the_steps_in_any_order_and_split() -> Result {
    let mut rng = Lcg(31);
    for order in ["children first", "shuffled"] {
        let t = TestServer::start(|c| c.orphan_grace = Duration::from_millis(400)).await?;
        let t0 = now() - 3_600 * SECOND;
        let traces_n = 8;
        let trees: Vec<Vec<Node>> = (0..traces_n).map(|i| tree(&mut rng, 1 + i * 100)).collect();
        let mut sent: Vec<Span> = trees
            .iter()
            .enumerate()
            .flat_map(|(i, nodes)| nodes.iter().map(move |n| n.span(i as u64 + 1, t0)))
            .collect();
        sent.reverse();
        if order == "shuffled" {
            for i in (1..sent.len()).rev() {
                sent.swap(i, rng.next(i as u64 + 1) as usize);
            }
        }
        while !sent.is_empty() {
            let n = (1 + rng.next(6) as usize).min(sent.len());
            let chunk: Vec<Span> = sent.drain(..n).collect();
            t.export(&traces(chunk)).await?;
        }
        let want: Vec<(u64, TokenUsage)> = trees.iter().map(|nodes| steps(nodes)).collect();
        let settled = eventually(Duration::from_secs(20), || {
            for (i, (_, usage)) in want.iter().enumerate() {
                match stored(&t, i as u64 + 1)? {
                    Some((_, total, 0)) if total == *usage => {}
                    _ => return Ok(false),
                }
            }
            Ok(true)
        })
        .await?;
        for (i, (calls, usage)) in want.iter().enumerate() {
            let (spans, total, unpriced) = stored(&t, i as u64 + 1)?.ok_or("a trace")?;
            assert!(
                settled,
                "{order}: trace {i}: {total:?} ({unpriced} unpriced) against the steps' {usage:?}"
            );
            let priced = spans.iter().filter(|s| s.cost.is_some()).count() as u64;
            assert_eq!(priced, *calls, "{order}: trace {i}: each call billed once");
        }
        let total_calls: u64 = want.iter().map(|(n, _)| n).sum();
        let mut total_usage = TokenUsage::default();
        for (_, u) in &want {
            total_usage += *u;
        }
        let cost = get(&t.app_url("/api/v1/cost?group_by=model"), &[])
            .await?
            .json()?;
        let total = &cost["total"];
        assert_eq!(total["calls"], total_calls, "{order}: {cost}");
        assert_eq!(total["unpriced"], 0, "{order}: no phantom call: {cost}");
        assert_eq!(
            total["usage"]["input_tokens"], total_usage.input_tokens,
            "{order}: {cost}"
        );
        assert_eq!(
            total["usage"]["output_tokens"], total_usage.output_tokens,
            "{order}: {cost}"
        );
    }
    Ok(())
}
