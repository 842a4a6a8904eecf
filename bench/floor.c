// The floor: one C process doing the benchmark's work with nothing in its way, as the issue's "a single C
// process doing it all" column. The same job as every contender: named namespaces, as `ip netns add` makes them
// (a file in /run/netns with the namespace bind-mounted on it; NETSPEC_FLOOR_UNNAMED=1 skips that and holds
// fds only), one rtnetlink socket per namespace opened inside it, veth ends created in place with the
// ifindexes chosen up front, raw ICMP echo for the checks (all requests sent at once), and teardown as
// `ip netns del` does it (unmount, unlink), then every fd closed (the kernel frees the namespaces afterwards).
// The same kernel semantics as netspec's labs: loopback up, IPv6 left on with DAD off
// (net.ipv6.conf.default.accept_dad=0), bridge ports read back once (the deferred carrier step, PERF-NOTES).
//
// T1's check is `ping` run as a process inside the namespace, as the floor column defines it (~6 ms);
// T1-echo is the same with the echo sent from this process, the strictest floor.
//
// Build: cc -O2 -o floor floor.c    Usage: floor T1 | floor T1-echo | floor T2 N    Prints elapsed microseconds.
// Exits non-zero (with a message on stderr) if any step or check fails.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int home;

// The names made so far: removed on every way out, so nothing is left behind.
static char (*names)[64];
static int named, unnamed;

static void unname_all(void) {
  for (int i = 0; i < named; i++) {
    umount2(names[i], MNT_DETACH);
    unlink(names[i]);
  }
  named = 0;
}

static void die(const char *what) {
  fprintf(stderr, "floor: %s: %s\n", what, strerror(errno));
  unname_all();
  exit(1);
}

struct ns {
  int fd; // the namespace itself
  int nl; // rtnetlink, opened inside
};

// A new namespace (named NAME in /run/netns unless unnamed) with loopback up and DAD off; the thread returns home.
static struct ns ns_new(const char *label) {
  struct ns n;
  char *path = names[named];
  if (!unnamed) {
    snprintf(path, 64, "/run/netns/nsfloor-%d-%s", getpid(), label);
    int f = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
    if (f < 0) die(path);
    close(f);
    named++;
  }
  if (unshare(CLONE_NEWNET) != 0) die("unshare");
  if (!unnamed && mount("/proc/thread-self/ns/net", path, "none", MS_BIND, NULL) != 0) {
    int e = errno;
    if (setns(home, CLONE_NEWNET) != 0) abort();
    errno = e;
    die("bind mount");
  }
  n.fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  n.nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (n.fd < 0 || n.nl < 0) die("namespace fd / netlink socket");
  int f = open("/proc/sys/net/ipv6/conf/default/accept_dad", O_WRONLY);
  if (f >= 0) {
    if (write(f, "0", 1) != 1) die("accept_dad");
    close(f);
  }
  if (setns(home, CLONE_NEWNET) != 0) abort(); // never go on outside home
  return n;
}

// ---- rtnetlink: one request, one ack -------------------------------------------------------------

struct req {
  union {
    struct nlmsghdr h;
    char buf[1024];
  };
};

static struct rtattr *attr(struct nlmsghdr *h, int type, const void *data, int len) {
  struct rtattr *a = (struct rtattr *)((char *)h + NLMSG_ALIGN(h->nlmsg_len));
  a->rta_type = type;
  a->rta_len = RTA_LENGTH(len);
  if (len > 0) memcpy(RTA_DATA(a), data, len);
  h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + RTA_ALIGN(a->rta_len);
  return a;
}
static void nest_end(struct nlmsghdr *h, struct rtattr *a) { a->rta_len = (char *)h + h->nlmsg_len - (char *)a; }

static void talk(int nl, struct nlmsghdr *h, const char *what) {
  static unsigned seq;
  h->nlmsg_seq = ++seq;
  h->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
  if (send(nl, h, h->nlmsg_len, 0) < 0) die(what);
  char buf[8192];
  for (;;) {
    int n = recv(nl, buf, sizeof buf, 0);
    if (n < 0) die(what);
    for (struct nlmsghdr *r = (struct nlmsghdr *)buf; NLMSG_OK(r, n); r = NLMSG_NEXT(r, n)) {
      if (r->nlmsg_seq != h->nlmsg_seq) continue;
      if (r->nlmsg_type == NLMSG_ERROR) {
        int e = ((struct nlmsgerr *)NLMSG_DATA(r))->error;
        if (e != 0) {
          errno = -e;
          die(what);
        }
        return;
      }
    }
  }
}

