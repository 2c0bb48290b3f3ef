// Package truncate shrinks a span whose encoded size is over a limit,
// changing as little as it can.
//
// Changes come in stages, each tried only when the ones before it, applied
// in full, are not enough:
//
//  1. Values of 64 bytes or more (encoded), largest first, whatever their
//     type and wherever they are (span, event and link attributes, the span
//     and event names, the status message). As the Agent 365 Node.js SDK
//     does, in the gen_ai.input.messages / gen_ai.output.messages wrappers
//     {"version":..,"messages":[..]} and bare message arrays, blob parts
//     become "[blob truncated]", tool-call arguments and results
//     "[truncated]", texts are cut on a code point boundary and end with
//     "… [truncated]"; a message attribute whose parts are not enough
//     becomes, in the same shape, one message with role system (a note,
//     as in the SDKs) saying "[truncated: N messages exceeded limit]", N
//     the number of messages it held. Other JSON in those attributes, which
//     a cut would break, becomes the JSON string "[truncated: N bytes of
//     JSON]". Other strings are cut like texts; arrays, maps and bytes
//     become "[overlimit]".
//  2. Event and link attributes are removed, largest first.
//  3. Events are removed, newest first; then links.
//  4. Span attributes are removed, largest first; those Agent 365 requires
//     after all others.
//  5. The span name and status message are cut, whatever their length.
//  6. Only then identity and operation values (protected) change; they
//     are short, so in practice never.
//
// A value never becomes longer, and no change is kept that the span did
// not need: within a stage, the fewest changes that fit are found by
// measuring, and the last one cuts no further than needed. A message
// attribute that held JSON holds valid JSON for as long as it is there.
// Removals are counted in the MarkerKey span attribute ("removed 3
// attributes, 2 events") and in the OTLP dropped counts; the marker goes
// again if the span cannot fit with it. The result is never larger than
// the input, and fits whenever what stage 6 leaves fits: with the
// 4096-byte floor of max_span_bytes and identifiers of at most 128
// characters, always.
package truncate // import "github.com/agent365-otel/agent365exporter/internal/truncate"

