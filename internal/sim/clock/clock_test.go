package clock

import (
	"context"
	"slices"
	"testing"
	"time"
)

func TestAdvanceFiresTimersInOrder(t *testing.T) {
	c := New(time.Time{})
	var got []string
	at := func(name string) func(time.Time) {
		return func(now time.Time) { got = append(got, name+"@"+now.Sub(Epoch).String()) }
	}
	c.AfterFunc(3*time.Second, at("c"))
	c.AfterFunc(time.Second, at("a"))
	c.AfterFunc(time.Second, at("b")) // same instant: scheduling order
	stopped := c.AfterFunc(2*time.Second, at("never"))
	tick := c.Every(2*time.Second, at("tick"))
	if !stopped.Stop() || stopped.Stop() {
		t.Error("Stop reports wrongly")
	}
	c.Advance(5 * time.Second)
	tick.Stop()
	c.Advance(time.Hour)
	want := []string{"a@1s", "b@1s", "tick@2s", "c@3s", "tick@4s"}
	if !slices.Equal(got, want) {
		t.Errorf("fired %v, want %v", got, want)
	}
	if d := c.Since(Epoch); d != time.Hour+5*time.Second {
		t.Errorf("clock at %v", d)
	}
}

func TestTimerCallbackCanSchedule(t *testing.T) {
	c := New(time.Time{})
	n := 0
	var again func(time.Time)
	again = func(time.Time) {
		n++
		if n < 3 {
			c.AfterFunc(time.Second, again)
		}
	}
	c.AfterFunc(time.Second, again)
	c.Advance(10 * time.Second)
	if n != 3 {
		t.Errorf("chained timers fired %d times, want 3", n)
	}
}

func TestSleepAdvancesAnUndrivenClock(t *testing.T) {
	c := New(time.Time{})
	fired := false
	c.AfterFunc(time.Minute, func(time.Time) { fired = true })
	if err := c.Sleep(context.Background(), 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	if !fired || c.Since(Epoch) != 2*time.Minute {
		t.Errorf("fired %v, clock %v", fired, c.Since(Epoch))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Sleep(ctx, time.Minute); err == nil {
		t.Error("Sleep with a cancelled context succeeded")
	}
}

func TestSleepWaitsForADrivenClock(t *testing.T) {
	c := New(time.Time{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go c.Run(ctx, 1000, time.Millisecond)
	// Run marks the clock driven before its first tick; wait for that.
	for {
		c.mu.Lock()
		running := c.running
		c.mu.Unlock()
		if running {
			break
		}
		time.Sleep(time.Millisecond)
	}
	start := c.Now()
	if err := c.Sleep(ctx, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if c.Now().Sub(start) < 5*time.Second {
		t.Errorf("woke after %v of virtual time", c.Now().Sub(start))
	}
	short, stop := context.WithCancel(ctx)
	stop()
	if err := c.WaitUntil(short, c.Now().Add(time.Hour)); err == nil {
		t.Error("WaitUntil ignored its context")
	}
}
