package payload

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/agent365-otel/agent365exporter/internal/sample"
)

// fuzzSeeds are OTLP protobuf batches: realistic spans and hostile values.
func fuzzSeeds(f *testing.F) {
	m := &ptrace.ProtoMarshaler{}
	add := func(td ptrace.Traces) {
		b, err := m.MarshalTraces(td)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	add(sample.Traces(sample.DefaultAgents[:1], 1, time.Unix(1732465014, 0), sample.Options{}))
	add(sample.Traces(sample.DefaultAgents[:1], 1, time.Unix(1732465014, 0), sample.Options{Legacy: true}))
	empty := ptrace.NewTraces()
	empty.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
	add(empty)
	td := ptrace.NewTraces()
	s := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	s.SetName("x\xff\x00\"\\")
	a := s.Attributes()
	a.PutDouble("nan", math.NaN())
	a.PutDouble("inf", math.Inf(-1))
	a.PutInt("min", math.MinInt64)
	a.PutStr("ctl", "\x01\u2028\ufffd")
	a.PutEmptyBytes("b").FromRaw([]byte{0, 255})
	a.PutEmptyMap("m").PutEmptySlice("s").AppendEmpty().SetBool(true)
	s.Events().AppendEmpty().Attributes().PutStr("k", "v")
	s.Links().AppendEmpty().SetTraceID(pcommon.TraceID{1})
	add(td)
	f.Add([]byte{})
}

// spansOf decodes fuzz input as OTLP protobuf.
func spansOf(data []byte) (ptrace.Traces, bool) {
	td, err := (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(data)
	return td, err == nil
}

func eachSpan(td ptrace.Traces, fn func(ptrace.Span)) {
	for i := 0; i < td.ResourceSpans().Len(); i++ {
		ss := td.ResourceSpans().At(i).ScopeSpans()
		for j := 0; j < ss.Len(); j++ {
			for k := 0; k < ss.At(j).Spans().Len(); k++ {
				fn(ss.At(j).Spans().At(k))
			}
		}
	}
}

// FuzzA365Span: whatever the spans hold, the A365 encoding is valid JSON and
// valid UTF-8, and decodes back to the same values where JSON can hold them.
func FuzzA365Span(f *testing.F) {
	fuzzSeeds(f)
	enc := NewA365(Options{})
	f.Fuzz(func(t *testing.T, data []byte) {
		td, ok := spansOf(data)
		if !ok {
			return
		}
		eachSpan(td, func(span ptrace.Span) {
			out := enc.AppendSpan(nil, span, SpanMeta{Op: "chat"})
			if !json.Valid(out) || !utf8.Valid(out) {
				t.Fatalf("invalid output: %q", out)
			}
			var back struct {
				Name       string         `json:"name"`
				Attributes map[string]any `json:"attributes"`
			}
			dec := json.NewDecoder(bytes.NewReader(out))
			dec.UseNumber()
			if err := dec.Decode(&back); err != nil {
				t.Fatal(err)
			}
			if utf8.ValidString(span.Name()) && back.Name != span.Name() {
				t.Fatalf("name %q came back as %q", span.Name(), back.Name)
			}
			seen := map[string]int{}
			for k := range span.Attributes().All() {
				seen[k]++
			}
			for k, v := range span.Attributes().All() {
				if seen[k] > 1 || !utf8.ValidString(k) {
					continue // duplicate or invalid keys have no exact JSON form
				}
				checkValue(t, k, v, back.Attributes[k])
			}
		})
	})
}

func checkValue(t *testing.T, k string, v pcommon.Value, got any) {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		if utf8.ValidString(v.Str()) && got != v.Str() {
			t.Fatalf("%s: %q came back as %v", k, v.Str(), got)
		}
	case pcommon.ValueTypeInt:
		if n, ok := got.(json.Number); !ok || n.String() != strconv.FormatInt(v.Int(), 10) {
			t.Fatalf("%s: %d came back as %v", k, v.Int(), got)
		}
	case pcommon.ValueTypeDouble:
		d := v.Double()
		if math.IsNaN(d) || math.IsInf(d, 0) {
			if got != nil {
				t.Fatalf("%s: %v must be null, got %v", k, d, got)
			}
			return
		}
		n, ok := got.(json.Number)
		f, err := n.Float64()
		if !ok || err != nil || f != d {
			t.Fatalf("%s: %v came back as %v", k, d, got)
		}
	case pcommon.ValueTypeBool:
		if got != v.Bool() {
			t.Fatalf("%s: %v came back as %v", k, v.Bool(), got)
		}
	}
}

// FuzzOTLPJSON: the otlp_json encoding reads back with pdata's own
// unmarshaler into the same spans, whenever the input's strings are valid
// UTF-8 and it has no NaN (which equals nothing, not even itself).
func FuzzOTLPJSON(f *testing.F) {
	fuzzSeeds(f)
	enc := NewOTLPJSON(Options{})
	f.Fuzz(func(t *testing.T, data []byte) {
		td, ok := spansOf(data)
		if !ok || td.ResourceSpans().Len() == 0 {
			return
		}
		rs := td.ResourceSpans().At(0)
		// The exporter writes a body only around spans: a scope without
		// spans is never sent, so it has nothing to round-trip.
		if rs.ScopeSpans().Len() == 0 || rs.ScopeSpans().At(0).Spans().Len() == 0 {
			return
		}
		one := ptrace.NewTraces()
		rs.CopyTo(one.ResourceSpans().AppendEmpty())
		one.ResourceSpans().At(0).ScopeSpans().RemoveIf(func(ss ptrace.ScopeSpans) bool { return ss != one.ResourceSpans().At(0).ScopeSpans().At(0) })
		body := otlpBody(enc, one)
		if !json.Valid(body) || !utf8.Valid(body) {
			t.Fatalf("invalid output: %q", body)
		}
		back, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(body)
		if err != nil {
			t.Fatalf("pdata cannot read it back: %v\n%s", err, body)
		}
		if exact(one) {
			want, _ := (&ptrace.JSONMarshaler{}).MarshalTraces(one)
			got, _ := (&ptrace.JSONMarshaler{}).MarshalTraces(back)
			if !bytes.Equal(want, got) {
				t.Fatalf("round trip changed the spans:\nwant %s\ngot  %s", want, got)
			}
		}
	})
}

// exact reports whether td has only values JSON carries exactly.
func exact(td ptrace.Traces) bool {
	raw, err := (&ptrace.JSONMarshaler{}).MarshalTraces(td)
	return err == nil && utf8.Valid(raw) && !strings.Contains(string(raw), "\\ufffd") &&
		!strings.Contains(string(raw), `"NaN"`) && validStrings(td)
}

func validStrings(td ptrace.Traces) bool {
	ok := true
	var walk func(v pcommon.Value)
	walk = func(v pcommon.Value) {
		switch v.Type() {
		case pcommon.ValueTypeStr:
			ok = ok && utf8.ValidString(v.Str())
		case pcommon.ValueTypeMap:
			for k, mv := range v.Map().All() {
				ok = ok && utf8.ValidString(k)
				walk(mv)
			}
		case pcommon.ValueTypeSlice:
			for i := 0; i < v.Slice().Len(); i++ {
				walk(v.Slice().At(i))
			}
		}
	}
	walkMap := func(m pcommon.Map) {
		for k, v := range m.All() {
			ok = ok && utf8.ValidString(k)
			walk(v)
		}
	}
	for i := 0; i < td.ResourceSpans().Len(); i++ {
		rs := td.ResourceSpans().At(i)
		walkMap(rs.Resource().Attributes())
		ok = ok && utf8.ValidString(rs.SchemaUrl())
		for j := 0; j < rs.ScopeSpans().Len(); j++ {
			ss := rs.ScopeSpans().At(j)
			ok = ok && utf8.ValidString(ss.Scope().Name()) && utf8.ValidString(ss.Scope().Version()) && utf8.ValidString(ss.SchemaUrl())
			walkMap(ss.Scope().Attributes())
		}
	}
	eachSpan(td, func(s ptrace.Span) {
		ok = ok && utf8.ValidString(s.Name()) && utf8.ValidString(s.Status().Message()) && utf8.ValidString(s.TraceState().AsRaw())
		walkMap(s.Attributes())
		for i := 0; i < s.Events().Len(); i++ {
			ok = ok && utf8.ValidString(s.Events().At(i).Name())
			walkMap(s.Events().At(i).Attributes())
		}
		for i := 0; i < s.Links().Len(); i++ {
			ok = ok && utf8.ValidString(s.Links().At(i).TraceState().AsRaw())
			walkMap(s.Links().At(i).Attributes())
		}
	})
	return ok
}

// FuzzAppendString: any string gives a valid JSON string of the predicted
// size, which decodes to the input when the input is valid UTF-8.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain text that is long enough for words", "\"\\\n\t\x00\x7f", "é😀\xff\xc3", strings.Repeat("ab\"", 20)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := AppendString(nil, s)
		if len(out) != StringSize(s) || !json.Valid(out) || !utf8.Valid(out) {
			t.Fatalf("AppendString(%q) = %q", s, out)
		}
		var back string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatal(err)
		}
		if utf8.ValidString(s) && back != s {
			t.Fatalf("%q came back as %q", s, back)
		}
	})
}

