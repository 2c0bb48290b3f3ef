package payload

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/agent365-otel/agent365exporter/internal/sample"
)

// a365Traces writes all of td as one A365 body: every resource, every scope
// (empty ones too) and every span, each span with the operation its
// attributes name.
func a365Traces(td ptrace.Traces) []byte {
	f := NewA365(Options{})
	const open = `{"resourceSpans":[`
	dst := []byte(open)
	for i := 0; i < td.ResourceSpans().Len(); i++ {
		rs := td.ResourceSpans().At(i)
		if i > 0 {
			dst = append(dst, ',')
		}
		// AppendResourceOpen starts a whole body; keep only its entry.
		start := len(dst)
		dst = f.AppendResourceOpen(dst, rs.Resource(), rs.SchemaUrl())
		if !bytes.HasPrefix(dst[start:], []byte(open)) {
			panic("unexpected resource opening " + string(dst[start:]))
		}
		dst = append(dst[:start], dst[start+len(open):]...)
		for j := 0; j < rs.ScopeSpans().Len(); j++ {
			ss := rs.ScopeSpans().At(j)
			if j > 0 {
				dst = append(dst, ',')
			}
			dst = f.AppendScopeOpen(dst, ss.Scope(), ss.SchemaUrl())
			for k := 0; k < ss.Spans().Len(); k++ {
				if k > 0 {
					dst = append(dst, ',')
				}
				span := ss.Spans().At(k)
				op, _ := span.Attributes().Get("gen_ai.operation.name")
				dst = f.AppendSpan(dst, span, SpanMeta{Op: op.Str()})
			}
			dst = append(dst, ScopeClose...)
		}
		dst = append(dst, "]}"...) // the resource's scopeSpans and the resource
	}
	return append(dst, "]}"...)
}

// requireEqualTraces compares with pdata's own encoding, which holds every
// field and keeps the order of attributes.
func requireEqualTraces(t testing.TB, want, got ptrace.Traces) {
	t.Helper()
	w, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(want)
	require.NoError(t, err)
	g, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(got)
	require.NoError(t, err)
	if !bytes.Equal(w, g) {
		wj, _ := (&ptrace.JSONMarshaler{}).MarshalTraces(want)
		gj, _ := (&ptrace.JSONMarshaler{}).MarshalTraces(got)
		t.Fatalf("traces differ:\nwant %s\ngot  %s", wj, gj)
	}
}

// oneSpan wraps span JSON in a body of one resource and one scope.
func oneSpan(span string) string {
	return `{"resourceSpans":[{"resource":{"attributes":null},"scopeSpans":[{"scope":{"name":"s"},"spans":[` + span + `]}]}]}`
}

// tracesOf wraps a span in traces shaped as oneSpan's.
func tracesOf(span ptrace.Span) ptrace.Traces {
	td := ptrace.NewTraces()
	ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
	ss.Scope().SetName("s")
	span.CopyTo(ss.Spans().AppendEmpty())
	return td
}

const (
	minIDs = `"traceId":"4bd8f606688c3f3347d69c1b6539c957","spanId":"0766d68605234692"`
)

// minSpan is the span of minIDs with everything else unset.
func minSpan() ptrace.Span {
	s := ptrace.NewSpan()
	s.SetTraceID(pcommon.TraceID{0x4b, 0xd8, 0xf6, 0x06, 0x68, 0x8c, 0x3f, 0x33, 0x47, 0xd6, 0x9c, 0x1b, 0x65, 0x39, 0xc9, 0x57})
	s.SetSpanID(pcommon.SpanID{0x07, 0x66, 0xd6, 0x86, 0x05, 0x23, 0x46, 0x92})
	return s
}

func TestDecodeA365Golden(t *testing.T) {
	span := goldenSpan()
	body := a365Traces(tracesOf(span))
	got, err := DecodeA365(body)
	require.NoError(t, err)
	// Bytes have no JSON type of their own: A365 writes them as base64.
	span.Attributes().PutStr("blob", "aGkh")
	requireEqualTraces(t, tracesOf(span), got)
}

func TestDecodeA365SampleRoundTrip(t *testing.T) {
	for _, opts := range []sample.Options{{}, {Legacy: true}, {MessageBytes: 10}} {
		td := sample.Traces(sample.DefaultAgents, 9, time.Unix(1732465014, 17403000), opts)
		body := a365Traces(td)
		got, err := DecodeA365(body)
		require.NoError(t, err)
		requireEqualTraces(t, td, got)
		assert.Equal(t, string(body), string(a365Traces(got)))
	}
}

