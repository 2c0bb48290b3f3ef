package agent365receiver

import (
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

// FuzzDecodeAndCheck: whatever the body, decoding never panics, and every
// span that passes the identity check names the URL's tenant and agent,
// on itself or on its resource, while the refused ones are counted.
func FuzzDecodeAndCheck(f *testing.F) {
	for _, name := range []string{"node-sdk-1.0.0-fabrikam.json", "node-sdk-1.0.0-contoso.json"} {
		f.Add(fixture(f, name), false)
	}
	f.Add([]byte(`{"resourceSpans":[{"resource":{"attributes":[{"key":"tenant.id","value":{"stringValue":"T"}}]},"scopeSpans":[{"spans":[{"traceId":"4bd8f606688c3f3347d69c1b6539c957","spanId":"0766d68605234692","name":"x"}]}]}]}`), false)
	f.Add([]byte{0x0a, 0x02, 0x0a, 0x00}, true)
	id := identity{tenant: fabrikamTenant, agent: fabrikamAgent}
	f.Fuzz(func(t *testing.T, body []byte, protobuf bool) {
		kind := kindJSON
		if protobuf {
			kind = kindProtobuf
		}
		td, _, err := decode(kind, body)
		if err != nil {
			return
		}
		before := td.SpanCount()
		rej := applyIdentity(td, id)
		if td.SpanCount()+rej.total() != before {
			t.Fatalf("%d spans in, %d passed and %d refused", before, td.SpanCount(), rej.total())
		}
		for i := 0; i < td.ResourceSpans().Len(); i++ {
			rs := td.ResourceSpans().At(i)
			for j := 0; j < rs.ScopeSpans().Len(); j++ {
				spans := rs.ScopeSpans().At(j).Spans()
				if spans.Len() == 0 {
					t.Fatal("an empty scope was left")
				}
				for k := 0; k < spans.Len(); k++ {
					checkNamesURL(t, spans.At(k), id)
				}
			}
		}
	})
}

func checkNamesURL(t *testing.T, span ptrace.Span, id identity) {
	t.Helper()
	tenant := readID(span.Attributes(), keyTenant, keyTenantLegacy)
	agent := readID(span.Attributes(), keyAgent, keyAgentPlatform)
	if !strings.EqualFold(tenant.value, id.tenant) || !strings.EqualFold(agent.value, id.agent) {
		t.Fatalf("span %q passed naming tenant %q and agent %q", span.Name(), tenant.value, agent.value)
	}
}
