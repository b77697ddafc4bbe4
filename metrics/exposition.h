/*
 * exposition - this process's metrics as Prometheus reads them: the text
 * format 0.0.4, every family rblmilter_* with its # HELP and # TYPE.
 */
#ifndef RBL_METRICS_EXPOSITION_H
#define RBL_METRICS_EXPOSITION_H

struct config;
struct evbuffer;
struct stack;

/*
 * Write the process's numbers (stats/metrics.h) and what the generation
 * of config and stack knows now (zone health, Redis, the lists) to out.
 * On the loop thread.
 */
void	exposition_write(struct evbuffer *out, const struct config *config,
			 const struct stack *stack);

#endif
