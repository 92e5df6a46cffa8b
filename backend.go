package multiproc

import "github.com/multiproc/multiproc/internal/backend"

// A Pool knows where its tasks run only as a backend.Backend: local worker processes
// (internal/engine), or whatever a backend option such as cluster.At makes. The hooks below
// let a package outside this one make such an option, and reach a pool's backend.
func init() {
	backend.NewOption = func(f backend.Factory) any {
		return optionFunc{name: backendOption, set: func(c *config) error {
			if f == nil {
				return invalid("a nil backend Factory")
			}
			if c.factory != nil {
				return invalid("two backend options")
			}
			c.factory = f
			return nil
		}}
	}
	backend.OfPool = func(pool any) (backend.Backend, bool) {
		p, ok := pool.(*Pool)
		if !ok || p == nil || p.backend == nil {
			return nil, false
		}
		return p.backend, true
	}
}

// backendOption names a backend option in errors.
const backendOption = "a backend option"

// newBackend makes the backend a pool's options ask for: c.factory's, or local workers.
func newBackend(c *config) (backend.Backend, error) {
	if c.factory == nil {
		return newEngine(c)
	}
	for _, name := range backend.LocalOnly {
		if c.gave(name) {
			return nil, invalid("%s has no meaning for a pool on another backend; "+
				"its workers are configured where they run", name)
		}
	}
	b, err := c.factory(backend.Config{Name: c.name, TaskTimeout: c.timeout, Grace: c.grace,
		Retries: c.retries, Stdout: c.stdout, Stderr: c.stderr, Prefix: c.prefix, Logger: c.logger})
	return b, fromBackend(err)
}
