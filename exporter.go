package agent365exporter // import "github.com/agent365-otel/agent365exporter"

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"time"

	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/agent365-otel/agent365exporter/internal/discovery"
	"github.com/agent365-otel/agent365exporter/internal/metadata"
	"github.com/agent365-otel/agent365exporter/internal/payload"
)

type agent365Exporter struct {
	cfg        *Config
	settings   component.TelemetrySettings
	logger     *zap.Logger
	telemetry  *metadata.TelemetryBuilder
	router     *discovery.Router
	identities *identityResolver
	checks     *requiredChecks
	format     payload.Format
	userAgent  string
	client     *http.Client
	pushes     *pushPool
	bodies     *bodyPool
	notices    *onceSet
	gate       *gate
	store      heldStore
	id         component.ID
	// release runs the releaser of held spans, from start to shutdown.
	releaseCtx    context.Context
	releaseCancel context.CancelFunc
	releaseDone   chan struct{}
	dropLog       *rateLimitedLog
	resultLabels  *resultLabels

	dropOpts [numDropReasons]metric.AddOption
}

func newExporter(cfg *Config, set exporter.Settings) (*agent365Exporter, error) {
	router, err := discovery.NewRouter(cfg.EndpointDiscovery, cfg.ClientConfig.Endpoint, cfg.ClusterCategory, cfg.UseS2SEndpoint)
	if err != nil {
		return nil, err
	}
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	e := &agent365Exporter{
		cfg:        cfg,
		settings:   set.TelemetrySettings,
		logger:     set.Logger,
		telemetry:  tb,
		router:     router,
		identities: newIdentityResolver(cfg),
		checks:     newRequiredChecks(cfg.Validation, set.Logger, tb),
		userAgent: fmt.Sprintf("%s/%s agent365exporter (%s/%s)",
			set.BuildInfo.Description, set.BuildInfo.Version, runtime.GOOS, runtime.GOARCH),
		notices:      newOnceSet(1024),
		gate:         newGate(cfg.RetryConfig, cfg.Gate.MaxRetryAfter, cfg.Gate.MaxHeldBytes),
		store:        memoryStore{},
		id:           set.ID,
		dropLog:      newRateLimitedLog(time.Minute, 1024),
		resultLabels: newResultLabels(),
	}
	if msg := authWarning(cfg); msg != "" {
		set.Logger.Warn("The agent365 exporter will be refused: " + msg)
	}
	opts := payload.Options{SuppressInvokeAgentInput: cfg.SuppressInvokeAgentInput}
	if r := newRedactor(cfg.Redact); r != nil {
		opts.Rewriter = r
	}
	if cfg.Format == FormatOTLPJSON {
		e.format = payload.NewOTLPJSON(opts)
	} else {
		e.format = payload.NewA365(opts)
	}
	for r := range numDropReasons {
		e.dropOpts[r] = metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", r.String())))
	}
	e.pushes = newPushPool(poolSize(cfg))
	e.bodies = newBodyPool()
	return e, nil
}

// start builds the HTTP client (auth extensions are only known here),
// opens the store of held spans and starts releasing them.
func (e *agent365Exporter) start(ctx context.Context, host component.Host) error {
	client, err := e.cfg.ClientConfig.ToClient(ctx, host.GetExtensions(), e.settings)
	if err != nil {
		return err
	}
	// A redirect would carry the token to another URL; report it instead.
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	e.client = client
	if err := e.openStore(ctx, host); err != nil {
		return err
	}
	if err := e.telemetry.RegisterExporterAgent365HeldSpansCallback(func(_ context.Context, o metric.Int64Observer) error {
		spans, _ := e.gate.stats()
		o.Observe(int64(spans))
		return nil
	}); err != nil {
		return err
	}
	if err := e.telemetry.RegisterExporterAgent365GatedIdentitiesCallback(func(_ context.Context, o metric.Int64Observer) error {
		_, gated := e.gate.stats()
		o.Observe(int64(gated))
		return nil
	}); err != nil {
		return err
	}
	e.releaseCtx, e.releaseCancel = context.WithCancel(context.Background())
	e.releaseDone = make(chan struct{})
	go e.releaseLoop()
	return nil
}

func (e *agent365Exporter) shutdown(ctx context.Context) error {
	if e.releaseCancel != nil {
		e.releaseCancel()
		<-e.releaseDone
	}
	e.settleHeldAtShutdown(ctx)
	err := e.store.close(ctx)
	e.telemetry.Shutdown()
	if e.client != nil {
		e.client.CloseIdleConnections()
	}
	return err
}

// pushTraces sends td: one request per (tenant, agent, resource) and
// chunk. Every span is settled here: delivered, held behind its identity's
// gate (and delivered later), or dropped with a counted reason; so the push
// never fails, and no identity's wait holds up a queue consumer.
func (e *agent365Exporter) pushTraces(ctx context.Context, td ptrace.Traces) error {
	if td.SpanCount() == 0 {
		return nil
	}
	b := e.pushes.get()
	defer e.pushes.put(b)
	e.encode(b, td)
	e.countDrops(ctx, b)
	plans := e.plan(ctx, b)
	if len(plans) == 0 {
		return nil
	}
	info := client.FromContext(ctx)
	var eg errgroup.Group
	eg.SetLimit(e.cfg.MaxConcurrentRequests)
	for _, p := range plans {
		eg.Go(func() error {
			e.deliver(ctx, info, b.buf, p)
			return nil
		})
	}
	return eg.Wait()
}

func (e *agent365Exporter) countDrops(ctx context.Context, b *encodedPush) {
	for r, n := range b.drops {
		if n > 0 {
			e.drop(ctx, dropReason(r), int(n))
		}
	}
	if b.truncated > 0 {
		e.telemetry.ExporterAgent365TruncatedSpans.Add(ctx, b.truncated)
	}
}

func (e *agent365Exporter) drop(ctx context.Context, r dropReason, n int) {
	e.telemetry.ExporterAgent365DroppedSpans.Add(ctx, int64(n), e.dropOpts[r])
}
