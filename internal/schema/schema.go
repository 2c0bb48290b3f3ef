// Package schema holds the ingestion service's attribute contract for
// Agent 365 spans (Fields): each field's type, privacy class and legacy
// names, and when the service requires it. Presence evaluates the
// requirements for a span as the service does for a custom agent.
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

// Operations are the gen_ai.operation.name values the service accepts, as
// Microsoft's SDK exporters allow them. The contract's rules also name
// "inference", which the SDKs do not send.
var Operations = []string{
	"invoke_agent", "execute_tool", "output_messages", "chat", "Chat",
	"TextCompletion", "GenerateContent", "apply_guardrail",
}

// CanonicalOperation returns "chat" for "chat" in any letter case, which
// the service accepts as chat, and op itself otherwise. Compare and label
// operations by it.
func CanonicalOperation(op string) string {
	if len(op) == len(OperationChat) && op != OperationChat && strings.EqualFold(op, OperationChat) {
		return OperationChat
	}
	return op
}

// Accepted reports whether the service accepts operation op: one of
// Operations, or chat in any letter case.
func Accepted(op string) bool {
	for _, o := range Operations {
		if o == op {
			return true
		}
	}
	return CanonicalOperation(op) == OperationChat
}

// IdentityKeys are never changed by truncation or redaction: they route the span.
func IdentityKeys(key string) bool {
	switch key {
	case OperationName, TenantID, TenantIDLegacy, AgentID, AgentPlatformID:
		return true
	}
	return false
}
