package loadtest

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
)

type countingTraceServer struct {
	ptraceotlp.UnimplementedGRPCServer
	spans atomic.Int64
}

func (s *countingTraceServer) Export(_ context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	s.spans.Add(int64(req.Traces().SpanCount()))
	return ptraceotlp.NewExportResponse(), nil
}

// TestGeneratorSends: over either protocol, what the generator counts as
// accepted is what an OTLP receiver decoded, and every span offered is
// accepted or refused.
func TestGeneratorSends(t *testing.T) {
	var received atomic.Int64
	httpSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		req := ptraceotlp.NewExportRequest()
		if err != nil || r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" || req.UnmarshalProto(body) != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		received.Add(int64(req.Traces().SpanCount()))
	}))
	defer httpSrv.Close()

	grpcSrv := grpc.NewServer()
	counter := &countingTraceServer{}
	ptraceotlp.RegisterGRPCServer(grpcSrv, counter)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	served := make(chan struct{})
	go func() { defer close(served); _ = grpcSrv.Serve(l) }()
	defer func() { grpcSrv.Stop(); <-served }()

	tests := []struct {
		proto Protocol
		addr  string
		count *atomic.Int64
	}{
		{HTTP, httpSrv.Listener.Addr().String(), &received},
		{GRPC, l.Addr().String(), &counter.spans},
	}
	for _, tt := range tests {
		t.Run(string(tt.proto), func(t *testing.T) {
			g, err := NewGenerator(tt.proto, tt.addr, 2, 5)
			require.NoError(t, err)
			defer g.Close()
			assert.Equal(t, 20, g.SpansPerBatch())
			res := g.Run(t.Context(), 2000, 200*time.Millisecond, 2, 4)
			assert.Positive(t, res.Offered)
			assert.Positive(t, res.Accepted)
			assert.Equal(t, res.Offered, res.Accepted+res.Refused)
			assert.Equal(t, res.Accepted, tt.count.Load())
		})
	}
}

func TestParseProtocol(t *testing.T) {
	p, err := ParseProtocol("grpc")
	require.NoError(t, err)
	assert.Equal(t, GRPC, p)
	_, err = ParseProtocol("udp")
	assert.Error(t, err)
}
