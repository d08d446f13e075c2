package ecr

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"time"
)

type authorizationData struct {
	AuthorizationToken string `json:"authorizationToken"`
	ExpiresAt          *epoch `json:"expiresAt"`
	ProxyEndpoint      string `json:"proxyEndpoint"`
}

type getAuthorizationTokenIn struct {
	RegistryIDs []string `json:"registryIds"`
}

type getAuthorizationTokenOut struct {
	AuthorizationData []authorizationData `json:"authorizationData"`
}

func (s *Service) getAuthorizationToken(w http.ResponseWriter, r *http.Request) {
	handle(w, r, func(in *getAuthorizationTokenIn) (*getAuthorizationTokenOut, error) {
		for _, id := range in.RegistryIDs {
			if err := s.checkRegistryID(&id); err != nil {
				return nil, err
			}
		}
		password, expires := s.Token()
		s.mu.Lock()
		defer s.mu.Unlock()
		return &getAuthorizationTokenOut{AuthorizationData: []authorizationData{{
			AuthorizationToken: base64.StdEncoding.EncodeToString([]byte("AWS:" + password)),
			ExpiresAt:          ts(expires),
			ProxyEndpoint:      "http://" + s.hostLocked(),
		}}}, nil
	})
}

// Token issues a registry password for user AWS, valid for TokenLifetime on the
// service's clock, as GetAuthorizationToken does; it returns the password and its
// expiry.
func (s *Service) Token() (string, time.Time) {
	var b [48]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	password := base64.RawURLEncoding.EncodeToString(b[:])
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for p, exp := range s.tokens {
		if now.After(exp.Add(TokenLifetime)) {
			delete(s.tokens, p) // long expired: forget it to keep the map small
		}
	}
	exp := now.Add(TokenLifetime)
	s.tokens[password] = exp
	return password, exp
}

// authState is the outcome of checking a request's credentials.
type authState int

const (
	authNone    authState = iota // no or malformed credentials, or an unknown password
	authExpired                  // a password this registry issued, now expired
	authOK
)

func (s *Service) authenticate(r *http.Request) authState {
	user, pass, ok := r.BasicAuth()
	if !ok || user != "AWS" {
		return authNone
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, known := s.tokens[pass]
	switch {
	case !known:
		return authNone
	case !s.now().Before(exp):
		return authExpired
	}
	return authOK
}
