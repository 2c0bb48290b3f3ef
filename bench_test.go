package agent365exporter

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/agent365-otel/agent365exporter/internal/metadata"
	"github.com/agent365-otel/agent365exporter/internal/payload"
	"github.com/agent365-otel/agent365exporter/internal/sample"
)

// benchTraces is a realistic batch: 1024 spans of three agents, about 20
// attributes and 1 KB of messages each.
func benchTraces() ptrace.Traces {
	return sample.Traces(sample.DefaultAgents, 256, time.Unix(1732465014, 0), sample.Options{})
}

// BenchmarkEncode compares this exporter's whole encoding path (admission:
// legacy names, identity, required attributes; then grouping, payload,
// chunking into request bodies) with pdata's own JSON and
// protobuf marshalers on the same spans.
func BenchmarkEncode(b *testing.B) {
	td := benchTraces()
	spans := td.SpanCount()

	b.Run("agent365", func(b *testing.B) {
		exp, err := newExporter(NewFactory().CreateDefaultConfig().(*Config), exportertest.NewNopSettings(metadata.Type))
		if err != nil {
			b.Fatal(err)
		}
		bat := newEncodedPush()
		var body []byte
		b.ReportAllocs()
		b.ResetTimer()
		ctx := context.Background()
		for b.Loop() {
			exp.admit(ctx, td)
			exp.encode(bat, td)
			total := 0
			for _, g := range bat.parts {
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

	// The encoder alone: the same spans written as request bodies, without
	// identity, grouping or validation.
	b.Run("agent365_encoder_only", func(b *testing.B) {
		f := payload.NewA365(payload.Options{})
		var buf, body []byte
		var segs []payload.Span
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			total := 0
			for i := 0; i < td.ResourceSpans().Len(); i++ {
				rs := td.ResourceSpans().At(i)
				ss := rs.ScopeSpans().At(0)
				l := payload.Layout{Resource: f.AppendResourceOpen(nil, rs.Resource(), ""), Scopes: [][]byte{f.AppendScopeOpen(nil, ss.Scope(), "")}}
				buf, segs = buf[:0], segs[:0]
				for j := 0; j < ss.Spans().Len(); j++ {
					start := len(buf)
					buf = f.AppendSpan(buf, ss.Spans().At(j), payload.SpanMeta{Op: "chat"})
					segs = append(segs, payload.Span{Start: start, End: len(buf)})
				}
				body = l.AppendBody(body[:0], buf, segs)
				total += len(body)
			}
			b.SetBytes(int64(total))
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