import (
	"math/bits"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Sentinels written in place of removed content; consumers of Agent 365 data
// already know them from the SDKs.
const (
	BlobSentinel      = "[blob truncated]"
	JSONSentinel      = "[truncated]"
	TruncatedSuffix   = "… [truncated]"
	OverlimitSentinel = "[overlimit]"
	// MessageSchemaVersion is the version written in an overflow message
	// wrapper when the original names none.
	MessageSchemaVersion = "0.1.0"
	// MarkerKey is the span attribute that says what was removed.
	MarkerKey = "agent365.truncation"
)

// minChange is the encoded size under which a value is left as it is while
// anything else can change.
const minChange = 64

// messageKeys hold the versioned message wrapper {"version":..,"messages":[..]}.
var messageKeys = map[string]bool{
	"gen_ai.input.messages":  true,
	"gen_ai.output.messages": true,
}

// Result tells what Span did.
type Result struct {
	// Before and After are the measured sizes. After <= Before always, and
	// After <= the limit whenever the span could be made to fit.
	Before, After int
	// Changed is true when the span was modified.
	Changed bool
	// Measures is the number of times the span was measured.
	Measures int
}

// Fits reports whether the span ended within the limit.
func (r Result) Fits(limit int) bool { return r.After <= limit }

// Measure returns the encoded size of a span.
type Measure func(ptrace.Span) int

// Span shrinks span in place until measure(span) <= limit; see the package
// documentation for the order of changes. protected names span attribute
// keys (identity and operation) changed only when nothing else is left.
//
// measure is called at most 3 + Σ(2⌈log2(n+1)⌉ + 5) times, n the number of
// possible changes of each of the seven searches (stage 3 searches events,
// then links): once for the original, one search per stage that is needed
// (one or two calls when the a365 sizes predict the result exactly), and
// at most twice more when the span cannot fit.
func Span(span ptrace.Span, limit int, measure Measure, protected func(string) bool) Result {
	t := &truncator{span: span, limit: limit, measure: measure, protected: protected}
	t.size = t.probe()
	res := Result{Before: t.size}
	if t.size > limit {
		dropped := droppedCountsOf(span)
		t.markerOrig, t.hadMarker = span.Attributes().Get(MarkerKey)
		if t.hadMarker {
			orig := pcommon.NewValueEmpty()
			t.markerOrig.CopyTo(orig)
			t.markerOrig = orig
		}
		for _, build := range []func() stage{
			t.contentStage, t.nestedAttributesStage, t.eventsStage, t.linksStage,
			t.attributesStage, t.namesStage, t.protectedStage,
		} {
			if st := build(); st.steps() > 0 {
				t.search(st)
				res.Changed = true
				if t.size <= limit {
					break
				}
			}
		}
		if t.size > limit && t.markerWritten {
			t.dropMarker()
			t.size = t.probe()
		}
		if t.size > res.Before {
			// Only the OTLP dropped counts can make a span that cannot fit
			// larger than it was; it goes as it came in that respect.
			dropped.restore(span)
			t.size = t.probe()
		}
	}
	res.After, res.Measures = t.size, t.measures
	return res
}

type truncator struct {
	span      ptrace.Span
	limit     int
	size      int // measured size of the span as it is
	measure   Measure
	measures  int
	protected func(string) bool

	removed       removed // what the removal stages took out
	markerWritten bool
	hadMarker     bool // the span came with a MarkerKey attribute
	markerOrig    pcommon.Value
}

func (t *truncator) probe() int {
	t.measures++
	return t.measure(t.span)
}

func (t *truncator) isProtected(key string) bool {
	return t.protected != nil && t.protected(key)
}

// stage is one kind of change over an ordered list of steps. State k has
// its first k steps applied, state 0 is the span as the stage found it.
type stage interface {
	steps() int
	// estimate is the saving of state k predicted by the a365 sizes.
	estimate(k int) int
	// partial tells whether step k can be applied in part.
	partial(k int) bool
	// apply puts the span in state k, with step k shedding at least shed
	// bytes instead of all it can when shed > 0 and partial(k); it returns
	// the predicted saving.
	apply(k, shed int) int
}

// search puts the span in the first state of st that fits, its last step
// cut no further than needed, or in its last state when none fits. Sizes
// decrease with k, so that state is found by doubling then bisecting, in at
// most 2⌈log2(n+1)⌉ + 5 measurements. When the first guess saves exactly
// what the a365 sizes predict, they are exact (as they are for the a365
// format; an encoder that leaves a value out saves less), so no earlier
// state can fit and one measurement is enough.
func (t *truncator) search(st stage) {
	n := st.steps()
	start, excess := t.size, t.size-t.limit
	sizes := map[int]int{0: start} // measured sizes of states whose steps are whole

	// The guess: the fewest steps predicted to cover the excess, the last
	// one shedding only what is still missing.
	k := n
	for i := 1; i <= n; i++ {
		if st.estimate(i) >= excess {
			k = i
			break
		}
	}
	shed := 0
	if st.partial(k) && st.estimate(k) >= excess {
		shed = excess - st.estimate(k-1)
	}
	saved := st.apply(k, shed)
	size := t.probe()
	if size <= t.limit && start-size == saved {
		t.size = size
		return
	}
	lo, hi := 0, -1 // state lo does not fit, state hi does
	switch {
	case size <= t.limit:
		hi = k
		if shed == 0 {
			sizes[k] = size
		}
	case shed == 0:
		lo, sizes[k] = k, size
	default:
		lo = k - 1
	}
	for step := k; hi < 0; step *= 2 {
		if lo == n { // the last state was the last probe
			t.size = sizes[n]
			return
		}
		k = min(n, lo+step)
		st.apply(k, 0)
		size = t.probe()
		sizes[k] = size
		if size <= t.limit {
			hi = k
		} else {
			lo = k
		}
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		st.apply(mid, 0)
		size = t.probe()
		sizes[mid] = size
		if size <= t.limit {
			hi = mid
		} else {
			lo = mid
		}
	}
	if st.partial(hi) {
		before, ok := sizes[hi-1]
		if !ok {
			st.apply(hi-1, 0)
			before = t.probe()
		}
		st.apply(hi, before-t.limit)
		if size = t.probe(); size <= t.limit {
			t.size = size
			return
		}
	}
	st.apply(hi, 0)
	if s, ok := sizes[hi]; ok {
		t.size = s
	} else {
		t.size = t.probe()
	}
}

// measureBound is the most measure calls Span makes for stages of n[i]
// steps, as documented on Span.
func measureBound(n ...int) int {
	b := 3
	for _, s := range n {
		b += 2*bits.Len(uint(s)) + 5
	}
	return b
}
