package payload

import (
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/agent365-otel/agent365exporter/internal/sample"
)

// BenchmarkDecode reads the same spans from the A365 body DecodeA365 reads
// and from the OTLP JSON pdata's own unmarshaler reads: one agent's
// conversation turns (four spans each, 1 KB messages), from a single turn up
// to a body near the 900,000-byte payload limit.
func BenchmarkDecode(b *testing.B) {
	for _, turns := range []int{1, 100} {
		td := sample.Traces(sample.DefaultAgents[:1], turns, time.Unix(1732465014, 17403000), sample.Options{})
		spans := td.SpanCount()
		a365 := a365Traces(td)
		otlp, err := (&ptrace.JSONMarshaler{}).MarshalTraces(td)
		if err != nil {
			b.Fatal(err)
		}
		decoders := []struct {
			name   string
			body   []byte
			decode func([]byte) (ptrace.Traces, error)
		}{
			{"a365", a365, DecodeA365},
			{"otlp_json_pdata", otlp, (&ptrace.JSONUnmarshaler{}).UnmarshalTraces},
		}
		for _, d := range decoders {
			b.Run(fmt.Sprintf("%s/spans=%d", d.name, spans), func(b *testing.B) {
				b.SetBytes(int64(len(d.body)))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := d.decode(d.body); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*spans), "ns/span")
			})
		}
	}
}
