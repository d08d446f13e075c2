package plan

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Read parses a plan saved with `pier plan --output json`, for `pier deploy --plan`.
func Read(name string, data []byte) (*Plan, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var p Plan
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("reading plan %s: %w", name, err)
	}
	if p.FormatVersion != FormatVersion {
		return nil, fmt.Errorf("reading plan %s: format version %d, this pier reads %d: run pier plan again", name, p.FormatVersion, FormatVersion)
	}
	seen := map[string]bool{}
	for _, s := range p.Services {
		if s.Name == "" {
			return nil, fmt.Errorf("reading plan %s: a service without a name", name)
		}
		if seen[s.Name] {
			return nil, fmt.Errorf("reading plan %s: service %q twice", name, s.Name)
		}
		seen[s.Name] = true
	}
	return &p, nil
}
