package agent365exporter

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/agent365-otel/agent365exporter/internal/metadata"
)

func TestExportGroupsByTenantAndAgent(t *testing.T) {
	svc := newFakeService(t)
	h := newHarness(t, svc.URL, nil)

	// Interleaved identities in one resource and scope: the NeMo plugin
	// sent such batches under the first span's identity.
	td := newTraces().
		span("invoke_agent A1", "invoke_agent", tenantA, agent1, nil).
		span("chat B1", "chat", tenantB, agent1, nil).
		span("execute_tool A2", "execute_tool", tenantA, agent2, nil).
		span("chat A1", "chat", tenantA, agent1, nil).
		span("output_messages B1", "output_messages", tenantB, agent1, nil).
		build()
	require.NoError(t, h.exp.ConsumeTraces(context.Background(), td))

	assert.Equal(t, map[string][]string{
		globalPath(tenantA, agent1): {"invoke_agent A1", "chat A1"},
		globalPath(tenantB, agent1): {"chat B1", "output_messages B1"},
		globalPath(tenantA, agent2): {"execute_tool A2"},
	}, svc.byPath())

	for _, r := range svc.received() {
		assert.Equal(t, "api-version=1", r.Query)
		assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
		assert.Equal(t, "Bearer "+token, r.Header.Get("Authorization"))
		tenant := strings.Split(r.Path, "/")[3]
		assert.Equal(t, tenant, r.Header.Get("x-ms-tenant-id"))
		require.Len(t, r.Payload.ResourceSpans, 1)
		for _, rs := range r.Payload.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					assert.Equal(t, tenant, s.Attributes["microsoft.tenant.id"], "span %s under another tenant", s.Name)
				}
			}
		}
	}
	// The authenticator learns each request's identity from its path and x-ms-tenant-id.
	assert.ElementsMatch(t, []identity{
		{tenant: tenantA, agent: agent1}, {tenant: tenantB, agent: agent1}, {tenant: tenantA, agent: agent2},
	}, h.auth.seen)
	assert.Equal(t, int64(5), h.counter(t, "otelcol_exporter_agent365_delivered_spans"))
	assert.Equal(t, int64(3), h.counter(t, "otelcol_exporter_agent365_requests",
		attribute.String("outcome", "success"), attribute.String("status_class", "2xx")))
}

func TestPayloadShape(t *testing.T) {
	svc := newFakeService(t)
	h := newHarness(t, svc.URL, nil)
	td := newTraces().span("chat gpt-4o", "chat", tenantA, agent1, map[string]any{
		"gen_ai.usage.input_tokens": 33, "gen_ai.request.temperature": 0.5, "stream": true,
		"gen_ai.response.finish_reasons": []any{"stop"},
	}).build()
	span := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
	span.SetParentSpanID([8]byte{0x95, 0x9a, 0x85, 0x4f, 0x18, 0xfa, 0x2c, 0x22})
	span.Status().SetCode(ptrace.StatusCodeOk)
	require.NoError(t, h.exp.ConsumeTraces(context.Background(), td))

	reqs := svc.received()
	require.Len(t, reqs, 1)
	body := string(reqs[0].Body)
	assert.True(t, strings.HasPrefix(body, `{"resourceSpans":[{"resource":{"attributes":{"service.name":"my-agent"}},"scopeSpans":[{"scope":{"name":"Agent365Sdk","version":"1.0.0"},"spans":[{"traceId":"01010000000000000000000000000000","spanId":"0201000000000000","parentSpanId":"959a854f18fa2c22","name":"chat gpt-4o","kind":"CLIENT","startTimeUnixNano":1732465014017403000,"endTimeUnixNano":1732465029373357000,`), body)
	assert.Contains(t, body, `"gen_ai.usage.input_tokens":33`)
	assert.Contains(t, body, `"gen_ai.request.temperature":0.5`)
	assert.Contains(t, body, `"stream":true`)
	assert.Contains(t, body, `"gen_ai.response.finish_reasons":["stop"]`)
	assert.True(t, strings.HasSuffix(body, `"events":null,"links":null,"status":{"code":"OK","message":""}}]}]}]}`), body)
}