func TestDecodeA365Shapes(t *testing.T) {
	tests := []struct {
		name string
		span string
		want func(s ptrace.Span)
	}{
		{"minimal", `{` + minIDs + `}`, func(ptrace.Span) {}},
		{"upper-case ids", `{"traceId":"4BD8F606688C3F3347D69C1B6539C957","spanId":"0766D68605234692","parentSpanId":"959A854F18FA2C22"}`,
			func(s ptrace.Span) { s.SetParentSpanID(pcommon.SpanID{0x95, 0x9a, 0x85, 0x4f, 0x18, 0xfa, 0x2c, 0x22}) }},
		{"parent null", `{` + minIDs + `,"parentSpanId":null}`, func(ptrace.Span) {}},
		{"parent empty", `{` + minIDs + `,"parentSpanId":""}`, func(ptrace.Span) {}},
		{"parent all zero", `{` + minIDs + `,"parentSpanId":"0000000000000000"}`, func(ptrace.Span) {}},
		{"times as integers", `{` + minIDs + `,"startTimeUnixNano":1732465014017403000,"endTimeUnixNano":18446744073709551615}`,
			func(s ptrace.Span) { s.SetStartTimestamp(1732465014017403000); s.SetEndTimestamp(math.MaxUint64) }},
		{"times as strings", `{` + minIDs + `,"startTimeUnixNano":"1732465014017403000","endTimeUnixNano":"1.7324650290e18"}`,
			func(s ptrace.Span) { s.SetStartTimestamp(1732465014017403000); s.SetEndTimestamp(1732465029000000000) }},
		{"times in floating point", `{` + minIDs + `,"startTimeUnixNano":1.7324650140174031e+18,"endTimeUnixNano":1732465014017403000.5}`,
			func(s ptrace.Span) { s.SetStartTimestamp(1732465014017403100); s.SetEndTimestamp(1732465014017403001) }},
		{"times null", `{` + minIDs + `,"startTimeUnixNano":null,"endTimeUnixNano":-0}`, func(ptrace.Span) {}},
		{"kind by name", `{` + minIDs + `,"kind":"server"}`, func(s ptrace.Span) { s.SetKind(ptrace.SpanKindServer) }},
		{"kind by OTLP name", `{` + minIDs + `,"kind":"SPAN_KIND_CONSUMER"}`, func(s ptrace.Span) { s.SetKind(ptrace.SpanKindConsumer) }},
		{"kind by OTLP name, mixed case", `{` + minIDs + `,"kind":"Span_Kind_Producer"}`, func(s ptrace.Span) { s.SetKind(ptrace.SpanKindProducer) }},
		{"kind by number", `{` + minIDs + `,"kind":3}`, func(s ptrace.Span) { s.SetKind(ptrace.SpanKindClient) }},
		{"kind unspecified", `{` + minIDs + `,"kind":"UNSPECIFIED"}`, func(ptrace.Span) {}},
		{"kind null", `{` + minIDs + `,"kind":null}`, func(ptrace.Span) {}},
		{"status absent", `{` + minIDs + `}`, func(ptrace.Span) {}},
		{"status null", `{` + minIDs + `,"status":null}`, func(ptrace.Span) {}},
		{"status empty", `{` + minIDs + `,"status":{}}`, func(ptrace.Span) {}},
		{"status by name", `{` + minIDs + `,"status":{"code":"error","message":"boom"}}`,
			func(s ptrace.Span) { s.Status().SetCode(ptrace.StatusCodeError); s.Status().SetMessage("boom") }},
		{"status by OTLP name", `{` + minIDs + `,"status":{"code":"STATUS_CODE_OK"}}`, func(s ptrace.Span) { s.Status().SetCode(ptrace.StatusCodeOk) }},
		{"status by number", `{` + minIDs + `,"status":{"message":null,"code":2}}`, func(s ptrace.Span) { s.Status().SetCode(ptrace.StatusCodeError) }},
		{"attributes null", `{` + minIDs + `,"attributes":null}`, func(ptrace.Span) {}},
		{"attributes empty", `{` + minIDs + `,"attributes":{}}`, func(ptrace.Span) {}},
		{"events and links null", `{` + minIDs + `,"events":null,"links":null}`, func(ptrace.Span) {}},
		{"events and links empty", `{` + minIDs + `,"events":[],"links":[]}`, func(ptrace.Span) {}},
		{"events", `{` + minIDs + `,"events":[{"timeUnixNano":"5","name":"a","attributes":{"k":1}},{"attributes":null}]}`,
			func(s ptrace.Span) {
				ev := s.Events().AppendEmpty()
				ev.SetTimestamp(5)
				ev.SetName("a")
				ev.Attributes().PutInt("k", 1)
				s.Events().AppendEmpty()
			}},
		{"links", `{` + minIDs + `,"links":[{"spanId":"0000000000000001","traceId":"000000000000000000000000000000FF","attributes":{"a":"b"},"traceState":"x=y","flags":1}]}`,
			func(s ptrace.Span) {
				l := s.Links().AppendEmpty()
				l.SetTraceID(pcommon.TraceID{15: 0xff})
				l.SetSpanID(pcommon.SpanID{7: 1})
				l.Attributes().PutStr("a", "b")
			}},
		{"unknown and ignored keys", `{"x":{"y":[1,{"z":null}]},` + minIDs + `,"traceState":"k=v","flags":257,"droppedAttributesCount":3,"droppedEventsCount":1,"droppedLinksCount":2,"name":"n"}`,
			func(s ptrace.Span) { s.SetName("n") }},
		{"white space", "\t{ \"name\" :\r\n \"n\" , " + minIDs + " } ", func(s ptrace.Span) { s.SetName("n") }},
		{"escaped keys", `{"trace\u0049d":"4bd8f606688c3f3347d69c1b6539c957","spanId":"0766d68605234692","na\u006de":"x"}`, func(s ptrace.Span) { s.SetName("x") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeA365([]byte(oneSpan(tt.span)))
			require.NoError(t, err)
			want := minSpan()
			tt.want(want)
			requireEqualTraces(t, tracesOf(want), got)
		})
	}
}

