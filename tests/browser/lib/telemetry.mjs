// Telemetry sent the way an agent sends it: spans through the OpenTelemetry JS SDK's OTLP
// exporter (HTTP/protobuf), logs as OTLP/HTTP JSON. Agent runs in the OTel GenAI conventions,
// with content captured.

import { context, trace, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';

const MS = 1;

/** A tracer provider exporting to `otlpHttp`; call `shutdown()` when done. */
export function provider(otlpHttp, service, headers = {}) {
  const exporter = new OTLPTraceExporter({ url: `${otlpHttp}/v1/traces`, headers });
  return new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': service }),
    spanProcessors: [new SimpleSpanProcessor({ exporter })],
  });
}

const messages = (role, text) => JSON.stringify([{ role, parts: [{ type: 'text', content: text }] }]);

/**
 * One agent run: `planner` asks a model, calls `web_search`, delegates to `researcher` (a
 * model call and a failing `fetch_url`), then answers. Starts `startMs` (epoch ms). Returns the
 * run's trace id and what it sent.
 */
export async function sendRun(tracerProvider, { session, user, question, answer, startMs, rootName = 'invoke_agent planner', model = 'gpt-4o' }) {
  const tracer = tracerProvider.getTracer('agentrace-browser-tests', '1.0.0');
  const who = { 'gen_ai.conversation.id': session, 'user.id': user };
  let t = startMs;
  const span = (name, attributes, parent, kind = SpanKind.INTERNAL) =>
    tracer.startSpan(name, { kind, attributes: { ...who, ...attributes }, startTime: t }, parent ? trace.setSpan(context.active(), parent) : undefined);
  const root = span(rootName, { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'planner' });
  const chat = (parent, agent, input, output, inTokens, outTokens) => {
    const s = span(
      `chat ${model}`,
      {
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': 'openai',
        'gen_ai.request.model': model,
        'gen_ai.response.model': model,
        'gen_ai.agent.name': agent,
        'gen_ai.usage.input_tokens': inTokens,
        'gen_ai.usage.output_tokens': outTokens,
        'gen_ai.input.messages': messages('user', input),
        'gen_ai.output.messages': messages('assistant', output),
      },
      parent,
      SpanKind.CLIENT,
    );
    t += 400 * MS;
    s.end(t);
  };
  const tool = (parent, agent, name, failure) => {
    const s = span(`execute_tool ${name}`, { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': name, 'gen_ai.agent.name': agent, 'gen_ai.tool.call.arguments': '{"q": "agents"}' }, parent);
    t += 150 * MS;
    if (failure) {
      s.setAttribute('error.type', 'TimeoutError');
      s.setStatus({ code: SpanStatusCode.ERROR, message: failure });
    } else {
      s.setAttribute('gen_ai.tool.call.result', '3 results');
    }
    s.end(t);
  };
  t += 5;
  chat(root, 'planner', question, 'Let me search first.', 1200, 80);
  tool(root, 'planner', 'web_search');
  const researcher = span('invoke_agent researcher', { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'researcher' }, root);
  t += 5;
  chat(researcher, 'researcher', 'Read the top result.', 'It says agents need tracing.', 900, 60);
  tool(researcher, 'researcher', 'fetch_url', 'timeout after 30s');
  t += 5;
  researcher.end(t);
  chat(root, 'planner', question, answer, 2100, 150);
  t += 5;
  root.end(t);
  await tracerProvider.forceFlush();
  return { traceId: root.spanContext().traceId, rootSpanId: root.spanContext().spanId };
}

/** OTLP/HTTP JSON log records (events) of a trace. */
export async function sendEvents(otlpHttp, { traceId, spanId, session, service, messages: texts, timeMs, headers = {} }) {
  const body = {
    resourceLogs: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
        scopeLogs: [
          {
            scope: { name: 'agentrace-browser-tests' },
            logRecords: texts.map(([level, number, text], i) => ({
              timeUnixNano: String((timeMs + i) * 1e6),
              severityNumber: number,
              severityText: level,
              body: { stringValue: text },
              traceId,
              spanId,
              attributes: [
                { key: 'event.name', value: { stringValue: 'tool.result' } },
                { key: 'gen_ai.conversation.id', value: { stringValue: session } },
              ],
            })),
          },
        ],
      },
    ],
  };
  const response = await fetch(`${otlpHttp}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`logs: ${response.status} ${await response.text()}`);
}
