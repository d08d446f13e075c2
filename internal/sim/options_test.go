package sim

import "testing"

func TestImageRuleMatches(t *testing.T) {
	for _, tc := range []struct {
		pattern, image string
		want           bool
	}{
		{"*backend-nginx@sha256:*", "127.0.0.1:5000/backend-nginx@sha256:0123", true},
		{"*backend-nginx*", "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/backend-nginx:v1", true},
		{"*backend-nginx*", "127.0.0.1:5000/front-nginx:v1", false},
		{"nginx:1.2?", "nginx:1.27", true},
		{"nginx:1.2?", "nginx:1.270", false},
		{"backend-nginx", "127.0.0.1:5000/backend-nginx:v1", true},
		{"api:crash", "api:good", false},
		{"a.b*", "axb", false}, // dots are literal
	} {
		if got := (imageRule{pattern: tc.pattern}).matches(tc.image); got != tc.want {
			t.Errorf("%q matches %q = %v, want %v", tc.pattern, tc.image, got, tc.want)
		}
	}
}
