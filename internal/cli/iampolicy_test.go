package cli

import (
	"context"
	"os"
	"strings"
	"testing"
)

// TestIAMPolicyCommand runs `pier iam-policy -f testdata/inforum/pier.yaml` and compares
// its output with internal/iampolicy's golden policy.
func TestIAMPolicyCommand(t *testing.T) {
	var stdout, stderr strings.Builder
	code := Run(context.Background(), []string{"iam-policy", "-f", "../../testdata/inforum/pier.yaml"}, &stdout, &stderr, func(string) string { return "" })
	if code != ExitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr.String())
	}
	want, err := os.ReadFile("../iampolicy/testdata/inforum-policy.json")
	if err != nil {
		t.Fatal(err)
	}
	if stdout.String() != string(want) {
		t.Errorf("pier iam-policy printed\n%s\nwant internal/iampolicy/testdata/inforum-policy.json", stdout.String())
	}
	if stderr.String() != "" {
		t.Errorf("stderr = %q, want nothing assumed of the seed's role ARNs", stderr.String())
	}
}

func TestIAMPolicyCommandErrors(t *testing.T) {
	tests := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"iam-policy", "-f", "../../testdata/inforum/pier.yaml", "backend"}, ExitUsage, "unexpected argument"},
		{[]string{"iam-policy", "-f", "no-such-pier.yaml"}, ExitUsage, "no-such-pier.yaml"},
	}
	for _, tt := range tests {
		var stdout, stderr strings.Builder
		code := Run(context.Background(), tt.args, &stdout, &stderr, func(string) string { return "" })
		if code != tt.code || !strings.Contains(stderr.String(), tt.msg) || stdout.Len() != 0 {
			t.Errorf("%q: exit %d, stderr %q, stdout %q; want exit %d and %q", tt.args, code, stderr.String(), stdout.String(), tt.code, tt.msg)
		}
	}
}

// TestIAMPolicyHelpSaysJSON: --output is a global flag iam-policy lists but cannot honour
// (the policy is a document for AWS); its help says so.
func TestIAMPolicyHelpSaysJSON(t *testing.T) {
	var stdout, stderr strings.Builder
	Run(context.Background(), []string{"iam-policy", "--help"}, &stdout, &stderr, func(string) string { return "" })
	help := stdout.String() + stderr.String()
	if !strings.Contains(help, "--output") || !strings.Contains(help, "The policy is JSON whatever --output says") {
		t.Errorf("iam-policy --help does not say --output leaves the policy JSON:\n%s", help)
	}
}