// FuzzA365Values builds spans from fuzzed values directly, which the fuzzer
// explores much better than protobuf bytes.
func FuzzA365Values(f *testing.F) {
	f.Add("invoke_agent x", "gen_ai.input.messages", "{\"version\":\"0.1.0\"}", int64(33), 0.5, true, []byte("k1v1"))
	f.Add("\xff", "\x00", "\xed\xa0\x80", int64(math.MinInt64), math.Inf(1), false, []byte{0xff, 0, 1})
	f.Add("", "", "", int64(0), math.NaN(), false, []byte{})
	enc := NewA365(Options{SuppressInvokeAgentInput: true})
	f.Fuzz(func(t *testing.T, name, key, sval string, ival int64, fval float64, bval bool, raw []byte) {
		span := ptrace.NewSpan()
		span.SetName(name)
		a := span.Attributes()
		a.PutStr(key+".s", sval)
		a.PutInt(key+".i", ival)
		a.PutDouble(key+".f", fval)
		a.PutBool(key+".b", bval)
		a.PutEmptyBytes(key + ".raw").FromRaw(raw)
		// A nested value shaped by raw: each byte opens a map or a slice, or adds a leaf.
		v := a.PutEmpty(key + ".nested")
		for i, c := range raw {
			switch c % 3 {
			case 0:
				v = v.SetEmptyMap().PutEmpty(string(raw[:i]))
			case 1:
				v = v.SetEmptySlice().AppendEmpty()
			default:
				v.SetStr(string(raw[i:]))
			}
		}
		ev := span.Events().AppendEmpty()
		ev.SetName(sval)
		ev.Attributes().PutStr(key, name)
		span.Status().SetMessage(sval)
		out := enc.AppendSpan(nil, span, SpanMeta{Op: "invoke_agent", TenantID: sval, AgentID: name})
		if !json.Valid(out) || !utf8.Valid(out) {
			t.Fatalf("invalid output: %q", out)
		}
		var back struct {
			Attributes map[string]any `json:"attributes"`
		}
		dec := json.NewDecoder(bytes.NewReader(out))
		dec.UseNumber()
		if err := dec.Decode(&back); err != nil {
			t.Fatal(err)
		}
		if !utf8.ValidString(key) || key+".s" == key+".i" {
			return
		}
		for k, v := range a.All() {
			if k == "gen_ai.input.messages" || k == "microsoft.tenant.id" || k == "gen_ai.agent.id" {
				continue // left out or replaced by design
			}
			checkValue(t, k, v, back.Attributes[k])
		}
	})
}