func TestDecodeA365ResourcesAndScopes(t *testing.T) {
	span := func(id string) string {
		return `{"traceId":"4bd8f606688c3f3347d69c1b6539c957","spanId":"` + id + `"}`
	}
	body := `{"resourceSpans":[` +
		`{"resource":{"attributes":{"service.name":"a"},"droppedAttributesCount":0},"schemaUrl":"u","scopeSpans":[` +
		`{"scope":{"name":"one","version":"1.0.0"},"spans":[` + span("0000000000000001") + `,` + span("0000000000000002") + `]},` +
		`{"scope":{"name":"two","version":null,"attributes":[]},"spans":[` + span("0000000000000003") + `]},` +
		`{"scope":{"name":""},"spans":[]},{"spans":null}]},` +
		`{"resource":null,"scopeSpans":null},{},` +
		`{"scopeSpans":[{"scope":null,"spans":[` + span("0000000000000004") + `]}]}]}`
	got, err := DecodeA365([]byte(body))
	require.NoError(t, err)

	want := ptrace.NewTraces()
	addSpan := func(ss ptrace.ScopeSpans, n byte) {
		s := ss.Spans().AppendEmpty()
		minSpan().CopyTo(s)
		s.SetSpanID(pcommon.SpanID{7: n})
	}
	rs := want.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "a")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("one")
	ss.Scope().SetVersion("1.0.0")
	addSpan(ss, 1)
	addSpan(ss, 2)
	ss = rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("two")
	addSpan(ss, 3)
	rs.ScopeSpans().AppendEmpty().Scope().SetName("unknown")
	rs.ScopeSpans().AppendEmpty().Scope().SetName("unknown")
	want.ResourceSpans().AppendEmpty()
	want.ResourceSpans().AppendEmpty()
	ss = want.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
	ss.Scope().SetName("unknown")
	addSpan(ss, 4)
	requireEqualTraces(t, want, got)

	for _, body := range []string{`{}`, `{"resourceSpans":null}`, `{"resourceSpans":[]}`, ` {"other":[{}]} `} {
		got, err := DecodeA365([]byte(body))
		require.NoError(t, err, body)
		assert.Equal(t, 0, got.ResourceSpans().Len(), body)
	}
}

