package elbv2

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
)

type loadBalancer struct {
	arn, name, id  string
	typ, scheme    string
	ipAddressType  string
	subnets        []string
	securityGroups []string
	created        time.Time
}

type listener struct {
	arn, lbArn string
	port       int32
	protocol   string
	actions    []action
}

type action struct {
	typ      string
	tgArns   []string // forward targets: TargetGroupArn or ForwardConfig.TargetGroups
	order    int32
	hasOrder bool
}

// lbArnsOf returns the load balancers whose listeners forward to tgArn, sorted;
// callers hold s.mu.
func (s *Service) lbArnsOf(tgArn string) []string {
	seen := map[string]bool{}
	for _, l := range s.listeners {
		for _, a := range l.actions {
			if contains(a.tgArns, tgArn) {
				seen[l.lbArn] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for a := range seen {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

// LoadBalancerArns returns the load balancers that forward to the target group, as
// TargetGroup.LoadBalancerArns does; ECS refuses a target group without one.
func (s *Service) LoadBalancerArns(tgArn string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lbArnsOf(tgArn)
}

var lbNameRE = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?$`)

type wireAZ struct {
	ZoneName string `xml:"ZoneName"`
	SubnetID string `xml:"SubnetId"`
}

type wireLoadBalancer struct {
	LoadBalancerArn       string `xml:"LoadBalancerArn"`
	DNSName               string `xml:"DNSName"`
	CanonicalHostedZoneID string `xml:"CanonicalHostedZoneId"`
	CreatedTime           string `xml:"CreatedTime"`
	LoadBalancerName      string `xml:"LoadBalancerName"`
	Scheme                string `xml:"Scheme"`
	VpcID                 string `xml:"VpcId"`
	State                 struct {
		Code string `xml:"Code"`
	} `xml:"State"`
	Type              string   `xml:"Type"`
	AvailabilityZones []wireAZ `xml:"AvailabilityZones>member"`
	SecurityGroups    []string `xml:"SecurityGroups>member"`
	IPAddressType     string   `xml:"IpAddressType"`
}

func (s *Service) wireLB(lb *loadBalancer) wireLoadBalancer {
	w := wireLoadBalancer{
		LoadBalancerArn:       lb.arn,
		DNSName:               fmt.Sprintf("%s-%s.%s.elb.amazonaws.com", lb.name, lb.id[:10], s.region),
		CanonicalHostedZoneID: "Z2SIMULATEDELB",
		CreatedTime:           isoTime(lb.created),
		LoadBalancerName:      lb.name,
		Scheme:                lb.scheme,
		VpcID:                 "vpc-0sim" + lb.id[:9],
		Type:                  lb.typ,
		SecurityGroups:        lb.securityGroups,
		IPAddressType:         lb.ipAddressType,
	}
	if lb.scheme == "internal" {
		w.DNSName = "internal-" + w.DNSName
	}
	w.State.Code = "active"
	for i, sn := range lb.subnets {
		w.AvailabilityZones = append(w.AvailabilityZones, wireAZ{ZoneName: fmt.Sprintf("%s%c", s.region, 'a'+i%26), SubnetID: sn})
	}
	return w
}

type loadBalancersResult struct {
	LoadBalancers []wireLoadBalancer `xml:"LoadBalancers>member"`
	NextMarker    string             `xml:"NextMarker,omitempty"`
}

func (s *Service) createLoadBalancer(q query) (any, error) {
	lb := &loadBalancer{
		name: q.get("Name"), typ: q.get("Type"), scheme: q.get("Scheme"), ipAddressType: q.get("IpAddressType"),
		subnets: q.strings("Subnets"), securityGroups: q.strings("SecurityGroups"),
	}
	if !lbNameRE.MatchString(lb.name) || strings.HasPrefix(lb.name, "internal-") {
		return nil, errorf("ValidationError",
			"Load balancer name '%s' can have a maximum of 32 characters, can contain only alphanumeric characters or hyphens, must not begin or end with a hyphen, and must not begin with \"internal-\"", lb.name)
	}
	for _, m := range q.members("SubnetMappings") {
		lb.subnets = append(lb.subnets, m.get("SubnetId"))
	}
	if lb.typ == "" {
		lb.typ = "application"
	}
	if lb.scheme == "" {
		lb.scheme = "internet-facing"
	}
	if lb.ipAddressType == "" {
		lb.ipAddressType = "ipv4"
	}
	if lb.typ == "application" && len(lb.subnets) < 2 {
		return nil, errorf("ValidationError", "At least two subnets in two different Availability Zones must be specified")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, old := range s.lbs {
		if old.name == lb.name {
			// Like ELBv2, creating the same load balancer again returns it.
			if old.typ == lb.typ && old.scheme == lb.scheme {
				return &loadBalancersResult{LoadBalancers: []wireLoadBalancer{s.wireLB(old)}}, nil
			}
			return nil, errorf("DuplicateLoadBalancerName", "A load balancer with the same name '%s' exists, but with different settings", lb.name)
		}
	}
	lb.id = s.nextID()
	kind := map[string]string{"application": "app", "network": "net", "gateway": "gwy"}[lb.typ]
	if kind == "" {
		return nil, errorf("ValidationError", "Load balancer type '%s' must be application, network or gateway", lb.typ)
	}
	lb.arn = fmt.Sprintf("arn:aws:elasticloadbalancing:%s:%s:loadbalancer/%s/%s/%s", s.region, s.account, kind, lb.name, lb.id)
	lb.created = s.now()
	s.lbs[lb.arn] = lb
	return &loadBalancersResult{LoadBalancers: []wireLoadBalancer{s.wireLB(lb)}}, nil
}

func (s *Service) describeLoadBalancers(q query) (any, error) {
	arns, names := q.strings("LoadBalancerArns"), q.strings("Names")
	s.mu.Lock()
	defer s.mu.Unlock()
	var found []*loadBalancer
	switch {
	case len(arns) > 0:
		for _, a := range arns {
			lb := s.lbs[a]
			if lb == nil {
				return nil, errorf("LoadBalancerNotFound", "Load balancers '[%s]' not found", a)
			}
			found = append(found, lb)
		}
	case len(names) > 0:
		for _, n := range names {
			var lb *loadBalancer
			for _, l := range s.lbs {
				if l.name == n {
					lb = l
				}
			}
			if lb == nil {
				return nil, errorf("LoadBalancerNotFound", "Load balancers '[%s]' not found", n)
			}
			found = append(found, lb)
		}
	default:
		for _, lb := range s.lbs {
			found = append(found, lb)
		}
		sort.Slice(found, func(i, j int) bool { return found[i].arn < found[j].arn })
	}
	wires := make([]wireLoadBalancer, len(found))
	for i, lb := range found {
		wires[i] = s.wireLB(lb)
	}
	got, next, err := paginate(q, wires)
	if err != nil {
		return nil, err
	}
	return &loadBalancersResult{LoadBalancers: got, NextMarker: next}, nil
}

type wireTGTuple struct {
	TargetGroupArn string `xml:"TargetGroupArn"`
	Weight         int32  `xml:"Weight"`
}

type wireAction struct {
	Type           string `xml:"Type"`
	TargetGroupArn string `xml:"TargetGroupArn,omitempty"`
	Order          *int32 `xml:"Order,omitempty"`
	ForwardConfig  *struct {
		TargetGroups []wireTGTuple `xml:"TargetGroups>member"`
	} `xml:"ForwardConfig,omitempty"`
}

type wireListener struct {
	ListenerArn     string       `xml:"ListenerArn"`
	LoadBalancerArn string       `xml:"LoadBalancerArn"`
	Port            int32        `xml:"Port"`
	Protocol        string       `xml:"Protocol"`
	DefaultActions  []wireAction `xml:"DefaultActions>member"`
}

func wireL(l *listener) wireListener {
	w := wireListener{ListenerArn: l.arn, LoadBalancerArn: l.lbArn, Port: l.port, Protocol: l.protocol}
	for _, a := range l.actions {
		wa := wireAction{Type: a.typ}
		if a.hasOrder {
			o := a.order
			wa.Order = &o
		}
		if len(a.tgArns) > 0 {
			wa.TargetGroupArn = a.tgArns[0]
			wa.ForwardConfig = &struct {
				TargetGroups []wireTGTuple `xml:"TargetGroups>member"`
			}{}
			for _, t := range a.tgArns {
				wa.ForwardConfig.TargetGroups = append(wa.ForwardConfig.TargetGroups, wireTGTuple{TargetGroupArn: t, Weight: 1})
			}
		}
		w.DefaultActions = append(w.DefaultActions, wa)
	}
	return w
}

type listenersResult struct {
	Listeners  []wireListener `xml:"Listeners>member"`
	NextMarker string         `xml:"NextMarker,omitempty"`
}

func (s *Service) createListener(q query) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	lb := s.lbs[q.get("LoadBalancerArn")]
	if lb == nil {
		return nil, errorf("LoadBalancerNotFound", "Load balancers '[%s]' not found", q.get("LoadBalancerArn"))
	}
	port, ok, err := q.int32("Port")
	if err != nil {
		return nil, err
	}
	l := &listener{lbArn: lb.arn, port: port, protocol: q.get("Protocol")}
	if !ok || port < 1 || port > 65535 {
		return nil, errorf("ValidationError", "A listener port between 1 and 65535 must be specified")
	}
	if l.protocol == "" {
		l.protocol = map[string]string{"application": "HTTP", "network": "TCP"}[lb.typ]
	}
	for _, m := range q.members("DefaultActions") {
		a := action{typ: m.get("Type")}
		if o, ok, err := m.int32("Order"); err != nil {
			return nil, err
		} else if ok {
			a.order, a.hasOrder = o, true
		}
		if t := m.get("TargetGroupArn"); t != "" {
			a.tgArns = append(a.tgArns, t)
		}
		for _, t := range m.sub("ForwardConfig").members("TargetGroups") {
			if arn := t.get("TargetGroupArn"); arn != "" && !contains(a.tgArns, arn) {
				a.tgArns = append(a.tgArns, arn)
			}
		}
		for _, arn := range a.tgArns {
			if s.tgs[arn] == nil {
				return nil, s.tgNotFound(fmt.Sprintf("'%s'", arn))
			}
			if other := s.lbArnsOf(arn); len(other) > 0 && other[0] != lb.arn {
				return nil, errorf("TargetGroupAssociationLimit",
					"The following target groups cannot be associated with more than one load balancer: '%s'", arn)
			}
		}
		l.actions = append(l.actions, a)
	}
	if len(l.actions) == 0 {
		return nil, errorf("ValidationError", "A listener must have at least one default action")
	}
	for _, old := range s.listeners {
		if old.lbArn == lb.arn && old.port == port {
			return nil, errorf("DuplicateListener", "A listener already exists on this port for this load balancer '%s'", lb.arn)
		}
	}
	_, lbPath, _ := strings.Cut(lb.arn, ":loadbalancer/") // app/NAME/ID
	l.arn = fmt.Sprintf("arn:aws:elasticloadbalancing:%s:%s:listener/%s/%s", s.region, s.account, lbPath, s.nextID())
	s.listeners[l.arn] = l
	// Targets registered before the group was attached start being checked now.
	for _, arn := range l.allTGs() {
		tg := s.tgs[arn]
		for _, t := range tg.targets {
			if t.state == StateUnused && t.reason == "Target.NotInUse" {
				s.startChecking(tg, t)
			}
		}
	}
	return &listenersResult{Listeners: []wireListener{wireL(l)}}, nil
}

func (l *listener) allTGs() []string {
	var out []string
	for _, a := range l.actions {
		out = append(out, a.tgArns...)
	}
	return out
}

func (s *Service) describeListeners(q query) (any, error) {
	arns, lbArn := q.strings("ListenerArns"), q.get("LoadBalancerArn")
	s.mu.Lock()
	defer s.mu.Unlock()
	var found []*listener
	switch {
	case len(arns) > 0:
		for _, a := range arns {
			l := s.listeners[a]
			if l == nil {
				return nil, errorf("ListenerNotFound", "One or more listeners not found: '%s'", a)
			}
			found = append(found, l)
		}
	case lbArn != "":
		if s.lbs[lbArn] == nil {
			return nil, errorf("LoadBalancerNotFound", "Load balancers '[%s]' not found", lbArn)
		}
		for _, l := range s.listeners {
			if l.lbArn == lbArn {
				found = append(found, l)
			}
		}
	default:
		return nil, errorf("ValidationError", "You must specify either listener ARNs or a load balancer ARN")
	}
	sort.Slice(found, func(i, j int) bool { return found[i].port < found[j].port })
	wires := make([]wireListener, len(found))
	for i, l := range found {
		wires[i] = wireL(l)
	}
	got, next, err := paginate(q, wires)
	if err != nil {
		return nil, err
	}
	return &listenersResult{Listeners: got, NextMarker: next}, nil
}
