package agent365exporter

import (
	"testing"
	"time"

	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/agent365-otel/agent365exporter/internal/metadata"
	"github.com/agent365-otel/agent365exporter/internal/sample"
)

// benchTraces is a realistic batch: 1024 spans of three agents, about 20
// attributes and 1 KB of messages each.
func benchTraces() ptrace.Traces {
	return sample.Traces(sample.DefaultAgents, 256, time.Unix(1732465014, 0), sample.Options{})
}

// BenchmarkEncode compares this exporter's whole encoding path (identity,
// grouping, payload, chunking into request bodies) with pdata's own JSON and
// protobuf marshalers on the same spans.
func BenchmarkEncode(b *testing.B) {
	td := benchTraces()
	spans := td.SpanCount()

	b.Run("agent365", func(b *testing.B) {
		exp, err := newExporter(NewFactory().CreateDefaultConfig().(*Config), exportertest.NewNopSettings(metadata.Type))
		if err != nil {
			b.Fatal(err)
		}
		bat := newBatch()
		var body []byte
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			exp.encode(bat, td)
			total := 0
			for _, g := range bat.groups {
				bat.chunks = g.layout.Chunks(bat.chunks[:0], g.spans, exp.cfg.MaxPayloadBytes)
				for _, c := range bat.chunks {
					body = g.layout.AppendBody(body[:0], bat.buf, g.spans[c.First:c.Last])
					total += len(body)
				}
			}
			b.SetBytes(int64(total))
			bat.reset()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*spans), "ns/span")
	})

	b.Run("pdata_json", func(b *testing.B) {
		m := &ptrace.JSONMarshaler{}
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			out, err := m.MarshalTraces(td)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(out)))
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*spans), "ns/span")
	})

	b.Run("pdata_proto", func(b *testing.B) {
		m := &ptrace.ProtoMarshaler{}
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			out, err := m.MarshalTraces(td)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(out)))
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*spans), "ns/span")
	})
}
