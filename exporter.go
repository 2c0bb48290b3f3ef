package agent365exporter // import "github.com/agent365-otel/agent365exporter"

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"slices"
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
	"github.com/agent365-otel/agent365exporter/internal/schema"
	"github.com/agent365-otel/agent365exporter/internal/truncate"
)

type agent365Exporter struct {
	cfg        *Config
	settings   component.TelemetrySettings
	logger     *zap.Logger
	telemetry  *metadata.TelemetryBuilder
	router     *discovery.Router
	identities *identityResolver
	validator  *validator
	format     payload.Format
	userAgent  string
	client     *http.Client
	batches    *batchPool
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
		validator:  newValidator(cfg.Validation, set.Logger, tb),
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
	e.batches = newBatchPool(poolSize(cfg))
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
	b := e.batches.get()
	defer e.batches.put(b)
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

// encode groups and encodes every span of td into b, by identity and
// resource. td was admitted: identities resolve and legacy names are gone.
func (e *agent365Exporter) encode(b *batch, td ptrace.Traces) {
	rss := td.ResourceSpans()
	for rsi := 0; rsi < rss.Len(); rsi++ {
		rs := rss.At(rsi)
		resIDs := e.identities.resource(rs.Resource().Attributes())
		b.resOpen = e.format.AppendResourceOpen(b.resOpen[:0], rs.Resource(), rs.SchemaUrl())
		resKey := ""
		var last *group
		sss := rs.ScopeSpans()
		for ssi := 0; ssi < sss.Len(); ssi++ {
			ss := sss.At(ssi)
			b.scopeOpen = e.format.AppendScopeOpen(b.scopeOpen[:0], ss.Scope(), ss.SchemaUrl())
			lastScope := -1
			spans := ss.Spans()
			for si := 0; si < spans.Len(); si++ {
				span := spans.At(si)
				got := e.identities.resolve(span.Attributes(), resIDs, nil, &b.ids)
				if !got.ok {
					b.drops[got.drop]++
					continue
				}
				id, meta := got.id, got.meta
				if last == nil || last.id != id {
					if resKey == "" {
						resKey = string(b.resOpen)
					}
					last = b.group(id, resKey)
					lastScope = -1
				}
				// A request holding the span alone stays within
				// max_payload_bytes: the span gets what its resource and
				// scope leave.
				limit := e.cfg.spanLimit(len(b.resOpen) + len(payload.ResourceClose) + len(b.scopeOpen) + len(payload.ScopeClose))
				start := len(b.buf)
				b.buf = e.format.AppendSpan(b.buf, span, meta)
				if len(b.buf)-start > limit {
					b.buf = e.truncate(b, b.buf[:start], span, meta, limit)
					if len(b.buf)-start > limit {
						// Only a resource or scope of nearly max_payload_bytes leaves so little.
						b.buf = b.buf[:start]
						b.drops[dropPayloadTooLarge]++
						continue
					}
					b.truncated++
				}
				if lastScope < 0 {
					lastScope = last.scope(b.scopeOpen)
				}
				last.spans = append(last.spans, payload.Span{Start: start, End: len(b.buf), Scope: lastScope})
			}
		}
	}
}

// truncate appends a copy of span shrunk to limit; the pushed data is not
// modified, so that it could be encoded again from the original.
func (e *agent365Exporter) truncate(b *batch, dst []byte, span ptrace.Span, meta payload.SpanMeta, limit int) []byte {
	clone := ptrace.NewSpan()
	span.CopyTo(clone)
	truncate.Span(clone, limit, func(s ptrace.Span) int {
		b.scratch = e.format.AppendSpan(b.scratch[:0], s, meta)
		return len(b.scratch)
	}, schema.IdentityKeys)
	return e.format.AppendSpan(dst, clone, meta)
}

// job is one request: spans of one group, within max_payload_bytes.
type job struct {
	group *group
	spans []payload.Span
	size  int // of the body
}

// identityPlan is the requests of one identity in a push, in span order:
// they go one after the other, so that a failure holds the rest back in
// order. Identities go in parallel.
type identityPlan struct {
	id   identity
	jobs []job
}

// plan resolves each group's URL and cuts its spans into requests.
func (e *agent365Exporter) plan(ctx context.Context, b *batch) []identityPlan {
	var plans []identityPlan
	index := map[identity]int{}
	for _, g := range b.groups {
		url, err := e.router.URL(g.id.tenant, g.id.agent)
		if err != nil {
			e.drop(ctx, dropTenantDiscovery, len(g.spans))
			if e.notices.first("discovery/" + g.id.tenant) {
				e.logger.Warn("Dropping spans: the tenant id cannot be resolved to an Agent 365 host",
					zap.String("tenant_id", g.id.tenant), zap.Error(err))
			}
			continue
		}
		g.url = url
		// Spans of a scope must be adjacent in a body; they usually are.
		if !slices.IsSortedFunc(g.spans, byScope) {
			slices.SortStableFunc(g.spans, byScope)
		}
		i, ok := index[g.id]
		if !ok {
			i = len(plans)
			index[g.id] = i
			plans = append(plans, identityPlan{id: g.id})
		}
		b.chunks = g.layout.Chunks(b.chunks[:0], g.spans, e.cfg.MaxPayloadBytes)
		for _, c := range b.chunks {
			plans[i].jobs = append(plans[i].jobs, job{group: g, spans: g.spans[c.First:c.Last], size: c.Size})
		}
	}
	return plans
}

func byScope(a, b payload.Span) int { return a.Scope - b.Scope }

func (e *agent365Exporter) countDrops(ctx context.Context, b *batch) {
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
