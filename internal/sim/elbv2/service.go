// Package elbv2 simulates Elastic Load Balancing v2 for pier's tests and sandbox:
// target groups, their targets and health, and just enough load balancers and
// listeners for a target group to be attached, over the awsQuery protocol the real
// elasticloadbalancingv2 client speaks (form body Action=…&Version=2015-12-01, XML
// replies, errors with ELBv2's short codes such as TargetGroupNotFound).
//
// The ECS simulator drives targets through the model methods: [Service.RegisterTarget]
// when a task starts, [Service.SetTargetHealth] as its simulated health checks pass
// or fail, [Service.DeregisterTarget] when the task stops (the target drains for
// [Service.DeregistrationDelay] on the virtual clock, then disappears) and
// [Service.RemoveTarget] to drop it at once. The timing of health belongs to the ECS
// side; this package shows the state to clients through DescribeTargetHealth.
package elbv2

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Namespace is the XML namespace of ELBv2 replies.
const Namespace = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"

// APIVersion is the Version every awsQuery request carries.
const APIVersion = "2015-12-01"

// Service is one simulated ELBv2 (one account, one region). It is safe for
// concurrent use.
type Service struct {
	account, region string
	now             func() time.Time

	mu        sync.Mutex
	seq       int                     // ARN ids
	reqSeq    int                     // request ids, apart so that ARNs do not depend on earlier calls
	tgs       map[string]*targetGroup // by ARN
	lbs       map[string]*loadBalancer
	listeners map[string]*listener
}

// Option changes a Service at construction.
type Option func(*Service)

// WithClock makes the service read time from now (the simulator's virtual clock):
// load balancers' CreatedTime and the end of draining follow it.
func WithClock(now func() time.Time) Option {
	return func(s *Service) { s.now = now }
}

// New returns an empty ELBv2 for account and region.
func New(account, region string, opts ...Option) *Service {
	s := &Service{
		account:   account,
		region:    region,
		now:       time.Now,
		tgs:       map[string]*targetGroup{},
		lbs:       map[string]*loadBalancer{},
		listeners: map[string]*listener{},
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// apiError is an awsQuery error reply.
type apiError struct {
	status int
	code   string
	msg    string
}

func (e *apiError) Error() string { return e.code + ": " + e.msg }

func errorf(code, format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, code: code, msg: fmt.Sprintf(format, args...)}
}

// nextID returns a fresh 16-hex-digit id; ids are deterministic so a seeded world
// gives the same ARNs every run. Callers hold s.mu.
func (s *Service) nextID() string {
	s.seq++
	return fmt.Sprintf("%016x", uint64(s.seq)*0x9e3779b97f4a7c15)
}

func (s *Service) requestID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqSeq++
	n := s.reqSeq
	return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", n, n&0xffff, n&0xfff, n&0xfff, n)
}

// ServeHTTP serves the awsQuery API: POST / with a form body Action=<Op>&Version=…
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.writeError(w, errorf("MalformedQueryString", "parsing the form body: %v", err))
		return
	}
	action := r.Form.Get("Action")
	h := s.ops()[action]
	if h == nil {
		s.writeError(w, errorf("InvalidAction", "The action %s is not valid for this web service (the simulator implements %s).",
			action, strings.Join(s.Operations(), ", ")))
		return
	}
	if v := r.Form.Get("Version"); v != APIVersion {
		s.writeError(w, errorf("InvalidParameterValue", "Version %q is not supported; ELBv2 is %s", v, APIVersion))
		return
	}
	result, err := h(query{v: r.Form})
	if err != nil {
		ae, ok := err.(*apiError)
		if !ok {
			ae = &apiError{status: http.StatusInternalServerError, code: "InternalFailure", msg: err.Error()}
		}
		s.writeError(w, ae)
		return
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, `<%sResponse xmlns="%s">`, action, Namespace)
	enc := xml.NewEncoder(&buf)
	if err := enc.EncodeElement(result, xml.StartElement{Name: xml.Name{Local: action + "Result"}}); err != nil {
		s.writeError(w, &apiError{status: http.StatusInternalServerError, code: "InternalFailure", msg: "encoding the reply: " + err.Error()})
		return
	}
	_ = enc.Flush()
	fmt.Fprintf(&buf, `<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>`, s.requestID(), action)
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	_, _ = w.Write(buf.Bytes())
}

// textEscaper escapes element text as ELBv2 does, leaving quotes readable.
var textEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// xmlText makes an error message element text. Messages echo request
// values, which may hold bytes XML cannot carry (invalid UTF-8, control
// characters): those become U+FFFD, as encoding/xml does for the success
// replies, so a client can always parse the error.
func xmlText(msg string) string {
	clean := strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF {
			return r
		}
		return '\uFFFD'
	}, msg) // strings.Map sees each invalid UTF-8 byte as U+FFFD already
	return textEscaper.Replace(clean)
}

