package payload // import "github.com/agent365-otel/agent365exporter/internal/payload"

import (
	"math/bits"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// reader is a JSON scanner over one request body, which its callers read
// straight into pdata. The body is held as one string, so that strings
// without escapes are substrings of it rather than copies of their own:
// decoded spans share (and keep alive) that one copy of the body.
type reader struct {
	s    string
	i    int
	path []frame  // where the reader is, for error messages
	buf  []byte   // scratch for strings with escapes
	keys []string // keys of the attribute objects being read, innermost last
	// sizes are the sizes of the last attribute objects read (attributes).
	sizes attrSizes
}

// frame is one step of a path: a field name, an index, or a map key.
type frame struct {
	name  string
	index int
	kind  frameKind
}

type frameKind uint8

const (
	frameField frameKind = iota
	frameIndex
	frameKey
)

func (r *reader) pushField(name string) { r.path = append(r.path, frame{name: name, kind: frameField}) }
func (r *reader) pushIndex(i int)       { r.path = append(r.path, frame{index: i, kind: frameIndex}) }
func (r *reader) pushKey(k string)      { r.path = append(r.path, frame{name: k, kind: frameKey}) }
func (r *reader) pop()                  { r.path = r.path[:len(r.path)-1] }

// decodeError says what is wrong with a body and where, as a path from the
// top of the body: resourceSpans[0].scopeSpans[1].spans[3].spanId.
type decodeError struct {
	path   string
	msg    string
	offset int // byte offset for syntax errors, -1 otherwise
}

func (e *decodeError) Error() string {
	var b strings.Builder
	if e.path != "" {
		b.WriteString(e.path)
		b.WriteString(": ")
	}
	b.WriteString(e.msg)
	if e.offset >= 0 {
		b.WriteString(" at offset ")
		b.WriteString(strconv.Itoa(e.offset))
	}
	return b.String()
}

func (r *reader) pathString() string {
	var b strings.Builder
	for _, f := range r.path {
		switch f.kind {
		case frameField:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(f.name)
		case frameIndex:
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(f.index))
			b.WriteByte(']')
		case frameKey:
			b.WriteByte('[')
			b.WriteString(quoteShort(f.name))
			b.WriteByte(']')
		}
	}
	return b.String()
}

// fail is an error in a value the reader has read.
func (r *reader) fail(msg string) error {
	return &decodeError{path: r.pathString(), msg: msg, offset: -1}
}

// syntax is an error in the JSON text at the reader's position.
func (r *reader) syntax(msg string) error {
	return &decodeError{path: r.pathString(), msg: msg, offset: r.i}
}

// unexpected reports the byte at the reader's position where want was expected.
func (r *reader) unexpected(want string) error {
	if r.i >= len(r.s) {
		return r.syntax("unexpected end of input, want " + want)
	}
	return r.syntax("unexpected " + strconv.QuoteRune(rune(r.s[r.i])) + ", want " + want)
}

