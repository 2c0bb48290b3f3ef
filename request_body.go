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

// bodyPool keeps request bodies between requests.
type bodyPool struct{ p sync.Pool }

func newBodyPool() *bodyPool {
	bp := &bodyPool{}
	bp.p.New = func() any { return &requestBody{buf: make([]byte, 0, 64*1024), pool: bp} }
	return bp
}

// get returns a body whose buffer is empty, held by the caller: release it
// when done.
func (bp *bodyPool) get() *requestBody {
	b := bp.p.Get().(*requestBody)
	b.buf = b.buf[:0]
	b.refs.Store(1)
	return b
}

// release lets go of one hold; the last one returns the buffer.
func (b *requestBody) release() {
	if b.refs.Add(-1) != 0 {
		return
	}
	if cap(b.buf) <= maxPooledBytes {
		b.pool.p.Put(b)
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
