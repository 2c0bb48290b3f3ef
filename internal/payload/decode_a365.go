package payload // import "github.com/agent365-otel/agent365exporter/internal/payload"

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// DecodeA365 reads a body in the flattened shape of the Agent 365 SDKs, the
// shape A365 writes, into pdata. It is A365's inverse: what A365 writes of
// the spans it returns decodes to the same spans, and is written again byte
// for byte.
//
// It also reads what other SDK versions write:
//   - ids in either case of hex (exactly 32 or 16 digits; an all-zero trace
//     or span id is an error, an empty or all-zero parentSpanId no parent);
//   - times as integers, as numbers with a fraction or exponent (rounded to
//     the nearest nanosecond: the Node SDK computes them in floating point),
//     or as strings holding such a number;
//   - kind and status code as names in any case ("CLIENT", "SPAN_KIND_CLIENT",
//     "ok") or as their OTLP numbers;
//   - null, absent, empty lists and empty objects wherever a value is optional.
//
// Attribute values keep their JSON types: integers that fit in an int64 are
// ints, other numbers doubles, null an empty value; arrays and objects nest
// up to the depth A365 writes. Of an object with a repeated key the last
// value is kept, at the first key's place (as JSON.parse does). Invalid
// UTF-8 and lone surrogates become U+FFFD. A missing or empty scope name is
// "unknown", as A365 writes it. Unknown keys are skipped, and so are the
// known ones A365 has no place for (schema URLs, trace state, flags,
// dropped counts, scope attributes).
//
// Errors say where the body is wrong, as a path:
// resourceSpans[0].scopeSpans[1].spans[3].spanId: "xyz" is not 16 hex digits.
//
// data is copied once, and may be reused when DecodeA365 returns; the
// strings of the spans share that copy.
func DecodeA365(data []byte) (ptrace.Traces, error) {
	r := reader{s: string(data)}
	td := ptrace.NewTraces()
	if err := r.a365Body(td); err != nil {
		return ptrace.NewTraces(), err
	}
	return td, nil
}

// members reads an object, calling member for each key with the reader at
// the key's value. The caller has checked that an object is next.
func (r *reader) members(member func(key string) error) error {
	key, more, err := r.openObject()
	for ; more && err == nil; key, more, err = r.nextMember() {
		if err = member(key); err != nil {
			return err
		}
	}
	return err
}

// object is members for a value that must be an object, or null (no members).
func (r *reader) object(member func(key string) error) error {
	if r.null() {
		return nil
	}
	if r.ws() != '{' {
		return r.wrongType("an object")
	}
	return r.members(member)
}

// list reads an array, or null (no elements), calling elem for each element.
func (r *reader) list(elem func() error) error {
	if r.null() {
		return nil
	}
	if r.ws() != '[' {
		return r.wrongType("an array")
	}
	var err error
	more := r.openArray()
	for i := 0; more && err == nil; i++ {
		r.pushIndex(i)
		if err = elem(); err != nil {
			return err
		}
		r.pop()
		more, err = r.nextElement()
	}
	return err
}

// objectElem is an element of a list that must be an object.
func (r *reader) objectElem(member func(key string) error) error {
	if r.ws() != '{' {
		return r.wrongType("an object")
	}
	return r.members(member)
}

// field reads the value of known key once, with key on the path; seen
// holds the keys of the object already read.
func (r *reader) field(seen *uint16, bit uint16, key string, read func() error) error {
	if *seen&bit != 0 {
		return r.syntax("duplicate key " + quoteShort(key))
	}
	*seen |= bit
	r.pushField(key)
	if err := read(); err != nil {
		return err
	}
	r.pop()
	return nil
}

func (r *reader) wrongType(want string) error {
	return r.syntax("want " + want + ", got " + r.kindOf())
}

func (r *reader) a365Body(td ptrace.Traces) error {
	if r.ws() != '{' {
		return r.wrongType("an object")
	}
	var seen uint16
	err := r.members(func(key string) error {
		if key != "resourceSpans" {
			return r.skip(0)
		}
		return r.field(&seen, 1, key, func() error {
			rss := td.ResourceSpans()
			return r.list(func() error { return r.resourceSpans(rss.AppendEmpty()) })
		})
	})
	if err != nil {
		return err
	}
	r.ws()
	if r.i < len(r.s) {
		return r.syntax("data after the body")
	}
	return nil
}

func (r *reader) resourceSpans(rs ptrace.ResourceSpans) error {
	var seen uint16
	return r.objectElem(func(key string) error {
		switch key {
		case "resource":
			return r.field(&seen, 1, key, func() error {
				return r.object(func(key string) error {
					if key != "attributes" {
						return r.skip(0)
					}
					return r.field(&seen, 2, key, func() error { return r.attributes(rs.Resource().Attributes(), 0, &r.sizes.resource) })
				})
			})
		case "scopeSpans":
			return r.field(&seen, 4, key, func() error {
				sss := rs.ScopeSpans()
				return r.list(func() error { return r.scopeSpans(sss.AppendEmpty()) })
			})
		}
		return r.skip(0)
	})
}

