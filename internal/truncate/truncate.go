// Package truncate shrinks a span whose encoded size is over a limit, the
// way the Agent 365 Node.js SDK does: inline blobs and tool payloads in the
// gen_ai message wrappers give way first, then long texts and strings are
// cut on a code point boundary, largest first, and as a last resort values
// become sentinels. A message attribute that holds JSON stays valid JSON
// throughout.
package truncate // import "github.com/agent365-otel/agent365exporter/internal/truncate"

import (
	"encoding/json"
	"slices"
	"strconv"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/agent365-otel/agent365exporter/internal/payload"
)

// Sentinels written in place of removed content; consumers of Agent 365 data
// already know them from the SDKs.
const (
	BlobSentinel      = "[blob truncated]"
	JSONSentinel      = "[truncated]"
	TruncatedSuffix   = "… [truncated]"
	OverlimitSentinel = "[overlimit]"
	// MessageSchemaVersion is the version written in an overflow message wrapper.
	MessageSchemaVersion = "0.1.0"
)

// minShrinkable is the size under which a string is not worth trimming.
const minShrinkable = 50

// maxRounds bounds the measure-and-shrink rounds of each phase.
const maxRounds = 64

// messageKeys hold the versioned message wrapper {"version":..,"messages":[..]}.
var messageKeys = map[string]bool{
	"gen_ai.input.messages":  true,
	"gen_ai.output.messages": true,
}

// Result tells what Span did.
type Result struct {
	// Before and After are the measured sizes.
	Before, After int
	// Changed is true when the span was modified.
	Changed bool
}

// Fits reports whether the span ended within the limit.
func (r Result) Fits(limit int) bool { return r.After <= limit }

// Measure returns the encoded size of a span.
type Measure func(ptrace.Span) int

// Span shrinks span in place until measure(span) <= limit or nothing more
// can be removed. protected names attribute keys that are never changed
// (identity and operation). Every loop is bounded.
func Span(span ptrace.Span, limit int, measure Measure, protected func(string) bool) Result {
	t := &truncator{span: span, limit: limit, measure: measure, protected: protected}
	t.size = measure(span)
	res := Result{Before: t.size}
	if t.size <= limit {
		res.After = t.size
		return res
	}
	res.Changed = true
	t.run(t.shrinkCandidates())
	if t.size > limit {
		t.run(t.overlimitCandidates())
	}
	if t.size > limit {
		t.run(t.lastResortCandidates())
	}
	res.After = t.size
	return res
}

type truncator struct {
	span      ptrace.Span
	limit     int
	size      int
	measure   Measure
	protected func(string) bool
	messages  []*messageAttr
}

// candidate is one change that makes the span smaller.
type candidate struct {
	size  int                // bytes it may still remove
	apply func(shed int) int // applies it; returns an estimate of the bytes removed
	more  func() bool        // whether it can be applied again
}

// run applies candidates largest first, in rounds: within a round until the
// estimated savings cover the excess, then one exact measurement.
func (t *truncator) run(cands []*candidate) {
	for round := 0; round < maxRounds && len(cands) > 0 && t.size > t.limit; round++ {
		slices.SortStableFunc(cands, func(a, b *candidate) int { return b.size - a.size })
		remaining := t.size - t.limit
		applied := 0
		for applied < len(cands) && remaining > 0 {
			remaining -= cands[applied].apply(remaining)
			applied++
		}
		t.flushMessages()
		before := t.size
		t.size = t.measure(t.span)
		kept := cands[:0]
		for i, c := range cands {
			if i >= applied || (t.size < before && c.more != nil && c.more()) {
				kept = append(kept, c)
			}
		}
		cands = kept
	}
}

func (t *truncator) isProtected(key string) bool {
	return t.protected != nil && t.protected(key)
}

