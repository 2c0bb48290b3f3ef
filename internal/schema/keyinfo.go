package schema // import "github.com/agent365-otel/agent365exporter/internal/schema"

// Role is what an attribute key does for routing and validation.
type Role uint8

// Roles of attribute keys.
const (
	RoleNone Role = iota
	RoleOperation
	RoleTenant
	RoleTenantLegacy
	RoleAgent
	RoleAgentPlatform
	RoleExecutionType // decides whether invoke_agent is agent-to-agent
	RoleToolType      // decides whether a tool is external
	RoleServer        // server.address and server.port
)

// KeyInfo is everything Agent 365 makes of an attribute key.
type KeyInfo struct {
	Bit    uint64 // the key's bit among required attributes; 0 if none
	Role   Role
	Legacy bool // a legacy name; Current gives the current one
}

// Info tells what a key means. It runs for every attribute of every span,
// so it is one switch over constant strings; the tests check it against
// the required lists, Renames and the identity keys.
func Info(key string) KeyInfo {
	switch key {
	case "gen_ai.operation.name":
		return KeyInfo{Bit: 1 << 0, Role: RoleOperation}
	case "microsoft.tenant.id":
		return KeyInfo{Bit: 1 << 1, Role: RoleTenant}
	case "gen_ai.agent.id":
		return KeyInfo{Bit: 1 << 2, Role: RoleAgent}
	case "gen_ai.agent.name":
		return KeyInfo{Bit: 1 << 3}
	case "microsoft.a365.agent.blueprint.id":
		return KeyInfo{Bit: 1 << 4}
	case "microsoft.agent.user.id":
		return KeyInfo{Bit: 1 << 5}
	case "microsoft.agent.user.email":
		return KeyInfo{Bit: 1 << 6}
	case "client.address":
		return KeyInfo{Bit: 1 << 7}
	case "microsoft.channel.name":
		return KeyInfo{Bit: 1 << 8}
	case "gen_ai.conversation.id":
		return KeyInfo{Bit: 1 << 9}
	case "user.id":
		return KeyInfo{Bit: 1 << 10}
	case "user.email":
		return KeyInfo{Bit: 1 << 11}
	case "gen_ai.execution.type":
		return KeyInfo{Bit: 1 << 12, Role: RoleExecutionType}
	case "gen_ai.input.messages":
		return KeyInfo{Bit: 1 << 13}
	case "gen_ai.output.messages":
		return KeyInfo{Bit: 1 << 14}
	case "server.address":
		return KeyInfo{Bit: 1 << 15, Role: RoleServer}
	case "server.port":
		return KeyInfo{Bit: 1 << 16, Role: RoleServer}
	case "microsoft.a365.caller.agent.id":
		return KeyInfo{Bit: 1 << 17}
	case "microsoft.a365.caller.agent.name":
		return KeyInfo{Bit: 1 << 18}
	case "microsoft.a365.caller.agent.blueprint.id":
		return KeyInfo{Bit: 1 << 19}
	case "gen_ai.tool.name":
		return KeyInfo{Bit: 1 << 20}
	case "gen_ai.tool.call.arguments":
		return KeyInfo{Bit: 1 << 21}
	case "gen_ai.tool.call.id":
		return KeyInfo{Bit: 1 << 22}
	case "gen_ai.tool.type":
		return KeyInfo{Bit: 1 << 23, Role: RoleToolType}
	case "gen_ai.provider.name":
		return KeyInfo{Bit: 1 << 24}
	case "gen_ai.request.model":
		return KeyInfo{Bit: 1 << 25}
	case "tenant.id":
		return KeyInfo{Role: RoleTenantLegacy, Legacy: true}
	case "session.id":
		return KeyInfo{Legacy: true}
	case "gen_ai.agent.applicationid":
		return KeyInfo{Legacy: true}
	case "gen_ai.agent.user.id":
		return KeyInfo{Legacy: true}
	case "gen_ai.agent.upn":
		return KeyInfo{Legacy: true}
	case "gen_ai.caller.id":
		return KeyInfo{Legacy: true}
	case "gen_ai.caller.name":
		return KeyInfo{Legacy: true}
	case "gen_ai.caller.upn":
		return KeyInfo{Legacy: true}
	case "gen_ai.caller.client.ip":
		return KeyInfo{Legacy: true}
	case "gen_ai.channel.name":
		return KeyInfo{Legacy: true}
	case "gen_ai.channel.link":
		return KeyInfo{Legacy: true}
	case "gen_ai.conversation.item.link":
		return KeyInfo{Legacy: true}
	case "gen_ai.tool.arguments":
		return KeyInfo{Legacy: true}
	case "gen_ai.event.content":
		return KeyInfo{Legacy: true}
	case "gen_ai.caller.agent.id":
		return KeyInfo{Legacy: true}
	case "gen_ai.caller.agent.name":
		return KeyInfo{Legacy: true}
	case "gen_ai.caller.agent.applicationid":
		return KeyInfo{Legacy: true}
	case "microsoft.a365.agent.platform.id":
		return KeyInfo{Role: RoleAgentPlatform}
	}
	return KeyInfo{}
}
