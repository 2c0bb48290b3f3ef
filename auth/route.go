package auth // import "github.com/agent365-otel/agent365exporter/auth"

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"go.opentelemetry.io/collector/consumer/consumererror"

	"github.com/agent365-otel/agent365exporter/auth/internal/tokeninfo"
)

// The service's two kinds of routes take two kinds of tokens: the
// service-to-service routes (/observabilityService/..., and the legacy
// /maven/agent365/service/...) only app-only tokens, and refuse any with a
// "scp" claim; the standard routes (/observability/..., /maven/agent365/
// agents/...) the agent's delegated (on-behalf-of) token.

type routeKind int

const (
	routeUnknown routeKind = iota
	routeStandard
	routeS2S
)

// s2sPrefixes and their standard counterparts.
var routePairs = [][2]string{
	{"/observabilityService/", "/observability/"},
	{"/maven/agent365/service/agents/", "/maven/agent365/agents/"},
}

func routeOf(u *url.URL) routeKind {
	p := u.EscapedPath()
	for _, pair := range routePairs {
		switch {
		case strings.Contains(p, pair[0]):
			return routeS2S
		case strings.Contains(p, pair[1]):
			return routeStandard
		}
	}
	return routeUnknown
}

// toStandardRoute is u on the standard route.
func toStandardRoute(u *url.URL) *url.URL {
	out := *u
	for _, pair := range routePairs {
		if strings.Contains(u.Path, pair[0]) {
			out.Path = strings.Replace(u.Path, pair[0], pair[1], 1)
			if u.RawPath != "" {
				out.RawPath = strings.Replace(u.RawPath, pair[0], pair[1], 1)
			}
			return &out
		}
	}
	return &out
}

type tokenKind int

const (
	tokenOpaque    tokenKind = iota // not a JWT, or claims that tell neither
	tokenDelegated                  // has scp
	tokenAppOnly                    // has roles and no scp
)

func kindOf(tok string) tokenKind {
	c, ok := tokeninfo.Parse(tok)
	switch {
	case !ok:
		return tokenOpaque
	case c.Scope != "":
		return tokenDelegated
	case len(c.Roles) > 0:
		return tokenAppOnly
	}
	return tokenOpaque
}

// routeFor fits req's route to its token. An agent's own token
// (from_context) is delegated: its request goes to the standard route,
// whatever the exporter's default. Any other mismatch would be refused by
// the service; it is refused here, before anything is sent, with the
// setting to change. The error is permanent: sending again cannot help.
func routeFor(req *http.Request, tok string, fromContext bool) (*http.Request, error) {
	route := routeOf(req.URL)
	if route == routeUnknown {
		return req, nil
	}
	kind := kindOf(tok)
	switch {
	case fromContext && route == routeS2S && kind != tokenAppOnly:
		out := req.Clone(req.Context())
		out.URL = toStandardRoute(req.URL)
		return out, nil
	case route == routeS2S && kind == tokenDelegated:
		return nil, consumererror.NewPermanent(fmt.Errorf("agent365auth: the token for this request is delegated (it has an scp claim: %s), "+
			"and the service-to-service route %s refuses delegated tokens; set use_s2s_endpoint: false on the exporter, "+
			"or give agent365auth an app-only source (client_credentials, managed_identity, agent_blueprint)",
			claimsOf(tok), req.URL.EscapedPath()))
	case route == routeStandard && kind == tokenAppOnly && !fromContext:
		return nil, consumererror.NewPermanent(fmt.Errorf("agent365auth: the token for this request is app-only (%s), "+
			"and the standard route %s takes the agent's own delegated token; remove use_s2s_endpoint: false from the exporter "+
			"(the service-to-service routes are the default), or use from_context",
			claimsOf(tok), req.URL.EscapedPath()))
	}
	return req, nil
}

func claimsOf(tok string) string {
	c, _ := tokeninfo.Parse(tok)
	return c.String()
}
