package plan

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

const backendJSON = `{"family":"ecs-backend-task","cpu":"1024","memory":"2048","networkMode":"bridge",
 "taskRoleArn":"arn:aws:iam::123456789012:role/ecsTaskExecutionRole","executionRoleArn":"arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
 "containerDefinitions":[{"name":"springboot","image":"IMG_APP","essential":false},
  {"name":"nginx","image":"IMG_NGINX","links":["springboot"],"portMappings":[{"containerPort":80,"hostPort":0,"protocol":"tcp"}],"essential":true}]}`

func backendFields(t testing.TB, app string) Fields {
	return mustFlatten(t, strings.NewReplacer("IMG_APP", app, "IMG_NGINX", "r/backend-nginx@sha256:n").Replace(backendJSON))
}

// seedCluster is the inforum cluster: one 4-vCPU instance already running the
// frontend (2048) and two backend tasks (2×1024).
var seedCluster = Cluster{Name: "inforum", Instances: []Instance{{ID: "0f1e2d3c", RemainingCPU: 0, RemainingMemory: 5488, UsedPorts: []int32{22, 2375, 2376, 51678, 51679, 32768, 32769, 32770}}}}

func observedBackend(t testing.TB, minPct int32) ObservedService {
	return ObservedService{
		Found: true, Status: "ACTIVE",
		TaskDefinition: Revision{Arn: "arn:aws:ecs:ap-northeast-2:123456789012:task-definition/ecs-backend-task:49", Family: "ecs-backend-task", Revision: 49},
		Current:        backendFields(t, "r/backend-springboot@sha256:old"),
		DesiredCount:   2, RunningCount: 2, LaunchType: "EC2",
		Deployment:  DeploymentConfig{MinimumHealthyPercent: minPct, MaximumPercent: 200, CircuitBreaker: true, Rollback: true},
		Deployments: []ObservedDeployment{{ID: "ecs-svc/111", Status: "PRIMARY", RolloutState: "COMPLETED"}},
	}
}

func desiredBackend(t testing.TB, app string, count *int32) DesiredService {
	return DesiredService{Name: "backend", Service: "ecs-backend-service", Cluster: "inforum", Strategy: "rolling",
		Family: "ecs-backend-task", Fields: backendFields(t, app), Count: count}
}

func ptr(n int32) *int32 { return &n }

func findingWith(fs []Finding, check string) *Finding {
	for i := range fs {
		if fs[i].Check == check {
			return &fs[i]
		}
	}
	return nil
}

