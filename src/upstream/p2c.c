/*
 * Power of two choices on a latency moving average: draw two distinct
 * usable servers at random, each in proportion to its effective weight,
 * and keep the cheaper one, cost = ewma_ms * (active + 1) / weight. Two
 * random choices avoid herding onto the one server that looked fastest a
 * moment ago (Mitzenmacher; Envoy's and Finagle's "P2C + EWMA").
 *
 * A server whose average is unknown (new, or just back) costs as if it
 * were as fast as the fastest known one, so it gets traffic and a
 * measurement instead of being starved. When costs tie (nothing measured
 * yet), the one with fewer requests in flight per weight wins, then the
 * first drawn.
 *
 * Invariant: with two or more usable servers the two candidates differ.
 */
#include "upstream/balancer.h"

/* splitmix64's finalizer: the caller's random value may be weak (a
 * counter in tests); the two draws need independent-looking bits. */
static uint64_t mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

/* The usable server, other than skip and other, that r (in [0, total of
 * their weights)) falls on. */
static int draw(const struct tt_balancer *b, const struct tt_lb_server *s, int skip, int other,
                uint64_t r)
{
	int last = -1;
	for (size_t i = 0; i < b->n; i++) {
		uint64_t w = tt_lb_weight(&s[i]);
		if (!w || (int)i == skip || (int)i == other)
			continue;
		if (r < w)
			return (int)i;
		r -= w;
		last = (int)i;
	}
	return last;
}

static double cost(const struct tt_lb_server *s, double fastest_ms)
{
	double ms = s->ewma_ms > 0.0 ? s->ewma_ms : fastest_ms;
	return ms * ((double)s->active + 1.0) / (double)tt_lb_weight(s);
}

static double load(const struct tt_lb_server *s)
{
	return ((double)s->active + 1.0) / (double)tt_lb_weight(s);
}

int tt_lb_p2c_pick(struct tt_balancer *b, const struct tt_lb_server *s, int skip, uint64_t rnd)
{
	uint64_t total = 0;
	double fastest = 0.0;
	size_t count = 0;
	int one, two;

	for (size_t i = 0; i < b->n; i++) {
		uint64_t w = tt_lb_weight(&s[i]);
		if (!w || (int)i == skip)
			continue;
		total += w;
		count++;
		if (s[i].ewma_ms > 0.0 && (fastest == 0.0 || s[i].ewma_ms < fastest))
			fastest = s[i].ewma_ms;
	}
	if (!count)
		return -1;
	one = draw(b, s, skip, -1, mix(rnd) % total);
	if (count == 1)
		return one;
	two = draw(b, s, skip, one,
	           mix(rnd ^ 0x9e3779b97f4a7c15ull) % (total - tt_lb_weight(&s[one])));
	if (cost(&s[two], fastest) != cost(&s[one], fastest))
		return cost(&s[two], fastest) < cost(&s[one], fastest) ? two : one;
	return load(&s[two]) < load(&s[one]) ? two : one;
}
