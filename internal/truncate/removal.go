package truncate // import "github.com/agent365-otel/agent365exporter/internal/truncate"

import (
	"slices"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/agent365-otel/agent365exporter/internal/schema"
)

// removed counts what the removal stages took out of the span.
type removed struct {
	attributes, events, links, eventAttributes, linkAttributes int
}

// removal is a kind of thing removed.
type removal int

const (
	spanAttribute removal = iota
	eventAttribute
	linkAttribute
	event
	link
)

// of is the counter of kind k.
func (r *removed) of(k removal) *int {
	switch k {
	case spanAttribute:
		return &r.attributes
	case eventAttribute:
		return &r.eventAttributes
	case linkAttribute:
		return &r.linkAttributes
	case event:
		return &r.events
	default:
		return &r.links
	}
}

// counts are the parts of the marker, in order.
func (r removed) counts() [5]struct {
	n    int
	noun string
} {
	return [5]struct {
		n    int
		noun string
	}{
		{r.attributes, "attribute"}, {r.events, "event"}, {r.links, "link"},
		{r.eventAttributes, "event attribute"}, {r.linkAttributes, "link attribute"},
	}
}

// text is the marker's value, e.g. "removed 3 attributes, 2 events".
func (r removed) text() string {
	var b strings.Builder
	for _, c := range r.counts() {
		if c.n == 0 {
			continue
		}
		if b.Len() == 0 {
			b.WriteString("removed ")
		} else {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Itoa(c.n))
		b.WriteByte(' ')
		b.WriteString(c.noun)
		if c.n > 1 {
			b.WriteByte('s')
		}
	}
	return b.String()
}

// textLen is len(r.text()), without building it.
func (r removed) textLen() int {
	n := 0
	for _, c := range r.counts() {
		if c.n == 0 {
			continue
		}
		if n == 0 {
			n += len("removed ")
		} else {
			n += len(", ")
		}
		n += uintLen(uint64(c.n)) + 1 + len(c.noun)
		if c.n > 1 {
			n++
		}
	}
	return n
}

// markerCost is what the marker member adds to the span attributes.
func markerCost(r removed) int {
	if r == (removed{}) {
		return 0
	}
	return len(`,"":""`) + len(MarkerKey) + r.textLen()
}

// writeMarker makes the MarkerKey attribute tell what is removed.
func (t *truncator) writeMarker() {
	if t.removed == (removed{}) {
		if t.markerWritten {
			t.dropMarker()
		}
		return
	}
	t.span.Attributes().PutStr(MarkerKey, t.removed.text())
	t.markerWritten = true
}

// dropMarker takes the marker out again, giving back the value the span
// came with under its key, if any.
func (t *truncator) dropMarker() {
	attrs := t.span.Attributes()
	if t.hadMarker {
		t.markerOrig.CopyTo(attrs.PutEmpty(MarkerKey))
	} else {
		attrs.Remove(MarkerKey)
	}
	t.markerWritten = false
}

// attrMap is one attribute map of a removal stage, with a copy of the
// entries it had when the stage began.
type attrMap struct {
	live, saved pcommon.Map
	ranks       []int // of each saved entry in the stage's order; -1 if never removed
	removed     int   // entries removed from live
	dropped0    uint32
	setDropped  func(uint32)
	kind        removal
}

// entry is an attribute a removal stage may take out: the one at pos in
// m's saved copy.
type entry struct {
	m        *attrMap
	pos      int
	size     int
	required bool
	seq      int // discovery order; later entries go first among equals
}

// attrRemoval removes attribute map entries in order: required ones last,
// then largest first, then the last found first.
type attrRemoval struct {
	t     *truncator
	maps  []*attrMap
	order []entry
	est   []int
}

func (s *attrRemoval) steps() int         { return len(s.order) }
func (s *attrRemoval) estimate(k int) int { return s.est[k] }
func (s *attrRemoval) partial(int) bool   { return false }

// add makes a step of each entry of m that keep does not hold back;
// required tells the entries that go last.
func (s *attrRemoval) add(m *attrMap, keep func(string) bool, required func(string) bool) {
	m.saved = pcommon.NewMap()
	m.live.CopyTo(m.saved)
	m.ranks = make([]int, 0, m.saved.Len())
	pos := 0
	for k, v := range m.saved.All() {
		m.ranks = append(m.ranks, -1)
		if !keep(k) {
			s.order = append(s.order, entry{m: m, pos: pos, size: entrySize(k, v), required: required(k), seq: len(s.order)})
		}
		pos++
	}
	s.maps = append(s.maps, m)
}

// sort orders the entries and predicts the savings of each state.
func (s *attrRemoval) sort() {
	slices.SortFunc(s.order, func(a, b entry) int {
		if a.required != b.required {
			if a.required {
				return 1
			}
			return -1
		}
		if a.size != b.size {
			return b.size - a.size
		}
		return b.seq - a.seq
	})
	remaining := make(map[*attrMap]int, len(s.maps))
	for _, m := range s.maps {
		remaining[m] = m.saved.Len()
	}
	r := s.t.removed
	base := markerCost(r)
	s.est = make([]int, len(s.order)+1)
	saved := 0
	for i, e := range s.order {
		e.m.ranks[e.pos] = i
		saved += removalSaving(e.size, remaining[e.m])
		remaining[e.m]--
		*r.of(e.m.kind)++
		s.est[i+1] = saved - (markerCost(r) - base)
	}
}

