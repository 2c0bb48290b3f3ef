package e2e

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The receiver's end-to-end tests run an agent instrumented with
// Microsoft's Agent 365 SDK for Node.js (testbed/e2e/sdkagent, the SDK pinned in its
// package-lock.json) twice with the same inputs: once pointed at the
// collector's agent365 receiver, whose agent365 exporter sends to one
// a365sink, and once straight at a second a365sink, as the SDK runs
// without a collector. Both sinks must record the same spans.

// The agent and the collector configuration sit next to this file, in the
// package directory (where go test runs).
var sdkAgentDir, sdkCollectorConfig = func() (string, string) {
	wd, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	return filepath.Join(wd, "sdkagent"), filepath.Join(wd, "testdata", "receiver-sdk.yaml")
}()

// sdkToken is what the agent's token resolver returns: JWT-shaped, with
// the delegated scope the SDK's standard route takes. Both sinks accept
// only it, so spans that arrive through the collector came with the
// agent's own token (agent365auth from_context).
var sdkToken = func() string {
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			panic(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(map[string]string{"alg": "none", "typ": "JWT"}) + "." +
		enc(map[string]any{"aud": "api://9b975845-388f-4429-889e-eab1ef63949c", "scp": "Agent365.Observability.OtelWrite", "exp": 4102444800}) +
		"." + base64.RawURLEncoding.EncodeToString([]byte("e2e"))
}()

var sdkAgentInstall struct {
	once sync.Once
	err  error
	out  []byte
}

// requireSDKAgent fails the test (never skips it) when Node.js is missing,
// and installs the agent's packages (make sdkagent: npm ci from the lock
// file, a no-op when they are up to date).
func requireSDKAgent(t *testing.T) {
	t.Helper()
	node, err := exec.LookPath("node")
	require.NoError(t, err, "node not found: the agent365 receiver's end-to-end tests run Microsoft's Agent 365 SDK for Node.js; install Node.js 20 or later, with npm")
	out, err := exec.Command(node, "--version").Output()
	require.NoError(t, err)
	major, err := strconv.Atoi(strings.SplitN(strings.TrimPrefix(strings.TrimSpace(string(out)), "v"), ".", 2)[0])
	require.NoError(t, err, "node --version: %q", out)
	require.GreaterOrEqual(t, major, 20, "the Agent 365 SDK needs Node.js 20 or later; found %s", out)
	sdkAgentInstall.once.Do(func() {
		sdkAgentInstall.out, sdkAgentInstall.err = exec.Command("make", "-C", root, "sdkagent").CombinedOutput()
	})
	require.NoError(t, sdkAgentInstall.err, "make sdkagent (npm ci in %s) failed:\n%s", sdkAgentDir, sdkAgentInstall.out)
	_, err = os.Stat(filepath.Join(sdkAgentDir, "node_modules", "@microsoft", "agents-a365-observability", "package.json"))
	require.NoError(t, err, "make sdkagent did not install the Agent 365 SDK in %s (the Makefile's SDKAGENT must name this directory)", sdkAgentDir)
}

// sdkRun is what one run of the agent reported: the spans it created that
// the SDK exports, those the SDK filters out, and the error of the SDK's
// final export (null when the SDK delivered everything).
type sdkRun struct {
	Exported    []string `json:"exported"`
	Filtered    []string `json:"filtered"`
	ExportError *string  `json:"exportError"`
}

// runSDKAgent runs the agent with A365_OBSERVABILITY_DOMAIN_OVERRIDE=base
// and waits until it exits: its last step, the SDK's shutdown, ends the
// export with the SDK's retries.
func runSDKAgent(t *testing.T, base string) sdkRun {
	t.Helper()
	env := []string{
		"A365_OBSERVABILITY_DOMAIN_OVERRIDE=" + base,
		"ENABLE_A365_OBSERVABILITY_EXPORTER=true",
		"A365_OBSERVABILITY_LOG_LEVEL=warn|error",
		"SDKAGENT_TOKEN=" + sdkToken,
		// The same resource in every run, whatever the environment holds.
		"OTEL_RESOURCE_ATTRIBUTES=deployment.environment.name=e2e",
		"OTEL_SDK_DISABLED=false",
		"OTEL_TRACES_SAMPLER=parentbased_always_on",
	}
	p := start(t, env, "node", filepath.Join(sdkAgentDir, "agent.js"))
	select {
	case <-p.done:
	case <-time.After(2 * time.Minute):
		t.Fatalf("the SDK agent did not exit within 2 minutes:\n%s", p.out.String())
	}
	require.NoError(t, p.err, "the SDK agent failed:\n%s", p.out.String())
	var run sdkRun
	for _, line := range strings.Split(p.out.String(), "\n") {
		if strings.HasPrefix(line, `{"exported":`) {
			require.NoError(t, json.Unmarshal([]byte(line), &run))
		}
	}
	require.NotEmpty(t, run.Exported, "the SDK agent printed no summary:\n%s", p.out.String())
	return run
}

// sdkStack is two a365sinks and the collector in front of the first.
type sdkStack struct {
	viaCollector, direct     *sinkProc
	receiverPort, healthPort int
	collector                *process
}

type sinkProc struct {
	port int
	out  string
	proc *process
}

func (s *sinkProc) url() string { return "http://127.0.0.1:" + itoa(s.port) }

func startSDKSink(t *testing.T) *sinkProc {
	t.Helper()
	s := &sinkProc{port: freePort(t), out: filepath.Join(t.TempDir(), "received.jsonl")}
	s.proc = start(t, nil, bin("a365sink"), "-listen", "127.0.0.1:"+itoa(s.port), "-token", sdkToken, "-out", s.out, "-quiet")
	waitHTTP(t, s.url()+"/_sink/healthz", s.proc)
	return s
}

func startSDKStack(t *testing.T) *sdkStack {
	t.Helper()
	requireSDKAgent(t)
	s := &sdkStack{viaCollector: startSDKSink(t), direct: startSDKSink(t), receiverPort: freePort(t), healthPort: freePort(t)}
	env := envList(map[string]string{
		"SINK_PORT": itoa(s.viaCollector.port), "A365_RECEIVER_PORT": itoa(s.receiverPort), "HEALTH_PORT": itoa(s.healthPort),
	})
	s.collector = start(t, env, bin("otelcol-agent365"), "--config", sdkCollectorConfig)
	waitHTTP(t, "http://127.0.0.1:"+itoa(s.healthPort)+"/", s.collector)
	return s
}

func (s *sdkStack) receiverURL() string { return "http://127.0.0.1:" + itoa(s.receiverPort) }

// sdkRecord is a span as a365sink recorded it, the span as it came in.
type sdkRecord struct {
	Route    string          `json:"route"`
	TenantID string          `json:"tenant_id"`
	AgentID  string          `json:"agent_id"`
	Format   string          `json:"format"`
	Resource json.RawMessage `json:"resource"`
	Scope    json.RawMessage `json:"scope"`
	Span     json.RawMessage `json:"span"`
}

func (r sdkRecord) field(t *testing.T, name string) string {
	t.Helper()
	var span map[string]any
	require.NoError(t, json.Unmarshal(r.Span, &span))
	s, _ := span[name].(string)
	return s
}

func readSDKRecords(t *testing.T, path string) []sdkRecord {
	t.Helper()
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(t, err)
	var out []sdkRecord
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var r sdkRecord
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r))
		out = append(out, r)
	}
	return out
}

