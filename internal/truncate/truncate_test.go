package truncate

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/goleak"

	"github.com/agent365-otel/agent365exporter/internal/payload"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const limit = 256000

func measureWith(f payload.Format) Measure {
	return func(s ptrace.Span) int { return len(f.AppendSpan(nil, s, payload.SpanMeta{Op: "chat"})) }
}

var measure = measureWith(payload.NewA365(payload.Options{}))

func protectedKeys(k string) bool {
	return k == "gen_ai.operation.name" || k == "microsoft.tenant.id" || k == "gen_ai.agent.id"
}

func wrapper(t *testing.T, messages ...map[string]any) string {
	b, err := json.Marshal(map[string]any{"version": "0.1.0", "messages": messages})
	require.NoError(t, err)
	return string(b)
}

func newSpan(attrs map[string]string) ptrace.Span {
	span := ptrace.NewSpan()
	span.SetName("chat gpt-4o")
	span.Attributes().PutStr("gen_ai.operation.name", "chat")
	span.Attributes().PutStr("microsoft.tenant.id", "tenant")
	span.Attributes().PutStr("gen_ai.agent.id", "agent")
	for k, v := range attrs {
		span.Attributes().PutStr(k, v)
	}
	return span
}

func attr(t *testing.T, span ptrace.Span, key string) string {
	v, ok := span.Attributes().Get(key)
	require.True(t, ok, key)
	return v.Str()
}

func decodeMessages(t *testing.T, s string) []map[string]any {
	var w struct {
		Version  string           `json:"version"`
		Messages []map[string]any `json:"messages"`
	}
	require.NoError(t, json.Unmarshal([]byte(s), &w), "message wrapper must stay valid JSON: %.200s", s)
	assert.Equal(t, "0.1.0", w.Version)
	return w.Messages
}

func parts(t *testing.T, msg map[string]any) []map[string]any {
	raw, ok := msg["parts"].([]any)
	require.True(t, ok)
	out := make([]map[string]any, len(raw))
	for i, p := range raw {
		out[i] = p.(map[string]any)
	}
	return out
}

func TestSpanUnderLimitUntouched(t *testing.T) {
	span := newSpan(map[string]string{"x": strings.Repeat("a", 1000)})
	res := Span(span, limit, measure, protectedKeys)
	assert.False(t, res.Changed)
	assert.Equal(t, res.Before, res.After)
	assert.Equal(t, strings.Repeat("a", 1000), attr(t, span, "x"))
}

func TestBlobBecomesSentinel(t *testing.T) {
	span := newSpan(map[string]string{
		"gen_ai.input.messages": wrapper(t, map[string]any{"role": "user", "parts": []any{
			map[string]any{"type": "blob", "modality": "image", "mime_type": "image/png", "content": strings.Repeat("b", limit)},
			map[string]any{"type": "text", "content": "Keep this text"},
		}}),
		"small_attr": "keep me",
	})
	res := Span(span, limit, measure, protectedKeys)
	require.True(t, res.Fits(limit))
	assert.Equal(t, measure(span), res.After)
	msgs := decodeMessages(t, attr(t, span, "gen_ai.input.messages"))
	p := parts(t, msgs[0])
	assert.Equal(t, BlobSentinel, p[0]["content"])
	assert.Equal(t, "image/png", p[0]["mime_type"])
	assert.Equal(t, "Keep this text", p[1]["content"])
	assert.Equal(t, "keep me", attr(t, span, "small_attr"))
}

func TestToolCallArgumentsBecomeSentinel(t *testing.T) {
	span := newSpan(map[string]string{
		"gen_ai.output.messages": wrapper(t, map[string]any{"role": "assistant", "parts": []any{
			map[string]any{"type": "tool_call", "name": "search", "id": "call_1", "arguments": map[string]any{"data": strings.Repeat("x", limit)}},
			map[string]any{"type": "text", "content": "short text"},
		}}),
	})
	res := Span(span, limit, measure, protectedKeys)
	require.True(t, res.Fits(limit))
	p := parts(t, decodeMessages(t, attr(t, span, "gen_ai.output.messages"))[0])
	assert.Equal(t, JSONSentinel, p[0]["arguments"])
	assert.Equal(t, "search", p[0]["name"])
	assert.Equal(t, "short text", p[1]["content"])
}

func TestLongTextTrimmedOnCodePointBoundary(t *testing.T) {
	long := strings.Repeat("日本語テキスト", 20000) // 3-byte code points
	span := newSpan(map[string]string{
		"gen_ai.input.messages": wrapper(t,
			map[string]any{"role": "user", "parts": []any{map[string]any{"type": "text", "content": "question"}}},
			map[string]any{"role": "assistant", "parts": []any{map[string]any{"type": "reasoning", "content": long}}},
		),
	})
	res := Span(span, limit, measure, protectedKeys)
	require.True(t, res.Fits(limit))
	assert.Greater(t, res.After, limit-2000, "trims about the excess, not everything")
	msgs := decodeMessages(t, attr(t, span, "gen_ai.input.messages"))
	require.Len(t, msgs, 2)
	assert.Equal(t, "question", parts(t, msgs[0])[0]["content"])
	got := parts(t, msgs[1])[0]["content"].(string)
	assert.True(t, utf8.ValidString(got))
	assert.True(t, strings.HasSuffix(got, TruncatedSuffix))
	assert.True(t, strings.HasPrefix(long, strings.TrimSuffix(got, TruncatedSuffix)))
}

