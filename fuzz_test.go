package agent365exporter

import (
	"testing"

	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.yaml.in/yaml/v3"

	"github.com/agent365-otel/agent365exporter/internal/discovery"
)

// FuzzClassify: whatever the identity attributes hold, a span is either
// dropped with a reason or gets an identity that is safe in a path and a
// header; never a panic.
func FuzzClassify(f *testing.F) {
	f.Add("chat", tenantA, agent1, "", "", "", "")
	f.Add("invoke_agent", " ", "", "tenant.legacy", "platform", "res-tenant", "res-agent")
	f.Add("CHAT", "a\r\nb", "../x", "", "", "", "")
	f.Add("", "", "", "", "", "", "")
	c := newClassifier(NewFactory().CreateDefaultConfig().(*Config))
	f.Fuzz(func(t *testing.T, op, tenant, agent, legacyTenant, platform, resTenant, resAgent string) {
		span := pcommon.NewMap()
		span.PutStr("gen_ai.operation.name", op)
		span.PutStr("microsoft.tenant.id", tenant)
		span.PutStr("gen_ai.agent.id", agent)
		span.PutStr("tenant.id", legacyTenant)
		span.PutStr("microsoft.a365.agent.platform.id", platform)
		res := pcommon.NewMap()
		res.PutStr("microsoft.tenant.id", resTenant)
		res.PutStr("gen_ai.agent.id", resAgent)
		id, meta, reason, ok := c.classify(span, c.resource(res), nil, nil, &idCache{})
		if !ok {
			if reason >= numDropReasons {
				t.Fatalf("unknown reason %d", reason)
			}
			return
		}
		if discovery.CheckID(id.tenant) != nil || discovery.CheckID(id.agent) != nil {
			t.Fatalf("unsafe identity %+v", id)
		}
		if meta.Op != op {
			t.Fatalf("operation %q became %q", op, meta.Op)
		}
	})
}

// FuzzConfigUnmarshal: any YAML document, unmarshalled and validated as
// the exporter's configuration, gives a config or an error; never a panic.
func FuzzConfigUnmarshal(f *testing.F) {
	f.Add([]byte("endpoint: https://agent365.svc.cloud.microsoft\nmax_span_bytes: 1000\n"))
	f.Add([]byte("redact:\n  - keys: [a]\n    action: hash\n    hash_key: k\nvalidation: {mode: enforce}\n"))
	f.Add([]byte("identity: {default_tenant_id: \"../x\"}\nsending_queue: {num_consumers: -1}\n"))
	f.Add([]byte("operations: [\"\", 3]\nendpoint_discovery: tenant_island\ncluster_category: gov\n"))
	f.Fuzz(func(t *testing.T, doc []byte) {
		var raw map[string]any
		if yaml.Unmarshal(doc, &raw) != nil || raw == nil {
			return
		}
		cfg := NewFactory().CreateDefaultConfig().(*Config)
		if err := confmap.NewFromStringMap(raw).Unmarshal(cfg); err != nil {
			return
		}
		_ = confmap.Validate(cfg)
	})
}
