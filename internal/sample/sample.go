// Package sample builds realistic Agent 365 agent traces: one conversation
// turn is an invoke_agent span with a chat, an execute_tool and an
// output_messages span under it, carrying the attributes the Agent 365 SDKs
// set. Demos, tests, benchmarks and the load generator use it.
package sample // import "github.com/agent365-otel/agent365exporter/internal/sample"

import (
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Agent is one agent instance of a tenant.
type Agent struct {
	TenantID    string
	AgentID     string
	Name        string
	BlueprintID string
}

// DefaultAgents are two tenants with two agents between them.
var DefaultAgents = []Agent{
	{TenantID: "e3064512-cc6d-4703-be71-a2ecaecaa98a", AgentID: "aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb", Name: "Delivery Agent", BlueprintID: "00001111-aaaa-2222-bbbb-3333cccc4444"},
	{TenantID: "e3064512-cc6d-4703-be71-a2ecaecaa98a", AgentID: "cccccccc-3333-4444-5555-dddddddddddd", Name: "Billing Agent", BlueprintID: "00001111-aaaa-2222-bbbb-3333cccc5555"},
	{TenantID: "aaaabbbb-0000-cccc-1111-dddd2222eeee", AgentID: "eeeeeeee-6666-7777-8888-ffffffffffff", Name: "Travel Agent", BlueprintID: "00001111-aaaa-2222-bbbb-3333cccc6666"},
}

// Options shape generated turns.
type Options struct {
	// MessageBytes is the approximate size of each message text (default 1 KB).
	MessageBytes int
	// Legacy writes the 2025 attribute names (tenant.id, gen_ai.caller.id, ...).
	Legacy bool
	// Omit leaves these attribute keys out, to show validation reports.
	Omit []string
}

// Turn appends one conversation turn of agent to ss: four spans.
func Turn(ss ptrace.ScopeSpans, agent Agent, turn int, start time.Time, opts Options) {
	size := opts.MessageBytes
	if size <= 0 {
		size = 1024
	}
	// Ids are unique per start time, turn and agent.
	var tid pcommon.TraceID
	binary.BigEndian.PutUint64(tid[:8], uint64(start.UnixNano())+uint64(turn))
	binary.BigEndian.PutUint64(tid[8:], hash(agent.AgentID))
	question := text("What is the delivery status of order "+fmt.Sprint(10000+turn)+"? ", size/2)
	answer := text("Your order is on its way and should arrive tomorrow. ", size)
	conversation := fmt.Sprintf("conv-%s-%d", agent.AgentID[:8], turn/4)

	rootID := spanID(tid, 1)
	root := newSpan(ss, tid, 1, pcommon.SpanID{}, "invoke_agent "+agent.Name, ptrace.SpanKindClient, start, 1500*time.Millisecond)
	common(root, agent, "invoke_agent", conversation, opts)
	a := root.Attributes()
	a.PutStr(key(opts, "gen_ai.execution.type"), "HumanToAgent")
	a.PutStr("server.address", "agent.contoso.example")
	a.PutInt("server.port", 443)
	a.PutStr("gen_ai.input.messages", messages("user", question))
	a.PutStr("gen_ai.output.messages", messages("assistant", answer))
	omit(a, opts)

	chat := newSpan(ss, tid, 2, rootID, "chat gpt-4o-mini", ptrace.SpanKindClient, start.Add(50*time.Millisecond), 900*time.Millisecond)
	common(chat, agent, "chat", conversation, opts)
	c := chat.Attributes()
	c.PutStr(key(opts, "gen_ai.execution.type"), "HumanToAgent")
	c.PutStr("gen_ai.provider.name", "azure.ai.openai")
	c.PutStr("gen_ai.request.model", "gpt-4o-mini")
	c.PutStr("server.address", "contoso.openai.azure.example")
	c.PutInt("server.port", 443)
	c.PutStr("gen_ai.response.model", "gpt-4o-mini-2024-07-18")
	c.PutInt("gen_ai.usage.input_tokens", 33+int64(turn%50))
	c.PutInt("gen_ai.usage.output_tokens", 32+int64(turn%40))
	c.PutDouble("gen_ai.request.temperature", 0.2)
	fr := c.PutEmptySlice("gen_ai.response.finish_reasons")
	fr.AppendEmpty().SetStr("tool_calls")
	c.PutStr("gen_ai.input.messages", messages("user", question))
	c.PutStr("gen_ai.output.messages", messages("assistant", answer[:len(answer)/2]))
	omit(c, opts)

	tool := newSpan(ss, tid, 3, rootID, "execute_tool get_order_status", ptrace.SpanKindInternal, start.Add(960*time.Millisecond), 300*time.Millisecond)
	common(tool, agent, "execute_tool", conversation, opts)
	tl := tool.Attributes()
	tl.PutStr("gen_ai.tool.name", "get_order_status")
	tl.PutStr("gen_ai.tool.type", "function")
	tl.PutStr("gen_ai.tool.call.id", fmt.Sprintf("call_%d", turn))
	tl.PutStr("gen_ai.tool.description", "Looks up the delivery status of an order")
	tl.PutStr(key(opts, "gen_ai.tool.call.arguments"), fmt.Sprintf(`{"order_id":"%d"}`, 10000+turn))
	tl.PutStr(key(opts, "gen_ai.tool.call.result"), `{"status":"in_transit","eta":"tomorrow"}`)
	tl.PutStr("server.address", "orders.contoso.example")
	tl.PutInt("server.port", 443)
	omit(tl, opts)

	out := newSpan(ss, tid, 4, rootID, "output_messages", ptrace.SpanKindInternal, start.Add(1300*time.Millisecond), 100*time.Millisecond)
	common(out, agent, "output_messages", conversation, opts)
	out.Attributes().PutStr("gen_ai.output.messages", messages("assistant", answer))
	omit(out.Attributes(), opts)
}

// Traces returns turns conversation turns, spread over agents, under one
// resource per agent: 4*turns spans.
func Traces(agents []Agent, turns int, start time.Time, opts Options) ptrace.Traces {
	td := ptrace.NewTraces()
	scopes := make([]ptrace.ScopeSpans, len(agents))
	for i, ag := range agents {
		rs := td.ResourceSpans().AppendEmpty()
		r := rs.Resource().Attributes()
		r.PutStr("service.name", strings.ToLower(strings.ReplaceAll(ag.Name, " ", "-")))
		r.PutStr("service.namespace", "contoso.agents")
		r.PutStr("telemetry.sdk.language", "python")
		r.PutStr("telemetry.sdk.name", "opentelemetry")
		r.PutStr("telemetry.sdk.version", "1.38.0")
		ss := rs.ScopeSpans().AppendEmpty()
		ss.Scope().SetName("Agent365Sdk")
		ss.Scope().SetVersion("1.0.0")
		scopes[i] = ss
	}
	for t := range turns {
		i := t % len(agents)
		Turn(scopes[i], agents[i], t, start.Add(time.Duration(t)*time.Second), opts)
	}
	return td
}

func newSpan(ss ptrace.ScopeSpans, tid pcommon.TraceID, n uint64, parent pcommon.SpanID, name string, kind ptrace.SpanKind, start time.Time, d time.Duration) ptrace.Span {
	s := ss.Spans().AppendEmpty()
	s.SetTraceID(tid)
	s.SetSpanID(spanID(tid, n))
	if !parent.IsEmpty() {
		s.SetParentSpanID(parent)
	}
	s.SetName(name)
	s.SetKind(kind)
	s.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
	s.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(d)))
	return s
}

