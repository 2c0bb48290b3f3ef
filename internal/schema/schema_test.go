package schema

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var common = []string{
	"gen_ai.operation.name", "microsoft.tenant.id", "gen_ai.agent.id", "gen_ai.agent.name",
	"microsoft.a365.agent.blueprint.id", "microsoft.agent.user.id", "microsoft.agent.user.email",
	"client.address", "microsoft.channel.name", "gen_ai.conversation.id",
}

func TestRequired(t *testing.T) {
	tests := []struct {
		op         string
		a2a, ext   bool
		wantBeyond []string
	}{
		{"invoke_agent", false, false, []string{"user.id", "user.email", "gen_ai.execution.type", "gen_ai.input.messages", "gen_ai.output.messages", "server.address", "server.port"}},
		{"invoke_agent", true, false, []string{"user.id", "user.email", "gen_ai.execution.type", "gen_ai.input.messages", "gen_ai.output.messages", "server.address", "server.port",
			"microsoft.a365.caller.agent.id", "microsoft.a365.caller.agent.name", "microsoft.a365.caller.agent.blueprint.id"}},
		{"execute_tool", false, false, []string{"gen_ai.tool.name", "gen_ai.tool.call.arguments", "gen_ai.tool.call.id", "gen_ai.tool.type"}},
		{"execute_tool", false, true, []string{"gen_ai.tool.name", "gen_ai.tool.call.arguments", "gen_ai.tool.call.id", "gen_ai.tool.type", "server.address", "server.port"}},
		{"chat", false, false, []string{"gen_ai.execution.type", "gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.provider.name", "gen_ai.request.model"}},
		{"Chat", false, false, []string{"gen_ai.execution.type", "gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.provider.name", "gen_ai.request.model"}},
		{"GenerateContent", false, false, []string{"gen_ai.execution.type", "gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.provider.name", "gen_ai.request.model"}},
		{"output_messages", false, false, nil},
		{"apply_guardrail", false, false, nil},
	}
	for _, tt := range tests {
		assert.Equal(t, append(append([]string{}, common...), tt.wantBeyond...), Required(tt.op, tt.a2a, tt.ext), tt.op)
	}
}

func TestPresence(t *testing.T) {
	var p Presence
	for _, k := range common {
		p.Observe(k, "x", false)
	}
	p.Observe("gen_ai.tool.name", "get_weather", false)
	p.Observe("gen_ai.tool.call.id", "", true) // empty counts as missing
	p.Observe("gen_ai.tool.type", "Extension", false)
	var missing []string
	p.Missing("execute_tool", func(k string) { missing = append(missing, k) })
	assert.Equal(t, []string{"gen_ai.tool.call.arguments", "gen_ai.tool.call.id", "server.address", "server.port"}, missing)
	assert.True(t, p.Has("gen_ai.tool.name"))
	assert.False(t, p.Has("gen_ai.tool.call.id"))
	assert.False(t, p.Has("not.required"))

	var a2a Presence
	a2a.Observe("gen_ai.execution.type", "agenttoagent", false)
	missing = nil
	a2a.Missing("invoke_agent", func(k string) { missing = append(missing, k) })
	assert.Contains(t, missing, "microsoft.a365.caller.agent.blueprint.id")
	assert.NotContains(t, missing, "gen_ai.execution.type")

	var tool Presence
	tool.Observe("server.address", "api.example", false)
	missing = nil
	tool.Missing("execute_tool", func(k string) { missing = append(missing, k) })
	assert.Contains(t, missing, "server.port", "an endpoint half given needs its other half")
}

func TestRenamesAreLegacyToCurrent(t *testing.T) {
	assert.Len(t, Renames, 17)
	for legacy, current := range Renames {
		assert.NotEqual(t, legacy, current)
		_, chained := Renames[current]
		assert.False(t, chained, "%s renames to a legacy name", legacy)
	}
	assert.Equal(t, "microsoft.tenant.id", Renames["tenant.id"])
	assert.Equal(t, "microsoft.a365.caller.agent.blueprint.id", Renames["gen_ai.caller.agent.applicationid"])
}

func TestKindOf(t *testing.T) {
	assert.Equal(t, KindInference, KindOf("CHAT"))
	assert.Equal(t, KindInference, KindOf("TextCompletion"))
	assert.Equal(t, KindOther, KindOf("textcompletion"))
	assert.Equal(t, KindOther, KindOf(""))
}

func TestInfoMatchesTheLists(t *testing.T) {
	assert.Len(t, keyBits, 26)
	for k, bit := range keyBits {
		assert.Equal(t, bit, Info(k).Bit, k)
	}
	for legacy := range Renames {
		assert.True(t, Info(legacy).Legacy, legacy)
	}
	for k, want := range map[string]Role{
		OperationName: RoleOperation, TenantID: RoleTenant, TenantIDLegacy: RoleTenantLegacy, AgentID: RoleAgent,
		AgentPlatformID: RoleAgentPlatform, "gen_ai.execution.type": RoleExecutionType, "gen_ai.tool.type": RoleToolType,
		"server.address": RoleServer, "server.port": RoleServer,
	} {
		assert.Equal(t, want, Info(k).Role, k)
		assert.True(t, Info(k).Relevant() || Info(k).Role <= RoleAgentPlatform, k)
	}
	assert.Equal(t, KeyInfo{}, Info("gen_ai.agent.description"))
	assert.False(t, Info("gen_ai.agent.description").Relevant())
	assert.True(t, Info("tenant.id").Legacy)
}

func BenchmarkObserve(b *testing.B) {
	keys := append(append([]string{}, common...), "gen_ai.agent.description", "gen_ai.system", "operation.source", "correlation.id")
	for b.Loop() {
		var p Presence
		for _, k := range keys {
			p.Observe(k, "v", false)
		}
	}
}

func TestCurrentMatchesRenames(t *testing.T) {
	for legacy, current := range Renames {
		got, ok := Current(legacy)
		assert.True(t, ok, legacy)
		assert.Equal(t, current, got)
	}
	_, ok := Current("microsoft.tenant.id")
	assert.False(t, ok)
}

func TestAccepted(t *testing.T) {
	for _, op := range Operations {
		assert.True(t, Accepted(op), op)
	}
	assert.True(t, Accepted("CHAT"))
	assert.False(t, Accepted("textcompletion"))
	assert.False(t, Accepted(""))
	assert.False(t, Accepted("embeddings"))
}
