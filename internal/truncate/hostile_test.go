package truncate

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/agent365-otel/agent365exporter/internal/payload"
)

var updateCorpus = flag.Bool("update-corpus", false, "write the hostile spans into FuzzTruncate's corpus")

// rawJSONOutput is an output message attribute holding JSON that is not a
// message list: a tool's raw result, about 1.5 KB.
var rawJSONOutput = func() string {
	type source struct {
		Title string  `json:"title"`
		URL   string  `json:"url"`
		Score float64 `json:"score"`
	}
	var sources []source
	for i := range 12 {
		sources = append(sources, source{Title: "Travel policy section " + strconv.Itoa(i), URL: "https://contoso.example/policy/" + strconv.Itoa(i), Score: 0.5 + float64(i)/100})
	}
	b, err := json.Marshal(map[string]any{"answer": "Economy class for flights under six hours.", "sources": sources})
	if err != nil {
		panic(err)
	}
	return string(b)
}()

const smallInput = `{"version":"0.1.0","messages":[{"role":"user","parts":[{"type":"text","content":"Which class can I book?"}]}]}`

// hostileSpans were found to lose far more than needed, or to grow.
var hostileSpans = []struct {
	name  string
	spec  spanSpec
	check func(t *testing.T, before, after ptrace.Span)
}{
	{
		// Over the limit because of one 60,000-element int array: every
		// short string became "[overlimit]", longer than most of them.
		name: "hostile-int-array",
		spec: spanSpec{input: smallInput, repeat: 1, limit: limit, arrayLen: 60000},
		check: func(t *testing.T, before, after ptrace.Span) {
			assert.Equal(t, OverlimitSentinel, attr(t, after, "retrieval.scores"))
			assertUnchangedExcept(t, before, after, "retrieval.scores")
		},
	},
	{
		// 40,000 short attributes, about 720 KB: each value became
		// "[overlimit]" and the span grew past the server's body limit.
		name: "hostile-short-attributes",
		spec: spanSpec{repeat: 1, limit: limit, shortAttributes: 40000},
		check: func(t *testing.T, before, after ptrace.Span) {
			kept := 0
			for k, v := range after.Attributes().All() {
				if k == MarkerKey {
					continue
				}
				orig, ok := before.Attributes().Get(k)
				require.True(t, ok, k)
				assert.True(t, orig.Equal(v), "%s changed", k)
				kept++
			}
			n := before.Attributes().Len() - kept
			assert.Equal(t, "removed "+strconv.Itoa(n)+" attributes", attr(t, after, MarkerKey))
			assert.Equal(t, uint32(n), after.DroppedAttributesCount())
			for _, kv := range identity {
				if kv[0] != "gen_ai.agent.description" {
					assert.Equal(t, kv[1], attr(t, after, kv[0]), "required attributes go last")
				}
			}
			// The fewest removals: one attribute back and it no longer fits.
			back := clone(after)
			for k, v := range before.Attributes().All() {
				if _, ok := after.Attributes().Get(k); !ok && strings.HasPrefix(k, "k") {
					v.CopyTo(back.Attributes().PutEmpty(k))
					break
				}
			}
			back.Attributes().PutStr(MarkerKey, "removed "+strconv.Itoa(n-1)+" attributes")
			assert.Greater(t, measure(back), limit)
		},
	},
	{
		// A raw-JSON output message became a wrapper saying "0 messages
		// exceeded limit" with role system, and an unrelated 73-byte
		// description was cut although the final span was far under the limit.
		name: "hostile-raw-json-output",
		spec: spanSpec{input: smallInput, output: rawJSONOutput, repeat: 1, limit: 1000},
		check: func(t *testing.T, before, after ptrace.Span) {
			out := attr(t, after, "gen_ai.output.messages")
			var s string
			require.NoError(t, json.Unmarshal([]byte(out), &s), "still JSON: %s", out)
			assert.Equal(t, "[truncated: "+strconv.Itoa(len(rawJSONOutput))+" bytes of JSON]", s)
			assert.Equal(t, description, attr(t, after, "gen_ai.agent.description"))
			assertUnchangedExcept(t, before, after, "gen_ai.output.messages")
		},
	},
}

