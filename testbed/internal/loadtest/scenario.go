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
	"sync"
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
	Protocol    Protocol      // how the load is sent; HTTP when empty
	Rate        float64       // spans per second
	Duration    time.Duration // of the load
	SinkLatency time.Duration // the sink's answer delay
	// Senders is the number of requests the generator keeps in flight at
	// most (default 32, more when the sink answers slowly).
	Senders int
	// Profile, when set, is the length of a CPU profile of the collector
	// taken while the load runs (after a quarter of it, at most 5 s).
	Profile time.Duration
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
	Dir        string // the run's configuration, logs and profile
	Load       Result
	Delivered  int64
	Lost       int64
	CPUSeconds float64 // the collector's
	PeakRSS    int64
	P50, P99   float64 // request latency of the exporter, seconds (agent365 only)
	Dropped    float64 // spans the agent365 exporter dropped, by its own count
	// CPU seconds of the sink and of the load generator (this process),
	// and of everything else on the machine, in the same window.
	SinkCPU, GeneratorCPU, OtherCPU float64
	// Window is the length of that window; LoadAvg the 1-minute load
	// average at its end.
	Window  time.Duration
	LoadAvg float64
	// Profile is the CPU profile (pprof format) when the scenario asked for one.
	Profile []byte
}

// CPUPerMillion is collector CPU seconds per million delivered spans.
func (o Outcome) CPUPerMillion() float64 {
	if o.Delivered == 0 {
		return 0
	}
	return o.CPUSeconds / float64(o.Delivered) * 1e6
}

// Cores is the average number of cores cpu seconds kept busy in the window.
func (o Outcome) Cores(cpu float64) float64 {
	if o.Window <= 0 {
		return 0
	}
	return cpu / o.Window.Seconds()
}

// Runner runs scenarios with the binaries in BinDir and the pipeline of Gateway.
type Runner struct {
	BinDir  string
	WorkDir string
	Gateway Gateway
	Log     io.Writer
}

const token = "loadtest-token"

// Run runs one scenario: sink, collector, load, drain, readings.
func (r *Runner) Run(ctx context.Context, s Scenario) (Outcome, error) {
	out := Outcome{Scenario: s}
	if s.Profile > 0 && profileDelay(s)+s.Profile > s.Duration {
		return out, fmt.Errorf("a %s profile does not fit in %s of load", s.Profile, s.Duration)
	}
	ports, err := freePorts(6)
	if err != nil {
		return out, err
	}
	p := Ports{Sink: ports[0], OTLPGRPC: ports[1], OTLPHTTP: ports[2], Health: ports[3], Metrics: ports[4], PProf: ports[5]}
	dir, err := os.MkdirTemp(r.WorkDir, string(s.Exporter)+"-")
	if err != nil {
		return out, err
	}
	out.Dir = dir
	sinkArgs := []string{"-listen", loopback(p.Sink), "-token", token, "-discard", "-quiet"}
	if s.SinkLatency > 0 {
		sinkArgs = append(sinkArgs, "-latency", s.SinkLatency.String())
	}
	sinkProc, err := Start(filepath.Join(r.BinDir, "a365sink"), filepath.Join(dir, "sink.log"), nil, sinkArgs...)
	if err != nil {
		return out, err
	}
	defer sinkProc.Stop()
	sinkURL := "http://" + loopback(p.Sink)
	if err := waitOK(ctx, sinkURL+"/_sink/healthz", sinkProc); err != nil {
		return out, err
	}

	cfg, err := CollectorConfig(r.Gateway, s.Exporter, p, dir)
	if err != nil {
		return out, err
	}
	config := filepath.Join(dir, "collector.yaml")
	if err := os.WriteFile(config, cfg, 0o644); err != nil {
		return out, err
	}
	col, err := Start(filepath.Join(r.BinDir, "otelcol-agent365"), filepath.Join(dir, "collector.log"), r.Gateway.GoEnv, "--config", config)
	if err != nil {
		return out, err
	}
	defer col.Stop()
	if err := waitOK(ctx, "http://"+loopback(p.Health)+"/", col); err != nil {
		return out, err
	}

	proto, addr := s.Protocol, loopback(p.OTLPHTTP)
	if proto == GRPC {
		addr = loopback(p.OTLPGRPC)
	}
	gen, err := NewGenerator(proto, addr, 32, 25)
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
	metricsURL := "http://" + loopback(p.Metrics) + "/metrics"
	pprofURL := "http://" + loopback(p.PProf)

	before, err := r.readCPU(col, sinkProc)
	if err != nil {
		return out, err
	}
	sampleCtx, stopSampling := context.WithCancel(ctx)
	var background sync.WaitGroup
	if s.Sample != nil {
		background.Go(func() {
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
		})
	}
	var profileErr error
	if s.Profile > 0 {
		background.Go(func() {
			select {
			case <-time.After(profileDelay(s)):
			case <-sampleCtx.Done():
				return
			}
			out.Profile, profileErr = get(ctx, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", pprofURL, int(s.Profile.Seconds())))
			if profileErr == nil {
				profileErr = os.WriteFile(filepath.Join(dir, "cpu.pprof"), out.Profile, 0o644)
			}
		})
	}
	// Senders as a gateway has clients, at least twice the requests the
	// sink's latency keeps in flight, and half a second of the load waiting
	// for them.
	batches := s.Rate / float64(gen.SpansPerBatch())
	workers := s.Senders
	if workers <= 0 {
		workers = 32
	}
	workers = min(256, max(workers, int(batches*s.SinkLatency.Seconds())*2))
	out.Load = gen.Run(ctx, s.Rate, s.Duration, workers, max(workers, int(batches/2)))
	// A profile being taken goes on to its end, within the load.
	stopSampling()

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
	after, err := r.readCPU(col, sinkProc)
	background.Wait()
	if err != nil {
		return out, err
	}
	if profileErr != nil {
		return out, fmt.Errorf("CPU profile: %w", profileErr)
	}
	out.CPUSeconds = after.collector - before.collector
	out.SinkCPU = after.sink - before.sink
	out.GeneratorCPU = after.self - before.self
	// The readings are a few ticks apart: never below zero.
	out.OtherCPU = max(0, (after.busy-before.busy)-out.CPUSeconds-out.SinkCPU-out.GeneratorCPU)
	out.Window = after.at.Sub(before.at)
	out.LoadAvg = loadAvg()
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

// profileDelay is how long the load runs before its profile starts.
func profileDelay(s Scenario) time.Duration { return min(5*time.Second, s.Duration/4) }

// cpuReading is the CPU time used so far by each process of a run and by
// the whole machine.
type cpuReading struct {
	collector, sink, self, busy float64
	at                          time.Time
}

func (r *Runner) readCPU(col, sink *Proc) (cpuReading, error) {
	var c cpuReading
	var errs [4]error
	c.at = time.Now()
	c.busy, _, errs[0] = MachineCPU()
	c.collector, errs[1] = col.CPUSeconds()
	c.sink, errs[2] = sink.CPUSeconds()
	c.self, errs[3] = SelfCPUSeconds()
	return c, errors.Join(errs[:]...)
}

// loadAvg is the machine's 1-minute load average, or -1.
func loadAvg() float64 {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(raw))
	if len(f) == 0 {
		return -1
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return -1
	}
	return v
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
