use std::time::Duration;

use super::*;

fn parsed(text: &str) -> Query {
    match Query::parse(text) {
        Ok(q) => q,
        Err(e) => panic!("{text:?}: {}", e.pointer(text)),
    }
}

fn error(text: &str) -> QueryError {
    match Query::parse(text) {
        Ok(q) => panic!("{text:?} read as {q:?}"),
        Err(e) => e,
    }
}

#[test]
fn each_kind_of_term_reads_and_writes_back_the_same() {
    for text in [
        "",
        "timeout",
        "\"rate limit exceeded\"",
        "kind:llm",
        "model:gpt-4o*",
        "status:error -tool:web_search",
        "cost:>0.05 duration:>=2s input_tokens:<=1200",
        "score.helpfulness:<0.5",
        "attr.customer.id:acme",
        "attr.retries:>3",
        "has:attr.customer.id",
        "agent:planner OR agent:writer",
        "(agent:planner OR agent:writer) status:error",
        "-(kind:tool OR kind:llm)",
        "--kind:llm",
        "name:\"chat gpt-4o\"",
        "name:\"chat g\"*",
        "\"say \\\"hi\\\"\"",
        "error:timeout",
    ] {
        let q = parsed(text);
        assert_eq!(q.to_string(), text, "{q:?}");
        assert_eq!(parsed(&q.to_string()), q, "{text:?} reads back");
    }
}

#[test]
fn operators_bind_as_documented() {
    let q = parsed("a b OR c");
    let Expr::Or(any) = &q.expr else {
        panic!("{q:?}")
    };
    assert!(
        matches!(&any[0], Expr::And(all) if all.len() == 2),
        "AND binds tighter"
    );
    let same = |a: &str, b: &str| assert_eq!(parsed(a).to_string(), parsed(b).to_string());
    same("a AND b", "a b");
    same("NOT kind:llm", "-kind:llm");
    same("  kind:llm   ", "kind:llm");
    same("((kind:llm))", "kind:llm");
    assert!(parsed("").is_all());
    // Quoted, an operator or a `*` is plain text.
    assert_eq!(
        parsed("\"OR\"").expr,
        Expr::Term(Term::Text("OR".into()), 0..4)
    );
    assert_eq!(
        parsed("model:\"gpt*\"").terms()[0].0,
        &Term::Field(Field::Model, Comparison::Eq(Value::Text("gpt*".into())))
    );
}

#[test]
fn values_are_read_for_their_field() {
    let term = |text: &str| parsed(text).terms()[0].0.clone();
    assert_eq!(
        term("cost:>$0.05"),
        Term::Field(Field::Cost, Comparison::Gt(Value::Number(0.05)))
    );
    assert_eq!(
        term("duration:<150ms"),
        Term::Field(
            Field::Duration,
            Comparison::Lt(Value::Duration(Duration::from_millis(150)))
        )
    );
    assert_eq!(
        term("kind:LLM"),
        Term::Field(Field::Kind, Comparison::Eq(Value::Text("llm".into())))
    );
    assert_eq!(
        term("input_tokens:1_200"),
        Term::Field(Field::InputTokens, Comparison::Eq(Value::Number(1200.0)))
    );
    assert_eq!(
        term("attr.tier:gold"),
        Term::Attribute("tier".into(), Comparison::Eq(Value::Text("gold".into())))
    );
    assert_eq!(
        term("score.faithful:>=0.8"),
        Term::Field(
            Field::Score("faithful".into()),
            Comparison::Ge(Value::Number(0.8))
        )
    );
}

#[test]
fn errors_say_what_is_wrong_and_point_at_it() {
    for (text, says, at) in [
        (
            "kind:lm",
            "`lm` is not a kind: write one of agent, llm",
            5..7,
        ),
        (
            "modle:gpt-4o",
            "`modle` is not a field: write one of kind",
            0..5,
        ),
        ("status:failed", "`failed` is not a status", 7..13),
        (
            "cost:>cheap",
            "`cost` compares numbers: `cheap` is not one",
            5..11,
        ),
        ("duration:>soon", "`duration` compares durations", 9..14),
        ("model:>gpt", "`model` is text", 6..10),
        ("kind:", "`kind` needs a value after `:`", 5..5),
        ("\"open phrase", "this quote is not closed", 0..12),
        ("(kind:llm", "this `(` is not closed", 0..1),
        ("kind:llm)", "this `)` closes no `(`", 8..9),
        ("()", "these parentheses hold nothing", 0..1),
        ("a OR", "`OR` needs a term on each side", 2..4),
        ("OR a", "`OR` needs a term on each side", 0..2),
        ("AND a", "`AND` needs a term on each side", 0..3),
        ("a - b", "`-` negates the term written right after it", 2..3),
        ("NOT", "`NOT` needs a term after it", 0..3),
        ("has:model", "`has:` takes an attribute", 4..9),
        ("attr.:x", "`attr.` names an attribute", 0..5),
        ("model:*", "`*` ends a prefix", 6..7),
        ("foo\"bar\"", "a quote opens a phrase", 3..4),
    ] {
        let e = error(text);
        assert!(e.message.contains(says), "{text:?}: {e}");
        assert_eq!(e.at, at, "{text:?}: {e}");
        assert_eq!(e.token, text[at.clone()], "{text:?}");
    }
}

