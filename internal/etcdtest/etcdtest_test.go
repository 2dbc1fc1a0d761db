package etcdtest

import (
	"context"
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
