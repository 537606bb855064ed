/*
 * The admin key (issue 7): on by default on 127.0.0.1:9901, "off", a
 * mapping with listen and allow_public, and never a public listener's
 * address unless allow_public says so.
 */
#include "config/cfg_helpers.h"

TestSuite(load_admin, .init = setup, .fini = teardown);

Test(load_admin, default_is_loopback_9901_and_not_configured)
{
	load(BASE);
	expect_ok();
	cr_assert_str_eq(C->admin.address, "127.0.0.1:9901");
	cr_assert_eq(C->admin.configured, 0);
	cr_assert_eq(C->admin.shared, 0);
	cr_assert_eq(((struct sockaddr_in *)&C->admin.addr)->sin_port, htons(9901));
}

Test(load_admin, off_turns_it_off)
{
	load(BASE "admin: off\n");
	expect_ok();
	cr_assert_null(C->admin.address);
	load(BASE "admin: {listen: \"off\"}\n");
	expect_ok();
	cr_assert_null(C->admin.address);
}

Test(load_admin, listen_sets_the_address)
{
	load(BASE "admin:\n  listen: 127.0.0.1:9100\n");
	expect_ok();
	cr_assert_str_eq(C->admin.address, "127.0.0.1:9100");
	cr_assert_eq(C->admin.configured, 1);
}

Test(load_admin, bad_values_are_reported_at_the_value)
{
	load(BASE "admin: on\n");
	expect_hint(5, 8, "admin: 'on' is not a choice", "admin: off");
	load(BASE "admin:\n  listen: nowhere\n");
	expect_diag(6, 11, "admin.listen");
	load(BASE "admin:\n  lisen: 127.0.0.1:9100\n");
	expect_hint(6, 3, "unknown key 'lisen' in 'admin'", "did you mean 'listen'");
	load(BASE "admin:\n  allow_public: maybe\n");
	expect_diag(6, 17, "allow_public");
}

Test(load_admin, a_public_listener_address_is_refused)
{
	load(BASE "admin: {listen: 127.0.0.1:8080}\n");
	expect_hint(5, 17, "admin.listen '127.0.0.1:8080' is the public listener '127.0.0.1:8080'",
	            "allow_public");
	load("listen: [\"0.0.0.0:8080\"]\n"
	     "upstreams: {app: {servers: [127.0.0.1:8000]}}\n"
	     "admin: {listen: 127.0.0.1:8080}\n");
	expect_diag(3, 17, "is the public listener '0.0.0.0:8080'");
}

Test(load_admin, allow_public_serves_it_on_that_listener)
{
	load(BASE "admin: {listen: 127.0.0.1:8080, allow_public: true}\n");
	expect_ok();
	cr_assert_eq(C->admin.shared, 1);
	load("listen: [\"0.0.0.0:8080\"]\n"
	     "upstreams: {app: {servers: [127.0.0.1:8000]}}\n"
	     "admin: {listen: 127.0.0.1:8080, allow_public: true}\n");
	expect_diag(3, 17, "overlaps the public listener");
}
