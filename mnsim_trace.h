/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Trace events of mmu_notifier_sim: the same records as the device's event
 * ring (struct mnsim_event), for tracefs and perf.
 *
 * Copyright (C) 2026 The mmu_notifier_sim authors
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM mmu_notifier_sim

#if !defined(_MNSIM_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _MNSIM_TRACE_H

#include <linux/tracepoint.h>

TRACE_EVENT(mnsim_event,
	    TP_PROTO(unsigned int dev, const struct mnsim_event *ev),
	    TP_ARGS(dev, ev),
	    TP_STRUCT__entry(__field(unsigned int, dev)
			     __field(unsigned int, type)
			     __field(unsigned int, flags)
			     __field(unsigned int, count)
			     __field(unsigned long long, seq)
			     __field(unsigned long long, start)
			     __field(unsigned long long, end)
			     __field(unsigned long long, value)),
	    TP_fast_assign(__entry->dev = dev;
			   __entry->type = ev->type;
			   __entry->flags = ev->flags;
			   __entry->count = ev->count;
			   __entry->seq = ev->seq;
			   __entry->start = ev->start;
			   __entry->end = ev->end;
			   __entry->value = ev->value;),
	    TP_printk("dev=%u seq=%llu %s [%#llx, %#llx) flags=%#x count=%u value=%#llx",
		      __entry->dev, __entry->seq,
		      __print_symbolic(__entry->type,
				       { MNSIM_EV_HOOK, "hook" },
				       { MNSIM_EV_START, "start" },
				       { MNSIM_EV_END, "end" },
				       { MNSIM_EV_RELEASE, "release" },
				       { MNSIM_EV_FILL, "fill" },
				       { MNSIM_EV_HIT, "hit" },
				       { MNSIM_EV_ACCESS, "access" },
				       { MNSIM_EV_FLUSH, "flush" },
				       { MNSIM_EV_PARK, "park" },
				       { MNSIM_EV_UNPARK, "unpark" },
				       { MNSIM_EV_PERM_FAULT, "perm_fault" }),
		      __entry->start, __entry->end, __entry->flags,
		      __entry->count, __entry->value)
);

#endif /* _MNSIM_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE mnsim_trace
#include <trace/define_trace.h>
