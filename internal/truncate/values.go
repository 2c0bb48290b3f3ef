package truncate // import "github.com/agent365-otel/agent365exporter/internal/truncate"

import (
	"encoding/json"
	"slices"
	"strconv"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/agent365-otel/agent365exporter/internal/payload"
)

// change is one reversible change of one value.
type change struct {
	key    int // the value's size in the span: larger values change first
	saving int // what applying it saves; for a whole message replacement the stage works it out
	apply  func()
	trim   func(shed int) int // cuts at least shed bytes, returning the saving; nil when all or nothing
	reset  func()

	owner *messageAttr // the message attribute it is a part of, or nil
	whole bool         // it replaces its owner whole

	// Set by the stage from the order of changes.
	extra int  // the owner's re-encoding saving, when this is its first change
	noop  bool // a whole replacement no shorter than what it replaces
	dead  bool // a part of a message attribute already replaced whole

	on, cut bool // applied; applied in part
}

// set applies the change in full or undoes it.
func (c *change) set(on bool) {
	if c.on == on && !c.cut {
		return
	}
	if on {
		c.apply()
	} else {
		c.reset()
	}
	c.count(on)
	c.on, c.cut = on, false
}

// setCut applies the change in part, shedding at least shed bytes.
func (c *change) setCut(shed int) int {
	saved := c.trim(shed)
	c.count(true)
	c.on, c.cut = true, true
	return saved
}

// count keeps the owner's record of what is applied.
func (c *change) count(on bool) {
	if c.owner == nil || c.on == on {
		return
	}
	switch {
	case c.whole:
		c.owner.wrapped = on
	case on:
		c.owner.touched++
	default:
		c.owner.touched--
	}
}

// valueStage applies changes of values, largest first.
type valueStage struct {
	changes []*change
	msgs    []*messageAttr
	est     []int
}

func newValueStage(cs []*change, msgs []*messageAttr) *valueStage {
	slices.SortStableFunc(cs, func(a, b *change) int { return b.key - a.key })
	// Predict in order: the first change of a message attribute also
	// re-encodes it, and once it is replaced whole its parts save nothing.
	type sim struct {
		size             int
		touched, wrapped bool
	}
	sims := make(map[*messageAttr]*sim, len(msgs))
	for _, m := range msgs {
		sims[m] = &sim{size: m.size}
	}
	est := make([]int, len(cs)+1)
	for i, c := range cs {
		s := c.saving
		if c.owner != nil {
			m := sims[c.owner]
			switch {
			case m.wrapped:
				s, c.dead = 0, true
			case c.whole:
				if s = m.size - c.owner.wrapperSize; s <= 0 {
					s, c.noop = 0, true
				} else {
					m.wrapped = true
				}
			default:
				if !m.touched {
					c.extra, m.touched = c.owner.normSaving, true
				}
				s += c.extra
				m.size -= s
			}
		}
		est[i+1] = est[i] + s
	}
	return &valueStage{changes: cs, msgs: msgs, est: est}
}

func (s *valueStage) steps() int         { return len(s.changes) }
func (s *valueStage) estimate(k int) int { return s.est[k] }
func (s *valueStage) partial(k int) bool {
	c := s.changes[k-1]
	return c.trim != nil && !c.dead
}

func (s *valueStage) apply(k, shed int) int {
	saved := s.est[k]
	for i, c := range s.changes {
		switch {
		case i >= k || c.noop:
			c.set(false)
		case i == k-1 && shed > 0 && s.partial(k):
			saved = s.est[k-1] + c.extra + c.setCut(shed)
		default:
			c.set(true)
		}
	}
	for _, m := range s.msgs {
		m.flush()
	}
	return saved
}

// textChange cuts a string held by get and set; nil when it is under
// threshold bytes or cutting saves nothing.
func textChange(get func() string, set func(string), threshold int) *change {
	orig := get()
	key := payload.StringSize(orig)
	if key < threshold {
		return nil
	}
	full, saving, ok := cutText(orig, 0, escapedOnce)
	if !ok {
		return nil
	}
	return &change{
		key: key, saving: saving,
		apply: func() { set(full) },
		trim: func(shed int) int {
			cut, saved, _ := cutText(orig, shed, escapedOnce)
			set(cut)
			return saved
		},
		reset: func() { set(orig) },
	}
}

