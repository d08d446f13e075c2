package redact

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"strings"
	"testing"
)

func TestName(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"DB_PASSWORD", true},
		{"db_password", true},
		{"dbPassword", true},
		{"MYSQLPASSWORD", true},
		{"MYSQL_PASSWD", true},
		{"SSH_PASSPHRASE", true},
		{"CLIENT_SECRET", true},
		{"AWS_SECRET_ACCESS_KEY", true},
		{"AWS_ACCESS_KEY_ID", true},
		{"AWS_SESSION_TOKEN", true},
		{"GITHUB_TOKEN", true},
		{"authToken", true},
		{"API_KEY", true},
		{"apiKey", true},
		{"APIKey", true},
		{"STRIPE_KEY", true},
		{"KEY", true},
		{"signing-keys", true},
		{"PRIVATE_KEY", true},
		{"GOOGLE_APPLICATION_CREDENTIALS", true},
		{"REGISTRY_CREDS", true},
		{"BASIC_AUTH", true},
		{"AUTH_HEADER", true},
		{"DB_PWD", true},
		{"DB_PASS", true},
		{"SESSION_COOKIE", true},
		{"com.example.token", true},
		{"splunk-token", true},
		{"PASSWORD_SALT", true},
		// Words that contain a marker without being one.
		{"KEYCLOAK_URL", false},
		{"KEYCLOAK_REALM", false},
		{"MONKEY_COUNT", false},
		{"TOKENIZER_MODEL", false},
		{"PASSENGER_MAX_POOL", false},
		{"AUTHOR", false},
		{"OAUTH_ISSUER", false},
		// Names of, paths to, and settings about a secret.
		{"DB_PASSWORD_FILE", false},
		{"SECRET_ARN", false},
		{"TOKEN_URL", false},
		{"AUTH_URL", false},
		{"jwtSecretName", false},
		{"SESSION_TOKEN_TTL", false},
		{"API_KEY_HEADER", true},
		{"PWD", false},
		{"JAVA_OPTS", false},
		{"SPRING_PROFILES_ACTIVE", false},
		{"", false},
		{"__", false},
	}
	for _, tt := range tests {
		if got := Name(tt.name); got != tt.want {
			t.Errorf("Name(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestValue(t *testing.T) {
	tests := []struct {
		name, value string
		want        bool
	}{
		{"access key id", "AKIAIOSFODNN7EXAMPLE", true},
		{"temporary key id", "ASIAY34FZKBOKMUTVV7A", true},
		{"key id inside text", "--key=AKIAIOSFODNN7EXAMPLE --other", true},
		{"secret access key", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", true},
		{"session token", "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD", true},
		{"github pat", "ghp_" + strings.Repeat("a1B2", 9), true},
		{"github app token", "ghs_" + strings.Repeat("Zz09", 9), true},
		{"fine-grained pat", "github_pat_11ABCDEFG0123456789_abcdefghijklmnop", true},
		{"jwt", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U", true},
		{"private key", "-----BEGIN RSA PRIVATE KEY-----\nMIIE...", true},
		{"url with password", "postgres://app:hunter2@db.internal:5432/app", true},
		{"bearer", "Authorization: Bearer abcdef123456", true},
		{"slack", "xoxb-123456789012-abcdefghij", true},
		{"long random token", strings.Repeat("aB3", 40), true},
		{"image digest", "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/backend@sha256:" + strings.Repeat("0a", 32), false},
		{"git sha", strings.Repeat("a1", 20), false},
		{"url without password", "https://user@example.com/x", false},
		{"plain url", "http://springboot:8080/", false},
		{"java opts", "-Xms512m -Xmx1536m -XX:+UseG1GC", false},
		{"role arn", "arn:aws:iam::123456789012:role/ecsTaskExecutionRole", false},
		{"secret arn", "arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:db-AbCdEf", false},
		{"word", "production", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		if got := Value(tt.value); got != tt.want {
			t.Errorf("%s: Value(%q) = %v, want %v", tt.name, tt.value, got, tt.want)
		}
	}
}

func TestField(t *testing.T) {
	tests := []struct {
		path, value string
		want        bool
	}{
		{"containerDefinitions[app].environment[DB_PASSWORD].value", "hunter2", true},
		{"containerDefinitions[app].environment[DB_PASSWORD].name", "DB_PASSWORD", false},
		{"containerDefinitions[app].environment[KEYCLOAK_URL].value", "https://sso.example.com", false},
		{"containerDefinitions[app].environment[SOME_SETTING].value", "AKIAIOSFODNN7EXAMPLE", true},
		{"containerDefinitions[app].environment[DATABASE_URL].value", "postgres://app:hunter2@db/app", true},
		{"containerDefinitions[app].secrets[DB_PASSWORD].valueFrom", "arn:aws:ssm:ap-northeast-2:123456789012:parameter/db", false},
		{"containerDefinitions[app].dockerLabels.com.example.api-token", "abc", true},
		{"containerDefinitions[app].logConfiguration.options.splunk-token", "abc", true},
		{"containerDefinitions[app].logConfiguration.options.awslogs-group", "/ecs/app", false},
		{"volumes[data].dockerVolumeConfiguration.driverOpts.password", "pw", true},
		{"containerDefinitions[app].command[1]", "--token=ghp_" + strings.Repeat("x1Y2", 9), true},
		{"containerDefinitions[app].image", "nginx:1.27", false},
		{"repositoryCredentials.credentialsParameter", "arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:hub", false},
	}
	for _, tt := range tests {
		if got := Field(tt.path, tt.value); got != tt.want {
			t.Errorf("Field(%q, %q) = %v, want %v", tt.path, tt.value, got, tt.want)
		}
	}
}

func TestStandIn(t *testing.T) {
	sum := sha256.Sum256([]byte("hunter2"))
	want := "(sensitive, sha256:" + hex.EncodeToString(sum[:])[:HashChars] + "…)"
	if got := StandIn("hunter2"); got != want || !IsStandIn(got) {
		t.Errorf("StandIn = %q, want %q (a stand-in)", got, want)
	}
	if StandIn("hunter2") == StandIn("hunter3") {
		t.Error("two values have the same stand-in")
	}
	if got := StandIn(""); got != "" {
		t.Errorf("StandIn(\"\") = %q, want empty (absent stays absent)", got)
	}
	if IsStandIn("hunter2") {
		t.Error("IsStandIn of a plain value")
	}
}

func TestScrubber(t *testing.T) {
	s := NewScrubber([]string{"hunter2", "hunter2-and-more", "pw", "hunter2"})
	in := `ClientException: invalid value "hunter2-and-more" next to hunter2; pw is too short to scrub`
	got := s.String(in)
	if strings.Contains(got, "hunter2") {
		t.Errorf("scrubbed %q still has a secret", got)
	}
	if !strings.Contains(got, StandIn("hunter2-and-more")) || !strings.Contains(got, StandIn("hunter2")) {
		t.Errorf("scrubbed %q: want both stand-ins (the longer secret replaced whole)", got)
	}
	if !strings.Contains(got, "pw is too short") {
		t.Errorf("a value shorter than MinLength was scrubbed: %q", got)
	}
	err := s.Error(&fs.PathError{Op: "open", Path: "hunter2", Err: fs.ErrNotExist})
	if strings.Contains(err.Error(), "hunter2") || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Error: %q (Is ErrNotExist %v)", err, errors.Is(err, fs.ErrNotExist))
	}
	var none *Scrubber
	if none.String("x") != "x" || NewScrubber(nil).String("hunter2") != "hunter2" || s.Error(nil) != nil {
		t.Error("an empty scrubber changes text")
	}
}

// FuzzField checks that no name, path or value panics and that the scrubber
// replaces every occurrence of a secret.
func FuzzField(f *testing.F) {
	f.Add("containerDefinitions[app].environment[DB_PASSWORD].value", "hunter2")
	f.Add("containerDefinitions[a].dockerLabels.x.y", "AKIAIOSFODNN7EXAMPLE")
	f.Add("environment[]].value", "Bearer ")
	f.Fuzz(func(t *testing.T, path, value string) {
		_ = Field(path, value)
		_ = Name(path)
		if len(value) >= MinLength {
			got := NewScrubber([]string{value}).String(value + "\n" + value)
			if want := StandIn(value) + "\n" + StandIn(value); !strings.Contains(value, "\n") && got != want {
				t.Errorf("scrubbing %q twice gave %q, want %q", value, got, want)
			}
		}
	})
}
