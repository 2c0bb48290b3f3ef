package payload

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func goldenSpan() ptrace.Span {
	span := ptrace.NewSpan()
	span.SetTraceID(pcommon.TraceID{0x4b, 0xd8, 0xf6, 0x06, 0x68, 0x8c, 0x3f, 0x33, 0x47, 0xd6, 0x9c, 0x1b, 0x65, 0x39, 0xc9, 0x57})
	span.SetSpanID(pcommon.SpanID{0x07, 0x66, 0xd6, 0x86, 0x05, 0x23, 0x46, 0x92})
	span.SetParentSpanID(pcommon.SpanID{0x95, 0x9a, 0x85, 0x4f, 0x18, 0xfa, 0x2c, 0x22})
	span.SetName("invoke_agent Azure OpenAI Agent")
	span.SetKind(ptrace.SpanKindClient)
	span.SetStartTimestamp(1732465014017403000)
	span.SetEndTimestamp(1732465029373357000)
	attrs := span.Attributes()
	attrs.PutStr("gen_ai.operation.name", "invoke_agent")
	attrs.PutInt("gen_ai.usage.input_tokens", 33)
	attrs.PutDouble("temperature", 0.5)
	attrs.PutDouble("whole", 3)
	attrs.PutBool("stream", true)
	s := attrs.PutEmptySlice("gen_ai.response.finish_reasons")
	s.AppendEmpty().SetStr("stop")
	s.AppendEmpty().SetInt(2)
	attrs.PutEmptyBytes("blob").FromRaw([]byte("hi!"))
	m := attrs.PutEmptyMap("nested")
	m.PutStr("k", "v")
	attrs.PutEmpty("empty")
	ev := span.Events().AppendEmpty()
	ev.SetTimestamp(1732465014017403001)
	ev.SetName("x")
	link := span.Links().AppendEmpty()
	link.SetTraceID(pcommon.TraceID{1})
	link.SetSpanID(pcommon.SpanID{2})
	link.Attributes().PutStr("a", "b")
	span.Status().SetCode(ptrace.StatusCodeError)
	span.Status().SetMessage("boom")
	return span
}

func TestA365SpanGolden(t *testing.T) {
	got := string(NewA365(Options{}).AppendSpan(nil, goldenSpan(), SpanMeta{Op: "invoke_agent"}))
	want := `{"traceId":"4bd8f606688c3f3347d69c1b6539c957","spanId":"0766d68605234692","parentSpanId":"959a854f18fa2c22",` +
		`"name":"invoke_agent Azure OpenAI Agent","kind":"CLIENT","startTimeUnixNano":1732465014017403000,"endTimeUnixNano":1732465029373357000,` +
		`"attributes":{"gen_ai.operation.name":"invoke_agent","gen_ai.usage.input_tokens":33,"temperature":0.5,"whole":3.0,"stream":true,` +
		`"gen_ai.response.finish_reasons":["stop",2],"blob":"aGkh","nested":{"k":"v"},"empty":null},` +
		`"events":[{"timeUnixNano":1732465014017403001,"name":"x","attributes":null}],` +
		`"links":[{"traceId":"01000000000000000000000000000000","spanId":"0200000000000000","attributes":{"a":"b"}}],` +
		`"status":{"code":"ERROR","message":"boom"}}`
	assert.Equal(t, want, got)
}

func TestA365SpanDefaults(t *testing.T) {
	span := ptrace.NewSpan()
	got := string(NewA365(Options{}).AppendSpan(nil, span, SpanMeta{Op: ""}))
	want := `{"traceId":"00000000000000000000000000000000","spanId":"0000000000000000","name":"","kind":"UNSPECIFIED",` +
		`"startTimeUnixNano":0,"endTimeUnixNano":0,"attributes":null,"events":null,"links":null,"status":{"code":"UNSET","message":""}}`
	assert.Equal(t, want, got)
}

