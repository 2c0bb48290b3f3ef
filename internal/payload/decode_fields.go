package payload // import "github.com/agent365-otel/agent365exporter/internal/payload"

import (
	"math/bits"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// optString reads a string, or null (nothing set).
func (r *reader) optString(set func(string)) error {
	if r.null() {
		return nil
	}
	if r.ws() != '"' {
		return r.wrongType("a string")
	}
	s, err := r.str()
	if err != nil {
		return err
	}
	set(s)
	return nil
}

// hexID reads an id of len(dst) bytes as a string of hex digits. With
// optional, null, "" and an all-zero id leave dst zero (no id).
func (r *reader) hexID(dst []byte, optional bool) error {
	if optional && r.null() {
		return nil
	}
	if r.ws() != '"' {
		return r.wrongType("a string of hex digits")
	}
	s, err := r.str()
	if err != nil {
		return err
	}
	if optional && s == "" {
		return nil
	}
	if len(s) != 2*len(dst) {
		return r.fail(quoteShort(s) + " is not " + strconv.Itoa(2*len(dst)) + " hex digits")
	}
	var or byte
	for i := range dst {
		hi, lo := unhex(s[2*i]), unhex(s[2*i+1])
		if hi < 0 || lo < 0 {
			return r.fail(quoteShort(s) + " is not " + strconv.Itoa(2*len(dst)) + " hex digits")
		}
		dst[i] = byte(hi<<4 | lo)
		or |= dst[i]
	}
	if or == 0 && !optional {
		return r.fail("an all-zero id is not valid")
	}
	return nil
}

var kindNames = [...]string{
	ptrace.SpanKindUnspecified: "UNSPECIFIED",
	ptrace.SpanKindInternal:    "INTERNAL",
	ptrace.SpanKindServer:      "SERVER",
	ptrace.SpanKindClient:      "CLIENT",
	ptrace.SpanKindProducer:    "PRODUCER",
	ptrace.SpanKindConsumer:    "CONSUMER",
}

var statusNames = [...]string{
	ptrace.StatusCodeUnset: "UNSET",
	ptrace.StatusCodeOk:    "OK",
	ptrace.StatusCodeError: "ERROR",
}

func (r *reader) spanKind(span ptrace.Span) error {
	k, err := r.enum(kindNames[:], "SPAN_KIND_", "span kind")
	span.SetKind(ptrace.SpanKind(k))
	return err
}

func (r *reader) statusCode(st ptrace.Status) error {
	c, err := r.enum(statusNames[:], "STATUS_CODE_", "status code")
	st.SetCode(ptrace.StatusCode(c))
	return err
}

// enum reads a name of names (in any case, with or without prefix) or an
// index of names as a number; null is 0.
func (r *reader) enum(names []string, prefix, what string) (int, error) {
	switch c := r.ws(); {
	case c == '"':
		s, err := r.str()
		if err != nil {
			return 0, err
		}
		name := s
		if len(name) > len(prefix) && strings.EqualFold(name[:len(prefix)], prefix) {
			name = name[len(prefix):]
		}
		for i, n := range names {
			if strings.EqualFold(name, n) {
				return i, nil
			}
		}
		return 0, r.fail(quoteShort(s) + " is not a " + what)
	case c == 'n' && r.null():
		return 0, nil
	case c == '-' || ('0' <= c && c <= '9'):
		lit, isInt, err := r.number()
		if err != nil {
			return 0, err
		}
		if n, perr := strconv.Atoi(lit); isInt && perr == nil && n >= 0 && n < len(names) {
			return n, nil
		}
		return 0, r.fail(quoteShort(lit) + " is not a " + what)
	}
	return 0, r.wrongType("a " + what + " name or number")
}

// timestamp reads nanoseconds since the epoch: a JSON number, a string
// holding one, or null (zero).
func (r *reader) timestamp(set func(pcommon.Timestamp)) error {
	var lit string
	switch c := r.ws(); {
	case c == '"':
		s, err := r.str()
		if err != nil {
			return err
		}
		if end, _, ok := scanNumber(s, 0); !ok || end != len(s) {
			return r.fail(quoteShort(s) + " is not a number of nanoseconds")
		}
		lit = s
	case c == 'n' && r.null():
		return nil
	case c == '-' || ('0' <= c && c <= '9'):
		var err error
		if lit, _, err = r.number(); err != nil {
			return err
		}
	default:
		return r.wrongType("a number of nanoseconds")
	}
	n, problem := parseNanos(lit)
	if problem != "" {
		return r.fail(quoteShort(lit) + " " + problem)
	}
	set(pcommon.Timestamp(n))
	return nil
}

// parseNanos converts lit, a valid JSON number, to a uint64, rounding a
// fraction to the nearest integer (halves up). It is exact for any number
// of digits: no floating point in between.
func parseNanos(lit string) (n uint64, problem string) {
	// The common case: up to 19 digits cannot overflow.
	if len(lit) <= 19 {
		for i := 0; i < len(lit); i++ {
			c := lit[i]
			if c < '0' || c > '9' {
				n = 0
				break
			}
			n = n*10 + uint64(c-'0')
			if i == len(lit)-1 {
				return n, ""
			}
		}
	}
	neg := lit[0] == '-'
	if neg {
		lit = lit[1:]
	}
	mant, exp := lit, 0
	if e := strings.IndexAny(lit, "eE"); e >= 0 {
		mant, exp = lit[:e], parseExp(lit[e+1:])
	}
	whole, frac := mant, ""
	if dot := strings.IndexByte(mant, '.'); dot >= 0 {
		whole, frac = mant[:dot], mant[dot+1:]
	}
	total := len(whole) + len(frac)
	digit := func(k int) uint64 {
		switch {
		case k < len(whole):
			return uint64(whole[k] - '0')
		case k < total:
			return uint64(frac[k-len(whole)] - '0')
		}
		return 0
	}
	first := 0
	for first < total && digit(first) == 0 {
		first++
	}
	if first == total {
		return 0, "" // zero, also -0
	}
	if neg {
		return 0, "is negative"
	}
	// intDigits is the number of digits left of the point, from the first
	// non-zero one.
	intDigits := len(whole) + exp - first
	const tooLarge = "is over the uint64 range"
	if intDigits > 20 {
		return 0, tooLarge
	}
	for k := range max(intDigits, 0) {
		hi, lo := bits.Mul64(n, 10)
		var carry uint64
		n, carry = bits.Add64(lo, digit(first+k), 0)
		if hi != 0 || carry != 0 {
			return 0, tooLarge
		}
	}
	if intDigits >= 0 && digit(first+intDigits) >= 5 {
		if n++; n == 0 {
			return 0, tooLarge
		}
	}
	return n, ""
}

// parseExp reads an exponent's digits and sign, saturating far beyond any
// exponent that leaves a uint64 something to hold.
func parseExp(s string) int {
	neg := false
	switch s[0] {
	case '-':
		neg = true
		s = s[1:]
	case '+':
		s = s[1:]
	}
	e := 0
	for i := 0; i < len(s); i++ {
		if e < 1<<20 {
			e = e*10 + int(s[i]-'0')
		}
	}
	if neg {
		return -e
	}
	return e
}
