package auth // import "github.com/agent365-otel/agent365exporter/auth"

import (
	"fmt"
	"io"
	"net/http"
)

// roundTripper sets the Authorization header of each request to the token
// of its identity. On a 401 it drops that token and sends the request once
// more with a new one, when there is a new one and the body can be replayed.
type roundTripper struct {
	base http.RoundTripper
	auth *Authenticator
}

func (rt *roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	id, ok := IdentityFromRequest(req)
	if !ok {
		closeBody(req)
		return nil, fmt.Errorf("agent365auth: cannot tell the tenant and agent of the request to %s: "+
			"it has no identity in its context, no %s header or no /agents/{agentId}/traces path; agent365auth authenticates requests of the agent365 exporter",
			req.URL.Redacted(), TenantHeader)
	}
	tok, err := rt.auth.Token(req.Context(), id.TenantID, id.AgentID)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	routed, err := routeFor(req, tok, rt.auth.fromContext(id.AgentID))
	if err != nil {
		closeBody(req)
		return nil, err
	}
	req = routed
	resp, err := rt.base.RoundTrip(withToken(req, tok))
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	hasBody := req.Body != nil && req.Body != http.NoBody
	if hasBody && req.GetBody == nil {
		return resp, nil // the body is gone: the exporter's retry sends it again
	}
	rt.auth.Invalidate(id.TenantID, id.AgentID, tok)
	fresh, err := rt.auth.Token(req.Context(), id.TenantID, id.AgentID)
	if err != nil {
		discard(resp)
		return nil, fmt.Errorf("the service answered 401 and no new token could be obtained: %w", err)
	}
	if fresh == tok {
		return resp, nil // the source has no other token (from_context, static)
	}
	retry := withToken(req, fresh)
	if hasBody {
		body, err := req.GetBody()
		if err != nil {
			return resp, nil
		}
		retry.Body = body
	}
	discard(resp)
	return rt.base.RoundTrip(retry)
}

// CloseIdleConnections reaches the base transport, so that the client's
// CloseIdleConnections closes its idle connections.
func (rt *roundTripper) CloseIdleConnections() {
	if c, ok := rt.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// withToken is a copy of req with the token; req itself is not changed.
func withToken(req *http.Request, tok string) *http.Request {
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+tok)
	return r
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}

// discard reads a little of the body, so the connection can be reused,
// and closes it.
func discard(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
}
