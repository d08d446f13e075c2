// Package clock is the simulator's virtual clock. Time only moves when a test
// calls Advance (or Sleep), or when Run drives it faster than real time for
// the sandbox, so a twenty-minute rollout takes milliseconds and every run of
// a test sees the same sequence of instants.
package clock

import (
	"container/heap"
	"context"
	"sync"
	"time"
)

// Epoch is the default start of virtual time: a fixed instant, so timestamps
// in golden files and events do not depend on when a test ran.
var Epoch = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

// Clock is a virtual clock with timers. The zero value is not usable; call New.
type Clock struct {
	mu      sync.Mutex
	now     time.Time
	timers  timerHeap
	seq     uint64
	waiters []*waiter
	running bool // Run is driving the clock; Sleep waits instead of advancing

	// advancing serializes Advance calls so timers fire in order even when a
	// test and the sandbox's driver both move time.
	advancing sync.Mutex
}

// Timer is a callback scheduled on virtual time.
type Timer struct {
	c     *Clock
	at    time.Time
	seq   uint64
	f     func(now time.Time)
	every time.Duration
	index int // position in the heap, -1 when not scheduled
}

type waiter struct {
	at time.Time
	ch chan struct{}
}

// New returns a clock reading start (Epoch if start is zero).
func New(start time.Time) *Clock {
	if start.IsZero() {
		start = Epoch
	}
	return &Clock{now: start.UTC()}
}

// Now returns the current virtual time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Since returns the virtual time elapsed since t.
func (c *Clock) Since(t time.Time) time.Duration { return c.Now().Sub(t) }

// AfterFunc calls f (on the goroutine that advances the clock) once d of
// virtual time has passed.
func (c *Clock) AfterFunc(d time.Duration, f func(now time.Time)) *Timer {
	return c.schedule(d, 0, f)
}

// Every calls f each time another d of virtual time has passed, starting d
// from now. d must be positive.
func (c *Clock) Every(d time.Duration, f func(now time.Time)) *Timer {
	if d <= 0 {
		panic("clock: Every needs a positive period")
	}
	return c.schedule(d, d, f)
}

func (c *Clock) schedule(d, every time.Duration, f func(time.Time)) *Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &Timer{c: c, at: c.now.Add(max(d, 0)), seq: c.seq, f: f, every: every, index: -1}
	heap.Push(&c.timers, t)
	return t
}

// Stop cancels the timer. It reports whether the timer was still scheduled.
func (t *Timer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	if t.index < 0 {
		t.every = 0
		return false
	}
	heap.Remove(&t.c.timers, t.index)
	t.every = 0
	return true
}

// Advance moves virtual time forward by d, firing every timer that falls due
// in order; the clock reads each timer's instant while its callback runs.
func (c *Clock) Advance(d time.Duration) {
	c.AdvanceTo(c.Now().Add(d))
}

// AdvanceTo moves virtual time forward to t (never backwards).
func (c *Clock) AdvanceTo(t time.Time) {
	c.advancing.Lock()
	defer c.advancing.Unlock()
	for {
		c.mu.Lock()
		if len(c.timers) == 0 || c.timers[0].at.After(t) {
			if t.After(c.now) {
				c.now = t
			}
			c.wakeLocked()
			c.mu.Unlock()
			return
		}
		tm := heap.Pop(&c.timers).(*Timer)
		if tm.at.After(c.now) {
			c.now = tm.at
		}
		if tm.every > 0 {
			tm.at = tm.at.Add(tm.every)
			c.seq++
			tm.seq = c.seq
			heap.Push(&c.timers, tm)
		}
		now := c.now
		c.wakeLocked()
		c.mu.Unlock()
		tm.f(now)
	}
}

func (c *Clock) wakeLocked() {
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(c.now) {
			close(w.ch)
			continue
		}
		kept = append(kept, w)
	}
	c.waiters = kept
}

// Sleep waits for d of virtual time. When nothing drives the clock (tests),
// the sleeper drives it: Sleep advances the clock itself, so code that polls
// with Sleep runs deterministically and instantly. When Run drives the clock
// (the sandbox), Sleep blocks until virtual time has moved on.
func (c *Clock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	running := c.running
	at := c.now.Add(d)
	c.mu.Unlock()
	if !running {
		if err := ctx.Err(); err != nil {
			return err
		}
		c.AdvanceTo(at)
		return nil
	}
	return c.WaitUntil(ctx, at)
}

// WaitUntil blocks until virtual time reaches t or ctx ends.
func (c *Clock) WaitUntil(ctx context.Context, t time.Time) error {
	c.mu.Lock()
	if !t.After(c.now) {
		c.mu.Unlock()
		return nil
	}
	w := &waiter{at: t, ch: make(chan struct{})}
	c.waiters = append(c.waiters, w)
	c.mu.Unlock()
	select {
	case <-w.ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run drives the clock at speed times real time (speed 60: one real second
// is a virtual minute), stepping every tick of real time, until ctx ends.
func (c *Clock) Run(ctx context.Context, speed float64, tick time.Duration) {
	if speed <= 0 {
		speed = 1
	}
	if tick <= 0 {
		tick = 20 * time.Millisecond
	}
	c.mu.Lock()
	c.running = true
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.running = false
		c.mu.Unlock()
	}()
	t := time.NewTicker(tick)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case real := <-t.C:
			elapsed := real.Sub(last)
			last = real
			c.Advance(time.Duration(float64(elapsed) * speed))
		}
	}
}

type timerHeap []*Timer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if h[i].at.Equal(h[j].at) {
		return h[i].seq < h[j].seq
	}
	return h[i].at.Before(h[j].at)
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *timerHeap) Push(x any) {
	t := x.(*Timer)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	t.index = -1
	*h = old[:len(old)-1]
	return t
}
