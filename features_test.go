package agent365exporter

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/agent365-otel/agent365exporter/internal/sample"
)

var turnStart = time.Unix(1732465014, 0)

// oneAgent is a tenant with a single agent of sample's realistic spans.
var oneAgent = []sample.Agent{sample.DefaultAgents[0]}

func deliveredAttrs(t *testing.T, svc *fakeService) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, r := range svc.received() {
		for _, rs := range r.Payload.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					out = append(out, s.Attributes)
				}
			}
		}
	}
	return out
}

func TestValidationReport(t *testing.T) {
	svc := newFakeService(t)
	h := newHarness(t, svc.URL, func(c *Config) { c.Validation.LogInterval = time.Hour })
	lacking := sample.Traces(oneAgent, 3, turnStart.Add(time.Hour), sample.Options{Omit: []string{"user.email", "gen_ai.request.model"}})
	require.NoError(t, h.exp.ConsumeTraces(context.Background(), lacking))
	assert.Len(t, deliveredAttrs(t, svc), 12, "report mode sends everything")
	assert.Equal(t, int64(3), h.counter(t, "otelcol_exporter_agent365_missing_attributes",
		attribute.String("operation", "invoke_agent"), attribute.String("attribute", "user.email")))
	assert.Equal(t, int64(3), h.counter(t, "otelcol_exporter_agent365_missing_attributes",
		attribute.String("operation", "chat"), attribute.String("attribute", "gen_ai.request.model")))
	assert.Equal(t, int64(3), h.counter(t, "otelcol_exporter_agent365_missing_attributes",
		attribute.String("operation", "output_messages"), attribute.String("attribute", "user.email")), "user.email is required of every span")
	assert.Equal(t, int64(15), h.counter(t, "otelcol_exporter_agent365_missing_attributes"), "only what the operation requires")

	logs := h.logs.FilterMessageSnippet("miss attributes").All()
	require.Len(t, logs, 1)
	fields := logs[0].ContextMap()
	assert.Equal(t, oneAgent[0].AgentID, fields["agent_id"])
	assert.Equal(t, oneAgent[0].TenantID, fields["tenant_id"])
	assert.Equal(t, "chat: gen_ai.request.model (3 of 3 spans), user.email (3 of 3 spans); execute_tool: user.email (3 of 3 spans); "+
		"invoke_agent: user.email (3 of 3 spans); output_messages: user.email (3 of 3 spans)", fields["missing"])
	// The SDKs send server.port as an int; the contract says String.
	assert.Equal(t, "chat: server.port is Int, the contract says String (3 of 3 spans); "+
		"execute_tool: server.port is Int, the contract says String (3 of 3 spans); "+
		"invoke_agent: server.port is Int, the contract says String (3 of 3 spans)", fields["mistyped"])

	// Within the interval, no second summary; complete spans add nothing missing.
	complete := sample.Traces(oneAgent, 1, turnStart, sample.Options{})
	require.NoError(t, h.exp.ConsumeTraces(context.Background(), complete))
	require.NoError(t, h.exp.ConsumeTraces(context.Background(), lacking))
	assert.Equal(t, 1, h.logs.FilterMessageSnippet("miss attributes").Len())
	assert.Equal(t, int64(30), h.counter(t, "otelcol_exporter_agent365_missing_attributes"))
}

