package transport

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// BenchmarkDial is connect + key exchange + authentication + shell start.
func BenchmarkDial(b *testing.B) {
	h := shared(b).Resource()
	for b.Loop() {
		c, err := Dial(context.Background(), h)
		if err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
}

// BenchmarkCommand compares one command's latency over the persistent shell
// with the usual way, a new SSH session per command on an open connection.
func BenchmarkCommand(b *testing.B) {
	b.Run("local-shell", func(b *testing.B) {
		c := dial(b, localHost())
		for b.Loop() {
			if r, err := Run(context.Background(), c, "true"); err != nil || r.ExitCode != 0 {
				b.Fatal(r, err)
			}
		}
	})
	h := shared(b).Resource()
	b.Run("persistent-shell", func(b *testing.B) {
		c := dial(b, h)
		for b.Loop() {
			if r, err := Run(context.Background(), c, "true"); err != nil || r.ExitCode != 0 {
				b.Fatal(r, err)
			}
		}
	})
	b.Run("session-per-command", func(b *testing.B) {
		key, err := os.ReadFile(h.Spec.PrivateKeyFile)
		if err != nil {
			b.Fatal(err)
		}
		signer, err := ssh.ParsePrivateKey(key)
		if err != nil {
			b.Fatal(err)
		}
		hk, err := knownhosts.New(h.Spec.HostKey.KnownHostsFile)
		if err != nil {
			b.Fatal(err)
		}
		client, err := ssh.Dial("tcp", sshAddr(h.Spec), &ssh.ClientConfig{User: "root", Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, HostKeyCallback: hk})
		if err != nil {
			b.Fatal(err)
		}
		defer client.Close()
		for b.Loop() {
			s, err := client.NewSession()
			if err != nil {
				b.Fatal(err)
			}
			if err := s.Run("true"); err != nil {
				b.Fatal(err)
			}
			s.Close()
		}
	})
}

func BenchmarkBatch200(b *testing.B) {
	c := dial(b, shared(b).Resource())
	cmds := make([]Command, 200)
	for i := range cmds {
		cmds[i] = Command{Script: fmt.Sprintf("echo %d", i)}
	}
	for b.Loop() {
		if _, err := c.Batch(context.Background(), cmds); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTransfer10MB sends 10 MB to cat and reads them back.
func BenchmarkTransfer10MB(b *testing.B) {
	c := dial(b, shared(b).Resource())
	data := make([]byte, 10<<20)
	rand.Read(data)
	b.SetBytes(int64(2 * len(data)))
	for b.Loop() {
		rs, err := c.Batch(context.Background(), []Command{{Script: "cat", Stdin: data}})
		if err != nil || len(rs[0].Stdout) != len(data) {
			b.Fatal(err)
		}
	}
}
