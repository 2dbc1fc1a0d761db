// Package pkg reconciles Package resources: operating-system packages
// installed, upgraded to the candidate version or removed with apt, dnf or
// apk, the manager detected per host unless the resource names one.
package pkg