// quoteShort quotes s for an error message, cut to a few dozen bytes: a
// message names the bad value, it does not echo the body.
func quoteShort(s string) string {
	const limit = 40
	if len(s) <= limit {
		return strconv.Quote(s)
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + "..."
}

// ws skips white space and returns the next byte, or 0 at the end.
func (r *reader) ws() byte {
	for r.i < len(r.s) {
		switch c := r.s[r.i]; c {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return c
		}
	}
	return 0
}

// null consumes a null literal if one is next.
func (r *reader) null() bool {
	if r.ws() == 'n' && strings.HasPrefix(r.s[r.i:], "null") {
		r.i += 4
		return true
	}
	return false
}

// literal consumes lit, whose first byte the caller has seen.
func (r *reader) literal(lit string) error {
	if !strings.HasPrefix(r.s[r.i:], lit) {
		return r.syntax("invalid literal")
	}
	r.i += len(lit)
	return nil
}

// Objects and arrays are read with loops:
//
//	key, more, err := r.openObject()
//	for ; more && err == nil; key, more, err = r.nextMember() { read the value }
//
// with the value of each member read in the loop's body.

// openObject consumes '{' (the caller has seen it) and the first key, if any.
func (r *reader) openObject() (key string, more bool, err error) {
	r.i++
	if r.ws() == '}' {
		r.i++
		return "", false, nil
	}
	return r.memberKey()
}

// nextMember consumes ',' and the next key, or the closing '}'.
func (r *reader) nextMember() (key string, more bool, err error) {
	switch r.ws() {
	case ',':
		r.i++
		r.ws()
		return r.memberKey()
	case '}':
		r.i++
		return "", false, nil
	}
	return "", false, r.unexpected("',' or '}'")
}

func (r *reader) memberKey() (string, bool, error) {
	if r.i >= len(r.s) || r.s[r.i] != '"' {
		return "", false, r.unexpected("a string key")
	}
	k, err := r.str()
	if err != nil {
		return "", false, err
	}
	if r.ws() != ':' {
		return "", false, r.unexpected("':'")
	}
	r.i++
	return k, true, nil
}

// openArray consumes '[' (the caller has seen it) and reports whether an
// element follows.
func (r *reader) openArray() bool {
	r.i++
	if r.ws() == ']' {
		r.i++
		return false
	}
	return true
}

// nextElement consumes ',' before the next element, or the closing ']'.
func (r *reader) nextElement() (bool, error) {
	switch r.ws() {
	case ',':
		r.i++
		return true, nil
	case ']':
		r.i++
		return false, nil
	}
	return false, r.unexpected("',' or ']'")
}

// str reads a string; the caller has seen its opening quote. Strings
// without escapes or invalid UTF-8 are substrings of the body; others are
// built in r.buf. Invalid UTF-8 and lone surrogates become U+FFFD, as with
// encoding/json (and as AppendString writes them), so that every string
// read is valid UTF-8.
func (r *reader) str() (string, error) {
	s := r.s
	i := r.i + 1
	run := i // start of the bytes not yet copied to b
	var b []byte
	copying := false
	for {
		i = skipPlain(s, i)
		if i >= len(s) {
			r.i = i
			return "", r.syntax("unterminated string")
		}
		switch c := s[i]; {
		case c == '"':
			r.i = i + 1
			if !copying {
				return s[run:i], nil
			}
			b = append(b, s[run:i]...)
			r.buf = b
			return string(b), nil
		case c == '\\':
			if !copying {
				b, copying = r.buf[:0], true
			}
			b = append(b, s[run:i]...)
			var err error
			if b, i, err = r.escape(b, i); err != nil {
				return "", err
			}
			run = i
		case c < 0x20:
			r.i = i
			return "", r.syntax("control character in string")
		default:
			if rn, size := utf8.DecodeRuneInString(s[i:]); rn != utf8.RuneError || size != 1 {
				i += size
				continue
			}
			if !copying {
				b, copying = r.buf[:0], true
			}
			b = append(b, s[run:i]...)
			b = append(b, "\uFFFD"...)
			i++
			run = i
		}
	}
}

// skipPlain returns the index of the first byte from i on that is not
// printable ASCII or is a quote or a backslash, looking at a word at a time
// as AppendString does.
func skipPlain(s string, i int) int {
	for ; i <= len(s)-8; i += 8 {
		if m := workMask(loadWord(s[i : i+8])); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for i < len(s) && plainByte[s[i]] {
		i++
	}
	return i
}

// escape appends the character of the escape at s[i] (a backslash) to b and
// returns the index after the escape.
func (r *reader) escape(b []byte, i int) ([]byte, int, error) {
	s := r.s
	if i+1 >= len(s) {
		r.i = len(s)
		return b, i, r.syntax("unterminated string")
	}
	switch e := s[i+1]; e {
	case '"', '\\', '/':
		return append(b, e), i + 2, nil
	case 'b':
		return append(b, '\b'), i + 2, nil
	case 'f':
		return append(b, '\f'), i + 2, nil
	case 'n':
		return append(b, '\n'), i + 2, nil
	case 'r':
		return append(b, '\r'), i + 2, nil
	case 't':
		return append(b, '\t'), i + 2, nil
	case 'u':
		rn, ok := hex4(s, i+2)
		if !ok {
			r.i = i
			return b, i, r.syntax(`invalid \u escape`)
		}
		i += 6
		if utf16.IsSurrogate(rn) {
			// A pair makes one rune; a lone half is U+FFFD.
			if rn2, ok := hex4(s, i+2); ok && s[i] == '\\' && s[i+1] == 'u' {
				if dec := utf16.DecodeRune(rn, rn2); dec != utf8.RuneError {
					return utf8.AppendRune(b, dec), i + 6, nil
				}
			}
			rn = utf8.RuneError
		}
		return utf8.AppendRune(b, rn), i, nil
	}
	r.i = i
	return b, i, r.syntax("invalid escape " + strconv.Quote(s[i:i+2]))
}

// hex4 reads the four hex digits of a \u escape at s[i:].
func hex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var rn rune
	for _, c := range []byte(s[i : i+4]) {
		v := unhex(c)
		if v < 0 {
			return 0, false
		}
		rn = rn<<4 | rune(v)
	}
	return rn, true
}

// unhex is the value of a hex digit, either case, or -1.
func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// number reads a JSON number at the reader's position and reports whether
// it is an integer (no fraction, no exponent).
func (r *reader) number() (lit string, isInt bool, err error) {
	end, isInt, ok := scanNumber(r.s, r.i)
	if !ok {
		r.i = end
		return "", false, r.syntax("invalid number")
	}
	lit = r.s[r.i:end]
	r.i = end
	return lit, isInt, nil
}

// scanNumber finds the end of the JSON number at s[i:], or where it stops
// being one.
func scanNumber(s string, i int) (end int, isInt, ok bool) {
	digits := func(i int) int {
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
		return i
	}
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && '1' <= s[i] && s[i] <= '9':
		i = digits(i + 1)
	default:
		return i, false, false
	}
	isInt = true
	if i < len(s) && s[i] == '.' {
		j := digits(i + 1)
		if j == i+1 {
			return j, false, false
		}
		i, isInt = j, false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		j := digits(i)
		if j == i {
			return j, false, false
		}
		i, isInt = j, false
	}
	return i, isInt, true
}