func TestCompute(t *testing.T) {
	roomy := Cluster{Name: "inforum", Instances: []Instance{{ID: "a", RemainingCPU: 4096, RemainingMemory: 16000}}}
	tests := []struct {
		name       string
		desired    DesiredService
		observed   func(ObservedService) ObservedService
		cluster    Cluster
		action     Action
		target     string
		changes    int
		capacity   Severity // "" = no capacity finding
		fixHas     string
		hasChanges bool
	}{
		{name: "unchanged", desired: desiredBackend(t, "r/backend-springboot@sha256:old", nil), cluster: seedCluster,
			action: NoChange, target: "ecs-backend-task:49"},
		{name: "new image on the full seed instance", desired: desiredBackend(t, "r/backend-springboot@sha256:new", nil), cluster: seedCluster,
			action: Register, target: "ecs-backend-task:new", changes: 1, capacity: Warning, fixHas: "minimumHealthyPercent to 50", hasChanges: true},
		{name: "new image with minimumHealthyPercent 50", desired: desiredBackend(t, "r/backend-springboot@sha256:new", nil), cluster: seedCluster,
			observed: func(o ObservedService) ObservedService { o.Deployment.MinimumHealthyPercent = 50; return o },
			action:   Register, target: "ecs-backend-task:new", changes: 1, capacity: Info, hasChanges: true},
		{name: "new image with room", desired: desiredBackend(t, "r/backend-springboot@sha256:new", nil), cluster: roomy,
			action: Register, target: "ecs-backend-task:new", changes: 1, hasChanges: true},
		{name: "identical revision reused", desired: desiredBackend(t, "r/backend-springboot@sha256:new", nil), cluster: roomy,
			observed: func(o ObservedService) ObservedService {
				o.Candidates = []Candidate{{Revision: Revision{Family: "ecs-backend-task", Revision: 50}, Fields: backendFields(t, "r/backend-springboot@sha256:new")}}
				return o
			},
			action: Reuse, target: "ecs-backend-task:50", changes: 1, hasChanges: true},
		{name: "count only", desired: desiredBackend(t, "r/backend-springboot@sha256:old", ptr(3)), cluster: roomy,
			action: Update, target: "ecs-backend-task:49", hasChanges: true},
		{name: "fargate has no capacity check", desired: desiredBackend(t, "r/backend-springboot@sha256:new", nil), cluster: seedCluster,
			observed: func(o ObservedService) ObservedService { o.LaunchType = "FARGATE"; return o },
			action:   Register, target: "ecs-backend-task:new", changes: 1, hasChanges: true},
		{name: "max 100 min 100 can do nothing", desired: desiredBackend(t, "r/backend-springboot@sha256:new", nil), cluster: roomy,
			observed: func(o ObservedService) ObservedService { o.Deployment.MaximumPercent = 100; return o },
			action:   Register, target: "ecs-backend-task:new", changes: 1, capacity: Warning, fixHas: "minimumHealthyPercent to 50", hasChanges: true},
		{name: "missing service", desired: desiredBackend(t, "x", nil),
			observed: func(ObservedService) ObservedService { return ObservedService{} },
			action:   Missing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := observedBackend(t, 100)
			if tt.observed != nil {
				o = tt.observed(o)
			}
			p := Compute(Desired{File: "pier.yaml", Images: []Image{{Name: "backend-springboot", Present: true}}, Services: []DesiredService{tt.desired}},
				Observed{Services: map[string]ObservedService{"backend": o}, Clusters: map[string]Cluster{"inforum": tt.cluster}})
			s := p.Services[0]
			if s.Action != tt.action {
				t.Fatalf("action = %s, want %s", s.Action, tt.action)
			}
			if tt.target != "" && s.Target.String() != tt.target {
				t.Errorf("target = %s, want %s", s.Target, tt.target)
			}
			if len(s.Changes) != tt.changes {
				t.Errorf("changes = %v, want %d", s.Changes, tt.changes)
			}
			f := findingWith(s.Findings, "capacity")
			switch {
			case tt.capacity == "" && f != nil:
				t.Errorf("unexpected capacity finding %+v", *f)
			case tt.capacity != "" && f == nil:
				t.Errorf("no capacity finding, want %s", tt.capacity)
			case f != nil && f.Severity != tt.capacity:
				t.Errorf("capacity finding %+v, want severity %s", *f, tt.capacity)
			case f != nil && !strings.Contains(f.Fix, tt.fixHas):
				t.Errorf("capacity fix %q does not contain %q", f.Fix, tt.fixHas)
			}
			if p.HasChanges() != tt.hasChanges {
				t.Errorf("HasChanges = %v, want %v", p.HasChanges(), tt.hasChanges)
			}
			if tt.action == Missing && len(p.Errors()) != 1 {
				t.Errorf("Errors() = %v, want one", p.Errors())
			}
			if len(s.Steps) == 0 {
				t.Error("no steps")
			}
		})
	}
}

func TestCapacityClosestInstanceMessage(t *testing.T) {
	p := Compute(Desired{Services: []DesiredService{desiredBackend(t, "r/backend-springboot@sha256:new", nil)}},
		Observed{Services: map[string]ObservedService{"backend": observedBackend(t, 100)}, Clusters: map[string]Cluster{"inforum": seedCluster}})
	f := findingWith(p.Services[0].Findings, "capacity")
	if f == nil {
		t.Fatal("no capacity finding")
	}
	for _, want := range []string{"0f1e2d3c", "0 CPU units", "needs 1024 CPU units"} {
		if !strings.Contains(f.Message, want) {
			t.Errorf("message %q lacks %q", f.Message, want)
		}
	}
}

func TestRecreateRefusesMoreThanOneTask(t *testing.T) {
	d := desiredBackend(t, "r/backend-springboot@sha256:new", nil)
	d.Strategy = "recreate"
	p := Compute(Desired{Services: []DesiredService{d}},
		Observed{Services: map[string]ObservedService{"backend": observedBackend(t, 100)}})
	if errs := p.Errors(); len(errs) != 1 || errs[0].Check != "strategy" {
		t.Fatalf("Errors() = %v, want the recreate/desired count error", errs)
	}
	if !strings.Contains(strings.Join(p.Services[0].Steps, "\n"), "scale ecs-backend-service to 0") {
		t.Errorf("recreate steps = %q", p.Services[0].Steps)
	}
}