func TestManyMessagesFit(t *testing.T) {
	var msgs []map[string]any
	for range 50 {
		msgs = append(msgs, map[string]any{"role": "user", "parts": []any{map[string]any{"type": "text", "content": strings.Repeat("y", 10000)}}})
	}
	span := newSpan(map[string]string{"gen_ai.input.messages": wrapper(t, msgs...)})
	res := Span(span, limit, measure, protectedKeys)
	require.True(t, res.Fits(limit))
	assert.Len(t, decodeMessages(t, attr(t, span, "gen_ai.input.messages")), 50)
}

func TestPlainStringsTrimmedLargestFirst(t *testing.T) {
	span := newSpan(map[string]string{
		"big":                   strings.Repeat("a", 300000),
		"medium":                strings.Repeat("b", 20000),
		"gen_ai.input.messages": "not a wrapper " + strings.Repeat("c", 1000),
	})
	res := Span(span, limit, measure, protectedKeys)
	require.True(t, res.Fits(limit))
	assert.True(t, strings.HasSuffix(attr(t, span, "big"), TruncatedSuffix))
	assert.Equal(t, strings.Repeat("b", 20000), attr(t, span, "medium"))
	assert.Equal(t, "not a wrapper "+strings.Repeat("c", 1000), attr(t, span, "gen_ai.input.messages"))
}

func TestOverlimitFallbackForManySmallStrings(t *testing.T) {
	// 6000 attributes of 49 bytes: none is worth trimming, so whole values go.
	span := newSpan(nil)
	for i := range 6000 {
		span.Attributes().PutStr("k"+strings.Repeat("0", 4)+itoa(i), strings.Repeat("z", 49))
	}
	require.Greater(t, measure(span), limit)
	res := Span(span, limit, measure, protectedKeys)
	require.True(t, res.Fits(limit), "after %d", res.After)
	assert.Equal(t, "chat", attr(t, span, "gen_ai.operation.name"))
	assert.Equal(t, "tenant", attr(t, span, "microsoft.tenant.id"))
	assert.Equal(t, "agent", attr(t, span, "gen_ai.agent.id"))
}

func TestOverflowWrapperForMessages(t *testing.T) {
	// Many tiny parts: no single part is worth trimming, so the attribute
	// becomes the one-message overflow wrapper.
	var msgs []map[string]any
	for range 12000 {
		msgs = append(msgs, map[string]any{"role": "user", "parts": []any{map[string]any{"type": "text", "content": "short"}}})
	}
	span := newSpan(map[string]string{"gen_ai.output.messages": wrapper(t, msgs...)})
	require.Greater(t, measure(span), limit)
	res := Span(span, limit, measure, protectedKeys)
	require.True(t, res.Fits(limit))
	got := decodeMessages(t, attr(t, span, "gen_ai.output.messages"))
	require.Len(t, got, 1)
	assert.Equal(t, "system", got[0]["role"])
	assert.Equal(t, "[truncated: 12000 messages exceeded limit]", parts(t, got[0])[0]["content"])
}

func TestBareMessageArrayShrunkPerPart(t *testing.T) {
	// The OpenTelemetry semantic conventions write a bare array of messages.
	raw, err := json.Marshal([]any{
		map[string]any{"role": "user", "parts": []any{map[string]any{"type": "blob", "content": strings.Repeat("b", limit)}}},
		map[string]any{"role": "assistant", "parts": []any{map[string]any{"type": "text", "content": "kept"}}},
	})
	require.NoError(t, err)
	span := newSpan(map[string]string{"gen_ai.input.messages": string(raw)})
	res := Span(span, limit, measure, protectedKeys)
	require.True(t, res.Fits(limit))
	var msgs []map[string]any
	require.NoError(t, json.Unmarshal([]byte(attr(t, span, "gen_ai.input.messages")), &msgs), "still a JSON array")
	require.Len(t, msgs, 2)
	assert.Equal(t, BlobSentinel, parts(t, msgs[0])[0]["content"])
	assert.Equal(t, "kept", parts(t, msgs[1])[0]["content"])
}

