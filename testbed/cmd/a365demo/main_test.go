package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestSendHTTP(t *testing.T) {
	var mu sync.Mutex
	var spans int
	var header string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req := ptraceotlp.NewExportRequest()
		require.NoError(t, req.UnmarshalProto(body))
		mu.Lock()
		spans += req.Traces().SpanCount()
		header = r.Header.Get("x-a365-token")
		mu.Unlock()
		resp, _ := ptraceotlp.NewExportResponse().MarshalProto()
		_, _ = w.Write(resp)
	}))
	defer srv.Close()
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"-protocol", "http", "-endpoint", srv.URL, "-turns", "3", "-token", "obo"}, &out))
	assert.Equal(t, 24, spans, "3 turns of 2 agents, 4 spans each")
	assert.Equal(t, "obo", header)
	assert.Contains(t, out.String(), "sent 24 spans (3 turns of 2 agents in 2 tenants)")
}

func TestConversationOmitsForTheSecondAgent(t *testing.T) {
	td := conversation(1, false, time.Unix(0, 0))
	require.Equal(t, 2, td.ResourceSpans().Len())
	first := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes()
	second := td.ResourceSpans().At(1).ScopeSpans().At(0).Spans().At(0).Attributes()
	for _, k := range omitted {
		if k == "gen_ai.tool.type" {
			continue // execute_tool spans only
		}
		_, in1 := first.Get(k)
		_, in2 := second.Get(k)
		assert.True(t, in1, k)
		assert.False(t, in2, k)
	}
}

func TestWaitAndReport(t *testing.T) {
	var accepted int64
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/_sink/stats":
			mu.Lock()
			accepted += 12
			n := accepted
			mu.Unlock()
			_, _ = io.WriteString(w, `{"spans_accepted":`+strconv.FormatInt(n, 10)+`}`)
		case "/_sink/report.txt":
			_, _ = io.WriteString(w, "the report")
		default:
			w.WriteHeader(http.StatusOK)
		}
	}))
	defer srv.Close()
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"wait", "-timeout", "5s", srv.URL + "/healthz"}, &out))
	require.NoError(t, run(context.Background(), []string{"report", "-expect", "24", "-timeout", "5s", srv.URL}, &out))
	assert.Contains(t, out.String(), "the report")

	err := run(context.Background(), []string{"report", "-expect", "1000000", "-timeout", "300ms", srv.URL}, &out)
	require.ErrorContains(t, err, "of 1000000 spans arrived")
	err = run(context.Background(), []string{"wait", "-timeout", "200ms", "http://127.0.0.1:1/"}, &out)
	require.ErrorContains(t, err, "did not answer 200")
}

func TestFlagErrors(t *testing.T) {
	var out bytes.Buffer
	assert.ErrorContains(t, run(context.Background(), []string{"-turns", "0"}, &out), "-turns must be between 1 and 10000")
	assert.ErrorContains(t, run(context.Background(), []string{"-protocol", "udp"}, &out), "-protocol must be grpc or http")
	assert.ErrorContains(t, run(context.Background(), []string{"wait"}, &out), "usage: a365demo wait")
}
