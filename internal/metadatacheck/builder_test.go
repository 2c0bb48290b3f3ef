package metadatacheck

import (
	"reflect"
	"testing"
)

// sampleTelemetryBuilder has the fields mdatagen generates for
// testdata/metadata.yaml.
type sampleTelemetryBuilder struct {
	SampleRequestDuration int
	SampleRequests        int
}

func TestCheckBuilder(t *testing.T) {
	CheckBuilder(t, Load(t, "testdata/metadata.yaml"), map[string]Instrument{
		"otelcol_sample_requests":         {Kind: "Int64Counter", Description: "Requests answered, by route and status code. [Alpha]", Unit: "{request}"},
		"otelcol_sample_request_duration": {Kind: "Float64Histogram", Description: "Duration of the requests. [Development]", Unit: "s", Boundaries: []float64{0.01, 0.1, 1}},
	}, reflect.TypeFor[sampleTelemetryBuilder](), []string{"AssertEqualSampleRequests", "AssertEqualSampleRequestDuration"})
}
