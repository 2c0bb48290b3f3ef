package sink // import "github.com/agent365-otel/agent365exporter/testbed/internal/sink"

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// serveOTLP answers POST /v1/traces like an OTLP/HTTP receiver: protobuf
// or JSON by Content-Type, gzip or deflate by Content-Encoding. It counts
// spans only; the Agent 365 checks, report and recording do not apply.
func (s *Server) serveOTLP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		rep := otlpError(false, http.StatusMethodNotAllowed, "use POST")
		rep.header.Set("Allow", http.MethodPost)
		s.finish(w, r, RouteOTLP, nil, rep)
		return
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var isJSON bool
	switch mt {
	case "application/json":
		isJSON = true
	case "application/x-protobuf", "application/protobuf":
	default:
		s.finish(w, r, RouteOTLP, nil, otlpError(false, http.StatusUnsupportedMediaType,
			fmt.Sprintf("unsupported Content-Type %q; send application/x-protobuf or application/json", mt)))
		return
	}
	raw, rep, ok, _ := s.prepare(r, "", "", s.cfg.MaxOTLPBodyBytes)
	if !ok {
		s.finish(w, r, RouteOTLP, raw, rep)
		return
	}
	s.finish(w, r, RouteOTLP, raw, s.handleOTLP(r, raw, isJSON))
}

func (s *Server) handleOTLP(r *http.Request, raw []byte, isJSON bool) reply {
	body, rep, ok := decodeContent(r, raw, s.cfg.MaxOTLPBodyBytes)
	if !ok {
		return otlpError(isJSON, rep.status, rep.msg)
	}
	var spans int
	switch {
	case s.cfg.Discard && isJSON:
		spans = countJSONSpans(body)
	case s.cfg.Discard:
		n, err := countProtoSpans(body)
		if err != nil {
			return otlpError(isJSON, http.StatusBadRequest, "invalid protobuf: "+err.Error())
		}
		spans = n
	default:
		req := ptraceotlp.NewExportRequest()
		var err error
		if isJSON {
			err = req.UnmarshalJSON(body)
		} else {
			err = req.UnmarshalProto(body)
		}
		if err != nil {
			return otlpError(isJSON, http.StatusBadRequest, "invalid OTLP request: "+err.Error())
		}
		spans = req.Traces().SpanCount()
	}
	s.mu.Lock()
	s.stats.OTLPSpans += int64(spans)
	s.mu.Unlock()

	resp := ptraceotlp.NewExportResponse()
	var out []byte
	var err error
	ct := "application/x-protobuf"
	if isJSON {
		out, err = resp.MarshalJSON()
		ct = "application/json"
	} else {
		out, err = resp.MarshalProto()
	}
	if err != nil {
		return otlpError(isJSON, http.StatusInternalServerError, err.Error())
	}
	return reply{status: http.StatusOK, body: out, spans: spans, header: http.Header{"Content-Type": {ct}}}
}

// otlpError is an OTLP/HTTP error answer: a google.rpc.Status, in protobuf
// or JSON.
func otlpError(isJSON bool, status int, msg string) reply {
	code := grpcCode(status)
	if isJSON {
		body, _ := json.Marshal(map[string]any{"code": code, "message": msg})
		return reply{status: status, body: body, msg: msg, header: http.Header{"Content-Type": {"application/json"}}}
	}
	// google.rpc.Status: code (1, varint), message (2, string).
	var body []byte
	if code != 0 {
		body = append(body, 0x08)
		body = binary.AppendUvarint(body, uint64(code))
	}
	body = append(body, 0x12)
	body = binary.AppendUvarint(body, uint64(len(msg)))
	body = append(body, msg...)
	return reply{status: status, body: body, msg: msg, header: http.Header{"Content-Type": {"application/x-protobuf"}}}
}

func grpcCode(status int) int {
	switch status {
	case http.StatusBadRequest:
		return 3 // INVALID_ARGUMENT
	case http.StatusUnauthorized:
		return 16 // UNAUTHENTICATED
	case http.StatusRequestEntityTooLarge:
		return 8 // RESOURCE_EXHAUSTED
	case http.StatusMethodNotAllowed, http.StatusUnsupportedMediaType:
		return 12 // UNIMPLEMENTED
	default:
		return 13 // INTERNAL
	}
}

// countProtoSpans counts the spans of an ExportTraceServiceRequest without
// decoding them: resource_spans (1) > scope_spans (2) > spans (2).
func countProtoSpans(b []byte) (int, error) {
	n := 0
	err := eachField(b, func(num int, v []byte) error {
		if num != 1 {
			return nil
		}
		return eachField(v, func(num int, v []byte) error {
			if num != 2 {
				return nil
			}
			return eachField(v, func(num int, _ []byte) error {
				if num == 2 {
					n++
				}
				return nil
			})
		})
	})
	return n, err
}

var errProto = errors.New("malformed protobuf")

// eachField calls fn with every length-delimited field of message b and
// skips the others.
func eachField(b []byte, fn func(num int, v []byte) error) error {
	for len(b) > 0 {
		key, n := binary.Uvarint(b)
		if n <= 0 {
			return errProto
		}
		b = b[n:]
		num, typ := int(key>>3), key&7
		switch typ {
		case 0: // varint
			_, n := binary.Uvarint(b)
			if n <= 0 {
				return errProto
			}
			b = b[n:]
		case 1: // fixed64
			if len(b) < 8 {
				return errProto
			}
			b = b[8:]
		case 5: // fixed32
			if len(b) < 4 {
				return errProto
			}
			b = b[4:]
		case 2: // length-delimited
			l, n := binary.Uvarint(b)
			if n <= 0 || l > uint64(len(b)-n) {
				return errProto
			}
			v := b[n : n+int(l)]
			b = b[n+int(l):]
			if err := fn(num, v); err != nil {
				return err
			}
		default:
			return errProto
		}
	}
	return nil
}
