package faults

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/otel/attribute"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	agent365exporter "github.com/agent365-otel/agent365exporter"
	"github.com/agent365-otel/agent365exporter/internal/sample"
	"github.com/agent365-otel/agent365exporter/testbed/internal/sink"
)

func TestFaults5xxBurst(t *testing.T) {
	r := newFaultRig(t, rigOptions{})
	r.fault(t, sink.Fault{Status: 503, Times: 4})
	r.fault(t, sink.Fault{Status: 500, Times: 2})
	r.fault(t, sink.Fault{Status: 502, Times: 2})
	r.send(t, 6, turnStart)
	delivered, dropped := r.ledger(t)
	assert.Equal(t, 24, delivered)
	assert.Zero(t, dropped)
	assert.Equal(t, int64(8), r.exp.counter(t, "otelcol_exporter_agent365_requests", attribute.String("outcome", "retryable_error")))
}

func TestFaultsThrottled(t *testing.T) {
	for _, tt := range []struct {
		name       string
		retryAfter func() string
		wait       time.Duration
	}{
		{"retry-after seconds", func() string { return "1" }, time.Second},
		{"retry-after HTTP date", func() string { return time.Now().Add(2 * time.Second).UTC().Format(http.TimeFormat) }, time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newFaultRig(t, rigOptions{})
			r.fault(t, sink.Fault{Status: 429, Times: 1, RetryAfter: sink.RetryAfter(tt.retryAfter())})
			r.send(t, 1, turnStart) // one agent's turn: one request
			delivered, _ := r.ledger(t)
			assert.Equal(t, 4, delivered)
			r.mu.Lock()
			defer r.mu.Unlock()
			require.Len(t, r.arrivals, 2)
			// Retry-After is honoured: the retry waited at least that long.
			assert.GreaterOrEqual(t, r.arrivals[1].Sub(r.arrivals[0]), tt.wait-100*time.Millisecond)
		})
	}
}

func TestFaultsUnauthorizedThenFreshToken(t *testing.T) {
	r := newFaultRig(t, rigOptions{entra: true})
	r.fault(t, sink.Fault{Status: 401, Times: 1})
	r.send(t, 1, turnStart)
	delivered, dropped := r.ledger(t)
	assert.Equal(t, 4, delivered)
	assert.Zero(t, dropped)
	// The 401 was answered inside one attempt: a second token, and the
	// exporter never saw a failure.
	assert.Equal(t, 2, r.entra.count())
	assert.Zero(t, r.exp.counter(t, "otelcol_exporter_agent365_requests", attribute.String("outcome", "retryable_error")))
	for _, e := range r.authLog.All() {
		raw, _ := json.Marshal(e.ContextMap())
		assert.NotContains(t, e.Message+string(raw), "s3cret-value")
		assert.NotContains(t, e.Message+string(raw), "tok-")
	}
}

func TestFaultsForbiddenIsFinal(t *testing.T) {
	r := newFaultRig(t, rigOptions{})
	r.fault(t, sink.Fault{Status: 403, Times: 1, Agent: sample.DefaultAgents[1].AgentID,
		Headers: map[string]string{"WWW-Authenticate": `Bearer error="insufficient_scope"`}})
	r.send(t, 3, turnStart)
	delivered, dropped := r.ledger(t)
	assert.Equal(t, 8, delivered)
	assert.Equal(t, 4, dropped)
	assert.Equal(t, int64(4), r.exp.dropped(t, "rejected_by_service"))
	assert.Equal(t, int64(1), r.exp.counter(t, "otelcol_exporter_agent365_requests", attribute.String("outcome", "permanent_error")))
	assert.Equal(t, int64(3), r.sink.Stats().Requests, "one request per agent, none retried")
	logs := r.exp.logs.FilterMessageSnippet("rejected the request").All()
	require.Len(t, logs, 1)
	assert.Contains(t, logs[0].Message, "Agent365.Observability.OtelWrite")
}

func TestFaultsBadRequestIsFinal(t *testing.T) {
	r := newFaultRig(t, rigOptions{})
	r.fault(t, sink.Fault{Status: 400, Times: 1, Tenant: sample.DefaultAgents[2].TenantID, Body: `{"error":"bad agent id"}`})
	r.send(t, 3, turnStart)
	delivered, dropped := r.ledger(t)
	assert.Equal(t, 8, delivered)
	assert.Equal(t, 4, dropped)
	assert.Equal(t, 1, r.exp.logs.FilterMessageSnippet("rejected the request").Len())
}

