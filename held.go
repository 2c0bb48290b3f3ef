package agent365exporter // import "github.com/agent365-otel/agent365exporter"

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/extension/xextension/storage"

	"github.com/agent365-otel/agent365exporter/internal/payload"
)

// heldChunk is spans of one identity held back by its gate: their
// encodings and the openings of their resource and scopes, enough to write
// their request bodies again. Holding encodings, not pdata, means a
// released span is not truncated, validated or counted a second time.
type heldChunk struct {
	id     identity
	layout payload.Layout
	buf    []byte         // span encodings
	spans  []payload.Span // into buf
	until  time.Time      // the identity's gate when it was held
	key    string         // in the store; empty when held in memory only
	// sum is the digest of the chunk's identity and data.
	sum [32]byte
	// info is the client metadata of the push (an agent's own token for
	// from_context, say), restored when the chunk is sent. A persistent
	// queue stores it too.
	info client.Info
}

// newHeldChunk copies spans of g, whose encodings are in buf: the batch's
// buffers are reused by the next push.
func newHeldChunk(g *partition, buf []byte, spans []payload.Span) *heldChunk {
	c := &heldChunk{id: g.id, spans: make([]payload.Span, 0, len(spans))}
	c.layout.Resource = slices.Clone(g.layout.Resource)
	scopes := map[int]int{} // group's scope -> chunk's
	n := 0
	for _, s := range spans {
		n += s.End - s.Start
	}
	c.buf = make([]byte, 0, n)
	for _, s := range spans {
		sc, ok := scopes[s.Scope]
		if !ok {
			sc = len(c.layout.Scopes)
			scopes[s.Scope] = sc
			c.layout.Scopes = append(c.layout.Scopes, slices.Clone(g.layout.Scopes[s.Scope]))
		}
		start := len(c.buf)
		c.buf = append(c.buf, buf[s.Start:s.End]...)
		c.spans = append(c.spans, payload.Span{Start: start, End: len(c.buf), Scope: sc})
	}
	c.sum = c.digest()
	return c
}

// digest hashes what the chunk would send, and for whom.
func (c *heldChunk) digest() [32]byte {
	return digestOf(c.id, &c.layout, c.buf, c.spans)
}