func TestDecodeA365AttributeValues(t *testing.T) {
	tests := []struct {
		json string
		want func(v pcommon.Value)
	}{
		{`"text"`, func(v pcommon.Value) { v.SetStr("text") }},
		{`""`, func(v pcommon.Value) { v.SetStr("") }},
		{`"\"\\\/\b\f\n\r\t\u0000\u00e9\u2028"`, func(v pcommon.Value) { v.SetStr("\"\\/\b\f\n\r\t\x00é\u2028") }},
		{`"\ud83d\ude00 😀 é"`, func(v pcommon.Value) { v.SetStr("😀 😀 é") }},
		{`"\ud800 lone, \udc00 low, \ud800\u0041 pair broken"`, func(v pcommon.Value) { v.SetStr("\uFFFD lone, \uFFFD low, \uFFFDA pair broken") }},
		{"\"bad \xff\xc3 utf-8\"", func(v pcommon.Value) { v.SetStr("bad \uFFFD\uFFFD utf-8") }},
		{"\"bad \xed\xa0\x80 surrogate, \\n escape\"", func(v pcommon.Value) { v.SetStr("bad \uFFFD\uFFFD\uFFFD surrogate, \n escape") }},
		{`0`, func(v pcommon.Value) { v.SetInt(0) }},
		{`-0`, func(v pcommon.Value) { v.SetInt(0) }},
		{`33`, func(v pcommon.Value) { v.SetInt(33) }},
		{`9223372036854775807`, func(v pcommon.Value) { v.SetInt(math.MaxInt64) }},
		{`-9223372036854775808`, func(v pcommon.Value) { v.SetInt(math.MinInt64) }},
		{`9223372036854775808`, func(v pcommon.Value) { v.SetDouble(9223372036854775808) }},
		{`3.0`, func(v pcommon.Value) { v.SetDouble(3) }},
		{`-0.0`, func(v pcommon.Value) { v.SetDouble(math.Copysign(0, -1)) }},
		{`1e2`, func(v pcommon.Value) { v.SetDouble(100) }},
		{`0.5E-3`, func(v pcommon.Value) { v.SetDouble(0.0005) }},
		{`1e-400`, func(v pcommon.Value) { v.SetDouble(0) }},
		{`1.7976931348623157e308`, func(v pcommon.Value) { v.SetDouble(math.MaxFloat64) }},
		{`true`, func(v pcommon.Value) { v.SetBool(true) }},
		{`false`, func(v pcommon.Value) { v.SetBool(false) }},
		{`null`, func(pcommon.Value) {}},
		{`[]`, func(v pcommon.Value) { v.SetEmptySlice() }},
		{`{}`, func(v pcommon.Value) { v.SetEmptyMap() }},
		{`["stop",2,2.5,null,[true],{"k":"v"}]`, func(v pcommon.Value) {
			s := v.SetEmptySlice()
			s.AppendEmpty().SetStr("stop")
			s.AppendEmpty().SetInt(2)
			s.AppendEmpty().SetDouble(2.5)
			s.AppendEmpty()
			s.AppendEmpty().SetEmptySlice().AppendEmpty().SetBool(true)
			s.AppendEmpty().SetEmptyMap().PutStr("k", "v")
		}},
		{`{"b":1,"a":{"c":[]},"b":2}`, func(v pcommon.Value) {
			m := v.SetEmptyMap()
			m.PutInt("b", 2)
			m.PutEmptyMap("a").PutEmptySlice("c")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.json, func(t *testing.T) {
			got, err := DecodeA365([]byte(oneSpan(`{` + minIDs + `,"attributes":{"v":` + tt.json + `}}`)))
			require.NoError(t, err)
			want := minSpan()
			tt.want(want.Attributes().PutEmpty("v"))
			requireEqualTraces(t, tracesOf(want), got)
		})
	}
}

// Of a repeated key, the last value is kept at the first key's place, in
// small objects and in large ones, which index their keys.
func TestDecodeA365RepeatedKeys(t *testing.T) {
	for _, n := range []int{3, smallMap, smallMap + 1, 100} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			var b strings.Builder
			want := minSpan()
			for i := range n {
				fmt.Fprintf(&b, `"k%d":%d,`, i, i)
				want.Attributes().PutInt(fmt.Sprintf("k%d", i), int64(i))
				if i == 1 {
					b.WriteString(`"k0":"early",`) // before a large object indexes its keys
				}
			}
			// Repeat the first, a middle and the last key, the first again.
			fmt.Fprintf(&b, `"k0":"a","k%d":"b","k%d":"c","k0":"d"`, n/2, n-1)
			want.Attributes().PutStr("k0", "d")
			want.Attributes().PutStr(fmt.Sprintf("k%d", n/2), "b")
			want.Attributes().PutStr(fmt.Sprintf("k%d", n-1), "c")

			got, err := DecodeA365([]byte(oneSpan(`{` + minIDs + `,"attributes":{` + b.String() + `}}`)))
			require.NoError(t, err)
			requireEqualTraces(t, tracesOf(want), got)
		})
	}
}

