package sink

import (
	"bytes"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/agent365-otel/agent365exporter/internal/sample"
	"github.com/agent365-otel/agent365exporter/internal/schema"
)

func TestReportOnSampleTraces(t *testing.T) {
	tests := []struct {
		name        string
		opts        sample.Options
		wantMissing map[string]map[string]int64 // besides what the schema computes, a hand-written check
		wantLegacy  []string
	}{
		{
			name: "complete instrumentation",
			opts: sample.Options{},
			wantMissing: map[string]map[string]int64{
				"invoke_agent": {}, "chat": {}, "execute_tool": {}, "output_messages": {},
			},
		},
		{
			name: "omitted attributes",
			opts: sample.Options{Omit: []string{"user.email", "gen_ai.tool.call.id", "gen_ai.request.model", "gen_ai.conversation.id", "server.port"}},
			wantMissing: map[string]map[string]int64{
				"invoke_agent":    {"gen_ai.conversation.id": 4, "user.email": 4, "server.port": 4},
				"chat":            {"gen_ai.conversation.id": 4, "user.email": 4, "gen_ai.request.model": 4, "server.port": 4},
				"execute_tool":    {"gen_ai.conversation.id": 4, "user.email": 4, "gen_ai.tool.call.id": 4, "server.port": 4},
				"output_messages": {"gen_ai.conversation.id": 4, "user.email": 4},
			},
		},
		{
			name: "legacy names",
			opts: sample.Options{Legacy: true},
			wantMissing: map[string]map[string]int64{
				"invoke_agent": {}, "chat": {}, "execute_tool": {}, "output_messages": {},
			},
			wantLegacy: []string{"gen_ai.agent.applicationid", "gen_ai.agent.upn", "gen_ai.agent.user.id", "gen_ai.caller.client.ip",
				"gen_ai.caller.id", "gen_ai.caller.name", "gen_ai.caller.upn", "gen_ai.channel.name", "gen_ai.event.content",
				"gen_ai.tool.arguments", "session.id", "tenant.id"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Config{}, false)
			// 8 turns over 2 agents: 4 turns, 16 spans each.
			td := sample.Traces(sample.DefaultAgents[:2], 8, start, tt.opts)
			bodies := encodeA365(t, td)
			for _, b := range bodies {
				require.Equal(t, http.StatusOK, h.post(t, globalPath(b.tenant, b.agent), b.body).status)
			}
			rep := h.report(t)
			assert.Equal(t, int64(32), rep.Spans)
			assert.Zero(t, rep.Rejected)
			require.Len(t, rep.Agents, 2)
			for i, b := range bodies {
				a := findAgent(t, rep, b.tenant, b.agent)
				assert.Equal(t, sample.DefaultAgents[i].Name, a.AgentName)
				assert.Equal(t, int64(16), a.Spans)
				assert.Equal(t, []string{"invoke_agent", "execute_tool", "output_messages", "chat"}, opNames(a), "schema.Operations order")
				for _, op := range a.Operations {
					assert.Equal(t, int64(4), op.Spans)
				}
				// The exporter names the tenant of legacy spans under the current key (SpanMeta).
				extra := map[string]string{}
				if tt.opts.Legacy {
					extra[schema.TenantID] = b.tenant
				}
				assert.Equal(t, expectedMissing(b.pdata, extra), reportedMissing(a), "the schema's rules")
				if tt.wantMissing != nil {
					assert.Equal(t, tt.wantMissing, reportedMissing(a))
				}
				var legacy []string
				for _, l := range a.LegacyAttributes {
					legacy = append(legacy, l.Name)
					assert.Equal(t, schema.Renames[l.Name], l.Current)
				}
				assert.Equal(t, tt.wantLegacy, legacy)
				assert.Empty(t, a.IdentityMismatches)
				assert.Equal(t, len(tt.wantLegacy) > 0, slices.Contains(a.Hints, HintLegacy))
			}
			if tt.opts.Legacy {
				a := rep.Agents[0]
				byName := map[string]int64{}
				for _, l := range a.LegacyAttributes {
					byName[l.Name] = l.Spans
				}
				assert.Equal(t, int64(16), byName["tenant.id"], "on every span")
				assert.Equal(t, int64(16), byName["gen_ai.caller.id"], "on every span")
				inv := reportedMissing(a)["invoke_agent"]
				assert.NotContains(t, inv, "user.id", "gen_ai.caller.id counts as user.id")
				assert.NotContains(t, inv, "microsoft.tenant.id", "named by the exporter")
			}
		})
	}
}

