package agent365receiver // import "github.com/agent365-otel/agent365exporter/receiver"

import (
	"fmt"
	"mime"
	"strings"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/agent365-otel/agent365exporter/internal/payload"
)

// bodyKind is what the Content-Type announces.
type bodyKind int

const (
	kindJSON bodyKind = iota + 1
	kindProtobuf
)

const (
	contentTypeJSON     = "application/json"
	contentTypeProtobuf = "application/x-protobuf"
)

// Body formats, as the obsreport "format" of a request.
const (
	formatA365     = "a365_json"
	formatOTLPJSON = "otlp_json"
	formatProtobuf = "otlp_protobuf"
)

// kindOf reads the media type of a Content-Type header.
func kindOf(contentType string) (bodyKind, bool) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return 0, false
	}
	switch strings.ToLower(mt) {
	case contentTypeJSON:
		return kindJSON, true
	case contentTypeProtobuf:
		return kindProtobuf, true
	}
	return 0, false
}

// decode reads a body into pdata and names its format.
//
// JSON bodies are either the SDKs' flattened shape (attributes as objects,
// kind and status code as names such as "CLIENT" and "UNSET") or OTLP/JSON
// (protojson: attributes as key/value arrays), which Microsoft Learn
// documents for the same routes. pdata's OTLP/JSON reader refuses every
// SDK body with a span (the SDKs write kind and status code as "CLIENT",
// "UNSET", which are not protojson's enum names), and
// the SDK decoder refuses OTLP/JSON attribute arrays, so trying OTLP/JSON
// first reads each body as what it is; a body both accept holds nothing on
// which they differ except what only OTLP/JSON carries (trace state,
// flags, dropped counts), which the OTLP reader keeps.
func decode(kind bodyKind, body []byte) (ptrace.Traces, string, error) {
	if kind == kindProtobuf {
		td, err := (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(body)
		if err != nil {
			return td, formatProtobuf, fmt.Errorf("the body is not an OTLP protobuf ExportTraceServiceRequest: %w", err)
		}
		return td, formatProtobuf, nil
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return ptrace.NewTraces(), formatA365, fmt.Errorf("the body is empty; send {\"resourceSpans\":[...]}")
	}
	if td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(body); err == nil {
		return td, formatOTLPJSON, nil
	}
	td, err := payload.DecodeA365(body)
	if err != nil {
		return td, formatA365, fmt.Errorf("the body is not Agent 365 SDK JSON (nor OTLP/JSON): %w", err)
	}
	return td, formatA365, nil
}
