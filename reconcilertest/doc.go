// Package reconcilertest is the conformance suite every reconciler passes,
// built-in or a user's own, against a real host:
//
//   - observe changes nothing on the host (a checksum of its filesystem
//     metadata is the same before and after a dry run);
//   - apply converges, and a plan right after it is empty;
//   - a second apply changes nothing;
//   - state: absent removes what present created;
//   - an invalid spec is rejected by validation before any host is touched.
//
// A test calls Run with the tool's scheme and registry, a Host to test
// against (see package test/testhost for containers) and a few Cases.
package reconcilertest