func TestFaultsTooLargeSplits(t *testing.T) {
	// The service takes far less than max_payload_bytes: the exporter
	// splits and resends instead of dropping.
	r := newFaultRig(t, rigOptions{sinkCfg: sink.Config{MaxBodyBytes: 8000}})
	r.send(t, 12, turnStart)
	delivered, dropped := r.ledger(t)
	assert.Equal(t, 48, delivered)
	assert.Zero(t, dropped)
	assert.Positive(t, r.exp.counter(t, "otelcol_exporter_agent365_requests", attribute.String("outcome", "too_large")))
}

func TestFaultsConnectionReset(t *testing.T) {
	r := newFaultRig(t, rigOptions{})
	r.fault(t, sink.Fault{Reset: true, Times: 3})
	r.send(t, 3, turnStart)
	delivered, dropped := r.ledger(t)
	assert.Equal(t, 12, delivered)
	assert.Zero(t, dropped)
	assert.Equal(t, int64(3), r.sink.Stats().RequestsByStatus["reset"])
}

func TestFaultsServerSlowerThanTimeout(t *testing.T) {
	r := newFaultRig(t, rigOptions{timeout: 300 * time.Millisecond})
	r.fault(t, sink.Fault{Delay: sink.Duration(1500 * time.Millisecond), Times: 1})
	r.send(t, 1, turnStart)
	delivered, dropped := r.ledger(t)
	assert.Equal(t, 4, delivered)
	assert.Zero(t, dropped)
	assert.Positive(t, r.exp.counter(t, "otelcol_exporter_agent365_requests", attribute.String("status_class", "none")), "the timed-out attempt")
}

func TestFaultsTokenEndpointDownThenUp(t *testing.T) {
	r := newFaultRig(t, rigOptions{entra: true, entraFail: 1})
	r.send(t, 1, turnStart)
	delivered, dropped := r.ledger(t)
	assert.Equal(t, 4, delivered)
	assert.Zero(t, dropped)
	assert.GreaterOrEqual(t, r.entra.count(), 2)
	assert.Zero(t, r.sink.Stats().RequestsByStatus["401"], "no request went out without a token")
}

func TestFaultsPartialFailure(t *testing.T) {
	r := newFaultRig(t, rigOptions{})
	// One tenant's requests fail for a while; the other tenant's succeed
	// at once and must not be sent again.
	r.fault(t, sink.Fault{Status: 503, Times: 3, Tenant: sample.DefaultAgents[2].TenantID})
	r.send(t, 6, turnStart)
	r.send(t, 6, turnStart.Add(time.Hour))
	delivered, dropped := r.ledger(t)
	assert.Equal(t, 48, delivered)
	assert.Zero(t, dropped)
	byAgent := map[string]int{}
	for _, rec := range r.sink.Records() {
		byAgent[rec.AgentID]++
	}
	for _, a := range sample.DefaultAgents {
		assert.Equal(t, 16, byAgent[a.AgentID], a.Name)
	}
}

// throttledAgents are agents of their own for the isolation cases: more
// identities than the queue has consumers.
var throttledAgents = []sample.Agent{
	{TenantID: "11111111-0000-0000-0000-000000000001", AgentID: "aaaaaaaa-0000-0000-0000-000000000001", Name: "Throttled One"},
	{TenantID: "11111111-0000-0000-0000-000000000001", AgentID: "aaaaaaaa-0000-0000-0000-000000000002", Name: "Throttled Two"},
	{TenantID: "11111111-0000-0000-0000-000000000002", AgentID: "aaaaaaaa-0000-0000-0000-000000000003", Name: "Throttled Three"},
}

// waitRequests waits until the sink has answered n requests.
func (r *faultRig) waitRequests(t *testing.T, n int64) {
	t.Helper()
	require.Eventually(t, func() bool { return r.sink.Stats().Requests >= n }, 10*time.Second, 10*time.Millisecond)
}

// deliveredFor counts the spans the sink accepted for agent.
func (r *faultRig) deliveredFor(agent string) int {
	n := 0
	for _, rec := range r.sink.Records() {
		if rec.AgentID == agent {
			n++
		}
	}
	return n
}

