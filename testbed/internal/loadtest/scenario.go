package loadtest // import "github.com/agent365-otel/agent365exporter/testbed/internal/loadtest"

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Exporter names the pipeline under test.
type Exporter string

const (
	// Agent365 is this project's exporter.
	Agent365 Exporter = "agent365"
	// OTLPHTTPJSON is the stock otlp_http exporter with encoding: json and
	// no compression, to a sink that accepts and discards.
	OTLPHTTPJSON Exporter = "otlphttp_json"
	// OTLPHTTPJSONGzip is the same with otlp_http's default gzip.
	OTLPHTTPJSONGzip Exporter = "otlphttp_json_gzip"
)

// Scenario is one measured run.
type Scenario struct {
	Exporter    Exporter
	Rate        float64       // spans per second
	Duration    time.Duration // of the load
	SinkLatency time.Duration // the sink's answer delay
	// Sample, when set, is called every SampleEvery while the load runs.
	Sample      func(Sample)
	SampleEvery time.Duration
}

// Sample is a reading taken during a run.
type Sample struct {
	At         time.Duration
	RSS        int64
	HeapAlloc  float64
	Goroutines int
	Delivered  int64
}

// Outcome is what a scenario measured.
type Outcome struct {
	Scenario   Scenario
	Load       Result
	Delivered  int64
	Lost       int64
	CPUSeconds float64
	PeakRSS    int64
	P50, P99   float64 // request latency of the exporter, seconds (agent365 only)
	Dropped    float64 // spans the agent365 exporter dropped, by its own count
}

// CPUPerMillion is collector CPU seconds per million delivered spans.
func (o Outcome) CPUPerMillion() float64 {
	if o.Delivered == 0 {
		return 0
	}
	return o.CPUSeconds / float64(o.Delivered) * 1e6
}

// Runner runs scenarios with the binaries in BinDir.
type Runner struct {
	BinDir  string
	WorkDir string
	Log     io.Writer
}

const token = "loadtest-token"

