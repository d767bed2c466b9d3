package main

import (
	"runtime/debug"
	"testing"
)

func TestTuneGCSetsItsPercentUnlessGOGCIsSet(t *testing.T) {
	previous := debug.SetGCPercent(100)
	defer debug.SetGCPercent(previous)

	tuneGC(func(string) string { return "" })
	if got := debug.SetGCPercent(100); got != gcPercent {
		t.Errorf("without GOGC the collector's setting is %d, want %d", got, gcPercent)
	}

	tuneGC(func(name string) string {
		if name == "GOGC" {
			return "50"
		}
		return ""
	})
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("with GOGC set, tuneGC changed the setting to %d", got)
	}
}
