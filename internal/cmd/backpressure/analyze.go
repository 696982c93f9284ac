package main

import (
	"net/http"
	"slices"
	"time"
)

// herdWindow is how close together retries must arrive to count as one
// herd: well under the 1 s unit of Retry-After, well over the scheduling
// noise of a loaded machine.
const herdWindow = 10 * time.Millisecond

// analysis is what the attempts of one run say about the client's back-off.
type analysis struct {
	Requests   int // attempts that reached the recorder
	Operations int // distinct requests (a request and its retries are one)
	Refused    int // answers 429
	GaveUp     int // requests whose last attempt was refused: the client gave up
	Retries    int // attempts after the first of their request
	// Unprompted counts retries that no retryable answer (429, 502, 503,
	// 504) preceded, or that were sent before the previous attempt was
	// answered: more than one retry per refusal.
	Unprompted int
	// Early counts retries sent before the Retry-After of the 429 they
	// follow had passed.
	Early int
	// Slack is, over the retries that followed a 429 with a Retry-After,
	// how much longer than asked the client waited: minimum, median and
	// maximum.
	SlackMin, SlackMedian, SlackMax time.Duration
	// Herd is the largest number of retries that arrived within herdWindow
	// of each other.
	Herd int
}

func retryable(status int) bool {
	switch status {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

func analyze(attempts []attempt) analysis {
	var a analysis
	byKey := map[string][]attempt{}
	for _, at := range attempts {
		byKey[at.key] = append(byKey[at.key], at)
		if at.status == http.StatusTooManyRequests {
			a.Refused++
		}
	}
	a.Requests, a.Operations = len(attempts), len(byKey)
	var slack []time.Duration
	var retryTimes []time.Time
	for _, seq := range byKey {
		slices.SortFunc(seq, func(x, y attempt) int { return x.arrived.Compare(y.arrived) })
		if seq[len(seq)-1].status == http.StatusTooManyRequests {
			a.GaveUp++
		}
		for i := 1; i < len(seq); i++ {
			prev, cur := seq[i-1], seq[i]
			a.Retries++
			retryTimes = append(retryTimes, cur.arrived)
			if !retryable(prev.status) || cur.arrived.Before(prev.answered) {
				a.Unprompted++
				continue
			}
			if prev.status == http.StatusTooManyRequests && prev.retryAfter > 0 {
				d := cur.arrived.Sub(prev.answered) - prev.retryAfter
				if d < 0 {
					a.Early++
				}
				slack = append(slack, d)
			}
		}
	}
	if len(slack) > 0 {
		slices.Sort(slack)
		a.SlackMin, a.SlackMedian, a.SlackMax = slack[0], slack[len(slack)/2], slack[len(slack)-1]
	}
	slices.SortFunc(retryTimes, func(x, y time.Time) int { return x.Compare(y) })
	lo := 0
	for hi := range retryTimes {
		for retryTimes[hi].Sub(retryTimes[lo]) > herdWindow {
			lo++
		}
		a.Herd = max(a.Herd, hi-lo+1)
	}
	return a
}
