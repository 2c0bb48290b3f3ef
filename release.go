package agent365exporter // import "github.com/agent365-otel/agent365exporter"

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.uber.org/zap"
)

// releaseLoop sends held spans when their identity's gate opens, until
// shutdown.
func (e *agent365Exporter) releaseLoop() {
	defer close(e.releaseDone)
	var wg sync.WaitGroup
	defer wg.Wait()
	sem := make(chan struct{}, e.cfg.MaxConcurrentRequests)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		ids, next := e.gate.due()
		for _, id := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				select {
				case sem <- struct{}{}:
				case <-e.releaseCtx.Done():
					e.gate.endRelease(id)
					return
				}
				defer func() { <-sem }()
				e.release(e.releaseCtx, id)
			}()
		}
		wait := time.Hour
		if !next.IsZero() {
			wait = max(time.Until(next), time.Millisecond)
		}
		timer.Reset(wait)
		select {
		case <-e.releaseCtx.Done():
			return
		case <-e.gate.wake:
		case <-timer.C:
		}
	}
}

// release sends the held chunks of id in order, while its gate stays open.
func (e *agent365Exporter) release(ctx context.Context, id identity) {
	for {
		c := e.gate.front(id)
		if c == nil {
			return
		}
		url, err := e.router.URL(id.tenant, id.agent)
		if err != nil {
			e.gate.settle(c, nil)
			_ = e.store.remove(ctx, c)
			e.drop(ctx, dropTenantDiscovery, len(c.spans))
			continue
		}
		g := &partition{id: id, url: url, layout: c.layout}
		sendCtx := client.NewContext(ctx, c.info)
		failures := e.send(sendCtx, c.buf, g, c.spans, c.layout.Size(c.spans), nil)
		if ctx.Err() != nil {
			return // shutting down: c stays held
		}
		out := e.settleFailures(ctx, id, failures)
		if len(out.retry) == 0 {
			e.gate.settle(c, nil)
			_ = e.store.remove(ctx, c)
			continue
		}
		if len(out.retry) < len(c.spans) {
			// What was delivered or dropped leaves the chunk.
			rest := c.remainder(out.retry)
			_ = e.store.put(ctx, rest)
			e.gate.settle(c, rest)
			c = rest
		}
		switch out.decision.drop {
		case 0:
			// c stays first in line; the gate is closed again.
		case dropRetryAfterTooLong:
			e.dropAllHeld(ctx, id, out.decision.drop, out.retryAfter)
		default:
			e.gate.settle(c, nil)
			_ = e.store.remove(ctx, c)
			e.dropUnheld(ctx, id, out.decision.drop, len(c.spans), out.retryAfter)
		}
	}
}

// settleHeldAtShutdown: with a persistent queue, held spans stay in its
// storage and are sent after the next start; without, they are dropped and
// counted, one log line per identity.
func (e *agent365Exporter) settleHeldAtShutdown(ctx context.Context) {
	if e.store.persistent() {
		if spans, gated := e.gate.stats(); spans > 0 {
			e.logger.Info("Held spans stay in the sending queue's storage; they are sent after the next start",
				zap.Int("spans", spans), zap.Int("identities", gated))
		}
		return
	}
	for _, c := range e.gate.drain() {
		e.dropUnheld(ctx, c.id, dropShutdown, len(c.spans), 0)
	}
}

// openStore opens the store of held spans: the sending queue's storage
// extension when it has one, memory otherwise.
func (e *agent365Exporter) openStore(ctx context.Context, host component.Host) error {
	q := e.cfg.QueueConfig.Get()
	if q == nil || q.StorageID == nil {
		return nil
	}
	ext, ok := host.GetExtensions()[*q.StorageID]
	if !ok {
		return fmt.Errorf("sending_queue.storage: extension %q is not configured; add it under service.extensions", q.StorageID)
	}
	se, ok := ext.(storage.Extension)
	if !ok {
		return fmt.Errorf("sending_queue.storage: extension %q is not a storage extension", q.StorageID)
	}
	c, err := se.GetClient(ctx, component.KindExporter, e.id, "agent365_held")
	if err != nil {
		return fmt.Errorf("sending_queue.storage: cannot open storage for held spans: %w", err)
	}
	sc, ok := c.(storageClient)
	if !ok {
		_ = c.Close(ctx)
		e.logger.Warn("The sending queue's storage cannot list its keys; spans held for a throttled agent are kept in memory only and dropped at shutdown",
			zap.String("storage", q.StorageID.String()))
		return nil
	}
	store := newDiskStore(sc)
	chunks, err := store.load(ctx)
	if err != nil {
		_ = sc.Close(ctx)
		return fmt.Errorf("sending_queue.storage: cannot read held spans: %w", err)
	}
	for _, c := range chunks {
		e.gate.restore(c)
	}
	if len(chunks) > 0 {
		spans, gated := e.gate.stats()
		e.logger.Info("Held spans read back from the sending queue's storage; they are sent when their agent's wait ends",
			zap.Int("spans", spans), zap.Int("identities", gated))
	}
	e.store = store
	return nil
}
