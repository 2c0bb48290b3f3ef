package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agent365-otel/agent365exporter/internal/sample"
)

// gateStack is a stack running testdata/gate.yaml, whose metrics it reads.
type gateStack struct {
	*stack
	metricsPort int
	config      string
}

func newGateStack(t *testing.T) *gateStack {
	metricsPort := freePort(t)
	s := newStack(t, map[string]string{"STORAGE_DIR": t.TempDir(), "METRICS_PORT": itoa(metricsPort)})
	g := &gateStack{stack: s, metricsPort: metricsPort, config: filepath.Join(root, "testbed", "e2e", "testdata", "gate.yaml")}
	s.startSink(t)
	s.startCollector(t, g.config)
	return g
}

// fault queues a365sink faults through its control API.
func (g *gateStack) fault(t *testing.T, faults ...map[string]any) {
	t.Helper()
	body, err := json.Marshal(faults)
	require.NoError(t, err)
	resp, err := http.Post("http://127.0.0.1:"+itoa(g.sinkPort)+"/_sink/faults", "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Less(t, resp.StatusCode, 300)
}

// sinkRequests is how many trace requests a365sink answered.
func (g *gateStack) sinkRequests(t *testing.T) int64 {
	t.Helper()
	resp, err := http.Get("http://127.0.0.1:" + itoa(g.sinkPort) + "/_sink/stats")
	require.NoError(t, err)
	defer resp.Body.Close()
	var st struct {
		Requests int64 `json:"requests"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&st))
	return st.Requests
}

// metric reads one of the collector's own metrics (summed over its series).
func (g *gateStack) metric(t *testing.T, name string) float64 {
	t.Helper()
	resp, err := http.Get("http://127.0.0.1:" + itoa(g.metricsPort) + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	total := -1.0
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err == nil {
			total = max(total, 0) + v
		}
	}
	return total
}

// deliveredFor counts the spans a365sink recorded for agent, and the most
// times one span was recorded.
func (g *gateStack) deliveredFor(t *testing.T, agent string) (spans, most int) {
	seen := map[string]int{}
	for _, r := range readReceived(t, g.outFile) {
		if r.AgentID == agent {
			spans++
			seen[r.Span.SpanID]++
			most = max(most, seen[r.Span.SpanID])
		}
	}
	return spans, most
}

var throttled = []sample.Agent{
	{TenantID: "11111111-0000-0000-0000-000000000001", AgentID: "aaaaaaaa-0000-0000-0000-000000000001", Name: "Throttled One"},
	{TenantID: "11111111-0000-0000-0000-000000000001", AgentID: "aaaaaaaa-0000-0000-0000-000000000002", Name: "Throttled Two"},
	{TenantID: "11111111-0000-0000-0000-000000000002", AgentID: "aaaaaaaa-0000-0000-0000-000000000003", Name: "Throttled Three"},
}

// TestGateThrottledAgentsDoNotHoldUpOthers: the binary with a persistent
// queue of two consumers; three agents answered 429 with an hour to wait;
// a fourth, healthy agent's spans sent afterwards still arrive at once.
func TestGateThrottledAgentsDoNotHoldUpOthers(t *testing.T) {
	g := newGateStack(t)
	for _, a := range throttled {
		g.fault(t, map[string]any{"status": 429, "retry_after": "3600", "agent": a.AgentID})
	}
	start := time.Unix(1732465014, 0)
	for _, a := range throttled {
		sendGRPC(t, g.grpcPort, sample.Traces([]sample.Agent{a}, 1, start, sample.Options{}))
	}
	eventually(t, 20*time.Second, func() bool { return g.sinkRequests(t) >= 3 }, "the throttled agents were never tried")

	healthy := sample.DefaultAgents[0]
	sendGRPC(t, g.grpcPort, sample.Traces([]sample.Agent{healthy}, 1, start, sample.Options{}))
	eventually(t, 10*time.Second, func() bool { n, _ := g.deliveredFor(t, healthy.AgentID); return n == 4 },
		"the healthy agent's spans waited behind the throttled ones:\n%s", g.collector.out.String())
	eventually(t, 10*time.Second, func() bool {
		return g.metric(t, "otelcol_exporter_agent365_held_spans") == 12 &&
			g.metric(t, "otelcol_exporter_agent365_gated_identities") == 3
	}, "held %v spans of %v identities", g.metric(t, "otelcol_exporter_agent365_held_spans"), g.metric(t, "otelcol_exporter_agent365_gated_identities"))
	assert.Equal(t, int64(4), g.sinkRequests(t), "no throttled agent was asked again before its Retry-After")
}

// TestGateHeldSpansSurviveRestart: spans held for a throttled agent stay
// in the queue's storage across SIGTERM, and the restarted collector sends
// them, once, when the wait is over.
func TestGateHeldSpansSurviveRestart(t *testing.T) {
	g := newGateStack(t)
	agent := sample.DefaultAgents[1]
	g.fault(t, map[string]any{"status": 429, "retry_after": "3", "agent": agent.AgentID, "times": 1})
	sendGRPC(t, g.grpcPort, sample.Traces([]sample.Agent{agent}, 2, time.Unix(1732465014, 0), sample.Options{}))
	eventually(t, 20*time.Second, func() bool { return g.metric(t, "otelcol_exporter_agent365_held_spans") == 8 },
		"the spans were not held:\n%s", g.collector.out.String())

	g.collector.stop(t, syscall.SIGTERM)
	assert.Contains(t, g.collector.out.String(), "Held spans stay in the sending queue's storage")
	n, _ := g.deliveredFor(t, agent.AgentID)
	require.Zero(t, n)

	g.startCollector(t, g.config)
	assert.Contains(t, g.collector.out.String(), "Held spans read back")
	eventually(t, 20*time.Second, func() bool { n, _ := g.deliveredFor(t, agent.AgentID); return n == 8 },
		"the held spans were not sent after the restart:\n%s", g.collector.out.String())
	time.Sleep(500 * time.Millisecond)
	n, most := g.deliveredFor(t, agent.AgentID)
	assert.Equal(t, 8, n)
	assert.Equal(t, 1, most, "each span once")
}