func TestIdentityResolution(t *testing.T) {
	tests := []struct {
		name     string
		cfg      func(*Config)
		resource map[string]any
		attrs    map[string]any
		wantPath string
		wantDrop string
	}{
		{name: "span attributes", attrs: map[string]any{"microsoft.tenant.id": tenantA, "gen_ai.agent.id": agent1},
			wantPath: globalPath(tenantA, agent1)},
		{name: "legacy tenant key", attrs: map[string]any{"tenant.id": tenantB, "gen_ai.agent.id": agent1},
			wantPath: globalPath(tenantB, agent1)},
		{name: "current tenant key wins over legacy", attrs: map[string]any{"tenant.id": tenantB, "microsoft.tenant.id": tenantA, "gen_ai.agent.id": agent1},
			wantPath: globalPath(tenantA, agent1)},
		{name: "agent platform id fallback", attrs: map[string]any{"microsoft.tenant.id": tenantA, "microsoft.a365.agent.platform.id": agent2},
			wantPath: globalPath(tenantA, agent2)},
		{name: "agent id wins over platform id", attrs: map[string]any{"microsoft.tenant.id": tenantA, "gen_ai.agent.id": agent1, "microsoft.a365.agent.platform.id": agent2},
			wantPath: globalPath(tenantA, agent1)},
		{name: "resource fallback", resource: map[string]any{"microsoft.tenant.id": tenantB, "gen_ai.agent.id": agent2},
			wantPath: globalPath(tenantB, agent2)},
		{name: "span wins over resource", resource: map[string]any{"microsoft.tenant.id": tenantB, "gen_ai.agent.id": agent2},
			attrs: map[string]any{"microsoft.tenant.id": tenantA}, wantPath: globalPath(tenantA, agent2)},
		{name: "resource ignored when from_resource is off", cfg: func(c *Config) { c.Identity.FromResource = false },
			resource: map[string]any{"microsoft.tenant.id": tenantB, "gen_ai.agent.id": agent2}, wantDrop: "missing_tenant_id"},
		{name: "configured defaults", cfg: func(c *Config) { c.Identity.DefaultTenantID, c.Identity.DefaultAgentID = tenantA, agent2 },
			wantPath: globalPath(tenantA, agent2)},
		{name: "blank value is missing", cfg: func(c *Config) { c.Identity.DefaultTenantID = tenantA },
			attrs: map[string]any{"microsoft.tenant.id": "   ", "gen_ai.agent.id": agent1}, wantPath: globalPath(tenantA, agent1)},
		{name: "surrounding spaces trimmed", attrs: map[string]any{"microsoft.tenant.id": " " + tenantA + " ", "gen_ai.agent.id": agent1},
			wantPath: globalPath(tenantA, agent1)},
		{name: "missing agent", attrs: map[string]any{"microsoft.tenant.id": tenantA}, wantDrop: "missing_agent_id"},
		{name: "missing tenant", attrs: map[string]any{"gen_ai.agent.id": agent1}, wantDrop: "missing_tenant_id"},
		{name: "invalid tenant never falls back to the default", cfg: func(c *Config) { c.Identity.DefaultTenantID = tenantA },
			attrs: map[string]any{"microsoft.tenant.id": "../../admin", "gen_ai.agent.id": agent1}, wantDrop: "invalid_tenant_id"},
		{name: "header injection in agent id", attrs: map[string]any{"microsoft.tenant.id": tenantA, "gen_ai.agent.id": "a\r\nx-evil: 1"},
			wantDrop: "invalid_agent_id"},
		{name: "agent id with a slash", attrs: map[string]any{"microsoft.tenant.id": tenantA, "gen_ai.agent.id": "a/../b"},
			wantDrop: "invalid_agent_id"},
		{name: "double tenant", attrs: map[string]any{"microsoft.tenant.id": 42.5, "gen_ai.agent.id": agent1}, wantDrop: "invalid_tenant_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := newFakeService(t)
			h := newHarness(t, svc.URL, tt.cfg)
			b := newTraces()
			if tt.resource != nil {
				b.resource(tt.resource)
			}
			td := b.span("chat", "chat", "", "", tt.attrs).build()
			require.NoError(t, h.exp.ConsumeTraces(context.Background(), td))
			if tt.wantDrop != "" {
				assert.Empty(t, svc.received())
				assert.Equal(t, int64(1), h.dropped(t, tt.wantDrop))
				return
			}
			assert.Equal(t, map[string][]string{tt.wantPath: {"chat"}}, svc.byPath())
			// The payload names the identity it was sent under, wherever it came from.
			segs := strings.Split(tt.wantPath, "/")
			attrs := svc.received()[0].Payload.ResourceSpans[0].ScopeSpans[0].Spans[0].Attributes
			assert.Equal(t, segs[3], attrs["microsoft.tenant.id"])
			assert.Equal(t, segs[6], attrs["gen_ai.agent.id"])
		})
	}
}

