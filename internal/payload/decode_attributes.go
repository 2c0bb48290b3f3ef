package payload // import "github.com/agent365-otel/agent365exporter/internal/payload"

import (
	"math"
	"strconv"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/xpdata"
)

// smallMap is the size up to which an attribute object looks for repeated
// keys by comparing them all; larger ones index them.
const smallMap = 32

// maxSizeHint bounds the room made for attributes ahead of reading them.
const maxSizeHint = 64

// attrSizes are the sizes of the last attribute objects of each owner,
// which the next one of the same owner most likely has too.
type attrSizes struct {
	resource, span, event, link int
}

// attributes reads an attribute object, or null, into m, which is empty.
// Its values are at depth. sizeHint, when not nil, is the expected number of
// attributes, and is set to the number read.
func (r *reader) attributes(m pcommon.Map, depth int, sizeHint *int) error {
	if r.null() {
		return nil
	}
	if r.ws() != '{' {
		return r.wrongType("an object")
	}
	// A MapBuilder appends without the duplicate check of every Put, which
	// would make reading an object quadratic in its size; duplicates are
	// found here instead.
	var mb xpdata.MapBuilder
	if sizeHint != nil {
		mb.EnsureCapacity(*sizeHint)
	}
	base := len(r.keys)
	var index map[string]int
	var dups [][2]int
	key, more, err := r.openObject()
	for n := 0; more && err == nil; n++ {
		first := -1
		if index != nil {
			if i, ok := index[key]; ok {
				first = i
			} else {
				index[key] = n
			}
		} else {
			for i, k := range r.keys[base:] {
				if k == key {
					first = i
					break
				}
			}
			if n == smallMap {
				index = make(map[string]int, 2*smallMap)
				for i := len(r.keys) - 1; i >= base; i-- {
					index[r.keys[i]] = i - base
				}
				if first < 0 {
					index[key] = n
				}
			}
		}
		if first >= 0 {
			dups = append(dups, [2]int{first, n})
		}
		r.keys = append(r.keys, key)
		r.pushKey(key)
		if err = r.value(mb.AppendEmpty(key), depth); err != nil {
			return err
		}
		r.pop()
		key, more, err = r.nextMember()
	}
	if err != nil {
		return err
	}
	if sizeHint != nil {
		*sizeHint = min(len(r.keys)-base, maxSizeHint)
	}
	r.keys = r.keys[:base]
	mb.UnsafeIntoMap(m)
	if len(dups) > 0 {
		lastWins(m, dups)
	}
	return nil
}

// lastWins moves the value of each repeated key (dups holds the positions
// of a key's first and later appearances) to its first appearance and
// removes the later ones.
func lastWins(m pcommon.Map, dups [][2]int) {
	vals := make([]pcommon.Value, 0, m.Len())
	for _, v := range m.All() {
		vals = append(vals, v)
	}
	drop := make([]bool, len(vals))
	for _, d := range dups {
		vals[d[1]].MoveTo(vals[d[0]])
		drop[d[1]] = true
	}
	i := -1
	m.RemoveIf(func(string, pcommon.Value) bool {
		i++
		return drop[i]
	})
}

// value reads one attribute value at depth into v, which is empty.
func (r *reader) value(v pcommon.Value, depth int) error {
	switch c := r.ws(); c {
	case '"':
		s, err := r.str()
		if err != nil {
			return err
		}
		v.SetStr(s)
		return nil
	case '{', '[':
		// A365 writes containers up to maxDepth deep; deeper ones have no
		// form it writes back.
		if depth >= maxDepth {
			return r.syntax("attribute value nested more than " + strconv.Itoa(maxDepth) + " levels deep")
		}
		if c == '{' {
			return r.attributes(v.SetEmptyMap(), depth+1, nil)
		}
		s := v.SetEmptySlice()
		var err error
		more := r.openArray()
		for i := 0; more && err == nil; i++ {
			r.pushIndex(i)
			if err = r.value(s.AppendEmpty(), depth+1); err != nil {
				return err
			}
			r.pop()
			more, err = r.nextElement()
		}
		return err
	case 't':
		v.SetBool(true)
		return r.literal("true")
	case 'f':
		v.SetBool(false)
		return r.literal("false")
	case 'n':
		return r.literal("null")
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
	default:
		return r.unexpected("a value")
	}
	lit, isInt, err := r.number()
	if err != nil {
		return err
	}
	if isInt {
		if n, err := strconv.ParseInt(lit, 10, 64); err == nil {
			v.SetInt(n)
			return nil
		}
		// An integer beyond int64 is kept as a double, as JavaScript does.
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil && math.IsInf(f, 0) {
		return r.fail(quoteShort(lit) + " is out of the range of a double")
	}
	v.SetDouble(f)
	return nil
}
