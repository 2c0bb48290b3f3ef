package agent365receiver // import "github.com/agent365-otel/agent365exporter/receiver"

import (
	"encoding/json"
	"net/http"
	"strings"

	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// answer is the receiver's reply to one request.
type answer struct {
	status int
	// message says what is wrong (errors), or why spans were rejected (200).
	message string
	// rejected is the partialSuccess count of a 200.
	rejected int
	// retryAfter: send Retry-After (429 and 503 the client should retry).
	retryAfter bool
	// allow is the Allow header of a 405.
	allow string
}

func errorAnswer(status int, message string) answer { return answer{status: status, message: message} }

// pipelineAnswer maps the pipeline's error as the OTLP receiver does
// (errors.GetStatusFromError, then GetHTTPStatusCodeFromStatus): an error
// with a gRPC status keeps its code; any other error is retryable, 503
// with Retry-After, so that the SDK tries again instead of losing the
// spans (the memory_limiter's refusal, a full sending queue). One
// difference: a permanent error without a status is 400, not the OTLP
// receiver's 500, because the SDKs retry every 5xx and a permanent error
// does not get better when the same data comes again.
func pipelineAnswer(err error) answer {
	if s, ok := status.FromError(err); ok {
		code := httpStatusOf(s.Code())
		return answer{status: code, message: s.Message(), retryAfter: code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable}
	}
	if consumererror.IsPermanent(err) {
		return errorAnswer(http.StatusBadRequest, "the collector's pipeline refused the spans: "+err.Error())
	}
	return answer{status: http.StatusServiceUnavailable, retryAfter: true,
		message: "the collector cannot take the spans now; retry later: " + err.Error()}
}

// httpStatusOf is the OTLP receiver's GetHTTPStatusCodeFromStatus.
func httpStatusOf(c codes.Code) int {
	switch c {
	case codes.Canceled, codes.DeadlineExceeded, codes.Aborted, codes.OutOfRange, codes.Unavailable, codes.DataLoss:
		return http.StatusServiceUnavailable
	case codes.ResourceExhausted:
		return http.StatusTooManyRequests
	case codes.InvalidArgument:
		return http.StatusBadRequest
	case codes.Unauthenticated:
		return http.StatusUnauthorized
	case codes.PermissionDenied:
		return http.StatusForbidden
	case codes.Unimplemented:
		return http.StatusNotFound
	default:
		return http.StatusInternalServerError
	}
}

// grpcCodeOf is the gRPC code of an HTTP status, for protobuf error bodies.
func grpcCodeOf(status int) codes.Code {
	switch status {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
		return codes.InvalidArgument
	case http.StatusUnauthorized:
		return codes.Unauthenticated
	case http.StatusForbidden:
		return codes.PermissionDenied
	case http.StatusNotFound, http.StatusMethodNotAllowed:
		return codes.Unimplemented
	case http.StatusTooManyRequests:
		return codes.ResourceExhausted
	case http.StatusServiceUnavailable:
		return codes.Unavailable
	}
	return codes.Internal
}

// errorCode names a status as the service's error bodies do.
func errorCode(status int) string {
	if status == http.StatusRequestEntityTooLarge {
		return "PayloadTooLarge"
	}
	return strings.ReplaceAll(http.StatusText(status), " ", "")
}

type partialSuccess struct {
	RejectedSpans int    `json:"rejectedSpans"`
	ErrorMessage  string `json:"errorMessage"`
}

// writeAnswer writes a in the shape the client sent: protobuf bodies get
// an OTLP ExportTraceServiceResponse (or a google.rpc.Status); JSON and
// everything else get the service's JSON, {"partialSuccess":{...}} or
// {"error":{"code":...,"message":...}}.
func writeAnswer(w http.ResponseWriter, kind bodyKind, a answer, retryAfter string) {
	h := w.Header()
	if a.retryAfter {
		h.Set("Retry-After", retryAfter)
	}
	if a.allow != "" {
		h.Set("Allow", a.allow)
	}
	var body []byte
	var err error
	switch {
	case kind == kindProtobuf && a.status == http.StatusOK:
		resp := ptraceotlp.NewExportResponse()
		resp.PartialSuccess().SetRejectedSpans(int64(a.rejected))
		resp.PartialSuccess().SetErrorMessage(a.message)
		body, err = resp.MarshalProto()
	case kind == kindProtobuf:
		body, err = proto.Marshal(status.New(grpcCodeOf(a.status), a.message).Proto())
	case a.status == http.StatusOK:
		body, err = json.Marshal(struct {
			PartialSuccess partialSuccess `json:"partialSuccess"`
		}{partialSuccess{RejectedSpans: a.rejected, ErrorMessage: a.message}})
	default:
		body, err = json.Marshal(map[string]any{"error": map[string]string{"code": errorCode(a.status), "message": a.message}})
	}
	if err != nil {
		// Only a broken encoder gets here; the status still tells the client.
		body, kind = nil, kindJSON
	}
	if kind == kindProtobuf {
		h.Set("Content-Type", contentTypeProtobuf)
	} else {
		h.Set("Content-Type", contentTypeJSON)
	}
	w.WriteHeader(a.status)
	_, _ = w.Write(body)
}