func TestValidationTypes(t *testing.T) {
	td := func() ptrace.Traces {
		return newTraces().span("chat", "chat", tenantA, agent1, map[string]any{
			"server.port":                    443,                  // String in the contract: converts
			"gen_ai.usage.input_tokens":      "33",                 // Int: converts
			"gen_ai.usage.output_tokens":     "033",                // Int: "033" would not come back as itself
			"gen_ai.response.finish_reasons": "stop",               // StringArray: converts
			"gen_ai.request.model":           []any{"gpt-4o-mini"}, // String: a list does not
		}).build()
	}
	t.Run("report", func(t *testing.T) {
		svc := newFakeService(t)
		h := newHarness(t, svc.URL, nil)
		require.NoError(t, h.exp.ConsumeTraces(context.Background(), td()))
		attrs := deliveredAttrs(t, svc)[0]
		assert.Equal(t, float64(443), attrs["server.port"], "never changed by default")
		assert.Equal(t, "33", attrs["gen_ai.usage.input_tokens"])
		assert.Equal(t, int64(5), h.counter(t, "otelcol_exporter_agent365_mistyped_attributes", attribute.String("operation", "chat")))
		assert.Zero(t, h.counter(t, "otelcol_exporter_agent365_coerced_attributes"))
	})
	t.Run("coerce_types", func(t *testing.T) {
		svc := newFakeService(t)
		h := newHarness(t, svc.URL, func(c *Config) { c.Validation.CoerceTypes = true })
		require.NoError(t, h.exp.ConsumeTraces(context.Background(), td()))
		attrs := deliveredAttrs(t, svc)[0]
		assert.Equal(t, "443", attrs["server.port"])
		assert.Equal(t, float64(33), attrs["gen_ai.usage.input_tokens"])
		assert.Equal(t, []any{"stop"}, attrs["gen_ai.response.finish_reasons"])
		assert.Equal(t, "033", attrs["gen_ai.usage.output_tokens"], "not lossless: left as it is and reported")
		assert.Equal(t, []any{"gpt-4o-mini"}, attrs["gen_ai.request.model"])
		assert.Equal(t, int64(3), h.counter(t, "otelcol_exporter_agent365_coerced_attributes"))
		assert.Equal(t, int64(1), h.counter(t, "otelcol_exporter_agent365_mistyped_attributes", attribute.String("attribute", "gen_ai.usage.output_tokens")))
		assert.Equal(t, int64(1), h.counter(t, "otelcol_exporter_agent365_mistyped_attributes", attribute.String("attribute", "gen_ai.request.model")))
	})
}

func TestValidationEnforce(t *testing.T) {
	svc := newFakeService(t)
	h := newHarness(t, svc.URL, func(c *Config) { c.Validation.Mode = ValidationEnforce })
	td := sample.Traces(oneAgent, 2, turnStart, sample.Options{Omit: []string{"gen_ai.tool.call.id"}})
	require.NoError(t, h.exp.ConsumeTraces(context.Background(), td))
	for _, a := range deliveredAttrs(t, svc) {
		assert.NotEqual(t, "execute_tool", a["gen_ai.operation.name"])
	}
	assert.Len(t, deliveredAttrs(t, svc), 6)
	assert.Equal(t, int64(2), h.dropped(t, "missing_required_attributes"))
	assert.Equal(t, 1, h.logs.FilterMessageSnippet("validation.mode: enforce").Len())
}

func TestValidationCallerAgent(t *testing.T) {
	svc := newFakeService(t)
	h := newHarness(t, svc.URL, func(c *Config) { c.Validation.Mode = ValidationEnforce })
	td := sample.Traces(oneAgent, 1, turnStart, sample.Options{})
	spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	// A root invoke_agent called by another agent: it needs a parent and the caller's fields.
	spans.At(0).Attributes().PutStr("microsoft.a365.caller.agent.id", "caller-agent")
	// No longer conditions: an agent-to-agent execution type, an extension tool.
	spans.At(1).Attributes().PutStr("gen_ai.execution.type", "Agent2Agent")
	spans.At(2).Attributes().PutStr("gen_ai.tool.type", "extension")
	require.NoError(t, h.exp.ConsumeTraces(context.Background(), td))
	var ops []string
	for _, a := range deliveredAttrs(t, svc) {
		ops = append(ops, a["gen_ai.operation.name"].(string))
	}
	assert.ElementsMatch(t, []string{"chat", "execute_tool", "output_messages"}, ops)
	assert.Equal(t, map[string]int64{
		"invoke_agent/parentSpanId": 1, "invoke_agent/gen_ai.caller.agent.type": 1, "invoke_agent/microsoft.a365.caller.agent.name": 1,
		"invoke_agent/microsoft.a365.caller.agent.blueprint.id": 1, "invoke_agent/microsoft.a365.caller.agent.user.id": 1,
	}, missingCounts(t, h))
}

