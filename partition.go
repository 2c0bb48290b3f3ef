package agent365exporter // import "github.com/agent365-otel/agent365exporter"

import (
	"bytes"
	"sync/atomic"

	"github.com/agent365-otel/agent365exporter/internal/payload"
)

// batch is the working state of one push, pooled between pushes so that
// steady traffic reuses its buffers.
type encodedPush struct {
	buf       []byte // span encodings, back to back
	scratch   []byte
	resOpen   []byte
	scopeOpen []byte
	parts     []*partition
	index     map[partitionKey]*partition
	spare     []*partition
	chunks    []payload.Chunk
	drops     [numDropReasons]int64
	truncated int64
	ids       idCache
}

// partitionKey: one group per identity and distinct resource, so that a span
// is never sent under another span's resource.
type partitionKey struct {
	id       identity
	resource string
}

// group is what goes to one (tenant, agent) under one resource.
type partition struct {
	id     identity
	url    string
	layout payload.Layout
	spans  []payload.Span
}

func newEncodedPush() *encodedPush {
	return &encodedPush{index: make(map[partitionKey]*partition)}
}

// Buffers above this size are not kept for the next push.
const maxPooledBytes = 8 << 20

// pushPool keeps a few batches, with their buffers, for the next pushes.
// Unlike a sync.Pool it keeps them across garbage collections, which under
// load come every few pushes: a batch's span buffer is megabytes, and
// growing it anew for every push costs more than encoding into it.
type pushPool struct {
	free chan *encodedPush
	// hint is the size of recent span buffers, so that a new batch
	// allocates its buffer once.
	hint atomic.Int64
}

func newPushPool(size int) *pushPool {
	return &pushPool{free: make(chan *encodedPush, size)}
}

// poolSize keeps a batch for each queue consumer, within reason.
func poolSize(cfg *Config) int {
	if q := cfg.QueueConfig.Get(); q != nil && q.NumConsumers > 0 {
		return min(q.NumConsumers, 16)
	}
	return 4
}

func (p *pushPool) get() *encodedPush {
	select {
	case b := <-p.free:
		return b
	default:
	}
	b := newEncodedPush()
	b.buf = make([]byte, 0, p.hint.Load())
	return b
}

func (p *pushPool) put(b *encodedPush) {
	if n := int64(len(b.buf)); n <= maxPooledBytes {
		p.hint.Store(max(n, p.hint.Load()*7/8))
	}
	b.reset()
	select {
	case p.free <- b:
	default:
	}
}

func (b *encodedPush) reset() {
	b.buf = b.buf[:0]
	if cap(b.buf) > maxPooledBytes {
		b.buf = nil
	}
	if cap(b.scratch) > maxPooledBytes {
		b.scratch = nil
	}
	for _, g := range b.parts {
		g.layout.Resource = g.layout.Resource[:0]
		for i := range g.layout.Scopes {
			g.layout.Scopes[i] = g.layout.Scopes[i][:0]
		}
		g.layout.Scopes = g.layout.Scopes[:0]
		g.spans = g.spans[:0]
		g.url = ""
		b.spare = append(b.spare, g)
	}
	clear(b.parts)
	b.parts = b.parts[:0]
	clear(b.index)
	b.drops = [numDropReasons]int64{}
	b.truncated = 0
	b.ids = idCache{}
}

// group returns the group of id under the resource whose encoded opening
// is resKey, creating it on first use.
func (b *encodedPush) partition(id identity, resKey string) *partition {
	k := partitionKey{id: id, resource: resKey}
	if g, ok := b.index[k]; ok {
		return g
	}
	var g *partition
	if n := len(b.spare); n > 0 {
		g = b.spare[n-1]
		b.spare = b.spare[:n-1]
	} else {
		g = &partition{}
	}
	g.id = id
	g.layout.Resource = append(g.layout.Resource[:0], resKey...)
	b.index[k] = g
	b.parts = append(b.parts, g)
	return g
}

// scope returns the index of the scope whose encoded opening is open.
// Scopes are few per group, so a linear search is the fastest.
func (g *partition) scope(open []byte) int {
	for i, s := range g.layout.Scopes {
		if bytes.Equal(s, open) {
			return i
		}
	}
	n := len(g.layout.Scopes)
	if n < cap(g.layout.Scopes) {
		g.layout.Scopes = g.layout.Scopes[:n+1]
		g.layout.Scopes[n] = append(g.layout.Scopes[n][:0], open...)
	} else {
		g.layout.Scopes = append(g.layout.Scopes, append([]byte(nil), open...))
	}
	return n
}
