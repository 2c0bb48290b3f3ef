package agent365exporter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configauth"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/agent365-otel/agent365exporter/auth"
	"github.com/agent365-otel/agent365exporter/internal/metadata"
	"github.com/agent365-otel/agent365exporter/internal/sample"
	"github.com/agent365-otel/agent365exporter/internal/sink"
)

// fakeEntra issues tokens tok-1, tok-2, ... on the client credentials
// flow; failFirst token requests fail with 503 first.
type fakeEntra struct {
	*httptest.Server
	mu        sync.Mutex
	requests  int
	failFirst int
}

func newFakeEntra(t *testing.T, failFirst int) *fakeEntra {
	f := &fakeEntra{failFirst: failFirst}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tenant := strings.Split(strings.Trim(r.URL.Path, "/"), "/")[0]
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasSuffix(r.URL.Path, "/v2.0/.well-known/openid-configuration"):
			base := "https://" + r.Host + "/" + tenant
			_ = json.NewEncoder(w).Encode(map[string]string{
				"authorization_endpoint": base + "/oauth2/v2.0/authorize", "token_endpoint": base + "/oauth2/v2.0/token", "issuer": base + "/v2.0",
			})
		case strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token"):
			f.mu.Lock()
			f.requests++
			n, fail := f.requests, f.requests <= f.failFirst
			f.mu.Unlock()
			if fail {
				w.WriteHeader(http.StatusServiceUnavailable)
				_, _ = fmt.Fprint(w, `{"error":"temporarily_unavailable","error_description":"AADSTS50196: The server terminated an operation because it encountered a client request loop."}`)
				return
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"token_type": "Bearer", "expires_in": 3600, "access_token": fmt.Sprintf("tok-%d", n)})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeEntra) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests
}

// faultRig is the exporter with the real agent365auth extension, the queue
// and retry, sending to a365sink's handler.
type faultRig struct {
	id      component.ID
	cfg     *Config
	host    testHost
	sink    *sink.Server
	srv     *httptest.Server
	exp     *harness
	sent    map[string]bool
	entra   *fakeEntra
	authLog *observer.ObservedLogs

	mu       sync.Mutex
	arrivals []time.Time // of every request at the sink
}

type rigOptions struct {
	sinkCfg   sink.Config
	timeout   time.Duration
	entra     bool // client_credentials against a fake Entra instead of a static token
	entraFail int
	// mutate changes the exporter's configuration after the rig's defaults.
	mutate func(*Config)
	// storage, when set, is the sending queue's storage extension.
	storage *memStorage
}

var agent365AuthID = component.MustNewID("agent365auth")

func newFaultRig(t *testing.T, o rigOptions) *faultRig {
	t.Helper()
	o.sinkCfg.KeepRecords = true
	r := &faultRig{sink: sink.New(o.sinkCfg), sent: map[string]bool{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.arrivals = append(r.arrivals, time.Now())
		r.mu.Unlock()
		r.sink.ServeHTTP(w, req)
	}))
	t.Cleanup(func() {
		r.sink.Close()
		r.srv.Close()
	})

	authCfg := auth.NewFactory().CreateDefaultConfig().(*auth.Config)
	if o.entra {
		r.entra = newFakeEntra(t, o.entraFail)
		authCfg.Authority = r.entra.URL
		authCfg.ClientCredentials = &auth.ClientCredentialsConfig{CredentialConfig: auth.CredentialConfig{ClientID: "app-1", ClientSecret: "s3cret-value"}}
	} else {
		authCfg.Static = &auth.StaticConfig{Token: configopaque.String("static-token-1234")}
	}
	require.NoError(t, authCfg.Validate())
	core, logs := observer.New(zapcore.DebugLevel)
	r.authLog = logs
	set := extension.Settings{ID: agent365AuthID, TelemetrySettings: componenttest.NewNopTelemetrySettings(), BuildInfo: component.NewDefaultBuildInfo()}
	set.Logger = zap.New(core)
	ext, err := auth.NewFactory().Create(context.Background(), set, authCfg)
	require.NoError(t, err)
	host := testHost{Host: componenttest.NewNopHost(), ext: map[component.ID]component.Component{agent365AuthID: ext}}
	if o.storage != nil {
		host.ext[memStorageID] = o.storage
	}
	require.NoError(t, ext.Start(context.Background(), host))
	t.Cleanup(func() { require.NoError(t, ext.Shutdown(context.Background())) })

	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.ClientConfig.Endpoint = r.srv.URL
	cfg.ClientConfig.Auth = configoptional.Some(configauth.Config{AuthenticatorID: agent365AuthID})
	cfg.ClientConfig.Timeout = 5 * time.Second
	if o.timeout > 0 {
		cfg.ClientConfig.Timeout = o.timeout
	}
	cfg.QueueConfig = configoptional.Some(exporterhelper.NewDefaultQueueConfig())
	cfg.RetryConfig.InitialInterval = 20 * time.Millisecond
	cfg.RetryConfig.MaxInterval = 100 * time.Millisecond
	cfg.RetryConfig.MaxElapsedTime = time.Minute
	if o.storage != nil {
		q := cfg.QueueConfig.GetOrInsertDefault()
		q.StorageID = &memStorageID
	}
	if o.mutate != nil {
		o.mutate(cfg)
	}
	require.NoError(t, cfg.Validate())
	r.cfg, r.host = cfg, host

	h := &harness{tel: componenttest.NewTelemetry()}
	core2, logs2 := observer.New(zapcore.InfoLevel)
	h.logs = logs2
	eset := exportertest.NewNopSettings(metadata.Type)
	eset.TelemetrySettings = h.tel.NewTelemetrySettings()
	eset.Logger = zap.New(core2)
	r.id = eset.ID
	exp, err := NewFactory().CreateTraces(context.Background(), eset, cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), host))
	t.Cleanup(func() {
		require.NoError(t, exp.Shutdown(context.Background()))
		require.NoError(t, h.tel.Shutdown(context.Background()))
	})
	h.exp = exp
	r.exp = h
	return r
}

