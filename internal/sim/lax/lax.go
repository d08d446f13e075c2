// Package lax puts an HTTP middleware in front of the simulator (or any ECS
// endpoint) that answers the way the ECS API contract allows but
// internal/sim does not: lists in any order whatever `sort` asks, optional
// members left out, an UpdateService that starts no deployment (or starts
// it late), an UpdateService answer that still shows the PRIMARY from
// before the call, and a FAILED deployment that is gone by the next look.
//
// Tests point the real SDK clients at it, so pier's verdict is checked
// against what ECS guarantees, not against our simulator's kindness. It
// imports nothing of pier.
package lax

import (
	"bytes"
	"encoding/json"
	"io"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
)

const ecsPrefix = "AmazonEC2ContainerServiceV20141113."

// Order is how the proxy lists what ECS lets it list in any order.
type Order int

// Orders the proxy can list in.
const (
	AsServed Order = iota // as the server behind answered
	Reversed              // the server's order reversed (ascending for sort=DESC)
	Shuffled              // a seeded shuffle
)

// Option configures a Proxy.
type Option func(*Proxy)

// ListOrder lists task definitions, tasks and a service's deployments in
// order o, ignoring `sort`, and pages task definitions pageSize at a time
// with the proxy's own tokens (0: one page).
func ListOrder(o Order, seed int64, pageSize int) Option {
	return func(p *Proxy) { p.order, p.rng, p.pageSize = o, rand.New(rand.NewSource(seed)), pageSize }
}

// DropMembers removes members the API reference calls optional from every
// service in DescribeServices, UpdateService and CreateService answers.
// A path is dot-separated from the service object; lists are walked
// through, so "deployments.rolloutState" drops it from every deployment.
func DropMembers(paths ...string) Option {
	return func(p *Proxy) { p.drop = append(p.drop, paths...) }
}

// NoDeployment makes an UpdateService that names a task definition ending
// in suffix start nothing: the proxy answers with the service as it is and
// forwards only a change of desiredCount, so the service keeps its
// revision and its deployments.
func NoDeployment(suffix string) Option {
	return func(p *Proxy) { p.never = append(p.never, suffix) }
}

// LateDeployment lets an UpdateService naming a task definition ending in
// suffix through, but its answer and the next rounds DescribeServices
// answers show the service's revision and deployments as they were before
// the call: ECS is eventually consistent, and the new deployment shows
// late.
func LateDeployment(suffix string, rounds int) Option {
	return func(p *Proxy) { p.late = append(p.late, lateRule{suffix, rounds}) }
}

// OldPrimary makes UpdateService answers carry the deployments (and the
// taskDefinition) the service had before the call: the answer's PRIMARY is
// then not the deployment the call started.
func OldPrimary() Option { return func(p *Proxy) { p.oldPrimary = true } }

// VanishFailed drops a deployment whose rolloutState is FAILED from
// DescribeServices answers once it has been shown shown times (0: never
// shown), as a later look after ECS finished draining it would find.
func VanishFailed(shown int) Option {
	return func(p *Proxy) { p.vanishAfter, p.vanish = shown, true }
}

// StoppedLate answers the first n ListTasks calls for STOPPED tasks with
// none: ECS lists a stopped task only eventually ("recently stopped tasks
// might appear"), so a verdict cannot wait on that list.
func StoppedLate(n int) Option { return func(p *Proxy) { p.stoppedLate = n } }

type lateRule struct {
	suffix string
	rounds int
}

// mask hides an update from DescribeServices answers for a while.
type mask struct {
	service string // the name or ARN the update named
	before  object // the service before the update
	left    int    // describes still answered with before
}

// Proxy is the middleware. Its zero options pass everything through.
type Proxy struct {
	next http.Handler

	order      Order
	rng        *rand.Rand
	pageSize   int
	drop       []string
	never      []string
	late       []lateRule
	oldPrimary bool
	vanish     bool

	vanishAfter int
	stoppedLate int

	mu       sync.Mutex
	masks    []*mask
	shown    map[string]int // FAILED deployment id → times shown
	pages    map[string][]string
	tokens   int
	swallows int
}

// New returns a proxy in front of next.
func New(next http.Handler, opts ...Option) *Proxy {
	p := &Proxy{next: next, shown: map[string]int{}, pages: map[string][]string{}, rng: rand.New(rand.NewSource(1))}
	for _, o := range opts {
		o(p)
	}
	return p
}

// Swallowed is how many UpdateService calls started no deployment because
// of NoDeployment.
func (p *Proxy) Swallowed() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.swallows
}

