package journey

import "time"

// LastFanOut reports how long the service took to write the last start (or opening)
// event to every parked page, for the benchmarks in package journey_test.
func LastFanOut(s *Service) time.Duration { return time.Duration(s.park.lastFire.Load()) }

// Parked reports how many pages are parked, for the benchmarks.
func Parked(s *Service) int { return s.park.count() }

// BeforeReschedule makes the self-service reschedule run f after it checked the chosen
// time and before it saves, so a test can book that time in between.
func BeforeReschedule(s *Service, f func()) { s.beforeReschedule = f }