func TestFaultsThrottledIdentitiesDoNotDelayOthers(t *testing.T) {
	r := newFaultRig(t, rigOptions{mutate: func(cfg *agent365exporter.Config) {
		cfg.QueueConfig.Get().NumConsumers = 2
		cfg.RetryConfig.MaxElapsedTime = 0 // as observed: retry for ever
	}})
	for _, a := range throttledAgents {
		r.fault(t, sink.Fault{Status: 429, RetryAfter: "3600", Agent: a.AgentID})
	}
	// Three throttled identities, two consumers: each answered 429 with an
	// hour to wait.
	for _, a := range throttledAgents {
		r.sendAgents(t, []sample.Agent{a}, 1, turnStart)
	}
	r.waitRequests(t, 3)
	// A healthy agent's spans arriving later still go out at once.
	healthy := sample.DefaultAgents[0]
	r.sendAgents(t, []sample.Agent{healthy}, 1, turnStart)
	require.Eventually(t, func() bool { return r.deliveredFor(healthy.AgentID) == 4 }, 10*time.Second, 10*time.Millisecond,
		"a throttled identity's wait held up another identity")
	assert.Equal(t, int64(12), r.exp.gauge(t, "otelcol_exporter_agent365_held_spans"), "the throttled spans wait behind their gates")
	assert.Equal(t, int64(3), r.exp.gauge(t, "otelcol_exporter_agent365_gated_identities"))
	assert.Zero(t, r.exp.dropped(t, ""))
	assert.Equal(t, int64(4), r.sink.Stats().Requests, "no throttled identity was asked again before its Retry-After")
}

func TestFaultsRetryAfterBeyondMaxElapsedTime(t *testing.T) {
	r := newFaultRig(t, rigOptions{mutate: func(cfg *agent365exporter.Config) {
		cfg.RetryConfig.MaxElapsedTime = 300 * time.Millisecond
	}})
	agent := sample.DefaultAgents[1]
	r.fault(t, sink.Fault{Status: 429, Times: 1, RetryAfter: "2", Agent: agent.AgentID})
	r.sendAgents(t, []sample.Agent{agent}, 1, turnStart)
	r.waitRequests(t, 1)
	r.sendAgents(t, []sample.Agent{agent}, 1, turnStart.Add(time.Minute)) // arrives while the identity waits
	delivered, dropped := r.ledger(t)
	assert.Equal(t, 8, delivered, "held for the Retry-After, then delivered once")
	assert.Zero(t, dropped)
	r.mu.Lock()
	arrivals := slices.Clone(r.arrivals)
	r.mu.Unlock()
	require.GreaterOrEqual(t, len(arrivals), 2)
	assert.GreaterOrEqual(t, arrivals[1].Sub(arrivals[0]), 1900*time.Millisecond, "nothing was sent before the Retry-After")
	// In order: the first turn's spans, then the second's.
	var turns []int64
	for _, rec := range r.sink.Records() {
		var s struct {
			Start int64 `json:"startTimeUnixNano"`
		}
		require.NoError(t, json.Unmarshal(rec.Span, &s))
		turns = append(turns, s.Start/int64(time.Minute))
	}
	assert.True(t, slices.IsSorted(turns), "held spans go out in the order they came")
}

func TestFaultsFailingIdentityBacksOffAlone(t *testing.T) {
	r := newFaultRig(t, rigOptions{mutate: func(cfg *agent365exporter.Config) {
		cfg.RetryConfig.InitialInterval = 200 * time.Millisecond
		cfg.RetryConfig.MaxInterval = 400 * time.Millisecond
	}})
	failing := sample.DefaultAgents[2]
	r.fault(t, sink.Fault{Status: 503, Times: 3, Agent: failing.AgentID})
	// Six pushes of all agents: the failing identity is asked once per
	// backoff step, not once per push.
	for i := range 6 {
		r.send(t, 3, turnStart.Add(time.Duration(i)*time.Minute)) // a turn of each agent
	}
	delivered, dropped := r.ledger(t)
	assert.Equal(t, 72, delivered)
	assert.Zero(t, dropped)
	assert.Equal(t, int64(3), r.exp.counter(t, "otelcol_exporter_agent365_requests", attribute.String("outcome", "retryable_error")))
	for _, a := range sample.DefaultAgents {
		assert.Equal(t, 24, r.deliveredFor(a.AgentID), a.Name)
	}
}

