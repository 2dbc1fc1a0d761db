// Package group reconciles Group resources with groupadd, groupmod and groupdel.
package group