func (s *attrRemoval) apply(k, _ int) int {
	want := make(map[*attrMap]int, len(s.maps))
	for _, e := range s.order[:k] {
		want[e.m]++
	}
	for _, m := range s.maps {
		*s.t.removed.of(m.kind) -= m.removed
	}
	for _, m := range s.maps {
		n := want[m]
		*s.t.removed.of(m.kind) += n
		if n == m.removed {
			continue // the entries a map loses grow with k: same number, same entries
		}
		m.saved.CopyTo(m.live)
		pos := 0
		m.live.RemoveIf(func(string, pcommon.Value) bool {
			r := m.ranks[pos]
			pos++
			return r >= 0 && r < k
		})
		m.removed = n
		m.setDropped(m.dropped0 + uint32(n))
	}
	s.t.writeMarker()
	return s.est[k]
}

// nestedAttributesStage removes event and link attributes.
func (t *truncator) nestedAttributesStage() stage {
	s := &attrRemoval{t: t}
	all := func(string) bool { return false }
	events := t.span.Events()
	for i := 0; i < events.Len(); i++ {
		ev := events.At(i)
		s.add(&attrMap{live: ev.Attributes(), dropped0: ev.DroppedAttributesCount(), setDropped: ev.SetDroppedAttributesCount, kind: eventAttribute}, all, all)
	}
	links := t.span.Links()
	for i := 0; i < links.Len(); i++ {
		l := links.At(i)
		s.add(&attrMap{live: l.Attributes(), dropped0: l.DroppedAttributesCount(), setDropped: l.SetDroppedAttributesCount, kind: linkAttribute}, all, all)
	}
	s.sort()
	return s
}

// attributesStage removes span attributes other than the protected ones
// and the marker; those Agent 365 requires go last.
func (t *truncator) attributesStage() stage {
	s := &attrRemoval{t: t}
	s.add(&attrMap{live: t.span.Attributes(), dropped0: t.span.DroppedAttributesCount(), setDropped: t.span.SetDroppedAttributesCount, kind: spanAttribute},
		func(k string) bool { return k == MarkerKey || t.isProtected(k) },
		func(k string) bool { return schema.Info(k).Bit != 0 })
	s.sort()
	return s
}

// listRemoval removes the last elements of the span's events or links.
type listRemoval struct {
	t       *truncator
	est     []int
	applied int
	set     func(keep int) // keeps the first keep elements, with the dropped count
}

func (s *listRemoval) steps() int         { return len(s.est) - 1 }
func (s *listRemoval) estimate(k int) int { return s.est[k] }
func (s *listRemoval) partial(int) bool   { return false }
func (s *listRemoval) apply(k, _ int) int {
	if k != s.applied {
		s.set(s.steps() - k)
		s.applied = k
	}
	s.t.writeMarker()
	return s.est[k]
}

// listEstimates predicts the savings of removing the last k of n elements,
// sizes given by size, counted by the marker as kind.
func (t *truncator) listEstimates(n int, size func(i int) int, kind removal) []int {
	est := make([]int, n+1)
	r := t.removed
	base := markerCost(r)
	saved := 0
	for k := 1; k <= n; k++ {
		saved += removalSaving(size(n-k), n-k+1)
		*r.of(kind)++
		est[k] = saved - (markerCost(r) - base)
	}
	return est
}

// eventsStage removes events, newest first.
func (t *truncator) eventsStage() stage {
	events := t.span.Events()
	n := events.Len()
	saved := ptrace.NewSpanEventSlice()
	events.CopyTo(saved)
	dropped0 := t.span.DroppedEventsCount()
	return &listRemoval{
		t:   t,
		est: t.listEstimates(n, func(i int) int { return eventSize(events.At(i)) }, event),
		set: func(keep int) {
			saved.CopyTo(events)
			i := 0
			events.RemoveIf(func(ptrace.SpanEvent) bool { i++; return i > keep })
			t.removed.events = n - keep
			t.span.SetDroppedEventsCount(dropped0 + uint32(n-keep))
		},
	}
}

// linksStage removes links, newest first.
func (t *truncator) linksStage() stage {
	links := t.span.Links()
	n := links.Len()
	saved := ptrace.NewSpanLinkSlice()
	links.CopyTo(saved)
	dropped0 := t.span.DroppedLinksCount()
	return &listRemoval{
		t:   t,
		est: t.listEstimates(n, func(i int) int { return linkSize(links.At(i)) }, link),
		set: func(keep int) {
			saved.CopyTo(links)
			i := 0
			links.RemoveIf(func(ptrace.SpanLink) bool { i++; return i > keep })
			t.removed.links = n - keep
			t.span.SetDroppedLinksCount(dropped0 + uint32(n-keep))
		},
	}
}

// droppedCounts are the OTLP dropped counts of a span and of its events
// and links.
type droppedCounts struct {
	attributes, events, links uint32
	eventAttributes           []uint32
	linkAttributes            []uint32
}

func droppedCountsOf(span ptrace.Span) droppedCounts {
	d := droppedCounts{attributes: span.DroppedAttributesCount(), events: span.DroppedEventsCount(), links: span.DroppedLinksCount()}
	for i := 0; i < span.Events().Len(); i++ {
		d.eventAttributes = append(d.eventAttributes, span.Events().At(i).DroppedAttributesCount())
	}
	for i := 0; i < span.Links().Len(); i++ {
		d.linkAttributes = append(d.linkAttributes, span.Links().At(i).DroppedAttributesCount())
	}
	return d
}

// restore puts the counts back; the events and links left are the first
// ones of the span the counts were taken from.
func (d droppedCounts) restore(span ptrace.Span) {
	span.SetDroppedAttributesCount(d.attributes)
	span.SetDroppedEventsCount(d.events)
	span.SetDroppedLinksCount(d.links)
	for i := 0; i < span.Events().Len(); i++ {
		span.Events().At(i).SetDroppedAttributesCount(d.eventAttributes[i])
	}
	for i := 0; i < span.Links().Len(); i++ {
		span.Links().At(i).SetDroppedAttributesCount(d.linkAttributes[i])
	}
}
