// Package schema names the span attributes Agent 365 reads: identity,
// operation, messages, the legacy names of older instrumentation, and the
// attributes each operation requires.
package schema // import "github.com/agent365-otel/agent365exporter/internal/schema"

import "strings"

// Attribute keys.
const (
	OperationName        = "gen_ai.operation.name"
	TenantID             = "microsoft.tenant.id"
	TenantIDLegacy       = "tenant.id"
	AgentID              = "gen_ai.agent.id"
	AgentPlatformID      = "microsoft.a365.agent.platform.id"
	InputMessages        = "gen_ai.input.messages"
	OutputMessages       = "gen_ai.output.messages"
	OperationInvokeAgent = "invoke_agent"
)

// Operations are the gen_ai.operation.name values the service accepts.
var Operations = []string{
	"invoke_agent", "execute_tool", "output_messages", "chat", "Chat",
	"TextCompletion", "GenerateContent", "apply_guardrail",
}

// Accepted reports whether the service accepts operation op: one of
// Operations, and "chat" in any letter case, as the service compares it.
func Accepted(op string) bool {
	for _, o := range Operations {
		if o == op {
			return true
		}
	}
	return strings.EqualFold(op, "chat")
}

// IdentityKeys are never changed by truncation or redaction: they route the span.
func IdentityKeys(key string) bool {
	switch key {
	case OperationName, TenantID, TenantIDLegacy, AgentID, AgentPlatformID:
		return true
	}
	return false
}
