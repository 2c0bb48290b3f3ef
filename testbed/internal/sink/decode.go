package sink // import "github.com/agent365-otel/agent365exporter/testbed/internal/sink"

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/agent365-otel/agent365exporter/internal/payload"
)

// decodeContent undoes the request's Content-Encoding, within limit bytes.
func decodeContent(r *http.Request, raw []byte, limit int64) ([]byte, reply, bool) {
	var zr io.ReadCloser
	var err error
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
		return raw, reply{}, true
	case "gzip", "x-gzip":
		zr, err = gzip.NewReader(bytes.NewReader(raw))
	case "deflate":
		zr, err = zlib.NewReader(bytes.NewReader(raw))
	default:
		return nil, errorReply(http.StatusUnsupportedMediaType, "UnsupportedMediaType",
			fmt.Sprintf("unsupported Content-Encoding %q; send gzip, deflate or none", enc)), false
	}
	if err != nil {
		return nil, errorReply(http.StatusBadRequest, "BadRequest", "decompressing the body: "+err.Error()), false
	}
	defer zr.Close()
	body, err := io.ReadAll(io.LimitReader(zr, limit+1))
	if err != nil {
		return nil, errorReply(http.StatusBadRequest, "BadRequest", "decompressing the body: "+err.Error()), false
	}
	if int64(len(body)) > limit {
		return nil, errorReply(http.StatusRequestEntityTooLarge, "PayloadTooLarge",
			fmt.Sprintf("decompressed request body is larger than %d bytes", limit)), false
	}
	return body, reply{}, true
}

// decodeBody reads a body into pdata and names its format, as the
// agent365 receiver does: OTLP/JSON (protojson, attributes as key/value
// arrays) with pdata's reader, else the SDKs' flattened shape with
// payload.DecodeA365, the inverse of the exporter's encoder. pdata refuses
// every SDK body with a span (kind and status code are "CLIENT", "UNSET",
// not protojson's enum names) and DecodeA365 refuses attribute arrays, so
// trying OTLP/JSON first reads each body as what it is. The error names
// where the body is wrong, as a path.
func decodeBody(body []byte) (ptrace.Traces, string, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return ptrace.NewTraces(), FormatA365, errors.New(`the body is empty; send {"resourceSpans":[...]}`)
	}
	if td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(body); err == nil {
		return td, FormatOTLPJSON, nil
	}
	td, err := payload.DecodeA365(body)
	if err != nil {
		return td, FormatA365, fmt.Errorf("the body is not Agent 365 SDK JSON (nor OTLP/JSON): %w", err)
	}
	return td, FormatA365, nil
}

// countJSONSpans counts spans without decoding: every span, and nothing
// else, has a start time.
func countJSONSpans(body []byte) int {
	return bytes.Count(body, []byte(`"startTimeUnixNano"`)) + bytes.Count(body, []byte(`"start_time_unix_nano"`))
}
