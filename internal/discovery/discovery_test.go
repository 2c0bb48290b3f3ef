package discovery

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const vectorTenant = "e3064512-cc6d-4703-be71-a2ecaecaa98a"

func TestTenantIslandHostVectors(t *testing.T) {
	tests := []struct {
		category, tenant, want string
	}{
		{"prod", vectorTenant, "il-e3064512cc6d4703be71a2ecaecaa9.8a.tenant.api.powerplatform.com"},
		{"firstrelease", vectorTenant, "il-e3064512cc6d4703be71a2ecaecaa9.8a.tenant.api.powerplatform.com"},
		{"gov", vectorTenant, "il-e3064512cc6d4703be71a2ecaecaa98.a.tenant.api.gov.powerplatform.microsoft.us"},
		{"local", vectorTenant, "il-e3064512cc6d4703be71a2ecaecaa98.a.tenant.api.powerplatform.localhost"},
		{"dev", vectorTenant, "il-e3064512cc6d4703be71a2ecaecaa98.a.tenant.api.powerplatform.com"},
		{"high", vectorTenant, "il-e3064512cc6d4703be71a2ecaecaa98.a.tenant.api.high.powerplatform.microsoft.us"},
		{"dod", vectorTenant, "il-e3064512cc6d4703be71a2ecaecaa98.a.tenant.api.appsplatform.us"},
		{"mooncake", vectorTenant, "il-e3064512cc6d4703be71a2ecaecaa98.a.tenant.api.powerplatform.partner.microsoftonline.cn"},
		{"ex", vectorTenant, "il-e3064512cc6d4703be71a2ecaecaa98.a.tenant.api.powerplatform.eaglex.ic.gov"},
		{"rx", vectorTenant, "il-e3064512cc6d4703be71a2ecaecaa98.a.tenant.api.powerplatform.microsoft.scloud"},
		// Upper case and dashes are normalised away.
		{"prod", "E3064512-CC6D-4703-BE71-A2ECAECAA98A", "il-e3064512cc6d4703be71a2ecaecaa9.8a.tenant.api.powerplatform.com"},
		// Shortest accepted identifiers.
		{"local", "ab", "il-a.b.tenant.api.powerplatform.localhost"},
		{"prod", "abc", "il-a.bc.tenant.api.powerplatform.com"},
	}
	for _, tt := range tests {
		t.Run(tt.category+"/"+tt.tenant, func(t *testing.T) {
			got, err := TenantIslandHost(tt.category, tt.tenant)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestTenantIslandHostErrors(t *testing.T) {
	tests := []struct {
		name, category, tenant, wantErr string
	}{
		{"too short for local", "local", "a", "at least 2 characters"},
		{"too short for prod", "prod", "aa", "at least 3 characters"},
		{"dashes only", "prod", "---", "at least 3 characters"},
		{"question mark", "prod", "invalid?", "only letters, digits and '-'"},
		{"braces", "prod", "{e3064512-cc6d-4703-be71-a2ecaecaa98a}", "only letters, digits and '-'"},
		{"dot", "prod", "evil.example.com", "only letters, digits and '-'"},
		{"empty", "prod", "", "empty"},
		{"unknown category", "moon", vectorTenant, `unknown cluster category "moon"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := TenantIslandHost(tt.category, tt.tenant)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

func TestCategories(t *testing.T) {
	assert.Len(t, Categories(), 12)
	for _, c := range Categories() {
		assert.True(t, ValidCategory(c))
	}
	assert.False(t, ValidCategory("Prod"))
}