func TestOperationFilter(t *testing.T) {
	svc := newFakeService(t)
	h := newHarness(t, svc.URL, nil)
	td := newTraces().
		span("invoke", "invoke_agent", tenantA, agent1, nil).
		span("chat upper", "CHAT", tenantA, agent1, nil).
		span("guardrail", "apply_guardrail", tenantA, agent1, nil).
		span("http", "", tenantA, agent1, nil).
		span("embeddings", "embeddings", tenantA, agent1, nil).
		span("not a string", "", tenantA, agent1, map[string]any{"gen_ai.operation.name": 7}).
		build()
	require.NoError(t, h.exp.ConsumeTraces(context.Background(), td))
	assert.Equal(t, map[string][]string{globalPath(tenantA, agent1): {"invoke", "chat upper", "guardrail"}}, svc.byPath())
	assert.Equal(t, int64(1), h.dropped(t, "missing_operation"))
	assert.Equal(t, int64(2), h.dropped(t, "unsupported_operation"))

	// A narrower allow-list.
	svc2 := newFakeService(t)
	h2 := newHarness(t, svc2.URL, func(c *Config) { c.Operations = []string{"invoke_agent"} })
	require.NoError(t, h2.exp.ConsumeTraces(context.Background(), newTraces().
		span("invoke", "invoke_agent", tenantA, agent1, nil).span("chat", "chat", tenantA, agent1, nil).build()))
	assert.Equal(t, map[string][]string{globalPath(tenantA, agent1): {"invoke"}}, svc2.byPath())
	assert.Equal(t, int64(1), h2.dropped(t, "unsupported_operation"))
}

func TestResourcesNeverMixed(t *testing.T) {
	svc := newFakeService(t)
	h := newHarness(t, svc.URL, nil)
	td := newTraces().
		resource(map[string]any{"service.name": "agent-one"}).span("one-a", "chat", tenantA, agent1, nil).
		resource(map[string]any{"service.name": "agent-two"}).span("two", "chat", tenantA, agent1, nil).
		resource(map[string]any{"service.name": "agent-one"}).span("one-b", "chat", tenantA, agent1, nil).
		build()
	require.NoError(t, h.exp.ConsumeTraces(context.Background(), td))
	reqs := svc.received()
	require.Len(t, reqs, 2, "identical resources share a request, different ones do not")
	got := map[string][]string{}
	for _, r := range reqs {
		require.Len(t, r.Payload.ResourceSpans, 1)
		got[r.Payload.ResourceSpans[0].Resource.Attributes["service.name"].(string)] = r.spanNames()
	}
	assert.Equal(t, map[string][]string{"agent-one": {"one-a", "one-b"}, "agent-two": {"two"}}, got)
}

func TestScopesGroupedInFirstSeenOrder(t *testing.T) {
	svc := newFakeService(t)
	h := newHarness(t, svc.URL, nil)
	b := newTraces()
	b.scope("lib-b", "2.0").span("b1", "chat", tenantA, agent1, nil)
	b.scope("", "").span("unnamed", "chat", tenantA, agent1, nil)
	b.scope("lib-a", "").span("a1", "chat", tenantA, agent1, nil)
	b.scope("lib-b", "2.0").span("b2", "chat", tenantA, agent1, nil)
	require.NoError(t, h.exp.ConsumeTraces(context.Background(), b.build()))
	reqs := svc.received()
	require.Len(t, reqs, 1)
	var scopes []string
	for _, ss := range reqs[0].Payload.ResourceSpans[0].ScopeSpans {
		v := "<none>"
		if ss.Scope.Version != nil {
			v = *ss.Scope.Version
		}
		var names []string
		for _, s := range ss.Spans {
			names = append(names, s.Name)
		}
		scopes = append(scopes, ss.Scope.Name+"@"+v+":"+strings.Join(names, ","))
	}
	// The builder's default scope (Agent365Sdk) holds no spans and is absent.
	assert.Equal(t, []string{"lib-b@2.0:b1,b2", "unknown@<none>:unnamed", "lib-a@<none>:a1"}, scopes)
}

func TestChunkingKeepsEveryRequestUnderTheLimit(t *testing.T) {
	svc := newFakeService(t)
	const limit = 20000
	h := newHarness(t, svc.URL, func(c *Config) { c.MaxPayloadBytes = limit; c.MaxSpanBytes = 5000 })
	b := newTraces()
	var want []string
	for i := range 60 {
		name := "chat-" + strings.Repeat("x", i)
		want = append(want, name)
		b.span(name, "chat", tenantA, agent1, map[string]any{"gen_ai.input.messages": strings.Repeat("m", 900)})
	}
	require.NoError(t, h.exp.ConsumeTraces(context.Background(), b.build()))
	reqs := svc.received()
	require.Greater(t, len(reqs), 3)
	var got []string
	for _, r := range reqs {
		assert.LessOrEqual(t, len(r.Body), limit)
		got = append(got, r.spanNames()...)
	}
	assert.ElementsMatch(t, want, got, "every span exactly once")
}