static struct ifinfomsg *link_msg(struct req *r, int type, int flags, int index, unsigned up) {
  memset(r, 0, sizeof *r);
  r->h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
  r->h.nlmsg_type = type;
  r->h.nlmsg_flags = flags;
  struct ifinfomsg *i = NLMSG_DATA(&r->h);
  i->ifi_family = AF_UNSPEC;
  i->ifi_index = index;
  i->ifi_flags = up;
  i->ifi_change = up;
  return i;
}

static void link_up(struct ns *n, int index) {
  struct req r;
  link_msg(&r, RTM_NEWLINK, 0, index, IFF_UP);
  talk(n->nl, &r.h, "link up");
}

// Reads one link back (RTM_GETLINK): runs the kernel's deferred carrier step for it.
static void link_get(struct ns *n, int index) {
  struct req r;
  link_msg(&r, RTM_GETLINK, 0, index, 0);
  talk(n->nl, &r.h, "link get");
}

static void bridge_add(struct ns *n, const char *name, int index) {
  struct req r;
  link_msg(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, index, IFF_UP);
  attr(&r.h, IFLA_IFNAME, name, strlen(name) + 1);
  struct rtattr *li = attr(&r.h, IFLA_LINKINFO, NULL, 0);
  attr(&r.h, IFLA_INFO_KIND, "bridge", 6);
  nest_end(&r.h, li);
  talk(n->nl, &r.h, "bridge add");
}

// A veth pair made in `a` (up, enslaved to `master` if > 0) with its peer created directly in `b`, then up
// there (the kernel cannot open a peer before the pair is joined: ENOTCONN).
static void veth_add(struct ns *a, const char *name, int index, int master, struct ns *b, const char *peer, int peer_index) {
  struct req r;
  link_msg(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, index, IFF_UP);
  attr(&r.h, IFLA_IFNAME, name, strlen(name) + 1);
  if (master > 0) attr(&r.h, IFLA_MASTER, &master, 4);
  struct rtattr *li = attr(&r.h, IFLA_LINKINFO, NULL, 0);
  attr(&r.h, IFLA_INFO_KIND, "veth", 4);
  struct rtattr *data = attr(&r.h, IFLA_INFO_DATA, NULL, 0);
  struct rtattr *p = attr(&r.h, VETH_INFO_PEER, NULL, 0);
  struct ifinfomsg pi = {.ifi_family = AF_UNSPEC, .ifi_index = peer_index, };
  memcpy(RTA_DATA(p), &pi, sizeof pi);
  r.h.nlmsg_len += NLMSG_ALIGN(sizeof pi);
  attr(&r.h, IFLA_IFNAME, peer, strlen(peer) + 1);
  attr(&r.h, IFLA_NET_NS_FD, &b->fd, 4);
  nest_end(&r.h, p);
  nest_end(&r.h, data);
  nest_end(&r.h, li);
  talk(a->nl, &r.h, "veth add");
  link_up(b, peer_index);
}

static void addr_add(struct ns *n, int index, const char *address, int prefix) {
  struct req r;
  memset(&r, 0, sizeof r);
  r.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg));
  r.h.nlmsg_type = RTM_NEWADDR;
  r.h.nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
  struct ifaddrmsg *a = NLMSG_DATA(&r.h);
  a->ifa_family = AF_INET;
  a->ifa_prefixlen = prefix;
  a->ifa_index = index;
  struct in_addr in;
  inet_pton(AF_INET, address, &in);
  attr(&r.h, IFA_LOCAL, &in, 4);
  attr(&r.h, IFA_ADDRESS, &in, 4);
  talk(n->nl, &r.h, "addr add");
}

// ---- ICMP echo: every request at once, then the replies ------------------------------------------

static unsigned short csum(const void *p, int len) {
  const unsigned short *w = p;
  unsigned sum = 0;
  for (; len > 1; len -= 2) sum += *w++;
  if (len == 1) sum += *(const unsigned char *)w;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return ~sum;
}

