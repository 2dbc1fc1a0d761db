// Package cron reconciles Cron resources: entries of users' crontabs, each
// marked by a "# optimus: NAME" line, and files of their own in
// /etc/cron.d. Crontabs are read and written with crontab(1) where it is
// installed, and as spool files otherwise.
package cron
