// An agent instrumented with Microsoft's Agent 365 observability SDK for
// Node.js (@microsoft/agents-a365-observability 1.0.0), used as any agent
// uses it: ObservabilityManager.start with a token resolver, then the SDK's
// scopes. It sends where A365_OBSERVABILITY_DOMAIN_OVERRIDE points (the
// agent365 receiver, or a365sink), exactly as the SDK would send to Agent
// 365.
//
// Every input is fixed (ids, names, times, trace ids through parent span
// references), so that two runs send the same spans; only span ids, which
// the SDK draws at random, differ. It ends with the SDK's shutdown, which
// flushes its batch processor, and prints one JSON line naming the spans it
// created that the SDK exports, those the SDK filters out, and the error of
// the SDK's final export, if it gave up.
//
// Environment: A365_OBSERVABILITY_DOMAIN_OVERRIDE, ENABLE_A365_OBSERVABILITY_EXPORTER=true,
// SDKAGENT_TOKEN (what the token resolver returns).
'use strict';

const api = require('@opentelemetry/api');
const {
  ObservabilityManager,
  InvokeAgentScope,
  InferenceScope,
  ExecuteToolScope,
  OutputScope,
  InferenceOperationType,
} = require('@microsoft/agents-a365-observability');

const token = process.env.SDKAGENT_TOKEN;
if (!token) {
  console.error('sdkagent: SDKAGENT_TOKEN is not set');
  process.exit(2);
}

// Times as OpenTelemetry HrTime [seconds, nanoseconds]; the SDK turns them
// into nanoseconds in floating point.
const base = 1764806400; // 2025-12-04T00:00:00Z
const at = (ms, ns = 0) => [base + Math.floor(ms / 1000), (ms % 1000) * 1e6 + ns];

const contoso = {
  tenantId: 'e3064512-cc6d-4703-be71-a2ecaecaa98a',
  agentId: 'aaaaaaaa-0000-4000-8000-000000000001',
  agentName: 'Contoso Travel Agent',
  agentDescription: 'Books trips — and explains them ✈️',
  agentBlueprintId: 'bbbbbbbb-0000-4000-8000-000000000001',
  agentAUID: 'cccccccc-0000-4000-8000-000000000001',
  agentEmail: 'travel-agent@contoso.example',
  providerName: 'azure.ai.openai',
};
const fabrikam = {
  tenantId: 'F0E1D2C3-B4A5-4697-8899-AABBCCDDEEFF',
  agentId: 'aaaaaaaa-0000-4000-8000-000000000002',
  agentName: 'Fabrikam Support Agent',
  agentBlueprintId: 'bbbbbbbb-0000-4000-8000-000000000002',
  agentAUID: 'cccccccc-0000-4000-8000-000000000002',
  agentEmail: 'support-agent@fabrikam.example',
};
const user = {
  userId: 'dddddddd-0000-4000-8000-000000000001',
  userEmail: 'mona@contoso.example',
  userName: 'Mona Kane',
  callerClientIp: '203.0.113.7',
};
const request = {
  conversationId: 'conv-0001',
  sessionId: 'session-0001',
  channel: { name: 'msteams', description: 'https://teams.example/chat/1' },
  content: 'Book me a flight to Zürich next Tuesday, window seat 🙏',
};

const exported = [];
const filtered = [];

function end(scope, name, list = exported) {
  scope.dispose();
  list.push(name);
}

async function contosoTurn() {
  const invoke = InvokeAgentScope.start(
    request,
    { endpoint: { host: 'travel.contoso.example', port: 8443 } },
    contoso,
    { userDetails: user },
    {
      // The turn continues a trace the agent received (traceparent).
      parentContext: { traceId: '4bd8f606688c3f3347d69c1b6539c957', spanId: '959a854f18fa2c22' },
      startTime: at(0, 403),
      endTime: at(15355, 954),
      spanKind: api.SpanKind.SERVER,
    },
  );
  await invoke.withActiveSpanAsync(async () => {
    const span = api.trace.getActiveSpan();
    span.addEvent('turn.checkpoint', { 'e2e.step': 1, 'e2e.note': 'plan ready' }, at(10, 7));
    span.recordException(Object.assign(new Error('seat map unavailable'), { name: 'SeatMapError' }), at(20, 11));
  });
  invoke.recordAttributes({
    'gen_ai.request.temperature': 0.7,
    'e2e.ratio': 0.1 + 0.2,
    'e2e.big': 9007199254740991,
    'e2e.flag': true,
    'e2e.tags': ['flights', 'zürich'],
    'e2e.counts': [1, 2, 3],
    'e2e.not_a_number': NaN,
  });
  const parent = invoke.getSpanContext();

  const chat = InferenceScope.start(request, {
    operationName: 'chat',
    model: 'gpt-4o',
    providerName: 'azure.ai.openai',
    inputTokens: 33,
    outputTokens: 120,
    finishReasons: ['stop'],
    thoughtProcess: 'The user wants a flight; search, then confirm.',
    endpoint: { host: 'contoso.openai.azure.com', port: 443 },
  }, contoso, user, { parentContext: parent, startTime: at(100, 1), endTime: at(2100, 999999) });
  chat.recordInputMessages(['Book me a flight to Zürich', 'window seat']);
  chat.recordOutputMessages({
    version: '0.1.0',
    messages: [{ role: 'assistant', parts: [{ type: 'tool_call', name: 'search_flights', id: 'call_1', arguments: { to: 'ZRH' } }], finish_reason: 'tool_call' }],
  });
  end(chat, 'chat gpt-4o');

  const tool = ExecuteToolScope.start(request, {
    toolName: 'search_flights',
    arguments: { to: 'ZRH', date: '2025-12-09', seat: 'window' },
    toolCallId: 'call_1',
    description: 'Searches flights',
    toolType: 'function',
    endpoint: { host: 'flights.contoso.example', port: 443 },
  }, contoso, user, { parentContext: parent, startTime: at(2200, 5), endTime: at(4200, 6) });
  tool.recordResponse({ flights: [{ no: 'LX 17', dep: '07:05' }], note: 'Zürich <ZRH> & "more"' });
  end(tool, 'execute_tool search_flights');

  // A prompt larger than the SDK's span limit (250 KiB): the SDK trims it
  // before sending, whichever way the spans go.
  const big = InferenceScope.start(request, {
    operationName: InferenceOperationType.CHAT,
    model: 'gpt-4o-mini',
    providerName: 'azure.ai.openai',
    inputTokens: 90000,
    outputTokens: 12,
  }, contoso, user, { parentContext: parent, startTime: at(4300, 0), endTime: at(9300, 0) });
  big.recordInputMessages({
    version: '0.1.0',
    messages: [
      { role: 'system', parts: [{ type: 'text', content: 'You summarise travel policies.' }] },
      { role: 'user', parts: [{ type: 'text', content: 'Policy: ' + 'Reisen über 500 km — erste Klasse? '.repeat(9000) }] },
    ],
  });
  big.recordOutputMessages(['Economy, unless the flight is longer than 6 hours.']);
  end(big, 'Chat gpt-4o-mini');

  const output = OutputScope.start(request, { messages: ['Booked LX 17, seat 3A. Bon voyage!'] }, contoso, user,
    { parentContext: parent, startTime: at(15000, 0), endTime: at(15300, 0) });
  end(output, 'output_messages Contoso Travel Agent');

  invoke.recordResponse('Booked LX 17, seat 3A. Bon voyage!');
  end(invoke, 'invoke_agent Contoso Travel Agent');
  return parent;
}

