/* cli-trace.c - a session's recorded steps as a Chrome trace-event file
 * (the JSON object form: {"traceEvents": [...]}), which Perfetto and
 * chrome://tracing open. One track (thread) per device, and one for the
 * host work loom itself does around the runs; every kernel and copy is a
 * complete ("X") event in microseconds from the first event. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* The track of a device, made on first use. */
static int track_of(json_t *tracks, json_t *events, const char *name)
{
    json_t *t = json_object_get(tracks, name);
    int tid;
    if (t)
        return (int)json_integer_value(t);
    tid = (int)json_object_size(tracks) + 1;
    json_object_set_new(tracks, name, json_integer(tid));
    json_array_append_new(events, json_pack("{s:s, s:s, s:i, s:i, s:{s:s}}", "name", "thread_name", "ph", "M", "pid",
                                            1, "tid", tid, "args", "name", name));
    json_array_append_new(events, json_pack("{s:s, s:s, s:i, s:i, s:{s:i}}", "name", "thread_sort_index", "ph", "M",
                                            "pid", 1, "tid", tid, "args", "sort_index", tid));
    return tid;
}

int loom_cli_write_trace(const char *path, const loom_session *s, const loom_cli_host_event *host, size_t n_host,
                         const char *model)
{
    json_t *root = json_object(), *events = json_array(), *tracks = json_object();
    size_t n = loom_session_trace_count(s);
    double t0 = n_host ? host[0].start_us : 0;
    int rc, host_tid;
    loom_trace_event e;
    if (n && loom_session_trace_event(s, 0, &e) && (!n_host || e.start_us < t0))
        t0 = e.start_us;
    json_array_append_new(events, json_pack("{s:s, s:s, s:i, s:{s:s}}", "name", "process_name", "ph", "M", "pid", 1,
                                            "args", "name", model));
    host_tid = track_of(tracks, events, "host (loom)");
    for (size_t i = 0; i < n_host; i++)
        json_array_append_new(events, json_pack("{s:s, s:s, s:s, s:f, s:f, s:i, s:i}", "name", host[i].name, "cat",
                                                "host", "ph", "X", "ts", host[i].start_us - t0, "dur",
                                                host[i].dur_us, "pid", 1, "tid", host_tid));
    for (size_t i = 0; i < n; i++) {
        json_t *args;
        if (!loom_session_trace_event(s, i, &e))
            break;
        args = json_pack("{s:I}", "run", (json_int_t)e.run);
        if (e.node != SIZE_MAX) {
            json_object_set_new(args, "node", json_integer((json_int_t)e.node));
            json_object_set_new(args, "op", json_string(e.op_type));
        } else {
            json_object_set_new(args, "bytes", json_integer((json_int_t)e.bytes));
        }
        json_array_append_new(events, json_pack("{s:s, s:s, s:s, s:f, s:f, s:i, s:i, s:o}", "name", e.name, "cat",
                                                e.category, "ph", "X", "ts", e.start_us - t0, "dur", e.dur_us, "pid",
                                                1, "tid", track_of(tracks, events, e.device), "args", args));
    }
    json_object_set_new(root, "traceEvents", events);
    json_object_set_new(root, "displayTimeUnit", json_string("ms"));
    json_object_set_new(root, "otherData",
                        json_pack("{s:s, s:b}", "tool", "loom run --trace", "truncated",
                                  loom_session_trace_truncated(s)));
    json_decref(tracks);
    rc = loom_cli_write_json(path, root, JSON_COMPACT);
    json_decref(root);
    return rc;
}
