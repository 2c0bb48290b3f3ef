package agent365exporter // import "github.com/agent365-otel/agent365exporter"

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/client"
	"go.uber.org/zap"

	"github.com/agent365-otel/agent365exporter/internal/payload"
)

// deliver sends the requests of one identity in order. When its gate is
// closed, or closes on a failure, the rest is held behind it.
func (e *agent365Exporter) deliver(ctx context.Context, info client.Info, buf []byte, p identityPlan) {
	dedupe := e.gate.deduplicating()
	for i, j := range p.requests {
		if dedupe && e.gate.known(digestOf(p.id, &j.part.layout, buf, j.spans)) {
			// Held or sent already: the persistent queue handed this batch
			// out again after a restart.
			e.drop(ctx, dropDuplicate, len(j.spans))
			continue
		}
		if !e.gate.open(p.id) {
			e.holdRequests(ctx, info, buf, p.requests[i:])
			return
		}
		if !e.attempt(ctx, info, buf, j) {
			e.holdRequests(ctx, info, buf, p.requests[i+1:])
			return
		}
	}
}

func (e *agent365Exporter) holdRequests(ctx context.Context, info client.Info, buf []byte, requests []plannedRequest) {
	for _, j := range requests {
		e.hold(ctx, newHeldChunk(j.part, buf, j.spans), info)
	}
}

// attempt sends one request and settles its spans. It reports whether the
// identity's gate is still open.
func (e *agent365Exporter) attempt(ctx context.Context, info client.Info, buf []byte, j plannedRequest) bool {
	out := e.settleFailures(ctx, j.part.id, e.send(ctx, buf, j.part, j.spans, j.size, nil))
	if len(out.retry) > 0 {
		if out.decision.hold {
			e.hold(ctx, newHeldChunk(j.part, buf, out.retry), info)
		} else {
			e.dropUnheld(ctx, j.part.id, out.decision.drop, len(out.retry), out.retryAfter)
			if out.decision.drop == dropRetryAfterTooLong {
				e.dropAllHeld(ctx, j.part.id, out.decision.drop, out.retryAfter)
			}
		}
	}
	return !out.gated || out.decision.drop == dropRetryDisabled
}

// settledRequest is what a request's failures come to: the spans to send
// again, and what the identity's gate decided.
type settledRequest struct {
	retry      []payload.Span
	gated      bool // the gate was told of the failure
	decision   gateDecision
	retryAfter time.Duration
}

// settleFailures drops the spans of final failures, tells the gate of the
// failure when it calls for a wait, and returns the spans to send again
// with the gate's decision (hold them, or drop them with a reason).
func (e *agent365Exporter) settleFailures(ctx context.Context, id identity, failures []failure) settledRequest {
	var out settledRequest
	if len(failures) == 0 {
		e.gate.succeeded(id)
		return out
	}
	for _, f := range failures {
		if f.gates {
			out.gated = true
			out.retryAfter = max(out.retryAfter, f.retryAfter)
		}
		if f.permanent {
			e.drop(ctx, f.reason, len(f.spans))
		} else {
			out.retry = append(out.retry, f.spans...)
		}
	}
	if out.gated {
		out.decision = e.gate.failed(id, out.retryAfter, len(out.retry) == 0)
	}
	return out
}

// hold puts c behind its identity's gate, on disk first when the queue is
// persistent, so that it is never only in memory once the push returns.
func (e *agent365Exporter) hold(ctx context.Context, c *heldChunk, info client.Info) {
	if e.gate.known(c.sum) {
		// The same spans for the same identity are held or were just
		// settled: the persistent queue handed out again, after a crash,
		// a batch whose spans were held before it could forget it.
		e.drop(ctx, dropDuplicate, len(c.spans))
		return
	}
	c.info = info
	// Stored with its gate, so that a restart honours the wait.
	c.until = e.gate.until(c.id)
	if err := e.store.put(ctx, c); err != nil {
		e.dropUnheld(ctx, c.id, dropHoldFailed, len(c.spans), 0)
		e.logger.Error("Cannot write held spans to the sending queue's storage; they are dropped", zap.Error(err))
		return
	}
	reason, ok := e.gate.hold(c)
	if !ok {
		_ = e.store.remove(ctx, c)
		e.dropUnheld(ctx, c.id, reason, len(c.spans), e.gate.retryAfterOf(c.id))
	}
}

// dropUnheld drops spans that cannot be held, with one log line per
// identity and reason a minute.
func (e *agent365Exporter) dropUnheld(ctx context.Context, id identity, reason dropReason, n int, retryAfter time.Duration) {
	e.drop(ctx, reason, n)
	if !e.dropLog.allow(id.tenant + "/" + id.agent + "/" + reason.String()) {
		return
	}
	var msg string
	switch reason {
	case dropRetryAfterTooLong:
		msg = fmt.Sprintf("Dropping spans: the service asked this agent to wait longer than gate.max_retry_after (%s)", e.cfg.Gate.MaxRetryAfter)
	case dropHoldFull:
		msg = fmt.Sprintf("Dropping spans: held spans reached gate.max_held_bytes (%d) while this agent waits", e.cfg.Gate.MaxHeldBytes)
	case dropRetriesExhausted:
		msg = fmt.Sprintf("Dropping spans: this agent's requests kept failing for longer than retry_on_failure.max_elapsed_time (%s)", e.cfg.RetryConfig.MaxElapsedTime)
	case dropRetryDisabled:
		msg = "Dropping spans: the request failed and retry_on_failure is disabled"
	case dropShutdown:
		msg = "Dropping held spans at shutdown: the sending queue has no storage, so they cannot wait for the next start"
	default:
		msg = "Dropping spans that cannot be held"
	}
	e.logger.Warn(msg, zap.String("tenant_id", id.tenant), zap.String("agent_id", id.agent),
		zap.Int("spans", n), zap.Duration("retry_after", retryAfter), zap.String("reason", reason.String()))
}

// dropAllHeld drops what an identity holds, when its wait is over the limit.
func (e *agent365Exporter) dropAllHeld(ctx context.Context, id identity, reason dropReason, retryAfter time.Duration) {
	for _, c := range e.gate.take(id) {
		_ = e.store.remove(ctx, c)
		e.dropUnheld(ctx, id, reason, len(c.spans), retryAfter)
	}
}
