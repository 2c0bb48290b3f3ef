package agent365exporter // import "github.com/agent365-otel/agent365exporter"

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
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
	classifier *classifier
	validator  *validator
	format     payload.Format
	userAgent  string
	client     *http.Client
	batches    *batchPool
	bodies     *bodyPool
	notices    *onceSet

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
		classifier: newClassifier(cfg),
		validator:  newValidator(cfg.Validation, set.Logger, tb),
		userAgent: fmt.Sprintf("%s/%s agent365exporter (%s/%s)",
			set.BuildInfo.Description, set.BuildInfo.Version, runtime.GOOS, runtime.GOARCH),
		notices: newOnceSet(1024),
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

// start builds the HTTP client; auth extensions are only known here.
func (e *agent365Exporter) start(ctx context.Context, host component.Host) error {
	client, err := e.cfg.ClientConfig.ToClient(ctx, host.GetExtensions(), e.settings)
	if err != nil {
		return err
	}
	// A redirect would carry the token to another URL; report it instead.
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	e.client = client
	return nil
}

func (e *agent365Exporter) shutdown(context.Context) error {
	if e.client != nil {
		e.client.CloseIdleConnections()
	}
	return nil
}

// pushTraces sends td: one request per (tenant, agent, resource) and chunk.
// Spans that cannot be sent are dropped and counted; when only some
// requests fail, only their spans are returned for retry.
func (e *agent365Exporter) pushTraces(ctx context.Context, td ptrace.Traces) error {
	if td.SpanCount() == 0 {
		return nil
	}
	b := e.batches.get()
	defer e.batches.put(b)
	e.encode(b, td)
	e.countDrops(ctx, b)
	jobs := e.plan(ctx, b)
	if len(jobs) == 0 {
		return nil
	}

	results := make([][]failure, len(jobs))
	var eg errgroup.Group
	eg.SetLimit(e.cfg.MaxConcurrentRequests)
	for i, j := range jobs {
		eg.Go(func() error {
			results[i] = e.send(ctx, b, j.group, j.spans, j.size, nil)
			return nil
		})
	}
	_ = eg.Wait()
	return e.outcome(ctx, b, td, slices.Concat(results...))
}

// encode classifies and encodes every span of td into b, grouped by
// identity and resource.
func (e *agent365Exporter) encode(b *batch, td ptrace.Traces) {
	upgrade := e.cfg.UpgradeLegacyAttributes
	var presence *schema.Presence
	if e.validator != nil {
		presence = &b.presence
	}
	rss := td.ResourceSpans()
	for rsi := 0; rsi < rss.Len(); rsi++ {
		rs := rss.At(rsi)
		if upgrade {
			b.upgraded += upgradeLegacy(rs.Resource().Attributes())
		}
		resIDs := e.classifier.resource(rs.Resource().Attributes())
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
				if presence != nil {
					*presence = schema.Presence{}
				}
				var upgraded *int
				if upgrade {
					upgraded = &b.upgraded
					if span.Events().Len() > 0 {
						b.upgraded += upgradeEvents(span)
					}
				}
				id, meta, reason, ok := e.classifier.classify(span.Attributes(), resIDs, presence, upgraded, &b.ids)
				if !ok {
					b.drops[reason]++
					continue
				}
				if last == nil || last.id != id {
					if resKey == "" {
						resKey = string(b.resOpen)
					}
					last = b.group(id, resKey)
					lastScope = -1
				}
				if presence != nil && !e.check(last, presence, meta) {
					b.drops[dropMissingRequired]++
					continue
				}
				if lastScope < 0 {
					lastScope = last.scope(b.scopeOpen)
				}
				ref := len(b.refs)
				b.refs = append(b.refs, spanRef{rs: int32(rsi), ss: int32(ssi), s: int32(si)})
				start := len(b.buf)
				b.buf = e.format.AppendSpan(b.buf, span, meta)
				if len(b.buf)-start > e.cfg.MaxSpanBytes {
					b.buf = e.truncate(b, b.buf[:start], span, meta)
				}
				last.spans = append(last.spans, payload.Span{Start: start, End: len(b.buf), Scope: lastScope, Ref: ref})
			}
		}
	}
}

// upgradeEvents renames legacy keys of a span's events; the span's own
// attributes are upgraded while they are classified.
func upgradeEvents(span ptrace.Span) int {
	n := 0
	events := span.Events()
	for i := 0; i < events.Len(); i++ {
		n += upgradeLegacy(events.At(i).Attributes())
	}
	return n
}