// The depth the decoder accepts is the depth A365 writes: every value A365
// writes in full reads back, and a deeper one is an error.
func TestDecodeA365DepthMatchesEncoder(t *testing.T) {
	nested := func(levels int) ptrace.Span {
		span := minSpan()
		v := span.Attributes().PutEmpty("deep")
		for i := range levels {
			if i%2 == 0 {
				v = v.SetEmptySlice().AppendEmpty()
			} else {
				v = v.SetEmptyMap().PutEmpty("k")
			}
		}
		v.SetStr("leaf")
		return span
	}
	full := tracesOf(nested(maxDepth))
	body := a365Traces(full)
	require.NotContains(t, string(body), "too deep")
	got, err := DecodeA365(body)
	require.NoError(t, err)
	requireEqualTraces(t, full, got)

	deeper := a365Traces(tracesOf(nested(maxDepth + 1)))
	require.Contains(t, string(deeper), `"[too deep]"`)
	_, err = DecodeA365(deeper)
	require.NoError(t, err)

	tooDeep := bytes.Replace(body, []byte(`"leaf"`), []byte(`["leaf"]`), 1)
	_, err = DecodeA365(tooDeep)
	require.ErrorContains(t, err, `attributes["deep"]`+strings.Repeat(`[0]["k"]`, maxDepth/2)+`: attribute value nested more than 32 levels deep`)
}

