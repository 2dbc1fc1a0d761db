// Package motd is a custom Optimus kind: the message of the day shown to
// users when they log in.
package motd

//go:generate go run github.com/optimus-cm/optimus/apis/v1alpha1/gen/docs .
