package agent365exporter

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
)

func TestParseResultsLeniently(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want []destinationResult
	}{
		{"destinations per span", `[{"spanId":"a","destinations":[{"destination":"Purview","status":"sent"},{"destination":"Defender","status":"not_routed","reason":"TenantNotEligible"}]}]`,
			[]destinationResult{{"sent", ""}, {"not_routed", "TenantNotEligible"}}},
		{"status per span", `[{"spanId":"a","status":"Rejected","reason":"MissingAttributes"}]`, []destinationResult{{"rejected", "MissingAttributes"}}},
		{"destinations as an object", `[{"spanId":"a","destinations":{"Purview":{"status":"NotRouted","reasonCode":"X"}}}]`, []destinationResult{{"not_routed", "X"}}},
		{"keyed by span id", `{"a":{"status":"sent"}}`, []destinationResult{{"sent", ""}}},
		{"span status ignored when destinations are listed", `[{"status":"partial","destinations":[{"status":"sent"}]}]`, []destinationResult{{"sent", ""}}},
		{"unknown status", `[{"status":"queued"}]`, []destinationResult{{"other", ""}}},
		{"no status anywhere", `[{"spanId":"a"},{"x":[1,2]}]`, nil},
		{"not a list", `"ok"`, nil},
		{"not JSON", `[{`, nil},
		{"too deep", `[[[[[[[[{"status":"sent"}]]]]]]]]`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, parseResults([]byte(tt.raw)))
		})
	}
}

func TestResultsCountedNeverFailTheRequest(t *testing.T) {
	bodies := []string{
		`{"partialSuccess":{"rejectedSpans":0,"errorMessage":""},"results":[{"spanId":"x","destinations":[{"destination":"Purview","status":"sent"},{"destination":"Defender","status":"not_routed","reason":"TenantNotEligible"}]}]}`,
		`{"results":"garbage","partialSuccess":{"rejectedSpans":"many"}}`,
		`{"results":[{"status":7}]}`,
		`not json at all`,
	}
	svc := newFakeService(t)
	i := 0
	svc.setRespond(func(*http.Request, []byte) (int, http.Header, string) {
		b := bodies[i%len(bodies)]
		i++
		return 200, nil, b
	})
	h := newHarness(t, svc.URL, func(cfg *Config) { cfg.RetryConfig.Enabled = true })
	for range 2 * len(bodies) {
		require.NoError(t, h.exp.ConsumeTraces(context.Background(), newTraces().span("a", "chat", tenantA, agent1, nil).build()))
	}
	assert.Equal(t, int64(8), h.counter(t, "otelcol_exporter_agent365_delivered_spans"), "every answer was a 200: delivered")
	assert.Zero(t, h.gauge(t, "otelcol_exporter_agent365_held_spans"))
	assert.Zero(t, h.dropped(t, ""))
	assert.Equal(t, int64(2), h.counter(t, "otelcol_exporter_agent365_span_results", attribute.String("status", "sent")))
	assert.Equal(t, int64(2), h.counter(t, "otelcol_exporter_agent365_span_results",
		attribute.String("status", "not_routed"), attribute.String("reason", "TenantNotEligible")))
	logs := h.logs.FilterMessageSnippet("did not route").All()
	require.Len(t, logs, 1, "logged at most once a minute per agent, status and reason")
	assert.Equal(t, "TenantNotEligible", logs[0].ContextMap()["reason"])
	assert.Equal(t, agent1, logs[0].ContextMap()["agent_id"])
}

func TestResultReasonsStayBounded(t *testing.T) {
	l := newResultLabels()
	for i := range 100 {
		l.option("rejected", fmt.Sprintf("Reason%d", i))
	}
	assert.Len(t, l.reasons, maxReasons)
	assert.Len(t, l.opts, maxReasons+1, "the rest share the label other")
	assert.Equal(t, "Tenant_not_eligible", sanitizeReason(`Tenant not eligible!"`))
}