func TestOversizedSpanIsTruncated(t *testing.T) {
	svc := newFakeService(t)
	h := newHarness(t, svc.URL, nil)
	msgs, err := json.Marshal(map[string]any{"version": "0.1.0", "messages": []any{
		map[string]any{"role": "user", "parts": []any{map[string]any{"type": "text", "content": strings.Repeat("long question ", 30000)}}},
	}})
	require.NoError(t, err)
	td := newTraces().span("big chat", "chat", tenantA, agent1, map[string]any{"gen_ai.input.messages": string(msgs)}).
		span("small chat", "chat", tenantA, agent1, nil).build()
	require.NoError(t, h.exp.ConsumeTraces(context.Background(), td))
	reqs := svc.received()
	require.Len(t, reqs, 1)
	spans := reqs[0].Payload.ResourceSpans[0].ScopeSpans[0].Spans
	require.Len(t, spans, 2)
	encoded, err := json.Marshal(spans[0])
	require.NoError(t, err)
	assert.Less(t, len(encoded), 256000+1000)
	var wrapper map[string]any
	require.NoError(t, json.Unmarshal([]byte(spans[0].Attributes["gen_ai.input.messages"].(string)), &wrapper), "wrapper stays valid JSON")
	assert.Equal(t, int64(1), h.counter(t, "otelcol_exporter_agent365_truncated_spans"))
	// The pushed data is untouched, so a retry starts from the original.
	v, _ := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().Get("gen_ai.input.messages")
	assert.Equal(t, string(msgs), v.Str())
}

func TestNoBodyOverMaxPayloadBytes(t *testing.T) {
	svc := newFakeService(t)
	h := newHarness(t, svc.URL, func(cfg *Config) {
		cfg.MaxPayloadBytes = 16384
		cfg.MaxSpanBytes = 8192
	})
	big := map[string]any{"gen_ai.output.messages": strings.Repeat("answer ", 4000), "tool.result": strings.Repeat("r", 9000)}
	td := newTraces().
		resource(map[string]any{"service.name": "heavy", "notes": strings.Repeat("n", 6000)}).
		span("a", "chat", tenantA, agent1, big).span("b", "chat", tenantA, agent1, big).
		// A resource that leaves no room for any span.
		resource(map[string]any{"service.name": "huge", "notes": strings.Repeat("n", 17000)}).
		span("c", "chat", tenantA, agent1, nil).
		build()
	require.NoError(t, h.exp.ConsumeTraces(context.Background(), td))
	reqs := svc.received()
	require.Len(t, reqs, 2, "one request per span: a span fills what its resource leaves")
	for _, r := range reqs {
		assert.LessOrEqual(t, len(r.Body), 16384)
	}
	assert.Equal(t, int64(2), h.counter(t, "otelcol_exporter_agent365_truncated_spans"))
	assert.Equal(t, int64(1), h.dropped(t, "payload_too_large"), "never a body over max_payload_bytes")
}

func TestSuppressInvokeAgentInput(t *testing.T) {
	svc := newFakeService(t)
	h := newHarness(t, svc.URL, func(c *Config) { c.SuppressInvokeAgentInput = true })
	td := newTraces().
		span("invoke", "invoke_agent", tenantA, agent1, map[string]any{"gen_ai.input.messages": "secret question", "gen_ai.output.messages": "answer"}).
		span("chat", "chat", tenantA, agent1, map[string]any{"gen_ai.input.messages": "model input"}).
		build()
	require.NoError(t, h.exp.ConsumeTraces(context.Background(), td))
	reqs := svc.received()
	require.Len(t, reqs, 1)
	spans := reqs[0].Payload.ResourceSpans[0].ScopeSpans[0].Spans
	assert.NotContains(t, spans[0].Attributes, "gen_ai.input.messages")
	assert.Equal(t, "answer", spans[0].Attributes["gen_ai.output.messages"])
	assert.Equal(t, "model input", spans[1].Attributes["gen_ai.input.messages"])
	assert.NotContains(t, string(reqs[0].Body), "secret question")
}