func TestStale(t *testing.T) {
	obs := func(mut func(*ObservedService)) Observed {
		o := observedBackend(t, 100)
		if mut != nil {
			mut(&o)
		}
		return Observed{Services: map[string]ObservedService{"backend": o}}
	}
	d := Desired{File: "pier.yaml", Images: []Image{{Name: "backend-springboot", Digest: "sha256:a"}}, Services: []DesiredService{desiredBackend(t, "r/app@sha256:new", nil)}}
	saved := Compute(d, obs(nil))
	tests := []struct {
		name    string
		desired Desired
		mut     func(*ObservedService)
		want    string
	}{
		{"fresh", d, nil, ""},
		{"live revision moved", d, func(o *ObservedService) { o.TaskDefinition.Arn += "0" }, "live task definition is now"},
		{"count changed", d, func(o *ObservedService) { o.DesiredCount = 5 }, "live desired count is now 5"},
		{"new deployment", d, func(o *ObservedService) {
			o.Deployments = append([]ObservedDeployment{{ID: "ecs-svc/222", Status: "PRIMARY"}}, o.Deployments...)
		}, "deployments changed"},
		{"files changed", Desired{File: "pier.yaml", Images: d.Images, Services: []DesiredService{desiredBackend(t, "r/app@sha256:other", nil)}}, nil, "desired task definition changed"},
		{"image rebuilt", Desired{File: "pier.yaml", Images: []Image{{Name: "backend-springboot", Digest: "sha256:b"}}, Services: d.Services}, nil, "now builds sha256:b"},
		{"more images than planned", Desired{File: "pier.yaml", Images: append([]Image{{Name: "backend-nginx", Digest: "sha256:c"}}, d.Images...), Services: d.Services}, nil,
			"image backend-nginx would be pushed but is not in the plan"},
		{"more services than planned", Desired{File: "pier.yaml", Images: d.Images, Services: append([]DesiredService{frontendOf(t, d.Services[0])}, d.Services...)}, nil,
			"service frontend would be deployed but is not in the plan"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			why := Stale(saved, Compute(tt.desired, obs(tt.mut)))
			got := strings.Join(why, "\n")
			if tt.want == "" && len(why) != 0 {
				t.Fatalf("Stale = %q, want fresh", got)
			}
			if !strings.Contains(got, tt.want) {
				t.Fatalf("Stale = %q, want it to mention %q", got, tt.want)
			}
		})
	}
}

func TestPlatformPreflight(t *testing.T) {
	tests := []struct {
		platforms []string
		arch      string
		wantErr   bool
	}{
		{nil, "", false},
		{[]string{"linux/amd64"}, "", false},
		{[]string{"linux/amd64"}, "X86_64", false},
		{[]string{"linux/amd64"}, "ARM64", true},
		{[]string{"linux/amd64", "linux/arm64"}, "ARM64", false},
		{[]string{"linux/arm64/v8"}, "ARM64", false},
		{[]string{"linux/arm64"}, "", true},
	}
	for _, tt := range tests {
		d := desiredBackend(t, "r/backend-springboot@sha256:new", nil)
		d.Platforms = tt.platforms
		if tt.arch != "" {
			d.Fields["runtimePlatform.cpuArchitecture"] = tt.arch
		}
		p := Compute(Desired{Services: []DesiredService{d}},
			Observed{Services: map[string]ObservedService{"backend": observedBackend(t, 50)}, Clusters: map[string]Cluster{"inforum": seedCluster}})
		got := len(p.Errors()) > 0
		if got != tt.wantErr {
			t.Errorf("platforms %v on %q: errors %v, want error %v", tt.platforms, tt.arch, p.Errors(), tt.wantErr)
		}
	}
}

// frontendOf is a second service, named frontend, with ds's definition.
func frontendOf(t *testing.T, ds DesiredService) DesiredService {
	t.Helper()
	ds.Name, ds.Service = "frontend", "frontend"
	return ds
}

