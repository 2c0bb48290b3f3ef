package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configauth"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	agent365exporter "github.com/agent365-otel/agent365exporter"
	"github.com/agent365-otel/agent365exporter/auth"
	"github.com/agent365-otel/agent365exporter/internal/sample"
	"github.com/agent365-otel/agent365exporter/internal/telemetrytest"
	"github.com/agent365-otel/agent365exporter/testbed/internal/sink"
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
	cfg     *agent365exporter.Config
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
	mutate func(*agent365exporter.Config)
	// storage, when set, is the directory of the sending queue's
	// file_storage extension.
	storage string
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
	if o.storage != "" {
		host.ext[fileStorageID] = newFileStorage(t, o.storage)
	}
	require.NoError(t, ext.Start(context.Background(), host))
	t.Cleanup(func() { require.NoError(t, ext.Shutdown(context.Background())) })

	cfg := agent365exporter.NewFactory().CreateDefaultConfig().(*agent365exporter.Config)
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
	if o.storage != "" {
		q := cfg.QueueConfig.GetOrInsertDefault()
		q.StorageID = &fileStorageID
	}
	if o.mutate != nil {
		o.mutate(cfg)
	}
	require.NoError(t, cfg.Validate())
	r.cfg, r.host = cfg, host

	h := &harness{tel: componenttest.NewTelemetry()}
	core2, logs2 := observer.New(zapcore.InfoLevel)
	h.logs = logs2
	eset := exportertest.NewNopSettings(exporterType)
	eset.TelemetrySettings = h.tel.NewTelemetrySettings()
	eset.Logger = zap.New(core2)
	r.id = eset.ID
	exp, err := agent365exporter.NewFactory().CreateTraces(context.Background(), eset, cfg)
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
	r.sendTraces(t, sample.Traces(agents, turns, start, sample.Options{}))
}

// sendTraces pushes td, remembering its spans for the ledger.
func (r *faultRig) sendTraces(t *testing.T, td ptrace.Traces) {
	t.Helper()
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
	for reason, n := range r.exp.droppedByReason(t) {
		if admissionReasons[reason] {
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

var exporterType = agent365exporter.NewFactory().Type()

var turnStart = time.Unix(1732465014, 0)

// admissionReasons are the drop reasons decided before the sending queue.
var admissionReasons = map[string]bool{
	"missing_operation": true, "unsupported_operation": true, "missing_tenant_id": true, "missing_agent_id": true,
	"invalid_tenant_id": true, "invalid_agent_id": true, "tenant_not_allowed": true, "agent_not_allowed": true,
	"missing_required_attributes": true, "missing_trace_or_span_id": true,
}

type testHost struct {
	component.Host
	ext map[component.ID]component.Component
}

func (h testHost) GetExtensions() map[component.ID]component.Component { return h.ext }

var fileStorageID = component.MustNewID("file_storage")

// newFileStorage is a started file_storage extension in dir.
func newFileStorage(t *testing.T, dir string) extension.Extension {
	t.Helper()
	f := filestorage.NewFactory()
	cfg := f.CreateDefaultConfig().(*filestorage.Config)
	cfg.Directory = dir
	ext, err := f.Create(context.Background(), extension.Settings{ID: fileStorageID, TelemetrySettings: componenttest.NewNopTelemetrySettings(),
		BuildInfo: component.NewDefaultBuildInfo()}, cfg)
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, ext.Shutdown(context.Background())) })
	return ext
}

// harness is a started exporter with its telemetry and logs.
type harness struct {
	exp  exporter.Traces
	tel  *componenttest.Telemetry
	logs *observer.ObservedLogs
}

// counter sums the data points of an int counter whose attributes include attrs.
func (h *harness) counter(t *testing.T, name string, attrs ...attribute.KeyValue) int64 {
	t.Helper()
	return telemetrytest.Counter(t, h.tel, name, attrs...)
}

// dropped counts spans dropped for reason, or for any reason when it is "".
func (h *harness) dropped(t *testing.T, reason string) int64 {
	if reason == "" {
		return h.counter(t, "otelcol_exporter_agent365_dropped_spans")
	}
	return h.counter(t, "otelcol_exporter_agent365_dropped_spans", attribute.String("reason", reason))
}

// droppedByReason reads every reason's count.
func (h *harness) droppedByReason(t *testing.T) map[string]int64 {
	t.Helper()
	return telemetrytest.CounterBy(t, h.tel, "otelcol_exporter_agent365_dropped_spans", "reason")
}

// gauge reads an int gauge (0 when it has no data point).
func (h *harness) gauge(t *testing.T, name string) int64 {
	t.Helper()
	return telemetrytest.Gauge(t, h.tel, name)
}