func TestResponseClassification(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		header     http.Header
		wantHeld   bool // held behind the identity's gate, sent when it opens
		wantGated  bool // the identity waits before its next request
		wantReason string
		wantWait   time.Duration // the Retry-After honoured
		wantLog    string
	}{
		{name: "500 retried", status: 500, wantHeld: true, wantGated: true},
		{name: "502 retried", status: 502, wantHeld: true, wantGated: true},
		{name: "408 retried", status: 408, wantHeld: true, wantGated: true},
		{name: "401 retried after the token is renewed", status: 401, wantHeld: true, wantGated: true, wantLog: "401: the token was refused"},
		{name: "429 with seconds", status: 429, header: http.Header{"Retry-After": {"7"}}, wantHeld: true, wantGated: true, wantWait: 7 * time.Second},
		{name: "503 with HTTP date", status: 503, header: http.Header{"Retry-After": {time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)}},
			wantHeld: true, wantGated: true, wantWait: 89 * time.Second},
		{name: "400 permanent", status: 400, wantReason: "rejected_by_service"},
		{name: "403 permanent, the identity waits", status: 403, wantGated: true, wantReason: "rejected_by_service", wantLog: "agent instance's app id"},
		{name: "404 permanent", status: 404, wantReason: "rejected_by_service"},
		{name: "redirect not followed", status: 307, header: http.Header{"Location": {"https://elsewhere.example/x"}},
			wantReason: "rejected_by_service", wantLog: "redirect to https://elsewhere.example/x not followed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := newFakeService(t)
			svc.setRespond(func(*http.Request, []byte) (int, http.Header, string) {
				h := tt.header.Clone()
				if h == nil {
					h = http.Header{}
				}
				h.Set("x-ms-correlation-id", "corr-123")
				return tt.status, h, `{"error":"nope"}`
			})
			h := newHarness(t, svc.URL, func(cfg *Config) {
				cfg.RetryConfig.Enabled = true
				cfg.RetryConfig.InitialInterval = time.Minute
			})
			require.NoError(t, h.exp.ConsumeTraces(context.Background(), newTraces().span("chat", "chat", tenantA, agent1, nil).build()),
				"the push settles every span: nothing for exporterhelper to retry")
			held, gated := h.gauge(t, "otelcol_exporter_agent365_held_spans"), h.gauge(t, "otelcol_exporter_agent365_gated_identities")
			assert.Equal(t, tt.wantHeld, held == 1, "held spans: %d", held)
			assert.Equal(t, tt.wantGated, gated == 1, "gated identities: %d", gated)
			if tt.wantReason != "" {
				assert.Equal(t, int64(1), h.dropped(t, tt.wantReason))
			} else {
				assert.Zero(t, h.dropped(t, ""))
			}
			logs := h.logs.FilterFieldKey("correlation_id").All()
			require.NotEmpty(t, logs)
			fields := logs[0].ContextMap()
			assert.Equal(t, "corr-123", fields["correlation_id"])
			assert.Equal(t, `{"error":"nope"}`, fields["response"])
			if tt.wantWait > 0 {
				assert.InDelta(t, tt.wantWait, fields["retry_after"], float64(2*time.Second))
			}
			if tt.wantLog != "" {
				assert.Contains(t, logs[0].Message, tt.wantLog)
			}
		})
	}
}

func TestRetryAfterParsing(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	tests := map[string]time.Duration{
		"":                              0,
		"0":                             0,
		"-5":                            0,
		"120":                           2 * time.Minute,
		"99999999":                      24 * time.Hour,
		"Sat, 21 Nov 2026 12:00:30 GMT": 30 * time.Second,
		"Sat, 21 Nov 2026 11:00:00 GMT": 0,
		"soon":                          0,
	}
	for in, want := range tests {
		assert.Equal(t, want, retryAfter(in, now), in)
	}
}

func TestPartialFailureSendsNothingTwice(t *testing.T) {
	svc := newFakeService(t)
	var throttled atomic.Bool
	throttled.Store(true)
	svc.setRespond(func(r *http.Request, _ []byte) (int, http.Header, string) {
		if strings.Contains(r.URL.Path, tenantB) && throttled.Load() {
			return 503, http.Header{"Retry-After": {"1"}}, "busy"
		}
		if strings.Contains(r.URL.Path, agent2) {
			return 403, nil, "forbidden"
		}
		return 200, nil, okBody
	})
	h := newHarness(t, svc.URL, func(cfg *Config) { cfg.RetryConfig.Enabled = true })
	td := newTraces().
		span("A1 ok", "chat", tenantA, agent1, nil).
		span("B1 retry", "chat", tenantB, agent1, nil).
		span("A2 forbidden", "chat", tenantA, agent2, nil).
		span("dropped", "embeddings", tenantA, agent1, nil).
		resource(map[string]any{"service.name": "other"}).
		span("B1 retry other resource", "invoke_agent", tenantB, agent1, nil).
		build()
	require.NoError(t, h.exp.ConsumeTraces(context.Background(), td))
	assert.Equal(t, map[string][]string{globalPath(tenantA, agent1): {"A1 ok"}}, svc.byPath())
	assert.Equal(t, int64(1), h.dropped(t, "rejected_by_service"))
	assert.Equal(t, int64(1), h.dropped(t, "unsupported_operation"))
	assert.Equal(t, int64(2), h.gauge(t, "otelcol_exporter_agent365_held_spans"), "B1's spans wait behind its gate")

	// The gate opens after the Retry-After: exactly the held spans follow,
	// each in its own resource, and nothing delivered is sent again.
	throttled.Store(false)
	require.Eventually(t, func() bool { return h.gauge(t, "otelcol_exporter_agent365_held_spans") == 0 }, 10*time.Second, 20*time.Millisecond)
	got := svc.byPath()
	assert.Equal(t, []string{"A1 ok"}, got[globalPath(tenantA, agent1)])
	assert.Equal(t, []string{"B1 retry", "B1 retry other resource"}, got[globalPath(tenantB, agent1)])
	var services []string
	for _, r := range svc.received() {
		if strings.Contains(r.Path, tenantB) {
			services = append(services, r.Payload.ResourceSpans[0].Resource.Attributes["service.name"].(string))
		}
	}
	assert.Equal(t, []string{"my-agent", "other"}, services)
	assert.Equal(t, int64(3), h.counter(t, "otelcol_exporter_agent365_delivered_spans"))
}

