package truncate

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/agent365-otel/agent365exporter/internal/payload"
)

// TestTruncationProperties checks on generated spans that truncation never
// makes a span larger, makes it fit, changes nothing when it fits, never
// touches the identity, changes values of 64 bytes or more largest first
// and only as far as needed, and removes only when that is not enough, in
// the documented order, saying truthfully what it removed.
func TestTruncationProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(20260, 3))
	otlp := payload.NewOTLPJSON(payload.Options{})
	var untouched, valuesOnly, removals, partial int
	for i := range 200 {
		before := randomSpan(rng)
		span := clone(before)
		size := measure(span)
		lim := max(4096, int(float64(size)*(0.02+1.1*rng.Float64())))
		if rng.IntN(4) == 0 {
			lim = 4096 + rng.IntN(4096)
		}
		res := Span(span, lim, measure, protectedKeys)

		name := "span " + strconv.Itoa(i)
		require.Equal(t, size, res.Before, name)
		require.Equal(t, measure(span), res.After, name)
		require.LessOrEqual(t, res.After, res.Before, name)
		require.LessOrEqual(t, res.After, lim, name)
		require.LessOrEqual(t, res.Measures, measureBound(1000, 1000, 100, 100, 100, 2, 3), name)
		if size <= lim {
			require.False(t, res.Changed, name)
			require.Equal(t, string(encode(before)), string(encode(span)), name)
			require.Equal(t, string(otlp.AppendSpan(nil, before, payload.SpanMeta{})), string(otlp.AppendSpan(nil, span, payload.SpanMeta{})), name)
			untouched++
			continue
		}
		if _, ok := span.Attributes().Get(MarkerKey); ok {
			removals++
		} else {
			valuesOnly++
		}
		if res.After > lim-64 {
			partial++
		}
		checkTruncation(t, name, before, span, lim)
	}
	// The generated spans exercise every case.
	t.Logf("%d untouched, %d with values changed, %d with removals, %d cut to within 64 bytes of the limit", untouched, valuesOnly, removals, partial)
	assert.Greater(t, untouched, 10)
	assert.Greater(t, valuesOnly, 40)
	assert.Greater(t, removals, 30)
	assert.Greater(t, partial, 40)
}

func checkTruncation(t *testing.T, name string, before, after ptrace.Span, lim int) {
	slots := slotsOf(before)
	var changed []slot
	isChanged := map[string]bool{}
	anyRemoved := false
	for _, s := range slots {
		v, ok := s.get(after)
		switch {
		case !ok:
			anyRemoved = true
			require.False(t, s.protected, "%s: protected %s removed", name, s.where)
		case !v.Equal(s.orig):
			require.False(t, s.protected, "%s: protected %s changed", name, s.where)
			changed = append(changed, s)
			isChanged[s.where] = true
			// Never longer, and marked.
			require.Less(t, valueSize(v, 0), s.size, "%s: %s", name, s.where)
			if s.orig.Type() == pcommon.ValueTypeStr {
				require.True(t, strings.HasSuffix(v.Str(), TruncatedSuffix), "%s: %s", name, s.where)
				require.True(t, strings.HasPrefix(s.orig.Str(), strings.TrimSuffix(v.Str(), TruncatedSuffix)), "%s: %s", name, s.where)
			} else {
				require.Equal(t, OverlimitSentinel, v.Str(), "%s: %s", name, s.where)
			}
		}
	}

	// Removal only when changing every value of 64 bytes or more cannot
	// make the span fit; small values change only by going.
	if fitsByLargeValues(before, slots, lim) {
		require.False(t, anyRemoved, "%s: removed although changing large values was enough", name)
	}
	for _, s := range slots {
		if s.size < minChange {
			require.False(t, isChanged[s.where], "%s: small %s changed", name, s.where)
		} else if anyRemoved && !s.protected {
			v, ok := s.get(after)
			require.True(t, !ok || !v.Equal(s.orig), "%s: removed before %s (%d bytes) changed", name, s.where, s.size)
		}
	}

	if !anyRemoved {
		_, ok := after.Attributes().Get(MarkerKey)
		require.False(t, ok, "%s: a marker without removal", name)
		// Largest first: every value larger than the smallest changed one changed.
		smallest := -1
		for _, s := range changed {
			if smallest < 0 || s.size < smallest {
				smallest = s.size
			}
		}
		for _, s := range slots {
			if !s.protected && s.size > smallest && smallest >= 0 {
				require.True(t, isChanged[s.where], "%s: %s (%d bytes) kept while a %d-byte value changed", name, s.where, s.size, smallest)
			}
		}
		// Every change was needed: undo any one and the span is over the
		// limit. The smallest changes are the ones that might not be.
		slices.SortFunc(changed, func(a, b slot) int { return a.size - b.size })
		for _, s := range changed[:min(len(changed), 3)] {
			undone := clone(after)
			s.restore(undone)
			require.Greater(t, measure(undone), lim, "%s: changing %s was not needed", name, s.where)
		}
		return
	}

	// Removals in order, counted truthfully.
	var want removed
	evAttrs := func(s ptrace.Span) (n int) {
		for i := 0; i < s.Events().Len(); i++ {
			n += s.Events().At(i).Attributes().Len()
		}
		return n
	}
	linkAttrs := func(s ptrace.Span) (n int) {
		for i := 0; i < s.Links().Len(); i++ {
			n += s.Links().At(i).Attributes().Len()
		}
		return n
	}
	want.eventAttributes = evAttrs(before) - evAttrs(after)
	want.linkAttributes = linkAttrs(before) - linkAttrs(after)
	want.events = before.Events().Len() - after.Events().Len()
	want.links = before.Links().Len() - after.Links().Len()
	want.attributes = before.Attributes().Len() - (after.Attributes().Len() - 1)
	assert.Equal(t, want.text(), attr(t, after, MarkerKey), name)
	assert.Equal(t, uint32(want.events), after.DroppedEventsCount(), name)
	assert.Equal(t, uint32(want.links), after.DroppedLinksCount(), name)
	assert.Equal(t, uint32(want.attributes), after.DroppedAttributesCount(), name)
	if want.events > 0 || want.links > 0 || want.attributes > 0 {
		require.Zero(t, evAttrs(after)+linkAttrs(after), "%s: events, links or attributes went before event and link attributes", name)
	}
	if want.links > 0 || want.attributes > 0 {
		require.Zero(t, after.Events().Len(), "%s: links or attributes went before events", name)
	}
	if want.attributes > 0 {
		require.Zero(t, after.Links().Len(), "%s: attributes went before links", name)
	}
}