func TestFaultsRetryAfterOverTheLimitIsDroppedAndLogged(t *testing.T) {
	r := newFaultRig(t, rigOptions{})
	agent := sample.DefaultAgents[0]
	r.fault(t, sink.Fault{Status: 503, Times: 1, RetryAfter: "7200", Agent: agent.AgentID})
	r.send(t, 3, turnStart) // a turn of each agent
	r.waitRequests(t, 3)
	r.sendAgents(t, []sample.Agent{agent}, 1, turnStart.Add(time.Minute)) // while it must wait
	delivered, dropped := r.ledger(t)
	assert.Equal(t, 8, delivered, "the other agents")
	assert.Equal(t, 8, dropped)
	assert.Equal(t, int64(8), r.exp.dropped(t, "retry_after_too_long"))
	logs := r.exp.logs.FilterMessageSnippet("gate.max_retry_after").All()
	require.Len(t, logs, 1, "one line per identity and reason")
	f := logs[0].ContextMap()
	assert.Equal(t, agent.TenantID, f["tenant_id"])
	assert.Equal(t, agent.AgentID, f["agent_id"])
	assert.Equal(t, 2*time.Hour, f["retry_after"])
}

func TestFaultsHeldSpansAtShutdownWithoutStorage(t *testing.T) {
	r := newFaultRig(t, rigOptions{})
	agent := sample.DefaultAgents[0]
	r.fault(t, sink.Fault{Status: 429, RetryAfter: "600", Agent: agent.AgentID})
	r.sendAgents(t, []sample.Agent{agent}, 1, turnStart)
	require.Eventually(t, func() bool { return r.exp.gauge(t, "otelcol_exporter_agent365_held_spans") == 4 }, 10*time.Second, 10*time.Millisecond)
	require.NoError(t, r.exp.exp.Shutdown(context.Background()))
	assert.Equal(t, int64(4), r.exp.dropped(t, "shutdown"))
	logs := r.exp.logs.FilterMessageSnippet("at shutdown").All()
	require.Len(t, logs, 1)
	assert.Equal(t, agent.AgentID, logs[0].ContextMap()["agent_id"])
}

func TestFaultsHeldSpansSurviveRestartWithStorage(t *testing.T) {
	agent := sample.DefaultAgents[0]
	r := newFaultRig(t, rigOptions{storage: t.TempDir()})
	r.fault(t, sink.Fault{Status: 429, Times: 1, RetryAfter: "1", Agent: agent.AgentID})
	r.sendAgents(t, []sample.Agent{agent}, 1, turnStart)
	require.Eventually(t, func() bool { return r.exp.gauge(t, "otelcol_exporter_agent365_held_spans") == 4 }, 10*time.Second, 10*time.Millisecond)
	// SIGTERM: the held spans stay in the queue's storage.
	require.NoError(t, r.exp.exp.Shutdown(context.Background()))
	assert.Zero(t, r.exp.dropped(t, ""))
	kept := r.exp.logs.FilterMessageSnippet("stay in the sending queue's storage").All()
	require.Len(t, kept, 1)
	assert.EqualValues(t, 4, kept[0].ContextMap()["spans"])
	assert.Zero(t, r.deliveredFor(agent.AgentID))

	// The next start reads them back and sends them once the Retry-After
	// is over, once.
	h := &harness{tel: componenttest.NewTelemetry()}
	core, logs := observer.New(zapcore.InfoLevel)
	set := exportertest.NewNopSettings(exporterType)
	set.ID = r.id // the same exporter, restarted
	set.TelemetrySettings = h.tel.NewTelemetrySettings()
	set.Logger = zap.New(core)
	exp, err := agent365exporter.NewFactory().CreateTraces(context.Background(), set, r.cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), r.host))
	defer func() {
		require.NoError(t, exp.Shutdown(context.Background()))
		require.NoError(t, h.tel.Shutdown(context.Background()))
	}()
	read := logs.FilterMessageSnippet("read back").All()
	require.Len(t, read, 1)
	assert.EqualValues(t, 4, read[0].ContextMap()["spans"])
	require.Eventually(t, func() bool { return r.deliveredFor(agent.AgentID) == 4 }, 10*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool { return h.gauge(t, "otelcol_exporter_agent365_held_spans") == 0 }, 5*time.Second, 10*time.Millisecond)
	time.Sleep(200 * time.Millisecond)
	assert.Equal(t, 4, r.deliveredFor(agent.AgentID), "delivered once")
	assert.Equal(t, int64(4), h.counter(t, "otelcol_exporter_agent365_delivered_spans"))
}