func TestFailingIdentitiesHoldTheirSpans(t *testing.T) {
	svc := newFakeService(t)
	svc.setRespond(func(*http.Request, []byte) (int, http.Header, string) { return 500, nil, "" })
	h := newHarness(t, svc.URL, func(cfg *Config) {
		cfg.RetryConfig.Enabled = true
		cfg.RetryConfig.InitialInterval = time.Minute
	})
	require.NoError(t, h.exp.ConsumeTraces(context.Background(), newTraces().
		span("a", "chat", tenantA, agent1, nil).span("b", "chat", tenantB, agent1, nil).build()))
	assert.Equal(t, int64(2), h.counter(t, "otelcol_exporter_agent365_requests", attribute.String("outcome", "retryable_error")))
	assert.Equal(t, int64(2), h.gauge(t, "otelcol_exporter_agent365_held_spans"))
	assert.Equal(t, int64(2), h.gauge(t, "otelcol_exporter_agent365_gated_identities"))
}

func TestFailureWithoutRetriesIsDroppedAndCounted(t *testing.T) {
	svc := newFakeService(t)
	svc.setRespond(func(*http.Request, []byte) (int, http.Header, string) { return 503, nil, "" })
	h := newHarness(t, svc.URL, nil) // retry_on_failure disabled
	require.NoError(t, h.exp.ConsumeTraces(context.Background(), newTraces().span("a", "chat", tenantA, agent1, nil).build()))
	assert.Equal(t, int64(1), h.dropped(t, "retry_disabled"))
	assert.Zero(t, h.gauge(t, "otelcol_exporter_agent365_held_spans"))
	assert.Equal(t, 1, h.logs.FilterMessageSnippet("retry_on_failure is disabled").Len())
}

func TestTooLargeSplitsAndResends(t *testing.T) {
	svc := newFakeService(t)
	var tooLarge atomic.Int32
	svc.setRespond(func(_ *http.Request, body []byte) (int, http.Header, string) {
		if len(body) > 3000 {
			tooLarge.Add(1)
			return 413, nil, "too large"
		}
		return 200, nil, okBody
	})
	h := newHarness(t, svc.URL, nil)
	b := newTraces()
	var want []string
	for i := range 10 {
		name := "chat " + strings.Repeat("z", i)
		want = append(want, name)
		b.span(name, "chat", tenantA, agent1, map[string]any{"pad": strings.Repeat("p", 400)})
	}
	b.span("huge", "chat", tenantA, agent1, map[string]any{"pad": strings.Repeat("h", 5000)})
	require.NoError(t, h.exp.ConsumeTraces(context.Background(), b.build()))
	var got []string
	for _, r := range svc.received() {
		got = append(got, r.spanNames()...)
	}
	assert.ElementsMatch(t, want, got, "every other span delivered once")
	assert.Positive(t, tooLarge.Load())
	assert.Equal(t, int64(1), h.dropped(t, "payload_too_large"))
}

func TestPartialSuccessCounted(t *testing.T) {
	svc := newFakeService(t)
	svc.setRespond(func(*http.Request, []byte) (int, http.Header, string) {
		return 200, nil, `{"partialSuccess":{"rejectedSpans":"2","errorMessage":"unknown operation"}}`
	})
	h := newHarness(t, svc.URL, nil)
	require.NoError(t, h.exp.ConsumeTraces(context.Background(), newTraces().span("a", "chat", tenantA, agent1, nil).build()))
	assert.Equal(t, int64(2), h.counter(t, "otelcol_exporter_agent365_rejected_spans"))
	require.Equal(t, 1, h.logs.FilterMessageSnippet("rejected some spans").Len())
	assert.Equal(t, "unknown operation", h.logs.FilterMessageSnippet("rejected some spans").All()[0].ContextMap()["message"])
}

