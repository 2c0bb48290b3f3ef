package schema // import "github.com/agent365-otel/agent365exporter/internal/schema"

import (
	"strings"
)

// Required attributes, from Microsoft Learn's tables for Agent 365
// observability, in current names. The service accepts spans that miss
// them, but the admin center and Defender views then stay empty.
var (
	requiredAll = []string{
		OperationName, TenantID, AgentID, "gen_ai.agent.name",
		"microsoft.a365.agent.blueprint.id", "microsoft.agent.user.id", "microsoft.agent.user.email",
		"client.address", "microsoft.channel.name", "gen_ai.conversation.id",
	}
	requiredInvokeAgent = []string{
		"user.id", "user.email", "gen_ai.execution.type", InputMessages, OutputMessages,
		"server.address", "server.port",
	}
	requiredAgentToAgent = []string{
		"microsoft.a365.caller.agent.id", "microsoft.a365.caller.agent.name", "microsoft.a365.caller.agent.blueprint.id",
	}
	requiredExecuteTool = []string{
		"gen_ai.tool.name", "gen_ai.tool.call.arguments", "gen_ai.tool.call.id", "gen_ai.tool.type",
	}
	requiredExternalTool = []string{"server.address", "server.port"}
	requiredInference    = []string{
		"gen_ai.execution.type", InputMessages, OutputMessages, "gen_ai.provider.name", "gen_ai.request.model",
	}
)

// keyBits numbers every required key for Presence.
var keyBits = func() map[string]uint64 {
	m := map[string]uint64{}
	for _, list := range [][]string{requiredAll, requiredInvokeAgent, requiredAgentToAgent, requiredExecuteTool, requiredExternalTool, requiredInference} {
		for _, k := range list {
			if _, ok := m[k]; !ok {
				m[k] = 1 << len(m)
			}
		}
	}
	if len(m) > 64 {
		panic("schema: more than 64 required keys")
	}
	return m
}()

func mask(keys []string) uint64 {
	var m uint64
	for _, k := range keys {
		m |= keyBits[k]
	}
	return m
}

var (
	maskAll          = mask(requiredAll)
	maskInvokeAgent  = mask(requiredInvokeAgent)
	maskAgentToAgent = mask(requiredAgentToAgent)
	maskExecuteTool  = mask(requiredExecuteTool)
	maskExternalTool = mask(requiredExternalTool)
	maskInference    = mask(requiredInference)
)

// Kind groups operation names by the attributes they require.
type Kind int

const (
	KindOther Kind = iota // output_messages, apply_guardrail: the common attributes only
	KindInvokeAgent
	KindExecuteTool
	KindInference // chat and its variants
)

// KindOf returns the kind of an operation name.
func KindOf(op string) Kind {
	switch {
	case op == OperationInvokeAgent:
		return KindInvokeAgent
	case op == "execute_tool":
		return KindExecuteTool
	case strings.EqualFold(op, "chat"), op == "TextCompletion", op == "GenerateContent":
		return KindInference
	}
	return KindOther
}

// Presence records which required attributes a span carries. Feed it every
// attribute with Observe, then ask Missing. The zero value is ready to use.
type Presence struct {
	keys         uint64
	agentToAgent bool
	externalTool bool
}

// Observe records one attribute; empty is true when its value is empty or blank.
func (p *Presence) Observe(key, value string, empty bool) {
	p.ObserveInfo(Info(key), value, empty)
}

// ObserveInfo is Observe for a key whose Info is known.
func (p *Presence) ObserveInfo(info KeyInfo, value string, empty bool) {
	if empty {
		return
	}
	p.keys |= info.Bit
	switch info.Role {
	case RoleExecutionType:
		p.agentToAgent = strings.EqualFold(value, "AgentToAgent")
	case RoleToolType:
		// OpenTelemetry's "extension" tools call external APIs.
		p.externalTool = p.externalTool || strings.EqualFold(value, "extension")
	case RoleServer:
		p.externalTool = true
	}
}

// Relevant reports whether Observe needs a key of this Info.
func (i KeyInfo) Relevant() bool { return i.Bit != 0 || i.Role >= RoleExecutionType }

// Has reports whether key was observed with a value.
func (p *Presence) Has(key string) bool {
	bit, ok := keyBits[key]
	return ok && p.keys&bit != 0
}

// Complete reports whether a span of operation op has every required attribute.
func (p *Presence) Complete(op string) bool {
	need := maskAll
	switch KindOf(op) {
	case KindInvokeAgent:
		need |= maskInvokeAgent
		if p.agentToAgent {
			need |= maskAgentToAgent
		}
	case KindExecuteTool:
		need |= maskExecuteTool
		if p.externalTool {
			need |= maskExternalTool
		}
	case KindInference:
		need |= maskInference
	}
	return need&^p.keys == 0
}

// Missing calls fn with each attribute a span of operation op requires and
// lacks, in a fixed order.
func (p *Presence) Missing(op string, fn func(key string)) {
	if p.Complete(op) {
		return
	}
	check := func(list []string) {
		for _, k := range list {
			if p.keys&keyBits[k] == 0 {
				fn(k)
			}
		}
	}
	check(requiredAll)
	switch KindOf(op) {
	case KindInvokeAgent:
		check(requiredInvokeAgent)
		if p.agentToAgent {
			check(requiredAgentToAgent)
		}
	case KindExecuteTool:
		check(requiredExecuteTool)
		if p.externalTool {
			check(requiredExternalTool)
		}
	case KindInference:
		check(requiredInference)
	}
}

// Required lists the attributes a span of operation op requires, with
// conditions: agentToAgent for invoke_agent calls from another agent,
// externalTool for execute_tool spans of external tools.
func Required(op string, agentToAgent, externalTool bool) []string {
	var out []string
	p := Presence{agentToAgent: agentToAgent, externalTool: externalTool}
	p.Missing(op, func(k string) { out = append(out, k) })
	return out
}
