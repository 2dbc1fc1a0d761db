// Package web serves the controller's status page: a server-rendered view of
// the fleet, each host and each resource, kept live by Server-Sent Events,
// read-only unless a bearer token with write scope is presented.
//
// The package depends only on its Source interface and its own view types,
// so any status store can feed it through a small adapter.
package web
