/* Unit tests for src/core/net.c: CIDR ranges of limits.trusted_proxies and
 * the client behind them (X-Forwarded-For, rightmost untrusted hop). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "zr/net.h"

static zr_net_addr_t addr(const char *s)
{
    zr_net_addr_t a;
    assert_int_equal(zr_net_addr_parse(s, &a), 0);
    return a;
}

static int in(const char *cidr, const char *a)
{
    zr_net_cidr_t c;
    zr_net_addr_t x = addr(a);
    assert_int_equal(zr_net_cidr_parse(cidr, &c), 0);
    return zr_net_cidr_match(&c, &x);
}

static void test_cidr_parse(void **state)
{
    zr_net_cidr_t c;
    (void)state;
    assert_int_equal(zr_net_cidr_parse("10.0.0.5", &c), 0);
    assert_int_equal(c.prefix, 128);
    assert_int_equal(zr_net_cidr_parse("10.0.0.0/8", &c), 0);
    assert_int_equal(c.prefix, 104);
    assert_int_equal(zr_net_cidr_parse("0.0.0.0/0", &c), 0);
    assert_int_equal(zr_net_cidr_parse("2001:db8::/32", &c), 0);
    assert_int_equal(c.prefix, 32);
    /* host bits below the prefix: a typo, not a silent /8 */
    assert_int_equal(zr_net_cidr_parse("10.0.0.1/8", &c), -1);
    assert_int_equal(zr_net_cidr_parse("10.0.0.0/33", &c), -1);
    assert_int_equal(zr_net_cidr_parse("::/129", &c), -1);
    assert_int_equal(zr_net_cidr_parse("10.0.0.0/", &c), -1);
    assert_int_equal(zr_net_cidr_parse("10.0.0.0/-1", &c), -1);
    assert_int_equal(zr_net_cidr_parse("10.0.0.0/8x", &c), -1);
    assert_int_equal(zr_net_cidr_parse("proxy.example.nl", &c), -1);
    assert_int_equal(zr_net_cidr_parse("10.0.0.5:80", &c), -1);
    assert_int_equal(zr_net_cidr_parse("[::1]", &c), -1);
    assert_int_equal(zr_net_cidr_parse("", &c), -1);
    assert_int_equal(zr_net_cidr_parse(NULL, &c), -1);
}

static void test_cidr_match(void **state)
{
    (void)state;
    assert_true(in("10.0.0.0/8", "10.255.1.2"));
    assert_false(in("10.0.0.0/8", "11.0.0.1"));
    assert_true(in("192.168.1.0/25", "192.168.1.127"));
    assert_false(in("192.168.1.0/25", "192.168.1.128"));
    assert_true(in("10.0.0.5", "10.0.0.5"));
    assert_false(in("10.0.0.5", "10.0.0.6"));
    /* an IPv4 peer on a dual-stack listener arrives IPv4-mapped */
    assert_true(in("10.0.0.0/8", "::ffff:10.1.2.3"));
    assert_true(in("2001:db8::/32", "2001:db8:1::1"));
    assert_false(in("2001:db8::/32", "2001:db9::1"));
    assert_true(in("0.0.0.0/0", "8.8.8.8"));
    assert_false(in("0.0.0.0/0", "2001:db8::1"));
}

static void test_forwarded_client(void **state)
{
    zr_net_cidr_t trusted[2];
    zr_net_addr_t peer = addr("10.0.0.5"), client;
    char text[46];
    (void)state;
    assert_int_equal(zr_net_cidr_parse("10.0.0.5", &trusted[0]), 0);
    assert_int_equal(zr_net_cidr_parse("192.168.0.0/16", &trusted[1]), 0);
#define CLIENT(xff) (zr_net_forwarded_client((xff), trusted, 2, &peer, &client), zr_net_addr_format(&client, text))
    assert_string_equal(CLIENT("203.0.113.7"), "203.0.113.7");
    /* anything left of the first untrusted hop may be forged */
    assert_string_equal(CLIENT("1.2.3.4, 203.0.113.7"), "203.0.113.7");
    /* trusted hops on the right are walked past */
    assert_string_equal(CLIENT("1.2.3.4, 203.0.113.7, 192.168.3.4"), "203.0.113.7");
    assert_string_equal(CLIENT("203.0.113.7,192.168.3.4 ,\t10.0.0.5"), "203.0.113.7");
    /* all trusted: the leftmost */
    assert_string_equal(CLIENT("192.168.1.1, 10.0.0.5"), "192.168.1.1");
    /* garbage stops the walk at the hop to its right */
    assert_string_equal(CLIENT("evil, 192.168.3.4"), "192.168.3.4");
    assert_string_equal(CLIENT("203.0.113.7, unknown"), "10.0.0.5");
    assert_string_equal(CLIENT("203.0.113.7,,"), "10.0.0.5");
    /* none, empty: the peer */
    assert_string_equal(CLIENT(""), "10.0.0.5");
    assert_string_equal(CLIENT(NULL), "10.0.0.5");
    assert_string_equal(CLIENT("2001:db8::7"), "2001:db8::7");
#undef CLIENT
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cidr_parse),
        cmocka_unit_test(test_cidr_match),
        cmocka_unit_test(test_forwarded_client),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
