package agent365exporter

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/xextension/storage"

	"github.com/agent365-otel/agent365exporter/internal/payload"
)

var memStorageID = component.MustNewID("memstorage")

// memStorage is a storage extension in memory whose data outlives the
// clients it hands out, as file_storage's does across restarts.
type memStorage struct {
	component.StartFunc
	component.ShutdownFunc
	mu   sync.Mutex
	data map[string]map[string][]byte // storage name -> key -> value
	// noWalk hands out clients that cannot list their keys.
	noWalk bool
}

func newMemStorage() *memStorage { return &memStorage{data: map[string]map[string][]byte{}} }

func (m *memStorage) GetClient(_ context.Context, kind component.Kind, id component.ID, name string) (storage.Client, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	key := kind.String() + "/" + id.String() + "/" + name
	if m.data[key] == nil {
		m.data[key] = map[string][]byte{}
	}
	c := &memClient{m: m, name: key}
	if m.noWalk {
		return struct{ storage.Client }{c}, nil
	}
	return c, nil
}

// keys lists the keys stored under storage name.
func (m *memStorage) keys(name string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for k := range m.data[name] {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

type memClient struct {
	m    *memStorage
	name string
}

func (c *memClient) Get(_ context.Context, key string) ([]byte, error) {
	c.m.mu.Lock()
	defer c.m.mu.Unlock()
	return slices.Clone(c.m.data[c.name][key]), nil
}

func (c *memClient) Set(_ context.Context, key string, value []byte) error {
	c.m.mu.Lock()
	defer c.m.mu.Unlock()
	c.m.data[c.name][key] = slices.Clone(value)
	return nil
}

func (c *memClient) Delete(_ context.Context, key string) error {
	c.m.mu.Lock()
	defer c.m.mu.Unlock()
	delete(c.m.data[c.name], key)
	return nil
}

func (c *memClient) Batch(ctx context.Context, ops ...*storage.Operation) error {
	for _, op := range ops {
		switch op.Type {
		case storage.Get:
			op.Value, _ = c.Get(ctx, op.Key)
		case storage.Set:
			_ = c.Set(ctx, op.Key, op.Value)
		case storage.Delete:
			_ = c.Delete(ctx, op.Key)
		}
	}
	return nil
}

func (c *memClient) Walk(ctx context.Context, fn storage.WalkFunc) error {
	c.m.mu.Lock()
	kv := map[string][]byte{}
	for k, v := range c.m.data[c.name] {
		kv[k] = slices.Clone(v)
	}
	c.m.mu.Unlock()
	var ops []*storage.Operation
	for k, v := range kv {
		o, err := fn(k, v)
		if err != nil {
			return err
		}
		ops = append(ops, o...)
	}
	return c.Batch(ctx, ops...)
}

func (c *memClient) Close(context.Context) error { return nil }

func testChunk(tenant, agent string, spans ...string) *heldChunk {
	c := &heldChunk{
		id:     identity{tenant: tenant, agent: agent},
		layout: payload.Layout{Resource: []byte(`{"resourceSpans":[{"resource":null,"scopeSpans":[`), Scopes: [][]byte{[]byte(`{"scope":{"name":"a"},"spans":[`), []byte(`{"scope":{"name":"b"},"spans":[`)}},
	}
	for i, s := range spans {
		start := len(c.buf)
		c.buf = append(c.buf, s...)
		c.spans = append(c.spans, payload.Span{Start: start, End: len(c.buf), Scope: i % 2})
	}
	return c
}

func TestHeldRecordRoundTrip(t *testing.T) {
	c := testChunk(tenantA, agent1, `{"name":"x"}`, `{"name":"yy"}`, `{"name":"zzz"}`)
	c.until = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	c.info = client.Info{Metadata: client.NewMetadata(map[string][]string{"authorization": {"Bearer agent-own"}})}
	data, err := encodeHeld(c)
	require.NoError(t, err)
	got, err := decodeHeld(data)
	require.NoError(t, err)
	assert.Equal(t, c.id, got.id)
	assert.True(t, c.until.Equal(got.until))
	assert.Equal(t, c.layout, got.layout)
	assert.Equal(t, string(c.layout.AppendBody(nil, c.buf, c.spans)), string(got.layout.AppendBody(nil, got.buf, got.spans)))
	assert.Equal(t, []string{"Bearer agent-own"}, got.info.Metadata.Get("authorization"))

	for name, bad := range map[string]string{
		"not json":        `{`,
		"other version":   `{"v":2,"tenant":"t","agent":"a","scopes":["e30="],"spans":"e30=","bounds":[2,0]}`,
		"bounds past end": `{"v":1,"tenant":"t","agent":"a","scopes":["e30="],"spans":"e30=","bounds":[9,0]}`,
		"unknown scope":   `{"v":1,"tenant":"t","agent":"a","scopes":["e30="],"spans":"e30=","bounds":[2,1]}`,
		"no spans":        `{"v":1,"tenant":"t","agent":"a","scopes":[],"spans":"","bounds":[]}`,
		"no identity":     `{"v":1,"scopes":["e30="],"spans":"e30=","bounds":[2,0]}`,
	} {
		_, err := decodeHeld([]byte(bad))
		assert.Error(t, err, name)
	}
}

func TestDiskStoreLoadsInHeldOrderAndDropsUnreadable(t *testing.T) {
	ms := newMemStorage()
	cl, err := ms.GetClient(context.Background(), component.KindExporter, component.MustNewID("agent365"), "agent365_held")
	require.NoError(t, err)
	d := newDiskStore(cl.(storageClient))
	var chunks []*heldChunk
	for i := range 5 {
		c := testChunk(tenantA, agent1, `{"n":`+string(rune('0'+i))+`}`)
		require.NoError(t, d.put(context.Background(), c))
		chunks = append(chunks, c)
	}
	require.NoError(t, d.remove(context.Background(), chunks[1]))
	require.NoError(t, cl.Set(context.Background(), heldKeyPrefix+"garbage", []byte("{")))
	require.NoError(t, cl.Set(context.Background(), "other/key", []byte("kept")))

	// A new store, as after a restart.
	d2 := newDiskStore(cl.(storageClient))
	got, err := d2.load(context.Background())
	require.NoError(t, err)
	var order []string
	for _, c := range got {
		order = append(order, string(c.buf))
	}
	assert.Equal(t, []string{`{"n":0}`, `{"n":2}`, `{"n":3}`, `{"n":4}`}, order)
	v, _ := cl.Get(context.Background(), heldKeyPrefix+"garbage")
	assert.Nil(t, v, "an unreadable record is deleted")
	v, _ = cl.Get(context.Background(), "other/key")
	assert.Equal(t, "kept", string(v))
	// New keys sort after the loaded ones.
	c := testChunk(tenantA, agent1, `{"n":5}`)
	require.NoError(t, d2.put(context.Background(), c))
	assert.Greater(t, c.key, got[len(got)-1].key)
}

func TestNewHeldChunkCopiesOnlyItsSpansAndScopes(t *testing.T) {
	g := &partition{id: identity{tenant: tenantA, agent: agent1}}
	g.layout.Resource = []byte("R")
	g.layout.Scopes = [][]byte{[]byte("S0"), []byte("S1"), []byte("S2")}
	buf := []byte("aaabbbbcc")
	spans := []payload.Span{{Start: 3, End: 7, Scope: 1}, {Start: 7, End: 9, Scope: 2}}
	c := newHeldChunk(g, buf, spans)
	buf[3] = 'X' // the batch's buffer is reused
	g.layout.Scopes[1][0] = 'X'
	assert.Equal(t, "bbbbcc", string(c.buf))
	assert.Equal(t, [][]byte{[]byte("S1"), []byte("S2")}, c.layout.Scopes)
	assert.Equal(t, "RS1bbbb]},S2cc]}]}]}", string(c.layout.AppendBody(nil, c.buf, c.spans)))
	assert.Equal(t, len("R")+len("S1S2")+len("bbbbcc"), c.size())
}