// fitsByLargeValues tells whether span fits lim with every value of 64
// bytes or more at its smallest.
func fitsByLargeValues(span ptrace.Span, slots []slot, lim int) bool {
	c := clone(span)
	for _, s := range slots {
		if s.protected || s.size < minChange {
			continue
		}
		if s.orig.Type() == pcommon.ValueTypeStr {
			s.set(c, pcommon.NewValueStr(TruncatedSuffix))
		} else {
			s.set(c, pcommon.NewValueStr(OverlimitSentinel))
		}
	}
	return measure(c) <= lim
}

// slot is a value of a span: an attribute of the span, an event or a link,
// the span name, an event name or the status message.
type slot struct {
	where     string
	orig      pcommon.Value
	size      int
	protected bool
	get       func(ptrace.Span) (pcommon.Value, bool)
	set       func(ptrace.Span, pcommon.Value)
}

func (s slot) restore(span ptrace.Span) { s.set(span, s.orig) }

func slotsOf(span ptrace.Span) []slot {
	var slots []slot
	attrSlot := func(where, k string, v pcommon.Value, m func(ptrace.Span) (pcommon.Map, bool), protected bool) slot {
		return slot{
			where: where + " " + k, orig: v, size: valueSize(v, 0), protected: protected,
			get: func(s ptrace.Span) (pcommon.Value, bool) {
				if mm, ok := m(s); ok {
					return mm.Get(k)
				}
				return pcommon.Value{}, false
			},
			set: func(s ptrace.Span, v pcommon.Value) {
				mm, _ := m(s)
				v.CopyTo(mm.PutEmpty(k))
			},
		}
	}
	textSlot := func(where string, get func(ptrace.Span) (string, bool), set func(ptrace.Span, string)) slot {
		orig, _ := get(span)
		return slot{
			where: where, orig: pcommon.NewValueStr(orig), size: payload.StringSize(orig),
			get: func(s ptrace.Span) (pcommon.Value, bool) {
				text, ok := get(s)
				return pcommon.NewValueStr(text), ok
			},
			set: func(s ptrace.Span, v pcommon.Value) { set(s, v.Str()) },
		}
	}
	for k, v := range span.Attributes().All() {
		slots = append(slots, attrSlot("attribute", k, v, func(s ptrace.Span) (pcommon.Map, bool) { return s.Attributes(), true }, protectedKeys(k)))
	}
	for i := 0; i < span.Events().Len(); i++ {
		event := func(s ptrace.Span) (ptrace.SpanEvent, bool) {
			if i < s.Events().Len() {
				return s.Events().At(i), true
			}
			return ptrace.SpanEvent{}, false
		}
		for k, v := range span.Events().At(i).Attributes().All() {
			slots = append(slots, attrSlot("event "+strconv.Itoa(i), k, v, func(s ptrace.Span) (pcommon.Map, bool) {
				ev, ok := event(s)
				if !ok {
					return pcommon.Map{}, false
				}
				return ev.Attributes(), true
			}, false))
		}
		slots = append(slots, textSlot("event "+strconv.Itoa(i)+" name", func(s ptrace.Span) (string, bool) {
			ev, ok := event(s)
			if !ok {
				return "", false
			}
			return ev.Name(), true
		}, func(s ptrace.Span, name string) {
			ev, _ := event(s)
			ev.SetName(name)
		}))
	}
	for i := 0; i < span.Links().Len(); i++ {
		for k, v := range span.Links().At(i).Attributes().All() {
			slots = append(slots, attrSlot("link "+strconv.Itoa(i), k, v, func(s ptrace.Span) (pcommon.Map, bool) {
				if i < s.Links().Len() {
					return s.Links().At(i).Attributes(), true
				}
				return pcommon.Map{}, false
			}, false))
		}
	}
	slots = append(slots,
		textSlot("name", func(s ptrace.Span) (string, bool) { return s.Name(), true }, func(s ptrace.Span, n string) { s.SetName(n) }),
		textSlot("status", func(s ptrace.Span) (string, bool) { return s.Status().Message(), true }, func(s ptrace.Span, m string) { s.Status().SetMessage(m) }),
	)
	return slots
}

