package payload

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// otlpBody builds a one-resource, one-scope body in the OTLP JSON format.
func otlpBody(f Format, td ptrace.Traces) []byte {
	rs := td.ResourceSpans().At(0)
	ss := rs.ScopeSpans().At(0)
	l := &Layout{Resource: f.AppendResourceOpen(nil, rs.Resource(), rs.SchemaUrl()), Scopes: [][]byte{f.AppendScopeOpen(nil, ss.Scope(), ss.SchemaUrl())}}
	var buf []byte
	var spans []Span
	for i := 0; i < ss.Spans().Len(); i++ {
		start := len(buf)
		buf = f.AppendSpan(buf, ss.Spans().At(i), SpanMeta{Op: "chat"})
		spans = append(spans, Span{Start: start, End: len(buf)})
	}
	return l.AppendBody(nil, buf, spans)
}

func richTraces() ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.SetSchemaUrl("https://opentelemetry.io/schemas/1.26.0")
	rs.Resource().Attributes().PutStr("service.name", "agent")
	rs.Resource().SetDroppedAttributesCount(2)
	ss := rs.ScopeSpans().AppendEmpty()
	ss.SetSchemaUrl("https://scope.schema")
	ss.Scope().SetName("Agent365Sdk")
	ss.Scope().SetVersion("1.0.0")
	ss.Scope().Attributes().PutBool("s", true)
	goldenSpan().CopyTo(ss.Spans().AppendEmpty())
	s := ss.Spans().AppendEmpty()
	s.SetName("second \xff")
	s.TraceState().FromRaw("k=v")
	s.SetFlags(1)
	s.SetDroppedAttributesCount(1)
	s.SetDroppedEventsCount(2)
	s.SetDroppedLinksCount(3)
	s.Attributes().PutDouble("neg", -1.5e-7)
	s.Attributes().PutDouble("big", 1e300)
	ss.Spans().AppendEmpty() // all defaults
	return td
}

func TestOTLPJSONRoundTripsThroughPdata(t *testing.T) {
	td := richTraces()
	body := otlpBody(NewOTLPJSON(Options{}), td)
	require.True(t, json.Valid(body), "%s", body)
	require.True(t, utf8.Valid(body))

	back, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(body)
	require.NoError(t, err)
	// The one lossy change: invalid UTF-8 becomes U+FFFD.
	td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(1).SetName("second \ufffd")
	assert.Equal(t, td, back)
}

func TestOTLPJSONSpecialDoubles(t *testing.T) {
	td := ptrace.NewTraces()
	ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
	s := ss.Spans().AppendEmpty()
	s.Attributes().PutDouble("nan", math.NaN())
	s.Attributes().PutDouble("inf", math.Inf(1))
	s.Attributes().PutDouble("-inf", math.Inf(-1))
	body := otlpBody(NewOTLPJSON(Options{}), td)
	require.True(t, json.Valid(body))
	back, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(body)
	require.NoError(t, err)
	attrs := back.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes()
	v, _ := attrs.Get("nan")
	assert.True(t, math.IsNaN(v.Double()))
	v, _ = attrs.Get("-inf")
	assert.True(t, math.IsInf(v.Double(), -1))
}

func TestOTLPJSONRewritesAndIdentity(t *testing.T) {
	span := ptrace.NewSpan()
	span.Attributes().PutStr("gen_ai.input.messages", "in")
	span.Attributes().PutStr("gen_ai.output.messages", "out")
	span.Attributes().PutStr("secret", "s")
	span.Attributes().PutStr("gen_ai.agent.id", "stale")
	f := NewOTLPJSON(Options{SuppressInvokeAgentInput: true, Rewriter: upper{}})
	got := string(f.AppendSpan(nil, span, SpanMeta{Op: "invoke_agent", TenantID: "t1", AgentID: "a1"}))
	assert.Contains(t, got, `"attributes":[{"key":"gen_ai.output.messages","value":{"stringValue":"[invoke_agent]"}},`+
		`{"key":"microsoft.tenant.id","value":{"stringValue":"t1"}},{"key":"gen_ai.agent.id","value":{"stringValue":"a1"}}]`)
	assert.NotContains(t, got, "stale")

	only := ptrace.NewSpan()
	only.Attributes().PutStr("secret", "s")
	got = string(f.AppendSpan(nil, only, SpanMeta{Op: "chat"}))
	assert.NotContains(t, got, `"attributes"`, "no empty attribute list")
	assert.True(t, json.Valid([]byte(got)))
	assert.False(t, strings.Contains(got, ",,"))
}
