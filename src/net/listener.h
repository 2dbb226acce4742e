/*
 * listener.h — TCP listening sockets for the workers (SO_REUSEPORT) and accept.
 *
 * Each worker thread opens its own listening socket on the same host:port with
 * SO_REUSEPORT, so the kernel spreads new connections across workers with no shared
 * accept lock. Port 0 works: the first call picks a free port and reports it, the
 * following calls pass that port.
 */
#ifndef ORASI_NET_LISTENER_H
#define ORASI_NET_LISTENER_H

#include <stddef.h>

/* Open a non-blocking, close-on-exec listening TCP socket on host:port (host NULL or ""
 * = all IPv4 addresses; names are resolved, first usable address wins) with
 * SO_REUSEADDR and SO_REUSEPORT. *bound_port (may be NULL) receives the actual port.
 * Returns the fd (caller owns it) or a negative ORASI_E* code. */
int listener_open(const char *host, int port, int backlog, int *bound_port);

/* Accept one connection: non-blocking, close-on-exec, TCP_NODELAY. The peer address is
 * written as "ip:port" ("[ip]:port" for IPv6) into peer (may be NULL).
 * Returns the fd, ORASI_EAGAIN when none is pending, or another negative code
 * (ORASI_EFULL when out of fds). */
int listener_accept(int lfd, char *peer, size_t peerlen);

#endif