// Run runs one scenario: sink, collector, load, drain, readings.
func (r *Runner) Run(ctx context.Context, s Scenario) (Outcome, error) {
	out := Outcome{Scenario: s}
	ports, err := freePorts(5)
	if err != nil {
		return out, err
	}
	sinkPort, otlpPort, healthPort, metricsPort, pprofPort := ports[0], ports[1], ports[2], ports[3], ports[4]
	dir, err := os.MkdirTemp(r.WorkDir, string(s.Exporter)+"-")
	if err != nil {
		return out, err
	}
	sinkArgs := []string{"-listen", "127.0.0.1:" + strconv.Itoa(sinkPort), "-token", token, "-discard", "-quiet"}
	if s.SinkLatency > 0 {
		sinkArgs = append(sinkArgs, "-latency", s.SinkLatency.String())
	}
	sinkProc, err := Start(filepath.Join(r.BinDir, "a365sink"), filepath.Join(dir, "sink.log"), nil, sinkArgs...)
	if err != nil {
		return out, err
	}
	defer sinkProc.Stop()
	sinkURL := "http://127.0.0.1:" + strconv.Itoa(sinkPort)
	if err := waitOK(ctx, sinkURL+"/_sink/healthz", sinkProc); err != nil {
		return out, err
	}

	config := filepath.Join(dir, "collector.yaml")
	if err := os.WriteFile(config, []byte(CollectorConfig(s.Exporter, sinkPort, otlpPort, healthPort, metricsPort, pprofPort)), 0o644); err != nil {
		return out, err
	}
	col, err := Start(filepath.Join(r.BinDir, "otelcol-agent365"), filepath.Join(dir, "collector.log"), nil, "--config", config)
	if err != nil {
		return out, err
	}
	defer col.Stop()
	if err := waitOK(ctx, "http://127.0.0.1:"+strconv.Itoa(healthPort)+"/", col); err != nil {
		return out, err
	}

	gen, err := NewGenerator("http://127.0.0.1:"+strconv.Itoa(otlpPort)+"/v1/traces", 32, 25)
	if err != nil {
		return out, err
	}
	defer gen.Close()
	delivered := func() int64 {
		st, err := sinkStats(ctx, sinkURL)
		if err != nil {
			return -1
		}
		if s.Exporter == Agent365 {
			return st.SpansAccepted
		}
		return st.OTLPSpans
	}
	metricsURL := "http://127.0.0.1:" + strconv.Itoa(metricsPort) + "/metrics"
	pprofURL := "http://127.0.0.1:" + strconv.Itoa(pprofPort)

	cpu0, err := col.CPUSeconds()
	if err != nil {
		return out, err
	}
	sampleCtx, stopSampling := context.WithCancel(ctx)
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		if s.Sample == nil {
			return
		}
		begin := time.Now()
		tick := time.NewTicker(s.SampleEvery)
		defer tick.Stop()
		for {
			select {
			case <-sampleCtx.Done():
				return
			case <-tick.C:
				smp := Sample{At: time.Since(begin), Delivered: delivered()}
				smp.RSS, _, _ = col.Memory()
				if m, err := scrape(ctx, metricsURL); err == nil {
					smp.HeapAlloc = m.Sum("otelcol_process_runtime_heap_alloc_bytes")
				}
				smp.Goroutines, _ = goroutines(ctx, pprofURL)
				s.Sample(smp)
			}
		}
	}()
	workers := max(4, int(s.Rate*max(s.SinkLatency.Seconds(), 0.01)/float64(gen.SpansPerBatch()))*2)
	out.Load = gen.Run(ctx, s.Rate, s.Duration, min(workers, 256))
	stopSampling()
	<-sampled

	// Drain: wait until what the collector accepted has arrived, or stops arriving.
	last, lastChange := int64(-1), time.Now()
	for ctx.Err() == nil {
		n := delivered()
		if n >= out.Load.Accepted {
			break
		}
		if n != last {
			last, lastChange = n, time.Now()
		} else if time.Since(lastChange) > 10*time.Second {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	out.Delivered = delivered()
	out.Lost = out.Load.Offered - out.Delivered
	cpu1, err := col.CPUSeconds()
	if err != nil {
		return out, err
	}
	out.CPUSeconds = cpu1 - cpu0
	_, out.PeakRSS, _ = col.Memory()
	if m, err := scrape(ctx, metricsURL); err == nil {
		for name := range m {
			base, _, _ := strings.Cut(name, "{")
			if strings.HasPrefix(base, "otelcol_exporter_agent365_request_duration") && strings.HasSuffix(base, "_bucket") {
				h := m.Histogram(strings.TrimSuffix(base, "_bucket"))
				out.P50, out.P99 = Quantile(h, 0.5), Quantile(h, 0.99)
				break
			}
		}
		out.Dropped = m.Sum("otelcol_exporter_agent365_dropped_spans")
	}
	if col.Exited() {
		return out, fmt.Errorf("the collector exited during the run; see %s", dir)
	}
	return out, nil
}

// CollectorConfig is the same pipeline for every exporter: OTLP/HTTP in,
// then the exporter, which batches in its own sending_queue with the same
// settings as every other (in place of the batch processor, as the
// collector's batching migration recommends; the batch processor ran with
// send_batch_size 1024 and timeout 200ms before).
func CollectorConfig(e Exporter, sinkPort, otlpPort, healthPort, metricsPort, pprofPort int) string {
	const queue = `
    sending_queue:
      batch:
        flush_timeout: 200ms
        min_size: 1024`
	exporter := fmt.Sprintf(`  agent365:
    endpoint: http://127.0.0.1:%d
    auth:
      authenticator: agent365auth%s`, sinkPort, queue)
	name := "agent365"
	switch e {
	case OTLPHTTPJSON, OTLPHTTPJSONGzip:
		name = "otlp_http" // the stock otlphttp exporter's type; "otlphttp" is its deprecated alias
		compression := "none"
		if e == OTLPHTTPJSONGzip {
			compression = "gzip"
		}
		exporter = fmt.Sprintf(`  otlp_http:
    traces_endpoint: http://127.0.0.1:%d/v1/traces
    encoding: json
    compression: %s%s`, sinkPort, compression, queue)
	}
	return fmt.Sprintf(`extensions:
  agent365auth:
    static:
      token: %s
  health_check:
    endpoint: 127.0.0.1:%d
  pprof:
    endpoint: 127.0.0.1:%d
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:%d
exporters:
%s
service:
  extensions: [agent365auth, health_check, pprof]
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [%s]
  telemetry:
    logs:
      level: warn
    metrics:
      level: normal
      readers:
        - pull:
            exporter:
              prometheus:
                host: 127.0.0.1
                port: %d
`, token, healthPort, pprofPort, otlpPort, exporter, name, metricsPort)
}

func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func waitOK(ctx context.Context, url string, p *Proc) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if p.Exited() {
			return fmt.Errorf("%s exited: %v", p.Name, p.err)
		}
		if body, err := get(ctx, url); err == nil && body != nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s did not answer at %s", p.Name, url)
}

func get(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: HTTP %d", url, resp.StatusCode)
	}
	return body, nil
}

type sinkStatsBody struct {
	SpansAccepted int64 `json:"spans_accepted"`
	OTLPSpans     int64 `json:"otlp_spans"`
}

func sinkStats(ctx context.Context, base string) (sinkStatsBody, error) {
	var st sinkStatsBody
	body, err := get(ctx, base+"/_sink/stats")
	if err != nil {
		return st, err
	}
	return st, json.Unmarshal(body, &st)
}

func scrape(ctx context.Context, url string) (Metrics, error) {
	body, err := get(ctx, url)
	if err != nil {
		return nil, err
	}
	return ParseMetrics(string(body)), nil
}

// goroutines reads the count from the pprof extension's goroutine profile.
func goroutines(ctx context.Context, base string) (int, error) {
	body, err := get(ctx, base+"/debug/pprof/goroutine?debug=1")
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(body), "\n")
	const prefix = "goroutine profile: total "
	if !strings.HasPrefix(line, prefix) {
		return 0, errors.New("unexpected goroutine profile")
	}
	return strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, prefix)))
}
