package payload

import (
	"strings"
	"testing"
)

var benchText = `{"version":"0.1.0","messages":[{"role":"user","parts":[{"type":"text","content":"` +
	strings.Repeat("Your order is on its way and should arrive tomorrow. ", 20) + `"}]}]}`

func BenchmarkAppendString(b *testing.B) {
	buf := make([]byte, 0, 4096)
	b.SetBytes(int64(len(benchText)))
	for b.Loop() {
		buf = AppendString(buf[:0], benchText)
	}
}

func BenchmarkAppendStringKey(b *testing.B) {
	buf := make([]byte, 0, 4096)
	for b.Loop() {
		buf = AppendString(buf[:0], "gen_ai.usage.input_tokens")
	}
}

var plainText = strings.Repeat("Your order is on its way and should arrive tomorrow. ", 20)

func BenchmarkAppendStringPlain(b *testing.B) {
	buf := make([]byte, 0, 4096)
	b.SetBytes(int64(len(plainText)))
	for b.Loop() {
		buf = AppendString(buf[:0], plainText)
	}
}