// shrinkCandidates: blobs and tool payloads of message wrappers become
// sentinels, texts and other long strings are trimmed.
func (t *truncator) shrinkCandidates() []*candidate {
	var cands []*candidate
	for k, v := range t.span.Attributes().All() {
		if t.isProtected(k) || v.Type() != pcommon.ValueTypeStr {
			continue
		}
		if messageKeys[k] {
			if m := parseMessages(v); m != nil {
				t.messages = append(t.messages, m)
				cands = append(cands, m.candidates()...)
				continue
			}
			if json.Valid([]byte(v.Str())) {
				// Other JSON would be broken by a cut: the overlimit
				// phase replaces it whole with a valid wrapper.
				continue
			}
		}
		if c := trimValue(v); c != nil {
			cands = append(cands, c)
		}
	}
	events := t.span.Events()
	for i := 0; i < events.Len(); i++ {
		ev := events.At(i)
		cands = appendTrimAll(cands, ev.Attributes())
		cands = appendIf(cands, trimText(ev.Name, ev.SetName))
	}
	links := t.span.Links()
	for i := 0; i < links.Len(); i++ {
		cands = appendTrimAll(cands, links.At(i).Attributes())
	}
	st := t.span.Status()
	cands = appendIf(cands, trimText(st.Message, st.SetMessage))
	return appendIf(cands, trimText(t.span.Name, t.span.SetName))
}

// overlimitCandidates: string attributes become "[overlimit]"; a message
// attribute becomes a one-message wrapper saying how many messages it held.
func (t *truncator) overlimitCandidates() []*candidate {
	var cands []*candidate
	for k, v := range t.span.Attributes().All() {
		if t.isProtected(k) || v.Type() != pcommon.ValueTypeStr || v.Str() == OverlimitSentinel {
			continue
		}
		if messageKeys[k] {
			val := v
			cands = append(cands, &candidate{size: len(v.Str()), apply: func(int) int {
				before := len(val.Str())
				val.SetStr(overflowWrapper(t.messageCount(val)))
				t.dropMessage(val)
				return before - len(val.Str())
			}})
			continue
		}
		cands = append(cands, replaceCandidate(v))
	}
	return cands
}

// lastResortCandidates: event, link and status strings, then non-string
// span attributes, become sentinels; then events and links are removed.
func (t *truncator) lastResortCandidates() []*candidate {
	var cands []*candidate
	events := t.span.Events()
	for i := 0; i < events.Len(); i++ {
		cands = appendReplaceAll(cands, events.At(i).Attributes())
	}
	links := t.span.Links()
	for i := 0; i < links.Len(); i++ {
		cands = appendReplaceAll(cands, links.At(i).Attributes())
	}
	if st := t.span.Status(); len(st.Message()) > len(OverlimitSentinel) {
		cands = append(cands, &candidate{size: len(st.Message()), apply: func(int) int {
			before := len(st.Message())
			st.SetMessage(OverlimitSentinel)
			return before - len(OverlimitSentinel)
		}})
	}
	for k, v := range t.span.Attributes().All() {
		if t.isProtected(k) || v.Type() == pcommon.ValueTypeStr {
			continue
		}
		if sz := approxSize(v, 0); sz > len(OverlimitSentinel)+2 {
			val := v
			cands = append(cands, &candidate{size: sz, apply: func(int) int {
				val.SetStr(OverlimitSentinel)
				return sz - len(OverlimitSentinel) - 2
			}})
		}
	}
	// Whole events and links go last, newest first: they come after
	// everything else in size order only when they are what is left.
	t.run(cands)
	if t.size <= t.limit {
		return nil
	}
	return []*candidate{removeTail(events.Len(), func(n int) int {
		sz := 0
		for i := events.Len() - n; i < events.Len(); i++ {
			sz += eventSize(events.At(i))
		}
		keep := events.Len() - n
		idx := 0
		events.RemoveIf(func(ptrace.SpanEvent) bool { idx++; return idx > keep })
		return sz
	}, func(i int) int { return eventSize(events.At(i)) }, func() int { return events.Len() }),
		removeTail(links.Len(), func(n int) int {
			sz := 0
			for i := links.Len() - n; i < links.Len(); i++ {
				sz += approxMap(links.At(i).Attributes(), 0) + 80
			}
			keep := links.Len() - n
			idx := 0
			links.RemoveIf(func(ptrace.SpanLink) bool { idx++; return idx > keep })
			return sz
		}, func(i int) int { return approxMap(links.At(i).Attributes(), 0) + 80 }, func() int { return links.Len() }),
	}
}

// removeTail removes elements from the end of a list until the estimated
// savings reach the shed asked for (at least one element per application).
func removeTail(n int, remove func(count int) int, sizeAt func(i int) int, length func() int) *candidate {
	c := &candidate{}
	total := 0
	for i := 0; i < n; i++ {
		total += sizeAt(i)
	}
	c.size = total
	c.apply = func(shed int) int {
		l := length()
		count, est := 0, 0
		for count < l && est < shed {
			est += sizeAt(l - 1 - count)
			count++
		}
		saved := remove(count)
		c.size -= saved
		return saved
	}
	c.more = func() bool { return length() > 0 }
	return c
}

