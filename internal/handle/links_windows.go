package handle

import (
	"errors"
	"os"
)

// Windows has no descriptors to pass between processes, and the library starts no processes
// there: a token names an object no process here can reach.

// EnvLink names the descriptor of a child's end of its link to its parent.
const EnvLink = "MULTIPROC_HANDLE_LINK"

var errNoLinks = errors.New("handle: objects do not travel between processes on Windows")

type link struct{}

func (l *link) fetch(key Key) (*os.File, error) { return nil, errNoLinks }
func (l *link) done(key Key)                    {}

func activate() {}

func linkTo(pid int) (*link, error) { return nil, errNoLinks }

// ChildLink is a parent's end of the link to one child.
type ChildLink struct{}

// NewChildLink fails: there are no children here.
func NewChildLink() (*ChildLink, *os.File, error) { return nil, nil, errNoLinks }

// Env returns the environment entry that names the child's end.
func (c *ChildLink) Env(fd int) string { return "" }

// Started records the child's pid.
func (c *ChildLink) Started(pid int) {}

// Close closes the parent's end.
func (c *ChildLink) Close() {}

// retireMapping is never reached: no object is made here.
func retireMapping(mem []byte) {}
