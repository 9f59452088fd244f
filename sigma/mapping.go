package sigma

import (
	_ "embed"
	"fmt"
	"sync"

	"github.com/goccy/go-yaml"
)

// Mapping maps rule field names onto the event schema per logsource. It is
// data (mappings.yml, documented in docs/sigma.md), not code, so operators can
// extend it for their products.
type Mapping struct {
	Category map[string]map[string]string `yaml:"category"`
	Product  map[string]map[string]string `yaml:"product"`
	// Service is keyed "product/service".
	Service map[string]map[string]string `yaml:"service"`
}

//go:embed mappings.yml
var defaultMappingYAML []byte

var defaultMapping = sync.OnceValue(func() *Mapping {
	m, err := ParseMapping(defaultMappingYAML)
	if err != nil {
		panic("sigma: embedded mappings.yml: " + err.Error()) // build-time data, tested
	}
	return m
})

// DefaultMapping returns the built-in mapping (mappings.yml).
func DefaultMapping() *Mapping { return defaultMapping() }

// ParseMapping reads a mapping in the mappings.yml format.
func ParseMapping(data []byte) (*Mapping, error) {
	var m Mapping
	if err := yaml.UnmarshalWithOptions(data, &m, yaml.Strict()); err != nil {
		return nil, fmt.Errorf("sigma: field mapping: %w", err)
	}
	return &m, nil
}

// For returns the merged field map for a logsource.
func (m *Mapping) For(ls LogSource) map[string]string {
	out := map[string]string{}
	if m == nil {
		return out
	}
	for k, v := range m.Category[ls.Category] {
		out[k] = v
	}
	for k, v := range m.Product[ls.Product] {
		out[k] = v
	}
	if ls.Product != "" && ls.Service != "" {
		for k, v := range m.Service[ls.Product+"/"+ls.Service] {
			out[k] = v
		}
	}
	return out
}