func opNames(a AgentReport) []string {
	var out []string
	for _, op := range a.Operations {
		out = append(out, op.Name)
	}
	return out
}

// TestReportMissingOrderAndConditions: the contract's rules for a custom
// agent, in the contract's order.
func TestReportMissingOrderAndConditions(t *testing.T) {
	h := newHarness(t, Config{}, false)
	const user = "aaaaaaaa-bbbb-cccc-1111-222222222222"
	zero := "00000000-0000-0000-0000-000000000000"
	spans := []string{
		// Called by another agent, with an agent user: the caller's fields,
		// the agent user's email and a parent are required too.
		spanJSON(1, map[string]any{"gen_ai.operation.name": "invoke_agent", "microsoft.a365.caller.agent.id": "caller", "microsoft.agent.user.id": user}),
		spanJSON(2, map[string]any{"gen_ai.operation.name": "invoke_agent", "user.id": " ", "server.port": 443}),
		// Legacy names count; an all-zero agent user is none.
		spanJSON(3, map[string]any{"gen_ai.operation.name": "invoke_agent", "gen_ai.caller.agent.id": "caller", "gen_ai.agent.user.id": zero}),
		spanJSON(4, map[string]any{"gen_ai.operation.name": "execute_tool", "gen_ai.tool.type": "function"}),
		spanJSON(5, map[string]any{"gen_ai.operation.name": "apply_guardrail", "microsoft.tenant.id": nil}),
		spanJSON(6, map[string]any{"gen_ai.operation.name": "CHAT"}),
	}
	require.Equal(t, http.StatusOK, h.post(t, globalPath(tenantA, agent1), bodyJSON(spans...)).status)
	a := h.report(t).Agents[0]
	assert.Equal(t, []string{"invoke_agent", "execute_tool", "chat", "apply_guardrail"}, opNames(a), "chat in any case is chat")

	assert.Equal(t, []MissingAttribute{
		{"gen_ai.conversation.id", 3}, {"microsoft.tenant.id", 3}, {"microsoft.channel.name", 3},
		{"user.id", 3}, // a blank value is missing
		{"user.email", 3}, {"microsoft.agent.user.id", 1}, {"gen_ai.agent.id", 3}, {"microsoft.a365.agent.blueprint.id", 3},
		{"gen_ai.agent.name", 3}, {"client.address", 3},
		{"parentSpanId", 2}, // of the spans called by an agent
		{"gen_ai.input.messages", 3}, {"gen_ai.output.messages", 3}, {"server.address", 3},
		{"server.port", 2}, // an integer is present
		{"gen_ai.caller.agent.type", 2},
		// Only where the agent user is set and not all zeros, and an agent calls.
		{"microsoft.agent.user.email", 1}, {"microsoft.a365.caller.agent.name", 1},
		{"microsoft.a365.caller.agent.blueprint.id", 1}, {"microsoft.a365.caller.agent.user.id", 1},
	}, a.Operations[0].Missing, "invoke_agent, in the contract's order")

	tool := a.Operations[1]
	for _, attr := range []string{"parentSpanId", "gen_ai.tool.call.id", "gen_ai.tool.call.result", "server.address", "server.port", "user.email"} {
		assert.Contains(t, tool.Missing, MissingAttribute{Attribute: attr, Spans: 1})
	}
	assert.NotContains(t, tool.Missing, MissingAttribute{Attribute: "gen_ai.tool.type", Spans: 1})

	chat := a.Operations[2]
	for _, attr := range []string{"parentSpanId", "gen_ai.provider.name", "server.port"} {
		assert.Contains(t, chat.Missing, MissingAttribute{Attribute: attr, Spans: 1})
	}

	guard := a.Operations[3]
	assert.Contains(t, guard.Missing, MissingAttribute{Attribute: "microsoft.tenant.id", Spans: 1},
		"the route names the tenant, but the span does not carry it")
	assert.NotContains(t, guard.Missing, MissingAttribute{Attribute: "parentSpanId", Spans: 1})
	assert.NotContains(t, guard.Missing, MissingAttribute{Attribute: "server.address", Spans: 1})
	assert.Contains(t, a.Hints, HintMissing)
}

