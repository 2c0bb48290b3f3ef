package agent365receiver // import "github.com/agent365-otel/agent365exporter/receiver"

// route is one of the Agent 365 service's trace routes, as the SDKs have
// used them.
type route struct {
	// name is the route's name in metrics and logs, as a365sink names it.
	name string
	// pattern is its http.ServeMux pattern, without method: the handler
	// answers other methods itself, in the service's error shape.
	pattern string
	// tenantInPath: the tenant is the {tenantId} segment; otherwise it is
	// the x-ms-tenant-id header (the legacy /maven routes).
	tenantInPath bool
}

const routeUnknown = "unknown"

// routes the receiver serves. The current ones have /otlp; the SDKs
// before it sent the same paths without, and still work here: the
// exporter sends them on to the current route.
var routes = []route{
	{name: "observability", pattern: "/observability/tenants/{tenantId}/otlp/agents/{agentId}/traces", tenantInPath: true},
	{name: "observability", pattern: "/observability/tenants/{tenantId}/agents/{agentId}/traces", tenantInPath: true},
	{name: "observabilityService", pattern: "/observabilityService/tenants/{tenantId}/otlp/agents/{agentId}/traces", tenantInPath: true},
	{name: "observabilityService", pattern: "/observabilityService/tenants/{tenantId}/agents/{agentId}/traces", tenantInPath: true},
	{name: "maven", pattern: "/maven/agent365/agents/{agentId}/traces"},
	{name: "maven_service", pattern: "/maven/agent365/service/agents/{agentId}/traces"},
}
