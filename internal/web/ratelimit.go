package web

import (
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Failed sign-ins (a wrong token in the form or in an Authorization
// header) are limited per client address: loginBurst at once, then one
// every loginEvery. A token of 16 random characters cannot be guessed at
// that pace, and nobody is locked out for good: a refused attempt costs
// nothing, so the address may try again loginEvery after the failures stop,
// and a valid session cookie is never limited.
const (
	loginBurst = 10
	loginEvery = 10 * time.Second
	// maxTrackedClients bounds the memory an attacker with many addresses
	// can make the limiter hold; beyond it, new addresses share one bucket.
	maxTrackedClients = 4096
)

// failureLimiter is a token bucket per client address that only failures
// drain.
type failureLimiter struct {
	every time.Duration
	burst int

	mu       sync.Mutex
	clients  map[string]*rate.Limiter
	overflow *rate.Limiter
}

func newFailureLimiter(every time.Duration, burst int) *failureLimiter {
	return &failureLimiter{every: every, burst: burst, clients: map[string]*rate.Limiter{},
		overflow: rate.NewLimiter(rate.Every(every), burst)}
}

// attempt reserves one failure for the client of r. When the client has
// none left it returns how long to wait, and the attempt must be refused
// without checking its token. Otherwise the caller checks the token and
// calls succeeded when it was right, which gives the failure back.
func (l *failureLimiter) attempt(r *http.Request, now time.Time) (succeeded func(), wait time.Duration) {
	lim := l.limiter(clientKey(r.RemoteAddr), now)
	res := lim.ReserveN(now, 1)
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now) // refused attempts do not push the wait further
		return nil, d
	}
	return func() { res.CancelAt(now) }, 0
}

func (l *failureLimiter) limiter(key string, now time.Time) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	if lim, ok := l.clients[key]; ok {
		return lim
	}
	if len(l.clients) >= maxTrackedClients {
		// A full bucket remembers nothing worth keeping.
		for k, lim := range l.clients {
			if lim.TokensAt(now) >= float64(l.burst) {
				delete(l.clients, k)
			}
		}
		if len(l.clients) >= maxTrackedClients {
			return l.overflow
		}
	}
	lim := rate.NewLimiter(rate.Every(l.every), l.burst)
	l.clients[key] = lim
	return lim
}

// clientKey is the address a limit applies to: the IP of the peer, and for
// IPv6 its /64, which one client usually holds whole.
func clientKey(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return host
	}
	if ip.To4() == nil {
		return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
	}
	return ip.String()
}

// retryAfter is a wait in whole seconds, rounded up, for Retry-After.
func retryAfter(d time.Duration) string {
	return strconv.Itoa(int(math.Ceil(d.Seconds())))
}
