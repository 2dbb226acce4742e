/* listener.c — SO_REUSEPORT listening sockets and accept4 (listener.h). */
#include "net/listener.h"

#include "core/err.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int listener_open(const char *host, int port, int backlog, int *bound_port)
{
    if (port < 0 || port > 65535)
        return ORASI_EINVAL;
    char portstr[16];
    snprintf(portstr, sizeof(portstr), "%d", port);
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    if (!host || !*host)
        host = "0.0.0.0";
    if (getaddrinfo(host, portstr, &hints, &res) != 0 || !res)
        return ORASI_ENOTFOUND;
    int rc = ORASI_ESYS;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            rc = orasi_err_from_errno(errno);
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
            bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
            listen(fd, backlog > 0 ? backlog : 511) < 0) {
            rc = errno == EADDRINUSE ? ORASI_EEXISTS : orasi_err_from_errno(errno);
            close(fd);
            continue;
        }
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
            rc = orasi_err_from_errno(errno);
            close(fd);
            continue;
        }
        if (bound_port)
            *bound_port = ss.ss_family == AF_INET6
                              ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                              : ntohs(((struct sockaddr_in *)&ss)->sin_port);
        freeaddrinfo(res);
        return fd;
    }
    freeaddrinfo(res);
    return rc;
}

int listener_accept(int lfd, char *peer, size_t peerlen)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ||
            errno == ECONNABORTED || errno == EPROTO)
            return ORASI_EAGAIN;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
            return ORASI_EFULL;
        return orasi_err_from_errno(errno);
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (peer && peerlen) {
        char ip[INET6_ADDRSTRLEN] = "?";
        int p = 0;
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
            p = ntohs(s4->sin_port);
            snprintf(peer, peerlen, "%s:%d", ip, p);
        } else if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
            p = ntohs(s6->sin6_port);
            snprintf(peer, peerlen, "[%s]:%d", ip, p);
        } else {
            snprintf(peer, peerlen, "unknown");
        }
    }
    return fd;
}
