package truncate

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/agent365-otel/agent365exporter/internal/payload"
	"github.com/agent365-otel/agent365exporter/internal/schema"
)

const limit = 256000

var a365 = payload.NewA365(payload.Options{})

func encode(s ptrace.Span) []byte { return a365.AppendSpan(nil, s, payload.SpanMeta{Op: "chat"}) }

func measure(s ptrace.Span) int { return len(encode(s)) }

// protectedKeys are the keys the exporter protects.
var protectedKeys = schema.IdentityKeys

// countingMeasure is measure, counting its calls.
func countingMeasure(calls *int) Measure {
	return func(s ptrace.Span) int { *calls++; return measure(s) }
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

func clone(s ptrace.Span) ptrace.Span {
	c := ptrace.NewSpan()
	s.CopyTo(c)
	return c
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

// bulkAttributes returns a map of n string attributes built in O(n):
// pcommon.Map's Put methods look the key up first, which is quadratic for
// tens of thousands of keys.
func bulkAttributes(tb testing.TB, n int, kv func(i int) (string, string)) pcommon.Map {
	b := []byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":[`)
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		k, v := kv(i)
		b = append(b, `{"key":`...)
		b = payload.AppendString(b, k)
		b = append(b, `,"value":{"stringValue":`...)
		b = payload.AppendString(b, v)
		b = append(b, "}}"...)
	}
	b = append(b, "]}]}]}]}"...)
	td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(b)
	require.NoError(tb, err)
	m := pcommon.NewMap()
	td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().MoveTo(m)
	return m
}

// spanSpec describes the spans of FuzzTruncate and the hostile spans: an
// agent's chat span with its identity, a description, message attributes,
// repeated text in an attribute, an array, the status message and events
// and links, an int array and many short attributes.
type spanSpec struct {
	input, output, text                              string
	repeat, events, limit, arrayLen, shortAttributes int
}

// description is a 73-byte gen_ai.agent.description.
const description = "Answers questions about travel policy and books trips for the sales team."

// identity are the short attributes every spec'd span has.
var identity = [][2]string{
	{"gen_ai.operation.name", "chat"},
	{"microsoft.tenant.id", "7b0c4a1e-93f1-4d2b-a0c8-5e6f7a8b9c0d"},
	{"gen_ai.agent.id", "3f2a9e47-1c6b-4d8e-9a05-b7c1d2e3f4a5"},
	{"gen_ai.agent.name", "Bot"},
	{"gen_ai.request.model", "gpt-4o"},
	{"user.id", "u-4821"},
	{"gen_ai.conversation.id", "conv-19c7a2"},
	{"gen_ai.agent.description", description},
}

func (s spanSpec) clamp() spanSpec {
	s.repeat = clamp(s.repeat, 1, 400)
	s.events = clamp(s.events, 0, 200)
	s.limit = clamp(s.limit, 0, 1<<20)
	s.arrayLen = clamp(s.arrayLen, 0, 60000)
	s.shortAttributes = clamp(s.shortAttributes, 0, 40000)
	return s
}

func (s spanSpec) build(tb testing.TB) ptrace.Span {
	span := ptrace.NewSpan()
	span.SetName("chat gpt-4o")
	span.SetTraceID([16]byte{1, 2, 3})
	span.SetSpanID([8]byte{4, 5, 6})
	span.SetStartTimestamp(1_700_000_000_000_000_000)
	span.SetEndTimestamp(1_700_000_001_000_000_000)
	a := span.Attributes()
	if s.shortAttributes > 0 {
		bulkAttributes(tb, s.shortAttributes, func(i int) (string, string) {
			return fmt.Sprintf("k%05d", i), fmt.Sprintf("v%05d", i)
		}).MoveTo(a)
	}
	for _, kv := range identity {
		a.PutStr(kv[0], kv[1])
	}
	if s.input != "" {
		a.PutStr("gen_ai.input.messages", s.input)
	}
	if s.output != "" {
		a.PutStr("gen_ai.output.messages", s.output)
	}
	a.PutStr("other", strings.Repeat(s.text, s.repeat))
	a.PutEmptySlice("list").AppendEmpty().SetStr(strings.Repeat(s.text, s.repeat))
	if s.arrayLen > 0 {
		arr := a.PutEmptySlice("retrieval.scores")
		arr.EnsureCapacity(s.arrayLen)
		for i := range s.arrayLen {
			arr.AppendEmpty().SetInt(int64(1_000_000 + i))
		}
	}
	for i := range s.events {
		ev := span.Events().AppendEmpty()
		ev.SetName(s.text)
		ev.Attributes().PutInt("i", int64(i))
		ev.Attributes().PutStr("t", s.text)
	}
	for range s.events / 3 {
		l := span.Links().AppendEmpty()
		l.SetTraceID([16]byte{9})
		l.Attributes().PutStr("t", s.text)
	}
	span.Status().SetMessage(strings.Repeat(s.text, s.repeat))
	return span
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