func TestUnlicensedTenantNoticeOnce(t *testing.T) {
	svc := newFakeService(t)
	svc.setRespond(func(*http.Request, []byte) (int, http.Header, string) { return 200, nil, `{"partialSuccess":null}` })
	h := newHarness(t, svc.URL, nil)
	for range 3 {
		require.NoError(t, h.exp.ConsumeTraces(context.Background(), newTraces().span("a", "chat", tenantA, agent1, nil).build()))
	}
	assert.Equal(t, 1, h.logs.FilterMessageSnippet("no Agent 365 license").Len())
}

func TestNetworkErrorIsRetryable(t *testing.T) {
	svc := newFakeService(t)
	url := svc.URL
	svc.Close()
	h := newHarness(t, url, func(cfg *Config) {
		cfg.RetryConfig.Enabled = true
		cfg.RetryConfig.InitialInterval = time.Minute
	})
	require.NoError(t, h.exp.ConsumeTraces(context.Background(), newTraces().span("a", "chat", tenantA, agent1, nil).build()))
	assert.Equal(t, int64(1), h.counter(t, "otelcol_exporter_agent365_requests",
		attribute.String("outcome", "retryable_error"), attribute.String("status_class", "none")))
	assert.Equal(t, int64(1), h.gauge(t, "otelcol_exporter_agent365_held_spans"))
}

func TestTokenNeverLogged(t *testing.T) {
	jwt := "eyJhbGciOiJSUzI1NiJ9.eyJhcHBpZCI6ImFwcC0xIn0.c2lnbmF0dXJlc2lnbmF0dXJl"
	svc := newFakeService(t)
	// A hostile or buggy service that echoes the request back.
	svc.setRespond(func(r *http.Request, _ []byte) (int, http.Header, string) {
		return 400, http.Header{"WWW-Authenticate": {`Bearer error="insufficient_scope"`}},
			"echo: " + r.Header.Get("Authorization") + " and " + jwt
	})
	h := newHarness(t, svc.URL, nil)
	require.NoError(t, h.exp.ConsumeTraces(context.Background(), newTraces().span("a", "chat", tenantA, agent1, nil).build()))
	logs := h.logs.FilterFieldKey("response").All()
	require.Len(t, logs, 1)
	assert.Equal(t, "echo: Bearer [REDACTED] and [REDACTED]", logs[0].ContextMap()["response"])
	for _, e := range h.logs.All() {
		raw, _ := json.Marshal(e.ContextMap())
		assert.NotContains(t, e.Message+string(raw), token)
		assert.NotContains(t, e.Message+string(raw), jwt)
	}
}

func TestInsufficientScopeNamesTokenClaims(t *testing.T) {
	svc := newFakeService(t)
	svc.setRespond(func(*http.Request, []byte) (int, http.Header, string) {
		return 403, http.Header{"WWW-Authenticate": {`Bearer error="insufficient_scope"`}}, ""
	})
	h := newHarness(t, svc.URL, nil)
	// A JWT whose claims name the app and its roles.
	h.auth.token = "eyJhbGciOiJSUzI1NiJ9." +
		"eyJhcHBpZCI6ImFwcC0xMjMiLCJhdWQiOiJhcGk6Ly85Yjk3NTg0NSIsInJvbGVzIjpbIlVzZXIuUmVhZCJdfQ" + ".c2ln"
	require.NoError(t, h.exp.ConsumeTraces(context.Background(), newTraces().span("a", "chat", tenantA, agent1, nil).build()))
	logs := h.logs.FilterMessageSnippet("rejected the request").All()
	require.Len(t, logs, 1)
	assert.Contains(t, logs[0].Message, "Agent365.Observability.OtelWrite")
	assert.Contains(t, logs[0].Message, `appid="app-123" aud="api://9b975845" roles="User.Read"`)
	assert.NotContains(t, logs[0].Message, h.auth.token)
	assert.Equal(t, int64(1), h.dropped(t, "rejected_by_service"))
}

func TestCutResponse(t *testing.T) {
	assert.Equal(t, "short", cut("short", 10))
	long := strings.Repeat("é", 600)
	got := cut(long, 511)
	assert.True(t, strings.HasSuffix(got, "… [cut, 1200 bytes in all]"))
	assert.Equal(t, "\ufffd", cut("\xff", 10))
}