// Two rolling services on one cluster: each alone finds room for its first
// new task, together they do not. The one left over is told it will wait
// for the other's old tasks to stop; NoRoom stays false for it.
func TestSharedRoom(t *testing.T) {
	second := func(ds DesiredService) DesiredService {
		ds.Name, ds.Service = "backend2", "backend2"
		return ds
	}
	d := Desired{Services: []DesiredService{desiredBackend(t, "r/app@sha256:new", nil), second(desiredBackend(t, "r/app@sha256:new", nil))}}
	for _, tt := range []struct {
		name string
		cpu  int64 // free on the one instance
		want bool  // backend2 gets the shared-room warning
	}{
		{"room for one", 1024, true},
		{"room for both", 2048, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o := Observed{Services: map[string]ObservedService{"backend": observedBackend(t, 100), "backend2": observedBackend(t, 100)},
				Clusters: map[string]Cluster{"inforum": {Name: "inforum", Instances: []Instance{{ID: "a", RemainingCPU: tt.cpu, RemainingMemory: 16000}}}}}
			p := Compute(d, o)
			if f := findingWith(p.Services[0].Findings, SharedRoom); f != nil {
				t.Errorf("the first service got %+v", f)
			}
			f := findingWith(p.Services[1].Findings, SharedRoom)
			if (f != nil) != tt.want || p.Services[1].WaitsForOthers() != tt.want {
				t.Fatalf("backend2 shared-room finding %+v, want %v", f, tt.want)
			}
			if tt.want && (!strings.Contains(f.Message, "first new task of backend,") || p.Services[1].NoRoom()) {
				t.Errorf("finding %q, NoRoom %v", f.Message, p.Services[1].NoRoom())
			}
		})
	}
}

// Without runtimePlatform, a task on EC2 runs on its instance's architecture;
// with one, only instances of that architecture can take it.
func TestArchitecturePreflight(t *testing.T) {
	cluster := func(archs ...string) Cluster {
		c := Cluster{Name: "inforum"}
		for i, a := range archs {
			c.Instances = append(c.Instances, Instance{ID: fmt.Sprint("i", i), RemainingCPU: 4096, RemainingMemory: 16000, Arch: a})
		}
		return c
	}
	tests := []struct {
		name      string
		pin       string // runtimePlatform.cpuArchitecture
		platforms []string
		cluster   Cluster
		image     Severity // "" = no image finding
		noRoom    bool
	}{
		{"x86 instances, amd64 images", "", []string{"linux/amd64"}, cluster("x86_64", "x86_64"), "", false},
		{"graviton instances, amd64 images", "", []string{"linux/amd64"}, cluster("arm64"), Error, false},
		{"mixed instances, amd64 images", "", []string{"linux/amd64"}, cluster("x86_64", "arm64"), Warning, false},
		{"mixed instances, both platforms", "", []string{"linux/amd64", "linux/arm64"}, cluster("x86_64", "arm64"), "", false},
		{"pinned x86 on graviton instances", "X86_64", []string{"linux/amd64"}, cluster("arm64", "arm64"), "", true},
		{"pinned x86 on mixed instances", "X86_64", []string{"linux/amd64"}, cluster("arm64", "x86_64"), "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := desiredBackend(t, "r/backend-springboot@sha256:new", nil)
			d.Platforms = tt.platforms
			if tt.pin != "" {
				d.Fields["runtimePlatform.cpuArchitecture"] = tt.pin
			}
			p := Compute(Desired{Services: []DesiredService{d}},
				Observed{Services: map[string]ObservedService{"backend": observedBackend(t, 50)}, Clusters: map[string]Cluster{"inforum": tt.cluster}})
			s := p.Services[0]
			f := findingWith(s.Findings, "image")
			switch {
			case tt.image == "" && f != nil:
				t.Errorf("unexpected image finding %+v", f)
			case tt.image != "" && (f == nil || f.Severity != tt.image):
				t.Errorf("image finding %+v, want severity %s", f, tt.image)
			}
			if s.NoRoom() != tt.noRoom {
				t.Errorf("NoRoom = %v, want %v (findings %+v)", s.NoRoom(), tt.noRoom, s.Findings)
			}
			if tt.noRoom && !strings.Contains(findingWith(s.Findings, "capacity").Message, "CPU architecture") {
				t.Errorf("capacity finding does not name the architecture: %+v", s.Findings)
			}
		})
	}
}

// A service already short of tasks is worth a word before it is changed.
func TestShortServiceWarned(t *testing.T) {
	for _, running := range []int32{0, 2} {
		o := observedBackend(t, 100)
		o.RunningCount = running
		p := Compute(Desired{Services: []DesiredService{desiredBackend(t, "r/app@sha256:new", nil)}},
			Observed{Services: map[string]ObservedService{"backend": o}})
		f := findingWith(p.Services[0].Findings, "service")
		if (f != nil) != (running < 2) {
			t.Errorf("running %d of 2: service finding %+v", running, f)
		}
		if f != nil && (f.Severity != Warning || !strings.Contains(f.Message, "runs 0 of its 2 tasks")) {
			t.Errorf("finding %+v", f)
		}
	}
}