// replaceChange puts OverlimitSentinel in place of v, keeping v to put it
// back; nil when v is under threshold bytes or no longer than the sentinel.
func replaceChange(v pcommon.Value, threshold int) *change {
	key := valueSize(v, 0)
	saving := key - payload.StringSize(OverlimitSentinel)
	if key < threshold || saving <= 0 {
		return nil
	}
	kept := pcommon.NewValueEmpty()
	return &change{
		key: key, saving: saving,
		apply: func() {
			v.MoveTo(kept)
			v.SetStr(OverlimitSentinel)
		},
		reset: func() { kept.MoveTo(v) },
	}
}

func valueChange(v pcommon.Value, threshold int) *change {
	if v.Type() == pcommon.ValueTypeStr {
		return textChange(v.Str, v.SetStr, threshold)
	}
	return replaceChange(v, threshold)
}

// rawJSONChange replaces JSON that is not a message list, in a message
// attribute, with a JSON string saying how long it was: cut, it would no
// longer be JSON.
func rawJSONChange(v pcommon.Value) *change {
	orig := v.Str()
	repl := string(payload.AppendString(nil, "[truncated: "+strconv.Itoa(len(orig))+" bytes of JSON]"))
	key := payload.StringSize(orig)
	saving := key - payload.StringSize(repl)
	if key < minChange || saving <= 0 {
		return nil
	}
	return &change{
		key: key, saving: saving,
		apply: func() { v.SetStr(repl) },
		reset: func() { v.SetStr(orig) },
	}
}

func appendIf(cs []*change, c *change) []*change {
	if c != nil {
		cs = append(cs, c)
	}
	return cs
}

// contentStage changes values of minChange bytes or more, except those of
// protected keys.
func (t *truncator) contentStage() stage {
	var cs []*change
	var msgs []*messageAttr
	for k, v := range t.span.Attributes().All() {
		if t.isProtected(k) {
			continue
		}
		if messageKeys[k] && v.Type() == pcommon.ValueTypeStr {
			if m := parseMessages(v); m != nil {
				msgs = append(msgs, m)
				cs = append(cs, m.changes()...)
				continue
			}
			if json.Valid([]byte(v.Str())) {
				cs = appendIf(cs, rawJSONChange(v))
				continue
			}
		}
		cs = appendIf(cs, valueChange(v, minChange))
	}
	events := t.span.Events()
	for i := 0; i < events.Len(); i++ {
		ev := events.At(i)
		for _, v := range ev.Attributes().All() {
			cs = appendIf(cs, valueChange(v, minChange))
		}
		cs = appendIf(cs, textChange(ev.Name, ev.SetName, minChange))
	}
	links := t.span.Links()
	for i := 0; i < links.Len(); i++ {
		for _, v := range links.At(i).Attributes().All() {
			cs = appendIf(cs, valueChange(v, minChange))
		}
	}
	st := t.span.Status()
	cs = appendIf(cs, textChange(st.Message, st.SetMessage, minChange))
	cs = appendIf(cs, textChange(t.span.Name, t.span.SetName, minChange))
	return newValueStage(cs, msgs)
}

// namesStage cuts the span name and status message, whatever their length.
func (t *truncator) namesStage() stage {
	st := t.span.Status()
	cs := appendIf(nil, textChange(st.Message, st.SetMessage, 0))
	cs = appendIf(cs, textChange(t.span.Name, t.span.SetName, 0))
	return newValueStage(cs, nil)
}

// protectedStage changes identity and operation values: the last resort.
func (t *truncator) protectedStage() stage {
	var cs []*change
	for k, v := range t.span.Attributes().All() {
		if t.isProtected(k) {
			cs = appendIf(cs, valueChange(v, 0))
		}
	}
	return newValueStage(cs, nil)
}
