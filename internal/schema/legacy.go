package schema // import "github.com/agent365-otel/agent365exporter/internal/schema"

// Renames maps the attribute names of instrumentation written before March
// 2026 (the seed documents' names) to the current ones.
var Renames = map[string]string{
	"tenant.id":                         TenantID,
	"session.id":                        "microsoft.session.id",
	"gen_ai.agent.applicationid":        "microsoft.a365.agent.blueprint.id",
	"gen_ai.agent.user.id":              "microsoft.agent.user.id",
	"gen_ai.agent.upn":                  "microsoft.agent.user.email",
	"gen_ai.caller.id":                  "user.id",
	"gen_ai.caller.name":                "user.name",
	"gen_ai.caller.upn":                 "user.email",
	"gen_ai.caller.client.ip":           "client.address",
	"gen_ai.channel.name":               "microsoft.channel.name",
	"gen_ai.channel.link":               "microsoft.channel.link",
	"gen_ai.conversation.item.link":     "microsoft.conversation.item.link",
	"gen_ai.tool.arguments":             "gen_ai.tool.call.arguments",
	"gen_ai.event.content":              "gen_ai.tool.call.result",
	"gen_ai.caller.agent.id":            "microsoft.a365.caller.agent.id",
	"gen_ai.caller.agent.name":          "microsoft.a365.caller.agent.name",
	"gen_ai.caller.agent.applicationid": "microsoft.a365.caller.agent.blueprint.id",
}

// Current returns the current name of a legacy attribute key. It is
// Renames[key] as a switch: it runs for every attribute of every span.
func Current(key string) (string, bool) {
	switch key {
	case "tenant.id":
		return "microsoft.tenant.id", true
	case "session.id":
		return "microsoft.session.id", true
	case "gen_ai.agent.applicationid":
		return "microsoft.a365.agent.blueprint.id", true
	case "gen_ai.agent.user.id":
		return "microsoft.agent.user.id", true
	case "gen_ai.agent.upn":
		return "microsoft.agent.user.email", true
	case "gen_ai.caller.id":
		return "user.id", true
	case "gen_ai.caller.name":
		return "user.name", true
	case "gen_ai.caller.upn":
		return "user.email", true
	case "gen_ai.caller.client.ip":
		return "client.address", true
	case "gen_ai.channel.name":
		return "microsoft.channel.name", true
	case "gen_ai.channel.link":
		return "microsoft.channel.link", true
	case "gen_ai.conversation.item.link":
		return "microsoft.conversation.item.link", true
	case "gen_ai.tool.arguments":
		return "gen_ai.tool.call.arguments", true
	case "gen_ai.event.content":
		return "gen_ai.tool.call.result", true
	case "gen_ai.caller.agent.id":
		return "microsoft.a365.caller.agent.id", true
	case "gen_ai.caller.agent.name":
		return "microsoft.a365.caller.agent.name", true
	case "gen_ai.caller.agent.applicationid":
		return "microsoft.a365.caller.agent.blueprint.id", true
	}
	return "", false
}