// A service deployed by CodeDeploy (or an external controller) cannot take
// a new task definition through UpdateService: refused before any change.
func TestOtherDeploymentControllerRefused(t *testing.T) {
	for _, ctl := range []string{"CODE_DEPLOY", "EXTERNAL"} {
		o := observedBackend(t, 100)
		o.Controller = ctl
		p := Compute(Desired{Services: []DesiredService{desiredBackend(t, "r/app@sha256:new", nil)}},
			Observed{Services: map[string]ObservedService{"backend": o}})
		s := p.Services[0]
		if s.Changed() || len(p.Errors()) != 1 || !strings.Contains(p.Errors()[0].Message, ctl+" deployment controller") {
			t.Errorf("%s: action %s, errors %+v", ctl, s.Action, p.Errors())
		}
	}
}

func TestDurationAsWrittenInPierYAML(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{10 * time.Minute, "10m"},
		{90 * time.Second, "1m30s"},
		{45 * time.Second, "45s"},
		{time.Hour, "1h"},
		{90 * time.Minute, "1h30m"},
		{time.Hour + 5*time.Second, "1h0m5s"},
		{1500 * time.Millisecond, "1.5s"},
		{0, "0s"},
	} {
		if got := Duration(tc.d); got != tc.want {
			t.Errorf("Duration(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

// A deploy that starts while another rollout of the service is in progress
// says so before it changes anything; it warns and does not block.
func TestRolloutInProgressWarned(t *testing.T) {
	const td = "arn:aws:ecs:ap-northeast-2:123456789012:task-definition/ecs-backend-task:"
	tests := []struct {
		name   string
		deps   []ObservedDeployment
		change bool
		warn   string // "" for no warning
	}{
		{"settled", []ObservedDeployment{{ID: "ecs-svc/1", Status: "PRIMARY", TaskDefinition: td + "49", RolloutState: "COMPLETED"}}, true, ""},
		{"primary in progress", []ObservedDeployment{{ID: "ecs-svc/2", Status: "PRIMARY", TaskDefinition: td + "50", RolloutState: "IN_PROGRESS"}}, true,
			"ecs-svc/2 PRIMARY ecs-backend-task:50 IN_PROGRESS"},
		{"two deployments", []ObservedDeployment{{ID: "ecs-svc/2", Status: "PRIMARY", TaskDefinition: td + "50", RolloutState: "IN_PROGRESS"},
			{ID: "ecs-svc/1", Status: "ACTIVE", TaskDefinition: td + "49", RolloutState: "COMPLETED"}}, true, "ecs-svc/1 ACTIVE ecs-backend-task:49 COMPLETED"},
		{"a service without rolloutState, two deployments", []ObservedDeployment{{ID: "ecs-svc/2", Status: "PRIMARY"}, {ID: "ecs-svc/1", Status: "ACTIVE"}}, true, "ecs-svc/2 PRIMARY; ecs-svc/1 ACTIVE"},
		{"no change: the settle warning covers it", []ObservedDeployment{{ID: "ecs-svc/2", Status: "PRIMARY", RolloutState: "IN_PROGRESS"}}, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := observedBackend(t, 100)
			o.Deployments = tt.deps
			app := "r/backend-springboot@sha256:old"
			if tt.change {
				app = "r/backend-springboot@sha256:new"
			}
			p := Compute(Desired{Services: []DesiredService{desiredBackend(t, app, nil)}}, Observed{Services: map[string]ObservedService{"backend": o}})
			f := findingWith(p.Services[0].Findings, RolloutInProgress)
			if (f != nil) != (tt.warn != "") {
				t.Fatalf("finding %+v, want one mentioning %q", f, tt.warn)
			}
			if f == nil {
				return
			}
			if f.Severity != Warning || !strings.Contains(f.Message, tt.warn) || !strings.Contains(f.Fix, "pier status backend") {
				t.Errorf("finding %+v, want a warning mentioning %q and pier status backend", f, tt.warn)
			}
			if len(p.Errors()) != 0 {
				t.Errorf("a rollout in progress blocked the plan: %+v", p.Errors())
			}
		})
	}
}
