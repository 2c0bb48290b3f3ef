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
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"

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
	complete := sample.Traces(oneAgent, 1, turnStart, sample.Options{})
	require.NoError(t, h.exp.ConsumeTraces(context.Background(), complete))
	assert.Equal(t, int64(0), h.counter(t, "otelcol_exporter_agent365_missing_attributes"), "sample spans are complete")
	assert.Zero(t, h.logs.FilterMessageSnippet("miss attributes").Len())

	lacking := sample.Traces(oneAgent, 3, turnStart.Add(time.Hour), sample.Options{Omit: []string{"user.email", "gen_ai.request.model"}})
	require.NoError(t, h.exp.ConsumeTraces(context.Background(), lacking))
	assert.Len(t, deliveredAttrs(t, svc), 16, "report mode sends everything")
	assert.Equal(t, int64(3), h.counter(t, "otelcol_exporter_agent365_missing_attributes",
		attribute.String("operation", "invoke_agent"), attribute.String("attribute", "user.email")))
	assert.Equal(t, int64(3), h.counter(t, "otelcol_exporter_agent365_missing_attributes",
		attribute.String("operation", "chat"), attribute.String("attribute", "gen_ai.request.model")))
	assert.Equal(t, int64(6), h.counter(t, "otelcol_exporter_agent365_missing_attributes"), "only what the operation requires")

	logs := h.logs.FilterMessageSnippet("miss attributes").All()
	require.Len(t, logs, 1)
	fields := logs[0].ContextMap()
	assert.Equal(t, oneAgent[0].AgentID, fields["agent_id"])
	assert.Equal(t, oneAgent[0].TenantID, fields["tenant_id"])
	assert.Equal(t, "chat: gen_ai.request.model (3 of 3 spans); invoke_agent: user.email (3 of 3 spans)", fields["missing"])

	// Within the interval, no second summary.
	require.NoError(t, h.exp.ConsumeTraces(context.Background(), lacking))
	assert.Equal(t, 1, h.logs.FilterMessageSnippet("miss attributes").Len())
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

func TestValidationAgentToAgentAndExternalTool(t *testing.T) {
	svc := newFakeService(t)
	h := newHarness(t, svc.URL, func(c *Config) { c.Validation.Mode = ValidationEnforce })
	td := sample.Traces(oneAgent, 1, turnStart, sample.Options{})
	spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	spans.At(0).Attributes().PutStr("gen_ai.execution.type", "AgentToAgent") // needs the caller agent
	spans.At(2).Attributes().PutStr("gen_ai.tool.type", "extension")         // an external tool needs its server
	spans.At(1).Attributes().PutStr("gen_ai.execution.type", "AgentToAgent") // not required of chat
	require.NoError(t, h.exp.ConsumeTraces(context.Background(), td))
	var ops []string
	for _, a := range deliveredAttrs(t, svc) {
		ops = append(ops, a["gen_ai.operation.name"].(string))
	}
	assert.ElementsMatch(t, []string{"chat", "output_messages"}, ops)
	assert.Equal(t, int64(1), h.counter(t, "otelcol_exporter_agent365_missing_attributes",
		attribute.String("operation", "invoke_agent"), attribute.String("attribute", "microsoft.a365.caller.agent.blueprint.id")))
	assert.Equal(t, int64(1), h.counter(t, "otelcol_exporter_agent365_missing_attributes",
		attribute.String("operation", "execute_tool"), attribute.String("attribute", "server.port")))
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

func TestLegacyUpgradeOff(t *testing.T) {
	svc := newFakeService(t)
	h := newHarness(t, svc.URL, func(c *Config) { c.UpgradeLegacyAttributes = false })
	td := sample.Traces(oneAgent, 1, turnStart, sample.Options{Legacy: true})
	require.NoError(t, h.exp.ConsumeTraces(context.Background(), td))
	a := deliveredAttrs(t, svc)[0]
	assert.Equal(t, oneAgent[0].TenantID, a["tenant.id"])
	assert.Equal(t, "msteams", a["gen_ai.channel.name"])
	assert.Equal(t, oneAgent[0].TenantID, a["microsoft.tenant.id"], "the identity the request is sent under is still named")
	assert.Positive(t, h.counter(t, "otelcol_exporter_agent365_missing_attributes",
		attribute.String("operation", "invoke_agent"), attribute.String("attribute", "microsoft.channel.name")))
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
