/*
 * fleetprobe - one zone prober per fleet, through Redis: the Redis side
 * of health.h's fleet hooks, for the zones of one kind.
 *
 * It says who probes a round and carries what the prober found; judging
 * the answers stays health.c's.  Without Redis there is none, and each
 * host probes alone.
 */
#ifndef RBL_DECIDE_FLEETPROBE_H
#define RBL_DECIDE_FLEETPROBE_H

struct fleetprobe;
struct health_fleet;
struct store;

/*
 * For the zones of kind ("ip" or "name") probed every interval seconds;
 * store and prefix must outlive it.  NULL: out of memory.
 */
struct fleetprobe *fleetprobe_create(struct store *store, const char *prefix,
				     const char *kind, unsigned interval);

/* The hooks to hand to health_create(). */
const struct health_fleet *fleetprobe_hooks(const struct fleetprobe *probe);

/*
 * From now on a reply that does not come (the store being freed) starts
 * nothing: call before store_free().
 */
void	fleetprobe_close(struct fleetprobe *probe);

void	fleetprobe_free(struct fleetprobe *probe);

#endif
