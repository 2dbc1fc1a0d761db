//go:build !unix

package testhost

func lockFile(string) (func(), error) { return func() {}, nil }
