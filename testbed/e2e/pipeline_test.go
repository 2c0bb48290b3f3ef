package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/agent365-otel/agent365exporter/internal/sample"
)

const sinkToken = "e2e-token-5d1c"

// stack is a365sink and otelcol-agent365 running with a collector config.
type stack struct {
	sinkPort, grpcPort, httpPort, healthPort int
	outFile                                  string
	sink, collector                          *process
	env                                      []string
}

// startSink starts a365sink on its port, recording to s.outFile.
func (s *stack) startSink(t *testing.T, extra ...string) {
	args := append([]string{"-listen", "127.0.0.1:" + itoa(s.sinkPort), "-token", sinkToken, "-out", s.outFile, "-quiet"}, extra...)
	s.sink = start(t, nil, bin("a365sink"), args...)
	waitHTTP(t, "http://127.0.0.1:"+itoa(s.sinkPort)+"/_sink/healthz", s.sink)
}

func (s *stack) startCollector(t *testing.T, config string) {
	s.collector = start(t, s.env, bin("otelcol-agent365"), "--config", config)
	waitHTTP(t, "http://127.0.0.1:"+itoa(s.healthPort)+"/", s.collector)
}

func newStack(t *testing.T, extraEnv map[string]string) *stack {
	s := &stack{
		sinkPort: freePort(t), grpcPort: freePort(t), httpPort: freePort(t), healthPort: freePort(t),
		outFile: filepath.Join(t.TempDir(), "received.jsonl"),
	}
	env := map[string]string{
		"A365_TOKEN": sinkToken, "SINK_PORT": itoa(s.sinkPort), "OTLP_GRPC_PORT": itoa(s.grpcPort),
		"OTLP_HTTP_PORT": itoa(s.httpPort), "HEALTH_PORT": itoa(s.healthPort), "METRICS_PORT": itoa(freePort(t)),
	}
	for k, v := range extraEnv {
		env[k] = v
	}
	s.env = envList(env)
	return s
}

// received is a span as a365sink recorded it.
type received struct {
	Route    string         `json:"route"`
	TenantID string         `json:"tenant_id"`
	AgentID  string         `json:"agent_id"`
	Resource map[string]any `json:"resource"`
	Span     struct {
		TraceID           string         `json:"traceId"`
		SpanID            string         `json:"spanId"`
		ParentSpanID      string         `json:"parentSpanId"`
		Name              string         `json:"name"`
		Kind              string         `json:"kind"`
		StartTimeUnixNano uint64         `json:"startTimeUnixNano"`
		EndTimeUnixNano   uint64         `json:"endTimeUnixNano"`
		Attributes        map[string]any `json:"attributes"`
	} `json:"span"`
}

func readReceived(t *testing.T, path string) []received {
	t.Helper()
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(t, err)
	var out []received
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var r received
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r), "line %q", sc.Text())
		out = append(out, r)
	}
	return out
}

// expectedSpan is what a sent span must look like at the sink.
type expectedSpan struct {
	tenant, agent, name, parent, kind string
	start, end                        uint64
	attrs                             map[string]any
}

// expected indexes sent spans by span id.
func expected(t *testing.T, tds ...ptrace.Traces) map[string]expectedSpan {
	out := map[string]expectedSpan{}
	for _, td := range tds {
		for i := 0; i < td.ResourceSpans().Len(); i++ {
			ss := td.ResourceSpans().At(i).ScopeSpans()
			for j := 0; j < ss.Len(); j++ {
				spans := ss.At(j).Spans()
				for k := 0; k < spans.Len(); k++ {
					s := spans.At(k)
					raw, err := json.Marshal(s.Attributes().AsRaw())
					require.NoError(t, err)
					var attrs map[string]any
					require.NoError(t, json.Unmarshal(raw, &attrs))
					tenant, _ := s.Attributes().Get("microsoft.tenant.id")
					agent, _ := s.Attributes().Get("gen_ai.agent.id")
					parent := ""
					if !s.ParentSpanID().IsEmpty() {
						parent = hexOf(s.ParentSpanID())
					}
					out[hexOf(s.SpanID())] = expectedSpan{
						tenant: tenant.Str(), agent: agent.Str(), name: s.Name(), parent: parent,
						kind: strings.ToUpper(s.Kind().String()), start: uint64(s.StartTimestamp()), end: uint64(s.EndTimestamp()), attrs: attrs,
					}
				}
			}
		}
	}
	return out
}

func hexOf[T ~[8]byte](id T) string { return hex.EncodeToString(id[:]) }