// TestReportSpanFields: the span's own fields count as the exporter counts
// them, in both body formats: ids that are not all zeros, times that are
// not zero. (The a365 decoder refuses an all-zero trace or span id.)
func TestReportSpanFields(t *testing.T) {
	h := newHarness(t, Config{}, false)
	attrs := `{"gen_ai.operation.name":"chat"}`
	a365 := []string{
		`{"traceId":"00000000000000000000000000000001","spanId":"0000000000000001","parentSpanId":"0000000000000000",` +
			`"name":"s","kind":"CLIENT","startTimeUnixNano":0,"endTimeUnixNano":5,"attributes":` + attrs + `,"status":{"code":"UNSET"}}`,
		`{"traceId":"00000000000000000000000000000001","spanId":"0000000000000002","parentSpanId":"0000000000000001",` +
			`"name":"s","kind":"CLIENT","startTimeUnixNano":"1","attributes":` + attrs + `,"status":{"code":"UNSET"}}`,
	}
	require.Equal(t, http.StatusOK, h.post(t, globalPath(tenantA, agent1), bodyJSON(a365...)).status)
	missing := reportedMissing(h.report(t).Agents[0])["chat"]
	assert.Equal(t, int64(1), missing["parentSpanId"], "all zeros")
	assert.Equal(t, int64(1), missing["startTimeUnixNano"], "zero")
	assert.Equal(t, int64(1), missing["endTimeUnixNano"], "left out")
	assert.Zero(t, missing["traceId"])
	assert.Zero(t, missing["spanId"])

	otlp := newHarness(t, Config{}, false)
	td := ptrace.NewTraces()
	ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
	for i, parent := range []bool{false, true, true} {
		span := ss.Spans().AppendEmpty()
		if i < 2 {
			span.SetTraceID(pcommon.TraceID{1})
		}
		span.SetSpanID(pcommon.SpanID{1})
		span.SetStartTimestamp(1)
		span.SetEndTimestamp(2)
		if parent {
			span.SetParentSpanID(pcommon.SpanID{2})
		}
		span.Attributes().PutStr("gen_ai.operation.name", "execute_tool")
	}
	body, err := (&ptrace.JSONMarshaler{}).MarshalTraces(td)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, otlp.post(t, globalPath(tenantA, agent1), body).status)
	missing = reportedMissing(otlp.report(t).Agents[0])["execute_tool"]
	assert.Equal(t, int64(1), missing["parentSpanId"])
	assert.Equal(t, int64(1), missing["traceId"], "OTLP/JSON may leave it out")
	assert.Zero(t, missing["endTimeUnixNano"])
}

