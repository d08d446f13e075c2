package nginxconf

import "strings"

// AddHeaders returns the add_header directives written directly in block
// (nil = the top level).
func (c *Config) AddHeaders(block *Directive) []*Directive {
	if block == nil {
		var out []*Directive
		for _, d := range c.Directives {
			if d.Name == "add_header" {
				out = append(out, d)
			}
		}
		return out
	}
	return block.Children("add_header")
}

// HeaderOverride is a block whose own add_header directives make nginx
// drop the ones it would otherwise inherit: add_header is inherited from
// the enclosing level only when the current level has none.
type HeaderOverride struct {
	Block *Directive   // the server, location or if block
	Own   []*Directive // its add_header directives
	// From is the level the dropped headers were set at (the nearest
	// enclosing block with add_header).
	From *Directive
	// Dropped are the inherited add_header directives whose header the
	// block does not set again; they no longer apply inside Block.
	Dropped []*Directive
}

// HeaderOverrides finds every block that silently drops inherited headers,
// in file order.
func (c *Config) HeaderOverrides() []HeaderOverride {
	var out []HeaderOverride
	var walk func(ds []*Directive, inherited []*Directive, from *Directive)
	walk = func(ds []*Directive, inherited []*Directive, from *Directive) {
		for _, d := range ds {
			if !d.IsBlock {
				continue
			}
			own := d.Children("add_header")
			eff, effFrom := inherited, from
			if len(own) > 0 {
				if dropped := notRedeclared(inherited, own); len(dropped) > 0 {
					out = append(out, HeaderOverride{Block: d, Own: own, From: from, Dropped: dropped})
				}
				eff, effFrom = own, d
			}
			walk(d.Block, eff, effFrom)
		}
	}
	// Top-level add_header is not valid nginx; start from what http sets.
	walk(c.Directives, nil, nil)
	return out
}

// notRedeclared returns the inherited headers whose name own does not set.
func notRedeclared(inherited, own []*Directive) []*Directive {
	var out []*Directive
	for _, h := range inherited {
		if len(h.Args) == 0 {
			continue
		}
		found := false
		for _, o := range own {
			if len(o.Args) > 0 && strings.EqualFold(o.Args[0], h.Args[0]) {
				found = true
				break
			}
		}
		if !found {
			out = append(out, h)
		}
	}
	return out
}
