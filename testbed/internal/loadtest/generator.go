package loadtest // import "github.com/agent365-otel/agent365exporter/testbed/internal/loadtest"

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/agent365-otel/agent365exporter/internal/sample"
)

// Protocol is how the generator sends OTLP.
type Protocol string

const (
	// HTTP is OTLP/HTTP with protobuf bodies.
	HTTP Protocol = "http"
	// GRPC is OTLP/gRPC.
	GRPC Protocol = "grpc"
)

// ParseProtocol reads a -protocol flag.
func ParseProtocol(s string) (Protocol, error) {
	switch p := Protocol(s); p {
	case HTTP, GRPC:
		return p, nil
	}
	return "", fmt.Errorf("protocol %q: use %q or %q", s, HTTP, GRPC)
}

// Generator sends realistic agent spans over OTLP at a fixed rate. Its
// batches are encoded once, so that the load costs the generator little
// CPU next to the collector on the same machine.
type Generator struct {
	send    func(ctx context.Context, body []byte) error
	close   func()
	batches [][]byte
	spans   int // per batch
}

// NewGenerator prepares n distinct batches of turns conversation turns
// (four spans each) for the OTLP receiver at addr (host:port) over proto.
func NewGenerator(proto Protocol, addr string, n, turns int) (*Generator, error) {
	g := &Generator{}
	start := time.Now()
	for i := range n {
		td := sample.Traces(sample.DefaultAgents, turns, start.Add(time.Duration(i)*time.Minute), sample.Options{})
		b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
		if err != nil {
			return nil, err
		}
		g.batches = append(g.batches, b)
		g.spans = td.SpanCount()
	}
	switch proto {
	case GRPC:
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return nil, err
		}
		g.send = func(ctx context.Context, body []byte) error {
			var reply rawMessage
			return conn.Invoke(ctx, traceExportMethod, rawMessage(body), &reply, grpc.ForceCodec(rawCodec{}))
		}
		g.close = func() { _ = conn.Close() }
	default:
		client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
		url := "http://" + addr + "/v1/traces"
		g.send = func(ctx context.Context, body []byte) error { return postProto(ctx, client, url, body) }
		g.close = client.CloseIdleConnections
	}
	return g, nil
}

// SpansPerBatch is the number of spans in each request.
func (g *Generator) SpansPerBatch() int { return g.spans }

// Result counts what a run offered and what the collector took.
type Result struct {
	Offered  int64 // spans the schedule asked for
	Accepted int64 // spans the collector answered success for
	Refused  int64 // spans it answered otherwise, that failed to send, or that found the backlog full
	Elapsed  time.Duration
	// Answer times of the collector's receiver: median, 99th percentile, longest.
	P50, P99, Max time.Duration
}

// Close releases the generator's connections.
func (g *Generator) Close() { g.close() }

// Run sends at rate spans per second for d, with up to workers requests in
// flight and up to backlog batches waiting for a worker, as an SDK's
// export queue holds spans while its exporter is busy. A batch that finds
// the backlog full is offered but counted as refused: the schedule does
// not slow down for a collector that falls behind.
func (g *Generator) Run(ctx context.Context, rate float64, d time.Duration, workers, backlog int) Result {
	interval := time.Duration(float64(time.Second) * float64(g.spans) / rate)
	jobs := make(chan []byte, backlog)
	var accepted, refused atomic.Int64
	var wg sync.WaitGroup
	took := make([][]time.Duration, workers)
	for w := range workers {
		wg.Go(func() {
			for body := range jobs {
				start := time.Now()
				err := g.send(ctx, body)
				took[w] = append(took[w], time.Since(start))
				if err == nil {
					accepted.Add(int64(g.spans))
				} else {
					refused.Add(int64(g.spans))
				}
			}
		})
	}
	var offered int64
	begin := time.Now()
	next := begin
	timer := time.NewTimer(0)
	defer timer.Stop()
	for i := 0; time.Since(begin) < d && ctx.Err() == nil; i++ {
		next = next.Add(interval)
		select {
		case jobs <- g.batches[i%len(g.batches)]:
		default:
			refused.Add(int64(g.spans)) // the collector is not keeping up
		}
		offered += int64(g.spans)
		if wait := time.Until(next); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-ctx.Done():
			}
		}
	}
	close(jobs)
	wg.Wait()
	res := Result{Offered: offered, Accepted: accepted.Load(), Refused: refused.Load(), Elapsed: time.Since(begin)}
	all := slices.Concat(took...)
	if n := len(all); n > 0 {
		slices.Sort(all)
		res.P50, res.P99, res.Max = all[n/2], all[min(n-1, n*99/100)], all[n-1]
	}
	return res
}

func postProto(ctx context.Context, client *http.Client, url string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return nil
}

// traceExportMethod is OTLP/gRPC's trace export.
const traceExportMethod = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"

// rawMessage is a protobuf message already encoded: the generator sends its
// prepared batches as they are, and does not decode the answers.
type rawMessage []byte

// rawCodec passes rawMessage through.
type rawCodec struct{}

func (rawCodec) Name() string { return "proto" }

func (rawCodec) Marshal(v any) ([]byte, error) {
	m, ok := v.(rawMessage)
	if !ok {
		return nil, errors.New("rawCodec: not a rawMessage")
	}
	return m, nil
}

func (rawCodec) Unmarshal(data []byte, v any) error {
	m, ok := v.(*rawMessage)
	if !ok {
		return errors.New("rawCodec: not a *rawMessage")
	}
	*m = append((*m)[:0], data...)
	return nil
}