func TestDecodeA365Errors(t *testing.T) {
	const span = `resourceSpans[0].scopeSpans[0].spans[0]`
	deepUnknown := strings.Repeat(`[`, maxSkipDepth+1) + strings.Repeat(`]`, maxSkipDepth+1)
	tests := []struct {
		name, body, want string
	}{
		{"empty", ``, `want an object, got the end of input at offset 0`},
		{"not an object", `[]`, `want an object, got an array at offset 0`},
		{"trailing data", `{} {}`, `data after the body at offset 3`},
		{"truncated", `{"resourceSpans":[{`, `resourceSpans[0]: unexpected end of input, want a string key at offset 19`},
		{"resourceSpans not a list", `{"resourceSpans":{}}`, `resourceSpans: want an array, got an object at offset 17`},
		{"duplicate field", oneSpan(`{` + minIDs + `,"name":"a","name":"b"}`), span + `: duplicate key "name" at offset 187`},
		{"bad trace id", oneSpan(`{"traceId":"xyz","spanId":"0766d68605234692"}`), span + `.traceId: "xyz" is not 32 hex digits`},
		{"trace id of 31 digits", oneSpan(`{"traceId":"4bd8f606688c3f3347d69c1b6539c95","spanId":"0766d68605234692"}`), span + `.traceId: "4bd8f606688c3f3347d69c1b6539c95" is not 32 hex digits`},
		{"span id not hex", oneSpan(`{"traceId":"4bd8f606688c3f3347d69c1b6539c957","spanId":"0766d6860523469g"}`), span + `.spanId: "0766d6860523469g" is not 16 hex digits`},
		{"zero trace id", oneSpan(`{"traceId":"00000000000000000000000000000000","spanId":"0766d68605234692"}`), span + `.traceId: an all-zero id is not valid`},
		{"zero span id", oneSpan(`{"traceId":"4bd8f606688c3f3347d69c1b6539c957","spanId":"0000000000000000"}`), span + `.spanId: an all-zero id is not valid`},
		{"id not a string", oneSpan(`{"traceId":null}`), span + `.traceId: want a string of hex digits, got null at offset 106`},
		{"missing span id", oneSpan(`{"traceId":"4bd8f606688c3f3347d69c1b6539c957"}`), span + `: spanId is missing`},
		{"missing trace id", oneSpan(`{"spanId":"0766d68605234692"}`), span + `: traceId is missing`},
		{"bad parent", oneSpan(`{` + minIDs + `,"parentSpanId":"01"}`), span + `.parentSpanId: "01" is not 16 hex digits`},
		{"link without ids", oneSpan(`{` + minIDs + `,"links":[{}]}`), span + `.links[0]: traceId is missing`},
		{"link zero id", oneSpan(`{` + minIDs + `,"links":[{"traceId":"4bd8f606688c3f3347d69c1b6539c957","spanId":"0000000000000000"}]}`), span + `.links[0].spanId: an all-zero id is not valid`},
		{"event not an object", oneSpan(`{` + minIDs + `,"events":[null]}`), span + `.events[0]: want an object, got null at offset 179`},
		{"unknown kind", oneSpan(`{` + minIDs + `,"kind":"SPAN_KIND_"}`), span + `.kind: "SPAN_KIND_" is not a span kind`},
		{"kind out of range", oneSpan(`{` + minIDs + `,"kind":6}`), span + `.kind: "6" is not a span kind`},
		{"kind fraction", oneSpan(`{` + minIDs + `,"kind":1.0}`), span + `.kind: "1.0" is not a span kind`},
		{"kind of wrong type", oneSpan(`{` + minIDs + `,"kind":true}`), span + `.kind: want a span kind name or number, got a boolean at offset 176`},
		{"unknown status", oneSpan(`{` + minIDs + `,"status":{"code":"FINE"}}`), span + `.status.code: "FINE" is not a status code`},
		{"status out of range", oneSpan(`{` + minIDs + `,"status":{"code":3}}`), span + `.status.code: "3" is not a status code`},
		{"negative time", oneSpan(`{` + minIDs + `,"startTimeUnixNano":-1}`), span + `.startTimeUnixNano: "-1" is negative`},
		{"time over uint64", oneSpan(`{` + minIDs + `,"endTimeUnixNano":18446744073709551616}`), span + `.endTimeUnixNano: "18446744073709551616" is over the uint64 range`},
		{"time over uint64 when rounded", oneSpan(`{` + minIDs + `,"endTimeUnixNano":18446744073709551615.5}`), span + `.endTimeUnixNano: "18446744073709551615.5" is over the uint64 range`},
		{"time with large exponent", oneSpan(`{` + minIDs + `,"endTimeUnixNano":1e20}`), span + `.endTimeUnixNano: "1e20" is over the uint64 range`},
		{"time string not a number", oneSpan(`{` + minIDs + `,"endTimeUnixNano":"NaN"}`), span + `.endTimeUnixNano: "NaN" is not a number of nanoseconds`},
		{"time string with space", oneSpan(`{` + minIDs + `,"endTimeUnixNano":" 1"}`), span + `.endTimeUnixNano: " 1" is not a number of nanoseconds`},
		{"time literal NaN", oneSpan(`{` + minIDs + `,"endTimeUnixNano":NaN}`), span + `.endTimeUnixNano: want a number of nanoseconds, got an invalid character at offset 187`},
		{"attribute number out of range", oneSpan(`{` + minIDs + `,"attributes":{"a.b":[1e400]}}`), span + `.attributes["a.b"][0]: "1e400" is out of the range of a double`},
		{"attribute invalid literal", oneSpan(`{` + minIDs + `,"attributes":{"a":nul}}`), span + `.attributes["a"]: invalid literal at offset 187`},
		{"attribute missing value", oneSpan(`{` + minIDs + `,"attributes":{"a":}}`), span + `.attributes["a"]: unexpected '}', want a value at offset 187`},
		{"attributes not an object", oneSpan(`{` + minIDs + `,"attributes":[]}`), span + `.attributes: want an object, got an array at offset 182`},
		{"number syntax", oneSpan(`{` + minIDs + `,"attributes":{"a":01}}`), span + `.attributes: unexpected '1', want ',' or '}' at offset 188`},
		{"number without digits", oneSpan(`{` + minIDs + `,"attributes":{"a":-}}`), span + `.attributes["a"]: invalid number at offset 188`},
		{"control character", oneSpan(`{` + minIDs + `,"name":"a` + "\n" + `"}`), span + `.name: control character in string at offset 178`},
		{"bad escape", oneSpan(`{` + minIDs + `,"name":"\x"}`), span + `.name: invalid escape "\\x" at offset 177`},
		{"bad unicode escape", oneSpan(`{` + minIDs + `,"name":"\u12"}`), span + `.name: invalid \u escape at offset 177`},
		{"unterminated string", `{"resourceSpans`, `unterminated string at offset 15`},
		{"unterminated escaped string", `{"a\"`, `unterminated string at offset 5`},
		{"unknown key nested too deeply", `{"x":` + deepUnknown + `}`, `nested too deeply at offset 69`},
		{"missing colon", `{"a" 1}`, `unexpected '1', want ':' at offset 5`},
		{"missing comma", `{"a":1 "b":2}`, `unexpected '"', want ',' or '}' at offset 7`},
		{"trailing comma", `{"a":[1,]}`, `unexpected ']', want a value at offset 8`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			td, err := DecodeA365([]byte(tt.body))
			require.EqualError(t, err, tt.want)
			assert.Equal(t, 0, td.ResourceSpans().Len(), "no partial result")
		})
	}
}

