package sim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Wire names of the protocols the server tells apart.
const (
	ecsTargetPrefix = "AmazonEC2ContainerServiceV20141113."
	ecrTargetPrefix = "AmazonEC2ContainerRegistry_V20150921."
)

// Server serves a World over HTTP: ECS and ECR (awsJson1_1 by X-Amz-Target),
// ELBv2 (awsQuery by the form's Action) and the OCI registry (/v2/) on one
// port.
type Server struct {
	// URL is the base endpoint, http://127.0.0.1:PORT.
	URL   string
	world *World
	ln    net.Listener
	srv   *http.Server
	stop  context.CancelFunc
	done  chan struct{}
	// transport is the clients' own: http.DefaultTransport is shared with
	// every other server in the process, and an httptest.Server closing its
	// idle connections could cut a response being read from this one.
	transport *http.Transport
}

// Start serves the world on a free loopback port until ctx ends or Close.
func (w *World) Start(ctx context.Context) (*Server, error) {
	return w.Listen(ctx, "127.0.0.1:0")
}

// Listen serves the world on addr (host:port) until ctx ends or Close.
func (w *World) Listen(ctx context.Context, addr string) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("starting the simulator on %s: %w", addr, err)
	}
	host := ln.Addr().String()
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok && tcp.IP.IsUnspecified() {
		host = fmt.Sprintf("127.0.0.1:%d", tcp.Port)
	}
	w.attachRegistryHost(host)
	ctx, cancel := context.WithCancel(ctx)
	s := &Server{
		URL:   "http://" + host,
		world: w,
		ln:    ln,
		srv:   &http.Server{Handler: w, ReadHeaderTimeout: 10 * time.Second},
		stop:  cancel,
		done:  make(chan struct{}),
		transport: &http.Transport{
			Proxy:               nil, // loopback only: never through HTTP_PROXY
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     90 * time.Second,
		},
	}
	go func() {
		defer close(s.done)
		s.srv.Serve(ln)
	}()
	go func() {
		<-ctx.Done()
		s.srv.Close()
	}()
	return s, nil
}

// World returns the world the server serves.
func (s *Server) World() *World { return s.world }

// Addr returns the address the server listens on (host:port).
func (s *Server) Addr() string { return s.ln.Addr().String() }

// RegistryHost is the registry's host:port, the host part of repository URIs.
func (s *Server) RegistryHost() string { return strings.TrimPrefix(s.URL, "http://") }

// Close stops serving.
func (s *Server) Close() error {
	s.stop()
	err := s.srv.Close()
	<-s.done
	s.transport.CloseIdleConnections()
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// AWSConfig returns an SDK configuration pointing every client at the
// server: static dummy credentials, the world's region, plain HTTP, and no
// retries hidden behind the environment (nothing is read from AWS_* variables).
func (s *Server) AWSConfig() aws.Config {
	return aws.Config{
		Region:       s.world.region,
		BaseEndpoint: aws.String(s.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIASIMULATOR0000000", "simulator-secret-key", ""),
		HTTPClient:   &http.Client{Timeout: 30 * time.Second, Transport: s.transport},
	}
}

// ServeHTTP dispatches one request to the protocol it speaks.
func (w *World) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	rw.Header().Set("X-Amzn-RequestId", w.requestID())
	if strings.HasPrefix(r.URL.Path, "/v2/") || r.URL.Path == "/v2" {
		w.serveRegistry(rw, r)
		return
	}
	if r.URL.Path == HealthPath {
		w.serveHealth(rw, r)
		return
	}
	target := r.Header.Get("X-Amz-Target")
	switch {
	case strings.HasPrefix(target, ecsTargetPrefix):
		w.serveECS(rw, r, strings.TrimPrefix(target, ecsTargetPrefix))
		return
	case strings.HasPrefix(target, ecrTargetPrefix):
		op := strings.TrimPrefix(target, ecrTargetPrefix)
		if w.injectJSONFault(rw, "ecr", op) {
			return
		}
		w.serveECR(rw, r)
		return
	}
	if r.Method == http.MethodPost && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
		if err != nil {
			http.Error(rw, "reading the request body: "+err.Error(), http.StatusBadRequest)
			return
		}
		form, err := url.ParseQuery(string(body))
		if err == nil && form.Get("Action") != "" {
			op := form.Get("Action")
			if w.injectQueryFault(rw, "elbv2", op) {
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
			w.serveELBv2(rw, r)
			return
		}
	}
	writeJSONError(rw, errorf(errUnknownOp, "The simulator does not know how to answer %s %s (no X-Amz-Target, no Action).", r.Method, r.URL.Path))
}

// requestID numbers requests apart from the world's generator, so the ids
// of tasks and deployments do not depend on how many calls clients made.
func (w *World) requestID() string {
	w.mu.Lock()
	w.requests++
	n := w.requests
	w.mu.Unlock()
	return fmt.Sprintf("%08x-5eed-4000-8000-%012x", n, uint64(n)*0x9e3779b97f4a7c15>>16)
}

// fault decides, under the lock, whether this call fails and counts it.
func (w *World) fault(service, op string) (throttle, serverError bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.count(service + "." + op)
	f := w.faults
	if !f.applies(service, op) {
		return false, false
	}
	if f.ThrottleRate > 0 && w.faultRNG.Float64() < f.ThrottleRate {
		return true, false
	}
	if f.ServerErrorRate > 0 && w.faultRNG.Float64() < f.ServerErrorRate {
		return false, true
	}
	return false, false
}

func (w *World) injectJSONFault(rw http.ResponseWriter, service, op string) bool {
	throttle, server := w.fault(service, op)
	switch {
	case throttle:
		writeJSONError(rw, errorf(errThrottling, "Rate exceeded"))
	case server:
		writeJSONError(rw, &apiError{Code: errServer, Message: "Service Unavailable (injected fault)", Status: http.StatusServiceUnavailable})
	default:
		return false
	}
	return true
}

func (w *World) injectQueryFault(rw http.ResponseWriter, service, op string) bool {
	throttle, server := w.fault(service, op)
	code, status, typ, msg := "", 0, "Sender", ""
	switch {
	case throttle:
		code, status, msg = "Throttling", http.StatusBadRequest, "Rate exceeded"
	case server:
		code, status, typ, msg = "InternalFailure", http.StatusInternalServerError, "Receiver", "The request processing has failed because of an unknown error, exception or failure. (injected fault)"
	default:
		return false
	}
	rw.Header().Set("Content-Type", "text/xml")
	rw.WriteHeader(status)
	fmt.Fprintf(rw, `<ErrorResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`, typ, code, msg, rw.Header().Get("X-Amzn-RequestId"))
	return true
}

func (w *World) serveECS(rw http.ResponseWriter, r *http.Request, op string) {
	if w.injectJSONFault(rw, "ecs", op) {
		return
	}
	h, ok := ecsOps[op]
	if !ok {
		writeJSONError(rw, errorf(errUnknownOp, "The simulator does not implement ECS operation %s.", op))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
	if err != nil {
		writeJSONError(rw, errorf(errSerialization, "reading the request body: %v", err))
		return
	}
	w.mu.Lock()
	out, err := h(w, body)
	w.mu.Unlock()
	if err != nil {
		writeJSONError(rw, err)
		return
	}
	writeJSONReply(rw, out)
}
