/*
 * Listening sockets (src/core/gen.c): a connection accepted from one has
 * TCP_NODELAY already, so the accept path sets no option per connection.
 */
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/gen.h"

Test(gen_bind, accepted_connections_inherit_tcp_nodelay)
{
	struct sockaddr_storage ss = {0};
	struct sockaddr_in *a = (struct sockaddr_in *)&ss;
	socklen_t len = sizeof(*a);
	struct pollfd pfd;
	int l, c, s, v = 0;
	socklen_t vl = sizeof(v);

	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = tt_gen_bind_one(&ss, sizeof(*a), 1);
	cr_assert_geq(l, 0, "bind: %d", l);
	cr_assert_eq(getsockname(l, (struct sockaddr *)a, &len), 0);
	c = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_eq(connect(c, (struct sockaddr *)a, sizeof(*a)), 0);
	pfd = (struct pollfd){.fd = l, .events = POLLIN};
	cr_assert_eq(poll(&pfd, 1, 5000), 1);
	s = accept(l, NULL, NULL);
	cr_assert_geq(s, 0);
	cr_assert_eq(getsockopt(s, IPPROTO_TCP, TCP_NODELAY, &v, &vl), 0);
	cr_assert_neq(v, 0, "TCP_NODELAY not inherited from the listener");
	close(s);
	close(c);
	close(l);
}
