// An app traced by Langfuse's JS/TS SDK v4 (@langfuse/tracing with @langfuse/otel's span
// processor on the OpenTelemetry JS SDK), pointed at agentrace by its base URL alone: one
// agent run under propagateAttributes (user, session, tags) with
//   plan           a generation given Anthropic's usage (cache apart from the input)
//   search_flights a tool
//   summarize      a generation given Langfuse's usage parts and its own cost (costDetails)
//   embed-query    an embedding given its input tokens
// No model is called. The last line on stdout is one JSON object: the trace id, the agent,
// the tool, the user, the session and the tags.
//
// Usage: node langfuse_js.mjs --base-url URL --secret-key KEY
import { parseArgs } from 'node:util';

import { LangfuseSpanProcessor } from '@langfuse/otel';
import { getActiveTraceId, propagateAttributes, startActiveObservation, startObservation } from '@langfuse/tracing';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

const { values: args } = parseArgs({
  options: { 'base-url': { type: 'string' }, 'secret-key': { type: 'string' } },
});
if (!args['base-url'] || !args['secret-key']) {
  console.error('--base-url and --secret-key are required');
  process.exit(2);
}

const USER = 'user-lf-js';
const SESSION = 'sess-lf-js';
const TAGS = ['migrated', 'js'];

// The SDK's start times are whole milliseconds, and the test reads the calls in the order
// they started: a tick between two.
const tick = () => new Promise((resolve) => setTimeout(resolve, 3));

const processor = new LangfuseSpanProcessor({
  baseUrl: args['base-url'],
  publicKey: 'pk-lf-migrated',
  secretKey: args['secret-key'],
});
const provider = new NodeTracerProvider({ spanProcessors: [processor] });
provider.register();

const traceId = await startActiveObservation(
  'trip_planner',
  async (agent) =>
    propagateAttributes({ userId: USER, sessionId: SESSION, tags: TAGS }, async () => {
      // The SDK writes an observation's type with its first attributes.
      agent.update({ input: { question: 'What should I pack for Paris?' } });
      startObservation('plan', { model: 'claude-sonnet-4-5', input: [{ role: 'user', content: 'Paris?' }] }, { asType: 'generation' })
        .update({
          output: 'a plan',
          usageDetails: { input_tokens: 50, output_tokens: 30, cache_read_input_tokens: 1000, cache_creation_input_tokens: 200 },
        })
        .end();
      await tick();
      startObservation('search_flights', { input: { city: 'Paris' } }, { asType: 'tool' }).update({ output: { flights: 3 } }).end();
      await tick();
      startObservation('summarize', { model: 'gpt-4o' }, { asType: 'generation' })
        .update({
          usageDetails: { input: 500, input_cached_tokens: 1500, output: 60, output_reasoning_tokens: 20 },
          costDetails: { input: 0.0021, output: 0.0008, total: 0.0029 },
        })
        .end();
      await tick();
      startObservation('embed-query', { model: 'text-embedding-3-small' }, { asType: 'embedding' })
        .update({ usageDetails: { input: 42 } })
        .end();
      return getActiveTraceId();
    }),
  { asType: 'agent' },
);
await provider.forceFlush();
await provider.shutdown();
console.log(JSON.stringify({ trace_id: traceId, agent: 'trip_planner', tool: 'search_flights', user: USER, session: SESSION, tags: TAGS }));
