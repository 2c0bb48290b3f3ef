package agent365exporter

import (
	"strconv"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.yaml.in/yaml/v3"

	"github.com/agent365-otel/agent365exporter/internal/discovery"
)

// FuzzResolveIdentity: whatever the identity attributes hold, a span is either
// dropped with a reason or gets an identity that is safe in a path and a
// header; never a panic. With allow-lists, a kept span names an allowed
// identity; an int tenant id resolves as its decimal string.
func FuzzResolveIdentity(f *testing.F) {
	f.Add("chat", tenantA, agent1, "", "", "", "")
	f.Add("invoke_agent", " ", "", "tenant.legacy", "platform", "res-tenant", "res-agent")
	f.Add("CHAT", "a\r\nb", "../x", "", "", "", "")
	f.Add("", "", "", "", "", "", "")
	f.Add("chat", strings.ToUpper(tenantA), agent1, "", "", "", "")
	f.Add("chat", "424242", agent1, "", "", "", "")
	f.Add("chat", "", "", "", "", tenantB, agent1)
	c := newIdentityResolver(NewFactory().CreateDefaultConfig().(*Config))
	listed := NewFactory().CreateDefaultConfig().(*Config)
	listed.Identity.AllowedTenants = []string{tenantA}
	listed.Identity.AllowedAgents = []string{agent1}
	cl := newIdentityResolver(listed)
	f.Fuzz(func(t *testing.T, op, tenant, agent, legacyTenant, platform, resTenant, resAgent string) {
		build := func(tenant pcommon.Value) (span, res pcommon.Map) {
			span = pcommon.NewMap()
			span.PutStr("gen_ai.operation.name", op)
			tenant.CopyTo(span.PutEmpty("microsoft.tenant.id"))
			span.PutStr("gen_ai.agent.id", agent)
			span.PutStr("tenant.id", legacyTenant)
			span.PutStr("microsoft.a365.agent.platform.id", platform)
			res = pcommon.NewMap()
			res.PutStr("microsoft.tenant.id", resTenant)
			res.PutStr("gen_ai.agent.id", resAgent)
			return span, res
		}
		span, res := build(pcommon.NewValueStr(tenant))
		got := c.resolve(span, c.resource(res), nil, &idCache{})
		id, meta, reason, ok := got.id, got.meta, got.drop, got.ok
		if !ok {
			if reason >= numDropReasons {
				t.Fatalf("unknown reason %d", reason)
			}
		} else {
			if discovery.CheckID(id.tenant) != nil || discovery.CheckID(id.agent) != nil {
				t.Fatalf("unsafe identity %+v", id)
			}
			if meta.Op != op {
				t.Fatalf("operation %q became %q", op, meta.Op)
			}
		}

		lgot := cl.resolve(span, cl.resource(res), nil, &idCache{})
		lid, lreason, lok := lgot.id, lgot.drop, lgot.ok
		switch {
		case lok && (!ok || lid != id):
			t.Fatalf("allow-lists kept %+v, without them: %+v kept=%v", lid, id, ok)
		case lok && (!strings.EqualFold(lid.tenant, tenantA) || lid.agent != agent1):
			t.Fatalf("allow-lists kept %+v", lid)
		case !lok && ok && lreason != dropTenantNotAllowed && lreason != dropAgentNotAllowed:
			t.Fatalf("allow-lists dropped %+v for %s", id, lreason)
		}

		if n, err := strconv.ParseInt(tenant, 10, 64); err == nil {
			ispan, ires := build(pcommon.NewValueInt(n))
			sspan, sres := build(pcommon.NewValueStr(strconv.FormatInt(n, 10)))
			ig := c.resolve(ispan, c.resource(ires), nil, &idCache{})
			sg := c.resolve(sspan, c.resource(sres), nil, &idCache{})
			iid, ireason, iok := ig.id, ig.drop, ig.ok
			sid, sreason, sok := sg.id, sg.drop, sg.ok
			if iok != sok || iid != sid || (!iok && ireason != sreason) {
				t.Fatalf("int tenant %d: %+v %v %s; as a string: %+v %v %s", n, iid, iok, ireason, sid, sok, sreason)
			}
		}
	})
}

// FuzzConfigUnmarshal: any YAML document, unmarshalled and validated as
// the exporter's configuration, gives a config or an error; never a panic.
// The key walker agrees with the collector's decoder: it finds nothing in
// what the decoder accepts, and names every key the decoder rejects.
func FuzzConfigUnmarshal(f *testing.F) {
	f.Add([]byte("endpoint: https://agent365.svc.cloud.microsoft\nmax_span_bytes: 1000\n"))
	f.Add([]byte("redact:\n  - keys: [a]\n    action: hash\n    hash_key: k\nvalidation: {mode: enforce}\n"))
	f.Add([]byte("identity: {default_tenant_id: \"../x\"}\nsending_queue: {num_consumers: -1}\n"))
	f.Add([]byte("operations: [\"\", 3]\nendpoint_discovery: tenant_island\ncluster_category: gov\n"))
	f.Add([]byte("redact:\n  - keys: [a]\n    action: hash\n    hashkey: k\nvalidation: {mod: enforce}\n"))
	f.Add([]byte("tls: {insecure_skip_verfy: true}\nsending_queue: {batch: {partition: {metadata_key: [a]}}}\n"))
	f.Add([]byte("identity: {allowed_tenants: [a, A], allowed_agents: [\"\"]}\nproxy_url: http://p:1\nendpoint: http://127.0.0.1\n"))
	f.Add([]byte("headers: [{name: a, value: b, x: c}]\nkeepalive: {enabled: false}\ntimeout: 0s\n"))
	f.Fuzz(func(t *testing.T, doc []byte) {
		var raw map[string]any
		if yaml.Unmarshal(doc, &raw) != nil || raw == nil {
			return
		}
		conf := confmap.NewFromStringMap(raw)
		cfg := NewFactory().CreateDefaultConfig().(*Config)
		err := conf.Unmarshal(cfg)
		if err != nil {
			if strings.Contains(err.Error(), "has invalid keys") {
				t.Fatalf("the decoder rejects a key the walker does not name: %v", err)
			}
			return
		}
		if err := unknownKeys(conf.ToStringMap()); err != nil {
			t.Fatalf("the walker rejects what the decoder accepts: %v", err)
		}
		_ = confmap.Validate(cfg)
		_ = authWarning(cfg)
	})
}
