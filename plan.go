package agent365exporter // import "github.com/agent365-otel/agent365exporter"

import (
	"context"
	"slices"

	"go.uber.org/zap"

	"github.com/agent365-otel/agent365exporter/internal/payload"
)

// plannedRequest is one request: spans of one partition, within
// max_payload_bytes.
type plannedRequest struct {
	part  *partition
	spans []payload.Span
	size  int // of the body
}

// identityPlan is the requests of one identity in a push, in span order:
// they go one after the other, so that a failure holds the rest back in
// order. Identities go in parallel.
type identityPlan struct {
	id       identity
	requests []plannedRequest
}

// plan resolves each group's URL and cuts its spans into requests.
func (e *agent365Exporter) plan(ctx context.Context, b *encodedPush) []identityPlan {
	var plans []identityPlan
	index := map[identity]int{}
	for _, g := range b.parts {
		url, err := e.router.URL(g.id.tenant, g.id.agent)
		if err != nil {
			e.drop(ctx, dropTenantDiscovery, len(g.spans))
			if e.notices.first("discovery/" + g.id.tenant) {
				e.logger.Warn("Dropping spans: the tenant id cannot be resolved to an Agent 365 host",
					zap.String("tenant_id", g.id.tenant), zap.Error(err))
			}
			continue
		}
		g.url = url
		// Spans of a scope must be adjacent in a body; they usually are.
		if !slices.IsSortedFunc(g.spans, byScope) {
			slices.SortStableFunc(g.spans, byScope)
		}
		i, ok := index[g.id]
		if !ok {
			i = len(plans)
			index[g.id] = i
			plans = append(plans, identityPlan{id: g.id})
		}
		b.chunks = g.layout.Chunks(b.chunks[:0], g.spans, e.cfg.MaxPayloadBytes)
		for _, c := range b.chunks {
			plans[i].requests = append(plans[i].requests, plannedRequest{part: g, spans: g.spans[c.First:c.Last], size: c.Size})
		}
	}
	return plans
}

func byScope(a, b payload.Span) int { return a.Scope - b.Scope }
