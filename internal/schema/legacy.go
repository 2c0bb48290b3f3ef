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
