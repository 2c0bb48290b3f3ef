package agent365exporter // import "github.com/agent365-otel/agent365exporter"

import (
	"errors"
	"io"
	"sync"
	"sync/atomic"
)

// requestBody is a pooled request body. The transport may go on reading a
// body after RoundTrip has returned (a server that answered before reading
// it, a connection being torn down), until it closes it; so the buffer goes
// back to the pool only when the sender and every reader handed to the
// transport have let go of it. Reusing it earlier would stream the next
// request's bytes, another tenant's, under this request's URL and token.
type requestBody struct {
	buf  []byte
	refs atomic.Int32
	pool *bodyPool
}

// bodyPool keeps request bodies between requests. Unlike a sync.Pool it
// keeps them across garbage collections: with a persistent sending queue the
// collector collects garbage several times between two pushes, and a
// sync.Pool emptied each time made every request allocate its body (up to
// max_payload_bytes) anew, a few KB of garbage per span.
type bodyPool struct{ free chan *requestBody }

const (
	// pooledBodies bounds the bodies kept: more than the requests a few
	// queue consumers have in flight at once.
	pooledBodies = 16
	// maxPooledBody bounds the size of a body kept, so that the pool holds
	// at most 32 MiB; bodies of the default max_payload_bytes fit.
	maxPooledBody = 2 << 20
)

func newBodyPool() *bodyPool {
	return &bodyPool{free: make(chan *requestBody, pooledBodies)}
}

// get returns a body whose buffer is empty, held by the caller: release it
// when done.
func (bp *bodyPool) get() *requestBody {
	var b *requestBody
	select {
	case b = <-bp.free:
		b.buf = b.buf[:0]
	default:
		b = &requestBody{buf: make([]byte, 0, 64*1024), pool: bp}
	}
	b.refs.Store(1)
	return b
}

// release lets go of one hold; the last one returns the buffer.
func (b *requestBody) release() {
	if b.refs.Add(-1) != 0 {
		return
	}
	if cap(b.buf) > maxPooledBody {
		return
	}
	select {
	case b.pool.free <- b:
	default:
	}
}

var errBodyReleased = errors.New("request body already released")

// reader returns a new reader of the body for the transport, which holds
// the buffer until it is closed. It fails once the body has been released,
// so a late replay never reads a reused buffer.
func (b *requestBody) reader() (io.ReadCloser, error) {
	for {
		n := b.refs.Load()
		if n <= 0 {
			return nil, errBodyReleased
		}
		if b.refs.CompareAndSwap(n, n+1) {
			return &bodyReader{body: b, data: b.buf}, nil
		}
	}
}

// bodyReader reads a requestBody. Read and Close may be called from
// different goroutines: Close waits for a running Read, so the buffer is
// never released under it.
type bodyReader struct {
	mu     sync.Mutex
	body   *requestBody
	data   []byte // what is left to read
	closed bool
}

func (r *bodyReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return 0, errBodyReleased
	}
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func (r *bodyReader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.closed {
		r.closed = true
		r.data = nil
		r.body.release()
	}
	return nil
}