// waitRecords waits until the sink recorded n spans, then a moment more in
// which nothing else may arrive.
func waitRecords(t *testing.T, s *sinkProc, n int, within time.Duration) []sdkRecord {
	t.Helper()
	var got []sdkRecord
	eventually(t, within, func() bool {
		got = readSDKRecords(t, s.out)
		return len(got) >= n
	}, "the sink behind the collector recorded %s of %d spans", lenOf[sdkRecord]{&got}, n)
	time.Sleep(500 * time.Millisecond)
	got = readSDKRecords(t, s.out)
	require.Len(t, got, n, "every span exactly once")
	return got
}

// lenOf prints the length of a slice when the message is written, not
// when it is passed.
type lenOf[T any] struct{ s *[]T }

func (l lenOf[T]) String() string { return strconv.Itoa(len(*l.s)) }

// comparison is what compareRecords measured.
type comparison struct {
	spans, attributes, events, links int
	maxDelta                         uint64 // largest timestamp difference, ns
}

// maxTimeDelta is how far timestamps may differ: the SDK computes them in
// floating point, and prints the shortest decimal that reads back as the
// same double; a collector reads that decimal exactly. Both arrive as the
// same digits, but the tolerance is what the issue allows.
const maxTimeDelta = 1000 // ns

// compareRecords checks, field by field, that the spans that came through
// the collector are those the SDK sent directly. Span ids are the only
// values the two runs draw at random: they are compared through the names
// of the spans they point to.
func compareRecords(t *testing.T, viaCollector, direct []sdkRecord) comparison {
	t.Helper()
	a, b := byName(t, viaCollector), byName(t, direct)
	require.ElementsMatch(t, keys(b), keys(a), "the same spans on both sides")
	var c comparison
	for name, ra := range a {
		rb := b[name]
		assert.Equal(t, rb.Route, ra.Route, "%s: route", name)
		assert.Equal(t, rb.TenantID, ra.TenantID, "%s: tenant", name)
		assert.Equal(t, rb.AgentID, ra.AgentID, "%s: agent", name)
		assert.Equal(t, "a365", ra.Format, "%s: format", name)
		assert.JSONEq(t, string(rb.Scope), string(ra.Scope), "%s: scope", name)
		resA, resB := decodeJSON(t, ra.Resource).(map[string]any), decodeJSON(t, rb.Resource).(map[string]any)
		// The agent's process id is the one thing of the resource that
		// differs between two runs.
		for _, res := range []map[string]any{resA, resB} {
			require.Contains(t, res, "process.pid", name)
			delete(res, "process.pid")
		}
		assert.Equal(t, resB, resA, "%s: resource", name)

		spanA := normalizeSpan(decodeJSON(t, ra.Span).(map[string]any), spanNames(t, viaCollector))
		spanB := normalizeSpan(decodeJSON(t, rb.Span).(map[string]any), spanNames(t, direct))
		for _, key := range []string{"startTimeUnixNano", "endTimeUnixNano"} {
			c.maxDelta = max(c.maxDelta, timeDelta(t, name+" "+key, spanA[key], spanB[key]))
			delete(spanA, key)
			delete(spanB, key)
		}
		evA, _ := spanA["events"].([]any)
		evB, _ := spanB["events"].([]any)
		require.Len(t, evA, len(evB), "%s: events", name)
		for i := range evA {
			ea, eb := evA[i].(map[string]any), evB[i].(map[string]any)
			c.maxDelta = max(c.maxDelta, timeDelta(t, fmt.Sprintf("%s event %d", name, i), ea["timeUnixNano"], eb["timeUnixNano"]))
			delete(ea, "timeUnixNano")
			delete(eb, "timeUnixNano")
		}
		attrs, _ := spanA["attributes"].(map[string]any)
		attrsB, _ := spanB["attributes"].(map[string]any)
		for _, k := range union(attrs, attrsB) {
			assert.Equal(t, attrsB[k], attrs[k], "%s: attribute %s", name, k)
		}
		delete(spanA, "attributes")
		delete(spanB, "attributes")
		for _, k := range union(spanA, spanB) {
			assert.Equal(t, spanB[k], spanA[k], "%s: %s", name, k)
		}
		c.spans++
		c.attributes += len(attrs)
		c.events += len(evA)
		links, _ := spanA["links"].([]any)
		c.links += len(links)
	}
	return c
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// union is the keys of a and b, sorted.
func union(a, b map[string]any) []string {
	seen := map[string]any{}
	for k := range a {
		seen[k] = nil
	}
	for k := range b {
		seen[k] = nil
	}
	return keys(seen)
}

func byName(t *testing.T, recs []sdkRecord) map[string]sdkRecord {
	t.Helper()
	out := map[string]sdkRecord{}
	for _, r := range recs {
		name := r.field(t, "name")
		require.NotContains(t, out, name, "span names are unique in a run")
		out[name] = r
	}
	return out
}

// spanNames maps the span ids of a run to span names.
func spanNames(t *testing.T, recs []sdkRecord) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, r := range recs {
		out[r.field(t, "spanId")] = r.field(t, "name")
	}
	return out
}

