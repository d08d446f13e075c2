package elbv2

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"time"
)

// HealthCheck is a target group's health-check configuration, which the ECS simulator
// reads to time its simulated checks.
type HealthCheck struct {
	Enabled            bool
	Protocol           string // HTTP, HTTPS, TCP, …
	Port               string // "traffic-port" or a number
	Path               string
	Interval           time.Duration
	Timeout            time.Duration
	HealthyThreshold   int
	UnhealthyThreshold int
	Matcher            string // HTTP codes, e.g. "200" or "200-399"
}

type targetGroup struct {
	arn, name       string
	protocol        string
	protocolVersion string
	port            int32
	vpcID           string
	targetType      string
	ipAddressType   string
	hc              HealthCheck
	attrs           map[string]string
	targets         []*target // in registration order
}

// defaultAttributes are ELBv2's defaults for the attributes the simulator keeps.
func defaultAttributes() map[string]string {
	return map[string]string{
		"deregistration_delay.timeout_seconds":                           "300",
		"stickiness.enabled":                                             "false",
		"stickiness.type":                                                "lb_cookie",
		"stickiness.lb_cookie.duration_seconds":                          "86400",
		"slow_start.duration_seconds":                                    "0",
		"load_balancing.algorithm.type":                                  "round_robin",
		"load_balancing.cross_zone.enabled":                              "use_load_balancer_configuration",
		"target_group_health.dns_failover.minimum_healthy_targets.count": "1",
	}
}

