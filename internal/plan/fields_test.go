package plan

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/pier-deploy/pier/internal/redact"
)

func mustFlatten(t testing.TB, js string) Fields {
	t.Helper()
	f, err := Flatten([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestFlatten(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Fields
	}{
		{"scalars", `{"family":"f","cpu":"1024","essential":true,"n":3}`,
			Fields{"family": "f", "cpu": "1024", "essential": "true", "n": "3"}},
		{"named lists keyed by name", `{"containerDefinitions":[{"name":"nginx","image":"a","links":["app"]},{"name":"app","image":"b"}]}`,
			Fields{"containerDefinitions[nginx].name": "nginx", "containerDefinitions[nginx].image": "a",
				"containerDefinitions[nginx].links[0]": "app", "containerDefinitions[app].name": "app", "containerDefinitions[app].image": "b"}},
		{"empty and null dropped", `{"volumes":[],"placementConstraints":[],"tags":null,"x":{}}`, Fields{}},
		{"unnamed objects by index", `{"mountPoints":[{"sourceVolume":"v","containerPath":"/d"}]}`,
			Fields{"mountPoints[0].sourceVolume": "v", "mountPoints[0].containerPath": "/d"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mustFlatten(t, tt.in)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Flatten(%s) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
	for _, bad := range []string{`[1]`, `"x"`, `{`, ``} {
		if _, err := Flatten([]byte(bad)); err == nil {
			t.Errorf("Flatten(%q) succeeded, want an error", bad)
		}
	}
}

func TestDiffAndEqual(t *testing.T) {
	old := mustFlatten(t, `{"containerDefinitions":[{"name":"nginx","image":"a"},{"name":"app","image":"b","environment":[{"name":"X","value":"1"}]}]}`)
	reordered := mustFlatten(t, `{"containerDefinitions":[{"name":"app","environment":[{"value":"1","name":"X"}],"image":"b"},{"image":"a","name":"nginx"}]}`)
	if !old.Equal(reordered) || old.Digest() != reordered.Digest() {
		t.Fatal("reordered containers and keys should be equal with equal digests")
	}
	changed := mustFlatten(t, `{"containerDefinitions":[{"name":"nginx","image":"c"},{"name":"app","image":"b","environment":[{"name":"Y","value":"2"}]}]}`)
	if old.Equal(changed) || old.Digest() == changed.Digest() {
		t.Fatal("changed definitions compare equal")
	}
	want := []Change{
		{Path: "containerDefinitions[app].environment[X].name", Old: "X"},
		{Path: "containerDefinitions[app].environment[X].value", Old: "1"},
		{Path: "containerDefinitions[app].environment[Y].name", New: "Y"},
		{Path: "containerDefinitions[app].environment[Y].value", New: "2"},
		{Path: "containerDefinitions[nginx].image", Old: "a", New: "c"},
	}
	if got := changed.Diff(old); !reflect.DeepEqual(got, want) {
		t.Errorf("Diff = %#v\nwant %#v", got, want)
	}
	if got := old.Diff(old); got != nil {
		t.Errorf("Diff of equal fields = %v, want nil", got)
	}
}

func FuzzFlatten(f *testing.F) {
	f.Add([]byte(`{"containerDefinitions":[{"name":"a","portMappings":[{"hostPort":0}]}]}`))
	f.Add([]byte(`{"a":[[1,2],{"name":3}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fl, err := Flatten(data)
		if err != nil {
			return
		}
		if !fl.Equal(fl) || len(fl.Diff(fl)) != 0 {
			t.Fatal("fields differ from themselves")
		}
	})
}

func FuzzRead(f *testing.F) {
	f.Add([]byte(`{"formatVersion":1,"file":"pier.yaml","images":[],"services":[{"name":"a"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Read("fuzz.json", data)
		if err != nil {
			return
		}
		if p.FormatVersion != FormatVersion {
			t.Fatalf("accepted format version %d", p.FormatVersion)
		}
		if len(Stale(p, p)) != 0 {
			t.Fatal("a plan is stale against itself")
		}
	})
}

// A role given by name in the file and by ARN in the account (ECS stores
// what was registered) is the same role: no change, so no new revision.
func TestRoleByNameOrARNIsNoChange(t *testing.T) {
	for _, tt := range []struct {
		name     string
		old, new string
		same     bool
	}{
		{"task role", `{"taskRoleArn": "arn:aws:iam::123456789012:role/app"}`, `{"taskRoleArn": "app"}`, true},
		{"execution role with a path", `{"executionRoleArn": "arn:aws:iam::123456789012:role/ecs/exec"}`, `{"executionRoleArn": "exec"}`, true},
		{"another role", `{"taskRoleArn": "arn:aws:iam::123456789012:role/app"}`, `{"taskRoleArn": "other"}`, false},
		{"not a role field", `{"family": "arn:aws:iam::123456789012:role/app"}`, `{"family": "app"}`, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			old, err := Flatten([]byte(tt.old))
			if err != nil {
				t.Fatal(err)
			}
			cur, err := Flatten([]byte(tt.new))
			if err != nil {
				t.Fatal(err)
			}
			if got := cur.Equal(old); got != tt.same {
				t.Errorf("Equal = %v, want %v", got, tt.same)
			}
			if d := cur.Diff(old); (len(d) == 0) != tt.same {
				t.Errorf("Diff = %+v", d)
			}
		})
	}
}

// TestDiffRedactsSecrets: the plan's Changes are what every view prints, so a
// secret must not survive into them on either side of a change.
func TestDiffRedactsSecrets(t *testing.T) {
	const (
		oldPW = "correct-horse-battery-staple"
		newPW = "Tr0ub4dor&3"
		key   = "AKIAIOSFODNN7EXAMPLE"
	)
	env := func(pairs ...string) Fields {
		t.Helper()
		js := `{"containerDefinitions":[{"name":"app","image":"a","environment":[`
		for i := 0; i < len(pairs); i += 2 {
			if i > 0 {
				js += ","
			}
			js += `{"name":"` + pairs[i] + `","value":"` + pairs[i+1] + `"}`
		}
		return mustFlatten(t, js+`]}]}`)
	}
	tests := []struct {
		name     string
		old, new Fields
		want     []Change
	}{
		{"secret name changed", env("DB_PASSWORD", oldPW), env("DB_PASSWORD", newPW), []Change{
			{Path: "containerDefinitions[app].environment[DB_PASSWORD].value", Old: redact.StandIn(oldPW), New: redact.StandIn(newPW), Sensitive: true}}},
		{"secret added", env("X", "1"), env("X", "1", "API_TOKEN", newPW), []Change{
			{Path: "containerDefinitions[app].environment[API_TOKEN].name", New: "API_TOKEN"},
			{Path: "containerDefinitions[app].environment[API_TOKEN].value", New: redact.StandIn(newPW), Sensitive: true}}},
		{"secret removed", env("X", "1", "apiKey", oldPW), env("X", "1"), []Change{
			{Path: "containerDefinitions[app].environment[apiKey].name", Old: "apiKey"},
			{Path: "containerDefinitions[app].environment[apiKey].value", Old: redact.StandIn(oldPW), Sensitive: true}}},
		{"credential-shaped value under a plain name", env("SETTING", "plain"), env("SETTING", key), []Change{
			{Path: "containerDefinitions[app].environment[SETTING].value", Old: redact.StandIn("plain"), New: redact.StandIn(key), Sensitive: true}}},
		{"plain values stay readable", env("KEYCLOAK_URL", "https://a"), env("KEYCLOAK_URL", "https://b"), []Change{
			{Path: "containerDefinitions[app].environment[KEYCLOAK_URL].value", Old: "https://a", New: "https://b"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.new.Diff(tt.old)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Diff = %#v\nwant %#v", got, tt.want)
			}
			for _, c := range got {
				for _, s := range []string{oldPW, newPW, key} {
					if c.Old == s || c.New == s {
						t.Errorf("change %s shows the secret %q", c.Path, s)
					}
				}
			}
		})
	}
	if got, want := env("A", "1", "DB_PASSWORD", oldPW, "B_TOKEN", oldPW, "C", key).Secrets(), []string{key, oldPW}; !reflect.DeepEqual(got, want) {
		t.Errorf("Secrets = %q, want %q", got, want)
	}
	// A changed secret changes the digest, which hashes only its stand-in.
	if env("DB_PASSWORD", oldPW).Digest() == env("DB_PASSWORD", newPW).Digest() {
		t.Error("the digest does not change with a secret")
	}
	// Only the stand-in enters the digest: another password with the same
	// stand-in (found by trying, one in 65,536) gives the same digest, so the
	// digest tells a guesser no more than the plan's stand-in does.
	found := false
	for i := 0; i < 1<<20 && !found; i++ {
		other := fmt.Sprintf("guess-%d", i)
		if redact.StandIn(other) != redact.StandIn(oldPW) {
			continue
		}
		if env("DB_PASSWORD", oldPW).Digest() != env("DB_PASSWORD", other).Digest() {
			t.Error("the digest hashes the secret itself, not its stand-in")
		}
		found = true
	}
	if !found {
		t.Error("no value with the same stand-in found")
	}
}
