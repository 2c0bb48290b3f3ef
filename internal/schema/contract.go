package schema // import "github.com/agent365-otel/agent365exporter/internal/schema"

//go:generate go test -run TestInfoSourceIsGenerated -update .

// Field is one field of the ingestion service's attribute contract: a span
// attribute, or a field of the span itself (Span).
type Field struct {
	Name string
	// Span marks a field of the span (traceId, parentSpanId, ...), not an
	// attribute: Presence learns of it from ObserveSpan.
	Span   bool
	Type   Type
	Detail string // the contract's note on the type: "hex", "JSON", the allowed values
	Class  Class
	// Legacy are older names the service reads as this field, in the
	// contract's order. The exporter renames them (upgrade_legacy_attributes)
	// unless DerivedFromLegacy.
	Legacy []string
	// DerivedFromLegacy: the legacy names are OpenTelemetry's own attributes
	// (telemetry.sdk.*, service.name) the service derives the field from;
	// they keep their meaning for every other consumer and are never renamed.
	DerivedFromLegacy bool
	// ItselfLegacy: the name is also another field's legacy name, which is
	// what the exporter makes of it.
	ItselfLegacy bool
	// Required is when the service requires the field.
	Required Rule
}

// Rule says when a field is required: when any of its alternatives holds.
// A nil Rule never requires the field; Rule{{}} always does.
type Rule []Alternative

// Alternative holds when all its conditions hold.
type Alternative []Condition

// Condition tests another field of the span: its value is in Values
// (not in them, with Not). Values = {Any} tests that the field is present.
type Condition struct {
	Field  string
	Not    bool
	Values []string
}

// Values of conditions.
const (
	// Any in Values stands for every non-empty value: the field is present.
	Any = "*"
	// ZeroGUID is the agent user id that does not name an agent user.
	ZeroGUID = "00000000-0000-0000-0000-000000000000"
)

// IngestionSource is set by the service for Microsoft's own agent platforms
// (CopilotStudio, Sydney, Foundry). A collector always sends as a custom
// agent, for which it is none of them: conditions "in" on it never hold,
// conditions "not in" always do.
const IngestionSource = "request.ingestionSource"

// Keys the contract's conditions test, and the operations they name.
const (
	CallerAgentID = "microsoft.a365.caller.agent.id"
	AgentUserID   = "microsoft.agent.user.id"

	OperationExecuteTool    = "execute_tool"
	OperationInference      = "inference"
	OperationChat           = "chat"
	OperationOutputMessages = "output_messages"
)

var (
	always           = Rule{{}}
	callerAgent      = Condition{Field: CallerAgentID, Values: []string{Any}}
	agentUserPresent = Condition{Field: AgentUserID, Values: []string{Any}}
	agentUserNotZero = Condition{Field: AgentUserID, Not: true, Values: []string{ZeroGUID}}
)

func when(alts ...Alternative) Rule        { return alts }
func allOf(conds ...Condition) Alternative { return conds }
func opIn(ops ...string) Condition         { return Condition{Field: OperationName, Values: ops} }
func opNotIn(ops ...string) Condition      { return Condition{Field: OperationName, Not: true, Values: ops} }
func sourceIn(sources ...string) Condition { return Condition{Field: IngestionSource, Values: sources} }
func sourceNotIn(sources ...string) Condition {
	return Condition{Field: IngestionSource, Not: true, Values: sources}
}

