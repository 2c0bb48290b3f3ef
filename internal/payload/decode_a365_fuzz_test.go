package payload

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/agent365-otel/agent365exporter/internal/sample"
)

// FuzzDecodeA365: no input makes the decoder panic; what it accepts is
// valid JSON, and A365 writes it in a form that decodes to the same spans
// and that A365 writes again byte for byte. The corpus in
// testdata/fuzz/FuzzDecodeA365 holds SDK-shaped bodies and edge cases.
func FuzzDecodeA365(f *testing.F) {
	f.Add(a365Traces(sample.Traces(sample.DefaultAgents, 3, time.Unix(1732465014, 17403000), sample.Options{MessageBytes: 64})))
	f.Fuzz(func(t *testing.T, data []byte) {
		td, err := DecodeA365(data)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if !json.Valid(data) {
			t.Fatalf("accepted invalid JSON %q", data)
		}
		body := a365Traces(td)
		back, err := DecodeA365(body)
		if err != nil {
			t.Fatalf("cannot decode what A365 wrote: %v\ninput %q\nwritten %s", err, data, body)
		}
		requireEqualTraces(t, td, back)
		if again := a365Traces(back); !bytes.Equal(again, body) {
			t.Fatalf("written differently the second time:\nfirst  %s\nsecond %s", body, again)
		}
	})
}

// FuzzA365EncodeDecode: spans from the fuzzer (OTLP protobuf, as in
// FuzzA365Span) that A365 writes decode without error, unless an id is
// zero, and are written again byte for byte, unless they hold what JSON
// cannot carry as it is (invalid UTF-8, a repeated key).
func FuzzA365EncodeDecode(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		td, ok := spansOf(data)
		if !ok {
			return
		}
		body := a365Traces(td)
		back, err := DecodeA365(body)
		if !validIDs(td) {
			if err == nil {
				t.Fatalf("zero id accepted: %s", body)
			}
			return
		}
		if err != nil {
			t.Fatalf("cannot decode what A365 wrote: %v\n%s", err, body)
		}
		again := a365Traces(back)
		if validStrings(td) && uniqueKeys(td) && !bytes.Equal(again, body) {
			t.Fatalf("written differently after decoding:\nfirst  %s\nsecond %s", body, again)
		}
		// Whatever the input, a decoded body is a fixed point.
		back2, err := DecodeA365(again)
		if err != nil {
			t.Fatalf("cannot decode the second body: %v\n%s", err, again)
		}
		requireEqualTraces(t, back, back2)
	})
}

// validIDs reports whether every span and link has a non-zero trace and span id.
func validIDs(td ptrace.Traces) bool {
	ok := true
	eachSpan(td, func(s ptrace.Span) {
		ok = ok && !s.TraceID().IsEmpty() && !s.SpanID().IsEmpty()
		for i := 0; i < s.Links().Len(); i++ {
			l := s.Links().At(i)
			ok = ok && !l.TraceID().IsEmpty() && !l.SpanID().IsEmpty()
		}
	})
	return ok
}

// uniqueKeys reports whether no attribute map A365 writes repeats a key.
func uniqueKeys(td ptrace.Traces) bool {
	ok := true
	var walkMap func(m pcommon.Map)
	var walk func(v pcommon.Value)
	walk = func(v pcommon.Value) {
		switch v.Type() {
		case pcommon.ValueTypeMap:
			walkMap(v.Map())
		case pcommon.ValueTypeSlice:
			for i := 0; i < v.Slice().Len(); i++ {
				walk(v.Slice().At(i))
			}
		}
	}
	walkMap = func(m pcommon.Map) {
		seen := make(map[string]bool, m.Len())
		for k, v := range m.All() {
			ok = ok && !seen[k]
			seen[k] = true
			walk(v)
		}
	}
	for i := 0; i < td.ResourceSpans().Len(); i++ {
		walkMap(td.ResourceSpans().At(i).Resource().Attributes())
	}
	eachSpan(td, func(s ptrace.Span) {
		walkMap(s.Attributes())
		for i := 0; i < s.Events().Len(); i++ {
			walkMap(s.Events().At(i).Attributes())
		}
		for i := 0; i < s.Links().Len(); i++ {
			walkMap(s.Links().At(i).Attributes())
		}
	})
	return ok
}