#[test]
fn the_pointer_underlines_the_token() {
    let text = "kind:llm modle:x";
    let e = error(text);
    assert_eq!(
        e.pointer(text),
        format!("kind:llm modle:x\n         ^^^^^\n{}", e.message)
    );
    // Characters, not bytes, before the token.
    let text = "\"é\" kind:lm";
    assert!(error(text).pointer(text).contains("\n         ^^\n"));
}

#[test]
fn limits_hold_and_no_input_panics() {
    let long = "a ".repeat(MAX_LEN);
    assert!(error(&long).message.contains("bytes at most"));
    let many = "a ".repeat(MAX_TERMS + 1);
    assert!(error(&many).message.contains("terms at most"));
    let deep = format!(
        "{}a{}",
        "(".repeat(MAX_DEPTH + 2),
        ")".repeat(MAX_DEPTH + 2)
    );
    assert!(error(&deep).message.contains("deep at most"));
    let negated = format!("{}a", "-".repeat(MAX_DEPTH + 2));
    assert!(error(&negated).message.contains("deep at most"));
    // Every prefix of a tricky query, and bytes around every character class: an answer,
    // never a panic.
    let tricky = "(kind:llm OR -\"a \\\" b\") attr.x:>3 has:attr.é cost:<=$1 é:\"";
    for end in (0..=tricky.len()).filter(|i| tricky.is_char_boundary(*i)) {
        let _ = Query::parse(&tricky[..end]);
    }
    for c in [
        '(', ')', '"', '\\', ':', '-', '*', '>', '<', '=', '$', 'é', ' ',
    ] {
        for n in 1..4 {
            let _ = Query::parse(&c.to_string().repeat(n));
        }
    }
}

mod in_memory {
    use super::*;
    use crate::{
        AttributeValue, Cost, Resource, SpanKind, SpanRecord, SpanStatus, TokenUsage, Usd,
    };

    fn span() -> SpanRecord {
        let mut s = SpanRecord::new(
            crate::TraceId::from_bytes([1; 16]),
            crate::SpanId::from_bytes([2; 8]),
            "chat gpt-4o",
            1_000_000_000,
            3_500_000_000,
            std::sync::Arc::new(Resource::new("checkout")),
        );
        s.kind = SpanKind::Llm;
        s.response_model = Some("gpt-4o-2024-08-06".into());
        s.agent_name = Some("planner".into());
        s.usage = TokenUsage {
            input_tokens: 1_200,
            output_tokens: 80,
            ..TokenUsage::default()
        };
        s.cost = Some(Cost::from_parts(
            Usd::from_dollars(0.03),
            Usd::ZERO,
            Usd::ZERO,
            Usd::from_dollars(0.04),
        ));
        s.status = SpanStatus::error("Rate limit exceeded: retry later");
        s.attributes.insert(
            "gen_ai.input.messages",
            AttributeValue::from(r#"[{"role":"user","parts":[{"type":"text","content":"Which agents need TRACING?"}]}]"#),
        );
        s.attributes
            .insert("customer.id", AttributeValue::from("acme"));
        s.attributes.insert("retries", AttributeValue::from(4_i64));
        s
    }

    fn judged(text: &str) -> bool {
        parsed(text).matches(&span())
    }

    #[test]
    fn a_span_is_judged_as_the_query_says() {
        for (text, expected) in [
            ("", true),
            ("tracing", true),
            ("\"which agents\"", true),
            ("\"rate limit\"", true),
            ("checkout", false),
            ("nowhere", false),
            ("kind:llm", true),
            ("kind:tool", false),
            ("model:gpt-4o*", true),
            ("model:gpt-4o", false),
            ("agent:PLANNER", true),
            ("status:error", true),
            ("error:\"rate limit\"", true),
            ("duration:>2s", true),
            ("duration:>=3s", false),
            ("cost:>0.05", true),
            ("cost:<$0.05", false),
            ("input_tokens:1200 output_tokens:<100", true),
            ("attr.customer.id:acme", true),
            ("attr.retries:>3", true),
            ("attr.retries:>4", false),
            ("has:attr.customer.id -has:attr.tenant", true),
            ("kind:tool OR agent:planner", true),
            ("-(kind:llm status:error)", false),
        ] {
            assert_eq!(judged(text), expected, "{text:?}");
        }
    }

    #[test]
    fn a_score_is_refused_where_spans_are_judged_as_they_arrive() {
        let text = "kind:llm score.helpful:<0.5";
        let e = parsed(text).check_in_memory(text).expect_err("refused");
        assert_eq!(e.at, 9..27);
        assert!(e.message.contains("before any score is given"), "{e}");
        assert!(parsed("kind:llm").check_in_memory("kind:llm").is_ok());
    }
}
