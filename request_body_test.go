package agent365exporter

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"
)

// earlyAnswerTransport answers requests of one tenant at once (401, or 413
// for agent2) and reads their bodies only afterwards, in another goroutine,
// as net/http's transport may when a server answers before it has read the
// request (http.RoundTripper: the body may be closed "in a separate
// goroutine even after RoundTrip returns"). Other requests go to base.
type earlyAnswerTransport struct {
	base   http.RoundTripper
	tenant string

	wg     sync.WaitGroup
	mu     sync.Mutex
	bodies map[string][][]byte // tenant -> bodies as read
}

func (t *earlyAnswerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	tenant := strings.Split(req.URL.Path, "/")[3]
	if tenant != t.tenant {
		body, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
		t.record(tenant, body)
		req.Body = io.NopCloser(strings.NewReader(string(body)))
		return t.base.RoundTrip(req)
	}
	status := http.StatusUnauthorized
	if strings.Contains(req.URL.Path, agent2) {
		status = http.StatusRequestEntityTooLarge
	}
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		time.Sleep(2 * time.Millisecond)
		body, _ := io.ReadAll(req.Body)
		_ = req.Body.Close()
		t.record(tenant, body)
	}()
	return &http.Response{
		StatusCode: status, Status: http.StatusText(status), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{}, Body: http.NoBody, Request: req,
	}, nil
}

func (t *earlyAnswerTransport) record(tenant string, body []byte) {
	t.mu.Lock()
	t.bodies[tenant] = append(t.bodies[tenant], body)
	t.mu.Unlock()
}

// TestRequestBodyNotReusedWhileTransportReadsIt: while the transport still
// reads the body of a request that was answered early (401, 413), other
// tenants' bodies are built at the same time. A body must stay the bytes it
// was built as until the transport closes it: every body read parses and
// carries only the spans of the tenant in its path (and -race stays quiet).
func TestRequestBodyNotReusedWhileTransportReadsIt(t *testing.T) {
	svc := newFakeService(t)
	tr := &earlyAnswerTransport{base: http.DefaultTransport, tenant: tenantA, bodies: map[string][][]byte{}}
	h := newHarnessWithAuth(t, svc.URL, &testAuth{token: token, transport: tr}, func(cfg *Config) {
		cfg.MaxConcurrentRequests = 8
	})

	filler := strings.Repeat("x", 2_000)
	build := func(tenant string, round int) *traceBuilder {
		b := newTraces()
		for i := range 40 {
			agent := agent1
			if i%2 == 1 {
				agent = agent2
			}
			b.span("s", "chat", tenant, agent, map[string]any{"filler": filler, "round": round})
		}
		return b
	}
	const rounds = 20
	tenants := []string{tenantA, tenantB, "cccccccc-0000-1111-2222-333333333333"}
	var eg errgroup.Group
	for round := range rounds {
		for _, tenant := range tenants {
			eg.Go(func() error {
				_ = h.exp.ConsumeTraces(context.Background(), build(tenant, round).build())
				return nil
			})
		}
	}
	require.NoError(t, eg.Wait())
	tr.wg.Wait()

	tr.mu.Lock()
	defer tr.mu.Unlock()
	require.Len(t, tr.bodies, len(tenants))
	checked := 0
	for tenant, list := range tr.bodies {
		for _, body := range list {
			var p wirePayload
			if !assert.NoError(t, json.Unmarshal(body, &p), "a body read for tenant %s is not the JSON it was built as", tenant) {
				continue
			}
			for _, rs := range p.ResourceSpans {
				for _, ss := range rs.ScopeSpans {
					for _, s := range ss.Spans {
						assert.Equal(t, tenant, s.Attributes["microsoft.tenant.id"], "a span of another tenant was sent under tenant %s", tenant)
						checked++
					}
				}
			}
		}
	}
	assert.Positive(t, checked)
}

func TestRequestBodyReturnsBufferOnlyWhenEveryHolderLetGo(t *testing.T) {
	bp := newBodyPool()
	b := bp.get()
	b.buf = append(b.buf, `{"a":1}`...)
	r1, err := b.reader()
	require.NoError(t, err)
	r2, err := b.reader() // a replay
	require.NoError(t, err)

	b.release() // the sender is done; the transport still holds r1 and r2
	assert.Equal(t, int32(2), b.refs.Load())
	got, err := io.ReadAll(r1)
	require.NoError(t, err)
	assert.JSONEq(t, `{"a":1}`, string(got))
	require.NoError(t, r1.Close())
	require.NoError(t, r1.Close(), "a second Close is harmless")
	assert.Equal(t, int32(1), b.refs.Load())

	require.NoError(t, r2.Close())
	assert.Equal(t, int32(0), b.refs.Load())
	_, err = r2.Read(make([]byte, 4))
	require.ErrorIs(t, err, errBodyReleased, "a closed reader never reads the buffer again")
	_, err = b.reader()
	require.ErrorIs(t, err, errBodyReleased, "no replay once the body is released")
}

func TestRequestBodyCloseWaitsForRunningRead(t *testing.T) {
	bp := newBodyPool()
	b := bp.get()
	b.buf = append(b.buf, strings.Repeat("y", 1<<20)...)
	r, err := b.reader()
	require.NoError(t, err)
	b.release()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		p := make([]byte, 32<<10)
		for range 64 {
			if _, err := r.Read(p); err != nil {
				return
			}
		}
	}()
	require.NoError(t, r.Close())
	wg.Wait()
	// The race detector checks that no Read touched the buffer after Close.
	nb := bp.get()
	nb.buf = append(nb.buf[:0], strings.Repeat("z", 1<<20)...)
	nb.release()
}

// TestBodyPoolKeepsBodiesAcrossGC: bodies survive garbage collections (a
// sync.Pool empties on them), within their bounds: at most pooledBodies,
// none larger than maxPooledBody.
func TestBodyPoolKeepsBodiesAcrossGC(t *testing.T) {
	bp := newBodyPool()
	b := bp.get()
	b.buf = append(b.buf, strings.Repeat("x", 256<<10)...)
	b.release()
	runtime.GC()
	runtime.GC()
	again := bp.get()
	assert.Same(t, b, again, "the body kept across collections")
	assert.Empty(t, again.buf)
	assert.GreaterOrEqual(t, cap(again.buf), 256<<10)
	again.release()

	var held []*requestBody
	for range pooledBodies + 4 {
		held = append(held, bp.get())
	}
	for _, h := range held {
		h.release()
	}
	assert.Len(t, bp.free, pooledBodies)

	big := bp.get()
	for range pooledBodies {
		_ = bp.get() // empties the pool
	}
	big.buf = append(big.buf, make([]byte, maxPooledBody+1)...)
	big.release()
	assert.Empty(t, bp.free, "a body above maxPooledBody is not kept")
}
