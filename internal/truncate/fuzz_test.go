package truncate

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// FuzzTruncate: truncation never makes a span larger, leaves one within
// the limit untouched, and makes any span fit a limit of 4096 bytes or more
// (under that, only what cannot go may be left); the encoding is valid
// JSON and UTF-8, a message attribute that held JSON still does, and the
// identity is not changed when the limit is 4096 bytes or more. The corpus holds the hostile spans of
// hostile_test.go.
func FuzzTruncate(f *testing.F) {
	f.Add(`{"version":"0.1.0","messages":[{"role":"user","parts":[{"type":"text","content":"hello"},{"type":"blob","content":"AAAA"}]}]}`, "", "plain", 40, 3, 600, 0, 0)
	f.Add(`{"messages":[{"parts":[{"type":"tool_call","arguments":{"q":"x"}}]}]}`, "", "\xff\"", 200, 0, 300, 0, 0)
	f.Add("not json", `[{"role":"assistant","parts":[{"type":"text","content":"`+strings.Repeat("é", 3000)+`"}]}]`, strings.Repeat("é", 30), 1, 50, 4096, 100, 50)
	f.Fuzz(func(t *testing.T, input, output, text string, repeat, events, limit, arrayLen, shortAttributes int) {
		spec := spanSpec{input: input, output: output, text: text, repeat: repeat, events: events, limit: limit, arrayLen: arrayLen, shortAttributes: shortAttributes}.clamp()
		span := spec.build(t)
		before := clone(span)
		orig := encode(span)
		wasJSON := map[string]bool{}
		for _, k := range []string{"gen_ai.input.messages", "gen_ai.output.messages"} {
			if v, ok := span.Attributes().Get(k); ok {
				wasJSON[k] = json.Valid([]byte(v.Str()))
			}
		}

		res := Span(span, spec.limit, measure, protectedKeys)

		out := encode(span)
		if !json.Valid(out) || !utf8.Valid(out) {
			t.Fatalf("invalid span JSON: %q", out)
		}
		if res.Before != len(orig) || res.After != len(out) {
			t.Fatalf("reported %d -> %d bytes, measured %d -> %d", res.Before, res.After, len(orig), len(out))
		}
		if res.After > res.Before {
			t.Fatalf("grew from %d to %d bytes", res.Before, res.After)
		}
		if res.Before <= spec.limit && (res.Changed || string(out) != string(orig)) {
			t.Fatal("a span within the limit was changed")
		}
		if bound := measureBound(1<<20, 1<<20, 1<<20, 1<<20, 1<<20, 2, 8); res.Measures > bound {
			t.Fatalf("%d measure calls, more than %d", res.Measures, bound)
		}
		for k, valid := range wasJSON {
			v, ok := span.Attributes().Get(k)
			if !ok || !valid {
				continue
			}
			if !json.Valid([]byte(v.Str())) {
				t.Fatalf("%s was valid JSON and is not anymore: %q", k, v.Str())
			}
			orig := map[string]string{"gen_ai.input.messages": spec.input, "gen_ai.output.messages": spec.output}[k]
			if v.Str() != orig && parseMessages(pcommon.NewValueStr(orig)) == nil {
				var got string
				if json.Unmarshal([]byte(v.Str()), &got) != nil || got != "[truncated: "+strconv.Itoa(len(orig))+" bytes of JSON]" {
					t.Fatalf("%s held JSON that is not a message list and became %q", k, v.Str())
				}
			}
		}
		// Values under 64 bytes change only when removing is needed too.
		_, marked := span.Attributes().Get(MarkerKey)
		kept := span.Attributes().Len()
		if marked {
			kept--
		}
		if kept == before.Attributes().Len() && elements(span) == elements(before) {
			if marked {
				t.Fatal("a marker without removal")
			}
			for _, kv := range identity {
				if v, _ := span.Attributes().Get(kv[0]); len(kv[1]) < minChange-2 && v.Str() != kv[1] {
					t.Fatalf("%s changed to %q, nothing removed", kv[0], v.Str())
				}
			}
		}
		for _, kv := range identity {
			// Under 4096 bytes, the identity may be all that is left to cut.
			if spec.limit >= 4096 && protectedKeys(kv[0]) && attr(t, span, kv[0]) != kv[1] {
				t.Fatalf("protected %s changed", kv[0])
			}
		}
		if res.After <= spec.limit {
			return
		}
		if spec.limit >= 4096 {
			t.Fatalf("over a limit of %d: %d bytes", spec.limit, res.After)
		}
		// A tiny limit: nothing that could go is left.
		if span.Events().Len() > 0 || span.Links().Len() > 0 {
			t.Fatalf("over the limit (%d > %d) with %d events left", res.After, spec.limit, span.Events().Len())
		}
		for k := range span.Attributes().All() {
			if !protectedKeys(k) {
				t.Fatalf("over the limit (%d > %d) with %s left", res.After, spec.limit, k)
			}
		}
	})
}

// elements counts the events and links of span and their attributes.
func elements(span ptrace.Span) int {
	n := span.Events().Len() + span.Links().Len()
	for i := 0; i < span.Events().Len(); i++ {
		n += span.Events().At(i).Attributes().Len()
	}
	for i := 0; i < span.Links().Len(); i++ {
		n += span.Links().At(i).Attributes().Len()
	}
	return n
}