// missingCounts reads otelcol_exporter_agent365_missing_attributes as
// "operation/attribute" → spans.
func missingCounts(t *testing.T, h *harness) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	m, err := h.tel.GetMetric("otelcol_exporter_agent365_missing_attributes")
	if err != nil {
		return out
	}
	sum, ok := m.Data.(metricdata.Sum[int64])
	require.True(t, ok)
	for _, dp := range sum.DataPoints {
		op, _ := dp.Attributes.Value("operation")
		attr, _ := dp.Attributes.Value("attribute")
		out[op.AsString()+"/"+attr.AsString()] += dp.Value
	}
	return out
}

// contractSpan has every attribute the service's contract requires of a
// custom agent's span of any operation, no caller agent.
func contractSpan() map[string]any {
	return map[string]any{
		"gen_ai.conversation.id": "conv-1", "microsoft.channel.name": "msteams", "user.id": "user-1", "user.email": "alex@contoso.example",
		"microsoft.agent.user.id": "aaaaaaaa-bbbb-cccc-1111-222222222222", "microsoft.a365.agent.blueprint.id": "blueprint-1",
		"gen_ai.agent.name": "Delivery Agent", "client.address": "203.0.113.7",
		"gen_ai.input.messages": "[]", "gen_ai.output.messages": "[]", "server.address": "agent.contoso.example", "server.port": int64(443),
		"gen_ai.tool.call.id": "call_1", "gen_ai.tool.name": "get_order", "gen_ai.tool.type": "function",
		"gen_ai.tool.call.arguments": "{}", "gen_ai.tool.call.result": "{}",
		"gen_ai.provider.name": "azure.ai.openai", "gen_ai.request.model": "gpt-4o-mini",
	}
}

