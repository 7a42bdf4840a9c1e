package mock

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// LimitListener caps the connections hs serves from ln at max (default
// DefaultMaxConnections) and sets hs.ConnState to track them.
//
// Unlike golang.org/x/net/netutil.LimitListener, which stops accepting at the
// cap (so every new connection, a health probe's too, waits in the kernel's
// backlog behind the ones that hold the slots), it always accepts: at the cap it
// closes the connection that has been idle longest (a keep-alive connection
// between requests, or one that has sent nothing yet), and only when every
// connection is busy with a request does it close the new one. A flood of idle
// connections therefore cannot starve /_ensmock/health, and the number of
// open descriptors stays at most max+1.
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
	return l
}

type limitListener struct {
	net.Listener
	max   int
	mu    sync.Mutex
	conns map[net.Conn]*connInfo
}

type connInfo struct {
	state http.ConnState
	since time.Time // of the last state change
}

// idle reports whether the connection holds no request: new (nothing read
// yet) or idle between keep-alive requests.
func (i *connInfo) idle() bool { return i.state == http.StateNew || i.state == http.StateIdle }

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
		l.conns[tc] = &connInfo{state: http.StateNew, since: time.Now()}
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
		info.state, info.since = st, time.Now()
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
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.l.mu.Lock()
		delete(c.l.conns, c)
		c.l.mu.Unlock()
	})
	return c.Conn.Close()
}
