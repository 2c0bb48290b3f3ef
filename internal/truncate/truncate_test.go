package truncate

import (
	"encoding/json"
	"math"
	"strconv"
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

func TestSpanUnderLimitUntouched(t *testing.T) {
	span := newSpan(map[string]string{"x": strings.Repeat("a", 1000)})
	res := Span(span, limit, measure, protectedKeys)
	assert.False(t, res.Changed)
	assert.Equal(t, res.Before, res.After)
	assert.Equal(t, 1, res.Measures)
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
	assert.GreaterOrEqual(t, res.After, limit-3, "cuts the excess, to the code point")
	assert.Equal(t, 2, res.Measures, "the a365 sizes predict the cut exactly")
	msgs := decodeMessages(t, attr(t, span, "gen_ai.input.messages"))
	require.Len(t, msgs, 2)
	assert.Equal(t, "question", parts(t, msgs[0])[0]["content"])
	got := parts(t, msgs[1])[0]["content"].(string)
	assert.True(t, utf8.ValidString(got))
	assert.True(t, strings.HasSuffix(got, TruncatedSuffix))
	assert.True(t, strings.HasPrefix(long, strings.TrimSuffix(got, TruncatedSuffix)))
}

func TestMessageTextWithEscapesCutExactly(t *testing.T) {
	// Quotes, backslashes and newlines are escaped twice in the span: once
	// in the message JSON, once in the attribute string.
	long := strings.Repeat("say \"hi\"\\\n\x01é", 30000)
	span := newSpan(map[string]string{"gen_ai.output.messages": wrapper(t,
		map[string]any{"role": "assistant", "parts": []any{map[string]any{"type": "text", "content": long}}})})
	res := Span(span, limit, measure, protectedKeys)
	require.True(t, res.Fits(limit))
	assert.GreaterOrEqual(t, res.After, limit-7)
	got := parts(t, decodeMessages(t, attr(t, span, "gen_ai.output.messages"))[0])[0]["content"].(string)
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
	assert.Equal(t, limit, res.After)
	assert.Equal(t, 2, res.Measures)
	assert.True(t, strings.HasSuffix(attr(t, span, "big"), TruncatedSuffix))
	assert.Equal(t, strings.Repeat("b", 20000), attr(t, span, "medium"))
	assert.Equal(t, "not a wrapper "+strings.Repeat("c", 1000), attr(t, span, "gen_ai.input.messages"))
}

func TestLargestFirstWhateverTheType(t *testing.T) {
	span := newSpan(map[string]string{"text": strings.Repeat("t", 100000)})
	arr := span.Attributes().PutEmptySlice("array")
	for range 30000 {
		arr.AppendEmpty().SetInt(12345678) // 270 KB
	}
	span.Attributes().PutEmptyBytes("bytes").FromRaw(make([]byte, 30000)) // 40 KB
	ev := span.Events().AppendEmpty()
	ev.Attributes().PutStr("exception.stacktrace", strings.Repeat("s", 50000))
	res := Span(span, limit, measure, protectedKeys)
	require.True(t, res.Fits(limit))
	assert.Equal(t, OverlimitSentinel, attr(t, span, "array"), "the largest goes first")
	assert.Equal(t, strings.Repeat("t", 100000), attr(t, span, "text"), "replacing the array was enough")
	v, _ := span.Attributes().Get("bytes")
	assert.Equal(t, pcommon.ValueTypeBytes, v.Type())
	st, _ := span.Events().At(0).Attributes().Get("exception.stacktrace")
	assert.Len(t, st.Str(), 50000)
}

func TestEventAttributeIsAContributorToo(t *testing.T) {
	span := newSpan(map[string]string{"text": strings.Repeat("t", 10000)})
	ev := span.Events().AppendEmpty()
	ev.Attributes().PutStr("exception.stacktrace", strings.Repeat("s", 300000))
	res := Span(span, limit, measure, protectedKeys)
	require.True(t, res.Fits(limit))
	st, _ := span.Events().At(0).Attributes().Get("exception.stacktrace")
	assert.True(t, strings.HasSuffix(st.Str(), TruncatedSuffix))
	assert.Equal(t, strings.Repeat("t", 10000), attr(t, span, "text"))
}

func TestUnneededChangesNotKeptWhenSizesArePredictedWrong(t *testing.T) {
	// OTLP JSON writes an int array element as {"intValue":"1"}: the a365
	// sizes underestimate what replacing the array saves, so the first
	// guess also cuts strings. Measuring shows the array alone is enough.
	otlp := payload.NewOTLPJSON(payload.Options{})
	m := func(s ptrace.Span) int { return len(otlp.AppendSpan(nil, s, payload.SpanMeta{Op: "chat"})) }
	span := newSpan(nil)
	arr := span.Attributes().PutEmptySlice("array")
	for range 10000 {
		arr.AppendEmpty().SetInt(1) // 20 KB in a365, 180 KB in OTLP JSON
	}
	for i := range 20 {
		span.Attributes().PutStr("s"+strconv.Itoa(i), strings.Repeat("x", 5000))
	}
	lim := m(span) - 150000
	res := Span(span, lim, m, protectedKeys)
	require.True(t, res.Fits(lim))
	assert.Equal(t, OverlimitSentinel, attr(t, span, "array"))
	for i := range 20 {
		assert.Equal(t, strings.Repeat("x", 5000), attr(t, span, "s"+strconv.Itoa(i)), "s%d", i)
	}
	assert.LessOrEqual(t, res.Measures, measureBound(21, 0, 0, 0, 24, 1, 3))
}

func TestValuesUnder64BytesRemovedNotReplaced(t *testing.T) {
	// 6000 attributes of 51 bytes: no value is worth cutting or replacing,
	// so attributes go, largest first, and the marker says how many.
	span := newSpan(nil)
	for i := range 6000 {
		span.Attributes().PutStr("k"+strconv.Itoa(10000+i), strings.Repeat("z", 49))
	}
	before := clone(span)
	require.Greater(t, measure(span), limit)
	res := Span(span, limit, measure, protectedKeys)
	require.True(t, res.Fits(limit), "after %d", res.After)
	kept := 0
	for k, v := range span.Attributes().All() {
		if k != MarkerKey {
			orig, _ := before.Attributes().Get(k)
			assert.True(t, orig.Equal(v), k)
			kept++
		}
	}
	removed := before.Attributes().Len() - kept
	assert.Positive(t, removed)
	assert.Equal(t, "removed "+strconv.Itoa(removed)+" attributes", attr(t, span, MarkerKey))
	assert.Equal(t, "chat", attr(t, span, "gen_ai.operation.name"))
	assert.Equal(t, "tenant", attr(t, span, "microsoft.tenant.id"))
	assert.Equal(t, "agent", attr(t, span, "gen_ai.agent.id"))
}

func TestOverflowWrapperForMessages(t *testing.T) {
	// Many tiny parts: no single part is worth cutting, so the attribute
	// becomes the one-message overflow wrapper.
	var msgs []map[string]any
	for range 12000 {
		msgs = append(msgs, map[string]any{"role": "user", "parts": []any{map[string]any{"type": "text", "content": "short"}}})
	}
	span := newSpan(map[string]string{"gen_ai.output.messages": wrapper(t, msgs...), "note": strings.Repeat("n", 100)})
	require.Greater(t, measure(span), limit)
	res := Span(span, limit, measure, protectedKeys)
	require.True(t, res.Fits(limit))
	got := decodeMessages(t, attr(t, span, "gen_ai.output.messages"))
	require.Len(t, got, 1)
	assert.Equal(t, "system", got[0]["role"])
	assert.Equal(t, "[truncated: 12000 messages exceeded limit]", parts(t, got[0])[0]["content"])
	assert.Equal(t, strings.Repeat("n", 100), attr(t, span, "note"))
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

func TestBareMessageArrayOverflowKeepsItsShape(t *testing.T) {
	var msgs []any
	for range 12000 {
		msgs = append(msgs, map[string]any{"role": "user", "parts": []any{map[string]any{"type": "text", "content": "short"}}})
	}
	raw, err := json.Marshal(msgs)
	require.NoError(t, err)
	span := newSpan(map[string]string{"gen_ai.input.messages": string(raw)})
	res := Span(span, limit, measure, protectedKeys)
	require.True(t, res.Fits(limit))
	var got []map[string]any
	require.NoError(t, json.Unmarshal([]byte(attr(t, span, "gen_ai.input.messages")), &got))
	require.Len(t, got, 1)
	assert.Equal(t, "[truncated: 12000 messages exceeded limit]", parts(t, got[0])[0]["content"])
}

func TestOtherJSONInMessagesReplacedNotCut(t *testing.T) {
	for name, value := range map[string]string{
		"number":       strings.Repeat("1000", limit/4), // found by FuzzTruncate
		"string":       `"` + strings.Repeat("x", limit) + `"`,
		"other object": `{"text":"` + strings.Repeat("x", limit) + `"}`,
		"no messages":  `{"version":"0.1.0","messages":[],"extra":"` + strings.Repeat("x", limit) + `"}`,
	} {
		t.Run(name, func(t *testing.T) {
			span := newSpan(map[string]string{"gen_ai.output.messages": value})
			res := Span(span, limit, measure, protectedKeys)
			require.True(t, res.Fits(limit))
			var got string
			require.NoError(t, json.Unmarshal([]byte(attr(t, span, "gen_ai.output.messages")), &got), "still JSON")
			assert.Equal(t, "[truncated: "+strconv.Itoa(len(value))+" bytes of JSON]", got)
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

func TestEventAttributesGoBeforeEvents(t *testing.T) {
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
	// Room for the events without their attributes and about half the "i"s.
	bare := clone(span)
	bare.Attributes().PutStr("big.array", OverlimitSentinel)
	for i := range 5000 {
		bare.Events().At(i).Attributes().Clear()
	}
	lim := measure(bare) + 20000
	res := Span(span, lim, measure, protectedKeys)
	require.True(t, res.Fits(lim))
	assert.Equal(t, OverlimitSentinel, attr(t, span, "big.array"), "values of 64 bytes or more go first")
	require.Equal(t, 5000, span.Events().Len(), "removing event attributes was enough")
	removed := 0
	for i := range 5000 {
		ev := span.Events().At(i)
		n := 2 - ev.Attributes().Len()
		assert.Equal(t, uint32(n), ev.DroppedAttributesCount())
		removed += n
	}
	assert.Equal(t, "removed "+strconv.Itoa(removed)+" event attributes", attr(t, span, MarkerKey))
	_, ok := span.Events().At(4999).Attributes().Get("exception.type")
	assert.False(t, ok, "the largest go first")
	assert.Equal(t, int64(0), span.Events().At(0).Attributes().AsRaw()["i"], "the smallest stay")
}

func TestEventsThenLinksRemovedNewestFirst(t *testing.T) {
	span := newSpan(nil)
	for i := range 4000 {
		span.Events().AppendEmpty().SetName("event " + strconv.Itoa(i))
	}
	for range 3000 {
		span.Links().AppendEmpty().SetTraceID([16]byte{1})
	}
	before := measure(span)
	res := Span(span, before-300000, measure, protectedKeys)
	require.True(t, res.Fits(before-300000))
	assert.Zero(t, span.Events().Len(), "events go before links")
	assert.Positive(t, span.Links().Len())
	assert.Less(t, span.Links().Len(), 3000)
	assert.Equal(t, uint32(4000), span.DroppedEventsCount())
	assert.Equal(t, uint32(3000-span.Links().Len()), span.DroppedLinksCount())
	assert.Equal(t, "removed 4000 events, "+strconv.Itoa(3000-span.Links().Len())+" links", attr(t, span, MarkerKey))

	span = newSpan(nil)
	for i := range 4000 {
		span.Events().AppendEmpty().SetName("event " + strconv.Itoa(i))
	}
	res = Span(span, measure(span)-100000, measure, protectedKeys)
	require.True(t, res.Fits(res.Before-100000))
	require.Positive(t, span.Events().Len())
	assert.Equal(t, "event 0", span.Events().At(0).Name(), "the oldest stay")
	assert.Equal(t, "event "+strconv.Itoa(span.Events().Len()-1), span.Events().At(span.Events().Len()-1).Name())
}

func TestProtectedChangedOnlyWhenNothingElseIsLeft(t *testing.T) {
	span := newSpan(map[string]string{"gen_ai.agent.id": strings.Repeat("n", limit+10), "note": "small", "other": strings.Repeat("o", 1000)})
	span.Events().AppendEmpty().SetName("event")
	res := Span(span, limit, measure, protectedKeys)
	require.True(t, res.Fits(limit))
	assert.Zero(t, span.Events().Len())
	assert.Equal(t, "removed 2 attributes, 1 event", attr(t, span, MarkerKey))
	assert.True(t, strings.HasSuffix(attr(t, span, "gen_ai.agent.id"), TruncatedSuffix))
	assert.Equal(t, "chat", attr(t, span, "gen_ai.operation.name"))
}

func TestIrreducibleSpanNeverGrows(t *testing.T) {
	// The identity the encoder writes from outside the span cannot change:
	// the span stays over the limit, without the marker, and no larger.
	meta := payload.SpanMeta{Op: "chat", AgentID: strings.Repeat("a", 10000)}
	m := func(s ptrace.Span) int { return len(a365.AppendSpan(nil, s, meta)) }
	span := newSpan(map[string]string{"note": "small"})
	res := Span(span, 5000, m, protectedKeys)
	assert.True(t, res.Changed)
	assert.False(t, res.Fits(5000))
	assert.LessOrEqual(t, res.After, res.Before)
	assert.Equal(t, m(span), res.After)
	_, ok := span.Attributes().Get(MarkerKey)
	assert.False(t, ok, "the marker goes when the span cannot fit anyway")
}

func TestIrreducibleSpanNeverGrowsInOTLPJSON(t *testing.T) {
	// OTLP JSON writes the dropped counts: removing the only, empty event
	// saves 13 bytes and "droppedEventsCount":1 costs 23. A span that
	// cannot fit anyway goes without them rather than grow.
	otlp := payload.NewOTLPJSON(payload.Options{})
	meta := payload.SpanMeta{Op: "chat", AgentID: strings.Repeat("a", 10000)}
	m := func(s ptrace.Span) int { return len(otlp.AppendSpan(nil, s, meta)) }
	span := newSpan(nil)
	span.Events().AppendEmpty()
	res := Span(span, 5000, m, protectedKeys)
	assert.LessOrEqual(t, res.After, res.Before)
	assert.Equal(t, m(span), res.After)
	assert.Zero(t, span.DroppedEventsCount())
}

func TestAttributesDroppedByEncoderDoNotStall(t *testing.T) {
	// The encoder leaves invoke_agent input out; cutting it changes nothing,
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
	assert.LessOrEqual(t, res.Measures, measureBound(2, 0, 0, 0, 2, 1, 3))
}

func TestInvalidUTF8AndQuotesInContent(t *testing.T) {
	content := strings.Repeat("\"\\\n\xff", 80000)
	span := newSpan(map[string]string{"x": content})
	res := Span(span, limit, measure, protectedKeys)
	require.True(t, res.Fits(limit))
	assert.GreaterOrEqual(t, res.After, limit-6)
	out := encode(span)
	assert.True(t, json.Valid(out))
}

func TestMarkerText(t *testing.T) {
	for want, r := range map[string]removed{
		"":                         {},
		"removed 1 attribute":      {attributes: 1},
		"removed 2 attributes":     {attributes: 2},
		"removed 1 event, 3 links": {events: 1, links: 3},
		"removed 4 event attributes, 1 link attribute": {eventAttributes: 4, linkAttributes: 1},
	} {
		assert.Equal(t, want, r.text())
		assert.Equal(t, len(want), r.textLen())
	}
}

func TestSizesMatchEncoder(t *testing.T) {
	// The a365 sizes predict the encoder's output; when they drift, Span
	// stays correct but measures more.
	span := ptrace.NewSpan()
	a := span.Attributes()
	a.PutStr("s", "q\"\\\n\x01\xffé日")
	a.PutInt("i", math.MinInt64)
	a.PutDouble("d", 3)
	a.PutDouble("nan", math.NaN())
	a.PutDouble("small", 1e-300)
	a.PutBool("b", false)
	for _, n := range []int{0, 1, 2, 3, 4, 100} {
		a.PutEmptyBytes("bytes" + strconv.Itoa(n)).FromRaw(make([]byte, n))
	}
	a.PutEmpty("empty")
	require.NoError(t, a.PutEmptySlice("slice").FromRaw([]any{1, "x", []any{}, map[string]any{"k": nil}}))
	deep := a.PutEmptyMap("deep")
	for range 40 {
		deep = deep.PutEmptyMap("d")
	}
	for k, v := range a.All() {
		one := ptrace.NewSpan()
		v.CopyTo(one.Attributes().PutEmpty(k))
		empty := ptrace.NewSpan()
		empty.Attributes().PutStr(k, "")
		assert.Equal(t, measure(one)-measure(empty), valueSize(v, 0)-2, k)
	}
	ev := span.Events().AppendEmpty()
	ev.SetTimestamp(1234567)
	ev.SetName("name\"")
	ev.Attributes().PutStr("k", "v")
	ev2 := span.Events().AppendEmpty()
	l := span.Links().AppendEmpty()
	l.Attributes().PutInt("n", 1)
	assert.Equal(t, len(`{"k":"v"}`), mapSize(ev.Attributes()))
	lists := eventSize(ev) + 1 + eventSize(ev2) + linkSize(l) + len("[]")*2 - len("null")*2
	withLists := measure(span)
	span.Events().RemoveIf(func(ptrace.SpanEvent) bool { return true })
	span.Links().RemoveIf(func(ptrace.SpanLink) bool { return true })
	assert.Equal(t, withLists-measure(span), lists)

	for _, s := range []string{"plain", "q\"\\\n\r\t\x01\xffé日", TruncatedSuffix} {
		once := payload.AppendString(nil, s)
		assert.Equal(t, len(once)-2, textCost(s, escapedOnce), s)
		assert.Equal(t, payload.StringSize(string(once))-len(`""\"\"`), textCost(s, escapedTwice), s)
	}
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