// ServeHTTP answers one request, changing what the contract lets it change.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	if !strings.HasPrefix(target, ecsPrefix) {
		p.next.ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "reading the request body: "+err.Error(), http.StatusBadRequest)
		return
	}
	op := strings.TrimPrefix(target, ecsPrefix)
	var status int
	var out []byte
	switch op {
	case "UpdateService":
		status, out = p.updateService(r.Header, body)
	case "DescribeServices":
		status, out = p.call(r.Header, op, body)
		if status == http.StatusOK {
			out = p.rewriteServices(p.applyMasks(out), "services")
		}
	case "CreateService":
		status, out = p.call(r.Header, op, body)
		if status == http.StatusOK {
			out = p.rewriteServices(out, "service")
		}
	case "ListTaskDefinitions":
		status, out = p.listTaskDefinitions(r.Header, body)
	case "ListTasks":
		if p.hideStopped(body) {
			status, out = http.StatusOK, []byte(`{"taskArns":[]}`)
			break
		}
		status, out = p.call(r.Header, op, body)
		if status == http.StatusOK {
			out = p.reorderField(out, "taskArns")
		}
	default:
		status, out = p.call(r.Header, op, body)
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(status)
	w.Write(out)
}

// hideStopped counts a ListTasks for STOPPED tasks against StoppedLate.
func (p *Proxy) hideStopped(body []byte) bool {
	if decode(body)["desiredStatus"] != "STOPPED" {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stoppedLate <= 0 {
		return false
	}
	p.stoppedLate--
	return true
}

// call forwards one ECS operation to the server behind and returns its answer.
func (p *Proxy) call(h http.Header, op string, body []byte) (int, []byte) {
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	for k, v := range h {
		req.Header[k] = v
	}
	req.Header.Set("X-Amz-Target", ecsPrefix+op)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	rec := httptest.NewRecorder()
	p.next.ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes()
}

type object = map[string]any

func decode(b []byte) object {
	var m object
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	return m
}

func encode(m object) []byte {
	b, err := json.Marshal(m)
	if err != nil {
		panic(err) // decoded JSON always encodes
	}
	return b
}

func (p *Proxy) matches(list []string, td string) bool {
	for _, s := range list {
		if td != "" && strings.HasSuffix(td, s) {
			return true
		}
	}
	return false
}

// updateService applies NoDeployment, LateDeployment and OldPrimary.
func (p *Proxy) updateService(h http.Header, body []byte) (int, []byte) {
	in := decode(body)
	td, _ := in["taskDefinition"].(string)
	before := p.describeOne(h, in)
	if p.matches(p.never, td) {
		delete(in, "taskDefinition")
		delete(in, "forceNewDeployment")
		p.mu.Lock()
		p.swallows++
		p.mu.Unlock()
		status, out := p.call(h, "UpdateService", encode(in))
		if status != http.StatusOK || before == nil {
			return status, out
		}
		// The answer shows the service as it stays: its revision and
		// deployments from before, with the new desired count.
		ans := decode(out)
		if svc, ok := ans["service"].(object); ok {
			svc["taskDefinition"], svc["deployments"] = before["taskDefinition"], before["deployments"]
		}
		return status, p.rewriteServices(encode(ans), "service")
	}
	for _, l := range p.late {
		if p.matches([]string{l.suffix}, td) && before != nil {
			status, out := p.call(h, "UpdateService", body)
			if status != http.StatusOK {
				return status, out
			}
			name, _ := in["service"].(string)
			p.mu.Lock()
			p.masks = append(p.masks, &mask{service: name, before: before, left: l.rounds})
			p.mu.Unlock()
			return status, p.rewriteServices(encode(object{"service": before}), "service")
		}
	}
	status, out := p.call(h, "UpdateService", body)
	if status == http.StatusOK && p.oldPrimary && before != nil {
		ans := decode(out)
		if svc, ok := ans["service"].(object); ok {
			svc["taskDefinition"], svc["deployments"] = before["taskDefinition"], before["deployments"]
			out = encode(ans)
		}
	}
	if status == http.StatusOK {
		out = p.rewriteServices(out, "service")
	}
	return status, out
}

// describeOne reads the service an UpdateService names, as it is now.
func (p *Proxy) describeOne(h http.Header, in object) object {
	q := object{"services": []any{in["service"]}}
	if c, ok := in["cluster"]; ok {
		q["cluster"] = c
	}
	status, out := p.call(h, "DescribeServices", encode(q))
	if status != http.StatusOK {
		return nil
	}
	list, _ := decode(out)["services"].([]any)
	if len(list) == 0 {
		return nil
	}
	svc, _ := list[0].(object)
	return svc
}

// applyMasks answers services under a LateDeployment mask with their
// revision and deployments from before the update, and counts the round.
func (p *Proxy) applyMasks(out []byte) []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.masks) == 0 {
		return out
	}
	ans := decode(out)
	list, _ := ans["services"].([]any)
	for _, m := range p.masks {
		if m.left <= 0 {
			continue
		}
		for _, s := range list {
			svc, _ := s.(object)
			if svc != nil && (svc["serviceName"] == m.service || svc["serviceArn"] == m.service) {
				svc["taskDefinition"], svc["deployments"] = m.before["taskDefinition"], m.before["deployments"]
				m.left--
			}
		}
	}
	return encode(ans)
}

