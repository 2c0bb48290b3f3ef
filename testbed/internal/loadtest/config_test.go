package loadtest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// TestCollectorConfigFollowsTheRelease: every exporter under test batches in
// its own sending_queue, with the same settings, behind no batch processor
// (the collector warns when a pipeline has both), and the stock exporter is
// named otlp_http, not by its deprecated alias otlphttp.
func TestCollectorConfigFollowsTheRelease(t *testing.T) {
	tests := []struct {
		exporter Exporter
		wantName string
	}{
		{Agent365, "agent365"},
		{OTLPHTTPJSON, "otlp_http"},
		{OTLPHTTPJSONGzip, "otlp_http"},
	}
	for _, tt := range tests {
		t.Run(string(tt.exporter), func(t *testing.T) {
			var cfg struct {
				Processors map[string]any            `yaml:"processors"`
				Exporters  map[string]map[string]any `yaml:"exporters"`
				Service    struct {
					Pipelines map[string]struct {
						Processors []string `yaml:"processors"`
						Exporters  []string `yaml:"exporters"`
					} `yaml:"pipelines"`
				} `yaml:"service"`
			}
			require.NoError(t, yaml.Unmarshal([]byte(CollectorConfig(tt.exporter, 1, 2, 3, 4, 5)), &cfg))

			assert.NotContains(t, cfg.Processors, "batch")
			traces, ok := cfg.Service.Pipelines["traces"]
			require.True(t, ok)
			assert.NotContains(t, traces.Processors, "batch")
			assert.Equal(t, []string{tt.wantName}, traces.Exporters)

			require.Len(t, cfg.Exporters, 1)
			exp, ok := cfg.Exporters[tt.wantName]
			require.True(t, ok, "exporters: %v", cfg.Exporters)
			queue, _ := exp["sending_queue"].(map[string]any)
			assert.Equal(t, map[string]any{"flush_timeout": "200ms", "min_size": 1024}, queue["batch"])
		})
	}
}