// Fields is the ingestion service's attribute contract, as
// testdata/a365-server-contract.md restates it (the test holds the two to
// each other). The fields it requires of a custom agent come first, in
// the contract's order: Presence.Missing reports them in this order. Then
// those it requires only of Microsoft's platforms, then the rest.
var Fields = []Field{
	{Name: "traceId", Span: true, Type: TypeBytes, Detail: "hex", Required: always},
	{Name: "spanId", Span: true, Type: TypeBytes, Detail: "hex", Required: always},
	{Name: OperationName, Type: TypeString, Required: always},
	{Name: "gen_ai.conversation.id", Type: TypeString, Class: ClassEUPI, Required: always},
	{Name: TenantID, Type: TypeString, Class: ClassEUPI, Legacy: []string{TenantIDLegacy}, Required: always},
	{Name: "microsoft.channel.name", Type: TypeString, Legacy: []string{"gen_ai.channel.name"}, Required: always},
	{Name: "user.id", Type: TypeString, Class: ClassEUPI, Legacy: []string{"microsoft.caller.id", "gen_ai.caller.id"}, Required: always},
	{Name: "user.email", Type: TypeString, Class: ClassEUII, Legacy: []string{"microsoft.caller.upn", "gen_ai.caller.upn"}, Required: always},
	{Name: AgentUserID, Type: TypeString, Class: ClassEUPI, Legacy: []string{"gen_ai.agent.user.id", "gen_ai.agent.userid"}, Required: always},
	{Name: AgentID, Type: TypeString, Class: ClassEUPI, Required: always},
	{Name: "microsoft.a365.agent.blueprint.id", Type: TypeString, Class: ClassEUPI, Legacy: []string{"gen_ai.agent.applicationid"}, Required: always},
	{Name: "gen_ai.agent.name", Type: TypeString, Class: ClassCustomerContent, Required: always},
	{Name: "client.address", Type: TypeString, Class: ClassEUII, Legacy: []string{"gen_ai.caller.client.ip"}, Required: always},
	{Name: "parentSpanId", Span: true, Type: TypeBytes, Detail: "hex", Required: when(
		allOf(opIn(OperationExecuteTool, OperationInference, OperationChat)),
		allOf(opIn(OperationInvokeAgent), callerAgent))},
	{Name: "startTimeUnixNano", Span: true, Type: TypeUInt64, Required: when(allOf(opNotIn(OperationOutputMessages)))},
	{Name: "endTimeUnixNano", Span: true, Type: TypeUInt64, Required: when(allOf(sourceNotIn("CopilotStudio")))},
	{Name: InputMessages, Type: TypeString, Detail: "JSON", Class: ClassCustomerContent, Required: when(
		allOf(opIn(OperationInvokeAgent, OperationInference, OperationChat)))},
	{Name: OutputMessages, Type: TypeString, Detail: "JSON", Class: ClassCustomerContent, Required: when(
		allOf(opIn(OperationInvokeAgent, OperationInference, OperationChat)))},
	{Name: "gen_ai.tool.call.id", Type: TypeString, Class: ClassEUPI, Required: when(allOf(opIn(OperationExecuteTool)))},
	{Name: "gen_ai.tool.name", Type: TypeString, Class: ClassCustomerContent, Required: when(allOf(opIn(OperationExecuteTool)))},
	{Name: "gen_ai.tool.type", Type: TypeString, Required: when(allOf(opIn(OperationExecuteTool)))},
	{Name: "gen_ai.tool.call.arguments", Type: TypeString, Detail: "JSON", Class: ClassCustomerContent,
		Legacy: []string{"gen_ai.tool.arguments"}, Required: when(allOf(opIn(OperationExecuteTool)))},
	{Name: "gen_ai.tool.call.result", Type: TypeString, Detail: "JSON", Class: ClassCustomerContent,
		Legacy: []string{"gen_ai.event.content"}, Required: when(allOf(opIn(OperationExecuteTool)))},
	{Name: "gen_ai.provider.name", Type: TypeString, Required: when(allOf(opIn(OperationInference, OperationChat)))},
	{Name: "gen_ai.request.model", Type: TypeString, Required: when(allOf(opIn(OperationInference, OperationChat)))},
	{Name: "server.address", Type: TypeString, Class: ClassOII, Required: when(
		allOf(opIn(OperationInvokeAgent, OperationExecuteTool, OperationInference, OperationChat)))},
	{Name: "server.port", Type: TypeString, Class: ClassOII, Required: when(
		allOf(opIn(OperationInvokeAgent, OperationExecuteTool, OperationInference, OperationChat)))},
	{Name: "gen_ai.caller.agent.type", Type: TypeString, Required: when(allOf(callerAgent))},
	{Name: "microsoft.agent.user.email", Type: TypeString, Class: ClassEUII, Legacy: []string{"microsoft.agent.user.upn", "gen_ai.agent.upn"},
		Required: when(allOf(agentUserPresent, agentUserNotZero, callerAgent))},
	{Name: "microsoft.a365.caller.agent.name", Type: TypeString, Class: ClassCustomerContent, Legacy: []string{"gen_ai.caller.agent.name"},
		Required: when(allOf(callerAgent, agentUserPresent, agentUserNotZero))},
	{Name: "microsoft.a365.caller.agent.blueprint.id", Type: TypeString, Class: ClassEUPI, Legacy: []string{"gen_ai.caller.agent.applicationid"},
		Required: when(allOf(callerAgent, agentUserPresent, agentUserNotZero))},
	{Name: "microsoft.a365.caller.agent.user.id", Type: TypeString, Class: ClassEUPI, Legacy: []string{"gen_ai.caller.agent.userid"},
		Required: when(allOf(callerAgent, agentUserPresent, agentUserNotZero))},

	// Required only of Microsoft's platforms.
	{Name: "gen_ai.usage.input_tokens", Type: TypeInt, Required: when(allOf(sourceIn("Foundry")))},
	{Name: "gen_ai.usage.output_tokens", Type: TypeInt, Required: when(allOf(sourceIn("Foundry")))},
	{Name: "gen_ai.response.finish_reasons", Type: TypeStringArray, Required: when(allOf(sourceIn("Foundry")))},
	{Name: "gen_ai.agent.type", Type: TypeString, Required: when(allOf(sourceIn("CopilotStudio", "Sydney", "Foundry")))},
	{Name: "operation.source", Type: TypeString, Legacy: []string{"telemetry.sdk.name", "telemetry.sdk.language", "telemetry.sdk.version", "service.name"},
		DerivedFromLegacy: true, Required: when(allOf(sourceIn("CopilotStudio", "Sydney", "Foundry")))},
	{Name: "correlation.id", Type: TypeString, Class: ClassEUPI, Required: when(allOf(sourceIn("CopilotStudio", "Sydney")))},
	{Name: "microsoft.session.id", Type: TypeString, Class: ClassEUPI, Legacy: []string{"session.id"},
		Required: when(allOf(sourceIn("CopilotStudio", "Sydney")))},
	{Name: AgentPlatformID, Type: TypeString, Class: ClassEUPI, Legacy: []string{"gen_ai.agent.platformid"},
		Required: when(allOf(sourceIn("CopilotStudio", "Sydney")))},

	// Never required.
	{Name: "name", Span: true, Type: TypeString},
	{Name: "kind", Span: true, Type: TypeString},
	{Name: "status", Span: true, Type: TypeObject, Detail: "code Unset/Ok/Error, message"},
	{Name: "gen_ai.agent.description", Type: TypeString, Class: ClassCustomerContent},
	{Name: "gen_ai.execution.type", Type: TypeString, Detail: "HumanToAgent, Agent2Agent, EventToAgent"},
	{Name: "gen_ai.agent.invocation_input", Type: TypeString, Detail: "JSON", Class: ClassCustomerContent},
	{Name: "gen_ai.agent.invocation_output", Type: TypeString, Detail: "JSON", Class: ClassCustomerContent},
	{Name: "gen_ai.tool.description", Type: TypeString, Class: ClassCustomerContent},
	{Name: "gen_ai.event.content", Type: TypeString, Class: ClassCustomerContent, ItselfLegacy: true},
	{Name: "gen_ai.system", Type: TypeString},
	{Name: "gen_ai.response.finish_reason", Type: TypeString},
	{Name: "host.name", Type: TypeString, Class: ClassOII},
	{Name: "threat.diagnostics.summary", Type: TypeString},
	{Name: "hiring.manager.id", Type: TypeString, Class: ClassEUII},
	{Name: "gen_ai.caller.tenantid", Type: TypeString, Class: ClassEUPI},
	{Name: "gen_ai.tool.server.name", Type: TypeString, Class: ClassOII},
	{Name: "gen_ai.author.app.id", Type: TypeString, Class: ClassOII},
	{Name: "microsoft.channel.link", Type: TypeString, Class: ClassEUPI, Legacy: []string{"gen_ai.channel.link"}},
	{Name: "microsoft.conversation.item.link", Type: TypeString, Class: ClassCustomerContent, Legacy: []string{"gen_ai.conversation.item.link"}},
	{Name: "microsoft.session.description", Type: TypeString, Class: ClassCustomerContent, Legacy: []string{"session.description"}},
	{Name: "user.name", Type: TypeString, Class: ClassEUII, Legacy: []string{"microsoft.caller.name", "gen_ai.caller.name"}},
	{Name: CallerAgentID, Type: TypeString, Class: ClassEUPI, Legacy: []string{"gen_ai.caller.agent.id"}},
	{Name: "microsoft.a365.caller.agent.user.email", Type: TypeString, Class: ClassEUII,
		Legacy: []string{"microsoft.a365.caller.agent.user.upn", "gen_ai.caller.agent.upn"}},
	{Name: "microsoft.a365.caller.agent.platform.id", Type: TypeString, Class: ClassEUPI, Legacy: []string{"gen_ai.caller.agent.platformid"}},
	{Name: "microsoft.a365.agent.thought.process", Type: TypeString, Class: ClassCustomerContent, Legacy: []string{"gen_ai.agent.thought.process"}},
}