func TestA365KindAndStatusNames(t *testing.T) {
	kinds := map[ptrace.SpanKind]string{
		ptrace.SpanKindInternal: "INTERNAL", ptrace.SpanKindServer: "SERVER", ptrace.SpanKindClient: "CLIENT",
		ptrace.SpanKindProducer: "PRODUCER", ptrace.SpanKindConsumer: "CONSUMER", ptrace.SpanKindUnspecified: "UNSPECIFIED",
		ptrace.SpanKind(42): "UNSPECIFIED",
	}
	for k, want := range kinds {
		assert.Equal(t, want, kindName(k))
	}
	assert.Equal(t, "OK", statusName(ptrace.StatusCodeOk))
	assert.Equal(t, "UNSET", statusName(ptrace.StatusCode(9)))
}

func TestA365ResourceAndScope(t *testing.T) {
	f := NewA365(Options{})
	res := pcommon.NewResource()
	assert.Equal(t, `{"resourceSpans":[{"resource":{"attributes":null},"scopeSpans":[`, string(f.AppendResourceOpen(nil, res, "https://schema")))
	res.Attributes().PutStr("service.name", "my-agent")
	assert.Equal(t, `{"resourceSpans":[{"resource":{"attributes":{"service.name":"my-agent"}},"scopeSpans":[`, string(f.AppendResourceOpen(nil, res, "")))

	sc := pcommon.NewInstrumentationScope()
	assert.Equal(t, `{"scope":{"name":"unknown"},"spans":[`, string(f.AppendScopeOpen(nil, sc, "")))
	sc.SetName("Agent365Sdk")
	sc.SetVersion("1.0.0")
	assert.Equal(t, `{"scope":{"name":"Agent365Sdk","version":"1.0.0"},"spans":[`, string(f.AppendScopeOpen(nil, sc, "")))
}

func TestA365HostileValuesStayValidJSON(t *testing.T) {
	span := ptrace.NewSpan()
	span.SetName("bad \xff\xfe name \x00\x1f\"\\")
	attrs := span.Attributes()
	attrs.PutDouble("nan", math.NaN())
	attrs.PutDouble("inf", math.Inf(1))
	attrs.PutDouble("-inf", math.Inf(-1))
	attrs.PutDouble("tiny", 5e-324)
	attrs.PutDouble("huge", math.MaxFloat64)
	attrs.PutInt("minint", math.MinInt64)
	attrs.PutStr("invalid\xc3", "a\xc3\x28b\xed\xa0\x80c")
	attrs.PutStr("controls", "\x00\x01\b\f\n\r\t\x7f\u2028")
	attrs.PutStr("big", strings.Repeat("é\"", 100000))
	deep := attrs.PutEmptyMap("deep")
	for range 100 {
		deep = deep.PutEmptyMap("d")
	}
	span.Status().SetMessage("\xff")
	out := NewA365(Options{}).AppendSpan(nil, span, SpanMeta{Op: "chat"})
	require.True(t, json.Valid(out), "invalid JSON")
	require.True(t, utf8.Valid(out), "invalid UTF-8")

	var decoded struct {
		Name       string         `json:"name"`
		Attributes map[string]any `json:"attributes"`
	}
	require.NoError(t, json.Unmarshal(out, &decoded))
	assert.Equal(t, "bad \ufffd\ufffd name \x00\x1f\"\\", decoded.Name)
	assert.Nil(t, decoded.Attributes["nan"])
	assert.Nil(t, decoded.Attributes["inf"])
	assert.Contains(t, decoded.Attributes, "-inf")
	assert.Equal(t, 5e-324, decoded.Attributes["tiny"])
	assert.Equal(t, math.MaxFloat64, decoded.Attributes["huge"])
	assert.Equal(t, "a\ufffd(b\ufffd\ufffd\ufffdc", decoded.Attributes["invalid\ufffd"])
	assert.Equal(t, "\x00\x01\b\f\n\r\t\x7f\u2028", decoded.Attributes["controls"])
	assert.Equal(t, strings.Repeat("é\"", 100000), decoded.Attributes["big"])
	assert.Contains(t, string(out), `"minint":-9223372036854775808`)
	assert.Contains(t, string(out), `"[too deep]"`)
}

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	inputs := []string{"", "plain ascii text that is longer than eight bytes", "quote\"in the middle of a long run", "tab\tand\nnewline", "ünïcödé text ✓ 😀", strings.Repeat("x", 1000) + "\x01"}
	for _, in := range inputs {
		out := AppendString(nil, in)
		var back string
		require.NoError(t, json.Unmarshal(out, &back), "%q", out)
		assert.Equal(t, in, back)
		assert.Equal(t, len(out), StringSize(in))
	}
	for _, in := range []string{"\xff", "ab\xc3", "\xed\xa0\x80", "x\x80y"} {
		assert.Equal(t, len(AppendString(nil, in)), StringSize(in), "%q", in)
	}
}

