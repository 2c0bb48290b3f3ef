package schema

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// always are the fields every span of a custom agent needs.
var alwaysFields = []string{
	"traceId", "spanId", "gen_ai.operation.name", "gen_ai.conversation.id", "microsoft.tenant.id", "microsoft.channel.name",
	"user.id", "user.email", "microsoft.agent.user.id", "gen_ai.agent.id", "microsoft.a365.agent.blueprint.id",
	"gen_ai.agent.name", "client.address",
}

func withAlways(fields ...string) []string {
	return append(append([]string{}, alwaysFields...), fields...)
}

func TestRequired(t *testing.T) {
	caller := Conditions{CallerAgent: true}
	both := Conditions{CallerAgent: true, AgentUser: true}
	chat := withAlways("parentSpanId", "startTimeUnixNano", "endTimeUnixNano", "gen_ai.input.messages", "gen_ai.output.messages",
		"gen_ai.provider.name", "gen_ai.request.model", "server.address", "server.port")
	tests := []struct {
		op   string
		c    Conditions
		want []string
	}{
		{"invoke_agent", Conditions{}, withAlways("startTimeUnixNano", "endTimeUnixNano", "gen_ai.input.messages", "gen_ai.output.messages",
			"server.address", "server.port")},
		{"invoke_agent", Conditions{AgentUser: true}, withAlways("startTimeUnixNano", "endTimeUnixNano", "gen_ai.input.messages",
			"gen_ai.output.messages", "server.address", "server.port")},
		{"invoke_agent", caller, withAlways("parentSpanId", "startTimeUnixNano", "endTimeUnixNano", "gen_ai.input.messages",
			"gen_ai.output.messages", "server.address", "server.port", "gen_ai.caller.agent.type")},
		{"invoke_agent", both, withAlways("parentSpanId", "startTimeUnixNano", "endTimeUnixNano", "gen_ai.input.messages",
			"gen_ai.output.messages", "server.address", "server.port", "gen_ai.caller.agent.type", "microsoft.agent.user.email",
			"microsoft.a365.caller.agent.name", "microsoft.a365.caller.agent.blueprint.id", "microsoft.a365.caller.agent.user.id")},
		{"execute_tool", Conditions{}, withAlways("parentSpanId", "startTimeUnixNano", "endTimeUnixNano", "gen_ai.tool.call.id",
			"gen_ai.tool.name", "gen_ai.tool.type", "gen_ai.tool.call.arguments", "gen_ai.tool.call.result", "server.address", "server.port")},
		{"chat", Conditions{}, chat},
		{"Chat", Conditions{}, chat},
		{"CHAT", Conditions{}, chat},
		{"inference", Conditions{}, chat},
		{"output_messages", Conditions{}, withAlways("endTimeUnixNano")},
		{"output_messages", both, withAlways("endTimeUnixNano", "gen_ai.caller.agent.type", "microsoft.agent.user.email",
			"microsoft.a365.caller.agent.name", "microsoft.a365.caller.agent.blueprint.id", "microsoft.a365.caller.agent.user.id")},
		// Operations no rule names: what every span needs.
		{"apply_guardrail", Conditions{}, withAlways("startTimeUnixNano", "endTimeUnixNano")},
		{"TextCompletion", Conditions{}, withAlways("startTimeUnixNano", "endTimeUnixNano")},
		{"Inference", Conditions{}, withAlways("startTimeUnixNano", "endTimeUnixNano")},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, Required(tt.op, tt.c), "%s %+v", tt.op, tt.c)
	}
}

// observe feeds attrs (nil: absent; "": blank) and span fields to a Presence.
func observe(attrs map[string]any, span SpanFields) *Presence {
	var p Presence
	for k, v := range attrs {
		switch v := v.(type) {
		case string:
			p.Observe(k, v, v == "" || v == " ")
		case nil:
		default:
			p.Observe(k, "", false)
		}
	}
	p.ObserveSpanFields(span)
	return &p
}

func missing(p *Presence, op string) []string {
	var out []string
	p.Missing(op, func(k string) { out = append(out, k) })
	return out
}

const allSpanFields = SpanTraceID | SpanSpanID | SpanParentSpanID | SpanStartTime | SpanEndTime

// complete has every attribute any rule may require.
func complete() map[string]any {
	m := map[string]any{}
	for _, f := range Fields {
		if !f.Span && normaliseHolds(f) {
			m[f.Name] = "v"
		}
	}
	return m
}

func normaliseHolds(f Field) bool { return len(normalise(f.Required)) > 0 }

