// Package discovery resolves where an Agent 365 trace request goes: the
// legacy per-tenant island host (PowerPlatformApiDiscovery, as in the Agent
// 365 SDKs) and the request URLs of both endpoint generations.
package discovery // import "github.com/agent365-otel/agent365exporter/internal/discovery"

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// clusterSuffixes maps each cluster category to its Power Platform API domain.
var clusterSuffixes = map[string]string{
	"local":        "api.powerplatform.localhost",
	"dev":          "api.powerplatform.com",
	"test":         "api.powerplatform.com",
	"preprod":      "api.powerplatform.com",
	"firstrelease": "api.powerplatform.com",
	"prod":         "api.powerplatform.com",
	"gov":          "api.gov.powerplatform.microsoft.us",
	"high":         "api.high.powerplatform.microsoft.us",
	"dod":          "api.appsplatform.us",
	"mooncake":     "api.powerplatform.partner.microsoftonline.cn",
	"ex":           "api.powerplatform.eaglex.ic.gov",
	"rx":           "api.powerplatform.microsoft.scloud",
}

// Categories returns the known cluster categories, sorted.
func Categories() []string {
	out := make([]string, 0, len(clusterSuffixes))
	for c := range clusterSuffixes {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// ValidCategory reports whether category is one of the known cluster categories.
func ValidCategory(category string) bool {
	_, ok := clusterSuffixes[category]
	return ok
}

// ErrInvalidTenantID is wrapped by every tenant id error of TenantIslandHost.
var ErrInvalidTenantID = errors.New("invalid tenant id")

// TenantIslandHost returns the island cluster host of tenantID in category,
// exactly as the SDKs' get_tenant_island_cluster_endpoint computes it.
func TenantIslandHost(category, tenantID string) (string, error) {
	host, err := tenantHost(category, tenantID)
	if err != nil {
		return "", err
	}
	return "il-" + host, nil
}

func tenantHost(category, tenantID string) (string, error) {
	suffix, ok := clusterSuffixes[category]
	if !ok {
		return "", unknownCategory(category)
	}
	if tenantID == "" {
		return "", fmt.Errorf("%w: empty", ErrInvalidTenantID)
	}
	for i := 0; i < len(tenantID); i++ {
		if !isHostChar(tenantID[i]) {
			return "", fmt.Errorf("%w: only letters, digits and '-' can form a host name", ErrInvalidTenantID)
		}
	}
	n := 1
	if category == "prod" || category == "firstrelease" {
		n = 2
	}
	hex := strings.ReplaceAll(strings.ToLower(tenantID), "-", "")
	if n >= len(hex) {
		return "", fmt.Errorf("%w: normalized tenant identifier must be at least %d characters", ErrInvalidTenantID, n+1)
	}
	cut := len(hex) - n
	return hex[:cut] + "." + hex[cut:] + ".tenant." + suffix, nil
}

func isHostChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-'
}

func unknownCategory(category string) error {
	return fmt.Errorf("unknown cluster category %q; use one of %s", category, strings.Join(Categories(), ", "))
}