// rewriteServices drops members, reorders deployments and hides FAILED
// deployments in the service (key "service") or services ("services") of
// an answer.
func (p *Proxy) rewriteServices(out []byte, key string) []byte {
	ans := decode(out)
	if ans == nil {
		return out
	}
	var svcs []any
	switch v := ans[key].(type) {
	case []any:
		svcs = v
	case object:
		svcs = []any{v}
	}
	for _, s := range svcs {
		svc, ok := s.(object)
		if !ok {
			continue
		}
		if deps, ok := svc["deployments"].([]any); ok {
			svc["deployments"] = p.reorder(p.hideFailed(deps))
		}
		for _, path := range p.drop {
			dropPath(svc, strings.Split(path, "."))
		}
	}
	return encode(ans)
}

func (p *Proxy) hideFailed(deps []any) []any {
	if !p.vanish {
		return deps
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var keep []any
	for _, d := range deps {
		dep, _ := d.(object)
		if dep != nil && dep["rolloutState"] == "FAILED" {
			id, _ := dep["id"].(string)
			if p.shown[id] >= p.vanishAfter {
				continue
			}
			p.shown[id]++
		}
		keep = append(keep, d)
	}
	return keep
}

func dropPath(v any, path []string) {
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			dropPath(e, path)
		}
	case object:
		if len(path) == 1 {
			delete(x, path[0])
			return
		}
		if next, ok := x[path[0]]; ok {
			dropPath(next, path[1:])
		}
	}
}

func (p *Proxy) reorder(list []any) []any {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := append([]any(nil), list...)
	switch p.order {
	case Reversed:
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	case Shuffled:
		p.rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	}
	return out
}

func (p *Proxy) reorderStrings(list []string) []string {
	anys := make([]any, len(list))
	for i, s := range list {
		anys[i] = s
	}
	anys = p.reorder(anys)
	out := make([]string, len(anys))
	for i, a := range anys {
		out[i] = a.(string)
	}
	return out
}

func (p *Proxy) reorderField(out []byte, field string) []byte {
	ans := decode(out)
	if list, ok := ans[field].([]any); ok && ans != nil {
		ans[field] = p.reorder(list)
		return encode(ans)
	}
	return out
}

// listTaskDefinitions reads every page from the server behind, lists them
// in the proxy's order whatever `sort` says, and pages them itself.
func (p *Proxy) listTaskDefinitions(h http.Header, body []byte) (int, []byte) {
	in := decode(body)
	if tok, ok := in["nextToken"].(string); ok && strings.HasPrefix(tok, "lax-") {
		p.mu.Lock()
		rest, found := p.pages[tok]
		delete(p.pages, tok)
		p.mu.Unlock()
		if !found {
			return http.StatusBadRequest, []byte(`{"__type":"InvalidParameterException","message":"The nextToken is not valid."}`)
		}
		return http.StatusOK, p.page(rest)
	}
	delete(in, "maxResults")
	var all []string
	for {
		status, out := p.call(h, "ListTaskDefinitions", encode(in))
		if status != http.StatusOK {
			return status, out
		}
		ans := decode(out)
		all = append(all, asStrings(ans["taskDefinitionArns"])...)
		tok, _ := ans["nextToken"].(string)
		if tok == "" {
			break
		}
		in["nextToken"] = tok
	}
	return http.StatusOK, p.page(p.reorderStrings(all))
}

func (p *Proxy) page(arns []string) []byte {
	ans := object{"taskDefinitionArns": arns}
	if p.pageSize > 0 && len(arns) > p.pageSize {
		p.mu.Lock()
		p.tokens++
		tok := "lax-" + strconv.Itoa(p.tokens)
		p.pages[tok] = arns[p.pageSize:]
		p.mu.Unlock()
		ans["taskDefinitionArns"], ans["nextToken"] = arns[:p.pageSize], tok
	}
	return encode(ans)
}

func asStrings(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, e := range list {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