func TestPresence(t *testing.T) {
	const user, other = "aaaaaaaa-bbbb-cccc-1111-222222222222", "bbbbbbbb-bbbb-cccc-1111-222222222222"
	callerFields := []string{"gen_ai.caller.agent.type", "microsoft.a365.caller.agent.name", "microsoft.a365.caller.agent.blueprint.id",
		"microsoft.a365.caller.agent.user.id"}
	tests := []struct {
		name  string
		op    string
		set   map[string]any // set on a complete span; nil removes
		span  SpanFields
		want  []string
		extra []string // attributes removed as well
	}{
		{name: "complete", op: "invoke_agent", span: allSpanFields},
		{name: "user and conversation on every span", op: "output_messages", span: allSpanFields,
			set:  map[string]any{"user.id": nil, "user.email": nil, AgentUserID: nil, "gen_ai.conversation.id": nil, "microsoft.channel.name": nil},
			want: []string{"gen_ai.conversation.id", "microsoft.channel.name", "user.id", "user.email", AgentUserID}},
		{name: "a blank value is absent", op: "chat", span: allSpanFields, set: map[string]any{"user.email": " ", "server.port": 443},
			want: []string{"user.email"}},
		{name: "legacy names count", op: "execute_tool", span: allSpanFields,
			set: map[string]any{"user.email": nil, "gen_ai.caller.upn": "u@x", "gen_ai.tool.call.result": nil, "gen_ai.event.content": "{}",
				"user.id": nil, "microsoft.caller.id": "u"}},
		{name: "tool result", op: "execute_tool", span: allSpanFields, set: map[string]any{"gen_ai.tool.call.result": nil},
			want: []string{"gen_ai.tool.call.result"}},
		{name: "chat server", op: "chat", span: allSpanFields, set: map[string]any{"server.address": nil, "server.port": nil},
			want: []string{"server.address", "server.port"}},
		{name: "execute_tool server", op: "execute_tool", span: allSpanFields, set: map[string]any{"server.address": nil},
			want: []string{"server.address"}},
		{name: "no server on output_messages", op: "output_messages", span: allSpanFields, set: map[string]any{"server.address": nil, "server.port": nil}},
		{name: "execution type no longer", op: "invoke_agent", span: allSpanFields, set: map[string]any{"gen_ai.execution.type": nil}},
		{name: "tokens only for Foundry", op: "chat", span: allSpanFields,
			set: map[string]any{"gen_ai.usage.input_tokens": nil, "gen_ai.response.finish_reasons": nil, "operation.source": nil, "correlation.id": nil}},

		{name: "parent of a tool", op: "execute_tool", span: allSpanFields &^ SpanParentSpanID, want: []string{"parentSpanId"}},
		{name: "parent of chat", op: "Chat", span: allSpanFields &^ SpanParentSpanID, want: []string{"parentSpanId"}},
		{name: "parent of inference", op: "inference", span: allSpanFields &^ SpanParentSpanID, want: []string{"parentSpanId"}},
		{name: "root invoke_agent", op: "invoke_agent", span: allSpanFields &^ SpanParentSpanID},
		{name: "invoke_agent called by an agent", op: "invoke_agent", span: allSpanFields &^ SpanParentSpanID,
			set: map[string]any{CallerAgentID: "caller"}, want: []string{"parentSpanId"}},
		{name: "called by an agent, legacy name", op: "invoke_agent", span: allSpanFields &^ SpanParentSpanID,
			set: map[string]any{"gen_ai.caller.agent.id": "caller"}, want: []string{"parentSpanId"}},
		{name: "output_messages start time", op: "output_messages", span: allSpanFields &^ SpanStartTime},
		{name: "chat start time", op: "chat", span: allSpanFields &^ SpanStartTime, want: []string{"startTimeUnixNano"}},
		{name: "end time", op: "output_messages", span: SpanTraceID | SpanSpanID, want: []string{"endTimeUnixNano"}},

		// microsoft.agent.user.email: an agent user that is not all zeros, called by an agent.
		{name: "agent user email without caller", op: "invoke_agent", span: allSpanFields, set: map[string]any{"microsoft.agent.user.email": nil}},
		{name: "agent user email with caller", op: "invoke_agent", span: allSpanFields,
			set: map[string]any{"microsoft.agent.user.email": nil, CallerAgentID: "c", AgentUserID: user}, extra: callerFields,
			want: []string{"gen_ai.caller.agent.type", "microsoft.agent.user.email", "microsoft.a365.caller.agent.name",
				"microsoft.a365.caller.agent.blueprint.id", "microsoft.a365.caller.agent.user.id"}},
		{name: "zero agent user", op: "invoke_agent", span: allSpanFields,
			set: map[string]any{"microsoft.agent.user.email": nil, CallerAgentID: "c", AgentUserID: ZeroGUID}, extra: callerFields,
			want: []string{"gen_ai.caller.agent.type"}},
		{name: "blank agent user", op: "invoke_agent", span: allSpanFields,
			set: map[string]any{"microsoft.agent.user.email": nil, CallerAgentID: "c", AgentUserID: ""}, extra: callerFields,
			want: []string{AgentUserID, "gen_ai.caller.agent.type"}},
		{name: "legacy agent user and caller", op: "chat", span: allSpanFields,
			set: map[string]any{"microsoft.agent.user.email": nil, AgentUserID: nil, "gen_ai.agent.userid": user, "gen_ai.caller.agent.id": "c"},
			want: []string{"gen_ai.caller.agent.type", "microsoft.agent.user.email", "microsoft.a365.caller.agent.name",
				"microsoft.a365.caller.agent.blueprint.id", "microsoft.a365.caller.agent.user.id"}, extra: callerFields},
		{name: "the current agent user id decides", op: "chat", span: allSpanFields,
			set: map[string]any{"microsoft.agent.user.email": nil, AgentUserID: ZeroGUID, "gen_ai.agent.user.id": user, "gen_ai.agent.userid": other,
				CallerAgentID: "c", "gen_ai.caller.agent.type": "a"}},
		{name: "else the first legacy name", op: "chat", span: allSpanFields,
			set: map[string]any{"microsoft.agent.user.email": nil, AgentUserID: nil, "gen_ai.agent.user.id": ZeroGUID, "gen_ai.agent.userid": user,
				CallerAgentID: "c", "gen_ai.caller.agent.type": "a"}},
		{name: "a blank current name does not decide", op: "chat", span: allSpanFields,
			set: map[string]any{"microsoft.agent.user.email": nil, AgentUserID: " ", "gen_ai.agent.userid": user,
				CallerAgentID: "c", "gen_ai.caller.agent.type": "a"},
			want: []string{"microsoft.agent.user.email"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			attrs := complete()
			for _, k := range tt.extra {
				delete(attrs, k)
			}
			for k, v := range tt.set {
				if v == nil {
					delete(attrs, k)
				} else {
					attrs[k] = v
				}
			}
			p := observe(attrs, tt.span)
			got := missing(p, tt.op)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, len(tt.want) == 0, p.Complete(tt.op))
		})
	}
}