function fabrikamTurn(linkTo) {
  const invoke = InvokeAgentScope.start(
    { conversationId: 'conv-0002', channel: { name: 'webchat' }, content: 'Where is order 4711?' },
    {},
    fabrikam,
    { userDetails: { userId: 'dddddddd-0000-4000-8000-000000000002', userEmail: 'sam@fabrikam.example' } },
    {
      parentContext: { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331' },
      startTime: at(20000, 0),
      endTime: at(26000, 0),
      spanLinks: [{ context: linkTo, attributes: { 'link.reason': 'handoff' } }],
    },
  );
  const parent = invoke.getSpanContext();

  const tool = ExecuteToolScope.start({ conversationId: 'conv-0002' }, {
    toolName: 'lookup_order',
    arguments: 'order 4711',
    toolCallId: 'call_9',
    toolType: 'extension',
  }, fabrikam, undefined, { parentContext: parent, startTime: at(20100, 0), endTime: at(25100, 0) });
  tool.recordCancellation('order service timed out');
  end(tool, 'execute_tool lookup_order');

  const completion = InferenceScope.start({ conversationId: 'conv-0002' }, {
    operationName: InferenceOperationType.TEXT_COMPLETION,
    model: 'phi-4',
    providerName: 'local',
  }, fabrikam, undefined, { parentContext: parent, startTime: at(25200, 0), endTime: at(25900, 0) });
  completion.recordOutputMessages(['Your order is delayed.']);
  end(completion, 'TextCompletion phi-4');

  invoke.recordResponse('Your order is delayed.');
  end(invoke, 'invoke_agent Fabrikam Support Agent');
}

// Spans the SDK's exporter does not send.
function filteredSpans() {
  const tracer = api.trace.getTracer('e2e-agent');
  // No gen_ai.operation.name: not a gen_ai span.
  const http = tracer.startSpan('GET /flights', { startTime: at(30000, 0) });
  http.end(at(30100, 0));
  filtered.push('GET /flights');
  // An operation outside the SDK's allow-list.
  const embed = tracer.startSpan('embeddings text-embedding-3-small', {
    startTime: at(30200, 0),
    attributes: {
      'gen_ai.operation.name': 'embeddings',
      'microsoft.tenant.id': contoso.tenantId,
      'gen_ai.agent.id': contoso.agentId,
    },
  });
  embed.end(at(30300, 0));
  filtered.push('embeddings text-embedding-3-small');
  // No agent id: the SDK cannot tell whom the span belongs to.
  const anonymous = InferenceScope.start({ conversationId: 'conv-0003' }, {
    operationName: 'chat', model: 'gpt-4o-anonymous',
  }, { ...contoso, agentId: '' }, undefined, { startTime: at(30400, 0), endTime: at(30500, 0) });
  end(anonymous, 'chat gpt-4o-anonymous', filtered);
}

async function main() {
  ObservabilityManager.start({
    serviceName: 'e2e-sdk-agent',
    serviceVersion: '1.0.0',
    tokenResolver: (agentId, tenantId) => token,
  });
  const contosoTurnContext = await contosoTurn();
  fabrikamTurn(contosoTurnContext);
  filteredSpans();
  // Flushes the batch span processor: the export, with the SDK's retries,
  // ends before shutdown returns. It fails when the SDK gave up on spans,
  // which are then lost: reported, not thrown.
  let exportError = null;
  try {
    await ObservabilityManager.shutdown();
  } catch (err) {
    exportError = String(err && err.message ? err.message : err);
  }
  console.log(JSON.stringify({ exported, filtered, exportError }));
}

main().catch((err) => {
  console.error('sdkagent:', err);
  process.exit(1);
});