func TestIdentityMismatch(t *testing.T) {
	h := newHarness(t, Config{}, false)
	spans := []string{
		spanJSON(1, map[string]any{"gen_ai.operation.name": "chat", "microsoft.tenant.id": tenantA, "gen_ai.agent.id": agent1}),
		spanJSON(2, map[string]any{"gen_ai.operation.name": "chat", "microsoft.tenant.id": tenantA, "gen_ai.agent.id": agent2}),
		spanJSON(3, map[string]any{"gen_ai.operation.name": "chat", "microsoft.tenant.id": "other-tenant", "gen_ai.agent.id": agent2}),
		spanJSON(4, map[string]any{"gen_ai.operation.name": "chat", "microsoft.tenant.id": " " + tenantA + " "}),
		spanJSON(5, map[string]any{"gen_ai.operation.name": "chat", "gen_ai.agent.id": ""}), // blank: missing, no mismatch
		spanJSON(6, map[string]any{"gen_ai.operation.name": "chat", "gen_ai.agent.id": 7}),
		spanJSON(7, map[string]any{"gen_ai.operation.name": "unknown", "gen_ai.agent.id": agent2}), // rejected: not checked
	}
	require.Equal(t, http.StatusOK, h.post(t, globalPath(tenantA, agent1), bodyJSON(spans...)).status)
	a := h.report(t).Agents[0]
	assert.Equal(t, []IdentityMismatch{
		{Attribute: "gen_ai.agent.id", Value: "7", RouteValue: agent1, Spans: 1},
		{Attribute: "gen_ai.agent.id", Value: agent2, RouteValue: agent1, Spans: 2},
		{Attribute: "microsoft.tenant.id", Value: "other-tenant", RouteValue: tenantA, Spans: 1},
	}, a.IdentityMismatches)
	assert.Contains(t, a.Hints, HintMismatch)
	assert.Equal(t, int64(2), reportedMissing(a)["chat"]["gen_ai.agent.id"], "spans 4 and 5; 7 is an integer, present")

	var txt bytes.Buffer
	require.NoError(t, WriteText(&txt, h.sink.Report()))
	assert.Contains(t, txt.String(), `identity mismatch: gen_ai.agent.id "`+agent2+`" on spans sent to "`+agent1+`" (2 spans)`)
}

func TestIdentityMismatchOnMavenRoute(t *testing.T) {
	h := newHarness(t, Config{}, false)
	r := h.do(t, http.MethodPost, "/maven/agent365/agents/"+agent1+"/traces?api-version=1",
		bodyJSON(spanJSON(1, map[string]any{"gen_ai.operation.name": "chat", "microsoft.tenant.id": "t-span"})),
		map[string]string{"Authorization": "Bearer x", "x-ms-tenant-id": "t-header"})
	require.Equal(t, http.StatusOK, r.status)
	a := h.report(t).Agents[0]
	assert.Equal(t, "t-header", a.TenantID)
	assert.Equal(t, []IdentityMismatch{{Attribute: "microsoft.tenant.id", Value: "t-span", RouteValue: "t-header", Spans: 1}}, a.IdentityMismatches)
}

func TestTextReport(t *testing.T) {
	h := newHarness(t, Config{}, false)
	td := sample.Traces(sample.DefaultAgents, 6, start, sample.Options{Legacy: true, Omit: []string{"gen_ai.request.model", "gen_ai.conversation.id"}})
	for _, b := range encodeA365(t, td) {
		require.Equal(t, http.StatusOK, h.post(t, globalPath(b.tenant, b.agent), b.body).status)
	}
	require.Equal(t, http.StatusOK, h.post(t, globalPath(tenantA, agent1), bodyJSON(opSpan(1, "http.request"))).status)

	r := h.get(t, "/_sink/report.txt")
	require.Equal(t, http.StatusOK, r.status)
	txt := r.body
	for _, want := range []string{
		"a365sink report: 25 spans in 4 requests, 1 rejected",
		"tenant " + sample.DefaultAgents[0].TenantID,
		"  agent " + agent1 + " (Delivery Agent): 9 spans in 2 requests [observability 2]",
		"    invoke_agent: 2 spans\n",
		"      missing: gen_ai.conversation.id (2 of 2 spans)",
		"      missing: gen_ai.request.model (2 of 2 spans)",
		"    rejected: 1 span (unknown operation)",
		`      gen_ai.operation.name "http.request": 1 span`,
		"    legacy attribute: tenant.id, now microsoft.tenant.id (8 spans)",
		"    hint: " + HintLegacy,
		"tenant " + sample.DefaultAgents[2].TenantID,
	} {
		assert.Contains(t, txt, want)
	}
	// Tenants are listed once, agents in order.
	assert.Equal(t, 1, strings.Count(txt, "tenant "+sample.DefaultAgents[0].TenantID+"\n"))
	assert.Less(t, strings.Index(txt, agent1), strings.Index(txt, agent2))

	var buf bytes.Buffer
	require.NoError(t, WriteText(&buf, Report{}))
	assert.Equal(t, "a365sink report: 0 spans in 0 requests\nno spans received on the Agent 365 routes\n", buf.String())

	buf.Reset()
	require.NoError(t, WriteText(&buf, Report{Spans: 1, Requests: 1, Agents: []AgentReport{{
		TenantID: "t", AgentID: "a", Spans: 1, Requests: 1, Routes: map[string]int64{"maven": 1},
		Operations: []OperationReport{{Name: "chat", Spans: 1}},
	}}}))
	assert.Contains(t, buf.String(), "    chat: 1 span, all required attributes present\n")
}

