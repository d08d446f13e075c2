package target

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"

	"github.com/pier-deploy/pier/internal/awsapi"
	"github.com/pier-deploy/pier/internal/config"
	"github.com/pier-deploy/pier/internal/deploy"
	"github.com/pier-deploy/pier/internal/image"
	"github.com/pier-deploy/pier/internal/registry"
	"github.com/pier-deploy/pier/internal/sim"
)

// PIER_SANDBOX (printed by `pier sandbox` with the AWS_* lines) points pier
// at a running sandbox in another process. The AWS_ENDPOINT_URL_* lines
// suffice for ECS, ECR and ELBv2, but pier needs two more things that
// --sandbox gets in-process: public base images (there is no internet:
// they come from the registry's stand-ins) and health-check URLs (the
// world answers them). Nothing of this happens without the variable.

// sandboxURL is the one place pier reads PIER_SANDBOX: nil when unset.
func sandboxURL(getenv func(string) string) (*url.URL, error) {
	raw := getenv("PIER_SANDBOX")
	if raw == "" {
		return nil, nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil, &InputError{fmt.Sprintf("PIER_SANDBOX=%q is not the URL `pier sandbox` prints (http://127.0.0.1:PORT): paste its export lines again, or unset PIER_SANDBOX to use AWS", raw)}
	}
	return u, nil
}

// openRemote points every AWS client at the sandbox at base, with the
// region and credentials of the printed lines (read through getenv like the
// rest of pier, so tests need no process environment). The sandbox drives
// its own clock: pier waits in real time, as against AWS.
func openRemote(f *config.File, base *url.URL, getenv func(string) string) (*Target, error) {
	region := f.Region
	if region == "" {
		region = getenv("AWS_REGION")
	}
	if region == "" {
		return nil, &InputError{"no region: set region: in pier.yaml, or AWS_REGION (pier sandbox prints it)"}
	}
	key, secret := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY")
	if key == "" || secret == "" {
		// The sandbox checks no signature; any pair will do.
		key, secret = "AKIASIMULATOR0000000", "simulator-secret-key"
	}
	cfg := aws.Config{
		Region:       region,
		BaseEndpoint: aws.String(base.String()),
		Credentials:  credentials.NewStaticCredentialsProvider(key, secret, ""),
		HTTPClient:   &http.Client{Timeout: 30 * time.Second},
		Retryer:      awsapi.Retryer(time.Second),
	}
	clients := awsapi.New(cfg)
	httpc := sim.RemoteHTTPClient(base)
	return &Target{
		Kind:    Remote,
		Clients: clients,
		Clock:   deploy.WallClock{},
		Deploy:  []deploy.Option{deploy.WithHTTPClient(httpc), deploy.WithELB(clients.ELB)},
		HTTP:    httpc,
		// Pushes go to its registry, bases come from its stand-ins over the same port.
		Images: Images{
			ECR:     sandboxTokens{clients.ECR},
			Push:    []registry.Option{registry.WithRegistryHost(base.Host)},
			Build:   []image.Option{image.WithTransport(sim.MirrorTransport(base.Host))},
			Sandbox: true,
			Host:    base.Host,
		},
		Notice: fmt.Sprintf("PIER_SANDBOX is set: running against the pier sandbox at %s, not AWS; public base images come from its stand-ins and health-check URLs are answered by it (unset PIER_SANDBOX to use AWS)", base.Redacted()),
		close:  func() {},
	}, nil
}

// sandboxTokenWindow is how long pier trusts a token from a sandbox in
// another process, in real time; keychainMargin is how long before its
// expiry internal/registry's keychain renews a token (its tokenMargin).
const (
	sandboxTokenWindow = time.Minute
	keychainMargin     = 5 * time.Minute
)

// sandboxTokens rewrites the expiry of the sandbox's ECR tokens. The
// sandbox dates them on its virtual clock, which started long before today
// and runs faster than real time: judged by the wall clock every token
// looks expired and the keychain would fetch one per request, and another
// process cannot read that clock (in-process --sandbox does). A token is
// valid for 12 virtual hours, minutes of real time at any sensible speed,
// so pier trusts each for sandboxTokenWindow of real time (past the
// keychain's renewal margin) and then fetches the next.
type sandboxTokens struct{ awsapi.ECR }

func (s sandboxTokens) GetAuthorizationToken(ctx context.Context, in *ecr.GetAuthorizationTokenInput, optFns ...func(*ecr.Options)) (*ecr.GetAuthorizationTokenOutput, error) {
	out, err := s.ECR.GetAuthorizationToken(ctx, in, optFns...)
	if err != nil {
		return nil, err
	}
	exp := time.Now().Add(keychainMargin + sandboxTokenWindow)
	for i := range out.AuthorizationData {
		out.AuthorizationData[i].ExpiresAt = &exp
	}
	return out, nil
}
