package payload // import "github.com/agent365-otel/agent365exporter/internal/payload"

import (
	"math"
	"strconv"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// OTLPJSON writes standard OTLP/HTTP JSON (the protobuf JSON mapping with
// OTLP's hex ids), the shape Microsoft documents for sending OpenTelemetry
// data to Agent 365 directly and the one pdata's ptrace.JSONUnmarshaler reads.
type OTLPJSON struct {
	opts Options
}

// NewOTLPJSON returns the OTLP JSON format with opts.
func NewOTLPJSON(opts Options) *OTLPJSON { return &OTLPJSON{opts: opts} }

var _ Format = (*OTLPJSON)(nil)

// AppendResourceOpen implements Format.
func (f *OTLPJSON) AppendResourceOpen(dst []byte, res pcommon.Resource, schemaURL string) []byte {
	dst = append(dst, `{"resourceSpans":[{"resource":{`...)
	n := 0
	if res.Attributes().Len() > 0 {
		dst = append(dst, `"attributes":`...)
		dst = otlpAttributes(dst, res.Attributes(), nil, SpanMeta{})
		n++
	}
	dst = droppedCount(dst, &n, "droppedAttributesCount", res.DroppedAttributesCount())
	dst = append(dst, '}')
	if schemaURL != "" {
		dst = append(dst, `,"schemaUrl":`...)
		dst = AppendString(dst, schemaURL)
	}
	return append(dst, `,"scopeSpans":[`...)
}

// AppendScopeOpen implements Format.
func (f *OTLPJSON) AppendScopeOpen(dst []byte, sc pcommon.InstrumentationScope, schemaURL string) []byte {
	dst = append(dst, `{"scope":{`...)
	n := 0
	dst = optString(dst, &n, "name", sc.Name())
	dst = optString(dst, &n, "version", sc.Version())
	if sc.Attributes().Len() > 0 {
		dst = comma(dst, &n)
		dst = append(dst, `"attributes":`...)
		dst = otlpAttributes(dst, sc.Attributes(), nil, SpanMeta{})
	}
	dst = droppedCount(dst, &n, "droppedAttributesCount", sc.DroppedAttributesCount())
	dst = append(dst, '}')
	if schemaURL != "" {
		dst = append(dst, `,"schemaUrl":`...)
		dst = AppendString(dst, schemaURL)
	}
	return append(dst, `,"spans":[`...)
}

// AppendSpan implements Format.
func (f *OTLPJSON) AppendSpan(dst []byte, span ptrace.Span, meta SpanMeta) []byte {
	var opts *Options
	if f.opts.active() {
		opts = &f.opts
	}
	tid, sid := span.TraceID(), span.SpanID()
	dst = append(dst, `{"traceId":`...)
	dst = AppendHex(dst, tid[:])
	dst = append(dst, `,"spanId":`...)
	dst = AppendHex(dst, sid[:])
	n := 2
	dst = optString(dst, &n, "traceState", span.TraceState().AsRaw())
	if pid := span.ParentSpanID(); !pid.IsEmpty() {
		dst = append(dst, `,"parentSpanId":`...)
		dst = AppendHex(dst, pid[:])
	}
	if fl := span.Flags(); fl != 0 {
		dst = append(dst, `,"flags":`...)
		dst = strconv.AppendUint(dst, uint64(fl), 10)
	}
	dst = optString(dst, &n, "name", span.Name())
	if k := span.Kind(); k != 0 {
		dst = append(dst, `,"kind":`...)
		dst = strconv.AppendInt(dst, int64(k), 10)
	}
	dst = optTime(dst, "startTimeUnixNano", span.StartTimestamp())
	dst = optTime(dst, "endTimeUnixNano", span.EndTimestamp())
	if span.Attributes().Len() > 0 || meta.TenantID != "" || meta.AgentID != "" {
		mark := len(dst)
		dst = append(dst, `,"attributes":`...)
		before := len(dst)
		dst = otlpAttributes(dst, span.Attributes(), opts, meta)
		if len(dst)-before == 2 { // every attribute dropped
			dst = dst[:mark]
		}
	}
	dst = droppedCount(dst, &n, "droppedAttributesCount", span.DroppedAttributesCount())
	if events := span.Events(); events.Len() > 0 {
		dst = append(dst, `,"events":[`...)
		for i := 0; i < events.Len(); i++ {
			ev := events.At(i)
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, '{')
			m := 0
			if ts := ev.Timestamp(); ts != 0 {
				dst = append(dst, `"timeUnixNano":"`...)
				dst = strconv.AppendUint(dst, uint64(ts), 10)
				dst = append(dst, '"')
				m++
			}
			dst = optString(dst, &m, "name", ev.Name())
			if ev.Attributes().Len() > 0 {
				dst = comma(dst, &m)
				dst = append(dst, `"attributes":`...)
				dst = otlpAttributes(dst, ev.Attributes(), opts, SpanMeta{Op: meta.Op})
			}
			dst = droppedCount(dst, &m, "droppedAttributesCount", ev.DroppedAttributesCount())
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	dst = droppedCount(dst, &n, "droppedEventsCount", span.DroppedEventsCount())
	if links := span.Links(); links.Len() > 0 {
		dst = append(dst, `,"links":[`...)
		for i := 0; i < links.Len(); i++ {
			l := links.At(i)
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendLinkIDs(dst, l)
			m := 2
			dst = optString(dst, &m, "traceState", l.TraceState().AsRaw())
			if l.Attributes().Len() > 0 {
				dst = append(dst, `,"attributes":`...)
				dst = otlpAttributes(dst, l.Attributes(), nil, SpanMeta{})
			}
			dst = droppedCount(dst, &m, "droppedAttributesCount", l.DroppedAttributesCount())
			if fl := l.Flags(); fl != 0 {
				dst = append(dst, `,"flags":`...)
				dst = strconv.AppendUint(dst, uint64(fl), 10)
			}
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	dst = droppedCount(dst, &n, "droppedLinksCount", span.DroppedLinksCount())
	dst = append(dst, `,"status":{`...)
	st := span.Status()
	m := 0
	dst = optString(dst, &m, "message", st.Message())
	if c := st.Code(); c != 0 {
		dst = comma(dst, &m)
		dst = append(dst, `"code":`...)
		dst = strconv.AppendInt(dst, int64(c), 10)
	}
	return append(dst, "}}"...)
}

// otlpAttributes writes m as an OTLP KeyValue list.
func otlpAttributes(dst []byte, m pcommon.Map, opts *Options, meta SpanMeta) []byte {
	dst = append(dst, '[')
	dst, _ = appendMembers(dst, m, opts, meta, otlpMember)
	return append(dst, ']')
}

// otlpMember writes {"key":key,"value":{...}}.
func otlpMember(dst []byte, n int, key string, v pcommon.Value, repl string, replaced bool) []byte {
	if n > 0 {
		dst = append(dst, ',')
	}
	dst = append(dst, `{"key":`...)
	dst = AppendString(dst, key)
	dst = append(dst, `,"value":`...)
	if replaced {
		dst = append(dst, `{"stringValue":`...)
		dst = AppendString(dst, repl)
		dst = append(dst, '}')
	} else {
		dst = otlpValue(dst, v, 0)
	}
	return append(dst, '}')
}

func otlpValue(dst []byte, v pcommon.Value, depth int) []byte {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		dst = append(dst, `{"stringValue":`...)
		dst = AppendString(dst, v.Str())
	case pcommon.ValueTypeInt:
		dst = append(dst, `{"intValue":"`...)
		dst = strconv.AppendInt(dst, v.Int(), 10)
		dst = append(dst, '"')
	case pcommon.ValueTypeDouble:
		dst = append(dst, `{"doubleValue":`...)
		f := v.Double()
		switch {
		case math.IsNaN(f):
			dst = append(dst, `"NaN"`...)
		case math.IsInf(f, 1):
			dst = append(dst, `"Infinity"`...)
		case math.IsInf(f, -1):
			dst = append(dst, `"-Infinity"`...)
		default:
			dst = strconv.AppendFloat(dst, f, 'g', -1, 64)
		}
	case pcommon.ValueTypeBool:
		dst = append(dst, `{"boolValue":`...)
		dst = strconv.AppendBool(dst, v.Bool())
	case pcommon.ValueTypeBytes:
		dst = append(dst, `{"bytesValue":`...)
		dst = appendByteSlice(dst, v.Bytes())
	case pcommon.ValueTypeSlice:
		if depth >= maxDepth {
			return append(dst, `{"stringValue":"[too deep]"}`...)
		}
		dst = append(dst, `{"arrayValue":{"values":[`...)
		s := v.Slice()
		for i := 0; i < s.Len(); i++ {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = otlpValue(dst, s.At(i), depth+1)
		}
		dst = append(dst, "]}"...)
	case pcommon.ValueTypeMap:
		if depth >= maxDepth {
			return append(dst, `{"stringValue":"[too deep]"}`...)
		}
		dst = append(dst, `{"kvlistValue":{"values":[`...)
		i := 0
		for k, mv := range v.Map().All() {
			if i > 0 {
				dst = append(dst, ',')
			}
			i++
			dst = append(dst, `{"key":`...)
			dst = AppendString(dst, k)
			dst = append(dst, `,"value":`...)
			dst = otlpValue(dst, mv, depth+1)
			dst = append(dst, '}')
		}
		dst = append(dst, "]}"...)
	default:
		return append(dst, "{}"...)
	}
	return append(dst, '}')
}

func comma(dst []byte, n *int) []byte {
	if *n > 0 {
		dst = append(dst, ',')
	}
	*n++
	return dst
}

func optString(dst []byte, n *int, key, v string) []byte {
	if v == "" {
		return dst
	}
	dst = comma(dst, n)
	dst = append(dst, '"')
	dst = append(dst, key...)
	dst = append(dst, `":`...)
	return AppendString(dst, v)
}

func optTime(dst []byte, key string, ts pcommon.Timestamp) []byte {
	if ts == 0 {
		return dst
	}
	dst = append(dst, `,"`...)
	dst = append(dst, key...)
	dst = append(dst, `":"`...)
	dst = strconv.AppendUint(dst, uint64(ts), 10)
	return append(dst, '"')
}

func droppedCount(dst []byte, n *int, key string, c uint32) []byte {
	if c == 0 {
		return dst
	}
	dst = comma(dst, n)
	dst = append(dst, '"')
	dst = append(dst, key...)
	dst = append(dst, `":`...)
	return strconv.AppendUint(dst, uint64(c), 10)
}
