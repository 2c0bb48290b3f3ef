package payload

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// appendStringReference is the escaping AppendString must produce, written
// one byte at a time so that it does not depend on word loads or byte order.
func appendStringReference(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c == '\n':
			dst = append(dst, `\n`...)
		case c == '\r':
			dst = append(dst, `\r`...)
		case c == '\t':
			dst = append(dst, `\t`...)
		case c < 0x20:
			dst = fmt.Appendf(dst, `\u%04x`, c)
		case c < utf8.RuneSelf:
			dst = append(dst, c)
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				dst = append(dst, `\ufffd`...)
			} else {
				dst = append(dst, s[i:i+size]...)
			}
			i += size
			continue
		}
		i++
	}
	return append(dst, '"')
}

// escapeWindowSpecials are the kinds of bytes the word scan must stop at:
// the ones escaped, the ones checked as UTF-8, and their neighbours that
// must not be mistaken for them.
var escapeWindowSpecials = []string{`"`, `\`, "\n", "\x00", "\x1f", "\x7f", "\x80", "\xff", "é", "😀", "\u2028"}

// escapeWindowFillers are plain bytes next to the thresholds the word scan
// tests for (0x20, '"', '\\', 0x80): a borrow out of a flagged byte turns
// them into false flags in the byte above it.
var escapeWindowFillers = []byte{' ', '!', '#', ']', 'a', '~'}

// TestAppendStringEveryPosition puts each special byte at each position of
// strings 16 to 40 bytes long (the word scan's two-word, one-word and byte
// tails), alone and in pairs, and checks the output against the reference.
// Native-order word loads pass on little-endian machines and fail on
// big-endian ones (s390x), where the flagged byte a mask's lowest bit
// points at is the last in memory, not the first.
func TestAppendStringEveryPosition(t *testing.T) {
	check := func(t *testing.T, in string) bool {
		out := AppendString(nil, in)
		want := appendStringReference(nil, in)
		ok := assert.Equal(t, string(want), string(out), "input %q", in) &&
			assert.True(t, json.Valid(out), "invalid JSON %q for %q", out, in) &&
			assert.Equal(t, len(out), StringSize(in), "StringSize(%q)", in)
		if ok && utf8.ValidString(in) {
			var back string
			ok = assert.NoError(t, json.Unmarshal(out, &back), "%q", out) && assert.Equal(t, in, back)
		}
		return ok
	}
	for _, filler := range escapeWindowFillers {
		for n := 16; n <= 40; n++ {
			base := strings.Repeat(string(filler), n)
			for _, special := range escapeWindowSpecials {
				for pos := 0; pos+len(special) <= n; pos++ {
					in := base[:pos] + special + base[pos+len(special):]
					if !check(t, in) {
						return // one input is enough to tell; the rest would repeat it
					}
				}
			}
		}
	}
	// Pairs in one 24-byte string: the first of two flagged bytes in a word
	// is the one to handle, whichever comes first.
	base := strings.Repeat("a", 24)
	for _, first := range escapeWindowSpecials {
		for _, second := range escapeWindowSpecials {
			for i := 0; i+len(first) <= len(base); i++ {
				for j := i + len(first); j+len(second) <= len(base); j++ {
					in := base[:i] + first + base[i+len(first):j] + second + base[j+len(second):]
					if !check(t, in) {
						return
					}
				}
			}
		}
	}
}

// TestAppendStringReference pins the reference escaper itself to
// encoding/json, so that agreeing with it means agreeing with JSON.
func TestAppendStringReference(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "empty", in: "", want: `""`},
		{name: "plain", in: "plain text", want: `"plain text"`},
		{name: "quote and backslash", in: `a"b\c`, want: `"a\"b\\c"`},
		{name: "short escapes", in: "\n\r\t", want: `"\n\r\t"`},
		{name: "other controls", in: "\x00\x1f\b\f", want: `"\u0000\u001f\u0008\u000c"`},
		{name: "delete is plain", in: "\x7f", want: "\"\x7f\""},
		{name: "multi-byte UTF-8", in: "é😀\u2028", want: "\"é😀\u2028\""},
		{name: "invalid UTF-8", in: "a\xffb\xc3", want: `"a\ufffdb\ufffd"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := appendStringReference(nil, tt.in)
			assert.Equal(t, tt.want, string(out))
			var back string
			require.NoError(t, json.Unmarshal(out, &back))
			assert.Equal(t, strings.ToValidUTF8(tt.in, "\ufffd"), back)
		})
	}
}
