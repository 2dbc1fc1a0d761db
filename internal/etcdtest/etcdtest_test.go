package etcdtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"testing"
	"time"
)

func TestClusterSurvivesOneMemberDown(t *testing.T) {
	c := StartCluster(t, 3)
	cli := c.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := cli.Put(ctx, "k", "v1"); err != nil {
		t.Fatal(err)
	}
	c.Members[0].Stop()
	// Losing the leader costs one election; a write may time out meanwhile.
	var err error
	for range 20 {
		if _, err = cli.Put(ctx, "k", "v2"); err == nil {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("put with one of three members down: %v", err)
	}
	if err := c.Members[0].Start(); err != nil {
		t.Fatal(err)
	}
	if err := c.Members[0].WaitReady(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	resp, err := cli.Get(ctx, "k")
	if err != nil || len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "v2" {
		t.Fatalf("get after restart: %v %v", resp, err)
	}
}

// A member whose port was taken before it bound it is told apart from
// other failures, so that StartCluster picks other ports.
func TestTakenPortIsRecognised(t *testing.T) {
	bin := Require(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir := t.TempDir()
	url := "http://" + ln.Addr().String()
	peer := fmt.Sprintf("http://127.0.0.1:%d", freePort(map[int]bool{}))
	m := &Member{Name: "m1", ClientURL: url, PeerURL: peer, dir: filepath.Join(dir, "m1"), logPath: filepath.Join(dir, "m1.log")}
	m.args = []string{bin, "--name", m.Name, "--data-dir", m.dir, "--listen-client-urls", url, "--advertise-client-urls", url,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", "m1=" + peer}
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	if err := m.WaitReady(time.Minute); !errors.Is(err, errPortTaken) {
		t.Fatalf("want errPortTaken, got %v", err)
	}
}