func (t *truncator) flushMessages() {
	for _, m := range t.messages {
		m.flush()
	}
}

func (t *truncator) dropMessage(v pcommon.Value) {
	t.messages = slices.DeleteFunc(t.messages, func(m *messageAttr) bool { return m.val == v })
}

func (t *truncator) messageCount(v pcommon.Value) int {
	for _, m := range t.messages {
		if m.val == v {
			return len(m.msgs.arr)
		}
	}
	if m := parseMessages(v); m != nil {
		return len(m.msgs.arr)
	}
	return 0
}

// overflowWrapper is the message wrapper left when no message fits.
func overflowWrapper(n int) string {
	noun := "messages"
	if n == 1 {
		noun = "message"
	}
	text := "[truncated: " + strconv.Itoa(n) + " " + noun + " exceeded limit]"
	b := []byte(`{"version":"` + MessageSchemaVersion + `","messages":[{"role":"system","parts":[{"type":"text","content":`)
	b = payload.AppendString(b, text)
	return string(append(b, "}]}]}"...))
}

// trimString cuts s so that about shed bytes go, on a code point boundary,
// and marks the cut with TruncatedSuffix.
func trimString(s string, shed int) string {
	target := len(s) - max(1, shed) - len(TruncatedSuffix)
	if target <= 0 {
		return TruncatedSuffix
	}
	for target > 0 && !utf8.RuneStart(s[target]) {
		target--
	}
	return s[:target] + TruncatedSuffix
}

// trimValue trims a string value; nil when it is too short to bother.
func trimValue(v pcommon.Value) *candidate { return trimText(v.Str, v.SetStr) }

// trimText trims a string held outside the attributes (a name, a status
// message); nil when it is too short to bother.
func trimText(get func() string, set func(string)) *candidate {
	if len(get()) <= minShrinkable {
		return nil
	}
	c := &candidate{size: len(get())}
	c.apply = func(shed int) int {
		before := len(get())
		if before <= len(TruncatedSuffix) {
			return 0
		}
		set(trimString(get(), shed))
		c.size = len(get())
		return before - c.size
	}
	c.more = func() bool { return c.size > minShrinkable }
	return c
}

func appendIf(cands []*candidate, c *candidate) []*candidate {
	if c != nil {
		cands = append(cands, c)
	}
	return cands
}

func appendTrimAll(cands []*candidate, m pcommon.Map) []*candidate {
	for _, v := range m.All() {
		if v.Type() == pcommon.ValueTypeStr {
			if c := trimValue(v); c != nil {
				cands = append(cands, c)
			}
		}
	}
	return cands
}

func replaceCandidate(v pcommon.Value) *candidate {
	return &candidate{size: len(v.Str()), apply: func(int) int {
		before := len(v.Str())
		v.SetStr(OverlimitSentinel)
		return before - len(OverlimitSentinel)
	}}
}

func appendReplaceAll(cands []*candidate, m pcommon.Map) []*candidate {
	for _, v := range m.All() {
		if v.Type() == pcommon.ValueTypeStr && len(v.Str()) > len(OverlimitSentinel) {
			cands = append(cands, replaceCandidate(v))
		}
	}
	return cands
}

func eventSize(ev ptrace.SpanEvent) int {
	return len(ev.Name()) + approxMap(ev.Attributes(), 0) + 60
}

// approxSize estimates the encoded size of a value; estimates only steer
// the order of changes, the exact size is always measured.
func approxSize(v pcommon.Value, depth int) int {
	if depth > 64 {
		return 0
	}
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return payload.StringSize(v.Str())
	case pcommon.ValueTypeBytes:
		return v.Bytes().Len()*4/3 + 4
	case pcommon.ValueTypeSlice:
		s := v.Slice()
		n := 2
		for i := 0; i < s.Len(); i++ {
			n += approxSize(s.At(i), depth+1) + 1
		}
		return n
	case pcommon.ValueTypeMap:
		return approxMap(v.Map(), depth+1)
	default:
		return 8
	}
}

func approxMap(m pcommon.Map, depth int) int {
	n := 2
	for k, v := range m.All() {
		n += len(k) + 4 + approxSize(v, depth)
	}
	return n
}
