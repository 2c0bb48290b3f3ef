package payload

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

func testLayout(scopes int) *Layout {
	f := NewA365(Options{})
	res := pcommon.NewResource()
	res.Attributes().PutStr("service.name", "svc")
	l := &Layout{Resource: f.AppendResourceOpen(nil, res, "")}
	for i := range scopes {
		sc := pcommon.NewInstrumentationScope()
		sc.SetName(strings.Repeat("s", i+1))
		l.Scopes = append(l.Scopes, f.AppendScopeOpen(nil, sc, ""))
	}
	return l
}

func TestChunksExactSizes(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := range 200 {
		l := testLayout(1 + rng.IntN(4))
		var buf []byte
		var spans []Span
		n := rng.IntN(40)
		scope := 0
		for range n {
			if scope < len(l.Scopes)-1 && rng.IntN(5) == 0 {
				scope++
			}
			start := len(buf)
			buf = append(buf, `{"i":`...)
			buf = append(buf, strings.Repeat("1", 1+rng.IntN(300))...)
			buf = append(buf, '}')
			spans = append(spans, Span{Start: start, End: len(buf), Scope: scope})
		}
		limit := 100 + rng.IntN(2000)
		chunks := l.Chunks(nil, spans, limit)
		next := 0
		for _, c := range chunks {
			require.Equal(t, next, c.First, "iteration %d: chunks must be consecutive", iter)
			require.Greater(t, c.Last, c.First)
			next = c.Last
			body := l.AppendBody(nil, buf, spans[c.First:c.Last])
			require.Equal(t, len(body), c.Size, "iteration %d: size must be exact", iter)
			require.Equal(t, c.Size, l.Size(spans[c.First:c.Last]))
			require.True(t, json.Valid(body), "iteration %d: %s", iter, body)
			if c.Last-c.First > 1 {
				require.LessOrEqual(t, c.Size, limit, "iteration %d", iter)
			}
			// Greedy: the next span would not have fitted.
			if c.Last < len(spans) {
				require.Greater(t, l.Size(spans[c.First:c.Last+1]), limit)
			}
		}
		require.Equal(t, len(spans), next, "every span is in a chunk")
	}
}

func TestChunksOversizedSpanAlone(t *testing.T) {
	l := testLayout(1)
	buf := []byte(`{"a":1}` + `{"b":"` + strings.Repeat("x", 500) + `"}` + `{"c":3}`)
	spans := []Span{{Start: 0, End: 7}, {Start: 7, End: 7 + 508}, {Start: 515, End: 522}}
	chunks := l.Chunks(nil, spans, 300)
	require.Len(t, chunks, 3)
	assert.Equal(t, 1, chunks[1].Last-chunks[1].First)
	assert.Greater(t, chunks[1].Size, 300)
	assert.True(t, json.Valid(l.AppendBody(nil, buf, spans[1:2])))
	assert.Empty(t, l.Chunks(nil, nil, 300))
}