func TestAppendFloat(t *testing.T) {
	tests := map[float64]string{0: "0.0", 1: "1.0", -2.5: "-2.5", 1e21: "1e+21", 1e-7: "1e-07", 123456789: "1.23456789e+08"}
	for f, want := range tests {
		got := string(AppendFloat(nil, f))
		assert.Equal(t, want, got)
		var back float64
		require.NoError(t, json.Unmarshal([]byte(got), &back))
		assert.Equal(t, f, back)
	}
}

type upper struct{}

func (upper) Rewrite(op, key string, v pcommon.Value) (Action, string) {
	switch key {
	case "secret":
		return Drop, ""
	case "gen_ai.output.messages":
		return Replace, "[" + op + "]"
	}
	return Keep, ""
}

func TestA365Rewrites(t *testing.T) {
	span := ptrace.NewSpan()
	span.Attributes().PutStr("gen_ai.input.messages", "in")
	span.Attributes().PutStr("gen_ai.output.messages", "out")
	span.Attributes().PutStr("secret", "s")
	span.Events().AppendEmpty().Attributes().PutStr("secret", "s")

	f := NewA365(Options{SuppressInvokeAgentInput: true, Rewriter: upper{}})
	got := string(f.AppendSpan(nil, span, SpanMeta{Op: "invoke_agent"}))
	assert.Contains(t, got, `"attributes":{"gen_ai.output.messages":"[invoke_agent]"}`)
	assert.Contains(t, got, `"name":"","attributes":null}`, "event attribute dropped")

	got = string(f.AppendSpan(nil, span, SpanMeta{Op: "chat"}))
	assert.Contains(t, got, `"attributes":{"gen_ai.input.messages":"in","gen_ai.output.messages":"[chat]"}`, "input kept outside invoke_agent")
}

func TestA365IdentityAdded(t *testing.T) {
	f := NewA365(Options{})
	span := ptrace.NewSpan()
	got := string(f.AppendSpan(nil, span, SpanMeta{Op: "chat", TenantID: "t1", AgentID: "a1"}))
	assert.Contains(t, got, `"attributes":{"microsoft.tenant.id":"t1","gen_ai.agent.id":"a1"}`)

	span.Attributes().PutStr("microsoft.tenant.id", " ")
	span.Attributes().PutStr("tenant.id", "t1")
	span.Attributes().PutStr("x", "y")
	got = string(f.AppendSpan(nil, span, SpanMeta{Op: "chat", TenantID: "t1"}))
	assert.Contains(t, got, `"attributes":{"tenant.id":"t1","x":"y","microsoft.tenant.id":"t1"}`, "no duplicate key")
	got = string(f.AppendSpan(nil, span, SpanMeta{Op: "chat"}))
	assert.Contains(t, got, `"attributes":{"microsoft.tenant.id":" ","tenant.id":"t1","x":"y"}`)
}
