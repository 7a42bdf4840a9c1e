package mock

import (
	"context"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// LimitListener caps the connections hs serves from ln at max (default
// DefaultMaxConnections). It sets hs.ConnState, hs.ConnContext and wraps
// hs.Handler to track them (earlier hooks still run): call it before Serve.
//
// Unlike golang.org/x/net/netutil.LimitListener, which stops accepting at the
// cap (so every new connection, a health probe's too, waits in the kernel's
// backlog behind the ones that hold the slots), it always accepts: at the cap it
// closes the connection that has waited longest without a request in a handler
// (one that has sent nothing yet, is between keep-alive requests, or is still
// trickling its headers in), and only when every connection has a request in a
// handler does it close the new one. A flood of idle or slow-header connections
// therefore cannot starve /_ensmock/health, and the number of open
// descriptors stays at most max+1.
func LimitListener(ln net.Listener, hs *http.Server, max int) net.Listener {
	if max <= 0 {
		max = DefaultMaxConnections
	}
	l := &limitListener{Listener: ln, max: max, conns: map[net.Conn]*connInfo{}}
	prev := hs.ConnState
	hs.ConnState = func(c net.Conn, st http.ConnState) {
		l.state(c, st)
		if prev != nil {
			prev(c, st)
		}
	}
	prevCtx := hs.ConnContext
	hs.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		if prevCtx != nil {
			ctx = prevCtx(ctx, c)
		}
		return context.WithValue(ctx, connKey{}, c)
	}
	h := hs.Handler
	if h == nil {
		h = http.DefaultServeMux
	}
	hs.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tc, ok := r.Context().Value(connKey{}).(*trackedConn); ok && tc.l == l {
			tc.busy.Add(1)
			defer tc.busy.Add(-1)
		}
		h.ServeHTTP(w, r)
	})
	return l
}

type connKey struct{}

type limitListener struct {
	net.Listener
	max   int
	mu    sync.Mutex
	conns map[net.Conn]*connInfo
}

type connInfo struct {
	conn  *trackedConn
	since time.Time // of the last state change
}

// idle reports whether the connection has no request in a handler.
func (i *connInfo) idle() bool { return i.conn.busy.Load() == 0 }

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.mu.Lock()
		var evict net.Conn
		if len(l.conns) >= l.max {
			var victim net.Conn
			var oldest time.Time
			for vc, info := range l.conns {
				if info.idle() && (victim == nil || info.since.Before(oldest)) {
					victim, oldest = vc, info.since
				}
			}
			if victim == nil {
				l.mu.Unlock()
				c.Close() // every slot is busy with a request: refuse the newcomer
				continue
			}
			delete(l.conns, victim)
			evict = victim
		}
		tc := &trackedConn{Conn: c, l: l}
		l.conns[tc] = &connInfo{conn: tc, since: time.Now()}
		l.mu.Unlock()
		if evict != nil {
			evict.Close() // outside the lock: Close takes it
		}
		return tc, nil
	}
}

// state follows hs.ConnState.
func (l *limitListener) state(c net.Conn, st http.ConnState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	info, ok := l.conns[c]
	if !ok {
		return
	}
	switch st {
	case http.StateClosed, http.StateHijacked:
		delete(l.conns, c)
	default:
		info.since = time.Now()
	}
}

// open is the number of connections counted against the cap.
func (l *limitListener) open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}

type trackedConn struct {
	net.Conn
	l    *limitListener
	once sync.Once
	busy atomic.Int32 // requests of this connection inside the handler
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.l.mu.Lock()
		delete(c.l.conns, c)
		c.l.mu.Unlock()
	})
	return c.Conn.Close()
}