// assertUnchangedExcept checks that after is before but for the value of key.
func assertUnchangedExcept(t *testing.T, before, after ptrace.Span, key string) {
	t.Helper()
	assert.Equal(t, before.Attributes().Len(), after.Attributes().Len(), "nothing removed, no marker")
	for k, v := range before.Attributes().All() {
		if k != key {
			got, ok := after.Attributes().Get(k)
			if assert.True(t, ok, k) {
				assert.True(t, v.Equal(got), "%s changed to %.80s", k, got.AsString())
			}
		}
	}
	assert.Equal(t, before.Name(), after.Name())
	assert.Equal(t, before.Status().Message(), after.Status().Message())
	assert.Equal(t, before.Events().Len(), after.Events().Len())
}

func TestHostileSpans(t *testing.T) {
	for _, tc := range hostileSpans {
		t.Run(tc.name, func(t *testing.T) {
			before := tc.spec.build(t)
			span := clone(before)
			require.Greater(t, measure(span), tc.spec.limit)
			res := Span(span, tc.spec.limit, measure, protectedKeys)
			t.Logf("%d -> %d bytes (limit %d), %d measure calls", res.Before, res.After, tc.spec.limit, res.Measures)
			assert.True(t, res.Changed)
			assert.LessOrEqual(t, res.After, tc.spec.limit)
			assert.LessOrEqual(t, res.After, res.Before)
			assert.Equal(t, measure(span), res.After)
			assert.LessOrEqual(t, res.Measures, measureBound(1000, 1000, 1000, 1000, 1000, 10, 10))
			tc.check(t, before, span)
		})
	}
}

// corpusEntry is spec in the fuzzing engine's corpus file format.
func corpusEntry(s spanSpec) string {
	var b strings.Builder
	b.WriteString("go test fuzz v1\n")
	for _, v := range []string{s.input, s.output, s.text} {
		b.WriteString("string(" + strconv.Quote(v) + ")\n")
	}
	for _, v := range []int{s.repeat, s.events, s.limit, s.arrayLen, s.shortAttributes} {
		b.WriteString("int(" + strconv.Itoa(v) + ")\n")
	}
	return b.String()
}

func TestHostileSpansInFuzzCorpus(t *testing.T) {
	for _, tc := range hostileSpans {
		path := filepath.Join("testdata", "fuzz", "FuzzTruncate", tc.name)
		if *updateCorpus {
			require.NoError(t, os.WriteFile(path, []byte(corpusEntry(tc.spec)), 0o600))
		}
		got, err := os.ReadFile(path)
		require.NoError(t, err, "run go test -run TestHostileSpansInFuzzCorpus -update-corpus")
		assert.Equal(t, corpusEntry(tc.spec), string(got), path)
	}
}

func TestBulkAttributesKeepOrder(t *testing.T) {
	m := bulkAttributes(t, 3, func(i int) (string, string) { return "k" + strconv.Itoa(i), "v\"" + strconv.Itoa(i) })
	var got []string
	for k, v := range m.All() {
		got = append(got, k+"="+v.Str())
	}
	assert.Equal(t, []string{`k0=v"0`, `k1=v"1`, `k2=v"2`}, got)
}

func BenchmarkHostileSpans(b *testing.B) {
	for _, tc := range hostileSpans {
		b.Run(tc.name, func(b *testing.B) {
			orig := tc.spec.build(b)
			span := ptrace.NewSpan()
			var buf []byte
			m := func(s ptrace.Span) int {
				buf = a365.AppendSpan(buf[:0], s, payload.SpanMeta{Op: "chat"})
				return len(buf)
			}
			for b.Loop() {
				orig.CopyTo(span)
				Span(span, tc.spec.limit, m, protectedKeys)
			}
		})
	}
}