// TestValidationFollowsTheContract: the service's required rules for a
// custom agent, counted under the canonical operation.
func TestValidationFollowsTheContract(t *testing.T) {
	const zero = "00000000-0000-0000-0000-000000000000"
	caller := map[string]any{"microsoft.a365.caller.agent.id": "caller-agent", "gen_ai.caller.agent.type": "custom",
		"microsoft.a365.caller.agent.name": "Router", "microsoft.a365.caller.agent.blueprint.id": "blueprint-2",
		"microsoft.a365.caller.agent.user.id": "user-2", "microsoft.agent.user.email": "agent@contoso.example"}
	merge := func(maps ...map[string]any) map[string]any {
		out := map[string]any{}
		for _, m := range maps {
			for k, v := range m {
				out[k] = v
			}
		}
		return out
	}
	tests := []struct {
		name      string
		op        string
		set       map[string]any // over contractSpan; nil removes
		parent    bool
		noUpgrade bool
		want      []string // "operation/attribute"
	}{
		{name: "complete root invoke_agent", op: "invoke_agent"},
		{name: "complete chat", op: "chat", parent: true},
		{name: "user on every span", op: "output_messages", parent: true, set: map[string]any{"user.id": nil, "user.email": nil},
			want: []string{"output_messages/user.id", "output_messages/user.email"}},
		{name: "agent user on every span", op: "execute_tool", parent: true, set: map[string]any{"microsoft.agent.user.id": nil},
			want: []string{"execute_tool/microsoft.agent.user.id"}},
		{name: "conversation and channel on every span", op: "apply_guardrail", set: map[string]any{"gen_ai.conversation.id": nil, "microsoft.channel.name": nil},
			want: []string{"apply_guardrail/gen_ai.conversation.id", "apply_guardrail/microsoft.channel.name"}},
		{name: "a tool has a parent", op: "execute_tool", want: []string{"execute_tool/parentSpanId"}},
		{name: "chat has a parent", op: "Chat", want: []string{"chat/parentSpanId"}},
		{name: "invoke_agent called by an agent has a parent", op: "invoke_agent", set: caller, want: []string{"invoke_agent/parentSpanId"}},
		{name: "agent user email when an agent calls for an agent user", op: "invoke_agent", parent: true,
			set: merge(caller, map[string]any{"microsoft.agent.user.email": nil}), want: []string{"invoke_agent/microsoft.agent.user.email"}},
		{name: "no agent user email for the all-zero agent user", op: "invoke_agent", parent: true,
			set: map[string]any{"microsoft.a365.caller.agent.id": "caller-agent", "gen_ai.caller.agent.type": "custom", "microsoft.agent.user.id": zero}},
		{name: "tool result", op: "execute_tool", parent: true, set: map[string]any{"gen_ai.tool.call.result": nil},
			want: []string{"execute_tool/gen_ai.tool.call.result"}},
		{name: "server of chat", op: "chat", parent: true, set: map[string]any{"server.address": nil, "server.port": nil},
			want: []string{"chat/server.address", "chat/server.port"}},
		{name: "server of a tool", op: "execute_tool", parent: true, set: map[string]any{"server.port": nil},
			want: []string{"execute_tool/server.port"}},
		{name: "no server or messages for output_messages", op: "output_messages",
			set: map[string]any{"server.address": nil, "server.port": nil, "gen_ai.input.messages": nil, "gen_ai.output.messages": nil}},
		{name: "legacy names count, not upgraded", op: "chat", parent: true, noUpgrade: true,
			set: map[string]any{"user.email": nil, "gen_ai.caller.upn": "alex@contoso.example", "microsoft.agent.user.id": nil,
				"gen_ai.agent.userid": "aaaaaaaa-bbbb-cccc-1111-222222222222", "client.address": nil, "gen_ai.caller.client.ip": "203.0.113.7"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := newFakeService(t)
			h := newHarness(t, svc.URL, func(c *Config) { c.UpgradeLegacyAttributes = !tt.noUpgrade })
			td := newTraces().span("s", tt.op, tenantA, agent1, merge(contractSpan(), tt.set)).build()
			if tt.parent {
				td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).SetParentSpanID(pcommon.SpanID{9})
			}
			require.NoError(t, h.exp.ConsumeTraces(context.Background(), td))
			want := map[string]int64{}
			for _, k := range tt.want {
				want[k] = 1
			}
			assert.Equal(t, want, missingCounts(t, h))
			assert.Len(t, deliveredAttrs(t, svc), 1, "report mode sends everything")
		})
	}
}

func TestValidationLabelsTheCanonicalOperation(t *testing.T) {
	svc := newFakeService(t)
	h := newHarness(t, svc.URL, nil)
	td := newTraces()
	for _, op := range []string{"chat", "Chat", "CHAT", "cHaT"} {
		td.span(op, op, tenantA, agent1, without(contractSpan(), "user.email"))
	}
	require.NoError(t, h.exp.ConsumeTraces(context.Background(), td.build()))
	assert.Equal(t, map[string]int64{"chat/parentSpanId": 4, "chat/user.email": 4}, missingCounts(t, h))
	assert.Len(t, deliveredAttrs(t, svc), 4)
}

// without returns attrs without keys.
func without(attrs map[string]any, keys ...string) map[string]any {
	for _, k := range keys {
		delete(attrs, k)
	}
	return attrs
}

func TestValidationOff(t *testing.T) {
	svc := newFakeService(t)
	h := newHarness(t, svc.URL, func(c *Config) { c.Validation.Mode = ValidationOff })
	require.NoError(t, h.exp.ConsumeTraces(context.Background(), newTraces().span("bare", "chat", tenantA, agent1, nil).build()))
	assert.Len(t, deliveredAttrs(t, svc), 1)
	_, err := h.tel.GetMetric("otelcol_exporter_agent365_missing_attributes")
	assert.Error(t, err, "nothing counted")
}