// digestOf hashes the request parts of spans, whose encodings are in buf:
// the same for a job and for the chunk that holds it.
func digestOf(id identity, layout *payload.Layout, buf []byte, spans []payload.Span) [32]byte {
	h := sha256.New()
	var n [8]byte
	write := func(b []byte) {
		binary.LittleEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	write([]byte(id.tenant))
	write([]byte(id.agent))
	write(layout.Resource)
	for _, s := range spans {
		write(layout.Scopes[s.Scope])
		write(buf[s.Start:s.End])
	}
	var sum [32]byte
	h.Sum(sum[:0])
	return sum
}

// size is the memory the chunk's data takes, as max_held_bytes counts it.
func (c *heldChunk) size() int {
	n := len(c.buf) + len(c.layout.Resource)
	for _, s := range c.layout.Scopes {
		n += len(s)
	}
	return n
}

// remainder is c with only spans left (a part was delivered or dropped).
func (c *heldChunk) remainder(spans []payload.Span) *heldChunk {
	r := *c
	r.spans = slices.Clone(spans)
	slices.SortStableFunc(r.spans, func(a, b payload.Span) int { return a.Start - b.Start })
	r.sum = r.digest()
	return &r
}

// heldStore keeps held chunks across restarts, or does nothing.
type heldStore interface {
	// put writes c (under c.key, which it sets when empty).
	put(ctx context.Context, c *heldChunk) error
	remove(ctx context.Context, c *heldChunk) error
	// load returns the chunks written before, in the order they were held.
	load(ctx context.Context) ([]*heldChunk, error)
	persistent() bool
	close(ctx context.Context) error
}

// memoryStore is the store without a storage extension: held spans live
// in memory only and are lost with the process.
type memoryStore struct{}

func (memoryStore) put(context.Context, *heldChunk) error      { return nil }
func (memoryStore) remove(context.Context, *heldChunk) error   { return nil }
func (memoryStore) load(context.Context) ([]*heldChunk, error) { return nil, nil }
func (memoryStore) persistent() bool                           { return false }
func (memoryStore) close(context.Context) error                { return nil }

// storageClient is a storage extension's client that can list its keys,
// as file_storage's can.
type storageClient interface {
	storage.Client
	storage.Walker
}

// diskStore keeps held chunks in the sending queue's storage extension, in
// a client of their own, so that they survive a restart as the queue does.
type diskStore struct {
	client storageClient
	seq    atomic.Uint64
}

const heldKeyPrefix = "held/"

func newDiskStore(client storageClient) *diskStore {
	d := &diskStore{client: client}
	// Keys sort in the order chunks were held, across restarts too.
	d.seq.Store(uint64(time.Now().UnixNano()))
	return d
}

func (d *diskStore) persistent() bool { return true }

func (d *diskStore) put(ctx context.Context, c *heldChunk) error {
	if c.key == "" {
		c.key = fmt.Sprintf("%s%020d", heldKeyPrefix, d.seq.Add(1))
	}
	data, err := encodeHeld(c)
	if err != nil {
		return err
	}
	return d.client.Set(ctx, c.key, data)
}

func (d *diskStore) remove(ctx context.Context, c *heldChunk) error {
	if c.key == "" {
		return nil
	}
	return d.client.Delete(ctx, c.key)
}

func (d *diskStore) load(ctx context.Context) ([]*heldChunk, error) {
	var chunks []*heldChunk
	var bad []*storage.Operation
	err := d.client.Walk(ctx, func(key string, value []byte) ([]*storage.Operation, error) {
		if !strings.HasPrefix(key, heldKeyPrefix) {
			return nil, nil
		}
		c, err := decodeHeld(value)
		if err != nil {
			// Unreadable: delete rather than fail every start.
			bad = append(bad, storage.DeleteOperation(key))
			return nil, nil
		}
		c.key = key
		chunks = append(chunks, c)
		return nil, nil
	})
	if err != nil {
		return nil, err
	}
	if len(bad) > 0 {
		if err := d.client.Batch(ctx, bad...); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(chunks, func(a, b *heldChunk) int { return strings.Compare(a.key, b.key) })
	if n := len(chunks); n > 0 {
		var last uint64
		_, _ = fmt.Sscanf(strings.TrimPrefix(chunks[n-1].key, heldKeyPrefix), "%d", &last)
		if last >= d.seq.Load() {
			d.seq.Store(last)
		}
	}
	return chunks, nil
}

func (d *diskStore) close(ctx context.Context) error { return d.client.Close(ctx) }

// heldRecord is a held chunk as stored.
type heldRecord struct {
	Version  int       `json:"v"`
	Tenant   string    `json:"tenant"`
	Agent    string    `json:"agent"`
	Until    time.Time `json:"until"`
	Resource []byte    `json:"resource"`
	Scopes   [][]byte  `json:"scopes"`
	Spans    []byte    `json:"spans"`
	Bounds   []int     `json:"bounds"` // end offset and scope of each span
	// Metadata is the push's client metadata, as the persistent queue keeps it.
	Metadata map[string][]string `json:"metadata,omitempty"`
}

const heldRecordVersion = 1

func encodeHeld(c *heldChunk) ([]byte, error) {
	r := heldRecord{
		Version: heldRecordVersion, Tenant: c.id.tenant, Agent: c.id.agent, Until: c.until,
		Resource: c.layout.Resource, Scopes: c.layout.Scopes,
	}
	for k := range c.info.Metadata.Keys() {
		if r.Metadata == nil {
			r.Metadata = map[string][]string{}
		}
		r.Metadata[k] = c.info.Metadata.Get(k)
	}
	// The spans are stored back to back in their order.
	for _, s := range c.spans {
		r.Spans = append(r.Spans, c.buf[s.Start:s.End]...)
		r.Bounds = append(r.Bounds, len(r.Spans), s.Scope)
	}
	return json.Marshal(r)
}

var errHeldRecord = errors.New("held spans record is malformed")

func decodeHeld(data []byte) (*heldChunk, error) {
	var r heldRecord
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, err
	}
	if r.Version != heldRecordVersion || len(r.Bounds)%2 != 0 || r.Tenant == "" || r.Agent == "" {
		return nil, errHeldRecord
	}
	c := &heldChunk{
		id: identity{tenant: r.Tenant, agent: r.Agent}, until: r.Until,
		layout: payload.Layout{Resource: r.Resource, Scopes: r.Scopes}, buf: r.Spans,
	}
	if len(r.Metadata) > 0 {
		c.info = client.Info{Metadata: client.NewMetadata(r.Metadata)}
	}
	start := 0
	for i := 0; i < len(r.Bounds); i += 2 {
		end, scope := r.Bounds[i], r.Bounds[i+1]
		if end < start || end > len(r.Spans) || scope < 0 || scope >= len(r.Scopes) {
			return nil, errHeldRecord
		}
		c.spans = append(c.spans, payload.Span{Start: start, End: end, Scope: scope})
		start = end
	}
	if len(c.spans) == 0 {
		return nil, errHeldRecord
	}
	c.sum = c.digest()
	return c, nil
}