// The example of the error messages: the path counts every list.
func TestDecodeA365ErrorPath(t *testing.T) {
	good := `{` + minIDs + `}`
	spans := good + `,` + good + `,` + good + `,{"traceId":"4bd8f606688c3f3347d69c1b6539c957","spanId":"xyz"}`
	body := `{"resourceSpans":[{"scopeSpans":[{"spans":[]},{"spans":[` + spans + `]}]}]}`
	_, err := DecodeA365([]byte(body))
	require.EqualError(t, err, `resourceSpans[0].scopeSpans[1].spans[3].spanId: "xyz" is not 16 hex digits`)

	_, err = DecodeA365([]byte(oneSpan(`{` + minIDs + `,"attributes":{"k":"` + strings.Repeat("x", 1000) + `"},"kind":"` + strings.Repeat("y", 1000) + `"}`)))
	require.ErrorContains(t, err, `.kind: "`+strings.Repeat("y", 40)+`"... is not a span kind`, "long values are cut")
}

func TestParseNanos(t *testing.T) {
	tests := []struct {
		lit     string
		want    uint64
		problem string
	}{
		{"0", 0, ""},
		{"-0", 0, ""},
		{"-0.0e5", 0, ""},
		{"0e99999999999999999999", 0, ""},
		{"1732465014017403000", 1732465014017403000, ""},
		{"1732465014017403000.4999", 1732465014017403000, ""},
		{"1732465014017403000.5", 1732465014017403001, ""},
		{"1.7324650140174031e18", 1732465014017403100, ""},
		{"1.7324650140174031E+18", 1732465014017403100, ""},
		{"17324650140174031e2", 1732465014017403100, ""},
		{"0.5", 1, ""},
		{"0.49", 0, ""},
		{"5e-1", 1, ""},
		{"4.9e-1", 0, ""},
		{"1e-9", 0, ""},
		{"0.000000000000000000000000000000000000009", 0, ""},
		{"1e-99999999999999999999", 0, ""},
		{"9999999999999999999", 9999999999999999999, ""},
		{"18446744073709551615", math.MaxUint64, ""},
		{"1.8446744073709551615e19", math.MaxUint64, ""},
		{"18446744073709551614.5", math.MaxUint64, ""},
		{"18446744073709551614.49999999999999999999999", math.MaxUint64 - 1, ""},
		{"0018446744073709551615e0", math.MaxUint64, ""}, // not JSON, but the digits are what count
		{"18446744073709551615.5", 0, "is over the uint64 range"},
		{"18446744073709551616", 0, "is over the uint64 range"},
		{"99999999999999999999", 0, "is over the uint64 range"},
		{"100000000000000000000", 0, "is over the uint64 range"},
		{"1e99999999999999999999", 0, "is over the uint64 range"},
		{"-1", 0, "is negative"},
		{"-0.1", 0, "is negative"},
		{"-1e-30", 0, "is negative"},
	}
	for _, tt := range tests {
		got, problem := parseNanos(tt.lit)
		assert.Equal(t, tt.problem, problem, tt.lit)
		assert.Equal(t, tt.want, got, tt.lit)
	}
}
