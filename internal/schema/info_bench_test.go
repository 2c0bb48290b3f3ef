package schema

import "testing"

var benchKeys = []string{"gen_ai.operation.name", "microsoft.tenant.id", "gen_ai.agent.description", "gen_ai.system", "operation.source", "correlation.id", "gen_ai.usage.input_tokens", "user.email"}

func BenchmarkInfo(b *testing.B) {
	var n uint64
	for b.Loop() {
		for _, k := range benchKeys {
			n += Info(k).Bit
		}
	}
	_ = n
}

func BenchmarkMapLookup(b *testing.B) {
	var n uint64
	for b.Loop() {
		for _, k := range benchKeys {
			n += keyBits[k]
		}
	}
	_ = n
}
