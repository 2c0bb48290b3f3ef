package loadtest // import "github.com/agent365-otel/agent365exporter/testbed/internal/loadtest"

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/agent365-otel/agent365exporter/internal/sample"
)

// Generator sends realistic agent spans over OTLP/HTTP (protobuf) at a
// fixed rate. Its batches are encoded once, so that the load costs the
// generator little CPU next to the collector on the same machine.
type Generator struct {
	url     string
	client  *http.Client
	batches [][]byte
	spans   int // per batch
}

// NewGenerator prepares n distinct batches of turns conversation turns
// (four spans each) for the OTLP/HTTP receiver at url.
func NewGenerator(url string, n, turns int) (*Generator, error) {
	g := &Generator{url: url, client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
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
	return g, nil
}

// SpansPerBatch is the number of spans in each request.
func (g *Generator) SpansPerBatch() int { return g.spans }

// Result counts what a run offered and what the collector took.
type Result struct {
	Offered  int64 // spans the schedule asked for
	Accepted int64 // spans the collector answered 200 for
	Refused  int64 // spans it answered otherwise, or that failed to send
	Elapsed  time.Duration
}

// Close releases the generator's connections.
func (g *Generator) Close() { g.client.CloseIdleConnections() }

// Run sends at rate spans per second for d, with up to workers requests in
// flight. A batch the workers cannot take on time is offered but counted
// as refused: the schedule does not slow down.
func (g *Generator) Run(ctx context.Context, rate float64, d time.Duration, workers int) Result {
	interval := time.Duration(float64(time.Second) * float64(g.spans) / rate)
	jobs := make(chan []byte, workers)
	var accepted, refused atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for body := range jobs {
				if g.send(ctx, body) == nil {
					accepted.Add(int64(g.spans))
				} else {
					refused.Add(int64(g.spans))
				}
			}
		}()
	}
	var offered int64
	begin := time.Now()
	next := begin
	for i := 0; time.Since(begin) < d && ctx.Err() == nil; i++ {
		next = next.Add(interval)
		select {
		case jobs <- g.batches[i%len(g.batches)]:
		default:
			refused.Add(int64(g.spans)) // the collector is not keeping up
		}
		offered += int64(g.spans)
		if wait := time.Until(next); wait > 0 {
			select {
			case <-time.After(wait):
			case <-ctx.Done():
			}
		}
	}
	close(jobs)
	wg.Wait()
	return Result{Offered: offered, Accepted: accepted.Load(), Refused: refused.Load(), Elapsed: time.Since(begin)}
}

func (g *Generator) send(ctx context.Context, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	resp, err := g.client.Do(req)
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