// normalizeSpan replaces span ids by "span:<name>" where they point to a
// span of the run (parents outside the run, fixed by the agent, stay).
func normalizeSpan(span map[string]any, names map[string]string) map[string]any {
	id := func(v any) any {
		if s, ok := v.(string); ok {
			if name, ok := names[s]; ok {
				return "span:" + name
			}
		}
		return v
	}
	span["spanId"] = id(span["spanId"])
	if p, ok := span["parentSpanId"]; ok {
		span["parentSpanId"] = id(p)
	}
	links, _ := span["links"].([]any)
	for _, l := range links {
		lm := l.(map[string]any)
		lm["spanId"] = id(lm["spanId"])
	}
	return span
}

func timeDelta(t *testing.T, what string, a, b any) uint64 {
	t.Helper()
	ta, tb := unixNano(t, what, a), unixNano(t, what, b)
	d := ta - tb
	if tb > ta {
		d = tb - ta
	}
	assert.LessOrEqual(t, d, uint64(maxTimeDelta), "%s: %d via the collector, %d directly", what, ta, tb)
	return d
}

func unixNano(t *testing.T, what string, v any) uint64 {
	t.Helper()
	n, ok := v.(json.Number)
	require.True(t, ok, "%s: %v is not a JSON number", what, v)
	u, err := strconv.ParseUint(n.String(), 10, 64)
	require.NoError(t, err, "%s: an exact integer", what)
	return u
}

// decodeJSON keeps numbers as their text, so that 0.30000000000000004 and
// 9007199254740991 are compared digit for digit.
func decodeJSON(t *testing.T, raw []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	require.NoError(t, dec.Decode(&v))
	return v
}

