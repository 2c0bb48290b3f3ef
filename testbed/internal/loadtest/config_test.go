package loadtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// gatewayDir is the recommended gateway of deploy/, which the load test measures.
const gatewayDir = "../../../deploy/kubernetes/gateway"

type collectorYAML struct {
	Extensions map[string]map[string]any `yaml:"extensions"`
	Receivers  map[string]map[string]any `yaml:"receivers"`
	Processors map[string]any            `yaml:"processors"`
	Exporters  map[string]map[string]any `yaml:"exporters"`
	Service    struct {
		Extensions []string `yaml:"extensions"`
		Pipelines  map[string]struct {
			Receivers  []string `yaml:"receivers"`
			Processors []string `yaml:"processors"`
			Exporters  []string `yaml:"exporters"`
		} `yaml:"pipelines"`
	} `yaml:"service"`
}

func readCollectorYAML(t *testing.T, raw []byte) collectorYAML {
	t.Helper()
	var c collectorYAML
	require.NoError(t, yaml.Unmarshal(raw, &c))
	return c
}

// TestCollectorConfigFollowsTheGateway: every pipeline the load test runs
// is the gateway's of deploy/ (receiver settings, processors, the
// sending_queue with its batching and storage, retries, GOMEMLIMIT), with
// only endpoints, the credential and directories replaced; the stock
// exporter differs from agent365 in nothing else, and batches behind no
// batch processor.
func TestCollectorConfigFollowsTheGateway(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(gatewayDir, "collector.yaml"))
	require.NoError(t, err)
	deploy := readCollectorYAML(t, raw)
	g, err := LoadGateway(gatewayDir)
	require.NoError(t, err)
	require.NotEmpty(t, deploy.Service.Pipelines["traces"].Processors, "the gateway runs processors (memory_limiter)")
	queue := deploy.Exporters["agent365"]["sending_queue"].(map[string]any)
	require.NotNil(t, queue["batch"], "the gateway batches in its sending_queue")
	storageID, _ := queue["storage"].(string)
	assert.Contains(t, strings.Join(g.GoEnv, " "), "GOMEMLIMIT=", "the StatefulSet's GOMEMLIMIT")

	tests := []struct {
		exporter Exporter
		wantName string
		wantJSON bool
	}{
		{Agent365, "agent365", false},
		{OTLPHTTPJSON, "otlp_http", true},
		{OTLPHTTPJSONGzip, "otlp_http", true},
	}
	for _, tt := range tests {
		t.Run(string(tt.exporter), func(t *testing.T) {
			dir := t.TempDir()
			p := Ports{Sink: 1, OTLPGRPC: 2, OTLPHTTP: 3, Health: 4, Metrics: 5, PProf: 6}
			out, err := CollectorConfig(g, tt.exporter, p, dir)
			require.NoError(t, err)
			cfg := readCollectorYAML(t, out)

			traces := cfg.Service.Pipelines["traces"]
			assert.Equal(t, []string{"otlp"}, traces.Receivers)
			assert.Equal(t, deploy.Service.Pipelines["traces"].Processors, traces.Processors)
			assert.NotContains(t, traces.Processors, "batch")
			assert.Equal(t, deploy.Processors, cfg.Processors)
			assert.Equal(t, []string{tt.wantName}, traces.Exporters)

			// The receiver's settings, with loopback endpoints.
			wantOTLP := deploy.Receivers["otlp"]
			protocols := wantOTLP["protocols"].(map[string]any)
			protocols["grpc"].(map[string]any)["endpoint"] = "127.0.0.1:2"
			protocols["http"].(map[string]any)["endpoint"] = "127.0.0.1:3"
			assert.Equal(t, wantOTLP, cfg.Receivers["otlp"])

			require.Len(t, cfg.Exporters, 1)
			exp := cfg.Exporters[tt.wantName]
			require.NotNil(t, exp, "exporters: %v", cfg.Exporters)
			assert.Equal(t, queue, exp["sending_queue"])
			assert.Equal(t, deploy.Exporters["agent365"]["retry_on_failure"], exp["retry_on_failure"])
			if tt.wantJSON {
				assert.Equal(t, "json", exp["encoding"])
				assert.Equal(t, "http://127.0.0.1:1/v1/traces", exp["traces_endpoint"])
			} else {
				assert.Equal(t, "http://127.0.0.1:1", exp["endpoint"])
				assert.Equal(t, map[string]any{"authenticator": "agent365auth"}, exp["auth"])
				assert.Equal(t, deploy.Exporters["agent365"]["use_s2s_endpoint"], exp["use_s2s_endpoint"])
				assert.Equal(t, sampleTenants(), exp["identity"].(map[string]any)["allowed_tenants"])
			}

			// The queue's storage, in the run's directory.
			require.NotEmpty(t, storageID)
			storage := cfg.Extensions[storageID]
			require.NotNil(t, storage)
			assert.Contains(t, cfg.Service.Extensions, storageID)
			assert.Equal(t, filepath.Join(dir, "queue"), storage["directory"])
			assert.DirExists(t, filepath.Join(dir, "queue"))
			want := deploy.Extensions[storageID]
			for k, v := range want {
				if k != "directory" && k != "compaction" {
					assert.Equal(t, v, storage[k], k)
				}
			}
			assert.Equal(t, filepath.Join(dir, "compaction"), storage["compaction"].(map[string]any)["directory"])
			assert.Equal(t, want["compaction"].(map[string]any)["on_rebound"], storage["compaction"].(map[string]any)["on_rebound"])
			assert.Contains(t, cfg.Service.Extensions, "pprof")
		})
	}
}