func TestPresenceFacts(t *testing.T) {
	p := observe(map[string]any{"gen_ai.caller.upn": "u@x", "gen_ai.agent.userid": "u"}, 0)
	assert.True(t, p.Has("user.email"), "under its legacy name")
	assert.False(t, p.Has("user.id"))
	assert.False(t, p.Has("not.in.contract"))
	assert.Equal(t, Conditions{AgentUser: true}, p.Conditions())
	p.Observe("gen_ai.caller.agent.id", "c", false)
	assert.Equal(t, Conditions{CallerAgent: true, AgentUser: true}, p.Conditions())

	span := ptrace.NewSpan()
	assert.Equal(t, SpanFields(0), SpanFieldsOf(span))
	span.SetTraceID(pcommon.TraceID{1})
	span.SetParentSpanID(pcommon.SpanID{2})
	span.SetEndTimestamp(3)
	assert.Equal(t, SpanTraceID|SpanParentSpanID|SpanEndTime, SpanFieldsOf(span))
	var q Presence
	q.ObserveSpan(span)
	assert.True(t, q.Has("traceId"))
	assert.True(t, q.Has("parentSpanId"))
	assert.False(t, q.Has("spanId"))
	assert.False(t, q.Has("startTimeUnixNano"))
}

func TestCanonicalOperation(t *testing.T) {
	for op, want := range map[string]string{
		"chat": "chat", "Chat": "chat", "CHAT": "chat", "cHaT": "chat", "chats": "chats", "": "",
		"invoke_agent": "invoke_agent", "Invoke_Agent": "Invoke_Agent", "TextCompletion": "TextCompletion", "inference": "inference",
		"ｃhat": "ｃhat", // full-width: not chat
	} {
		assert.Equal(t, want, CanonicalOperation(op), op)
	}
	assert.Zero(t, testing.AllocsPerRun(10, func() { _ = CanonicalOperation("CHAT") }))
}

func TestAccepted(t *testing.T) {
	for _, op := range Operations {
		assert.True(t, Accepted(op), op)
	}
	assert.True(t, Accepted("CHAT"))
	assert.False(t, Accepted("inference"), "in the contract, not in the SDKs' allow-list")
	assert.False(t, Accepted("textcompletion"))
	assert.False(t, Accepted(""))
	assert.False(t, Accepted("embeddings"))
}

func TestPresenceDoesNotAllocate(t *testing.T) {
	attrs := complete()
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	allocs := testing.AllocsPerRun(100, func() {
		var p Presence
		for _, k := range keys {
			p.Observe(k, "v", false)
		}
		p.ObserveSpanFields(allSpanFields)
		if !p.Complete("chat") {
			p.Missing("chat", func(string) {})
		}
	})
	assert.Zero(t, allocs)
}