func (s *Service) writeError(w http.ResponseWriter, e *apiError) {
	typ := "Sender"
	if e.status >= 500 {
		typ = "Receiver"
	}
	body := fmt.Sprintf(`<ErrorResponse xmlns="%s"><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`,
		Namespace, typ, e.code, xmlText(e.msg), s.requestID())
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(e.status)
	_, _ = w.Write([]byte(body))
}

type opFunc func(query) (any, error)

func (s *Service) ops() map[string]opFunc {
	return map[string]opFunc{
		"CreateTargetGroup":             s.createTargetGroup,
		"DescribeTargetGroups":          s.describeTargetGroups,
		"DeleteTargetGroup":             s.deleteTargetGroup,
		"ModifyTargetGroup":             s.inTargetGroup(s.modifyTargetGroup),
		"DescribeTargetGroupAttributes": s.inTargetGroup(s.describeTargetGroupAttributes),
		"ModifyTargetGroupAttributes":   s.inTargetGroup(s.modifyTargetGroupAttributes),
		"RegisterTargets":               s.inTargetGroup(s.registerTargets),
		"DeregisterTargets":             s.inTargetGroup(s.deregisterTargets),
		"DescribeTargetHealth":          s.inTargetGroup(s.describeTargetHealth),
		"CreateLoadBalancer":            s.createLoadBalancer,
		"DescribeLoadBalancers":         s.describeLoadBalancers,
		"CreateListener":                s.createListener,
		"DescribeListeners":             s.describeListeners,
	}
}

// Operations lists the awsQuery actions the simulator implements, sorted.
func (s *Service) Operations() []string {
	return slices.Sorted(maps.Keys(s.ops()))
}

// query reads awsQuery parameters under a prefix: "Targets.member.1." and so on.
type query struct {
	v      url.Values
	prefix string
}

func (q query) get(k string) string { return q.v.Get(q.prefix + k) }

func (q query) has(k string) bool {
	_, ok := q.v[q.prefix+k]
	return ok
}

func (q query) sub(k string) query { return query{v: q.v, prefix: q.prefix + k + "."} }

// members returns the elements of the list k, in index order.
func (q query) members(k string) []query {
	head := q.prefix + k + ".member."
	seen := map[int]bool{}
	for key := range q.v {
		rest, ok := strings.CutPrefix(key, head)
		if !ok {
			continue
		}
		num, _, _ := strings.Cut(rest, ".")
		if n, err := strconv.Atoi(num); err == nil && n > 0 {
			seen[n] = true
		}
	}
	idx := make([]int, 0, len(seen))
	for n := range seen {
		idx = append(idx, n)
	}
	sort.Ints(idx)
	out := make([]query, len(idx))
	for i, n := range idx {
		out[i] = query{v: q.v, prefix: head + strconv.Itoa(n) + "."}
	}
	return out
}

// strings returns the list of scalars k.
func (q query) strings(k string) []string {
	var out []string
	for _, m := range q.members(k) {
		out = append(out, q.v.Get(strings.TrimSuffix(m.prefix, ".")))
	}
	return out
}

// int32 reads an optional integer parameter.
func (q query) int32(k string) (int32, bool, error) {
	if !q.has(k) {
		return 0, false, nil
	}
	n, err := strconv.ParseInt(q.get(k), 10, 32)
	if err != nil {
		return 0, false, errorf("ValidationError", "'%s' at '%s' is not an integer", q.get(k), q.prefix+k)
	}
	return int32(n), true, nil
}

// paginate cuts items by Marker (an index) and PageSize (1–400).
func paginate[T any](q query, items []T) ([]T, string, error) {
	start := 0
	if m := q.get("Marker"); m != "" {
		n, err := strconv.Atoi(m)
		if err != nil || n < 0 || n > len(items) {
			return nil, "", errorf("ValidationError", "Invalid Marker %q", m)
		}
		start = n
	}
	size := 400
	if n, ok, err := q.int32("PageSize"); err != nil {
		return nil, "", err
	} else if ok {
		if n < 1 || n > 400 {
			return nil, "", errorf("ValidationError", "1 validation error detected: Value '%d' at 'pageSize' failed to satisfy constraint: Member must have value between 1 and 400", n)
		}
		size = int(n)
	}
	end := min(start+size, len(items))
	next := ""
	if end < len(items) {
		next = strconv.Itoa(end)
	}
	return items[start:end], next, nil
}

// isoTime renders a timestamp the way awsQuery replies carry them.
func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