// check records the required attributes a span lacks in its group's
// findings and reports whether the span may be sent.
func (e *agent365Exporter) check(g *group, p *schema.Presence, meta payload.SpanMeta) bool {
	// The identity the payload names counts as present.
	if meta.TenantID != "" {
		p.Observe(schema.TenantID, meta.TenantID, false)
	}
	if meta.AgentID != "" {
		p.Observe(schema.AgentID, meta.AgentID, false)
	}
	if g.findings == nil {
		g.findings = newAgentFindings()
	}
	f := g.findings
	f.checked[meta.Op]++
	if p.Complete(meta.Op) {
		return true
	}
	p.Missing(meta.Op, func(attr string) {
		f.missing[missingKey{op: meta.Op, attr: attr}]++
	})
	return !e.validator.enforce
}

// truncate appends a shrunk copy of span; the pushed data is not modified,
// so a retry starts again from the original.
func (e *agent365Exporter) truncate(b *batch, dst []byte, span ptrace.Span, meta payload.SpanMeta) []byte {
	clone := ptrace.NewSpan()
	span.CopyTo(clone)
	res := truncate.Span(clone, e.cfg.MaxSpanBytes, func(s ptrace.Span) int {
		b.scratch = e.format.AppendSpan(b.scratch[:0], s, meta)
		return len(b.scratch)
	}, schema.IdentityKeys)
	b.truncated++
	if !res.Fits(e.cfg.MaxSpanBytes) {
		b.oversized++
		e.logger.Warn("Span is still over max_span_bytes after truncation; it is sent alone",
			zap.String("span_name", cut(span.Name(), 100)), zap.Int("bytes", res.After), zap.Int("max_span_bytes", e.cfg.MaxSpanBytes))
	}
	return e.format.AppendSpan(dst, clone, meta)
}

// job is one request: spans of one group, within max_payload_bytes.
type job struct {
	group *group
	spans []payload.Span
	size  int // of the body
}

// plan resolves each group's URL and cuts its spans into requests.
func (e *agent365Exporter) plan(ctx context.Context, b *batch) []job {
	var jobs []job
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
		b.chunks = g.layout.Chunks(b.chunks[:0], g.spans, e.cfg.MaxPayloadBytes)
		for _, c := range b.chunks {
			jobs = append(jobs, job{group: g, spans: g.spans[c.First:c.Last], size: c.Size})
		}
	}
	return jobs
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
	if b.oversized > 0 {
		e.telemetry.ExporterAgent365OversizedSpans.Add(ctx, b.oversized)
	}
	if b.upgraded > 0 {
		e.telemetry.ExporterAgent365UpgradedAttributes.Add(ctx, int64(b.upgraded))
	}
	if e.validator != nil {
		findings := map[identity]*agentFindings{}
		for _, g := range b.groups {
			if g.findings == nil {
				continue
			}
			f, ok := findings[g.id]
			if !ok {
				findings[g.id] = g.findings
				continue
			}
			for op, n := range g.findings.checked {
				f.checked[op] += n
			}
			for k, n := range g.findings.missing {
				f.missing[k] += n
			}
		}
		e.validator.record(ctx, findings)
	}
}

func (e *agent365Exporter) drop(ctx context.Context, r dropReason, n int) {
	e.telemetry.ExporterAgent365DroppedSpans.Add(ctx, int64(n), e.dropOpts[r])
}

// outcome turns the failed requests into the error exporterhelper expects.
func (e *agent365Exporter) outcome(ctx context.Context, b *batch, td ptrace.Traces, failures []failure) error {
	if len(failures) == 0 {
		return nil
	}
	var retryErrs, permErrs []error
	var retryRefs []int
	var throttle time.Duration
	for _, f := range failures {
		if f.permanent {
			e.drop(ctx, f.reason, len(f.spans))
			permErrs = append(permErrs, f.err)
			continue
		}
		retryErrs = append(retryErrs, f.err)
		throttle = max(throttle, f.retryAfter)
		for _, s := range f.spans {
			retryRefs = append(retryRefs, s.Ref)
		}
	}
	if len(retryRefs) == 0 {
		return consumererror.NewPermanent(errors.Join(permErrs...))
	}
	err := errors.Join(append(retryErrs, permErrs...)...)
	if len(retryRefs) < td.SpanCount() {
		// Delivered, dropped and permanently rejected spans are not sent again.
		err = consumererror.NewTraces(err, b.subset(td, retryRefs))
	}
	if throttle > 0 {
		err = exporterhelper.NewThrottleRetry(err, throttle)
	}
	return err
}
