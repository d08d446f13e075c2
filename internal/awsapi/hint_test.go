package awsapi_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/smithy-go"

	"github.com/pier-deploy/pier/internal/awsapi"
	"github.com/pier-deploy/pier/internal/sim"
)

// Errors as the real ECS client returns them get a sentence on what to do;
// the original error stays inspectable with errors.As.
func TestExplain(t *testing.T) {
	ctx := context.Background()
	srv, err := sim.New().Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	call := func(mut func(*aws.Config)) error {
		cfg := srv.AWSConfig()
		cfg.RetryMaxAttempts = 1
		if mut != nil {
			mut(&cfg)
		}
		_, err := ecs.NewFromConfig(cfg).DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("nowhere"), Services: []string{"web"}})
		if err == nil {
			t.Fatal("the call succeeded: the case proves nothing")
		}
		return err
	}
	tests := []struct {
		name string
		err  error
		want string // in the explained message; "" = unchanged
	}{
		{"missing cluster", call(nil), "check cluster: in pier.yaml"},
		{"no credentials", call(func(c *aws.Config) {
			c.Credentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
				return aws.Credentials{}, errors.New("no EC2 IMDS role found")
			})
		}), "no AWS credentials were found"},
		{"unreachable endpoint", call(func(c *aws.Config) {
			c.BaseEndpoint = aws.String("http://127.0.0.1:1")
			c.HTTPClient = &http.Client{}
		}), "could not be reached"},
		{"access denied", &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "not authorized to perform: ecs:UpdateService"}, "pier iam-policy"},
		{"expired", &smithy.GenericAPIError{Code: "ExpiredTokenException", Message: "The security token included in the request is expired"}, "session has expired"},
		{"other API error", &smithy.GenericAPIError{Code: "InvalidParameterException", Message: "bad"}, ""},
		{"nil", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := awsapi.Explain(tt.err)
			if tt.want == "" {
				if got != tt.err {
					t.Fatalf("Explain changed %v into %v", tt.err, got)
				}
				return
			}
			if !strings.Contains(got.Error(), tt.want) || !strings.HasPrefix(got.Error(), tt.err.Error()) {
				t.Fatalf("Explain(%v) = %q, want the error followed by %q", tt.err, got, tt.want)
			}
			if !errors.Is(got, tt.err) {
				t.Errorf("the explained error does not wrap the original")
			}
		})
	}
}