var tgNameRE = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?$`)

type wireMatcher struct {
	HTTPCode string `xml:"HttpCode,omitempty"`
	GrpcCode string `xml:"GrpcCode,omitempty"`
}

type wireTargetGroup struct {
	TargetGroupArn             string       `xml:"TargetGroupArn"`
	TargetGroupName            string       `xml:"TargetGroupName"`
	Protocol                   string       `xml:"Protocol,omitempty"`
	ProtocolVersion            string       `xml:"ProtocolVersion,omitempty"`
	Port                       int32        `xml:"Port,omitempty"`
	VpcID                      string       `xml:"VpcId,omitempty"`
	HealthCheckEnabled         bool         `xml:"HealthCheckEnabled"`
	HealthCheckProtocol        string       `xml:"HealthCheckProtocol,omitempty"`
	HealthCheckPort            string       `xml:"HealthCheckPort,omitempty"`
	HealthCheckPath            string       `xml:"HealthCheckPath,omitempty"`
	HealthCheckIntervalSeconds int          `xml:"HealthCheckIntervalSeconds"`
	HealthCheckTimeoutSeconds  int          `xml:"HealthCheckTimeoutSeconds"`
	HealthyThresholdCount      int          `xml:"HealthyThresholdCount"`
	UnhealthyThresholdCount    int          `xml:"UnhealthyThresholdCount"`
	Matcher                    *wireMatcher `xml:"Matcher,omitempty"`
	LoadBalancerArns           []string     `xml:"LoadBalancerArns>member"`
	TargetType                 string       `xml:"TargetType"`
	IPAddressType              string       `xml:"IpAddressType,omitempty"`
}

// wire renders tg; callers hold s.mu.
func (s *Service) wireTG(tg *targetGroup) wireTargetGroup {
	w := wireTargetGroup{
		TargetGroupArn: tg.arn, TargetGroupName: tg.name, Protocol: tg.protocol, ProtocolVersion: tg.protocolVersion,
		Port: tg.port, VpcID: tg.vpcID,
		HealthCheckEnabled: tg.hc.Enabled, HealthCheckProtocol: tg.hc.Protocol, HealthCheckPort: tg.hc.Port,
		HealthCheckPath:            tg.hc.Path,
		HealthCheckIntervalSeconds: int(tg.hc.Interval / time.Second), HealthCheckTimeoutSeconds: int(tg.hc.Timeout / time.Second),
		HealthyThresholdCount: tg.hc.HealthyThreshold, UnhealthyThresholdCount: tg.hc.UnhealthyThreshold,
		LoadBalancerArns: s.lbArnsOf(tg.arn), TargetType: tg.targetType, IPAddressType: tg.ipAddressType,
	}
	if tg.hc.Matcher != "" {
		w.Matcher = &wireMatcher{HTTPCode: tg.hc.Matcher}
	}
	return w
}

type targetGroupsResult struct {
	TargetGroups []wireTargetGroup `xml:"TargetGroups>member"`
	NextMarker   string            `xml:"NextMarker,omitempty"`
}

func (s *Service) createTargetGroup(q query) (any, error) {
	name := q.get("Name")
	if !tgNameRE.MatchString(name) {
		return nil, errorf("ValidationError",
			"Target group name '%s' can have a maximum of 32 characters, can contain only alphanumeric characters or hyphens, and must not begin or end with a hyphen", name)
	}
	tg := &targetGroup{
		name: name, protocol: q.get("Protocol"), protocolVersion: q.get("ProtocolVersion"),
		vpcID: q.get("VpcId"), targetType: q.get("TargetType"), ipAddressType: q.get("IpAddressType"),
		attrs: defaultAttributes(),
		hc: HealthCheck{Enabled: true, Port: "traffic-port", Interval: 30 * time.Second, Timeout: 5 * time.Second,
			HealthyThreshold: 5, UnhealthyThreshold: 2},
	}
	if tg.targetType == "" {
		tg.targetType = "instance"
	}
	switch tg.targetType {
	case "instance", "ip", "lambda", "alb":
	default:
		return nil, errorf("ValidationError", "Target type '%s' must be one of instance, ip, lambda, alb", tg.targetType)
	}
	port, hasPort, err := q.int32("Port")
	if err != nil {
		return nil, err
	}
	tg.port = port
	if tg.targetType != "lambda" {
		switch {
		case tg.protocol == "":
			return nil, errorf("ValidationError", "A protocol must be specified")
		case !hasPort || port < 1 || port > 65535:
			return nil, errorf("ValidationError", "A port between 1 and 65535 must be specified")
		case tg.vpcID == "":
			return nil, errorf("ValidationError", "A VPC ID must be specified")
		}
		if tg.ipAddressType == "" {
			tg.ipAddressType = "ipv4"
		}
		if tg.protocolVersion == "" && (tg.protocol == "HTTP" || tg.protocol == "HTTPS") {
			tg.protocolVersion = "HTTP1"
		}
	}
	switch tg.protocol {
	case "HTTP", "HTTPS", "":
		tg.hc.Protocol, tg.hc.Path, tg.hc.Matcher = tg.protocol, "/", "200"
		tg.hc.UnhealthyThreshold = 2
	default: // TCP, TLS, UDP, TCP_UDP: NLB defaults
		tg.hc.Protocol, tg.hc.Timeout, tg.hc.HealthyThreshold = "TCP", 10*time.Second, 5
	}
	if tg.targetType == "lambda" {
		tg.hc.Enabled, tg.hc.Interval, tg.hc.Timeout = false, 35*time.Second, 30*time.Second
	}
	if err := applyHealthCheck(&tg.hc, q); err != nil {
		return nil, err
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	for _, old := range s.tgs {
		if old.name != name {
			continue
		}
		// ELBv2 makes CreateTargetGroup idempotent for identical settings.
		if old.protocol == tg.protocol && old.port == tg.port && old.vpcID == tg.vpcID && old.targetType == tg.targetType && old.hc == tg.hc {
			return &targetGroupsResult{TargetGroups: []wireTargetGroup{s.wireTG(old)}}, nil
		}
		return nil, errorf("DuplicateTargetGroupName", "A target group with the same name '%s' exists, but with different settings", name)
	}
	tg.arn = fmt.Sprintf("arn:aws:elasticloadbalancing:%s:%s:targetgroup/%s/%s", s.region, s.account, name, s.nextID())
	s.tgs[tg.arn] = tg
	return &targetGroupsResult{TargetGroups: []wireTargetGroup{s.wireTG(tg)}}, nil
}

// applyHealthCheck reads the HealthCheck* parameters shared by Create and Modify.
func applyHealthCheck(hc *HealthCheck, q query) error {
	seconds := func(k string, dst *time.Duration, lo, hi int32) error {
		n, ok, err := q.int32(k)
		if err != nil || !ok {
			return err
		}
		if n < lo || n > hi {
			return errorf("ValidationError", "'%d' at '%s' must be between %d and %d", n, k, lo, hi)
		}
		*dst = time.Duration(n) * time.Second
		return nil
	}
	count := func(k string, dst *int) error {
		n, ok, err := q.int32(k)
		if err != nil || !ok {
			return err
		}
		if n < 2 || n > 10 {
			return errorf("ValidationError", "'%d' at '%s' must be between 2 and 10", n, k)
		}
		*dst = int(n)
		return nil
	}
	for _, err := range []error{
		seconds("HealthCheckIntervalSeconds", &hc.Interval, 5, 300),
		seconds("HealthCheckTimeoutSeconds", &hc.Timeout, 2, 120),
		count("HealthyThresholdCount", &hc.HealthyThreshold),
		count("UnhealthyThresholdCount", &hc.UnhealthyThreshold),
	} {
		if err != nil {
			return err
		}
	}
	if q.has("HealthCheckEnabled") {
		hc.Enabled = q.get("HealthCheckEnabled") == "true"
	}
	for k, dst := range map[string]*string{
		"HealthCheckProtocol": &hc.Protocol, "HealthCheckPort": &hc.Port,
		"HealthCheckPath": &hc.Path, "Matcher.HttpCode": &hc.Matcher,
	} {
		if q.has(k) {
			*dst = q.get(k)
		}
	}
	if hc.Timeout >= hc.Interval && hc.Enabled {
		return errorf("ValidationError", "Health check timeout '%d' must be smaller than the interval '%d'",
			int(hc.Timeout/time.Second), int(hc.Interval/time.Second))
	}
	return nil
}

func (s *Service) tgNotFound(what string) error {
	return errorf("TargetGroupNotFound", "One or more target groups not found: %s", what)
}

// lookupTG returns the target group with arn; callers hold s.mu.
func (s *Service) lookupTG(arn string) (*targetGroup, error) {
	tg := s.tgs[arn]
	if tg == nil {
		return nil, s.tgNotFound(fmt.Sprintf("'%s'", arn))
	}
	return tg, nil
}

// inTargetGroup adapts an operation on the one target group its TargetGroupArn
// names: f gets the group, with s.mu held.
func (s *Service) inTargetGroup(f func(query, *targetGroup) (any, error)) opFunc {
	return func(q query) (any, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		tg, err := s.lookupTG(q.get("TargetGroupArn"))
		if err != nil {
			return nil, err
		}
		return f(q, tg)
	}
}

func (s *Service) describeTargetGroups(q query) (any, error) {
	arns, names, lbArn := q.strings("TargetGroupArns"), q.strings("Names"), q.get("LoadBalancerArn")
	s.mu.Lock()
	defer s.mu.Unlock()
	var found []*targetGroup
	switch {
	case len(arns) > 0:
		for _, a := range arns {
			tg, err := s.lookupTG(a)
			if err != nil {
				return nil, err
			}
			found = append(found, tg)
		}
	case len(names) > 0:
		for _, n := range names {
			var tg *targetGroup
			for _, t := range s.tgs {
				if t.name == n {
					tg = t
				}
			}
			if tg == nil {
				return nil, s.tgNotFound(fmt.Sprintf("'%s'", n))
			}
			found = append(found, tg)
		}
	default:
		if lbArn != "" && s.lbs[lbArn] == nil {
			return nil, errorf("LoadBalancerNotFound", "Load balancers '[%s]' not found", lbArn)
		}
		for _, tg := range s.tgs {
			if lbArn == "" || contains(s.lbArnsOf(tg.arn), lbArn) {
				found = append(found, tg)
			}
		}
		sort.Slice(found, func(i, j int) bool { return found[i].arn < found[j].arn })
	}
	wires := make([]wireTargetGroup, len(found))
	for i, tg := range found {
		wires[i] = s.wireTG(tg)
	}
	got, next, err := paginate(q, wires)
	if err != nil {
		return nil, err
	}
	return &targetGroupsResult{TargetGroups: got, NextMarker: next}, nil
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func (s *Service) deleteTargetGroup(q query) (any, error) {
	arn := q.get("TargetGroupArn")
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.lbArnsOf(arn)) > 0 {
		return nil, errorf("ResourceInUse", "Target group '%s' is currently in use by a listener or a rule", arn)
	}
	delete(s.tgs, arn) // deleting a missing target group succeeds, as in ELBv2
	return &struct{}{}, nil
}

func (s *Service) modifyTargetGroup(q query, tg *targetGroup) (any, error) {
	hc := tg.hc
	if err := applyHealthCheck(&hc, q); err != nil {
		return nil, err
	}
	tg.hc = hc
	return &targetGroupsResult{TargetGroups: []wireTargetGroup{s.wireTG(tg)}}, nil
}

type wireAttribute struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

type attributesResult struct {
	Attributes []wireAttribute `xml:"Attributes>member"`
}

func attributesOf(tg *targetGroup) *attributesResult {
	out := &attributesResult{}
	for k, v := range tg.attrs {
		out.Attributes = append(out.Attributes, wireAttribute{Key: k, Value: v})
	}
	sort.Slice(out.Attributes, func(i, j int) bool { return out.Attributes[i].Key < out.Attributes[j].Key })
	return out
}

func (s *Service) describeTargetGroupAttributes(q query, tg *targetGroup) (any, error) {
	return attributesOf(tg), nil
}

func (s *Service) modifyTargetGroupAttributes(q query, tg *targetGroup) (any, error) {
	attrs := q.members("Attributes")
	if len(attrs) == 0 {
		return nil, errorf("ValidationError", "At least one attribute must be specified")
	}
	changed := map[string]string{}
	for _, a := range attrs {
		k, v := a.get("Key"), a.get("Value")
		if _, known := tg.attrs[k]; !known {
			return nil, errorf("ValidationError", "Attribute key '%s' is not recognized", k)
		}
		if err := validAttribute(k, v); err != nil {
			return nil, err
		}
		changed[k] = v
	}
	for k, v := range changed {
		tg.attrs[k] = v
	}
	return attributesOf(tg), nil
}

// validAttribute checks the values the simulator gives meaning to.
func validAttribute(k, v string) error {
	bounds := map[string][2]int{
		"deregistration_delay.timeout_seconds":  {0, 3600},
		"slow_start.duration_seconds":           {0, 900},
		"stickiness.lb_cookie.duration_seconds": {1, 604800},
	}
	if b, ok := bounds[k]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < b[0] || n > b[1] {
			return errorf("ValidationError", "'%s' is not a valid value for '%s': it must be an integer from %d to %d", v, k, b[0], b[1])
		}
	}
	if k == "stickiness.enabled" && v != "true" && v != "false" {
		return errorf("ValidationError", "'%s' is not a valid value for '%s': it must be true or false", v, k)
	}
	return nil
}
