package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/optimus-cm/optimus/test/fleetsim"
)

// server serves the simulated hosts of one container.
type server struct {
	seed       []byte
	authorized ssh.PublicKey
	self       string // simd's own path, for the session helper

	mu sync.Mutex
	// hosts holds, per simulated host with a session, the lock that orders
	// its session starts and the processes living in its namespace.
	hosts map[string]*hostState
}

type hostState struct {
	start sync.Mutex // held while a session starts
	pids  []int      // live sessions, any of which holds the namespace
}

func serve(first, count, base, total int) error {
	seed, err := os.ReadFile(filepath.Join(dir, "seed"))
	if err != nil {
		return err
	}
	authLine, err := os.ReadFile(filepath.Join(dir, "authorized_keys"))
	if err != nil {
		return err
	}
	authorized, _, _, _, err := ssh.ParseAuthorizedKey(authLine)
	if err != nil {
		return fmt.Errorf("authorized_keys: %w", err)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	s := &server{seed: seed, authorized: authorized, self: self, hosts: map[string]*hostState{}}
	// Every port is bound before any is served, so that an answer on the
	// last port means the whole container is ready.
	lns := make([]net.Listener, count)
	for i := range count {
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(base+first+i))
		if lns[i], err = net.Listen("tcp", addr); err != nil {
			return err
		}
	}
	fmt.Printf("simd: serving %d simulated hosts from port %d\n", count, base+first)
	errs := make(chan error, 1)
	for i, ln := range lns {
		go func() { errs <- s.accept(ln, fleetsim.HostName(first+i, total)) }()
	}
	return <-errs
}

// accept serves one simulated host. An idle host costs this goroutine and
// its listener: its key and configuration are made per connection.
func (s *server) accept(ln net.Listener, name string) error {
	for {
		nc, err := ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		go s.conn(nc, name)
	}
}

func (s *server) conn(nc net.Conn, name string) {
	defer nc.Close()
	signer, err := fleetsim.HostSigner(s.seed, name)
	if err != nil {
		return
	}
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(md ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if md.User() == "root" && bytes.Equal(key.Marshal(), s.authorized.Marshal()) {
				return nil, nil
			}
			return nil, fmt.Errorf("only root with the fleet's key may log in")
		},
	}
	cfg.AddHostKey(signer)
	_ = nc.SetDeadline(time.Now().Add(2 * time.Minute))
	sc, chans, reqs, err := ssh.NewServerConn(nc, cfg)
	if err != nil {
		return
	}
	_ = nc.SetDeadline(time.Time{})
	defer sc.Close()
	// Keepalives and other global requests are refused, as OpenSSH
	// refuses what it does not know; a refusal is an answer.
	go ssh.DiscardRequests(reqs)
	for nch := range chans {
		if nch.ChannelType() != "session" {
			_ = nch.Reject(ssh.UnknownChannelType, "a simulated host only opens sessions")
			continue
		}
		ch, creqs, err := nch.Accept()
		if err != nil {
			continue
		}
		go s.session(name, ch, creqs)
	}
}

// session answers a session's requests: one exec (or shell) runs, the
// rest is refused.
func (s *server) session(name string, ch ssh.Channel, reqs <-chan *ssh.Request) {
	started := false
	for req := range reqs {
		ok := false
		if !started && (req.Type == "exec" || req.Type == "shell") {
			var command string
			if req.Type == "exec" {
				var p struct{ Command string }
				if ssh.Unmarshal(req.Payload, &p) != nil {
					_ = req.Reply(false, nil)
					continue
				}
				command = p.Command
			}
			ok = s.run(name, command, ch) == nil
			started = ok
		}
		if req.WantReply {
			_ = req.Reply(ok, nil)
		}
	}
}

// run starts command on the simulated host: in a new namespace built by
// the session helper when the host has no live session, otherwise in the
// namespace of one that lives (two overlays on one upper layer would not
// see each other's changes).
func (s *server) run(name, command string, ch ssh.Channel) error {
	s.mu.Lock()
	h := s.hosts[name]
	if h == nil {
		h = &hostState{}
		s.hosts[name] = h
	}
	s.mu.Unlock()
	h.start.Lock()
	defer h.start.Unlock()
	var cmd *exec.Cmd
	var ready *os.File
	if pid, ok := s.livePID(h); ok {
		argv := []string{"--target", strconv.Itoa(pid), "--mount", "--uts", "--wd=/root", "--", "/bin/sh"}
		if command != "" {
			argv = append(argv, "-c", command)
		}
		cmd = exec.Command("nsenter", argv...)
		cmd.Env = sessionEnv
	} else {
		r, w, err := os.Pipe()
		if err != nil {
			return err
		}
		defer r.Close()
		defer w.Close()
		cmd = exec.Command(s.self, "session", name, command)
		cmd.ExtraFiles = []*os.File{w}
		cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWUTS}
		ready = r
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setsid = true
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = ch, ch.Stderr()
	if err := cmd.Start(); err != nil {
		return err
	}
	if ready != nil {
		cmd.ExtraFiles[0].Close()
		// One byte once the view is mounted; end of file when the helper
		// failed (it said why on the session's stderr and exits).
		if n, _ := ready.Read(make([]byte, 1)); n != 1 {
			go s.wait(h, cmd, ch, stdin)
			return nil
		}
	}
	h.pids = append(h.pids, cmd.Process.Pid)
	go func() {
		_, _ = io.Copy(stdin, ch)
		stdin.Close()
	}()
	go s.wait(h, cmd, ch, stdin)
	return nil
}

// livePID is a live session's process on h; the caller holds h.start.
func (s *server) livePID(h *hostState) (int, bool) {
	if len(h.pids) == 0 {
		return 0, false
	}
	return h.pids[0], true
}

// wait reports the command's exit status on the session, as sshd does,
// and closes it.
func (s *server) wait(h *hostState, cmd *exec.Cmd, ch ssh.Channel, stdin io.Closer) {
	err := cmd.Wait()
	stdin.Close()
	h.start.Lock()
	for i, pid := range h.pids {
		if pid == cmd.Process.Pid {
			h.pids = append(h.pids[:i], h.pids[i+1:]...)
			break
		}
	}
	h.start.Unlock()
	status := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		status = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			status = 128 + int(ws.Signal())
		}
	} else if err != nil {
		status = 255
	}
	_ = ch.CloseWrite()
	_, _ = ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{uint32(status)}))
	_ = ch.Close()
}
