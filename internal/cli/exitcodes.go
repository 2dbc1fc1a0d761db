package cli

// Exit codes of the commands, one set for all of them (the table in the
// README and docs). Some numbers mean different things to different
// commands, as in kubectl: 1 is "differences" to diff and "invalid" to
// apply.
const (
	exitOK = 0
	// exitConverged: apply converged.
	exitConverged = 0
	// exitInvalid: invalid manifests or usage; nothing was done.
	exitInvalid = 1
	// exitFailed: the command could not do what it was asked (run or facts
	// failed on a host, the controller could not be reached, ...).
	exitFailed = 1
	// exitDiffers: diff found differences.
	exitDiffers = 1
	// exitDiffError: diff could not tell (invalid manifests, an unreachable
	// host): as with kubectl diff, above 1 is an error.
	exitDiffError = 2
	// exitHostsFailed: some hosts failed (quarantined) while the others
	// converged, or the failure budget stopped a rollout.
	exitHostsFailed = 3
	// exitUnconverged: apply did not converge in --max-cycles.
	exitUnconverged = 4
	// exitPlanStale: apply --plan found that a host or the manifests
	// changed since the plan was saved; nothing was changed.
	exitPlanStale = 5
)