func TestOtherJSONInMessagesReplacedNotCut(t *testing.T) {
	for name, value := range map[string]string{
		"number":       strings.Repeat("1000", limit/4), // found by FuzzTruncate
		"string":       `"` + strings.Repeat("x", limit) + `"`,
		"other object": `{"text":"` + strings.Repeat("x", limit) + `"}`,
	} {
		t.Run(name, func(t *testing.T) {
			span := newSpan(map[string]string{"gen_ai.output.messages": value})
			res := Span(span, limit, measure, protectedKeys)
			require.True(t, res.Fits(limit))
			got := decodeMessages(t, attr(t, span, "gen_ai.output.messages"))
			require.Len(t, got, 1)
			assert.Equal(t, "[truncated: 0 messages exceeded limit]", parts(t, got[0])[0]["content"])
		})
	}
}

func TestLongNamesTrimmedBeforeAnythingIsReplaced(t *testing.T) {
	span := newSpan(map[string]string{"note": "a value that is kept as it is, long enough to be trimmable"})
	span.SetName(strings.Repeat("n", limit/2))
	for range 100 {
		span.Events().AppendEmpty().SetName(strings.Repeat("é", limit/200))
	}
	res := Span(span, limit, measure, protectedKeys)
	require.True(t, res.Fits(limit))
	assert.Equal(t, 100, span.Events().Len(), "events are kept")
	assert.True(t, strings.HasSuffix(span.Name(), TruncatedSuffix))
	assert.True(t, utf8.ValidString(span.Events().At(99).Name()))
	assert.Equal(t, "a value that is kept as it is, long enough to be trimmable", attr(t, span, "note"))
}

func TestEventsAndLinksLastResort(t *testing.T) {
	span := newSpan(nil)
	for i := range 5000 {
		ev := span.Events().AppendEmpty()
		ev.SetName("event")
		ev.Attributes().PutInt("i", int64(i))
		ev.Attributes().PutStr("exception.type", "E")
	}
	big := span.Attributes().PutEmptySlice("big.array")
	for range 2000 {
		big.AppendEmpty().SetInt(1234567890)
	}
	require.Greater(t, measure(span), limit)
	res := Span(span, limit, measure, protectedKeys)
	require.True(t, res.Fits(limit))
	assert.Positive(t, span.Events().Len(), "only as many events go as needed")
	assert.Less(t, span.Events().Len(), 5000)
	assert.Equal(t, int64(0), span.Events().At(0).Attributes().AsRaw()["i"], "the oldest events stay")
}

func TestIrreducibleSpanReported(t *testing.T) {
	// Protected keys are never changed, so nothing can make this fit.
	span := newSpan(map[string]string{"gen_ai.agent.id": strings.Repeat("n", limit+10)})
	res := Span(span, limit, measure, protectedKeys)
	assert.True(t, res.Changed)
	assert.False(t, res.Fits(limit))
	assert.Equal(t, measure(span), res.After)
}

func TestAttributesDroppedByEncoderDoNotStall(t *testing.T) {
	// The encoder leaves invoke_agent input out; trimming it changes nothing,
	// and truncation must move on to what does.
	f := payload.NewA365(payload.Options{SuppressInvokeAgentInput: true})
	m := func(s ptrace.Span) int { return len(f.AppendSpan(nil, s, payload.SpanMeta{Op: "invoke_agent"})) }
	span := newSpan(map[string]string{
		"gen_ai.input.messages":  strings.Repeat("i", 900000),
		"gen_ai.output.messages": strings.Repeat("o", 300000),
	})
	res := Span(span, limit, m, protectedKeys)
	require.True(t, res.Fits(limit))
	assert.True(t, strings.HasSuffix(attr(t, span, "gen_ai.output.messages"), TruncatedSuffix))
}

func TestInvalidUTF8AndQuotesInContent(t *testing.T) {
	content := strings.Repeat("\"\\\n\xff", 80000)
	span := newSpan(map[string]string{"x": content})
	res := Span(span, limit, measure, protectedKeys)
	require.True(t, res.Fits(limit))
	out := payload.NewA365(payload.Options{}).AppendSpan(nil, span, payload.SpanMeta{Op: "chat"})
	assert.True(t, json.Valid(out))
}

func TestTreeRoundTrip(t *testing.T) {
	in := `{"b":1,"a":[true,false,null,1.50,"x\u0000"],"c":{"d":-0.0e1}}`
	n, err := parseTree(in)
	require.NoError(t, err)
	assert.Equal(t, `{"b":1,"a":[true,false,null,1.50,"x\u0000"],"c":{"d":-0.0e1}}`, string(n.appendJSON(nil)))
	assert.Equal(t, len(n.appendJSON(nil)), n.size())
	for _, bad := range []string{`{"a":`, `[1,2`, `{} {}`, strings.Repeat("[", 1000) + strings.Repeat("]", 1000)} {
		_, err := parseTree(bad)
		assert.Error(t, err, bad)
	}
	v := pcommon.NewValueStr(`{"version":"0.1.0","messages":{}}`)
	assert.Nil(t, parseMessages(v), "messages must be an array")
}

func itoa(i int) string {
	return string([]byte{byte('0' + i/1000%10), byte('0' + i/100%10), byte('0' + i/10%10), byte('0' + i%10)})
}
