package sample

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestTraces(t *testing.T) {
	td := Traces(DefaultAgents, 6, time.Unix(1732465014, 0), Options{})
	require.Equal(t, 24, td.SpanCount())
	require.Equal(t, len(DefaultAgents), td.ResourceSpans().Len())
	ops := map[string]int{}
	spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	for i := 0; i < spans.Len(); i++ {
		a := spans.At(i).Attributes()
		op, _ := a.Get("gen_ai.operation.name")
		ops[op.Str()]++
		tenant, ok := a.Get("microsoft.tenant.id")
		require.True(t, ok)
		assert.Equal(t, DefaultAgents[0].TenantID, tenant.Str())
		if msgs, ok := a.Get("gen_ai.output.messages"); ok {
			assert.True(t, json.Valid([]byte(msgs.Str())), "message wrapper is JSON")
		}
	}
	assert.Equal(t, map[string]int{"invoke_agent": 2, "chat": 2, "execute_tool": 2, "output_messages": 2}, ops)
	assert.Equal(t, spans.At(0).SpanID(), spans.At(1).ParentSpanID(), "chat is under invoke_agent")

	legacy := Traces(DefaultAgents[:1], 1, time.Unix(0, 0), Options{Legacy: true, Omit: []string{"gen_ai.agent.name"}})
	a := legacy.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes()
	_, hasLegacy := a.Get("tenant.id")
	_, hasCurrent := a.Get("microsoft.tenant.id")
	_, hasName := a.Get("gen_ai.agent.name")
	assert.True(t, hasLegacy)
	assert.False(t, hasCurrent)
	assert.False(t, hasName)
}

func TestIDsAreUnique(t *testing.T) {
	seen := map[[8]byte]bool{}
	start := time.Unix(1732465014, 0)
	for _, td := range []ptrace.Traces{
		Traces(DefaultAgents, 40, start, Options{}),
		Traces(DefaultAgents[1:], 40, start.Add(time.Hour), Options{}),
		Traces(DefaultAgents, 40, start.Add(time.Minute), Options{}),
	} {
		for i := 0; i < td.ResourceSpans().Len(); i++ {
			spans := td.ResourceSpans().At(i).ScopeSpans().At(0).Spans()
			for j := 0; j < spans.Len(); j++ {
				id := spans.At(j).SpanID()
				require.False(t, seen[id], "span id %x twice", id)
				seen[id] = true
			}
		}
	}
	assert.Len(t, seen, 160+160+160)
}
