package truncate // import "github.com/agent365-otel/agent365exporter/internal/truncate"

import (
	"strconv"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/agent365-otel/agent365exporter/internal/payload"
)

// The sizes here are those of the a365 format: exact for it, estimates for
// any other. They choose what to change and predict the result; the result
// itself is always measured with the caller's encoder.

// maxValueDepth is the nesting the a365 format writes; deeper values are
// written as `"[too deep]"`.
const maxValueDepth = 32

// valueSize is the length of v written as a JSON value.
func valueSize(v pcommon.Value, depth int) int {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return payload.StringSize(v.Str())
	case pcommon.ValueTypeInt:
		var buf [24]byte
		return len(strconv.AppendInt(buf[:0], v.Int(), 10))
	case pcommon.ValueTypeDouble:
		var buf [32]byte
		return len(payload.AppendFloat(buf[:0], v.Double()))
	case pcommon.ValueTypeBool:
		if v.Bool() {
			return 4
		}
		return 5
	case pcommon.ValueTypeBytes:
		return (v.Bytes().Len()+2)/3*4 + 2
	case pcommon.ValueTypeSlice:
		if depth >= maxValueDepth {
			return len(`"[too deep]"`)
		}
		s := v.Slice()
		n := 2 + max(s.Len()-1, 0)
		for i := 0; i < s.Len(); i++ {
			n += valueSize(s.At(i), depth+1)
		}
		return n
	case pcommon.ValueTypeMap:
		if depth >= maxValueDepth {
			return len(`"[too deep]"`)
		}
		m := v.Map()
		n := 2 + max(m.Len()-1, 0)
		for k, mv := range m.All() {
			n += payload.StringSize(k) + 1 + valueSize(mv, depth+1)
		}
		return n
	default:
		return len("null")
	}
}

// entrySize is the length of one `"key":value` member of an attribute object.
func entrySize(k string, v pcommon.Value) int {
	return payload.StringSize(k) + 1 + valueSize(v, 0)
}

// mapSize is the length of an attribute object; an empty one is null.
func mapSize(m pcommon.Map) int {
	if m.Len() == 0 {
		return len("null")
	}
	n := 2 + m.Len() - 1
	for k, v := range m.All() {
		n += entrySize(k, v)
	}
	return n
}

// removalSaving is what removing a member of size entry from an object of
// remaining members (the member included) saves: the member and a comma,
// or, for the last one, "{...}" becoming null.
func removalSaving(entry, remaining int) int {
	if remaining > 1 {
		return entry + 1
	}
	return entry + 2 - len("null")
}

func uintLen(v uint64) int {
	var buf [24]byte
	return len(strconv.AppendUint(buf[:0], v, 10))
}

// eventSize is the length of an event object.
func eventSize(ev ptrace.SpanEvent) int {
	return len(`{"timeUnixNano":,"name":,"attributes":}`) + uintLen(uint64(ev.Timestamp())) +
		payload.StringSize(ev.Name()) + mapSize(ev.Attributes())
}

// linkSize is the length of a link object.
func linkSize(l ptrace.SpanLink) int {
	return len(`{"traceId":"","spanId":"","attributes":}`) + 32 + 16 + mapSize(l.Attributes())
}

// The cost of a code point is what it takes in the span's JSON: once
// escaped for a string attribute, twice for a string inside the JSON text
// of a message attribute.
type escaping int

const (
	escapedOnce escaping = iota
	escapedTwice
)

// codePointCost returns the cost of the code point at the start of s and
// its length in s. Invalid bytes count one by one, as U+FFFD.
func codePointCost(s string, e escaping) (cost, size int) {
	c := s[0]
	if c < utf8.RuneSelf {
		switch {
		case c == '"' || c == '\\':
			return 2 + 2*int(e), 1 // \" then \\\"
		case c == '\n' || c == '\r' || c == '\t':
			return 2 + int(e), 1 // \n then \\n
		case c < 0x20:
			return 6 + int(e), 1 // \u001f then \\u001f
		default:
			return 1, 1
		}
	}
	r, size := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError && size == 1 {
		return 6 + int(e), 1 // \ufffd then \\ufffd
	}
	return size, size
}

// textCost is the cost of s without its quotes.
func textCost(s string, e escaping) int {
	n := 0
	for i := 0; i < len(s); {
		c, size := codePointCost(s[i:], e)
		n += c
		i += size
	}
	return n
}

// prefixWithin returns the longest prefix of s, cut on a code point
// boundary, whose cost is at most budget.
func prefixWithin(s string, budget int, e escaping) string {
	n := 0
	for i := 0; i < len(s); {
		c, size := codePointCost(s[i:], e)
		if n+c > budget {
			return s[:i]
		}
		n += c
		i += size
	}
	return s
}

// suffixCost is the cost of TruncatedSuffix, the same escaped once or twice.
var suffixCost = textCost(TruncatedSuffix, escapedOnce)

// cutText returns s cut so that its cost falls by at least shed, with
// TruncatedSuffix in place of what was cut, and the cost it saves. shed <= 0
// asks for everything: only the suffix is left. ok is false when cutting
// saves nothing.
func cutText(s string, shed int, e escaping) (cut string, saved int, ok bool) {
	full := textCost(s, e)
	if full <= suffixCost {
		return s, 0, false
	}
	budget := max(full-suffixCost-shed, 0)
	if shed <= 0 {
		budget = 0
	}
	prefix := prefixWithin(s, budget, e)
	saved = full - textCost(prefix, e) - suffixCost
	if saved <= 0 {
		return s, 0, false
	}
	return prefix + TruncatedSuffix, saved, true
}
