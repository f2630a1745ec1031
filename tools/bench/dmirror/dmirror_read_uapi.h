/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * The subset of lib/test_hmm_uapi.h (Linux, Debian linux-source-6.12
 * 6.12.117-1~deb12u1; identical in linux-source-6.1 6.1.192-2) that the
 * read-path-only dmirror benchmark module, dmirror_read.ko, implements:
 * HMM_DMIRROR_READ with the unchanged command structure and number.
 */
#ifndef _DMIRROR_READ_UAPI_H
#define _DMIRROR_READ_UAPI_H

#include <linux/types.h>
#include <linux/ioctl.h>

/*
 * Structure to pass to the HMM test driver to mimic a device accessing
 * system memory and ZONE_DEVICE private memory through device page tables.
 *
 * @addr: (in) user address the device will read/write
 * @ptr: (in) user address where device data is copied to/from
 * @npages: (in) number of pages to read/write
 * @cpages: (out) number of pages copied
 * @faults: (out) number of device page faults seen
 */
struct hmm_dmirror_cmd {
	__u64		addr;
	__u64		ptr;
	__u64		npages;
	__u64		cpages;
	__u64		faults;
};

/* Expose the address space of the calling process through hmm device file */
#define HMM_DMIRROR_READ		_IOWR('H', 0x00, struct hmm_dmirror_cmd)

#endif /* _DMIRROR_READ_UAPI_H */