// randomSpan is a span with a random mix of values of every type and
// size, events and links.
func randomSpan(rng *rand.Rand) ptrace.Span {
	span := ptrace.NewSpan()
	span.SetTraceID([16]byte{byte(rng.Uint32())})
	span.SetSpanID([8]byte{byte(rng.Uint32())})
	span.SetStartTimestamp(pcommon.Timestamp(rng.Uint64N(1 << 62)))
	span.SetName(randomText(rng, randomLen(rng, 200)))
	span.Status().SetMessage(randomText(rng, randomLen(rng, 3000)))
	a := span.Attributes()
	a.PutStr("gen_ai.operation.name", "chat")
	a.PutStr("microsoft.tenant.id", "7b0c4a1e-93f1-4d2b-a0c8-5e6f7a8b9c0d")
	a.PutStr("gen_ai.agent.id", "3f2a9e47-1c6b-4d8e-9a05-b7c1d2e3f4a5")
	for i := range rng.IntN(30) {
		randomValue(rng, a.PutEmpty("attr."+strconv.Itoa(i)), 20000)
	}
	if rng.IntN(3) == 0 { // many small attributes
		for i := range rng.IntN(1500) {
			a.PutStr("small."+strconv.Itoa(i), randomText(rng, rng.IntN(30)))
		}
	}
	events := rng.IntN(60)
	if rng.IntN(4) == 0 {
		events = rng.IntN(600)
	}
	for i := range events {
		ev := span.Events().AppendEmpty()
		ev.SetTimestamp(pcommon.Timestamp(rng.Uint64N(1 << 62)))
		ev.SetName(randomText(rng, randomLen(rng, 300)))
		for j := range rng.IntN(5) {
			randomValue(rng, ev.Attributes().PutEmpty("e"+strconv.Itoa(i)+"."+strconv.Itoa(j)), 5000)
		}
	}
	for range rng.IntN(15) {
		l := span.Links().AppendEmpty()
		l.SetTraceID([16]byte{byte(rng.Uint32())})
		for j := range rng.IntN(4) {
			randomValue(rng, l.Attributes().PutEmpty("l"+strconv.Itoa(j)), 3000)
		}
	}
	return span
}

// randomLen is a short length most of the time, else up to most.
func randomLen(rng *rand.Rand, most int) int {
	if rng.IntN(3) > 0 {
		return rng.IntN(50)
	}
	return rng.IntN(most)
}

var alphabet = []string{"a", "b", "c", "d", " ", "0", "é", "日", "😀", "\"", "\\", "\n", "\x01", "\xff"}

func randomText(rng *rand.Rand, n int) string {
	var b strings.Builder
	for b.Len() < n {
		if rng.IntN(4) > 0 {
			b.WriteString(alphabet[rng.IntN(5)])
		} else {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
	}
	return b.String()
}

func randomValue(rng *rand.Rand, v pcommon.Value, most int) {
	switch rng.IntN(8) {
	case 0, 1, 2:
		v.SetStr(randomText(rng, randomLen(rng, most)))
	case 3:
		v.SetInt(rng.Int64() >> rng.IntN(64))
	case 4:
		v.SetDouble(rng.NormFloat64() * 1e6)
	case 5:
		v.SetBool(rng.IntN(2) == 0)
	case 6:
		v.SetEmptyBytes().FromRaw(make([]byte, randomLen(rng, most)))
	default:
		s := v.SetEmptySlice()
		for range randomLen(rng, most/8) {
			if rng.IntN(2) == 0 {
				s.AppendEmpty().SetInt(rng.Int64N(1e9))
			} else {
				s.AppendEmpty().SetEmptyMap().PutStr("k", randomText(rng, rng.IntN(20)))
			}
		}
	}
}
