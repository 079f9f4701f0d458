package notify

import (
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // Slack's time zone names must load even where the system has no zoneinfo
)

// Cadence is how often a digest is posted: a subscription's or a personal
// alert's (SOE's For You emails offer the same choices).
type Cadence string

// Cadences. Immediate (or "") is one message per event; the others gather a
// period's events into one digest, closed at the period's end in the
// owner's Slack time zone.
const (
	CadenceImmediate Cadence = "immediate"
	CadenceHourly    Cadence = "hourly" // on the hour
	Cadence3h        Cadence = "3h"     // at 00:00, 03:00, … 21:00
	CadenceDaily     Cadence = "daily"  // at 09:00
	CadenceWeekly    Cadence = "weekly" // on Monday at 09:00
)

// digestHour is the local hour daily and weekly digests are posted at.
const digestHour = 9

// ParseCadence reads a cadence word ("immediate", "hourly", "3h", "daily",
// "weekly" and a few synonyms).
func ParseCadence(word string) (Cadence, bool) {
	switch strings.ToLower(strings.TrimSpace(word)) {
	case "immediate", "immediately", "instant", "now", "realtime", "real-time":
		return CadenceImmediate, true
	case "hourly", "1h", "hour":
		return CadenceHourly, true
	case "3h", "3-hourly", "three-hourly":
		return Cadence3h, true
	case "daily", "day", "1d":
		return CadenceDaily, true
	case "weekly", "week", "7d", "1w":
		return CadenceWeekly, true
	}
	return "", false
}

// IsDigest reports whether c gathers events into digests (not immediate).
func (c Cadence) IsDigest() bool {
	switch c {
	case CadenceHourly, Cadence3h, CadenceDaily, CadenceWeekly:
		return true
	}
	return false
}

// Location loads a Slack time zone name ("Europe/Berlin"); an empty or
// unknown name is UTC.
func Location(tz string) *time.Location {
	if tz == "" {
		return time.UTC
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return time.UTC
	}
	return loc
}

// Describe says when digests of cadence c come, in tz: "daily at 09:00
// Europe/Berlin", "weekly on Monday at 09:00 Europe/Berlin", "hourly, on the
// hour (Europe/Berlin)", "every 3 hours (00:00, 03:00, … Europe/Berlin)".
func (c Cadence) Describe(tz string) string {
	zone := Location(tz).String()
	switch c {
	case CadenceHourly:
		return fmt.Sprintf("hourly, on the hour (%s)", zone)
	case Cadence3h:
		return fmt.Sprintf("every 3 hours (00:00, 03:00, … %s)", zone)
	case CadenceDaily:
		return fmt.Sprintf("daily at %02d:00 %s", digestHour, zone)
	case CadenceWeekly:
		return fmt.Sprintf("weekly on Monday at %02d:00 %s", digestHour, zone)
	}
	return "immediately"
}

// NextBoundary is the first end of a period of cadence c strictly after t,
// in loc (zero for an immediate cadence). Daily, weekly and 3-hourly
// boundaries are wall-clock times, so they stay at 09:00 across a DST change;
// hourly ones are every hour on the hour, each hour of a repeated DST hour
// its own period.
func NextBoundary(c Cadence, loc *time.Location, t time.Time) time.Time {
	if c == CadenceHourly {
		return hourStart(loc, t).Add(time.Hour)
	}
	for _, b := range boundaries(c, loc, t) {
		if b.After(t) {
			return b
		}
	}
	return time.Time{}
}

// PrevBoundary is the last period boundary at or before t (the start of the
// period t is in).
func PrevBoundary(c Cadence, loc *time.Location, t time.Time) time.Time {
	if c == CadenceHourly {
		return hourStart(loc, t)
	}
	var out time.Time
	for _, b := range boundaries(c, loc, t) {
		if b.After(t) {
			break
		}
		out = b
	}
	return out
}

// hourStart is the start of t's local hour (zones with half-hour offsets
// included).
func hourStart(loc *time.Location, t time.Time) time.Time {
	_, off := t.In(loc).Zone()
	d := time.Duration(off) * time.Second
	return t.Add(d).Truncate(time.Hour).Add(-d)
}

// boundaries lists, in order, the boundaries of cadence c on the local days
// from 8 days before t's to 8 days after.
func boundaries(c Cadence, loc *time.Location, t time.Time) []time.Time {
	y, m, d := t.In(loc).Date()
	var out []time.Time
	for k := -8; k <= 8; k++ {
		switch c {
		case Cadence3h:
			for h := 0; h < 24; h += 3 {
				out = append(out, time.Date(y, m, d+k, h, 0, 0, 0, loc))
			}
		case CadenceDaily:
			out = append(out, time.Date(y, m, d+k, digestHour, 0, 0, 0, loc))
		case CadenceWeekly:
			if time.Date(y, m, d+k, 12, 0, 0, 0, loc).Weekday() == time.Monday {
				out = append(out, time.Date(y, m, d+k, digestHour, 0, 0, 0, loc))
			}
		}
	}
	return out
}
