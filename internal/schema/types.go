package schema // import "github.com/agent365-otel/agent365exporter/internal/schema"

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// Type is a field's type in the contract.
type Type uint8

// Types of the contract. TypeUnknown is the type of keys outside it.
const (
	TypeUnknown Type = iota
	TypeString
	TypeInt
	TypeStringArray
	TypeUInt64 // span times
	TypeBytes  // span ids, written as hex
	TypeObject // span status
)

var typeNames = [...]string{
	TypeUnknown: "", TypeString: "String", TypeInt: "Int", TypeStringArray: "StringArray",
	TypeUInt64: "UInt64", TypeBytes: "Bytes", TypeObject: "Object",
}

// String returns the contract's name of the type.
func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("Type(%d)", uint8(t))
}

// TypeOf returns the contract's type of an attribute key (a legacy name
// has its field's type), and whether the contract names the key.
func TypeOf(key string) (Type, bool) {
	info := Info(key)
	if info.Field == 0 {
		return TypeUnknown, false
	}
	return Fields[info.Field-1].Type, true
}

// Matches reports whether v is of type t. An unknown type matches any value.
func (t Type) Matches(v pcommon.Value) bool {
	switch t {
	case TypeUnknown:
		return true
	case TypeString:
		return v.Type() == pcommon.ValueTypeStr
	case TypeInt:
		return v.Type() == pcommon.ValueTypeInt
	case TypeUInt64:
		return v.Type() == pcommon.ValueTypeInt && v.Int() >= 0
	case TypeStringArray:
		if v.Type() != pcommon.ValueTypeSlice {
			return false
		}
		s := v.Slice()
		for i := 0; i < s.Len(); i++ {
			if s.At(i).Type() != pcommon.ValueTypeStr {
				return false
			}
		}
		return true
	case TypeBytes:
		return v.Type() == pcommon.ValueTypeBytes
	case TypeObject:
		return v.Type() == pcommon.ValueTypeMap
	}
	return false
}

// Convertible reports whether v, which does not match t, converts to t
// without loss: the conversion can be undone exactly. These are
//   - an Int to a String: its decimal digits (server.port 443 → "443");
//   - to an Int: a String that is an integer's canonical decimal form
//     ("33", "-4"; not "033", "+4" or " 4"), or a Double with an integer
//     value that a float64 holds exactly (33.0);
//   - a String to a StringArray of that one string ("stop" → ["stop"]).
func (t Type) Convertible(v pcommon.Value) bool {
	_, ok := t.convert(v)
	return ok
}

// Convert converts v in place to t when Convertible, and reports whether
// it did. Otherwise v is left as it is. To convert a copy, CopyTo first.
func (t Type) Convert(v pcommon.Value) bool {
	c, ok := t.convert(v)
	if !ok {
		return false
	}
	switch t {
	case TypeString:
		v.SetStr(c.s)
	case TypeInt:
		v.SetInt(c.i)
	case TypeStringArray:
		v.SetEmptySlice().AppendEmpty().SetStr(c.s)
	}
	return true
}

// converted is the result of a conversion, before it is written.
type converted struct {
	s string
	i int64
}

func (t Type) convert(v pcommon.Value) (converted, bool) {
	switch t {
	case TypeString:
		if v.Type() == pcommon.ValueTypeInt {
			return converted{s: strconv.FormatInt(v.Int(), 10)}, true
		}
	case TypeInt:
		switch v.Type() {
		case pcommon.ValueTypeStr:
			s := v.Str()
			n, err := strconv.ParseInt(s, 10, 64)
			if err == nil && strconv.FormatInt(n, 10) == s {
				return converted{i: n}, true
			}
		case pcommon.ValueTypeDouble:
			// Beyond 2^53 a float64 no longer holds every integer exactly;
			// -0 would come back as 0.
			const exact = 1 << 53
			f := v.Double()
			if f == math.Trunc(f) && math.Abs(f) <= exact && !(f == 0 && math.Signbit(f)) {
				return converted{i: int64(f)}, true
			}
		}
	case TypeStringArray:
		if v.Type() == pcommon.ValueTypeStr {
			return converted{s: v.Str()}, true
		}
	}
	return converted{}, false
}

// Class is a field's privacy class in the contract.
type Class uint8

// Privacy classes.
const (
	ClassNone            Class = iota
	ClassEUII                  // end-user identifiable information
	ClassEUPI                  // end-user pseudonymous information (ids)
	ClassCustomerContent       // what users and agents say and do
	ClassOII                   // organisation identifiable information
)

var classNames = [...]string{ClassNone: "", ClassEUII: "EUII", ClassEUPI: "EUPI", ClassCustomerContent: "CustomerContent", ClassOII: "OII"}

// String returns the contract's name of the class; "" for ClassNone.
func (c Class) String() string {
	if int(c) < len(classNames) {
		return classNames[c]
	}
	return fmt.Sprintf("Class(%d)", uint8(c))
}

// ParseClass reads a class by its contract name (EUII, EUPI,
// CustomerContent, OII), in any letter case.
func ParseClass(s string) (Class, error) {
	for c, name := range classNames {
		if name != "" && strings.EqualFold(s, name) {
			return Class(c), nil
		}
	}
	return ClassNone, fmt.Errorf("unknown privacy class %q: use EUII, EUPI, CustomerContent or OII", s)
}

// ClassOf returns the privacy class of an attribute key; a legacy name has
// its field's class. Keys outside the contract have ClassNone.
func ClassOf(key string) Class {
	info := Info(key)
	if info.Field == 0 {
		return ClassNone
	}
	return Fields[info.Field-1].Class
}

// KeysOfClass lists the attribute keys of class c, each field's current
// name followed by its legacy names, in the contract's order.
func KeysOfClass(c Class) []string {
	var out []string
	for _, f := range Fields {
		if f.Span || f.ItselfLegacy || f.Class != c {
			continue
		}
		out = append(out, f.Name)
		if !f.DerivedFromLegacy {
			out = append(out, f.Legacy...)
		}
	}
	return out
}