// maxSkipDepth bounds the nesting of values the reader skips (unknown keys).
const maxSkipDepth = 64

// skip reads and discards one value, checking its syntax.
func (r *reader) skip(depth int) error {
	switch c := r.ws(); c {
	case '"':
		_, err := r.str()
		return err
	case '{', '[':
		if depth >= maxSkipDepth {
			return r.syntax("nested too deeply")
		}
		if c == '[' {
			var err error
			for more := r.openArray(); more && err == nil; more, err = r.nextElement() {
				if err = r.skip(depth + 1); err != nil {
					return err
				}
			}
			return err
		}
		_, more, err := r.openObject()
		for ; more && err == nil; _, more, err = r.nextMember() {
			if err = r.skip(depth + 1); err != nil {
				return err
			}
		}
		return err
	case 't':
		return r.literal("true")
	case 'f':
		return r.literal("false")
	case 'n':
		return r.literal("null")
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		_, _, err := r.number()
		return err
	}
	return r.unexpected("a value")
}

// kindOf names the JSON type of the value at the reader's position, for
// error messages.
func (r *reader) kindOf() string {
	if r.ws(); r.i >= len(r.s) {
		return "the end of input"
	}
	switch r.s[r.i] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		if strings.HasPrefix(r.s[r.i:], "true") || strings.HasPrefix(r.s[r.i:], "false") {
			return "a boolean"
		}
	case 'n':
		if strings.HasPrefix(r.s[r.i:], "null") {
			return "null"
		}
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return "a number"
	}
	return "an invalid character"
}
