package agent365receiver

import (
	"fmt"
	"go/ast"
	"go/parser"
	gotoken "go/token"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/embedded"
	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/agent365-otel/agent365exporter/receiver/internal/metadata"
)

// mdatagen is not available for the pinned collector release, so what it
// would generate from metadata.yaml is kept by hand. These tests hold the
// hand-kept files, and the values the code emits, to metadata.yaml.

type metadataFile struct {
	Type      string `mapstructure:"type"`
	Telemetry struct {
		Metrics map[string]telemetryMetric `mapstructure:"metrics"`
	} `mapstructure:"telemetry"`
	Attributes map[string]metadataAttribute `mapstructure:"attributes"`
}

type telemetryMetric struct {
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

type metadataAttribute struct {
	Description  string   `mapstructure:"description"`
	NameOverride string   `mapstructure:"name_override"`
	Type         string   `mapstructure:"type"`
	Enum         []string `mapstructure:"enum"`
}

func loadMetadata(t *testing.T) metadataFile {
	t.Helper()
	cm, err := confmaptest.LoadConf("metadata.yaml")
	require.NoError(t, err)
	var md metadataFile
	require.NoError(t, cm.Unmarshal(&md, confmap.WithIgnoreUnused()))
	require.NotEmpty(t, md.Telemetry.Metrics)
	return md
}

// name is the attribute's name on the data points.
func (a metadataAttribute) name(id string) string {
	if a.NameOverride != "" {
		return a.NameOverride
	}
	return id
}

// instrument is the instrument mdatagen creates for m, and its value type.
func (m telemetryMetric) instrument() (kind, valueType string) {
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

// goValueType is the prefix of m's instrument type in the metric API.
func goValueType(valueType string) string {
	if valueType == "double" {
		return "Float64"
	}
	return "Int64"
}

// stabilitySuffix is what mdatagen appends to a telemetry description.
func stabilitySuffix(stability string) string {
	return " [" + strings.ToUpper(stability[:1]) + stability[1:] + "]"
}

func camelCase(name string) string {
	var b strings.Builder
	for p := range strings.SplitSeq(name, "_") {
		b.WriteString(strings.ToUpper(p[:1]) + p[1:])
	}
	return b.String()
}

// createdInstrument is what NewTelemetryBuilder asked the meter for.
type createdInstrument struct {
	kind, description, unit string
	boundaries              []float64
}

// recordingMeter records the instruments created with it.
type recordingMeter struct {
	noop.Meter
	created map[string]createdInstrument
}

func (m *recordingMeter) add(name, kind, description, unit string, boundaries []float64) {
	m.created[name] = createdInstrument{kind: kind, description: description, unit: unit, boundaries: boundaries}
}

func (m *recordingMeter) Int64Counter(name string, opts ...metric.Int64CounterOption) (metric.Int64Counter, error) {
	c := metric.NewInt64CounterConfig(opts...)
	m.add(name, "Int64Counter", c.Description(), c.Unit(), nil)
	return m.Meter.Int64Counter(name)
}

func (m *recordingMeter) Int64UpDownCounter(name string, opts ...metric.Int64UpDownCounterOption) (metric.Int64UpDownCounter, error) {
	c := metric.NewInt64UpDownCounterConfig(opts...)
	m.add(name, "Int64UpDownCounter", c.Description(), c.Unit(), nil)
	return m.Meter.Int64UpDownCounter(name)
}

func (m *recordingMeter) Int64Histogram(name string, opts ...metric.Int64HistogramOption) (metric.Int64Histogram, error) {
	c := metric.NewInt64HistogramConfig(opts...)
	m.add(name, "Int64Histogram", c.Description(), c.Unit(), c.ExplicitBucketBoundaries())
	return m.Meter.Int64Histogram(name)
}

func (m *recordingMeter) Int64Gauge(name string, opts ...metric.Int64GaugeOption) (metric.Int64Gauge, error) {
	c := metric.NewInt64GaugeConfig(opts...)
	m.add(name, "Int64Gauge", c.Description(), c.Unit(), nil)
	return m.Meter.Int64Gauge(name)
}

func (m *recordingMeter) Int64ObservableCounter(name string, opts ...metric.Int64ObservableCounterOption) (metric.Int64ObservableCounter, error) {
	c := metric.NewInt64ObservableCounterConfig(opts...)
	m.add(name, "Int64ObservableCounter", c.Description(), c.Unit(), nil)
	return m.Meter.Int64ObservableCounter(name)
}

func (m *recordingMeter) Int64ObservableUpDownCounter(name string, opts ...metric.Int64ObservableUpDownCounterOption) (metric.Int64ObservableUpDownCounter, error) {
	c := metric.NewInt64ObservableUpDownCounterConfig(opts...)
	m.add(name, "Int64ObservableUpDownCounter", c.Description(), c.Unit(), nil)
	return m.Meter.Int64ObservableUpDownCounter(name)
}

func (m *recordingMeter) Int64ObservableGauge(name string, opts ...metric.Int64ObservableGaugeOption) (metric.Int64ObservableGauge, error) {
	c := metric.NewInt64ObservableGaugeConfig(opts...)
	m.add(name, "Int64ObservableGauge", c.Description(), c.Unit(), nil)
	return m.Meter.Int64ObservableGauge(name)
}

func (m *recordingMeter) Float64Counter(name string, opts ...metric.Float64CounterOption) (metric.Float64Counter, error) {
	c := metric.NewFloat64CounterConfig(opts...)
	m.add(name, "Float64Counter", c.Description(), c.Unit(), nil)
	return m.Meter.Float64Counter(name)
}

func (m *recordingMeter) Float64UpDownCounter(name string, opts ...metric.Float64UpDownCounterOption) (metric.Float64UpDownCounter, error) {
	c := metric.NewFloat64UpDownCounterConfig(opts...)
	m.add(name, "Float64UpDownCounter", c.Description(), c.Unit(), nil)
	return m.Meter.Float64UpDownCounter(name)
}

func (m *recordingMeter) Float64Histogram(name string, opts ...metric.Float64HistogramOption) (metric.Float64Histogram, error) {
	c := metric.NewFloat64HistogramConfig(opts...)
	m.add(name, "Float64Histogram", c.Description(), c.Unit(), c.ExplicitBucketBoundaries())
	return m.Meter.Float64Histogram(name)
}

func (m *recordingMeter) Float64Gauge(name string, opts ...metric.Float64GaugeOption) (metric.Float64Gauge, error) {
	c := metric.NewFloat64GaugeConfig(opts...)
	m.add(name, "Float64Gauge", c.Description(), c.Unit(), nil)
	return m.Meter.Float64Gauge(name)
}

func (m *recordingMeter) Float64ObservableCounter(name string, opts ...metric.Float64ObservableCounterOption) (metric.Float64ObservableCounter, error) {
	c := metric.NewFloat64ObservableCounterConfig(opts...)
	m.add(name, "Float64ObservableCounter", c.Description(), c.Unit(), nil)
	return m.Meter.Float64ObservableCounter(name)
}

func (m *recordingMeter) Float64ObservableUpDownCounter(name string, opts ...metric.Float64ObservableUpDownCounterOption) (metric.Float64ObservableUpDownCounter, error) {
	c := metric.NewFloat64ObservableUpDownCounterConfig(opts...)
	m.add(name, "Float64ObservableUpDownCounter", c.Description(), c.Unit(), nil)
	return m.Meter.Float64ObservableUpDownCounter(name)
}

func (m *recordingMeter) Float64ObservableGauge(name string, opts ...metric.Float64ObservableGaugeOption) (metric.Float64ObservableGauge, error) {
	c := metric.NewFloat64ObservableGaugeConfig(opts...)
	m.add(name, "Float64ObservableGauge", c.Description(), c.Unit(), nil)
	return m.Meter.Float64ObservableGauge(name)
}

type recordingMeterProvider struct {
	embedded.MeterProvider
	meter *recordingMeter
}

func (p recordingMeterProvider) Meter(string, ...metric.MeterOption) metric.Meter { return p.meter }

// Every instrument the TelemetryBuilder creates is a metric of
// metadata.yaml, with its description, stability, unit, type and buckets;
// and every metric of metadata.yaml has its instrument, builder field and
// metadatatest assertion.
func TestTelemetryBuilderMatchesMetadata(t *testing.T) {
	md := loadMetadata(t)
	meter := &recordingMeter{created: map[string]createdInstrument{}}
	set := componenttest.NewNopTelemetrySettings()
	set.MeterProvider = recordingMeterProvider{meter: meter}
	tb, err := metadata.NewTelemetryBuilder(set)
	require.NoError(t, err)
	defer tb.Shutdown()

	for name := range meter.created {
		_, ok := md.Telemetry.Metrics[strings.TrimPrefix(name, "otelcol_")]
		assert.Truef(t, ok && strings.HasPrefix(name, "otelcol_"), "the TelemetryBuilder creates %s, which metadata.yaml does not list", name)
	}
	fields := map[string]bool{}
	builderType := reflect.TypeFor[metadata.TelemetryBuilder]()
	for i := range builderType.NumField() {
		if f := builderType.Field(i); f.IsExported() {
			fields[f.Name] = true
		}
	}
	assertions := funcNames(t, filepath.Join("internal", "metadatatest", "generated_telemetrytest.go"))
	for id, m := range md.Telemetry.Metrics {
		t.Run(id, func(t *testing.T) {
			kind, valueType := m.instrument()
			require.NotEmpty(t, kind, "a sum, gauge or histogram")
			got, ok := meter.created["otelcol_"+id]
			require.True(t, ok, "the TelemetryBuilder does not create it")
			assert.Equal(t, goValueType(valueType)+kind, got.kind)
			assert.Equal(t, m.Description+stabilitySuffix(m.Stability), got.description)
			assert.Equal(t, m.Unit, got.unit)
			if m.Histogram != nil {
				assert.Equal(t, m.Histogram.BucketBoundaries, got.boundaries)
			}
			assert.True(t, fields[camelCase(id)], "TelemetryBuilder has no field %s", camelCase(id))
			assert.Contains(t, assertions, "AssertEqual"+camelCase(id), "metadatatest has no assertion for it")
			for _, a := range m.Attributes {
				assert.Contains(t, md.Attributes, a, "attribute %s is not defined under attributes", a)
			}
		})
	}
}

// documentation.md documents every metric of metadata.yaml as mdatagen
// writes it, and no other.
func TestDocumentationMatchesMetadata(t *testing.T) {
	md := loadMetadata(t)
	raw, err := os.ReadFile("documentation.md")
	require.NoError(t, err)
	doc := string(raw)
	require.True(t, strings.HasPrefix(doc, "[comment]: <> (Code generated by mdatagen. DO NOT EDIT.)\n\n# "+md.Type+"\n"))
	for _, heading := range regexp.MustCompile(`(?m)^### (\S+)$`).FindAllStringSubmatch(doc, -1) {
		_, ok := md.Telemetry.Metrics[strings.TrimPrefix(heading[1], "otelcol_")]
		assert.Truef(t, ok, "documentation.md documents %s, which metadata.yaml does not list", heading[1])
	}
	for id, m := range md.Telemetry.Metrics {
		assert.Equal(t, telemetryDocumentation(md, id, m), docSection(doc, "### otelcol_"+id+"\n"), "documentation of %s", id)
	}
}

// docSection is the section of doc under heading, up to the next heading.
func docSection(doc, heading string) string {
	start := strings.Index(doc, heading)
	if start < 0 {
		return ""
	}
	section := doc[start:]
	if end := regexp.MustCompile(`\n#{1,3} `).FindStringIndex(section[len(heading):]); end != nil {
		section = section[:len(heading)+end[0]+1]
	}
	return strings.TrimRight(section, "\n") + "\n"
}

// telemetryDocumentation is the section mdatagen v0.165.0 writes for a
// telemetry metric.
func telemetryDocumentation(md metadataFile, id string, m telemetryMetric) string {
	kind, valueType := m.instrument()
	var b strings.Builder
	fmt.Fprintf(&b, "### otelcol_%s\n\n%s\n\n", id, m.Description)
	metricType := map[string]string{"Counter": "Sum", "UpDownCounter": "Sum", "ObservableGauge": "Gauge", "Gauge": "Gauge", "Histogram": "Histogram"}[kind]
	stability := strings.TrimSuffix(strings.TrimPrefix(stabilitySuffix(m.Stability), " ["), "]")
	docValueType := map[string]string{"int": "Int", "double": "Double"}[valueType]
	if m.Sum != nil {
		b.WriteString("| Unit | Metric Type | Value Type | Monotonic | Stability |\n| ---- | ----------- | ---------- | --------- | --------- |\n")
		fmt.Fprintf(&b, "| %s | %s | %s | %t | %s |\n", m.Unit, metricType, docValueType, m.Sum.Monotonic, stability)
	} else {
		b.WriteString("| Unit | Metric Type | Value Type | Stability |\n| ---- | ----------- | ---------- | --------- |\n")
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", m.Unit, metricType, docValueType, stability)
	}
	if len(m.Attributes) > 0 {
		b.WriteString("\n#### Attributes\n\n| Name | Description | Values | Semantic Convention |\n| ---- | ----------- | ------ | ------------------- |\n")
		for _, id := range m.Attributes {
			a := md.Attributes[id]
			typ := map[string]string{"string": "Str", "int": "Int", "double": "Double", "bool": "Bool"}[a.Type]
			values := "Any " + typ
			if len(a.Enum) > 0 {
				values = typ + ": ``" + strings.Join(a.Enum, "``, ``") + "``"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | - |\n", a.name(id), a.Description, values)
		}
	}
	return b.String()
}

// The receiver's type, and the stability of each signal it supports, are
// metadata.yaml's.
func TestStatusMatchesMetadata(t *testing.T) {
	cm, err := confmaptest.LoadConf("metadata.yaml")
	require.NoError(t, err)
	var md struct {
		Type   string `mapstructure:"type"`
		Status struct {
			Stability map[string][]string `mapstructure:"stability"`
		} `mapstructure:"status"`
	}
	require.NoError(t, cm.Unmarshal(&md, confmap.WithIgnoreUnused()))
	declared := map[string]string{}
	for level, signals := range md.Status.Stability {
		for _, s := range signals {
			declared[s] = level
		}
	}

	f := NewFactory()
	assert.Equal(t, md.Type, metadata.Type.String())
	assert.Equal(t, metadata.Type, f.Type())
	supported := map[string]string{}
	for signal, level := range map[string]component.StabilityLevel{
		"traces":  f.TracesStability(),
		"metrics": f.MetricsStability(),
		"logs":    f.LogsStability(),
	} {
		if level != component.StabilityLevelUndefined {
			supported[signal] = strings.ToLower(level.String())
		}
	}
	assert.Equal(t, declared, supported)
}

// attributeValueType is the type of a metadata.yaml attribute's values on
// the data points.
var attributeValueType = map[string]attribute.Type{
	"string": attribute.STRING,
	"int":    attribute.INT64,
	"double": attribute.FLOAT64,
	"bool":   attribute.BOOL,
}

// The attributes the receiver puts on its metrics are those metadata.yaml
// declares, of the declared type, with values from their enums; and each
// enum lists exactly the values the code has, each of which is emitted: the
// name of every route and unknown, and every reason spans are refused.
func TestMetadataAttributesMatchEmittedValues(t *testing.T) {
	md := loadMetadata(t)
	tr := startReceiver(t, nil)

	var routeNames []string
	for _, rt := range routes {
		if !slices.Contains(routeNames, rt.name) {
			routeNames = append(routeNames, rt.name)
		}
	}
	routeNames = append(routeNames, stringConstants(t, "route")...)

	// A request to every route, and one to no route.
	body := fixture(t, "node-sdk-1.0.0-fabrikam.json")
	ids := strings.NewReplacer("{tenantId}", fabrikamTenant, "{agentId}", fabrikamAgent)
	for _, rt := range routes {
		r := tr.post(t, ids.Replace(rt.pattern), body, map[string]string{"x-ms-tenant-id": fabrikamTenant})
		require.Equal(t, http.StatusOK, r.status, "%s: %s", rt.pattern, r.body)
	}
	require.Equal(t, http.StatusNotFound, tr.post(t, "/v1/traces", body, nil).status)
	// Contoso's spans sent to Fabrikam's tenant, then to Contoso's tenant
	// with Fabrikam's agent: refused for each reason.
	contoso := fixture(t, "node-sdk-1.0.0-contoso.json")
	for _, path := range []string{
		fabrikamPath(),
		"/observability/tenants/" + contosoTenant + "/otlp/agents/" + fabrikamAgent + "/traces",
	} {
		r := tr.post(t, path, contoso, nil)
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		require.Positive(t, r.partialSuccess(t).RejectedSpans)
	}

	tests := []struct {
		metric, attribute string
		code              []string
	}{
		{"receiver_agent365_requests", "route", routeNames},
		{"receiver_agent365_rejected_spans", "reason", stringConstants(t, "reason")},
	}
	for _, tt := range tests {
		t.Run(tt.metric, func(t *testing.T) {
			assert.ElementsMatch(t, md.Attributes[tt.attribute].Enum, tt.code, "enum of %s", tt.attribute)
			m, ok := md.Telemetry.Metrics[tt.metric]
			require.True(t, ok)
			require.Contains(t, m.Attributes, tt.attribute)
			declared := map[string]metadataAttribute{}
			for _, id := range m.Attributes {
				a := md.Attributes[id]
				declared[a.name(id)] = a
			}
			got, err := tr.tel.GetMetric("otelcol_" + tt.metric)
			require.NoError(t, err)
			sum, ok := got.Data.(metricdata.Sum[int64])
			require.True(t, ok)
			require.NotEmpty(t, sum.DataPoints)
			var emitted []string
			for _, dp := range sum.DataPoints {
				var keys []string
				for _, kv := range dp.Attributes.ToSlice() {
					keys = append(keys, string(kv.Key))
					a, ok := declared[string(kv.Key)]
					if !ok {
						continue
					}
					assert.Equal(t, attributeValueType[a.Type], kv.Value.Type(), "type of %s", kv.Key)
					if len(a.Enum) > 0 {
						assert.Contains(t, a.Enum, kv.Value.Emit(), "value of %s", kv.Key)
					}
					if v := kv.Value.Emit(); string(kv.Key) == md.Attributes[tt.attribute].name(tt.attribute) && !slices.Contains(emitted, v) {
						emitted = append(emitted, v)
					}
				}
				assert.ElementsMatch(t, slices.Collect(maps.Keys(declared)), keys)
			}
			assert.ElementsMatch(t, tt.code, emitted, "values of %s emitted", tt.attribute)
		})
	}
}

// stringConstants returns the string constants of the package's code whose
// names are prefix followed by a capital letter.
func stringConstants(t *testing.T, prefix string) []string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	var values []string
	fset := gotoken.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		require.NoError(t, err)
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != gotoken.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, id := range vs.Names {
					rest, ok := strings.CutPrefix(id.Name, prefix)
					if !ok || rest == "" || rest[0] < 'A' || rest[0] > 'Z' || i >= len(vs.Values) {
						continue
					}
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok || lit.Kind != gotoken.STRING {
						continue
					}
					v, err := strconv.Unquote(lit.Value)
					require.NoError(t, err)
					values = append(values, v)
				}
			}
		}
	}
	require.NotEmpty(t, values, "no %s constants", prefix)
	return values
}

// funcNames returns the names of the functions of a Go file.
func funcNames(t *testing.T, path string) []string {
	t.Helper()
	f, err := parser.ParseFile(gotoken.NewFileSet(), path, nil, 0)
	require.NoError(t, err)
	var names []string
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok {
			names = append(names, fd.Name.Name)
		}
	}
	return names
}
