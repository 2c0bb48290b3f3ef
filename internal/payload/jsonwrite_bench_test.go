package payload

import (
	"encoding/binary"
	"math/bits"
	"strings"
	"testing"
	"unicode/utf8"
	"unsafe"
)

// appendStringTexts are the kinds of text AppendString writes: message
// content, tool output full of quotes and line breaks, other languages, and
// attribute keys.
var appendStringTexts = []struct {
	name string
	text string
}{
	{name: "prose", text: strings.Repeat("Your order is on its way and should arrive tomorrow. ", 20)},
	{name: "message", text: `{"version":"0.1.0","messages":[{"role":"user","parts":[{"type":"text","content":"` +
		strings.Repeat("Your order is on its way and should arrive tomorrow. ", 20) + `"}]}]}`},
	{name: "escaped", text: strings.Repeat("{\"id\":\"a1\",\"ok\":true,\"path\":\"C:\\\\tmp\\\\x\"}\n\t", 20)},
	{name: "non-ASCII", text: strings.Repeat("Größe: übergroß. ご注文の商品は明日到着予定です。", 20)},
	{name: "key", text: "gen_ai.usage.input_tokens"},
}

// BenchmarkAppendString compares AppendString's word scan with a plain byte
// loop and with the same scan on native-order unsafe loads (the way it was
// written before; right only on little-endian machines):
//
//	go test -run '^$' -bench AppendString -benchmem ./internal/payload
func BenchmarkAppendString(b *testing.B) {
	variants := []struct {
		name   string
		append func([]byte, string) []byte
	}{
		{name: "words", append: AppendString},
		{name: "bytes", append: appendStringByteLoop},
		{name: "unsafe-words", append: appendStringUnsafeWords},
	}
	for _, text := range appendStringTexts {
		for _, v := range variants {
			b.Run(text.name+"/"+v.name, func(b *testing.B) {
				if v.name == "unsafe-words" && binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
					b.Skip("native-order loads scan backwards on a big-endian machine")
				}
				buf := make([]byte, 0, 2*StringSize(text.text))
				b.SetBytes(int64(len(text.text)))
				for b.Loop() {
					buf = v.append(buf[:0], text.text)
				}
			})
		}
	}
}

// appendStringByteLoop is AppendString without the word scan: it looks
// at every byte. The byte handling is AppendString's, copied so that each
// variant compiles as one function.
func appendStringByteLoop(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start, i := 0, 0
	for i < len(s) {
		for i < len(s) && plainByte[s[i]] {
			i++
		}
		if i >= len(s) {
			break
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

// appendStringUnsafeWords is AppendString on native-order words read
// through unsafe, which finds the wrong byte on big-endian machines.
func appendStringUnsafeWords(dst []byte, s string) []byte {
	dst = append(dst, '"')
	p := unsafe.Pointer(unsafe.StringData(s))
	start, i := 0, 0
	for i < len(s) {
		var m uint64
		for i+16 <= len(s) {
			m1 := workMask(*(*uint64)(unsafe.Add(p, i)))
			m2 := workMask(*(*uint64)(unsafe.Add(p, i+8)))
			if m1|m2 != 0 {
				if m1 != 0 {
					m = m1
				} else {
					m, i = m2, i+8
				}
				break
			}
			i += 16
		}
		if m == 0 && i+8 <= len(s) {
			if m = workMask(*(*uint64)(unsafe.Add(p, i))); m == 0 {
				i += 8
			}
		}
		if m != 0 {
			i += bits.TrailingZeros64(m) >> 3
		} else {
			for i < len(s) && plainByte[s[i]] {
				i++
			}
			if i >= len(s) {
				break
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