// send pushes realistic spans of all three sample agents.
func (r *faultRig) send(t *testing.T, turns int, start time.Time) {
	t.Helper()
	r.sendAgents(t, sample.DefaultAgents, turns, start)
}

// sendAgents pushes turns of the given agents.
func (r *faultRig) sendAgents(t *testing.T, agents []sample.Agent, turns int, start time.Time) {
	t.Helper()
	td := sample.Traces(agents, turns, start, sample.Options{})
	for id := range spanIDs(td) {
		r.sent[id] = true
	}
	require.NoError(t, r.exp.exp.ConsumeTraces(context.Background(), td))
}

func spanIDs(td ptrace.Traces) map[string]bool {
	ids := map[string]bool{}
	for i := 0; i < td.ResourceSpans().Len(); i++ {
		ss := td.ResourceSpans().At(i).ScopeSpans()
		for j := 0; j < ss.Len(); j++ {
			for k := 0; k < ss.At(j).Spans().Len(); k++ {
				id := ss.At(j).Spans().At(k).SpanID()
				ids[fmt.Sprintf("%x", id[:])] = true
			}
		}
	}
	return ids
}

// ledger waits until every sent span is delivered or dropped with a
// counted reason, and checks that none was delivered twice.
func (r *faultRig) ledger(t *testing.T) (delivered, dropped int) {
	t.Helper()
	deliveredIDs := func() (map[string]int, int) {
		ids := map[string]int{}
		recs := r.sink.Records()
		for _, rec := range recs {
			var s struct {
				SpanID string `json:"spanId"`
			}
			require.NoError(t, json.Unmarshal(rec.Span, &s))
			ids[s.SpanID]++
		}
		return ids, len(recs)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		ids, _ := deliveredIDs()
		dropped = int(r.exp.counter(t, "otelcol_exporter_agent365_dropped_spans"))
		if len(ids)+dropped >= len(r.sent) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // a late duplicate would show now
	ids, records := deliveredIDs()
	dropped = int(r.exp.counter(t, "otelcol_exporter_agent365_dropped_spans"))
	for id, n := range ids {
		assert.True(t, r.sent[id], "span %s was never sent", id)
		assert.Equal(t, 1, n, "span %s delivered %d times", id, n)
	}
	assert.Equal(t, len(ids), records, "no span delivered twice")
	assert.Equal(t, len(r.sent), len(ids)+dropped, "sent = delivered + dropped (delivered %d, dropped %d)", len(ids), dropped)
	r.assertStandardLedger(t, len(ids))
	return len(ids), dropped
}

// assertStandardLedger checks that exporterhelper's own counters agree with
// the exporter's and with what the service received: spans dropped at
// admission never reach exporterhelper; every span it counts as sent was
// delivered, is held, or was dropped on the service's answer.
func (r *faultRig) assertStandardLedger(t *testing.T, received int) {
	t.Helper()
	sent := r.exp.counter(t, "otelcol_exporter_sent_spans")
	failed := r.exp.counter(t, "otelcol_exporter_send_failed_spans")
	delivered := r.exp.counter(t, "otelcol_exporter_agent365_delivered_spans")
	held := r.exp.gauge(t, "otelcol_exporter_agent365_held_spans")
	var atAdmission, afterwards int64
	for reason := range numDropReasons {
		n := r.exp.dropped(t, reason.String())
		if reason.atAdmission() {
			atAdmission += n
		} else {
			afterwards += n
		}
	}
	assert.Equal(t, int64(received), delivered, "delivered_spans is what the service received")
	assert.Equal(t, int64(len(r.sent)), sent+failed+atAdmission, "consumed = sent + send_failed + dropped at admission")
	assert.Equal(t, sent, delivered+afterwards+held, "sent = delivered + dropped after admission + held")
	assert.Zero(t, failed, "every span taken from the queue is settled by the exporter")
}

func (r *faultRig) fault(t *testing.T, f sink.Fault) {
	t.Helper()
	require.NoError(t, r.sink.AddFault(f))
}

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

// heldStorageName is the storage client that holds the exporter's held spans.
func (r *faultRig) heldStorageName() string {
	return component.KindExporter.String() + "/" + r.id.String() + "/agent365_held"
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
	r := newFaultRig(t, rigOptions{mutate: func(cfg *Config) {
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
	r := newFaultRig(t, rigOptions{mutate: func(cfg *Config) {
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
	r := newFaultRig(t, rigOptions{mutate: func(cfg *Config) {
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
	store := newMemStorage()
	agent := sample.DefaultAgents[0]
	r := newFaultRig(t, rigOptions{storage: store})
	r.fault(t, sink.Fault{Status: 429, Times: 1, RetryAfter: "1", Agent: agent.AgentID})
	r.sendAgents(t, []sample.Agent{agent}, 1, turnStart)
	require.Eventually(t, func() bool { return r.exp.gauge(t, "otelcol_exporter_agent365_held_spans") == 4 }, 10*time.Second, 10*time.Millisecond)
	// SIGTERM: the held spans stay in the queue's storage.
	require.NoError(t, r.exp.exp.Shutdown(context.Background()))
	assert.Zero(t, r.exp.dropped(t, ""))
	assert.NotEmpty(t, store.keys(r.heldStorageName()))
	assert.Zero(t, r.deliveredFor(agent.AgentID))

	// The next start sends them once the Retry-After is over, once.
	set := exportertest.NewNopSettings(metadata.Type)
	set.ID = r.id // the same exporter, restarted
	exp, err := NewFactory().CreateTraces(context.Background(), set, r.cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), r.host))
	defer func() { require.NoError(t, exp.Shutdown(context.Background())) }()
	require.Eventually(t, func() bool { return r.deliveredFor(agent.AgentID) == 4 }, 10*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool { return len(store.keys(r.heldStorageName())) == 0 }, 5*time.Second, 10*time.Millisecond)
	time.Sleep(200 * time.Millisecond)
	assert.Equal(t, 4, r.deliveredFor(agent.AgentID), "delivered once")
}

func TestFaultsLedgerReconcilesInStandardMetrics(t *testing.T) {
	r := newFaultRig(t, rigOptions{})
	// 300 delivered, 100 throttled then delivered, 100 forbidden, and spans
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

func TestTokenFailureHasItsOwnOutcome(t *testing.T) {
	svc := newFakeService(t)
	h := newHarnessWithAuth(t, svc.URL, &testAuth{token: token, transport: roundTripperFunc(func(*http.Request) (*http.Response, error) {
		t.Fatal("nothing is sent without a token")
		return nil, nil
	})}, nil)
	h.auth.fail = errors.New("AADSTS7000215: Invalid client secret provided")
	require.NoError(t, h.exp.ConsumeTraces(context.Background(), newTraces().span("a", "chat", tenantA, agent1, nil).build()))
	assert.Equal(t, int64(1), h.counter(t, "otelcol_exporter_agent365_requests", attribute.String("outcome", "token_error"), attribute.String("status_class", "none")))
	assert.Zero(t, h.counter(t, "otelcol_exporter_agent365_requests", attribute.String("outcome", "retryable_error")))
	assert.Equal(t, int64(1), h.dropped(t, "retry_disabled"))
	_, err := h.tel.GetMetric("otelcol_exporter_agent365_request_size")
	assert.Error(t, err, "no request body went out")
}
