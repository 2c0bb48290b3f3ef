package payload // import "github.com/agent365-otel/agent365exporter/internal/payload"

import (
	"strconv"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// maxDepth bounds nesting of map and slice attribute values.
const maxDepth = 32

// A365 writes the flattened shape of the Agent 365 SDKs: OTLP-like nesting,
// attributes as JSON objects with typed values, hex ids, enum names and
// integer nanoseconds.
type A365 struct {
	opts Options
}

// NewA365 returns the A365 format with opts.
func NewA365(opts Options) *A365 { return &A365{opts: opts} }

var _ Format = (*A365)(nil)

// AppendResourceOpen implements Format. The schema URL has no place in this shape.
func (f *A365) AppendResourceOpen(dst []byte, res pcommon.Resource, _ string) []byte {
	dst = append(dst, `{"resourceSpans":[{"resource":{"attributes":`...)
	dst = appendAttributes(dst, res.Attributes(), nil, "")
	return append(dst, `},"scopeSpans":[`...)
}

// AppendScopeOpen implements Format: an empty scope name is sent as "unknown"
// and an empty version is left out.
func (f *A365) AppendScopeOpen(dst []byte, sc pcommon.InstrumentationScope, _ string) []byte {
	name := sc.Name()
	if name == "" {
		name = "unknown"
	}
	dst = append(dst, `{"scope":{"name":`...)
	dst = AppendString(dst, name)
	if v := sc.Version(); v != "" {
		dst = append(dst, `,"version":`...)
		dst = AppendString(dst, v)
	}
	return append(dst, `},"spans":[`...)
}

// AppendSpan implements Format.
func (f *A365) AppendSpan(dst []byte, span ptrace.Span, meta SpanMeta) []byte {
	op := meta.Op
	var opts *Options
	if f.opts.active() {
		opts = &f.opts
	}
	tid := span.TraceID()
	sid := span.SpanID()
	dst = append(dst, `{"traceId":`...)
	dst = AppendHex(dst, tid[:])
	dst = append(dst, `,"spanId":`...)
	dst = AppendHex(dst, sid[:])
	if pid := span.ParentSpanID(); !pid.IsEmpty() {
		dst = append(dst, `,"parentSpanId":`...)
		dst = AppendHex(dst, pid[:])
	}
	dst = append(dst, `,"name":`...)
	dst = AppendString(dst, span.Name())
	dst = append(dst, `,"kind":"`...)
	dst = append(dst, kindName(span.Kind())...)
	dst = append(dst, `","startTimeUnixNano":`...)
	dst = strconv.AppendUint(dst, uint64(span.StartTimestamp()), 10)
	dst = append(dst, `,"endTimeUnixNano":`...)
	dst = strconv.AppendUint(dst, uint64(span.EndTimestamp()), 10)
	dst = append(dst, `,"attributes":`...)
	dst = appendSpanAttributes(dst, span.Attributes(), opts, meta)

	dst = append(dst, `,"events":`...)
	if events := span.Events(); events.Len() == 0 {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '[')
		for i := 0; i < events.Len(); i++ {
			ev := events.At(i)
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"timeUnixNano":`...)
			dst = strconv.AppendUint(dst, uint64(ev.Timestamp()), 10)
			dst = append(dst, `,"name":`...)
			dst = AppendString(dst, ev.Name())
			dst = append(dst, `,"attributes":`...)
			dst = appendAttributes(dst, ev.Attributes(), opts, op)
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}

	dst = append(dst, `,"links":`...)
	if links := span.Links(); links.Len() == 0 {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '[')
		for i := 0; i < links.Len(); i++ {
			l := links.At(i)
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendLinkIDs(dst, l)
			dst = append(dst, `,"attributes":`...)
			dst = appendAttributes(dst, l.Attributes(), nil, op)
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}

	st := span.Status()
	dst = append(dst, `,"status":{"code":"`...)
	dst = append(dst, statusName(st.Code())...)
	dst = append(dst, `","message":`...)
	dst = AppendString(dst, st.Message())
	return append(dst, "}}"...)
}

// appendSpanAttributes writes a span's attributes as a JSON object, or
// null when nothing is written.
func appendSpanAttributes(dst []byte, m pcommon.Map, opts *Options, meta SpanMeta) []byte {
	open := len(dst)
	dst = append(dst, '{')
	dst, n := appendMembers(dst, m, opts, meta, a365Member)
	if n == 0 {
		return append(dst[:open], "null"...)
	}
	return append(dst, '}')
}

// a365Member writes "key":value.
func a365Member(dst []byte, n int, key string, v pcommon.Value, repl string, replaced bool) []byte {
	if n > 0 {
		dst = append(dst, ',')
	}
	dst = AppendString(dst, key)
	dst = append(dst, ':')
	if replaced {
		return AppendString(dst, repl)
	}
	return appendValue(dst, v, 0)
}

// appendAttributes writes m as a JSON object, or null when nothing is written.
func appendAttributes(dst []byte, m pcommon.Map, opts *Options, op string) []byte {
	return appendSpanAttributes(dst, m, opts, SpanMeta{Op: op})
}

func appendValue(dst []byte, v pcommon.Value, depth int) []byte {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return AppendString(dst, v.Str())
	case pcommon.ValueTypeInt:
		return strconv.AppendInt(dst, v.Int(), 10)
	case pcommon.ValueTypeDouble:
		return AppendFloat(dst, v.Double())
	case pcommon.ValueTypeBool:
		return strconv.AppendBool(dst, v.Bool())
	case pcommon.ValueTypeBytes:
		return appendByteSlice(dst, v.Bytes())
	case pcommon.ValueTypeSlice:
		if depth >= maxDepth {
			return append(dst, `"[too deep]"`...)
		}
		s := v.Slice()
		dst = append(dst, '[')
		for i := 0; i < s.Len(); i++ {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendValue(dst, s.At(i), depth+1)
		}
		return append(dst, ']')
	case pcommon.ValueTypeMap:
		if depth >= maxDepth {
			return append(dst, `"[too deep]"`...)
		}
		dst = append(dst, '{')
		i := 0
		for k, mv := range v.Map().All() {
			if i > 0 {
				dst = append(dst, ',')
			}
			i++
			dst = AppendString(dst, k)
			dst = append(dst, ':')
			dst = appendValue(dst, mv, depth+1)
		}
		return append(dst, '}')
	default:
		return append(dst, "null"...)
	}
}

// appendLinkIDs opens a link object with its ids; both formats write them
// the same way.
func appendLinkIDs(dst []byte, l ptrace.SpanLink) []byte {
	tid, sid := l.TraceID(), l.SpanID()
	dst = append(dst, `{"traceId":`...)
	dst = AppendHex(dst, tid[:])
	dst = append(dst, `,"spanId":`...)
	return AppendHex(dst, sid[:])
}

func kindName(k ptrace.SpanKind) string {
	switch k {
	case ptrace.SpanKindInternal:
		return "INTERNAL"
	case ptrace.SpanKindServer:
		return "SERVER"
	case ptrace.SpanKindClient:
		return "CLIENT"
	case ptrace.SpanKindProducer:
		return "PRODUCER"
	case ptrace.SpanKindConsumer:
		return "CONSUMER"
	default:
		return "UNSPECIFIED"
	}
}

func statusName(c ptrace.StatusCode) string {
	switch c {
	case ptrace.StatusCodeOk:
		return "OK"
	case ptrace.StatusCodeError:
		return "ERROR"
	default:
		return "UNSET"
	}
}
