package incluster_test

import (
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

// imageRoot is a container image's root filesystem and what of its
// configuration a container runtime applies.
type imageRoot struct {
	dir        string   // the root filesystem
	env        []string // ENV
	entrypoint []string // ENTRYPOINT
}

// setup returns the shell commands that make top the container's root, as
// a runtime does for a pod with readOnlyRootFilesystem: the root filesystem
// read-only, a fresh /proc and a /dev of the usual devices. The caller
// mounts the volumes (at) and starts the entrypoint (command). Nothing for
// a nil root: the stand-in runs in the host's root.
func (r *imageRoot) setup(t *testing.T, top string) string {
	t.Helper()
	if r == nil {
		return ""
	}
	if err := os.MkdirAll(top, 0o755); err != nil {
		t.Fatal(err)
	}
	var s strings.Builder
	fmt.Fprintf(&s, "mount --bind %q %q\nmount -o remount,bind,ro %q\n", r.dir, top, top)
	fmt.Fprintf(&s, "mount -t proc proc %q\n", r.at(top, "/proc"))
	dev := r.at(top, "/dev")
	fmt.Fprintf(&s, "mount -t tmpfs -o mode=755,nosuid tmpfs %q\n", dev)
	for _, d := range []string{"null", "zero", "full", "random", "urandom", "tty"} {
		fmt.Fprintf(&s, "touch %q && mount --bind %q %q\n", filepath.Join(dev, d), "/dev/"+d, filepath.Join(dev, d))
	}
	for l, target := range map[string]string{"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2"} {
		fmt.Fprintf(&s, "ln -s %q %q\n", target, filepath.Join(dev, l))
	}
	return s.String()
}

// at is where the container's path p is on the host, once setup has made
// top its root: symbolic links resolve inside the root filesystem, as a
// runtime resolves mount destinations (the image's /var/run links to
// /run). A nil root is the host's: p itself.
func (r *imageRoot) at(top, p string) string {
	if r == nil {
		return p
	}
	resolved, rest := "/", strings.Split(p, "/")
	for links := 0; len(rest) > 0; {
		c := rest[0]
		rest = rest[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			resolved = path.Dir(resolved)
			continue
		}
		next := path.Join(resolved, c)
		target, err := os.Readlink(filepath.Join(r.dir, next))
		if err != nil { // not a link, or not there (yet)
			resolved = next
			continue
		}
		if links++; links > 40 {
			panic("too many links resolving " + p + " in " + r.dir)
		}
		if path.IsAbs(target) {
			resolved = "/"
		}
		rest = append(strings.Split(target, "/"), rest...)
	}
	return filepath.Join(top, resolved)
}

// command is what starts a program in the root setup made, as the
// runner's user, with only env: chroot changes the root and then the
// user (setpriv, run first, would drop the right to chroot).
func (r *imageRoot) command(t *testing.T, top string, env []string) []string {
	t.Helper()
	chroot, err := exec.LookPath("chroot")
	if err != nil {
		t.Fatalf("chroot is needed to run the image: %v", err)
	}
	args := append([]string{"env", "-i"}, env...)
	return append(args, chroot, "--userspec="+runnerUID+":"+runnerUID, "--groups=", top)
}
