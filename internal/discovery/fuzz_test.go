package discovery

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var hostShape = regexp.MustCompile(`^il-[a-z0-9]+\.[a-z0-9]+\.tenant\.[a-z.]+$`)

// FuzzTenantIslandHost: never a panic; a host only of the expected shape
// under the category's suffix.
func FuzzTenantIslandHost(f *testing.F) {
	f.Add(uint8(0), vectorTenant)
	f.Add(uint8(5), "a")
	f.Add(uint8(3), "invalid?")
	f.Add(uint8(7), "../../evil.com#")
	cats := Categories()
	f.Fuzz(func(t *testing.T, c uint8, tenant string) {
		category := cats[int(c)%len(cats)]
		host, err := TenantIslandHost(category, tenant)
		if err != nil {
			return
		}
		if !hostShape.MatchString(host) {
			t.Fatalf("host %q has an unexpected shape", host)
		}
		suffix := clusterSuffixes[category]
		if !strings.HasSuffix(host, ".tenant."+suffix) {
			t.Fatalf("host %q is not under %s", host, suffix)
		}
	})
}

// FuzzRouterURL: any accepted tenant and agent give a URL on the
// configured host whose path has exactly the expected segments.
func FuzzRouterURL(f *testing.F) {
	f.Add(vectorTenant, "aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb", false)
	f.Add("..", "a/b", true)
	f.Add("t?x", "a#b", false)
	f.Add("%2e%2e", "a%2Fb", true)
	global, _ := NewRouter(ModeGlobal, "https://agent365.svc.cloud.microsoft", "", false)
	s2s, _ := NewRouter(ModeGlobal, "https://agent365.svc.cloud.microsoft", "", true)
	island, _ := NewRouter(ModeTenantIsland, "", "prod", false)
	f.Fuzz(func(t *testing.T, tenant, agent string, useS2S bool) {
		r, first := global, "observability"
		if useS2S {
			r, first = s2s, "observabilityService"
		}
		if raw, err := r.URL(tenant, agent); err == nil {
			u, err := url.Parse(raw)
			if err != nil {
				t.Fatalf("%q does not parse: %v", raw, err)
			}
			want := []string{"", first, "tenants", tenant, "otlp", "agents", agent, "traces"}
			if u.Host != "agent365.svc.cloud.microsoft" || strings.Join(strings.Split(u.Path, "/"), "\x00") != strings.Join(want, "\x00") || u.RawQuery != "api-version=1" || u.Fragment != "" {
				t.Fatalf("tenant %q agent %q gave %q", tenant, agent, raw)
			}
		}
		if raw, err := island.URL(tenant, agent); err == nil {
			u, err := url.Parse(raw)
			if err != nil || !hostShape.MatchString(u.Host) || u.Path != "/maven/agent365/agents/"+agent+"/traces" || u.RawQuery != "api-version=1" {
				t.Fatalf("tenant %q agent %q gave %q", tenant, agent, raw)
			}
		}
	})
}
