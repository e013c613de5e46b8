//! When dialects mix on one span: current OTel > legacy OTel > OpenInference > `ai.*` >
//! Traceloop (> Langfuse), concept by concept, whatever the order of the attributes.

use agentrace_core::SpanRecord;

use crate::common::{TestResult, int, kv, one, strings};

/// For one concept, its names from the highest rank down, each with a distinct value.
struct Ladder {
    concept: &'static str,
    names: &'static [(&'static str, &'static str)],
    read: fn(&SpanRecord) -> Option<String>,
}

const LADDERS: &[Ladder] = &[
    Ladder {
        concept: "provider",
        names: &[
            ("gen_ai.provider.name", "openai"),
            ("gen_ai.system", "az.ai.openai"),
            ("llm.provider", "groq"),
            ("ai.model.provider", "mistral.chat"),
        ],
        read: |r| r.provider.as_deref().map(str::to_owned),
    },
    Ladder {
        concept: "request model",
        names: &[
            ("gen_ai.request.model", "otel-model"),
            ("llm.request.model_name", "oi-model"),
            ("llm.model_name", "oi-model-fallback"),
            ("ai.model.id", "vercel-model"),
            ("langfuse.observation.model.name", "langfuse-model"),
        ],
        read: |r| r.request_model.as_deref().map(str::to_owned),
    },
    Ladder {
        concept: "session",
        names: &[
            ("gen_ai.conversation.id", "otel"),
            ("session.id", "openinference"),
            ("ai.telemetry.metadata.sessionId", "vercel"),
            ("traceloop.association.properties.session_id", "traceloop"),
            ("langfuse.session.id", "langfuse"),
        ],
        read: |r| r.session_id.as_deref().map(str::to_owned),
    },
    Ladder {
        concept: "user",
        names: &[
            ("enduser.id", "otel"),
            ("user.id", "openinference"),
            ("ai.telemetry.metadata.userId", "vercel"),
            ("traceloop.association.properties.user_id", "traceloop"),
            ("langfuse.user.id", "langfuse"),
        ],
        read: |r| r.user_id.as_deref().map(str::to_owned),
    },
    Ladder {
        concept: "tool",
        names: &[
            ("gen_ai.tool.name", "otel"),
            ("tool.name", "openinference"),
            ("ai.toolCall.name", "vercel"),
        ],
        read: |r| r.tool_name.as_deref().map(str::to_owned),
    },
];

#[test]
fn each_concept_takes_the_highest_ranked_name_present() {
    for ladder in LADDERS {
        // Drop the highest-ranked name one at a time: the next one wins. Both orders.
        for top in 0..ladder.names.len() {
            let present = &ladder.names[top..];
            let expected = match present[0].1 {
                "az.ai.openai" => "azure.ai.openai",
                "mistral.chat" => "mistral_ai",
                other => other,
            };
            for reversed in [false, true] {
                let mut pairs = present.to_vec();
                if reversed {
                    pairs.reverse();
                }
                let record = one(strings(&pairs));
                assert_eq!(
                    (ladder.read)(&record).as_deref(),
                    Some(expected),
                    "{}: {pairs:?}",
                    ladder.concept
                );
            }
        }
    }
}

#[test]
fn tokens_follow_the_same_order() {
    let names = [
        "gen_ai.usage.input_tokens",
        "gen_ai.usage.prompt_tokens",
        "llm.token_count.prompt",
        "ai.usage.inputTokens",
    ];
    for top in 0..names.len() {
        for reversed in [false, true] {
            let mut present: Vec<_> = (top..names.len()).collect();
            if reversed {
                present.reverse();
            }
            let attributes = present
                .iter()
                .map(|&i| kv(names[i], int(100 * (i as i64 + 1))))
                .collect();
            let record = one(attributes);
            assert_eq!(
                record.usage.input_tokens,
                100 * (top as u64 + 1),
                "{:?}",
                &names[top..]
            );
        }
    }
}

#[test]
fn kinds_follow_the_same_order() -> TestResult {
    use agentrace_core::SpanKind;
    let record = one(strings(&[
        ("traceloop.span.kind", "task"),
        ("openinference.span.kind", "TOOL"),
        ("gen_ai.operation.name", "chat"),
        ("ai.operationId", "ai.toolCall"),
    ]));
    assert_eq!(record.kind, SpanKind::Llm);
    let record = one(strings(&[
        ("traceloop.span.kind", "task"),
        ("ai.operationId", "ai.toolCall"),
        ("openinference.span.kind", "AGENT"),
    ]));
    assert_eq!(record.kind, SpanKind::Agent);
    // `ai.*` over Traceloop for the kind, as for every concept.
    for traceloop in [
        ("traceloop.span.kind", "tool"),
        ("llm.request.type", "chat"),
    ] {
        let record = one(strings(&[traceloop, ("ai.operationId", "ai.embed")]));
        assert_eq!(record.kind, SpanKind::Chain, "{traceloop:?}");
    }
    Ok(())
}

#[test]
fn added_attributes_never_replace_raw_ones() {
    use crate::common::{ingest, span};
    let mut raw = span(1, None, "s", 0, 1, strings(&[("otel.kind", "server")]));
    raw.kind = 3; // client
    let decoded = ingest(vec![raw, {
        let mut plain = span(2, None, "s", 0, 1, Vec::new());
        plain.kind = 3;
        plain
    }]);
    let kinds: Vec<_> = decoded
        .records
        .iter()
        .map(|r| r.attributes.get("otel.kind").and_then(|v| v.as_str()))
        .collect();
    assert_eq!(kinds, [Some("server"), Some("client")]);
}