// TestAgent365SDKThroughReceiver: an unchanged SDK agent, pointed at the
// receiver by A365_OBSERVABILITY_DOMAIN_OVERRIDE, gets every span it
// exports to Agent 365 (here a365sink) field for field as it would have
// sent it directly, under the same route, tenant and agent, with its own
// token; the spans the SDK filters out are on neither side.
func TestAgent365SDKThroughReceiver(t *testing.T) {
	s := startSDKStack(t)
	viaCollector := runSDKAgent(t, s.receiverURL())
	direct := runSDKAgent(t, s.direct.url())
	require.Equal(t, direct, viaCollector, "the agent created the same spans in both runs")
	require.Nil(t, direct.ExportError, "the SDK delivered everything")
	require.GreaterOrEqual(t, len(direct.Exported), 8)
	require.GreaterOrEqual(t, len(direct.Filtered), 3)

	gotDirect := readSDKRecords(t, s.direct.out)
	require.ElementsMatch(t, direct.Exported, namesOf(t, gotDirect), "the SDK alone delivered what it exports")
	gotCollector := waitRecords(t, s.viaCollector, len(direct.Exported), 30*time.Second)
	require.ElementsMatch(t, direct.Exported, namesOf(t, gotCollector))
	for _, name := range direct.Filtered {
		assert.NotContains(t, namesOf(t, gotCollector), name)
		assert.NotContains(t, namesOf(t, gotDirect), name)
	}

	c := compareRecords(t, gotCollector, gotDirect)
	t.Logf("compared %d spans (%d attributes, %d events, %d links) field by field; largest timestamp difference %d ns",
		c.spans, c.attributes, c.events, c.links, c.maxDelta)
}

// TestAgent365SDKFailingService: the service answers 503 four times, then
// 429 with Retry-After: 2 four times. The SDK alone gives up after its
// fourth attempt (it retries 408, 429 and 5xx three times, 200 to 700 ms
// apart, and does not read Retry-After) and loses the spans; through the
// collector, the receiver takes them at once and the exporter retries
// until every span is delivered, once.
func TestAgent365SDKFailingService(t *testing.T) {
	s := startSDKStack(t)
	faults := `[{"status":503,"times":4},{"status":429,"times":4,"retry_after":"2"}]`
	for _, sink := range []*sinkProc{s.viaCollector, s.direct} {
		resp, err := http.Post(sink.url()+"/_sink/faults", "application/json", strings.NewReader(faults))
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	}

	began := time.Now()
	run := runSDKAgent(t, s.receiverURL())
	viaCollectorRan := time.Since(began)
	require.Nil(t, run.ExportError, "the receiver took every span at once")
	directBegan := time.Now()
	alone := runSDKAgent(t, s.direct.url())
	directRan := time.Since(directBegan)
	require.NotNil(t, alone.ExportError, "the SDK alone gave up")
	lostDirect := len(run.Exported) - len(readSDKRecords(t, s.direct.out))

	gotCollector := waitRecords(t, s.viaCollector, len(run.Exported), 90*time.Second)
	delivered := time.Since(began)
	require.ElementsMatch(t, run.Exported, namesOf(t, gotCollector), "no span lost, none twice")
	assert.Empty(t, sinkFaults(t, s.viaCollector), "the exporter went through every fault")
	assert.Empty(t, sinkFaults(t, s.direct), "the SDK went through every fault")
	assert.GreaterOrEqual(t, lostDirect, 1, "the SDK alone loses spans to these faults")
	t.Logf("SDK alone: lost %d of %d spans (the agent ran %s; its export error: %s); through the collector: lost 0 (the agent ran %s; all delivered within %s of its start)",
		lostDirect, len(run.Exported), directRan.Round(time.Millisecond), *alone.ExportError, viaCollectorRan.Round(time.Millisecond), delivered.Round(100*time.Millisecond))

	// The faults are spent: the SDK alone now delivers, and what went
	// through the collector's retries is what the SDK sends.
	before := len(readSDKRecords(t, s.direct.out))
	require.Nil(t, runSDKAgent(t, s.direct.url()).ExportError)
	reference := readSDKRecords(t, s.direct.out)[before:]
	require.Len(t, reference, len(run.Exported))
	c := compareRecords(t, gotCollector, reference)
	t.Logf("compared %d spans field by field; largest timestamp difference %d ns", c.spans, c.maxDelta)
}

func namesOf(t *testing.T, recs []sdkRecord) []string {
	t.Helper()
	out := make([]string, 0, len(recs))
	for _, r := range recs {
		out = append(out, r.field(t, "name"))
	}
	return out
}

// sinkFaults lists the faults a sink has not applied yet.
func sinkFaults(t *testing.T, s *sinkProc) []any {
	t.Helper()
	resp, err := http.Get(s.url() + "/_sink/faults")
	require.NoError(t, err)
	defer resp.Body.Close()
	var body struct {
		Faults []any `json:"faults"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	return body.Faults
}