func TestFaultsLedgerReconcilesInStandardMetrics(t *testing.T) {
	r := newFaultRig(t, rigOptions{})
	// 100 spans delivered at once, 100 throttled then delivered, 100 forbidden, and spans
	// that are not agent spans at all.
	r.fault(t, sink.Fault{Status: 429, Times: 1, RetryAfter: "1", Agent: sample.DefaultAgents[1].AgentID})
	r.fault(t, sink.Fault{Status: 403, Times: 1, Agent: sample.DefaultAgents[2].AgentID})
	td := sample.Traces(sample.DefaultAgents, 75, turnStart, sample.Options{})
	extra := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	for i := range 5 {
		s := extra.AppendEmpty()
		s.SetName("GET /health")
		s.SetSpanID(pcommon.SpanID{9, 9, byte(i)})
	}
	for id := range spanIDs(td) {
		r.sent[id] = true
	}
	require.NoError(t, r.exp.exp.ConsumeTraces(context.Background(), td))
	delivered, dropped := r.ledger(t)
	assert.Equal(t, 200, delivered)
	assert.Equal(t, 105, dropped)
	assert.Equal(t, int64(5), r.exp.dropped(t, "missing_operation"))
	assert.Equal(t, int64(100), r.exp.dropped(t, "rejected_by_service"))
	assert.Equal(t, int64(300), r.exp.counter(t, "otelcol_exporter_sent_spans"))
}

func TestFaultsResultsFromTheSinkAgreeWithTheExporter(t *testing.T) {
	r := newFaultRig(t, rigOptions{})
	agent := sample.DefaultAgents[2]
	r.fault(t, sink.Fault{Agent: agent.AgentID, Results: &sink.ResultsFault{Status: "not_routed", Reason: "TenantNotEligible", Destinations: []string{"Purview"}}})
	r.send(t, 6, turnStart)
	delivered, dropped := r.ledger(t)
	assert.Equal(t, 24, delivered, "a 200 delivers, whatever its results say")
	assert.Zero(t, dropped)
	st := r.sink.Stats()
	assert.Equal(t, st.Results["not_routed"], r.exp.counter(t, "otelcol_exporter_agent365_span_results", attribute.String("status", "not_routed")))
	assert.Equal(t, st.Results["sent"], r.exp.counter(t, "otelcol_exporter_agent365_span_results", attribute.String("status", "sent")))
	assert.Equal(t, int64(8), st.Results["not_routed"], "the Travel Agent's 8 spans, for one destination")
}

// TestSinkReportAgreesWithTheExporter: for the same spans, a365sink's
// report (what the service would see) and the exporter's own counts of
// missing and mistyped attributes are the same, operation by operation.
func TestSinkReportAgreesWithTheExporter(t *testing.T) {
	r := newFaultRig(t, rigOptions{})
	td := sample.Traces(sample.DefaultAgents, 9, turnStart, sample.Options{Omit: []string{"user.email", "gen_ai.tool.call.result", "client.address"}})
	r.sendTraces(t, td)
	delivered, _ := r.ledger(t)
	require.Equal(t, 36, delivered)

	rep := r.sink.Report()
	sinkMissing, sinkMistyped := map[string]int64{}, map[string]int64{}
	for _, a := range rep.Agents {
		for _, op := range a.Operations {
			for _, m := range op.Missing {
				sinkMissing[op.Name+"/"+m.Attribute] += m.Spans
			}
			for _, m := range op.Mistyped {
				attr, _, _ := strings.Cut(m.Finding, " ")
				sinkMistyped[op.Name+"/"+attr] += m.Spans
			}
		}
	}
	require.NotEmpty(t, sinkMissing)
	require.NotEmpty(t, sinkMistyped, "the sample sends server.port as an int, as the SDKs do")
	for key, n := range sinkMissing {
		op, attr, _ := strings.Cut(key, "/")
		assert.Equal(t, n, r.exp.counter(t, "otelcol_exporter_agent365_missing_attributes", attribute.String("operation", op), attribute.String("attribute", attr)), key)
	}
	for key, n := range sinkMistyped {
		op, attr, _ := strings.Cut(key, "/")
		assert.Equal(t, n, r.exp.counter(t, "otelcol_exporter_agent365_mistyped_attributes", attribute.String("operation", op), attribute.String("attribute", attr)), key)
	}
	var total int64
	for _, n := range sinkMissing {
		total += n
	}
	assert.Equal(t, total, r.exp.counter(t, "otelcol_exporter_agent365_missing_attributes"), "nothing the sink does not see")
}