func TestLegacyInstrumentationEndToEnd(t *testing.T) {
	svc := newFakeService(t)
	h := newHarness(t, svc.URL, nil)
	td := sample.Traces(oneAgent, 1, turnStart, sample.Options{Legacy: true})
	legacyOnly := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
	_, hasCurrent := legacyOnly.Attributes().Get("microsoft.tenant.id")
	require.False(t, hasCurrent, "the input uses the legacy tenant key")

	require.NoError(t, h.exp.ConsumeTraces(context.Background(), td))
	// Identity found through the legacy tenant key.
	assert.Contains(t, svc.byPath(), globalPath(oneAgent[0].TenantID, oneAgent[0].AgentID))
	for _, a := range deliveredAttrs(t, svc) {
		for legacy := range a {
			assert.NotContains(t, []string{"tenant.id", "session.id", "gen_ai.caller.id", "gen_ai.caller.upn", "gen_ai.agent.applicationid",
				"gen_ai.agent.upn", "gen_ai.channel.name", "gen_ai.caller.client.ip", "gen_ai.tool.arguments", "gen_ai.event.content"}, legacy)
		}
		assert.Equal(t, oneAgent[0].TenantID, a["microsoft.tenant.id"])
		assert.Equal(t, "msteams", a["microsoft.channel.name"])
	}
	assert.Positive(t, h.counter(t, "otelcol_exporter_agent365_upgraded_attributes"))
	assert.Equal(t, int64(0), h.counter(t, "otelcol_exporter_agent365_missing_attributes"), "upgraded spans are complete")
}

func TestLegacyUpgradeNeverOverwrites(t *testing.T) {
	svc := newFakeService(t)
	h := newHarness(t, svc.URL, nil)
	td := newTraces().span("chat", "chat", tenantA, agent1, map[string]any{
		"tenant.id": tenantB, "gen_ai.caller.id": "legacy-user", "user.id": "current-user", "gen_ai.channel.name": "msteams",
	}).build()
	require.NoError(t, h.exp.ConsumeTraces(context.Background(), td))
	a := deliveredAttrs(t, svc)[0]
	assert.Equal(t, tenantA, a["microsoft.tenant.id"])
	assert.Equal(t, tenantB, a["tenant.id"], "kept, since the current key is set")
	assert.Equal(t, "current-user", a["user.id"])
	assert.Equal(t, "legacy-user", a["gen_ai.caller.id"])
	assert.Equal(t, "msteams", a["microsoft.channel.name"])
	assert.NotContains(t, a, "gen_ai.channel.name")

	// Upgrading twice changes nothing more (retries see the same data).
	span := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
	before := span.Attributes().AsRaw()
	assert.Zero(t, upgradeLegacy(span.Attributes()))
	assert.Equal(t, before, span.Attributes().AsRaw())
}

// contractLegacyNames are the legacy names of the service's contract and
// the current names they are upgraded to.
var contractLegacyNames = map[string]string{
	"gen_ai.tool.arguments": "gen_ai.tool.call.arguments", "gen_ai.event.content": "gen_ai.tool.call.result",
	"tenant.id": "microsoft.tenant.id", "gen_ai.channel.name": "microsoft.channel.name", "gen_ai.channel.link": "microsoft.channel.link",
	"gen_ai.conversation.item.link": "microsoft.conversation.item.link", "session.id": "microsoft.session.id",
	"session.description": "microsoft.session.description",
	"microsoft.caller.id": "user.id", "gen_ai.caller.id": "user.id", "microsoft.caller.name": "user.name", "gen_ai.caller.name": "user.name",
	"microsoft.caller.upn": "user.email", "gen_ai.caller.upn": "user.email", "gen_ai.caller.client.ip": "client.address",
	"gen_ai.agent.user.id": "microsoft.agent.user.id", "gen_ai.agent.userid": "microsoft.agent.user.id",
	"microsoft.agent.user.upn": "microsoft.agent.user.email", "gen_ai.agent.upn": "microsoft.agent.user.email",
	"gen_ai.agent.applicationid": "microsoft.a365.agent.blueprint.id", "gen_ai.agent.platformid": "microsoft.a365.agent.platform.id",
	"gen_ai.caller.agent.id": "microsoft.a365.caller.agent.id", "gen_ai.caller.agent.name": "microsoft.a365.caller.agent.name",
	"gen_ai.caller.agent.applicationid":    "microsoft.a365.caller.agent.blueprint.id",
	"gen_ai.caller.agent.userid":           "microsoft.a365.caller.agent.user.id",
	"microsoft.a365.caller.agent.user.upn": "microsoft.a365.caller.agent.user.email", "gen_ai.caller.agent.upn": "microsoft.a365.caller.agent.user.email",
	"gen_ai.caller.agent.platformid": "microsoft.a365.caller.agent.platform.id",
	"gen_ai.agent.thought.process":   "microsoft.a365.agent.thought.process",
}

