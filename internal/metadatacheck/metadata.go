// Package metadatacheck holds a component's hand-kept mdatagen files to its
// metadata.yaml in tests: the TelemetryBuilder's instruments, the
// metadatatest assertions and documentation.md's telemetry sections are
// compared with what mdatagen v0.165.0 would generate. mdatagen is not
// served for the pinned collector release, so these files are written by
// hand and the tests are what keeps them in its shape.
//
// The exporter (root module) and the receiver use it. The auth module keeps
// its own copy in auth/metadata_test.go because auth must not depend on the
// exporter module: it is a module of its own that a distribution compiles
// without the exporter, and even a test-only import of this package would
// put the exporter module (with a replace directive) into auth's go.mod and
// tie auth's releases to the exporter's.
package metadatacheck // import "github.com/agent365-otel/agent365exporter/internal/metadatacheck"

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
)

// File is the part of a metadata.yaml that mdatagen generates a component's
// telemetry and its documentation from.
type File struct {
	Type      string `mapstructure:"type"`
	Telemetry struct {
		Metrics map[string]Metric `mapstructure:"metrics"`
	} `mapstructure:"telemetry"`
	Attributes map[string]Attribute `mapstructure:"attributes"`
}

// Metric is a metric under telemetry::metrics; exactly one of Sum, Gauge and
// Histogram is set.
type Metric struct {
	Enabled     bool     `mapstructure:"enabled"`
	Stability   string   `mapstructure:"stability"`
	Description string   `mapstructure:"description"`
	Unit        string   `mapstructure:"unit"`
	Attributes  []string `mapstructure:"attributes"`
	Sum         *struct {
		ValueType string `mapstructure:"value_type"`
		Monotonic bool   `mapstructure:"monotonic"`
	} `mapstructure:"sum"`
	Gauge *struct {
		ValueType string `mapstructure:"value_type"`
		Async     bool   `mapstructure:"async"`
	} `mapstructure:"gauge"`
	Histogram *struct {
		ValueType        string    `mapstructure:"value_type"`
		BucketBoundaries []float64 `mapstructure:"bucket_boundaries"`
	} `mapstructure:"histogram"`
}

// Attribute is an attribute under attributes.
type Attribute struct {
	Description  string   `mapstructure:"description"`
	NameOverride string   `mapstructure:"name_override"`
	Type         string   `mapstructure:"type"`
	Enum         []string `mapstructure:"enum"`
}

// Load reads the metadata.yaml at path, which must list telemetry metrics.
func Load(t testing.TB, path string) File {
	t.Helper()
	cm, err := confmaptest.LoadConf(path)
	require.NoError(t, err)
	var md File
	require.NoError(t, cm.Unmarshal(&md, confmap.WithIgnoreUnused()))
	require.NotEmpty(t, md.Telemetry.Metrics)
	return md
}

// Name is the attribute's name on the data points; id is its key under
// attributes.
func (a Attribute) Name(id string) string {
	if a.NameOverride != "" {
		return a.NameOverride
	}
	return id
}

// DataPointAttributes are the attributes of m's data points, by their name
// on the data points.
func (f File) DataPointAttributes(m Metric) map[string]Attribute {
	declared := make(map[string]Attribute, len(m.Attributes))
	for _, id := range m.Attributes {
		a := f.Attributes[id]
		declared[a.Name(id)] = a
	}
	return declared
}

// Instrument is the instrument mdatagen creates for m ("Counter",
// "UpDownCounter", "ObservableGauge", "Gauge" or "Histogram"; empty when m
// is none of them), and its value type as metadata.yaml spells it.
func (m Metric) Instrument() (kind, valueType string) {
	switch {
	case m.Sum != nil && m.Sum.Monotonic:
		return "Counter", m.Sum.ValueType
	case m.Sum != nil:
		return "UpDownCounter", m.Sum.ValueType
	case m.Gauge != nil && m.Gauge.Async:
		return "ObservableGauge", m.Gauge.ValueType
	case m.Gauge != nil:
		return "Gauge", m.Gauge.ValueType
	case m.Histogram != nil:
		return "Histogram", m.Histogram.ValueType
	}
	return "", ""
}

// goValueType is the prefix of an instrument's type in the metric API for a
// metadata.yaml value type.
func goValueType(valueType string) string {
	if valueType == "double" {
		return "Float64"
	}
	return "Int64"
}

// stability is how mdatagen writes a stability level: "alpha" is "Alpha".
func stability(level string) string {
	if level == "" {
		return ""
	}
	return strings.ToUpper(level[:1]) + level[1:]
}

// camelCase is mdatagen's Go name for a metric id: "a_b" is "AB".
func camelCase(id string) string {
	var b strings.Builder
	for p := range strings.SplitSeq(id, "_") {
		if p != "" {
			b.WriteString(strings.ToUpper(p[:1]) + p[1:])
		}
	}
	return b.String()
}
