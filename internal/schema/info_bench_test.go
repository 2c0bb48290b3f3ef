package schema

import "testing"

var benchKeys = []string{"gen_ai.operation.name", "microsoft.tenant.id", "gen_ai.agent.description", "gen_ai.system", "operation.source", "correlation.id", "gen_ai.usage.input_tokens", "user.email"}

func BenchmarkInfo(b *testing.B) {
	var n uint64
	for b.Loop() {
		for _, k := range benchKeys {
			n += Info(k).Bit
		}
	}
	_ = n
}

func BenchmarkMapLookup(b *testing.B) {
	var n uint64
	for b.Loop() {
		for _, k := range benchKeys {
			n += contract.keys[k].Bit
		}
	}
	_ = n
}

// chatSpanKeys are the attribute keys of a chat span as the Agent 365 SDKs
// write it (internal/sample).
var chatSpanKeys = []string{
	"gen_ai.operation.name", "microsoft.tenant.id", "gen_ai.agent.id", "gen_ai.agent.name", "gen_ai.agent.description",
	"microsoft.a365.agent.blueprint.id", "microsoft.agent.user.id", "microsoft.agent.user.email", "client.address",
	"microsoft.channel.name", "gen_ai.conversation.id", "microsoft.session.id", "gen_ai.system", "operation.source",
	"correlation.id", "user.id", "user.name", "user.email", "gen_ai.execution.type", "gen_ai.provider.name",
	"gen_ai.request.model", "gen_ai.response.model", "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens",
	"gen_ai.request.temperature", "gen_ai.response.finish_reasons", "gen_ai.input.messages", "gen_ai.output.messages",
	"server.address", "server.port",
}

// BenchmarkPresence fills a Presence from one chat span, as scanIDs does
// (Info, then ObserveInfo for the keys a rule needs), and evaluates it.
func BenchmarkPresence(b *testing.B) {
	complete := 0
	for b.Loop() {
		var p Presence
		for _, k := range chatSpanKeys {
			if info := Info(k); info.Relevant() {
				p.ObserveInfo(info, "v", false)
			}
		}
		p.ObserveSpanFields(SpanTraceID | SpanSpanID | SpanParentSpanID | SpanStartTime | SpanEndTime)
		if p.Complete("chat") {
			complete++
		}
	}
	if complete == 0 {
		b.Fatal("the chat span is complete")
	}
}

// BenchmarkPresenceMissing evaluates an incomplete span and lists what it lacks.
func BenchmarkPresenceMissing(b *testing.B) {
	n := 0
	for b.Loop() {
		var p Presence
		for _, k := range chatSpanKeys[:10] {
			if info := Info(k); info.Relevant() {
				p.ObserveInfo(info, "v", false)
			}
		}
		if !p.Complete("Chat") {
			p.Missing("Chat", func(string) { n++ })
		}
	}
	if n == 0 {
		b.Fatal("the span lacks fields")
	}
}
