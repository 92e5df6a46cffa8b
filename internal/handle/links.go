//go:build unix

package handle

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/multiproc/multiproc/internal/sockpair"
)

// EnvLink names the descriptor of a child's end of its link to its parent.
const EnvLink = "MULTIPROC_HANDLE_LINK"

// links are this process's links: to its parent, and to each child it started.
var links = struct {
	mu        sync.Mutex
	active    bool // a token was written or read: links are served
	parent    *link
	parentPid int
	children  map[int]*link
}{children: make(map[int]*link)}

// The link to the parent is taken before main runs, so that the variable is gone before
// anything starts processes of its own and the descriptor is closed in them.
func init() {
	v := os.Getenv(EnvLink)
	if v == "" {
		return
	}
	os.Unsetenv(EnvLink)
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 3 {
		return
	}
	unix.CloseOnExec(fd)
	if err := unix.SetNonblock(fd, true); err != nil {
		return
	}
	l, err := newLink(os.NewFile(uintptr(fd), "multiproc-handle-link"), os.Getppid())
	if err != nil {
		return
	}
	links.parent, links.parentPid = l, l.pid
}

// active is links.active, read without the lock once it is true.
var active atomic.Bool

// activate starts serving every link, now and from now on.
func activate() {
	if active.Load() {
		return
	}
	links.mu.Lock()
	defer links.mu.Unlock()
	if links.active {
		return
	}
	links.active = true
	active.Store(true)
	if links.parent != nil {
		links.parent.serveOnce()
	}
	for _, l := range links.children {
		l.serveOnce()
	}
}

// linkTo returns the link to the process pid: this process's parent or one of its children.
func linkTo(pid int) (*link, error) {
	links.mu.Lock()
	defer links.mu.Unlock()
	if links.parent != nil && pid == links.parentPid {
		return links.parent, nil
	}
	if l := links.children[pid]; l != nil {
		return l, nil
	}
	return nil, fmt.Errorf("the process holding it (pid %d) is neither this process's parent nor one of its children", pid)
}

// ChildLink is the parent's end of the link to a child about to be started.
type ChildLink struct {
	l *link
}

// NewChildLink makes the link for a child about to be started. The child inherits the
// returned file; its environment gets Env(fd), fd being the number it has there. Once the
// child runs, call Started; when it has ended (or failed to start), Close. A link costs a
// descriptor and nothing else until a token is written or read.
func NewChildLink() (*ChildLink, *os.File, error) {
	parent, child, err := sockpair.New("multiproc-handle-link")
	if err != nil {
		return nil, nil, err
	}
	l, err := newLink(parent, 0)
	if err != nil {
		parent.Close()
		child.Close()
		return nil, nil, err
	}
	return &ChildLink{l}, child, nil
}

// Env is the environment variable that tells the child its end is descriptor fd.
func (c *ChildLink) Env(fd int) string { return EnvLink + "=" + strconv.Itoa(fd) }

// Started records the child's pid: tokens it writes can be opened here from now on.
func (c *ChildLink) Started(pid int) {
	c.l.mu.Lock()
	c.l.pid = pid
	c.l.onClose = func() {
		links.mu.Lock()
		if links.children[pid] == c.l {
			delete(links.children, pid)
		}
		links.mu.Unlock()
	}
	c.l.mu.Unlock()
	links.mu.Lock()
	links.children[pid] = c.l
	active := links.active
	links.mu.Unlock()
	if active {
		c.l.serveOnce()
	}
}

// Close closes the link: call it once the child has ended.
func (c *ChildLink) Close() { c.l.close() }
