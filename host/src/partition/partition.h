/*
 * partition.h - place every live node of a specialised graph on a device.
 *
 * Numbered passes, each recording its decision in node->why:
 *   1. support     ask each device, in priority order, whether it runs the
 *                  node (op, dtypes, shapes); no device at all is an error
 *   2. assign      the first healthy device that supports it
 *   3. transfers   (auto mode) a run of consecutive nodes on an accelerator
 *                  whose boundary copies cost more than it saves moves to
 *                  the next device that runs it (no ping-pong)
 *   4. subgraphs   consecutive nodes on one device form a subgraph
 * The plan then inserts the copies at subgraph boundaries.
 */
#ifndef LOOM_PARTITION_H
#define LOOM_PARTITION_H

#include "backends/backend.h"

typedef struct {
    loom__device *devs[LOOM__MAX_DEVICES]; /* priority order */
    int n_devs;
    bool strict;     /* no fallback beyond devs */
    bool auto_mode;  /* run pass 3 */
} loom__partition_opts;

/* Resolve a device list ("auto", NULL or "name,name,...") into opts. */
loom_status loom__partition_devices(const char *list, bool strict, loom__partition_opts *o);

loom_status loom__partition(loom__graph *g, const loom__partition_opts *o);

#endif /* LOOM_PARTITION_H */
