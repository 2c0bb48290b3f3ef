package truncate

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/agent365-otel/agent365exporter/internal/payload"
)

// FuzzTruncate: after truncation a span is within the limit, or nothing
// more could go (every shrinkable value is already small and events and
// links are gone); its encoding is always valid JSON and UTF-8, and a
// message wrapper that was valid JSON stays valid JSON.
func FuzzTruncate(f *testing.F) {
	f.Add(`{"version":"0.1.0","messages":[{"role":"user","parts":[{"type":"text","content":"hello"},{"type":"blob","content":"AAAA"}]}]}`, "plain", 40, 3, uint16(600))
	f.Add(`{"messages":[{"parts":[{"type":"tool_call","arguments":{"q":"x"}}]}]}`, "\xff\"", 200, 0, uint16(300))
	f.Add("not json", strings.Repeat("é", 30), 1, 50, uint16(100))
	f.Fuzz(func(t *testing.T, messages, text string, repeat, events int, limit uint16) {
		repeat = clamp(repeat, 1, 400)
		events = clamp(events, 0, 200)
		span := ptrace.NewSpan()
		span.SetName("chat")
		a := span.Attributes()
		a.PutStr("gen_ai.operation.name", "chat")
		a.PutStr("microsoft.tenant.id", "tenant")
		a.PutStr("gen_ai.input.messages", messages)
		a.PutStr("gen_ai.output.messages", strings.Repeat(messages, min(repeat, 20)))
		a.PutStr("other", strings.Repeat(text, repeat))
		a.PutEmptySlice("list").AppendEmpty().SetStr(strings.Repeat(text, repeat))
		for i := range events {
			ev := span.Events().AppendEmpty()
			ev.SetName(text)
			ev.Attributes().PutInt("i", int64(i))
			ev.Attributes().PutStr("t", text)
		}
		span.Status().SetMessage(strings.Repeat(text, repeat))
		wasJSON := map[string]bool{}
		for _, k := range []string{"gen_ai.input.messages", "gen_ai.output.messages"} {
			v, _ := a.Get(k)
			wasJSON[k] = json.Valid([]byte(v.Str()))
		}
		enc := payload.NewA365(payload.Options{})
		measure := func(s ptrace.Span) int { return len(enc.AppendSpan(nil, s, payload.SpanMeta{Op: "chat"})) }
		res := Span(span, int(limit), measure, protectedKeys)

		out := enc.AppendSpan(nil, span, payload.SpanMeta{Op: "chat"})
		if !json.Valid(out) || !utf8.Valid(out) {
			t.Fatalf("invalid span JSON: %q", out)
		}
		if res.After != len(out) {
			t.Fatalf("reported %d bytes, measured %d", res.After, len(out))
		}
		for k, valid := range wasJSON {
			v, _ := a.Get(k)
			if valid && !json.Valid([]byte(v.Str())) {
				t.Fatalf("%s was valid JSON and is not anymore: %q", k, v.Str())
			}
		}
		if v, _ := a.Get("gen_ai.operation.name"); v.Str() != "chat" {
			t.Fatal("a protected key changed")
		}
		if res.Fits(int(limit)) {
			return
		}
		// Irreducible: nothing large is left that truncation could change.
		if span.Events().Len() > 0 || span.Links().Len() > 0 {
			t.Fatalf("over the limit (%d > %d) with %d events left", res.After, limit, span.Events().Len())
		}
		for k, v := range a.All() {
			if protectedKeys(k) {
				continue
			}
			if v.Type() == pcommon.ValueTypeStr && len(v.Str()) > 200 && !strings.Contains(v.Str(), "exceeded limit") {
				t.Fatalf("over the limit with %s still %d bytes", k, len(v.Str()))
			}
		}
	})
}

func clamp(v, lo, hi int) int {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}
