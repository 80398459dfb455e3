/* kernel.h: the kernel's constants and structs the shim uses, from the kernel's headers where the toolchain has them. */
/* SPDX-License-Identifier: MIT */
#ifndef TSHIM_KERNEL_H
#define TSHIM_KERNEL_H

/* glibc's toolchains come with the kernel's headers (linux-libc-dev); Debian's
 * musl-gcc has none, and Alpine's only with linux-headers installed. The kernel's
 * ABI is fixed, so where a header is missing its few names that the shim uses are
 * defined here, with the kernel's own spelling and values, so that the code reads
 * the same either way. Each group stands alone: a toolchain may ship some headers
 * and not others. */

#include <stdint.h>
#include <sys/socket.h>

#if __has_include(<linux/futex.h>)
#include <linux/futex.h>
#else
#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_PRIVATE_FLAG 128
#define FUTEX_WAIT_PRIVATE (FUTEX_WAIT | FUTEX_PRIVATE_FLAG)
#define FUTEX_WAKE_PRIVATE (FUTEX_WAKE | FUTEX_PRIVATE_FLAG)
#endif

#if __has_include(<linux/close_range.h>)
#include <linux/close_range.h>
#endif
/* Linux 5.9's header has only the first; CLOSE_RANGE_CLOEXEC came with 5.11. */
#ifndef CLOSE_RANGE_UNSHARE
#define CLOSE_RANGE_UNSHARE (1U << 1)
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

#if __has_include(<linux/kcmp.h>)
#include <linux/kcmp.h>
#else
#define KCMP_FILE 0
#endif

#if __has_include(<linux/netlink.h>)
#include <linux/netlink.h>
#else
#define NETLINK_SOCK_DIAG 4
#define NLM_F_REQUEST 0x01
#define NLMSG_ERROR 0x2

struct sockaddr_nl {
    sa_family_t nl_family;
    unsigned short nl_pad;
    uint32_t nl_pid;
    uint32_t nl_groups;
};

struct nlmsghdr {
    uint32_t nlmsg_len;
    uint16_t nlmsg_type;
    uint16_t nlmsg_flags;
    uint32_t nlmsg_seq;
    uint32_t nlmsg_pid;
};

struct nlmsgerr {
    int error;
    struct nlmsghdr msg;
};

#define NLMSG_ALIGNTO 4U
#define NLMSG_ALIGN(len) (((len) + NLMSG_ALIGNTO - 1) & ~(NLMSG_ALIGNTO - 1))
#define NLMSG_HDRLEN ((int)NLMSG_ALIGN(sizeof(struct nlmsghdr)))
#define NLMSG_LENGTH(len) ((len) + NLMSG_HDRLEN)
#define NLMSG_DATA(nlh) ((void *)(((char *)nlh) + NLMSG_HDRLEN))
#define NLMSG_OK(nlh, len)                                                                     \
    ((len) >= (int)sizeof(struct nlmsghdr) && (nlh)->nlmsg_len >= sizeof(struct nlmsghdr) &&   \
     (nlh)->nlmsg_len <= (len))
#endif

#if __has_include(<linux/sock_diag.h>)
#include <linux/sock_diag.h>
#else
#define SOCK_DIAG_BY_FAMILY 20
#endif

#if __has_include(<linux/inet_diag.h>)
#include <linux/inet_diag.h>
#else
#define INET_DIAG_NOCOOKIE (~0U)

struct inet_diag_sockid {
    uint16_t idiag_sport; /* network order, as every address and port here */
    uint16_t idiag_dport;
    uint32_t idiag_src[4];
    uint32_t idiag_dst[4];
    uint32_t idiag_if;
    uint32_t idiag_cookie[2];
};

struct inet_diag_req_v2 {
    uint8_t sdiag_family;
    uint8_t sdiag_protocol;
    uint8_t idiag_ext;
    uint8_t pad;
    uint32_t idiag_states;
    struct inet_diag_sockid id;
};

struct inet_diag_msg {
    uint8_t idiag_family;
    uint8_t idiag_state;
    uint8_t idiag_timer;
    uint8_t idiag_retrans;
    struct inet_diag_sockid id;
    uint32_t idiag_expires;
    uint32_t idiag_rqueue;
    uint32_t idiag_wqueue;
    uint32_t idiag_uid;
    uint32_t idiag_inode;
};
#endif

#endif