// Pings every address from `from` (a raw socket opened inside it); returns how many did not reply in 2 s.
static int ping_all(struct ns *from, char addresses[][16], int count) {
  if (setns(from->fd, CLONE_NEWNET) != 0) die("setns");
  int s = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
  if (setns(home, CLONE_NEWNET) != 0) abort();
  if (s < 0) die("raw socket");
  unsigned short id = getpid() & 0xffff;
  char *got = calloc(count, 1);
  for (int i = 0; i < count; i++) {
    struct icmphdr h = {.type = ICMP_ECHO, .un.echo.id = htons(id), .un.echo.sequence = htons(i)};
    h.checksum = csum(&h, sizeof h);
    struct sockaddr_in to = {.sin_family = AF_INET};
    inet_pton(AF_INET, addresses[i], &to.sin_addr);
    if (sendto(s, &h, sizeof h, 0, (struct sockaddr *)&to, sizeof to) < 0) die("sendto");
  }
  struct timespec t0, t;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  int left = count;
  while (left > 0) {
    clock_gettime(CLOCK_MONOTONIC, &t);
    long ms = 2000 - ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
    if (ms <= 0) break;
    struct pollfd p = {.fd = s, .events = POLLIN};
    if (poll(&p, 1, ms) <= 0) continue;
    char buf[256];
    int n = recv(s, buf, sizeof buf, 0);
    if (n < (int)sizeof(struct iphdr)) continue;
    struct icmphdr *h = (struct icmphdr *)(buf + ((struct iphdr *)buf)->ihl * 4);
    int seq = ntohs(h->un.echo.sequence);
    if (h->type == ICMP_ECHOREPLY && ntohs(h->un.echo.id) == id && seq < count && !got[seq]) {
      got[seq] = 1;
      left--;
    }
  }
  close(s);
  free(got);
  return left;
}

// `ping -c1 -W2 -q ADDRESS` as a process inside `from`; returns 1 if it failed.
static int ping_process(struct ns *from, const char *address) {
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    int null = open("/dev/null", O_WRONLY);
    if (null < 0 || dup2(null, 1) < 0 || setns(from->fd, CLONE_NEWNET) != 0) _exit(127);
    execlp("ping", "ping", "-c1", "-W2", "-q", address, (char *)NULL);
    _exit(127);
  }
  int status;
  if (waitpid(pid, &status, 0) < 0) die("waitpid");
  return !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void ns_close(struct ns *n) {
  close(n->nl);
  close(n->fd);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: floor T1 | floor T1-echo | floor T2 N\n");
    return 2;
  }
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (home < 0) die("home namespace");
  unnamed = getenv("NETSPEC_FLOOR_UNNAMED") != NULL && strcmp(getenv("NETSPEC_FLOOR_UNNAMED"), "1") == 0;
  names = calloc(1002, 64);
  int failed;
  if (strcmp(argv[1], "T1") == 0 || strcmp(argv[1], "T1-echo") == 0) {
    struct ns a = ns_new("a"), b = ns_new("b");
    link_up(&a, 1);
    link_up(&b, 1);
    veth_add(&a, "veth1", 2, 0, &b, "veth2", 2);
    addr_add(&a, 2, "10.0.12.1", 24);
    addr_add(&b, 2, "10.0.12.2", 24);
    link_get(&a, 2);
    char target[1][16] = {"10.0.12.2"};
    failed = strcmp(argv[1], "T1") == 0 ? ping_process(&a, target[0]) : ping_all(&a, target, 1);
    unname_all();
    ns_close(&a);
    ns_close(&b);
  } else {
    int n = argc > 2 ? atoi(argv[2]) : 10;
    if (n < 2 || n > 1000) {
      fprintf(stderr, "floor: 2..1000 hosts\n");
      return 2;
    }
    struct ns hub = ns_new("hub");
    struct ns *h = calloc(n, sizeof *h);
    char (*addresses)[16] = calloc(n, 16);
    link_up(&hub, 1);
    bridge_add(&hub, "br0", 2);
    for (int i = 0; i < n; i++) {
      char label[16];
      snprintf(label, sizeof label, "h%d", i + 1);
      h[i] = ns_new(label);
      link_up(&h[i], 1);
      char port[16];
      snprintf(port, sizeof port, "p%d", i + 1);
      snprintf(addresses[i], 16, "10.200.%d.%d", (i + 1) / 256, (i + 1) % 256);
      veth_add(&hub, port, 3 + i, 2, &h[i], "eth0", 2);
      addr_add(&h[i], 2, addresses[i], 16);
    }
    for (int i = 0; i < n; i++) link_get(&hub, 3 + i);
    failed = ping_all(&h[0], addresses + 1, n - 1);
    unname_all();
    for (int i = 0; i < n; i++) ns_close(&h[i]);
    ns_close(&hub);
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  if (failed > 0) {
    fprintf(stderr, "floor: %d pings failed\n", failed);
    return 1;
  }
  printf("%ld\n", (t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000);
  return 0;
}
