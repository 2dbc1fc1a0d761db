// Package authorizedkey reconciles AuthorizedKey resources: one public key
// with its options in a user's ~/.ssh/authorized_keys, other keys kept,
// ~/.ssh (0700) and the file (0600) owned by the user.
package authorizedkey