// TestLegacyUpgradeAllContractNames: every legacy name is upgraded, one
// span per name; OpenTelemetry's own attributes that the service derives
// operation.source from keep their names.
func TestLegacyUpgradeAllContractNames(t *testing.T) {
	svc := newFakeService(t)
	h := newHarness(t, svc.URL, nil)
	b := newTraces().resource(map[string]any{"service.name": "my-agent", "telemetry.sdk.name": "opentelemetry"})
	for legacy := range contractLegacyNames {
		b.span(legacy, "chat", tenantA, agent1, map[string]any{legacy: "v-" + legacy, "telemetry.sdk.language": "python"})
	}
	require.NoError(t, h.exp.ConsumeTraces(context.Background(), b.build()))
	seen := 0
	for _, r := range svc.received() {
		for _, rs := range r.Payload.ResourceSpans {
			assert.Equal(t, "my-agent", rs.Resource.Attributes["service.name"])
			assert.Equal(t, "opentelemetry", rs.Resource.Attributes["telemetry.sdk.name"])
			assert.NotContains(t, rs.Resource.Attributes, "operation.source")
			for _, ss := range rs.ScopeSpans {
				for _, span := range ss.Spans {
					legacy, current := span.Name, contractLegacyNames[span.Name]
					if legacy == "tenant.id" {
						// The current key is set on every span here: kept.
						assert.Equal(t, "v-tenant.id", span.Attributes[legacy])
						seen++
						continue
					}
					assert.NotContains(t, span.Attributes, legacy)
					assert.Equal(t, "v-"+legacy, span.Attributes[current], legacy)
					assert.Equal(t, "python", span.Attributes["telemetry.sdk.language"])
					seen++
				}
			}
		}
	}
	assert.Equal(t, len(contractLegacyNames), seen)
	assert.Len(t, contractLegacyNames, 29)
	assert.Equal(t, int64(28), h.counter(t, "otelcol_exporter_agent365_upgraded_attributes"))
}

// TestLegacyUpgradeFirstNameWins: of two legacy names of one field, the
// first in the contract's order is upgraded, whatever the attributes'
// order; the other stays as it is.
func TestLegacyUpgradeFirstNameWins(t *testing.T) {
	svc := newFakeService(t)
	h := newHarness(t, svc.URL, nil)
	td := newTraces().span("chat", "chat", tenantA, agent1, nil).build()
	a := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes()
	a.PutStr("gen_ai.caller.id", "second")
	a.PutStr("microsoft.caller.id", "first")
	a.PutStr("gen_ai.agent.upn", "second@contoso.example")
	a.PutStr("microsoft.agent.user.upn", "first@contoso.example")
	require.NoError(t, h.exp.ConsumeTraces(context.Background(), td))
	got := deliveredAttrs(t, svc)[0]
	assert.Equal(t, "first", got["user.id"])
	assert.Equal(t, "second", got["gen_ai.caller.id"])
	assert.NotContains(t, got, "microsoft.caller.id")
	assert.Equal(t, "first@contoso.example", got["microsoft.agent.user.email"])
	assert.Equal(t, "second@contoso.example", got["gen_ai.agent.upn"])
	assert.Equal(t, int64(2), h.counter(t, "otelcol_exporter_agent365_upgraded_attributes"))
}

