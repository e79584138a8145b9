package store

import (
	"encoding/json"
	"maps"
	"slices"
	"sync"

	"rendezvous"
)

// decodeCache remembers what the JSON columns of appointments (and their sealed link
// tokens) decode to, keyed by the stored bytes themselves. Listing an agent's day decodes
// the same unchanged rows again and again, and JSON decoding plus AES-GCM opening cost more
// than reading the rows. Keys are the content, not the row id, so an entry can never be
// stale: a changed row has different bytes. When full it is simply emptied; rows in use
// are back after one read.
type decodeCache struct {
	mu           sync.RWMutex
	customers    map[string][]rendezvous.Customer
	interactions map[string]rendezvous.Interaction
	tokens       map[string]string
}

const decodeCacheSize = 8192

func newDecodeCache() *decodeCache {
	return &decodeCache{
		customers:    map[string][]rendezvous.Customer{},
		interactions: map[string]rendezvous.Interaction{},
		tokens:       map[string]string{},
	}
}

// decodeCustomers returns the customers stored as raw, as a slice the caller may modify.
func (c *decodeCache) decodeCustomers(raw []byte) ([]rendezvous.Customer, error) {
	c.mu.RLock()
	v, ok := c.customers[string(raw)]
	c.mu.RUnlock()
	if !ok {
		var cs []customerJSON
		if err := json.Unmarshal(raw, &cs); err != nil {
			return nil, err
		}
		v = make([]rendezvous.Customer, len(cs))
		for i, x := range cs {
			v[i] = rendezvous.Customer(x)
		}
		c.mu.Lock()
		if len(c.customers) >= decodeCacheSize {
			clear(c.customers)
		}
		c.customers[string(raw)] = v
		c.mu.Unlock()
	}
	return slices.Clone(v), nil
}

// decodeInteraction returns the interaction stored as raw, with a map the caller may modify.
func (c *decodeCache) decodeInteraction(raw []byte) (rendezvous.Interaction, error) {
	c.mu.RLock()
	v, ok := c.interactions[string(raw)]
	c.mu.RUnlock()
	if !ok {
		var ij interactionJSON
		if err := json.Unmarshal(raw, &ij); err != nil {
			return v, err
		}
		v = rendezvous.Interaction{
			Routing:      rendezvous.Routing{Type: rendezvous.RoutingType(ij.RoutingType), QueueName: ij.QueueName},
			CustomFields: ij.CustomFields,
		}
		c.mu.Lock()
		if len(c.interactions) >= decodeCacheSize {
			clear(c.interactions)
		}
		c.interactions[string(raw)] = v
		c.mu.Unlock()
	}
	v.CustomFields = maps.Clone(v.CustomFields)
	return v, nil
}

// openToken returns the link token sealed in sealed, opening it with open on a miss.
func (c *decodeCache) openToken(sealed []byte, open func([]byte) ([]byte, error)) (string, error) {
	c.mu.RLock()
	v, ok := c.tokens[string(sealed)]
	c.mu.RUnlock()
	if ok {
		return v, nil
	}
	b, err := open(sealed)
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	if len(c.tokens) >= decodeCacheSize {
		clear(c.tokens)
	}
	c.tokens[string(sealed)] = string(b)
	c.mu.Unlock()
	return string(b), nil
}
