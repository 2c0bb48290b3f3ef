package discovery // import "github.com/agent365-otel/agent365exporter/internal/discovery"

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Mode selects the endpoint generation.
type Mode string

const (
	// ModeGlobal sends to the current global host and its /otlp routes.
	ModeGlobal Mode = "global"
	// ModeTenantIsland sends to the legacy per-tenant island host and the
	// /maven/agent365 routes.
	ModeTenantIsland Mode = "tenant_island"
)

// UnmarshalText reads a mode, refusing unknown ones.
func (m *Mode) UnmarshalText(text []byte) error {
	v := Mode(text)
	if err := v.Check(); err != nil {
		return err
	}
	*m = v
	return nil
}

// Check reports an unknown mode, saying which ones there are.
func (m Mode) Check() error {
	switch m {
	case ModeGlobal, ModeTenantIsland:
		return nil
	}
	return fmt.Errorf("endpoint_discovery %q is unknown; use %q (current routes under endpoint) or %q (legacy per-tenant island hosts)",
		string(m), ModeGlobal, ModeTenantIsland)
}

// Router builds the request URL of a (tenant, agent) pair.
type Router struct {
	mode     Mode
	base     string // global: endpoint without trailing '/'
	category string
	s2s      bool
}

// NewRouter returns a router for mode. endpoint is the base URL of the global
// host; category is the cluster category of the tenant island host.
func NewRouter(mode Mode, endpoint, category string, s2s bool) (*Router, error) {
	r := &Router{mode: mode, base: strings.TrimRight(endpoint, "/"), category: category, s2s: s2s}
	switch mode {
	case ModeGlobal:
		if _, err := url.Parse(r.base); err != nil {
			return nil, fmt.Errorf("endpoint: %w", err)
		}
	case ModeTenantIsland:
		if !ValidCategory(category) {
			return nil, unknownCategory(category)
		}
	default:
		return nil, fmt.Errorf("unknown endpoint_discovery %q; use %q or %q", mode, ModeGlobal, ModeTenantIsland)
	}
	return r, nil
}

// URL returns the traces URL for tenantID and agentID. Both ids are escaped
// as path segments, so no id can change the path's shape. In tenant island
// mode an error wraps ErrInvalidTenantID when the tenant id cannot form a host.
func (r *Router) URL(tenantID, agentID string) (string, error) {
	if err := CheckID(tenantID); err != nil {
		return "", fmt.Errorf("tenant id: %w", err)
	}
	if err := CheckID(agentID); err != nil {
		return "", fmt.Errorf("agent id: %w", err)
	}
	agent := url.PathEscape(agentID)
	if r.mode == ModeTenantIsland {
		host, err := TenantIslandHost(r.category, tenantID)
		if err != nil {
			return "", err
		}
		path := "/maven/agent365/agents/"
		if r.s2s {
			path = "/maven/agent365/service/agents/"
		}
		return "https://" + host + path + agent + "/traces?api-version=1", nil
	}
	prefix := "/observability/tenants/"
	if r.s2s {
		prefix = "/observabilityService/tenants/"
	}
	return r.base + prefix + url.PathEscape(tenantID) + "/otlp/agents/" + agent + "/traces?api-version=1", nil
}

// MaxIDLength bounds tenant and agent ids; real ones are 36-character GUIDs.
const MaxIDLength = 128

// CheckID reports whether id can name a tenant or an agent in a route and a
// header: 1 to MaxIDLength characters from the URI unreserved set
// (letters, digits, '-', '.', '_', '~'), and not a dot segment.
func CheckID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("%w: empty", ErrInvalidID)
	case len(id) > MaxIDLength:
		return fmt.Errorf("%w: longer than %d characters", ErrInvalidID, MaxIDLength)
	case id == "." || id == "..":
		return fmt.Errorf("%w: a dot segment", ErrInvalidID)
	}
	for i := 0; i < len(id); i++ {
		if !isUnreserved(id[i]) {
			return fmt.Errorf("%w: character %q at %d (allowed: letters, digits, '-', '.', '_', '~')", ErrInvalidID, rune(id[i]), i)
		}
	}
	return nil
}

// ErrInvalidID is wrapped by every CheckID error.
var ErrInvalidID = errors.New("invalid id")

func isUnreserved(c byte) bool {
	return isHostChar(c) || c == '.' || c == '_' || c == '~'
}