// TestCollectorConfigLeavesTheGatewayAlone: a run's replacements are made on
// copies, so each run starts from the gateway as read.
func TestCollectorConfigLeavesTheGatewayAlone(t *testing.T) {
	g, err := LoadGateway(gatewayDir)
	require.NoError(t, err)
	before, err := yaml.Marshal(g)
	require.NoError(t, err)
	_, err = CollectorConfig(g, OTLPHTTPJSON, Ports{Sink: 1, OTLPGRPC: 2, OTLPHTTP: 3}, t.TempDir())
	require.NoError(t, err)
	_, err = CollectorConfig(g, Agent365, Ports{Sink: 1, OTLPGRPC: 2, OTLPHTTP: 3}, t.TempDir())
	require.NoError(t, err)
	after, err := yaml.Marshal(g)
	require.NoError(t, err)
	assert.Equal(t, string(before), string(after))
}

func TestLoadGatewayRefuses(t *testing.T) {
	const statefulset = "spec:\n  template:\n    spec:\n      containers:\n        - name: otelcol\n          env:\n            - name: GOMEMLIMIT\n              value: 100MiB\n"
	tests := []struct {
		name, collector, wantErr string
	}{
		{"no traces pipeline", "receivers: {otlp: {protocols: {http: {}}}}\nexporters: {agent365: {}}\nservice: {pipelines: {}}\n", "no traces pipeline"},
		{"no receiver", "exporters: {agent365: {}}\nservice: {pipelines: {traces: {exporters: [agent365]}}}\n", "no otlp receiver"},
		{"no exporter", "receivers: {otlp: {protocols: {http: {}}}}\nservice: {pipelines: {traces: {receivers: [otlp]}}}\n", "no agent365 exporter"},
		{"storage not configured", "receivers: {otlp: {protocols: {http: {}}}}\nexporters: {agent365: {sending_queue: {storage: file_storage/x}}}\nservice: {pipelines: {traces: {receivers: [otlp]}}}\n", "file_storage/x"},
		{"not YAML", "receivers: [", "collector.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(dir, "collector.yaml"), []byte(tt.collector), 0o644))
			require.NoError(t, os.WriteFile(filepath.Join(dir, "statefulset.yaml"), []byte(statefulset), 0o644))
			_, err := LoadGateway(dir)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
	_, err := LoadGateway(t.TempDir())
	assert.Error(t, err, "no files")
}

func TestLoadGatewayReadsTheGoRuntimeSettings(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "collector.yaml"), []byte(
		"receivers: {otlp: {protocols: {http: {}}}}\nexporters: {agent365: {}}\nservice: {pipelines: {traces: {receivers: [otlp]}}}\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "statefulset.yaml"), []byte(
		"spec:\n  template:\n    spec:\n      containers:\n        - name: otelcol\n          env:\n            - {name: GOMEMLIMIT, value: 100MiB}\n            - {name: OTHER, value: x}\n            - {name: GOGC, value: \"300\"}\n"), 0o644))
	g, err := LoadGateway(dir)
	require.NoError(t, err)
	assert.Equal(t, []string{"GOMEMLIMIT=100MiB", "GOGC=300"}, g.GoEnv)
	assert.Empty(t, g.StorageID, "an in-memory queue")
	out, err := CollectorConfig(g, Agent365, Ports{Sink: 1, OTLPHTTP: 3}, t.TempDir())
	require.NoError(t, err)
	cfg := readCollectorYAML(t, out)
	assert.Equal(t, map[string]any{"http": map[string]any{"endpoint": "127.0.0.1:3"}}, cfg.Receivers["otlp"]["protocols"], "only the protocols the gateway has")
	assert.Nil(t, cfg.Processors)
}
