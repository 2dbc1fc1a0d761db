package transport

import (
	"context"
	"testing"
)

func BenchmarkZZDocker(b *testing.B) {
	c := dial(b, dockerHost(shared(b).Container))
	for b.Loop() {
		Run(context.Background(), c, "true")
	}
}
func BenchmarkZZSSHBuiltinOnly(b *testing.B) {
	c := dial(b, shared(b).Resource())
	for b.Loop() {
		Run(context.Background(), c, ":")
	}
}