// common sets the attributes every Agent 365 span carries.
func common(s ptrace.Span, ag Agent, op, conversation string, opts Options) {
	a := s.Attributes()
	a.PutStr("gen_ai.operation.name", op)
	a.PutStr(key(opts, "microsoft.tenant.id"), ag.TenantID)
	a.PutStr("gen_ai.agent.id", ag.AgentID)
	a.PutStr("gen_ai.agent.name", ag.Name)
	a.PutStr("gen_ai.agent.description", "An AI agent powered by Azure OpenAI")
	a.PutStr(key(opts, "microsoft.a365.agent.blueprint.id"), ag.BlueprintID)
	a.PutStr(key(opts, "microsoft.agent.user.id"), "aaaaaaaa-bbbb-cccc-1111-222222222222")
	a.PutStr(key(opts, "microsoft.agent.user.email"), "delivery-agent@contoso.example")
	a.PutStr(key(opts, "client.address"), "203.0.113.7")
	a.PutStr(key(opts, "microsoft.channel.name"), "msteams")
	a.PutStr("gen_ai.conversation.id", conversation)
	// The SDKs copy the turn's baggage, the user among it, to every span.
	a.PutStr(key(opts, "user.id"), "bbbbbbbb-cccc-dddd-2222-333333333333")
	a.PutStr(key(opts, "user.name"), "Alex Wilber")
	a.PutStr(key(opts, "user.email"), "alex@contoso.example")
	a.PutStr(key(opts, "microsoft.session.id"), conversation)
	a.PutStr("gen_ai.system", "az.ai.agent365")
	a.PutStr("operation.source", "SDK")
	a.PutStr("correlation.id", "aaaa0000-bb11-2222-33cc-444444dddddd")
}

// legacyNames are the 2025 names of current attributes.
var legacyNames = map[string]string{
	"microsoft.tenant.id":               "tenant.id",
	"microsoft.session.id":              "session.id",
	"microsoft.a365.agent.blueprint.id": "gen_ai.agent.applicationid",
	"microsoft.agent.user.id":           "gen_ai.agent.user.id",
	"microsoft.agent.user.email":        "gen_ai.agent.upn",
	"user.id":                           "gen_ai.caller.id",
	"user.name":                         "gen_ai.caller.name",
	"user.email":                        "gen_ai.caller.upn",
	"client.address":                    "gen_ai.caller.client.ip",
	"microsoft.channel.name":            "gen_ai.channel.name",
	"gen_ai.tool.call.arguments":        "gen_ai.tool.arguments",
	"gen_ai.tool.call.result":           "gen_ai.event.content",
}

func key(opts Options, current string) string {
	if opts.Legacy {
		if l, ok := legacyNames[current]; ok {
			return l
		}
	}
	return current
}

func omit(a pcommon.Map, opts Options) {
	for _, k := range opts.Omit {
		a.Remove(k)
	}
}

func messages(role, content string) string {
	b := []byte(`{"version":"0.1.0","messages":[{"role":"` + role + `","parts":[{"type":"text","content":"`)
	b = append(b, content...)
	return string(append(b, `"}]}]}`...))
}

// text repeats seed to about n bytes; seed holds no JSON-special characters.
func text(seed string, n int) string {
	if n <= len(seed) {
		return seed
	}
	return strings.Repeat(seed, n/len(seed)+1)[:n]
}

// spanID derives span n of a trace from the trace id.
func spanID(tid pcommon.TraceID, n uint64) pcommon.SpanID {
	var id pcommon.SpanID
	binary.BigEndian.PutUint64(id[:], hash(string(tid[:]))^n)
	return id
}

func hash(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}
