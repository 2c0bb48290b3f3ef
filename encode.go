package agent365exporter // import "github.com/agent365-otel/agent365exporter"

import (
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/agent365-otel/agent365exporter/internal/payload"
	"github.com/agent365-otel/agent365exporter/internal/schema"
	"github.com/agent365-otel/agent365exporter/internal/truncate"
)

// encode groups and encodes every span of td into b, by identity and
// resource. td was admitted: identities resolve and legacy names are gone.
func (e *agent365Exporter) encode(b *encodedPush, td ptrace.Traces) {
	rss := td.ResourceSpans()
	for rsi := 0; rsi < rss.Len(); rsi++ {
		rs := rss.At(rsi)
		resIDs := e.identities.resource(rs.Resource().Attributes())
		b.resOpen = e.format.AppendResourceOpen(b.resOpen[:0], rs.Resource(), rs.SchemaUrl())
		resKey := ""
		var last *partition
		sss := rs.ScopeSpans()
		for ssi := 0; ssi < sss.Len(); ssi++ {
			ss := sss.At(ssi)
			b.scopeOpen = e.format.AppendScopeOpen(b.scopeOpen[:0], ss.Scope(), ss.SchemaUrl())
			lastScope := -1
			spans := ss.Spans()
			for si := 0; si < spans.Len(); si++ {
				span := spans.At(si)
				got := e.identities.resolve(span.Attributes(), resIDs, nil, &b.ids)
				if !got.ok {
					b.drops[got.drop]++
					continue
				}
				id, meta := got.id, got.meta
				if last == nil || last.id != id {
					if resKey == "" {
						resKey = string(b.resOpen)
					}
					last = b.partition(id, resKey)
					lastScope = -1
				}
				// A request holding the span alone stays within
				// max_payload_bytes: the span gets what its resource and
				// scope leave.
				limit := e.cfg.spanLimit(len(b.resOpen) + len(payload.ResourceClose) + len(b.scopeOpen) + len(payload.ScopeClose))
				start := len(b.buf)
				b.buf = e.format.AppendSpan(b.buf, span, meta)
				if len(b.buf)-start > limit {
					b.buf = e.truncate(b, b.buf[:start], span, meta, limit)
					if len(b.buf)-start > limit {
						// Only a resource or scope of nearly max_payload_bytes leaves so little.
						b.buf = b.buf[:start]
						b.drops[dropPayloadTooLarge]++
						continue
					}
					b.truncated++
				}
				if lastScope < 0 {
					lastScope = last.scope(b.scopeOpen)
				}
				last.spans = append(last.spans, payload.Span{Start: start, End: len(b.buf), Scope: lastScope})
			}
		}
	}
}

// truncate appends a copy of span shrunk to limit; the pushed data is not
// modified, so that it could be encoded again from the original.
func (e *agent365Exporter) truncate(b *encodedPush, dst []byte, span ptrace.Span, meta payload.SpanMeta, limit int) []byte {
	clone := ptrace.NewSpan()
	span.CopyTo(clone)
	truncate.Span(clone, limit, func(s ptrace.Span) int {
		b.scratch = e.format.AppendSpan(b.scratch[:0], s, meta)
		return len(b.scratch)
	}, schema.IdentityKeys)
	return e.format.AppendSpan(dst, clone, meta)
}