func TestScrubEveryFormOfTheToken(t *testing.T) {
	tests := []struct{ name, auth, text, want string }{
		{"short token as is", "Bearer abc1234", `{"error":"bad token abc1234"}`, `{"error":"bad token [REDACTED]"}`},
		{"url-encoded", "Bearer Zx9/Qw+Er=", "token=Zx9%2FQw%2BEr%3D rejected", "token=[REDACTED] rejected"},
		{"path-escaped", "Bearer a b/c", "at /a%20b%2Fc", "at /[REDACTED]"},
		{"base64", "Bearer s3cr3t", "basic czNjcjN0", "basic [REDACTED]"},
		{"json-escaped", `Bearer a"b\c`, `{"t":"a\"b\\c"}`, `{"t":"[REDACTED]"}`},
		{"no scheme", "rawtoken9", "got rawtoken9", "got [REDACTED]"},
		{"jwt of another request", "Bearer x1", "eyJhbGciOi.eyJhcHBpZCI6.c2ln", "[REDACTED]"},
		{"nothing to hide", "", "plain text", "plain text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, scrub(tt.text, tt.auth))
		})
	}
}

func TestNoAuthenticatorWarnsAtStartup(t *testing.T) {
	core, logs := observer.New(zapcore.WarnLevel)
	set := exportertest.NewNopSettings(metadata.Type)
	set.Logger = zap.New(core)
	_, err := NewFactory().CreateTraces(context.Background(), set, NewFactory().CreateDefaultConfig())
	require.NoError(t, err)
	require.Equal(t, 1, logs.Len())
	assert.Contains(t, logs.All()[0].Message, "401")
	assert.Contains(t, logs.All()[0].Message, "agent365auth")
}

func TestAuthenticatorRefusalIsFinal(t *testing.T) {
	svc := newFakeService(t)
	h := newHarness(t, svc.URL, func(cfg *Config) { cfg.RetryConfig.Enabled = true })
	h.auth.fail = consumererror.NewPermanent(errors.New("the token for this request is delegated; set use_s2s_endpoint: false"))
	require.NoError(t, h.exp.ConsumeTraces(context.Background(), newTraces().span("a", "chat", tenantA, agent1, nil).build()))
	assert.Equal(t, int64(1), h.dropped(t, "authenticator_refused"))
	assert.Zero(t, h.gauge(t, "otelcol_exporter_agent365_held_spans"), "nothing to wait for")
	assert.Equal(t, int64(1), h.counter(t, "otelcol_exporter_agent365_requests", attribute.String("outcome", "token_error")))
	logs := h.logs.FilterMessageSnippet("refused by the authenticator").All()
	require.Len(t, logs, 1)
	assert.Contains(t, logs[0].ContextMap()["error"], "use_s2s_endpoint: false")
}
func TestTokenFailureHasItsOwnOutcome(t *testing.T) {
	svc := newFakeService(t)
	h := newHarnessWithAuth(t, svc.URL, &testAuth{token: token, transport: roundTripperFunc(func(*http.Request) (*http.Response, error) {
		t.Fatal("nothing is sent without a token")
		return nil, nil
	})}, nil)
	h.auth.fail = errors.New("AADSTS7000215: Invalid client secret provided")
	require.NoError(t, h.exp.ConsumeTraces(context.Background(), newTraces().span("a", "chat", tenantA, agent1, nil).build()))
	assert.Equal(t, int64(1), h.counter(t, "otelcol_exporter_agent365_requests", attribute.String("outcome", "token_error"), attribute.String("status_class", "none")))
	assert.Zero(t, h.counter(t, "otelcol_exporter_agent365_requests", attribute.String("outcome", "retryable_error")))
	assert.Equal(t, int64(1), h.dropped(t, "retry_disabled"))
	_, err := h.tel.GetMetric("otelcol_exporter_agent365_request_size")
	assert.Error(t, err, "no request body went out")
}

func TestStatusClassStaysBounded(t *testing.T) {
	for code, want := range map[int]string{200: "2xx", 204: "2xx", 307: "3xx", 429: "4xx", 503: "5xx", 100: "other", 600: "other", 999: "other", 0: "other"} {
		assert.Equal(t, want, statusClass(code), "%d", code)
	}
}

func TestSpanWithoutIDsIsDroppedAlone(t *testing.T) {
	svc := newFakeService(t)
	h := newHarness(t, svc.URL, nil)
	td := newTraces().span("ok", "chat", tenantA, agent1, nil).span("no ids", "chat", tenantA, agent1, nil).build()
	td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(1).SetSpanID(pcommon.SpanID{})
	require.NoError(t, h.exp.ConsumeTraces(context.Background(), td))
	assert.Equal(t, map[string][]string{globalPath(tenantA, agent1): {"ok"}}, svc.byPath(), "the other span goes, in a body the service takes")
	assert.Equal(t, int64(1), h.dropped(t, "missing_trace_or_span_id"))
}
