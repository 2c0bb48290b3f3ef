package payload // import "github.com/agent365-otel/agent365exporter/internal/payload"

import (
	"encoding/base64"
	"math"
	"math/bits"
	"strconv"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD and
// control characters are escaped, so the output is valid JSON and valid UTF-8
// whatever s holds.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start, i := 0, 0
	for i < len(s) {
		// Skip a run of plain ASCII a word at a time: most text needs no
		// escaping. Where the next byte already needs a look (JSON held in
		// a string, non-Latin scripts) the scan would only find that byte,
		// so it is not started.
		if plainByte[s[i]] {
			var m uint64
			for ; i <= len(s)-16; i += 16 {
				w := s[i : i+16]
				m1, m2 := workMask(loadWord(w)), workMask(loadWord(w[8:]))
				if m1|m2 != 0 {
					if m1 == 0 {
						m1, i = m2, i+8
					}
					m = m1
					break
				}
			}
			if m == 0 && i <= len(s)-8 {
				if m = workMask(loadWord(s[i : i+8])); m == 0 {
					i += 8
				}
			}
			if m != 0 {
				// The lowest byte a mask flags is exact (borrows only carry
				// upwards, to later bytes), so the byte to handle is found
				// without a byte loop.
				i += bits.TrailingZeros64(m) >> 3
			} else {
				for i < len(s) && plainByte[s[i]] {
					i++
				}
				if i == len(s) {
					break
				}
			}
		}
		c := s[i]
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// plainByte is true for the bytes written as they are: printable ASCII
// other than the quote and the backslash.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// loadWord reads the first 8 bytes of w as a little-endian word, so that
// its lowest byte is the first in memory on every machine: AppendString's
// TrailingZeros64 relies on that, and a native-order load would hand
// big-endian machines (s390x, ppc64) the last flagged byte instead of the
// first. The compiler makes this one load (byte-reversed on big-endian
// machines); with the constant offsets and the 16-byte slices AppendString
// passes, it also drops the bounds checks.
func loadWord(w string) uint64 {
	return uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
		uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
}

// workMask has the high bit set in each byte of w that is below 0x20, a
// quote, a backslash or non-ASCII (the bytes AppendString must look at).
// A flagged byte's borrow can also flag the byte above it, never one below.
func workMask(w uint64) uint64 {
	ctl := (w - 0x20*lsb) &^ w
	q := w ^ ('"' * lsb)
	quote := (q - lsb) &^ q
	b := w ^ ('\\' * lsb)
	bslash := (b - lsb) &^ b
	return (ctl | quote | bslash | w) & msb
}

// StringSize is len(AppendString(nil, s)) without building it.
func StringSize(s string) int {
	n := 2
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t':
				n += 2
			case c < 0x20:
				n += 6
			default:
				n++
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			n += 6
		} else {
			n += size
		}
		i += size
	}
	return n
}

// AppendFloat appends f as a JSON number that stays a double when read back
// ("3.0", not "3"). NaN and infinities have no JSON form and become null.
func AppendFloat(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	start := len(dst)
	dst = strconv.AppendFloat(dst, f, 'g', -1, 64)
	for _, c := range dst[start:] {
		if c == '.' || c == 'e' {
			return dst
		}
	}
	return append(dst, '.', '0')
}

// appendByteSlice appends a pdata byte slice as a JSON string in standard
// base64, without copying it: whole 3-byte groups encode independently, so
// 48-byte pieces can be encoded one after the other.
func appendByteSlice(dst []byte, b pcommon.ByteSlice) []byte {
	var chunk [48]byte
	dst = append(dst, '"')
	for i := 0; i < b.Len(); {
		n := 0
		for ; n < len(chunk) && i < b.Len(); n, i = n+1, i+1 {
			chunk[n] = b.At(i)
		}
		dst = base64.StdEncoding.AppendEncode(dst, chunk[:n])
	}
	return append(dst, '"')
}

// AppendHex appends b as a JSON string of lower-case hex digits.
func AppendHex(dst []byte, b []byte) []byte {
	dst = append(dst, '"')
	for _, c := range b {
		dst = append(dst, hexDigits[c>>4], hexDigits[c&0xf])
	}
	return append(dst, '"')
}