func TestLegacyUpgradeOff(t *testing.T) {
	svc := newFakeService(t)
	h := newHarness(t, svc.URL, func(c *Config) { c.UpgradeLegacyAttributes = false })
	td := sample.Traces(oneAgent, 1, turnStart, sample.Options{Legacy: true})
	require.NoError(t, h.exp.ConsumeTraces(context.Background(), td))
	a := deliveredAttrs(t, svc)[0]
	assert.Equal(t, oneAgent[0].TenantID, a["tenant.id"])
	assert.Equal(t, "msteams", a["gen_ai.channel.name"])
	assert.Equal(t, oneAgent[0].TenantID, a["microsoft.tenant.id"], "the identity the request is sent under is still named")
	assert.Empty(t, missingCounts(t, h), "legacy names count as their current names")
}

func TestRedaction(t *testing.T) {
	svc := newFakeService(t)
	key := "correlation-key"
	h := newHarness(t, svc.URL, func(c *Config) {
		c.Redact = []RedactRule{
			{Keys: []string{"gen_ai.input.messages"}, Action: RedactHash},
			{Keys: []string{"gen_ai.output.messages"}, Action: RedactReplace, Operations: []string{"chat"}},
			{Keys: []string{"gen_ai.tool.call.arguments", "exception.message"}, Action: RedactDrop},
			{Keys: []string{"user.email"}, Action: RedactHash, HashKey: "correlation-key"},
		}
	})
	td := sample.Traces(oneAgent, 2, turnStart, sample.Options{})
	span0 := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
	in, _ := span0.Attributes().Get("gen_ai.input.messages")
	input := in.Str()
	ev := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(2).Events().AppendEmpty()
	ev.SetName("exception")
	ev.Attributes().PutStr("exception.message", "secret path /home/alex")
	ev.Attributes().PutStr("exception.type", "IOError")

	require.NoError(t, h.exp.ConsumeTraces(context.Background(), td))
	body := string(svc.received()[0].Body)
	assert.NotContains(t, body, "secret path")
	assert.NotContains(t, body, "alex@contoso.example")
	assert.NotContains(t, body, "order_id")
	assert.Contains(t, body, `"exception.type":"IOError"`)

	sum := sha256.Sum256([]byte(input))
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte("alex@contoso.example"))
	wantEmail := "hmac-sha256:" + hex.EncodeToString(mac.Sum(nil))
	hashes := map[string]bool{}
	for _, a := range deliveredAttrs(t, svc) {
		switch a["gen_ai.operation.name"] {
		case "invoke_agent":
			assert.Equal(t, wantEmail, a["user.email"])
			assert.NotEqual(t, "[REDACTED]", a["gen_ai.output.messages"], "replace is limited to chat")
			hashes[a["gen_ai.input.messages"].(string)] = true
		case "chat":
			assert.Equal(t, "[REDACTED]", a["gen_ai.output.messages"])
			assert.True(t, strings.HasPrefix(a["gen_ai.input.messages"].(string), "sha256:"))
		case "execute_tool":
			assert.NotContains(t, a, "gen_ai.tool.call.arguments")
		}
	}
	assert.True(t, hashes["sha256:"+hex.EncodeToString(sum[:])], "equal contents give equal hashes")
	// The pushed data keeps its values.
	v, _ := span0.Attributes().Get("gen_ai.input.messages")
	assert.Equal(t, input, v.Str())
}

