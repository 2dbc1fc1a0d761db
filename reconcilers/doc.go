// Package reconcilers holds the contract every kind's reconciler fulfils and
// the registry that maps kinds to reconcilers. One subpackage per kind
// implements it (reconcilers/user, reconcilers/group, ...); a user's own kinds
// implement the same contract and are registered the same way.
//
// A reconciler never talks to a host itself. It declares the read-only
// queries it needs (shared by every resource on the host and sent in one round
// trip per cycle), plans actions from their results, and the engine runs the
// actions, batched, with each action's exit status kept. That split is what
// makes observe provably read-only and a run cost two round trips per host per
// cycle whatever the number of resources.
//
// A kind implements TypedReconciler[S], S its spec type: NewKind and KindFor
// adapt it (AsReconciler) to the untyped Reconciler the engine works
// through, so Queries, Plan and the optional hooks (TypedDependencyLister,
// TypedRefresher, TypedCombiner) receive *S. Registration (NewKindRegistry)
// refuses a kind whose documents decode to another type than S, and two
// kinds that declare one shared query (SharedQuerier) with different
// scripts; a query a kind does not declare shared is private to it.
//
// A Combiner merges the actions of several resources into one command (one
// package transaction per host). When that command fails, the engine runs
// each merged action's own Script alone in a second round trip, so that one
// bad input fails only its own resource; the success path stays one command.
package reconcilers
