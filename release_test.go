package agent365exporter

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReleaseCountsEachSpanOnce: held spans whose release is answered with
// a wait over gate.max_retry_after are dropped, each counted once, the one
// being released included.
func TestReleaseCountsEachSpanOnce(t *testing.T) {
	svc := newFakeService(t)
	var calls atomic.Int32
	svc.setRespond(func(*http.Request, []byte) (int, http.Header, string) {
		if calls.Add(1) == 1 {
			return 429, http.Header{"Retry-After": {"1"}}, ""
		}
		return 503, http.Header{"Retry-After": {"7200"}}, ""
	})
	h := newHarness(t, svc.URL, func(cfg *Config) { cfg.RetryConfig.Enabled = true })
	require.NoError(t, h.exp.ConsumeTraces(context.Background(), newTraces().span("a", "chat", tenantA, agent1, nil).build()))
	// Held behind the first: its identity waits.
	require.NoError(t, h.exp.ConsumeTraces(context.Background(), newTraces().span("b", "chat", tenantA, agent1, nil).span("c", "chat", tenantA, agent1, nil).build()))
	assert.Equal(t, int64(3), h.gauge(t, "otelcol_exporter_agent365_held_spans"))
	require.Eventually(t, func() bool { return h.dropped(t, "") == 3 }, 10*time.Second, 10*time.Millisecond)
	time.Sleep(100 * time.Millisecond)
	assert.Equal(t, int64(3), h.dropped(t, "retry_after_too_long"), "every held span, once")
	assert.Zero(t, h.gauge(t, "otelcol_exporter_agent365_held_spans"))
	assert.Equal(t, int32(2), calls.Load(), "one request when the gate opened; the rest dropped without one")
}
