package cluster

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/multiproc/multiproc"
	"github.com/nats-io/nats.go"
)

// Option configures At and Serve. An invalid value makes NewPool or Serve return an error
// wrapping multiproc.ErrInvalidOption.
type Option interface {
	apply(*config) error
}

type optionFunc func(*config) error

func (f optionFunc) apply(c *config) error { return f(c) }

// DefaultLostAfter is how long a host may go without a word about a task it holds (it sends
// one every third of it while the task runs) before the task is given to another host.
const DefaultLostAfter = 10 * time.Second

type config struct {
	url       string
	name      string
	nats      []nats.Option
	workers   []multiproc.Option
	lostAfter time.Duration
	storage   storage
}

type storage uint8

const (
	fileStorage storage = iota
	memoryStorage
)

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: cluster: "+format, append([]any{multiproc.ErrInvalidOption}, args...)...)
}

// validName is what a namespace may hold: it is part of stream and subject names.
var validName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

func newConfig(rawURL string, opts []Option) (*config, error) {
	c := &config{name: "multiproc", lostAfter: DefaultLostAfter}
	if err := checkURL(rawURL); err != nil {
		return nil, err
	}
	c.url = rawURL
	for _, o := range opts {
		if o == nil {
			return nil, invalid("nil Option")
		}
		if err := o.apply(c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// checkURL accepts what nats.Connect does: one url or several separated by commas, each
// nats://, tls://, ws:// or wss:// with a host.
func checkURL(raw string) error {
	if strings.TrimSpace(raw) == "" {
		return invalid("an empty server url")
	}
	for _, part := range strings.Split(raw, ",") {
		u, err := url.Parse(strings.TrimSpace(part))
		if err != nil {
			return invalid("server url %q: %v", raw, err)
		}
		switch u.Scheme {
		case "nats", "tls", "ws", "wss":
		default:
			return invalid("server url %q: the scheme must be nats://, tls://, ws:// or wss://", raw)
		}
		if u.Host == "" || u.Hostname() == "" {
			return invalid("server url %q: no host", raw)
		}
	}
	return nil
}

// Name sets the namespace of the streams and subjects a pool and its hosts use (default
// "multiproc"): pools and hosts with different names on one server never see each other's
// tasks or results. Letters, digits, '-' and '_' only.
func Name(name string) Option {
	return optionFunc(func(c *config) error {
		if !validName.MatchString(name) {
			return invalid("Name(%q): letters, digits, '-' and '_' only, at least one", name)
		}
		c.name = name
		return nil
	})
}

// NATS passes options to nats.Connect: credentials (nats.UserCredentials, nats.Token, ...),
// TLS (nats.Secure, nats.RootCAs, nats.ClientCert), timeouts. Reconnection without end is the
// default here (nats.MaxReconnects(-1)); an option given here may change it.
func NATS(opts ...nats.Option) Option {
	return optionFunc(func(c *config) error {
		for _, o := range opts {
			if o == nil {
				return invalid("NATS: a nil nats.Option")
			}
		}
		c.nats = append(c.nats, opts...)
		return nil
	})
}

// Workers configures Serve's worker processes as for a local pool: multiproc.Processes
// (default runtime.NumCPU()), TaskTimeout (bounds every task the host runs; the shorter of it
// and the pool's applies), MemoryLimit, MaxTasksPerWorker, Stdout, Stderr, Logger, ... It has
// no meaning for At: a pool's tasks run where the hosts are.
func Workers(opts ...multiproc.Option) Option {
	return optionFunc(func(c *config) error {
		for _, o := range opts {
			if o == nil {
				return invalid("Workers: a nil multiproc.Option")
			}
		}
		c.workers = append(c.workers, opts...)
		return nil
	})
}

// LostAfter sets how long a host may be silent about a task it holds before the task is
// given to another host (default DefaultLostAfter; a host that is alive speaks every third
// of it). A host that vanished (SIGKILL, lost network) delays its tasks by about this much.
// It is a setting of the cluster's streams: the hosts set it, and the last to start wins.
func LostAfter(d time.Duration) Option {
	return optionFunc(func(c *config) error {
		if d < 100*time.Millisecond {
			return invalid("LostAfter(%v): at least 100ms", d)
		}
		c.lostAfter = d
		return nil
	})
}

// MemoryStorage keeps the cluster's streams in the server's memory instead of files: faster,
// but a restarted server has lost the tasks it held. Like LostAfter, a setting of the streams.
func MemoryStorage() Option {
	return optionFunc(func(c *config) error {
		c.storage = memoryStorage
		return nil
	})
}