// TestOTLPInExactSpansOut: spans sent over OTLP/gRPC and OTLP/HTTP arrive at
// the Agent 365 stand-in exactly, each under its own tenant and agent.
func TestOTLPInExactSpansOut(t *testing.T) {
	s := newStack(t, nil)
	s.startSink(t)
	s.startCollector(t, filepath.Join(root, "examples", "local.yaml"))

	start := time.Unix(1732465014, 17403000)
	viaGRPC := sample.Traces(sample.DefaultAgents, 9, start, sample.Options{})
	viaHTTP := sample.Traces(sample.DefaultAgents[1:], 4, start.Add(time.Hour), sample.Options{MessageBytes: 3000})
	want := expected(t, viaGRPC, viaHTTP)
	require.Len(t, want, 52)

	sendGRPC(t, s.grpcPort, viaGRPC)
	sendHTTP(t, s.httpPort, viaHTTP)

	var got []received
	eventually(t, 30*time.Second, func() bool {
		got = readReceived(t, s.outFile)
		return len(got) >= len(want)
	}, "the sink received %d of %d spans", len(got), len(want))
	time.Sleep(300 * time.Millisecond) // nothing more may arrive
	got = readReceived(t, s.outFile)
	require.Len(t, got, len(want), "every span exactly once")

	for _, r := range got {
		w, ok := want[r.Span.SpanID]
		require.True(t, ok, "unexpected span %s", r.Span.SpanID)
		assert.Equal(t, "observabilityService", r.Route, "service-to-service by default")
		assert.Equal(t, w.tenant, r.TenantID, "span %s under another tenant", w.name)
		assert.Equal(t, w.agent, r.AgentID, "span %s under another agent", w.name)
		assert.Equal(t, w.name, r.Span.Name)
		assert.Equal(t, w.parent, r.Span.ParentSpanID)
		assert.Equal(t, w.kind, r.Span.Kind)
		assert.Equal(t, w.start, r.Span.StartTimeUnixNano)
		assert.Equal(t, w.end, r.Span.EndTimeUnixNano)
		assert.Equal(t, w.attrs, r.Span.Attributes, "attributes of %s", w.name)
		assert.Equal(t, "contoso.agents", r.Resource["service.namespace"])
	}
}

func sendGRPC(t *testing.T, port int, td ptrace.Traces) {
	t.Helper()
	conn, err := grpc.NewClient("127.0.0.1:"+itoa(port), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = ptraceotlp.NewGRPCClient(conn).Export(ctx, ptraceotlp.NewExportRequestFromTraces(td))
	require.NoError(t, err)
}

func sendHTTP(t *testing.T, port int, td ptrace.Traces) {
	t.Helper()
	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	require.NoError(t, err)
	resp, err := http.Post("http://127.0.0.1:"+itoa(port)+"/v1/traces", "application/x-protobuf", bytes.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

// TestLegacyInstrumentationUpgraded: spans written with the 2025 attribute
// names (tenant.id, gen_ai.caller.id, ...) go through the collector and
// arrive under the current names, routed by the legacy tenant key.
func TestLegacyInstrumentationUpgraded(t *testing.T) {
	s := newStack(t, nil)
	s.startSink(t)
	s.startCollector(t, filepath.Join(root, "examples", "local.yaml"))

	td := sample.Traces(sample.DefaultAgents, 3, time.Unix(1732465014, 0), sample.Options{Legacy: true})
	_, hasCurrent := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().Get("microsoft.tenant.id")
	require.False(t, hasCurrent, "the input has only the legacy tenant key")
	sendGRPC(t, s.grpcPort, td)

	var got []received
	eventually(t, 30*time.Second, func() bool {
		got = readReceived(t, s.outFile)
		return len(got) >= 12
	}, "the sink received %d of 12 spans", len(got))
	for _, r := range got {
		a := r.Span.Attributes
		assert.Equal(t, r.TenantID, a["microsoft.tenant.id"], "routed by the legacy tenant key")
		for _, legacy := range []string{"tenant.id", "session.id", "gen_ai.agent.applicationid", "gen_ai.agent.user.id", "gen_ai.agent.upn",
			"gen_ai.caller.id", "gen_ai.caller.name", "gen_ai.caller.upn", "gen_ai.caller.client.ip", "gen_ai.channel.name", "gen_ai.tool.arguments", "gen_ai.event.content"} {
			assert.NotContains(t, a, legacy)
		}
		assert.Equal(t, "msteams", a["microsoft.channel.name"])
		assert.Contains(t, a, "microsoft.a365.agent.blueprint.id")
	}
	report, err := http.Get("http://127.0.0.1:" + itoa(s.sinkPort) + "/_sink/report.txt")
	require.NoError(t, err)
	defer report.Body.Close()
	text, _ := io.ReadAll(report.Body)
	assert.NotContains(t, string(text), "missing:", "upgraded spans carry every required attribute:\n%s", text)
	assert.NotContains(t, string(text), "legacy", "no legacy names reach the service")
}