// TestReportTypes: attribute values of another type than the contract's
// are reported as the exporter's checkTypes reports them, with pdata's
// names of the value types, in both body formats.
func TestReportTypes(t *testing.T) {
	chat := func(id int, key string, value any) string {
		return spanJSON(id, map[string]any{"gen_ai.operation.name": "chat", key: value})
	}
	spans := []string{
		chat(1, "server.port", 443),
		chat(2, "server.port", "443"),
		chat(3, "server.port", nil), // empty: absent, not mistyped
		chat(4, "server.port", 443.5),
		chat(5, "gen_ai.usage.input_tokens", "33"),
		chat(6, "gen_ai.usage.input_tokens", uint64(18446744073709551615)), // beyond int64: a double
		chat(7, "gen_ai.usage.input_tokens", 33),
		chat(8, "gen_ai.response.finish_reasons", []any{"stop", 1}),
		chat(9, "gen_ai.response.finish_reasons", []any{"stop"}),
		chat(10, "user.id", true),
		chat(11, "user.email", map[string]any{"a": "b"}),
		chat(12, "gen_ai.caller.id", 5), // a legacy name has its field's type
	}
	h := newHarness(t, Config{}, false)
	require.Equal(t, http.StatusOK, h.post(t, globalPath(tenantA, agent1), bodyJSON(spans...)).status)
	op := h.report(t).Agents[0].Operations[0]
	assert.Equal(t, []MistypedAttribute{
		{"gen_ai.caller.id is Int, the contract says String", 1},
		{"gen_ai.response.finish_reasons is Slice, the contract says StringArray", 1},
		{"gen_ai.usage.input_tokens is Double, the contract says Int", 1},
		{"gen_ai.usage.input_tokens is Str, the contract says Int", 1},
		{"server.port is Double, the contract says String", 1},
		{"server.port is Int, the contract says String", 1},
		{"user.email is Map, the contract says String", 1},
		{"user.id is Bool, the contract says String", 1},
	}, op.Mistyped)

	var txt bytes.Buffer
	require.NoError(t, WriteText(&txt, h.sink.Report()))
	assert.Contains(t, txt.String(), "      type: server.port is Int, the contract says String (1 of 12 spans)\n")

	// OTLP/JSON carries bytes, which the a365 shape writes as base64 strings.
	td := ptrace.NewTraces()
	span := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	span.SetTraceID(pcommon.TraceID{1})
	span.SetSpanID(pcommon.SpanID{1})
	span.Attributes().PutStr("gen_ai.operation.name", "chat")
	span.Attributes().PutEmptyBytes("server.address").FromRaw([]byte("host"))
	span.Attributes().PutInt("server.port", 443)
	body, err := (&ptrace.JSONMarshaler{}).MarshalTraces(td)
	require.NoError(t, err)
	otlp := newHarness(t, Config{}, false)
	require.Equal(t, http.StatusOK, otlp.post(t, globalPath(tenantA, agent1), body).status)
	assert.Equal(t, []MistypedAttribute{
		{"server.address is Bytes, the contract says String", 1},
		{"server.port is Int, the contract says String", 1},
	}, otlp.report(t).Agents[0].Operations[0].Mistyped)
}
