package store

import (
	"encoding/json"
	"maps"
	"slices"
	"sync"
	"sync/atomic"

	"rendezvous"
)

// decodeCache remembers what the JSON columns of appointments (and their sealed link
// tokens) decode to, keyed by the stored bytes themselves. Listing an agent's day decodes
// the same unchanged rows again and again, and JSON decoding plus AES-GCM opening cost more
// than reading the rows. Keys are the content, not the row id, so an entry can never be
// stale: a changed row has different bytes. When full it is simply emptied; rows in use
// are back after one read. sync.Map because reads vastly outnumber writes and a lookup
// then takes no lock, which matters with every row of every list doing three.
type decodeCache struct {
	customers    boundedMap[[]rendezvous.Customer]
	interactions boundedMap[rendezvous.Interaction]
	tokens       boundedMap[string]
}

const decodeCacheSize = 8192

type boundedMap[V any] struct {
	m sync.Map
	n atomic.Int64
}

func (b *boundedMap[V]) load(key []byte) (V, bool) {
	v, ok := b.m.Load(string(key))
	if !ok {
		var zero V
		return zero, false
	}
	return v.(V), true
}

func (b *boundedMap[V]) store(key []byte, v V) {
	if b.n.Add(1) > decodeCacheSize {
		b.m.Clear()
		b.n.Store(1)
	}
	b.m.Store(string(key), v)
}

func newDecodeCache() *decodeCache { return &decodeCache{} }

// decodeCustomers returns the customers stored as raw, as a slice the caller may modify.
func (c *decodeCache) decodeCustomers(raw []byte) ([]rendezvous.Customer, error) {
	v, ok := c.customers.load(raw)
	if !ok {
		var cs []customerJSON
		if err := json.Unmarshal(raw, &cs); err != nil {
			return nil, err
		}
		v = make([]rendezvous.Customer, len(cs))
		for i, x := range cs {
			v[i] = rendezvous.Customer(x)
		}
		c.customers.store(raw, v)
	}
	return slices.Clone(v), nil
}

// decodeInteraction returns the interaction stored as raw, with a map the caller may modify.
func (c *decodeCache) decodeInteraction(raw []byte) (rendezvous.Interaction, error) {
	v, ok := c.interactions.load(raw)
	if !ok {
		var ij interactionJSON
		if err := json.Unmarshal(raw, &ij); err != nil {
			return v, err
		}
		v = rendezvous.Interaction{
			Routing:      rendezvous.Routing{Type: rendezvous.RoutingType(ij.RoutingType), QueueName: ij.QueueName},
			CustomFields: ij.CustomFields,
		}
		c.interactions.store(raw, v)
	}
	v.CustomFields = maps.Clone(v.CustomFields)
	return v, nil
}

// openToken returns the link token sealed in sealed, opening it with open on a miss.
func (c *decodeCache) openToken(sealed []byte, open func([]byte) ([]byte, error)) (string, error) {
	if v, ok := c.tokens.load(sealed); ok {
		return v, nil
	}
	b, err := open(sealed)
	if err != nil {
		return "", err
	}
	c.tokens.store(sealed, string(b))
	return string(b), nil
}
