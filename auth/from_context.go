package auth // import "github.com/agent365-otel/agent365exporter/auth"

import (
	"context"
	"fmt"
	"strings"
	"time"

	"go.opentelemetry.io/collector/client"

	"github.com/agent365-otel/agent365exporter/auth/internal/tokeninfo"
)

// fromContextSource takes the token the agent sent along with its spans,
// from the client metadata the receiver attached to the context. It is
// never cached: each request carries its own.
type fromContextSource struct {
	header string
	now    func() time.Time
}

func (s *fromContextSource) kind() string      { return sourceFromContext }
func (s *fromContextSource) secrets() []string { return nil }

func (s *fromContextSource) token(ctx context.Context, id Identity) (token, bool, error) {
	var v string
	for _, val := range client.FromContext(ctx).Metadata.Get(s.header) {
		if val = strings.TrimSpace(val); val != "" {
			v = val
			break
		}
	}
	if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
		v = strings.TrimSpace(v[7:])
	}
	if v == "" {
		return token{}, false, fmt.Errorf("agent365auth: from_context: the request carries no token in client metadata %q (agent %s): "+
			"the agent must send its token in the %q header, the receiver must have include_metadata: true, "+
			"and batching must keep the key (sending_queue::batch::partition::metadata_keys: [%s]) or be off",
			s.header, id.AgentID, s.header, s.header)
	}
	tok := token{value: v}
	if c, ok := tokeninfo.Parse(v); ok {
		tok.expiresOn = c.Expiry()
		if app := c.ClientID(); app != "" && !strings.EqualFold(app, id.AgentID) {
			return token{}, false, fmt.Errorf("agent365auth: from_context: refusing to send the token in %q for agent %s: it was issued to app %s (%s); "+
				"each agent must send its own token, and batching must partition by %q", s.header, id.AgentID, app, c, s.header)
		}
		if c.TenantID != "" && !strings.EqualFold(c.TenantID, id.TenantID) {
			return token{}, false, fmt.Errorf("agent365auth: from_context: refusing to send the token in %q for tenant %s: it was issued in tenant %s (%s)",
				s.header, id.TenantID, c.TenantID, c)
		}
		if tok.expired(s.now()) {
			return token{}, false, fmt.Errorf("agent365auth: from_context: the token in %q for agent %s expired at %s; the spans waited too long in the queue or the agent sent a stale token",
				s.header, id.AgentID, tok.expiresOn.UTC().Format(time.RFC3339))
		}
	}
	return tok, true, nil
}