func (r *reader) scopeSpans(ss ptrace.ScopeSpans) error {
	var seen uint16
	sc := ss.Scope()
	err := r.objectElem(func(key string) error {
		switch key {
		case "scope":
			return r.field(&seen, 1, key, func() error {
				return r.object(func(key string) error {
					switch key {
					case "name":
						return r.field(&seen, 2, key, func() error { return r.optString(sc.SetName) })
					case "version":
						return r.field(&seen, 4, key, func() error { return r.optString(sc.SetVersion) })
					}
					return r.skip(0)
				})
			})
		case "spans":
			return r.field(&seen, 8, key, func() error {
				spans := ss.Spans()
				return r.list(func() error { return r.span(spans.AppendEmpty()) })
			})
		}
		return r.skip(0)
	})
	// A365 writes an empty scope name as "unknown".
	if sc.Name() == "" {
		sc.SetName("unknown")
	}
	return err
}

func (r *reader) span(span ptrace.Span) error {
	var seen uint16
	const traceID, spanID = 1, 2
	err := r.objectElem(func(key string) error {
		switch key {
		case "traceId":
			return r.field(&seen, traceID, key, func() error {
				var id pcommon.TraceID
				err := r.hexID(id[:], false)
				span.SetTraceID(id)
				return err
			})
		case "spanId":
			return r.field(&seen, spanID, key, func() error {
				var id pcommon.SpanID
				err := r.hexID(id[:], false)
				span.SetSpanID(id)
				return err
			})
		case "parentSpanId":
			return r.field(&seen, 1<<2, key, func() error {
				var id pcommon.SpanID
				err := r.hexID(id[:], true)
				span.SetParentSpanID(id)
				return err
			})
		case "name":
			return r.field(&seen, 1<<3, key, func() error { return r.optString(span.SetName) })
		case "kind":
			return r.field(&seen, 1<<4, key, func() error { return r.spanKind(span) })
		case "startTimeUnixNano":
			return r.field(&seen, 1<<5, key, func() error { return r.timestamp(span.SetStartTimestamp) })
		case "endTimeUnixNano":
			return r.field(&seen, 1<<6, key, func() error { return r.timestamp(span.SetEndTimestamp) })
		case "attributes":
			return r.field(&seen, 1<<7, key, func() error { return r.attributes(span.Attributes(), 0, &r.sizes.span) })
		case "events":
			return r.field(&seen, 1<<8, key, func() error {
				events := span.Events()
				return r.list(func() error { return r.event(events.AppendEmpty()) })
			})
		case "links":
			return r.field(&seen, 1<<9, key, func() error {
				links := span.Links()
				return r.list(func() error { return r.link(links.AppendEmpty()) })
			})
		case "status":
			return r.field(&seen, 1<<10, key, func() error { return r.status(span.Status()) })
		}
		return r.skip(0)
	})
	if err != nil {
		return err
	}
	return r.requireIDs(seen&traceID != 0, seen&spanID != 0)
}

func (r *reader) requireIDs(trace, span bool) error {
	switch {
	case !trace:
		return r.fail("traceId is missing")
	case !span:
		return r.fail("spanId is missing")
	}
	return nil
}

func (r *reader) event(ev ptrace.SpanEvent) error {
	var seen uint16
	return r.objectElem(func(key string) error {
		switch key {
		case "timeUnixNano":
			return r.field(&seen, 1, key, func() error { return r.timestamp(ev.SetTimestamp) })
		case "name":
			return r.field(&seen, 2, key, func() error { return r.optString(ev.SetName) })
		case "attributes":
			return r.field(&seen, 4, key, func() error { return r.attributes(ev.Attributes(), 0, &r.sizes.event) })
		}
		return r.skip(0)
	})
}

func (r *reader) link(l ptrace.SpanLink) error {
	var seen uint16
	const traceID, spanID = 1, 2
	err := r.objectElem(func(key string) error {
		switch key {
		case "traceId":
			return r.field(&seen, traceID, key, func() error {
				var id pcommon.TraceID
				err := r.hexID(id[:], false)
				l.SetTraceID(id)
				return err
			})
		case "spanId":
			return r.field(&seen, spanID, key, func() error {
				var id pcommon.SpanID
				err := r.hexID(id[:], false)
				l.SetSpanID(id)
				return err
			})
		case "attributes":
			return r.field(&seen, 4, key, func() error { return r.attributes(l.Attributes(), 0, &r.sizes.link) })
		}
		return r.skip(0)
	})
	if err != nil {
		return err
	}
	return r.requireIDs(seen&traceID != 0, seen&spanID != 0)
}

func (r *reader) status(st ptrace.Status) error {
	var seen uint16
	return r.object(func(key string) error {
		switch key {
		case "code":
			return r.field(&seen, 1, key, func() error { return r.statusCode(st) })
		case "message":
			return r.field(&seen, 2, key, func() error { return r.optString(st.SetMessage) })
		}
		return r.skip(0)
	})
}
