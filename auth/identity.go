package auth // import "github.com/agent365-otel/agent365exporter/auth"

import (
	"net/http"
	"net/url"
	"strings"
)

// Identity is the (tenant, agent) pair a request is sent for. Agent 365
// checks the token of every request against the agent in its path.
type Identity struct {
	TenantID string
	AgentID  string
}

// TenantHeader is the request header that names the tenant.
const TenantHeader = "x-ms-tenant-id"

// IdentityFromRequest returns the identity of an outgoing Agent 365
// request: the x-ms-tenant-id header (else the tenants segment of the path)
// and the agent segment of its path (/agents/{agentId}/traces in every
// route shape). This is the whole contract with the exporter, which sets
// both on every request: it does not depend on this module.
func IdentityFromRequest(req *http.Request) (Identity, bool) {
	id := Identity{TenantID: req.Header.Get(TenantHeader), AgentID: agentFromPath(req.URL)}
	if id.TenantID == "" {
		id.TenantID = tenantFromPath(req.URL)
	}
	return id, id.TenantID != "" && id.AgentID != ""
}

// agentFromPath finds the segment after "agents" that precedes "traces".
func agentFromPath(u *url.URL) string {
	return segmentBefore(u, "agents", "traces")
}

// tenantFromPath finds the segment after "tenants" (current routes only).
func tenantFromPath(u *url.URL) string {
	return segmentBefore(u, "tenants", "")
}

func segmentBefore(u *url.URL, marker, next string) string {
	if u == nil {
		return ""
	}
	segs := strings.Split(u.EscapedPath(), "/")
	for i := len(segs) - 2; i >= 0; i-- {
		if segs[i] != marker || (next != "" && (i+2 >= len(segs) || segs[i+2] != next)) {
			continue
		}
		v, err := url.PathUnescape(segs[i+1])
		if err != nil {
			return ""
		}
		return v
	}
	return ""
}
