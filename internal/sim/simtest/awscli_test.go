package simtest

import (
	"encoding/json"
	"testing"
	"time"
)

// Both CLI versions' renderings of one instant read as that instant.
func TestTimestamp(t *testing.T) {
	at := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name, raw string
		want      time.Time
		wantErr   bool
	}{
		{name: "v2 ISO 8601", raw: `"2026-11-21T10:00:00+00:00"`, want: at},
		{name: "v2 with fraction and zone", raw: `"2026-11-21T11:00:00.250000+01:00"`, want: at.Add(250 * time.Millisecond)},
		{name: "v1 seconds", raw: `1795255200`, want: at},
		{name: "v1 fractional seconds", raw: `1795255200.25`, want: at.Add(250 * time.Millisecond)},
		{name: "neither", raw: `"yesterday"`, wantErr: true},
		{name: "not a value", raw: `true`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Timestamp(json.RawMessage(tt.raw))
			if (err != nil) != tt.wantErr {
				t.Fatalf("Timestamp(%s): %v", tt.raw, err)
			}
			if !tt.wantErr && !got.Equal(tt.want) {
				t.Errorf("Timestamp(%s) = %v, want %v", tt.raw, got, tt.want)
			}
		})
	}
}
