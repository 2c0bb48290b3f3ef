package metadatacheck

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestLoad(t *testing.T) {
	md := Load(t, "testdata/metadata.yaml")
	assert.Equal(t, "sample", md.Type)
	assert.Len(t, md.Telemetry.Metrics, 2)

	tests := []struct {
		id              string
		kind, valueType string
	}{
		{"sample_requests", "Counter", "int"},
		{"sample_request_duration", "Histogram", "double"},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			kind, valueType := md.Telemetry.Metrics[tt.id].Instrument()
			assert.Equal(t, tt.kind, kind)
			assert.Equal(t, tt.valueType, valueType)
		})
	}

	assert.Equal(t, map[string]Attribute{
		"route":                     md.Attributes["route"],
		"http.response.status_code": md.Attributes["status_code"],
	}, md.DataPointAttributes(md.Telemetry.Metrics["sample_requests"]))
}

func TestCamelCase(t *testing.T) {
	assert.Equal(t, "ExporterAgent365DroppedSpans", camelCase("exporter_agent365_dropped_spans"))
	assert.Equal(t, "Requests", camelCase("requests"))
}