func TestOTLPJSONFormat(t *testing.T) {
	svc := newFakeService(t)
	h := newHarness(t, svc.URL, func(c *Config) {
		c.Format = FormatOTLPJSON
		c.MaxPayloadBytes = 20000
		c.MaxSpanBytes = 10000
	})
	td := sample.Traces(sample.DefaultAgents, 6, turnStart, sample.Options{MessageBytes: 3000})
	big := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(1)
	big.Attributes().PutStr("gen_ai.output.messages", `{"version":"0.1.0","messages":[{"role":"assistant","parts":[{"type":"text","content":"`+strings.Repeat("x", 50000)+`"}]}]}`)
	require.NoError(t, h.exp.ConsumeTraces(context.Background(), td))

	byAgent := map[string]int{}
	for _, r := range svc.received() {
		assert.LessOrEqual(t, len(r.Body), 20000)
		back, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(r.Body)
		require.NoError(t, err, "the body is standard OTLP JSON")
		require.Equal(t, 1, back.ResourceSpans().Len())
		spans := back.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
		for i := 0; i < spans.Len(); i++ {
			agent, _ := spans.At(i).Attributes().Get("gen_ai.agent.id")
			assert.Contains(t, r.Path, "/agents/"+agent.Str()+"/traces", "grouping and routes as for a365")
			byAgent[agent.Str()]++
		}
	}
	assert.Equal(t, map[string]int{sample.DefaultAgents[0].AgentID: 8, sample.DefaultAgents[1].AgentID: 8, sample.DefaultAgents[2].AgentID: 8}, byAgent)
	assert.Equal(t, int64(1), h.counter(t, "otelcol_exporter_agent365_truncated_spans"))
}

func TestRedactionByPrivacyClass(t *testing.T) {
	svc := newFakeService(t)
	h := newHarness(t, svc.URL, func(c *Config) {
		c.UpgradeLegacyAttributes = false
		c.Redact = []RedactRule{
			{Classes: []PrivacyClass{"EUII"}, Action: RedactDrop},
			{Classes: []PrivacyClass{"EUPI"}, Action: RedactHash, HashKey: "k"},
			{Classes: []PrivacyClass{"CustomerContent"}, Action: RedactReplace, Operations: []string{"invoke_agent"}},
		}
	})
	attrs := map[string]any{
		"user.name": "Alex Wilber", "user.email": "alex@contoso.example", "client.address": "10.0.0.7",
		"microsoft.agent.user.email": "agent@contoso.example", "gen_ai.caller.upn": "legacy@contoso.example", // EUII, legacy name included
		"user.id": "bbbbbbbb-cccc-dddd-2222-333333333333", "gen_ai.conversation.id": "conv-1", // EUPI
		"gen_ai.input.messages": `{"version":"0.1.0","messages":[]}`, "gen_ai.agent.name": "Travel Agent", // CustomerContent
		"server.address": "agent.contoso.example", // OII: kept
	}
	require.NoError(t, h.exp.ConsumeTraces(context.Background(), newTraces().
		span("invoke", "invoke_agent", tenantA, agent1, attrs).span("chat", "chat", tenantA, agent1, attrs).build()))
	got := deliveredAttrs(t, svc)
	require.Len(t, got, 2)
	for _, a := range got {
		for _, k := range []string{"user.name", "user.email", "client.address", "microsoft.agent.user.email", "gen_ai.caller.upn"} {
			assert.NotContains(t, a, k)
		}
		assert.Regexp(t, `^hmac-sha256:[0-9a-f]{64}$`, a["user.id"])
		assert.Regexp(t, `^hmac-sha256:[0-9a-f]{64}$`, a["gen_ai.conversation.id"])
		// Identity keys are EUPI too, but route the span: never redacted.
		assert.Equal(t, tenantA, a["microsoft.tenant.id"])
		assert.Equal(t, agent1, a["gen_ai.agent.id"])
		assert.Equal(t, "agent.contoso.example", a["server.address"])
	}
	assert.Equal(t, RedactedMarker, got[0]["gen_ai.input.messages"], "CustomerContent replaced on invoke_agent")
	assert.Equal(t, RedactedMarker, got[0]["gen_ai.agent.name"])
	assert.Equal(t, `{"version":"0.1.0","messages":[]}`, got[1]["gen_ai.input.messages"], "the rule covers invoke_agent only")
}
