package deploy

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"

	"github.com/pier-deploy/pier/internal/awsapi"
)

// maxDescribe is how many services one DescribeServices call takes.
const maxDescribe = 10

// poller is the one poll loop of a run. Every service's goroutine that
// waits on ECS calls next; a round starts when every goroutine of the run
// is either waiting or done, sleeps the adaptive interval, then describes
// all waiting services with as few DescribeServices calls as the 10-service
// limit allows, and hands each its snapshot. Because rounds start only
// when the run is quiescent, a simulated clock advances deterministically,
// and in production a round never races an UpdateService in flight.
type poller struct {
	ecs   awsapi.ECS
	clock Clock

	mu      sync.Mutex
	cond    *sync.Cond
	busy    int // goroutines of the run not waiting
	waiting []*waiter
	closed  bool

	// interrupt ends the current sleep early once, when the run is
	// cancelled, so a SIGTERM is acted on at once and not a 15 s interval later.
	interrupt   context.Context
	interrupted bool

	rounds    int // poll rounds done, for benchmarks
	describes int // DescribeServices calls made (each may be retried by the SDK)
}

type waiter struct {
	cluster, service string
	since            time.Time // when the waited-for action began: drives the interval
	ch               chan snapshot
}

// snapshot is one service as one round saw it.
type snapshot struct {
	svc *types.Service
	at  time.Time
	err error
}

func newPoller(api awsapi.ECS, c Clock) *poller {
	p := &poller{ecs: api, clock: c}
	p.cond = sync.NewCond(&p.mu)
	return p
}

// join registers a goroutine that will wait through the poller; leave
// must follow when it is done.
func (p *poller) join() {
	p.mu.Lock()
	p.busy++
	p.mu.Unlock()
}

func (p *poller) leave() {
	p.mu.Lock()
	p.busy--
	p.cond.Broadcast()
	p.mu.Unlock()
}

// next waits for the next round that describes the service. since is when
// the thing being waited for began; early on, rounds come quickly.
func (p *poller) next(ctx context.Context, cluster, service string, since time.Time) snapshot {
	w := &waiter{cluster: cluster, service: service, since: since, ch: make(chan snapshot, 1)}
	p.mu.Lock()
	p.busy--
	p.waiting = append(p.waiting, w)
	p.cond.Broadcast()
	p.mu.Unlock()
	select {
	case s := <-w.ch:
		return s
	case <-ctx.Done():
		// The round may still deliver into the buffered channel; the
		// goroutine is busy again either way.
		p.mu.Lock()
		for i, x := range p.waiting {
			if x == w {
				p.waiting = append(p.waiting[:i], p.waiting[i+1:]...)
				p.busy++
				break
			}
		}
		p.mu.Unlock()
		return snapshot{err: ctx.Err(), at: p.clock.Now()}
	}
}

// close stops run once no round is in progress.
func (p *poller) close() {
	p.mu.Lock()
	p.closed = true
	p.cond.Broadcast()
	p.mu.Unlock()
}

// interval is quick while the youngest wait is young (a fatal cause right
// after UpdateService is caught in seconds), then settles at 15 s.
func interval(age time.Duration) time.Duration {
	switch {
	case age < 30*time.Second:
		return 3 * time.Second
	case age < 2*time.Minute:
		return 6 * time.Second
	}
	return 15 * time.Second
}

// run is the loop; it returns when closed.
func (p *poller) run(ctx context.Context) {
	for {
		p.mu.Lock()
		for !p.closed && (p.busy > 0 || len(p.waiting) == 0) {
			p.cond.Wait()
		}
		if p.closed {
			p.mu.Unlock()
			return
		}
		batch := p.waiting
		p.waiting = nil
		p.mu.Unlock()

		now := p.clock.Now()
		age := time.Duration(1<<62 - 1)
		for _, w := range batch {
			age = min(age, now.Sub(w.since))
		}
		sleepCtx := ctx
		if p.interrupt != nil && !p.interrupted {
			sleepCtx = p.interrupt
		}
		err := p.clock.Sleep(sleepCtx, interval(age))
		if err != nil && sleepCtx != ctx && ctx.Err() == nil {
			p.interrupted, err = true, nil // cancelled: look now, then sleep as usual
		}
		at := p.clock.Now()
		results := map[[2]string]snapshot{}
		if err == nil {
			results = p.describe(ctx, batch, at)
		}
		p.mu.Lock()
		p.rounds++
		p.busy += len(batch)
		p.mu.Unlock()
		for _, w := range batch {
			s, ok := results[[2]string{w.cluster, w.service}]
			if !ok {
				s = snapshot{at: at, err: err}
			}
			w.ch <- s
		}
	}
}

// describe batches the waiting services by cluster, ten to a call. A
// throttled or failed call leaves its services without a snapshot this
// round (err set); they simply wait for the next round.
func (p *poller) describe(ctx context.Context, batch []*waiter, at time.Time) map[[2]string]snapshot {
	byCluster := map[string][]string{}
	seen := map[[2]string]bool{}
	for _, w := range batch {
		k := [2]string{w.cluster, w.service}
		if !seen[k] {
			seen[k] = true
			byCluster[w.cluster] = append(byCluster[w.cluster], w.service)
		}
	}
	clusters := make([]string, 0, len(byCluster))
	for c := range byCluster {
		clusters = append(clusters, c)
	}
	sort.Strings(clusters)
	out := map[[2]string]snapshot{}
	for _, c := range clusters {
		names := byCluster[c]
		for i := 0; i < len(names); i += maxDescribe {
			chunk := names[i:min(i+maxDescribe, len(names))]
			p.mu.Lock()
			p.describes++
			p.mu.Unlock()
			resp, err := p.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(c), Services: chunk})
			if err != nil {
				for _, n := range chunk {
					out[[2]string{c, n}] = snapshot{at: at, err: fmt.Errorf("describing services in cluster %s: %w", c, awsapi.Explain(err))}
				}
				continue
			}
			for i := range resp.Services {
				s := &resp.Services[i]
				out[[2]string{c, str(s.ServiceName)}] = snapshot{svc: s, at: at}
				if arn := str(s.ServiceArn); arn != "" {
					out[[2]string{c, arn}] = snapshot{svc: s, at: at}
				}
			}
			for _, f := range resp.Failures {
				n := shortTD(str(f.Arn))
				out[[2]string{c, n}] = snapshot{at: at, err: &missingError{service: n, cluster: c, reason: str(f.Reason)}}
			}
		}
	}
	return out
}

// missingError is a service DescribeServices reports as a failure
// (MISSING): deleted while pier waited on it.
type missingError struct{ service, cluster, reason string }

func (e *missingError) Error() string {
	return fmt.Sprintf("describing service %s in cluster %s: %s (deleted?)", e.service, e.cluster, e.reason)
}

// retryable reports whether an API error is worth another round: throttling
// and server-side faults that outlived the SDK's own retries.
func retryable(err error) bool {
	var me *missingError
	if errors.As(err, &me) {
		return false
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded",
			"ServerException", "ServiceUnavailable", "InternalFailure", "ServiceUnavailableException":
			return true
		}
		return ae.ErrorFault() == smithy.FaultServer
	}
	// Transport errors (connection reset, timeouts) are retryable too.
	return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}
